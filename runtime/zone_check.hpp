#pragma once
// The one check of a zone's parameters, shared by the zone registry (register_zone,
// update_zone) and the node config ([[zone]]): what the registry would refuse at run time,
// `fusion-node check-config` refuses first, with the line.

#include "protocols/manifest.hpp"

#include <optional>
#include <string>

namespace fusion::runtime {

/// What is wrong with a zone_parameters value.
struct zone_problem {
  /// The field, as named in zone_parameters: "cpu_cores", "location.latitude",
  /// "gpus[1].count", "latency_ms.eu-west".
  std::string field;
  /// What is wrong, with what was found: "must be > 0 (found 0)".
  std::string what;
};

/// The first problem of `p`, or nothing if a zone registry accepts it: a name of 1-64
/// characters from [A-Za-z0-9._-], cpu_cores > 0, memory_mb > 0, latitude in [-90, 90],
/// longitude in [-180, 180], every GPU with a model and count > 0 and a finite
/// shader_model >= 0, isolation only container/vm/bare-metal, finite costs >= 0 and finite
/// latencies >= 0.
std::optional<zone_problem> check_zone_parameters(const protocols::zone_parameters& p);

}  // namespace fusion::runtime
