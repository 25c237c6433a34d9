// Topology tests of service routers (spec §4.3.2.3, §4.3.2.5, §5.5.4.1; docs/slots.md
// "Service routers"): forwarding entries, per-next-hop slot rows, re-aggregation upward
// (zone → router → router) and the ranking of next hops, in simulated time.

#include "actors/topology/topology.hpp"
#include "protocols/names.hpp"
#include "tests/topology/slots_support.hpp"

using namespace fusion;
using namespace fusion::protocols;
using namespace std::chrono_literals;
using fusion::topology::zone_builder;

namespace {

const service_uri game = "fusion://acme/game";

locator router_at(const std::string& name) {
  return {"", names::router(name)};
}

next_hop hop(const locator& where, const std::string& origin, double metric_ms) {
  next_hop h;
  h.hop = where;
  h.metric_ms = metric_ms;
  h.origin = fusion_id{origin};
  return h;
}

/// Zones z1 and z2 under edge router "edge-a", z3 under "edge-b", both edges under "core":
/// three levels of aggregation.
struct router_fixture : test::det_fixture {
  fusion::topology::topology topo{sys, test::fast_slots()};

  router_fixture() {
    topo.with_domain();
    for (const auto* name : {"edge-a", "edge-b"}) {
      router::router_config rc;
      rc.name = name;
      rc.upstream = {router_at("core")};
      topo.with_router(rc);
    }
    router::router_config core;
    core.name = "core";
    topo.with_router(core);
    topo.with_zone(zone_builder{"z1"}.cores(8), {router_at("edge-a")})
        .with_zone(zone_builder{"z2"}.cores(8), {router_at("edge-a")})
        .with_zone(zone_builder{"z3"}.cores(8), {router_at("edge-b")});
    run();
    install("edge-a", "to-zones",
            {hop({"", names::zone_manager("z1")}, zone_id("z1"), 5),
             hop({"", names::zone_manager("z2")}, zone_id("z2"), 20)});
    install("edge-b", "to-zones", {hop({"", names::zone_manager("z3")}, zone_id("z3"), 5)});
    install("core", "to-edges",
            {hop(router_at("edge-a"), "router/edge-a", 10),
             hop(router_at("edge-b"), "router/edge-b", 30)});
  }

  ~router_fixture() {
    topo.shutdown();
    run();
  }

  std::string zone_id(const std::string& zone) {
    auto r = ask<zone_registration>(topo.zone(zone), get_zone_registration{});
    REQUIRE(r);
    return r->zone_id.value;
  }

  void install(const std::string& router, const std::string& entry, std::vector<next_hop> hops) {
    create_forwarding_entry req;
    req.entry_id = fusion_id{entry};
    req.information.service_ids = {fusion_id{game}};
    req.information.next_hops = std::move(hops);
    auto r = ask<status_reply>(topo.router(router), std::move(req));
    REQUIRE_MESSAGE(r, describe(r.error()));
  }

  std::vector<fusion_id> deploy(const std::string& zone, uint32_t n) {
    return test::deploy_in(*this, topo, zone, n, test::small_service(game, 4));
  }

  void open(const fusion_id& instance, int n) {
    auto h = topo.directory()->get_as<service_lifecycle_actor>(names::instance(instance.value));
    for (int i = 0; i < n; ++i) REQUIRE(ask<session_granted>(h, acquire_session{"t"}));
  }

  /// Free slots of `game` a router holds, summed over its next hops.
  uint64_t free_at(const std::string& router) {
    auto l = ask<slot_list>(topo.router(router), list_slots{game});
    REQUIRE(l);
    uint64_t n = 0;
    for (const auto& r : l->rows) n += r.available;
    return n;
  }

  route_decision route(const std::string& router) {
    auto d = ask<route_decision>(topo.router(router), route_session{game, "t"});
    REQUIRE_MESSAGE(d, describe(d.error()));
    return *d;
  }
};

}  // namespace

TEST_CASE_FIXTURE(router_fixture,
                  "routers: a three-level hierarchy (zones, edge routers, a core router) sums "
                  "free slots correctly and follows sessions") {
  auto z1 = deploy("z1", 2);
  deploy("z2", 1);
  auto z3 = deploy("z3", 3);
  pass(400ms);
  CHECK(free_at("edge-a") == 12);
  CHECK(free_at("edge-b") == 12);
  CHECK(free_at("core") == 24);
  auto rows = ask<slot_list>(topo.router("core"), list_slots{game})->rows;
  REQUIRE(rows.size() == 2);  // one row per next hop, not per zone
  CHECK(rows[0].name == names::router("edge-a"));
  open(z3[0], 3);
  open(z1[1], 2);
  pass(400ms);
  CHECK(free_at("edge-a") == 10);
  CHECK(free_at("edge-b") == 9);
  CHECK(free_at("core") == 19);
}

