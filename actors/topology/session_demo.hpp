#pragma once
// The embedded default's demo clients ([node] demo_sessions_s; docs/slots.md "The demo"):
// clients open and close sessions of a service through a service router for a few
// seconds, first many, then few, while the demo prints the free slots per zone as the
// router sees them, where the sessions were routed, and afterwards every scaling decision
// with its reason and the router's statistics.

#include "protocols/orchestration_management.hpp"
#include "protocols/zone_management.hpp"
#include "runtime/config.hpp"
#include "runtime/directory.hpp"

#include <caf/actor_system.hpp>

#include <ostream>

namespace fusion::topology {

/// Runs the demo clients on `service` (a registered, deployed service with elasticity
/// rules) over the zones of `zones`: spawns a routing manager and a router for them,
/// drives [node] demo_clients clients for demo_sessions_s seconds, prints to `out`, and
/// stops what it spawned.
void run_session_demo(caf::actor_system& sys, const runtime::node_config& nc,
                      const runtime::directory_ptr& dir, const protocols::zone_list& zones,
                      const protocols::manifest& service, std::ostream& out);

}  // namespace fusion::topology
