// The roles of a node on a real actor system: a zone the zone registry refuses is a start
// failure (the node exits non-zero), not a warning in the log.

#include "actors/topology/topology.hpp"
#include "protocols/errc.hpp"
#include "runtime/system.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <doctest/doctest.h>

using namespace fusion;
using fusion::topology::zone_builder;

namespace {

struct real_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  real_system() {
    auto nc = runtime::default_config();
    nc.scheduler.threads = 1;
    runtime::configure_actor_system(cfg, nc);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

}  // namespace

TEST_CASE("topology: await_registrations names a zone the zone registry refused") {
  real_system rs;
  fusion::topology::topology topo{*rs.sys};
  topo.with_domain()
      .with_zone(zone_builder{"good"})
      .with_zone(zone_builder{"no-cores"}.cores(0))
      .with_zone(zone_builder{"also-good"});
  auto err = topo.await_registrations(5000);
  CHECK(is(err, errc::invalid_state));
  auto why = reason_of(err);
  CHECK(why.rfind("zone no-cores did not start: registration with the zone registry failed: ", 0) ==
        0);
  CHECK(why.find("cpu_cores must be > 0 (found 0)") != std::string::npos);
  topo.shutdown();
}

TEST_CASE("topology: await_registrations returns once every zone is registered") {
  real_system rs;
  fusion::topology::topology topo{*rs.sys};
  topo.with_domain().with_zone(zone_builder{"a"}).with_zone(zone_builder{"b"});
  auto err = topo.await_registrations(5000);
  CHECK_MESSAGE(!err, describe(err));
  topo.shutdown();
}

TEST_CASE("topology: without a zone registry there is nothing to wait for") {
  real_system rs;
  fusion::topology::topology topo{*rs.sys};
  topo.with_zone(zone_builder{"a"});
  CHECK_FALSE(topo.await_registrations(5000));
  topo.shutdown();
}
