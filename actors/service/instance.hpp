#pragma once
// A service instance (§4.5.1): an actor with simulated session slots and the lifecycle
// created → running → stopping → stopped. Its slot accounting is exact: it never grants
// more sessions than its maximum and never cuts a session when the maximum shrinks.
// Once running, it reports its free slots (slot_report, origin = its id) to its zone
// manager when they change, at most once per report_ms, and at least once per refresh_ms;
// it withdraws them when it stops.

#include "protocols/service_lifecycle.hpp"
#include "protocols/slots.hpp"
#include "runtime/config.hpp"

#include <caf/actor_system.hpp>

#include <string>

namespace fusion::service {

/// Identity of an instance, fixed at spawn time by whoever launches it (the DC agent).
struct instance_config {
  protocols::fusion_id instance_id;      ///< Also the locator name suffix (names::instance).
  protocols::service_uri service;        ///< The service this instance runs.
  std::string zone_name;                 ///< Hosting zone, for information replies.
  protocols::slot_sink_actor report_to;  ///< Its zone manager; null: slots go unreported.
  /// Grows with every start of this instance id: its zone drops what an older life said.
  /// 0 = the wall clock at spawn, in milliseconds.
  uint64_t epoch = 0;
  /// A change of free slots is reported at most this often ([slots] instance_report_ms)...
  protocols::duration_ms report_ms = runtime::default_config().slots.instance_report_ms;
  /// ... and unchanged slots at least this often, so the zone's row does not expire
  /// ([slots] refresh_ms).
  protocols::duration_ms refresh_ms = runtime::default_config().slots.refresh_ms;
  /// A session whose client sends no keepalive for this long ends and frees its slot
  /// ([instance] session_timeout_ms); 0 = never.
  protocols::duration_ms session_timeout_ms = runtime::default_config().instance.session_timeout_ms;
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
