// Topology tests of scaling (spec §6.3.3, §5.4.3, §4.3.2.6; docs/slots.md "Scaling"): a
// zone's elasticity rules on slot utilisation, with hysteresis and cooldown, overflow to
// domain scaling, and reclaiming drained instances, in simulated time.

#include "actors/topology/topology.hpp"
#include "protocols/names.hpp"
#include "tests/topology/slots_support.hpp"

#include <algorithm>

using namespace fusion;
using namespace fusion::protocols;
using namespace std::chrono_literals;
using fusion::topology::zone_builder;

namespace {

const principal acme{"acme", role::service_provider};
const service_uri game = "fusion://acme/game";

/// The game: 1 core and 4 session slots per instance; above 75% of its slots in use a zone
/// starts an instance, below 25% it reclaims one.
std::string game_yaml(bool rules = true) {
  return "general:\n  name: " + game +
         "\ndeployment:\n  hardware:\n    cpu_cores: 1\n    memory_mb: 512\n"
         "resources:\n  sessions_per_instance: 4\n" +
         (rules ? "monitoring:\n  thresholds:\n"
                  "    - {metric: slot_utilisation, max: 0.75, action: scale_out}\n"
                  "    - {metric: slot_utilisation, min: 0.25, action: scale_in}\n"
                : "");
}

fusion::topology::options fast() {
  auto o = test::fast_slots();
  o.scaling.interval_ms = 100;
  o.scaling.cooldown_ms = 1'000;
  return o;
}

struct scaling_fixture : test::det_fixture {
  fusion::topology::topology topo{sys, fast()};
  fusion_id service_id;

  scaling_fixture() { topo.with_domain(); }

  ~scaling_fixture() {
    topo.shutdown();
    run();
  }

  void register_game(bool rules = true) {
    auto r =
        ask<register_service_reply>(topo.registrar(), register_service{acme, game_yaml(rules)});
    REQUIRE_MESSAGE(r, describe(r.error()));
    service_id = r->service_id;
  }

  /// Deploys `n` instances of the game through the domain (placement chooses the zones).
  std::vector<fusion_id> deploy(uint32_t n) {
    deploy_parameters d;
    d.instances = n;
    auto r = ask<deploy_service_reply>(topo.deployment(), deploy_service{acme, service_id, {}, d});
    REQUIRE_MESSAGE(r, describe(r.error()));
    return r->instance_ids;
  }

  /// The running instances of the game in `zone`, oldest first.
  std::vector<std::string> instances_in(const std::string& zone) {
    auto h = ask<hosted_instances>(topo.zone(zone), list_hosted_instances{});
    REQUIRE(h);
    std::vector<std::string> out;
    for (const auto& id : h->instance_ids) out.push_back(id.value);
    return out;
  }

  /// The game's instances the domain has on record.
  size_t on_record() {
    auto d = ask<service_description>(
        topo.registrar(), query_service_by_name{acme, service_id, service_info_type::instances});
    REQUIRE_MESSAGE(d, describe(d.error()));
    return d->instance_ids.size();
  }

  service_lifecycle_actor instance(const std::string& id) {
    return topo.directory()->get_as<service_lifecycle_actor>(names::instance(id));
  }

  /// Opens a session at the zone's gateway.
  session_granted open(const std::string& zone) {
    auto g = ask<session_granted>(topo.zone(zone), open_session{game, "t"});
    REQUIRE_MESSAGE(g, describe(g.error()));
    return *g;
  }

  void close(const session_granted& g) {
    REQUIRE(ask<status_reply>(instance(g.instance_id.value), release_session{g.session_id}));
  }

  std::string zone_info(const std::string& zone, const std::string& key) {
    auto info = ask<information>(topo.zone(zone), get_zone_information{});
    REQUIRE(info);
    return info->values[key];
  }
};

}  // namespace

TEST_CASE_FIXTURE(scaling_fixture,
                  "scaling: a rule scales a zone up and back down, with hysteresis and "
                  "cooldown, and the domain's records follow") {
  topo.with_zone(zone_builder{"z1"}.cores(4));
  run();
  register_game();
  deploy(1);
  REQUIRE(instances_in("z1").size() == 1);
  // 3 of 4 slots in use is 75%: not above the bound, nothing happens.
  std::vector<session_granted> sessions;
  for (int i = 0; i < 3; ++i) sessions.push_back(open("z1"));
  pass(500ms);
  CHECK(instances_in("z1").size() == 1);
  // 4 of 4 is 100%: one more instance; 4 of 8 is 50%, inside the band: no more.
  sessions.push_back(open("z1"));
  pass(500ms);
  CHECK(instances_in("z1").size() == 2);
  CHECK(on_record() == 2);
  CHECK(zone_info("z1", "scale_outs") == "1");
  pass(3s);
  CHECK(instances_in("z1").size() == 2);
  // 2 of 8 is 25%: not below the bound; 1 of 8 is 12.5%: the idle instance is reclaimed.
  close(sessions[3]);
  close(sessions[2]);
  pass(3s);
  CHECK(instances_in("z1").size() == 2);
  close(sessions[1]);
  pass(500ms);
  auto left = instances_in("z1");
  REQUIRE(left.size() == 1);
  CHECK(left[0] == sessions[0].instance_id.value);  // the one with the session stays
  CHECK(on_record() == 1);
  CHECK(zone_info("z1", "scale_ins") == "1");
  // The last instance is never reclaimed, however idle.
  close(sessions[0]);
  pass(3s);
  CHECK(instances_in("z1").size() == 1);
}

