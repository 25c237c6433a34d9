// Topology tests of the routing manager (§5.5.4.2; docs/slots.md "Routing manager") and of
// sessions that need more than a free slot: routers subscribe to the zones an entry names,
// report their statistics, and take a stateful session back to its instance, in simulated
// time.

#include "actors/router/routing_manager.hpp"
#include "actors/topology/topology.hpp"
#include "protocols/names.hpp"
#include "tests/topology/slots_support.hpp"

#include <algorithm>

using namespace fusion;
using namespace fusion::protocols;
using namespace std::chrono_literals;
using fusion::topology::zone_builder;

namespace {

const service_uri game = "fusion://acme/game";

/// Zones in Brussels and Virginia, a router in Ghent managed by the routing manager; the
/// zones are not told about the router: it subscribes to them.
struct routing_fixture : test::det_fixture {
  fusion::topology::topology topo{sys, test::fast_slots()};

  routing_fixture() {
    topo.with_domain();
    topo.with_zone(zone_builder{"brussels"}.region("eu-west", 50.85, 4.35).cores(4))
        .with_zone(zone_builder{"virginia"}.region("us-east", 38.95, -77.45).cores(4));
    router::router_config rc;
    rc.name = "edge";
    rc.manager = locator{"", names::routing_manager};
    rc.statistics_ms = 200;
    topo.with_router(rc);
    router::routing_manager_config mc;
    router::managed_router edge;
    edge.name = "edge";
    edge.location = geo_location{"eu-west", 51.05, 3.72};
    mc.routers = {edge};
    mc.interval_ms = 100;
    router::spawn_routing_manager(sys, mc, topo.directory());
    run();
  }

  ~routing_fixture() {
    caf::anon_send_exit(topo.directory()->get(names::routing_manager),
                        caf::exit_reason::user_shutdown);
    topo.shutdown();
    run();
  }

  std::string zone_id(const std::string& zone) {
    auto r = ask<zone_registration>(topo.zone(zone), get_zone_registration{});
    REQUIRE(r);
    return r->zone_id.value;
  }

  std::vector<fusion_id> deploy(const std::string& zone, uint32_t n) {
    return test::deploy_in(*this, topo, zone, n, test::small_service(game, 4));
  }

  route_decision route() {
    auto d = ask<route_decision>(topo.router("edge"), route_session{game, "t"});
    REQUIRE_MESSAGE(d, describe(d.error()));
    return *d;
  }
};

}  // namespace

TEST_CASE_FIXTURE(routing_fixture,
                  "routing manager: a router's next hops follow the zone registry, with metrics "
                  "from its location, and it hears their slots by subscribing") {
  deploy("brussels", 1);
  deploy("virginia", 1);
  pass(600ms);
  auto d = route();
  REQUIRE(d.hops.size() == 2);
  CHECK(d.hops[0].hop.origin.value == zone_id("brussels"));  // 60 km before 6,000 km
  CHECK(d.hops[0].hop.metric_ms < d.hops[1].hop.metric_ms);
  CHECK(d.hops[0].available == 4);
  CHECK(d.hops[1].available == 4);  // no zone was told of the router: it subscribed
  // A zone registering later becomes a next hop within an interval or two.
  topo.with_zone(zone_builder{"frankfurt"}.region("eu-central", 50.11, 8.68).cores(4));
  run();
  deploy("frankfurt", 1);
  pass(600ms);
  d = route();
  REQUIRE(d.hops.size() == 3);
  CHECK(d.hops[1].hop.origin.value == zone_id("frankfurt"));
}

TEST_CASE_FIXTURE(routing_fixture,
                  "routing manager: routers report requests, rejections, setup times and "
                  "per-hop forwards") {
  deploy("brussels", 1);
  pass(600ms);
  for (int i = 0; i < 3; ++i)
    REQUIRE(ask<session_granted>(topo.router("edge"), open_session{game, "c"}));
  REQUIRE_FALSE(ask<session_granted>(topo.router("edge"), open_session{"fusion://acme/x", "c"}));
  pass(300ms);
  auto manager = topo.directory()->get_as<routing_manager_actor>(names::routing_manager);
  auto info = ask<routing_information>(manager, get_routing_information{});
  REQUIRE(info);
  REQUIRE(info->routers.size() == 1);
  const auto& stats = info->routers[0];
  CHECK(stats.router_id.value == names::router("edge"));
  // The window that saw the requests, or a later empty one: the totals are in the first.
  uint64_t requests = 0, rejected = 0, forwarded = 0;
  for (const auto& s : stats.information.services) {
    requests += s.requests;
    rejected += s.rejected;
  }
  for (const auto& h : stats.information.next_hops) forwarded += h.forwarded;
  CHECK(requests == 4);
  CHECK(rejected == 1);
  CHECK(forwarded == 3);
  auto bad = ask<status_reply>(manager, provide_routing_information{});
  REQUIRE_FALSE(bad);
  CHECK(is(bad.error(), errc::invalid_argument));
}

TEST_CASE_FIXTURE(routing_fixture,
                  "sessions: a stateful session goes back to its instance by id, past zones "
                  "that do not run it; an unknown instance is refused with every zone's reason") {
  deploy("brussels", 1);
  auto far = deploy("virginia", 1);
  pass(600ms);
  // The client's state lives in Virginia: the closer Brussels refuses, Virginia grants.
  auto g = ask<session_granted>(topo.router("edge"), open_session{game, "c", 8, far[0]});
  REQUIRE_MESSAGE(g, describe(g.error()));
  CHECK(g->instance_id == far[0]);
  auto none =
      ask<session_granted>(topo.router("edge"), open_session{game, "c", 8, fusion_id{"inst-x"}});
  REQUIRE_FALSE(none);
  CHECK(is(none.error(), errc::no_session_slots));
  auto why = reason_of(none.error());
  CHECK_MESSAGE(why.find("zone brussels runs no instance 'inst-x'") != std::string::npos, why);
  CHECK_MESSAGE(why.find("zone virginia runs no instance 'inst-x'") != std::string::npos, why);
}
