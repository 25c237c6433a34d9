#pragma once
// The domain scaling function (§5.4.3, §4.3.2.6; docs/slots.md "Scaling"): places and
// deploys more instances of a registered service when a zone's elasticity rule wants an
// instance the zone has no room for (overflow), or when a router finds no free slot of the
// service anywhere (on-demand deployment, SPD-4). It deploys through the deployment
// function on behalf of the service's owner, so four-step placement chooses the zones and
// the manifest's max_instances still bounds the service. Requests for a service already
// being scaled wait for that deployment's answer instead of starting another.

#include "protocols/orchestration_management.hpp"
#include "runtime/config.hpp"
#include "runtime/directory.hpp"

#include <caf/actor_system.hpp>

namespace fusion::domain {

/// The most instances one scale_service may ask for.
inline constexpr uint32_t max_scale_step = 100;

/// Spawns the scaling function and registers it in `dir` as protocols::names::scaling.
/// `deployment` gives step_timeout_ms: the registrar's answer may take one step, the
/// deployment four (placement, then the zones).
protocols::scaling_actor spawn_scaling(caf::actor_system& sys,
                                       runtime::deployment_config deployment,
                                       runtime::directory_ptr dir);

}  // namespace fusion::domain