TEST_CASE_FIXTURE(scaling_fixture,
                  "scaling: a busy instance is drained before it is reclaimed: it takes no new "
                  "session and keeps the ones it has") {
  topo.with_zone(zone_builder{"z1"}.cores(4));
  run();
  register_game();
  deploy(3);
  auto ids = instances_in("z1");
  REQUIRE(ids.size() == 3);
  // One session on each of two instances: 2 of 12 is 17%, below 25%.
  auto a = open("z1");
  pass(50ms);  // the instance reports: the gateway then prefers another
  auto b = open("z1");
  REQUIRE(a.instance_id != b.instance_id);
  pass(200ms);
  // The idle third goes first, at once.
  CHECK(instances_in("z1").size() == 2);
  // 2 of 8 is 25%, not below; with one closed, 1 of 8 reclaims another after the cooldown.
  close(b);
  pass(1'500ms);
  auto left = instances_in("z1");
  REQUIRE(left.size() == 1);
  CHECK(left[0] == a.instance_id.value);
  CHECK(zone_info("z1", "scale_ins") == "2");
  CHECK(on_record() == 1);
}

TEST_CASE_FIXTURE(scaling_fixture,
                  "scaling: a zone without room overflows to domain scaling, which places the "
                  "instance in another zone") {
  topo.with_zone(zone_builder{"small"}.cores(1)).with_zone(zone_builder{"big"}.cores(4));
  run();
  register_game();
  // The first instance straight in the small zone, which has room for that one only.
  auto desc = ask<service_description>(
      topo.registrar(), query_service_by_name{acme, service_id, service_info_type::manifest});
  REQUIRE(desc);
  zone_deploy_service req;
  req.service_name = game;
  req.service_id = service_id;
  req.service = desc->record.parsed;
  REQUIRE(ask<deploy_service_reply>(topo.zone("small"), std::move(req)));
  std::vector<session_granted> sessions;
  for (int i = 0; i < 4; ++i) sessions.push_back(open("small"));
  pass(500ms);
  CHECK(zone_info("small", "scale_overflows") == "1");
  CHECK(instances_in("small").size() == 1);
  CHECK(instances_in("big").size() == 1);
  CHECK(on_record() == 1);  // the domain's own deployment is on record
  // Domain scaling refuses what it cannot do, with the reason.
  auto scaling = topo.directory()->get_as<scaling_actor>(names::scaling);
  auto bad = ask<deploy_service_reply>(scaling, scale_service{"game", 1, "test", "why"});
  REQUIRE_FALSE(bad);
  CHECK(is(bad.error(), errc::invalid_argument));
  auto none = ask<deploy_service_reply>(scaling, scale_service{game, 0, "test", "why"});
  REQUIRE_FALSE(none);
  CHECK(reason_of(none.error()).find("instances must be 1 to 100") != std::string::npos);
  auto unknown =
      ask<deploy_service_reply>(scaling, scale_service{"fusion://acme/nothing", 1, "test", "why"});
  REQUIRE_FALSE(unknown);
  CHECK(is(unknown.error(), errc::unknown_service));
}

TEST_CASE_FIXTURE(scaling_fixture,
                  "scaling: requests for a service being scaled share one deployment") {
  topo.with_zone(zone_builder{"z1"}.cores(4));
  run();
  register_game();
  auto scaling = topo.directory()->get_as<scaling_actor>(names::scaling);
  auto first = self->request(scaling, caf::infinite, scale_service{game, 1, "router a", "none"});
  auto second = self->request(scaling, caf::infinite, scale_service{game, 1, "router b", "none"});
  run();
  std::vector<fusion_id> got;
  for (auto* h : {&first, &second})
    h->receive(
        [&](deploy_service_reply& r) {
          got.insert(got.end(), r.instance_ids.begin(), r.instance_ids.end());
        },
        [&](caf::error& e) { FAIL(describe(e)); });
  REQUIRE(got.size() == 2);
  CHECK(got[0] == got[1]);  // the same instance, deployed once
  CHECK(instances_in("z1").size() == 1);
}

TEST_CASE_FIXTURE(scaling_fixture,
                  "scaling: the deployment function records a zone's own changes, only for "
                  "that zone") {
  topo.with_zone(zone_builder{"z1"}.cores(4)).with_zone(zone_builder{"z2"}.cores(4));
  run();
  register_game();
  auto ids = deploy(1);
  auto d = topo.deployment();
  instance_record rec;
  rec.instance_id = fusion_id{"inst-x"};
  rec.service_id = service_id;
  rec.service = game;
  rec.zone_name = "z2";
  auto wrong_zone = ask<status_reply>(d, zone_instances_changed{"z1", {rec}, {}, "test"});
  REQUIRE_FALSE(wrong_zone);
  CHECK(is(wrong_zone.error(), errc::invalid_argument));
  // Stopping another zone's instance is refused; the zone's own change is recorded.
  auto other = instances_in("z1").empty() ? std::string{"z1"} : std::string{"z2"};
  auto theirs = ask<status_reply>(d, zone_instances_changed{other, {}, {ids[0]}, "test"});
  REQUIRE_FALSE(theirs);
  CHECK(on_record() == 1);
  rec.zone_name = other;
  REQUIRE(ask<status_reply>(d, zone_instances_changed{other, {rec}, {}, "test"}));
  CHECK(on_record() == 2);
}

namespace {

/// Takes scale_service requests and never answers them (they stay open while it lives).
caf::behavior silent_scaling(caf::event_based_actor* self) {
  auto kept = std::make_shared<std::vector<caf::response_promise>>();
  return {[=](const scale_service&) {
    kept->push_back(self->make_response_promise());
    return kept->back();
  }};
}

struct on_demand_fixture : scaling_fixture {
  on_demand_fixture() {
    topo.with_zone(zone_builder{"z1"}.cores(2),
                   {locator{"", names::router("edge")}, locator{"", names::router("stuck")}});
    router::router_config rc;
    rc.name = "edge";
    rc.on_demand = true;
    rc.on_demand_timeout_ms = 2'000;
    topo.with_router(rc);
    rc.name = "stuck";
    rc.scaling = locator{"", "test/silent-scaling"};
    topo.with_router(rc);
    topo.directory()->put("test/silent-scaling", sys.spawn(silent_scaling));
    run();
    auto reg = ask<zone_registration>(topo.zone("z1"), get_zone_registration{});
    REQUIRE(reg);
    for (const auto* r : {"edge", "stuck"}) {
      create_forwarding_entry e;
      e.entry_id = fusion_id{"to-z1"};
      e.information.service_ids = {fusion_id{game}};
      next_hop h;
      h.hop = locator{"", names::zone_manager("z1")};
      h.metric_ms = 5;
      h.origin = reg->zone_id;
      e.information.next_hops = {h};
      REQUIRE(ask<status_reply>(topo.router(r), std::move(e)));
    }
  }

  /// Opens a session through router `r`, letting simulated time pass until it is answered;
  /// CHECKs it is not answered before `not_before`.
  caf::expected<session_granted> open_via(const std::string& r, caf::timespan limit,
                                          caf::timespan not_before = {}) {
    auto h = self->request(topo.router(r), caf::infinite, open_session{game, "client"});
    run();
    caf::timespan t{0};
    for (; t < limit && self->mailbox().empty(); t += 5ms) advance(5ms);
    CHECK(t >= not_before);
    caf::expected<session_granted> out{caf::sec::request_timeout};
    if (!self->mailbox().empty())
      h.receive([&](session_granted& g) { out = std::move(g); },
                [&](caf::error& e) { out = std::move(e); });
    return out;
  }
};

}  // namespace

TEST_CASE_FIXTURE(on_demand_fixture,
                  "scaling: on demand, a request with no free slot anywhere deploys an instance "
                  "and is answered from it; without an answer it is refused at the deadline") {
  register_game(false);  // no elasticity rules: only on-demand deployment adds instances
  REQUIRE(instances_in("z1").empty());
  auto g = open_via("edge", 1s);
  REQUIRE_MESSAGE(g, describe(g.error()));
  auto running = instances_in("z1");
  REQUIRE(running.size() == 1);
  CHECK(g->instance_id.value == running[0]);
  CHECK(on_record() == 1);
  pass(300ms);  // the routers hear of the new instance
  // A router without on-demand deployment (or a service it does not route) is refused at
  // once, as before; one whose scaling never answers is refused at its deadline.
  auto none = ask<session_granted>(topo.router("edge"), open_session{"fusion://acme/other", "c"});
  REQUIRE_FALSE(none);
  CHECK(reason_of(none.error()).find("has no forwarding entry") != std::string::npos);
  for (int i = 0; i < 3; ++i) {  // the instance is full then
    auto more = open_via("edge", 200ms);
    REQUIRE_MESSAGE(more, describe(more.error()));
  }
  pass(300ms);                            // the routers hear it is full
  auto late = open_via("stuck", 3s, 2s);  // answered at the deadline, not before
  REQUIRE_FALSE(late);
  CHECK(is(late.error(), errc::no_session_slots));
  CHECK_MESSAGE(reason_of(late.error()).find("on-demand deployment failed") != std::string::npos,
                reason_of(late.error()));
}
