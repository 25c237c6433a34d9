#pragma once
// What the topology tests of slots, routers, routing and scaling share: slots at test speed
// and a service deployed straight into a zone.

#include "actors/topology/topology.hpp"
#include "tests/support/det_fixture.hpp"

#include <string>
#include <vector>

namespace fusion::test {

/// Fast slots: a zone publishes every 100 ms, refreshes every 300 ms; rows expire after a
/// second; instances report a change within 10 ms.
inline topology::options fast_slots() {
  topology::options o;
  o.slots.interval_ms = 100;
  o.slots.refresh_ms = 300;
  o.slots.validity_ms = 1'000;
  o.slots.instance_report_ms = 10;
  return o;
}

/// A service of one core and 512 MB per instance, with `sessions` slots per instance.
inline protocols::manifest small_service(const protocols::service_uri& name, uint32_t sessions) {
  protocols::manifest m;
  m.name = name;
  m.hardware.cpu_cores = 1;
  m.hardware.memory_mb = 512;
  m.sessions_per_instance = sessions;
  return m;
}

/// Deploys `n` instances of `m` straight into zone `zone` of `topo` (no offer); their ids.
inline std::vector<protocols::fusion_id> deploy_in(det_fixture& fx, topology::topology& topo,
                                                   const std::string& zone, uint32_t n,
                                                   const protocols::manifest& m) {
  protocols::zone_deploy_service req;
  req.service_name = m.name;
  req.deploy.instances = n;
  req.service = m;
  auto r = fx.ask<protocols::deploy_service_reply>(topo.zone(zone), std::move(req));
  REQUIRE_MESSAGE(r, describe(r.error()));
  return r->instance_ids;
}

}  // namespace fusion::test
