#pragma once
// The actor system of a node: CAF settings derived from the node config (never from
// caf-application.ini), message types registered, and the run loop of fusion-node.

#include "runtime/config.hpp"
#include "runtime/roles.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>

namespace fusion::runtime {

/// Prepares `cfg` for a node: scheduler threads and policy from `nc.scheduler`, the io
/// middleman loaded, every FUSION message type registered. Does not call cfg.parse(), so
/// CAF reads no INI file and no command line.
void configure_actor_system(caf::actor_system_config& cfg, const node_config& nc);

/// Runs a node until `nc.node.run_for_s` elapses or SIGINT/SIGTERM arrives: sets up
/// logging, starts the actor system and the configured roles of `reg`, then stops the
/// roles' actors and destroys the system. Returns the error that kept the node from
/// starting (exit code 1 of fusion-node), or none after a clean stop.
caf::error run_node(const node_config& nc, const role_registry& reg = roles());

}  // namespace fusion::runtime
