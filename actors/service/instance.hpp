#pragma once
// A service instance (§4.5.1): an actor with simulated session slots and the lifecycle
// created → running → stopping → stopped. Its slot accounting is exact: it never grants
// more sessions than its maximum and never cuts a session when the maximum shrinks.

#include "protocols/service_lifecycle.hpp"

#include <caf/actor_system.hpp>

#include <string>

namespace fusion::service {

/// Identity of an instance, fixed at spawn time by whoever launches it (the DC agent).
struct instance_config {
  protocols::fusion_id instance_id;  ///< Also the locator name suffix (names::instance).
  protocols::service_uri service;    ///< The service this instance runs.
  std::string zone_name;             ///< Hosting zone, for information replies.
  instance_config() = default;
};

/// Lifecycle states of an instance (§4.5.1).
enum class instance_phase : uint8_t {
  created = 0,   ///< Spawned; waits for service_start.
  running = 1,   ///< Grants sessions.
  stopping = 2,  ///< Grants nothing; waits for sessions to drain or the stop timeout.
  stopped = 3,   ///< Done; the actor quits after answering service_stop.
};

/// Stable name of a phase: "created", "running", "stopping", "stopped".
const char* to_string(instance_phase x);

/// Spawns an instance actor in state `created`. It quits after answering service_stop.
protocols::service_lifecycle_actor spawn_instance(caf::actor_system& sys, instance_config cfg);

}  // namespace fusion::service
