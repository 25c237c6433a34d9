#pragma once
// What the slot benchmarks (sessions, slots) do to their in-process zones: read a zone's
// registered id and deploy the bench service straight into it.

#include "protocols/common.hpp"
#include "protocols/zone_orchestration.hpp"

#include <caf/scoped_actor.hpp>

#include <string>

namespace fusion::bench {

/// The ZoneID zone `name` registered with (after topology::await_registrations), or "" with
/// the reason on stderr.
protocols::fusion_id registered_zone_id(caf::scoped_actor& self,
                                        const protocols::zone_manager_actor& zm,
                                        const std::string& name);

/// Deploys `instances` instances of `service` (1 core, 64 MB, `slots` session slots each)
/// straight into zone `zm`; false, with the reason on stderr, if it fails.
bool deploy_bench_service(caf::scoped_actor& self, const protocols::zone_manager_actor& zm,
                          const protocols::service_uri& service, size_t instances, size_t slots);

}  // namespace fusion::bench
