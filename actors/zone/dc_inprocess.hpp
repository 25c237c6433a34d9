#pragma once
// The in-process DC backend (§6.3.5, §6.4.4): the DC abstraction layer of a zone whose
// execution points are actors in this process. Environments are records; an instance is a
// service instance actor (actors/service/instance.hpp) registered in the directory.

#include "protocols/dc_management.hpp"
#include "runtime/directory.hpp"

#include <caf/actor_system.hpp>

#include <string>

namespace fusion::zone {

/// Spawns the DC agent of zone `zone_name` and registers it under names::dc_agent(zone_name).
/// Environment ids are "env-<zone>-N", probe ids "probe-N".
protocols::dc_management_actor spawn_inprocess_dc(caf::actor_system& sys, std::string zone_name,
                                                  runtime::directory_ptr dir);

}  // namespace fusion::zone