TEST_CASE_FIXTURE(router_fixture,
                  "routers: the closest next hop with free slots goes first; a full one is not "
                  "offered; none at all is refused with the reason") {
  auto z1 = deploy("z1", 1);
  auto z2 = deploy("z2", 1);
  pass(400ms);
  auto d = route("edge-a");
  REQUIRE(d.hops.size() == 2);
  CHECK(d.hops[0].hop.origin.value == zone_id("z1"));  // 5 ms before 20 ms
  CHECK(d.hops[0].available == 4);
  CHECK(d.hops[0].p_free > 0.99);
  open(z1[0], 4);
  pass(400ms);
  d = route("edge-a");
  REQUIRE(d.hops.size() == 1);
  CHECK(d.hops[0].hop.origin.value == zone_id("z2"));
  open(z2[0], 4);
  pass(400ms);
  d = route("edge-a");
  CHECK(d.hops.empty());
  CHECK(d.reason.find("no next hop of router edge-a is likely to have a free slot") !=
        std::string::npos);
  auto none = ask<route_decision>(topo.router("edge-a"), route_session{"fusion://acme/other", "t"});
  REQUIRE(none);
  CHECK(none->reason == "router edge-a has no forwarding entry for fusion://acme/other");
  auto bad = ask<route_decision>(topo.router("edge-a"), route_session{"game", "t"});
  REQUIRE_FALSE(bad);
  CHECK(is(bad.error(), errc::invalid_argument));
}

TEST_CASE_FIXTURE(router_fixture,
                  "routers: a decision follows a new report, withdraw or entry at once, not at "
                  "the next tick") {
  deploy("z1", 1);
  deploy("z2", 1);
  pass(400ms);
  auto z1 = fusion_id{zone_id("z1")};
  REQUIRE(route("edge-a").hops.front().hop.origin == z1);
  // No time passes below: only the messages themselves can change the decision.
  slot_report full;
  full.zone_id = z1;
  full.service = game;
  full.max = 4;
  full.epoch = uint64_t{1} << 40;  // a restart: replaces the zone's row
  full.sequence = 1;
  caf::anon_send(topo.router("edge-a"), full);
  run();
  auto d = route("edge-a");
  REQUIRE(d.hops.size() == 1);
  CHECK(d.hops[0].hop.origin.value == zone_id("z2"));
  caf::anon_send(topo.router("edge-a"),
                 slot_withdraw{fusion_id{zone_id("z2")}, game, 1, full.epoch});
  run();
  CHECK(route("edge-a").hops.empty());
  full.available = 4;
  full.moving_average = 4;
  full.sequence = 2;
  caf::anon_send(topo.router("edge-a"), full);
  run();
  REQUIRE(route("edge-a").hops.size() == 1);
  update_forwarding_entry u;
  u.entry_id = fusion_id{"to-zones"};
  u.information.service_ids = {fusion_id{game}};
  u.information.next_hops = {hop({"", names::zone_manager("z2")}, zone_id("z2"), 20)};
  REQUIRE(ask<status_reply>(topo.router("edge-a"), std::move(u)));
  CHECK(route("edge-a").hops.empty());  // z1 is no longer a next hop; z2 withdrew
}

