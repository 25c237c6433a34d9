#pragma once
// The in-process DC backend (§6.3.5, §6.4.4): the DC abstraction layer of a zone whose
// execution points are actors in this process. Environments are records; an instance is a
// service instance actor, started by the launcher the node gives it, registered in the
// directory.

#include "protocols/dc_management.hpp"
#include "protocols/service_lifecycle.hpp"
#include "protocols/slots.hpp"
#include "runtime/directory.hpp"

#include <caf/actor_system.hpp>

#include <functional>
#include <string>

namespace fusion::zone {

/// What an instance is started with at the DC's execution point.
struct launch_spec {
  protocols::fusion_id instance_id;
  protocols::service_uri service;
  std::string zone_name;
  /// The zone manager, where the instance reports its free slots (slot_report); null if
  /// the zone has none in the directory.
  protocols::slot_sink_actor report_to;
};

/// Starts one service instance at the DC's execution point and returns the running
/// instance actor. Whoever composes the node provides it (topology::in_process_instances()),
/// so the zone role never depends on the service role (DESIGN §2).
using instance_launcher =
    std::function<protocols::service_lifecycle_actor(caf::actor_system&, const launch_spec&)>;

/// Spawns the DC agent of zone `zone_name` and registers it under names::dc_agent(zone_name).
/// Environment ids are "env-<zone>-N", probe ids "probe-N". launch_instance starts instances
/// through `launch`; without one it fails with invalid_state.
protocols::dc_management_actor spawn_inprocess_dc(caf::actor_system& sys, std::string zone_name,
                                                  runtime::directory_ptr dir,
                                                  instance_launcher launch);

}  // namespace fusion::zone
