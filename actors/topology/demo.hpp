#pragma once
// What fusion-node does with a whole domain in one process: the "services" role
// (register the config's manifests, deploy them, print what happened) and
// `fusion-node plan` (a dry-run placement with its reasons).

#include "protocols/orchestration_management.hpp"
#include "runtime/config.hpp"
#include "runtime/directory.hpp"

#include <caf/actor_system.hpp>

#include <ostream>
#include <string>

namespace fusion::topology {

/// Waits (up to `settle_ms`) until the zones of `nc` have registered, registers every
/// [[service]] manifest of `nc`, deploys the instances each asks for, and prints a summary
/// for people to `out`: zones, registrations, placement decisions with every zone's scores
/// or refusal, instances and their session slots. Fails on the first manifest that does
/// not register; a deployment that fails is printed, the others still run, and the first
/// failure is returned (the node then exits non-zero).
caf::error bootstrap_services(caf::actor_system& sys, const runtime::node_config& nc,
                              const runtime::directory_ptr& dir, std::ostream& out,
                              protocols::duration_ms settle_ms = 5000);

/// A placement decision as one JSON object (for `plan --json` and scripts).
std::string decision_json(const protocols::placement_decision& d);

/// `fusion-node plan`: builds the zones of `nc` in a private in-memory domain, places the
/// manifest at `manifest_path` as a dry run (`instances` instances) and prints the decision
/// (text or JSON) to `out`. Returns the process exit code: 0 placed, 1 not placeable,
/// 3 invalid manifest or config (explained on `err`).
int run_plan(const runtime::node_config& nc, const std::string& manifest_path, uint32_t instances,
             bool json, std::ostream& out, std::ostream& err);

}  // namespace fusion::topology