TEST_CASE_FIXTURE(router_fixture,
                  "routers: a crashed zone's slots leave every router within the validity "
                  "period") {
  deploy("z1", 1);
  deploy("z2", 1);
  pass(400ms);
  REQUIRE(free_at("core") == 8);
  caf::anon_send_exit(topo.zone("z2"), caf::exit_reason::kill);
  run();
  pass(1'300ms);  // validity, plus an interval at each of the two levels above
  CHECK(free_at("edge-a") == 4);
  CHECK(free_at("core") == 4);
}

TEST_CASE_FIXTURE(router_fixture,
                  "routers: bad forwarding entries are refused with what to fix; reports of "
                  "hops no entry names are dropped and counted") {
  auto edge = topo.router("edge-a");
  auto refused = [&](auto req, const std::string& words) {
    auto r = ask<status_reply>(edge, std::move(req));
    REQUIRE_FALSE(r);
    CHECK(is(r.error(), errc::invalid_argument));
    CHECK_MESSAGE(reason_of(r.error()).find(words) != std::string::npos, reason_of(r.error()));
  };
  create_forwarding_entry c;
  c.entry_id = fusion_id{"to-zones"};
  c.information.next_hops = {hop({"", "zone/z9"}, "zone-9", 1)};
  refused(c, "already has entry 'to-zones'");
  c.entry_id = fusion_id{"e2"};
  c.information.next_hops = {hop({"", "zone/z9"}, "", 1)};
  refused(c, "next_hops[0]: origin is empty");
  c.information.next_hops = {hop({"", "zone/z9"}, "zone-9", -1)};
  refused(c, "metric_ms must be a finite number");
  c.information.next_hops = {};
  refused(c, "at least one next hop");
  c.information.next_hops = {hop({"", "zone/z9"}, "zone-9", 1)};
  c.information.service_ids = {fusion_id{"game"}};
  refused(c, "service_ids: 'game' is not a service name");
  c.information.service_ids = {};
  c.information.load_balancing = "random";
  refused(c, "load_balancing: expected");
  c.information.load_balancing = "slots";
  c.router_id = fusion_id{"router/elsewhere"};
  refused(c, "the entry is for router 'router/elsewhere'");
  refused(update_forwarding_entry{{}, fusion_id{"nope"}, c.information}, "has no entry 'nope'");
  refused(delete_forwarding_entry{{}, fusion_id{"nope"}}, "has no entry 'nope'");

  caf::anon_send(edge, slot_report{{"zone-77"}, game, 5, 5, 5, 0, 1, 1, 0});
  run();
  auto l = ask<slot_list>(edge, list_slots{});
  REQUIRE(l);
  CHECK(l->counters.unknown == 1);
  CHECK(l->rows.empty());
  // Deleting the entry forgets its hops: their reports count as unknown from then on.
  deploy("z1", 1);
  pass(400ms);
  CHECK(free_at("edge-a") == 4);
  REQUIRE(ask<status_reply>(edge, delete_forwarding_entry{{}, fusion_id{"to-zones"}}));
  CHECK(free_at("edge-a") == 0);
}

TEST_CASE_FIXTURE(router_fixture,
                  "sessions: a request through two routers lands on the least loaded instance "
                  "of the best zone, and its release frees the slot") {
  auto z1 = deploy("z1", 2);
  deploy("z3", 1);
  open(z1[0], 3);
  pass(400ms);
  auto g = ask<session_granted>(topo.router("core"), open_session{game, "alice"});
  REQUIRE_MESSAGE(g, describe(g.error()));
  CHECK(g->instance_id == z1[1]);  // edge-a (10 ms) before edge-b; 4 free before 1 free
  CHECK(g->instance == locator{"", names::instance(z1[1].value)});
  auto inst = topo.directory()->get_as<service_lifecycle_actor>(g->instance.actor);
  CHECK(ask<available_sessions>(inst, get_available_sessions{})->available == 3);
  REQUIRE(ask<status_reply>(inst, release_session{g->session_id}));
  CHECK(ask<available_sessions>(inst, get_available_sessions{})->available == 4);
  // A loop guard: a request with no hops left is refused.
  auto loop = ask<session_granted>(topo.router("core"), open_session{game, "bob", 0});
  REQUIRE_FALSE(loop);
  CHECK(is(loop.error(), errc::no_session_slots));
}

TEST_CASE_FIXTURE(router_fixture,
                  "sessions: 1,000 concurrent requests through 3 routers acting on stale "
                  "numbers fill every slot once and never overbook an instance") {
  std::vector<fusion_id> instances;
  for (const auto* z : {"z1", "z2", "z3"})
    for (auto& id : deploy(z, 2)) instances.push_back(id);  // 6 × 4 = 24 slots
  pass(400ms);
  REQUIRE(free_at("core") == 24);
  // No time passes while the requests are in flight: every router keeps believing the
  // numbers it had, and only the instances know the truth.
  size_t granted = 0, refused = 0;
  std::string a_refusal;
  const char* routers[] = {"edge-a", "edge-b", "core"};
  std::vector<decltype(self->request(topo.router("core"), caf::infinite, open_session{}))> handles;
  for (int i = 0; i < 1000; ++i)
    handles.push_back(self->request(topo.router(routers[i % 3]), caf::infinite,
                                    open_session{game, "client-" + std::to_string(i)}));
  run();
  for (auto& h : handles)
    h.receive([&](session_granted&) { ++granted; },
              [&](caf::error& e) {
                ++refused;
                CHECK(is(e, errc::no_session_slots));
                a_refusal = reason_of(e);
              });
  CHECK(granted == 24);
  CHECK(refused == 976);
  CHECK_MESSAGE(a_refusal.find("no capacity for fusion://acme/game") != std::string::npos,
                a_refusal);
  for (const auto& id : instances) {
    auto h = topo.directory()->get_as<service_lifecycle_actor>(names::instance(id.value));
    auto info = ask<information>(h, get_information{info_category::sessions});
    REQUIRE(info);
    CHECK(info->values["in_use"] == "4");  // every slot once, none twice
  }
}
