// Tests of the zone manager (§6.3, §6.4.1): offers as binding reservations, expiry and
// release, batches, deployment, termination, service-specific evaluators and registration.

#include "actors/zone/zone_manager.hpp"
#include "actors/topology/topology.hpp"
#include "actors/zone/aggregation.hpp"
#include "protocols/errc.hpp"
#include "protocols/names.hpp"
#include "tests/support/det_fixture.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <doctest/doctest.h>

#include <set>

using namespace fusion;
using namespace fusion::protocols;
using namespace std::chrono_literals;

namespace {

const service_uri game = "fusion://acme/game";

zone_parameters edge(uint32_t cores = 20) {
  zone_parameters p;
  p.name = "edge-1";
  p.location = {"eu-west", 48.85, 2.35};
  p.cpu_cores = cores;
  p.memory_mb = 65536;
  p.cost_per_instance_hour = 0.1;
  return p;
}

manifest game_manifest(const std::string& evaluator = "") {
  manifest m;
  m.name = game;
  m.hardware.cpu_cores = 2;
  m.hardware.memory_mb = 1024;
  m.sessions_per_instance = 4;
  m.evaluator = evaluator;
  return m;
}

zone_evaluate eval_req(uint32_t instances, const std::string& evaluator = "") {
  zone_evaluate req;
  req.service_name = game;
  req.deploy.instances = instances;
  req.service = game_manifest(evaluator);
  return req;
}

zone_deploy_service deploy_req(uint32_t instances, fusion_id offer = {}) {
  zone_deploy_service req;
  req.service_name = game;
  req.deploy.instances = instances;
  req.offer_id = std::move(offer);
  req.service = game_manifest();
  return req;
}

/// An evaluator that parks every request and never answers.
struct mute_state {
  mute_state() = default;
  std::vector<caf::typed_response_promise<evaluation>> parked;
};

evaluator_actor::behavior_type mute_evaluator(evaluator_actor::stateful_pointer<mute_state> self) {
  return {[=](const evaluate&) -> caf::result<evaluation> {
    self->state.parked.push_back(self->make_response_promise<evaluation>());
    return self->state.parked.back();
  }};
}

/// What the fake zone registry saw.
struct registry_log {
  std::vector<register_zone> registrations;
  std::vector<update_resource_information> resources;
  std::vector<update_service_information> services;
  std::vector<slot_report_batch> slots;
};

caf::behavior fake_registry(caf::event_based_actor*, std::shared_ptr<registry_log> log) {
  return {
      [=](register_zone& x) {
        log->registrations.push_back(x);
        return register_zone_reply{fusion_id{"zone-42"}};
      },
      [=](update_resource_information& x) {
        log->resources.push_back(x);
        return status_reply{};
      },
      [=](update_service_information& x) {
        log->services.push_back(x);
        return status_reply{};
      },
      [=](slot_report_batch& x) { log->slots.push_back(x); },
      [=](slot_withdraw&) {},
  };
}

struct zone_fx : test::det_fixture {
  runtime::directory_ptr dir = std::make_shared<runtime::directory>();
  zone_manager_actor zm;

  void start(zone::zone_manager_config cfg) {
    if (!cfg.launch) cfg.launch = topology::in_process_instances();
    zm = zone::spawn_zone_manager(sys, std::move(cfg), dir);
    run();
  }
  void start(uint32_t cores = 20) {
    zone::zone_manager_config cfg;
    cfg.parameters = edge(cores);
    start(std::move(cfg));
  }
  ~zone_fx() {
    for (const auto& n : dir->names()) caf::anon_send_exit(dir->get(n), caf::exit_reason::kill);
    dir->clear();
    run();
  }
  information zone_info() { return ask<information>(zm, get_zone_information{}).value(); }
  std::string info(const std::string& key) { return zone_info().values[key]; }
};

}  // namespace

TEST_CASE_FIXTURE(zone_fx, "zone manager: an offer reserves capacity the next evaluation lacks") {
  start(8);
  auto first = ask<zone_offer>(zm, eval_req(2));
  REQUIRE(first);
  REQUIRE(first->accepted);
  CHECK(first->proposal.instances == 2);
  CHECK(first->proposal.zone_name == "edge-1");
  CHECK(first->proposal.offer_id.value == "offer-edge-1-1");
  CHECK(first->proposal.sessions_per_instance == 4);
  // A TTL, not a clock reading: the receiver counts it from when the offer arrives.
  CHECK(first->proposal.ttl_ms == 5000);
  CHECK(first->proposal.manager == locator{"", names::zone_manager("edge-1")});
  CHECK(info("free_cpu_cores") == "4");
  auto second = ask<zone_offer>(zm, eval_req(4));
  REQUIRE(second);
  REQUIRE(second->accepted);
  CHECK(second->proposal.instances == 2);
  CHECK(second->proposal.scores.capacity == doctest::Approx(0.5));
  auto third = ask<zone_offer>(zm, eval_req(1));
  REQUIRE(third);
  CHECK_FALSE(third->accepted);
  CHECK(third->code == refusal_code::infeasible);
  CHECK(third->details.find("no room") != std::string::npos);
  CHECK(info("reservations") == "2");
}

TEST_CASE_FIXTURE(zone_fx,
                  "zone manager: copies of a request get separate offers while capacity lasts") {
  start(10);  // room for 5 instances of 2 cores
  auto req = eval_req(2);
  req.copies = 4;  // 4 identical placements: 2 full copies of 2 instances fit, then 1 left
  auto o = ask<zone_offer>(zm, req);
  REQUIRE(o);
  REQUIRE(o->accepted);
  CHECK(o->proposal.instances == 2);
  REQUIRE(o->more_offer_ids.size() == 1);
  CHECK(o->more_offer_ids[0] != o->proposal.offer_id);
  CHECK(info("reservations") == "2");
  CHECK(info("free_cpu_cores") == "2");
  // Each copy is its own reservation: releasing one frees exactly its share.
  self->send(zm, release_offers{{o->more_offer_ids[0]}});
  run();
  CHECK(info("free_cpu_cores") == "6");
  auto d = ask<deploy_service_reply>(zm, deploy_req(2, o->proposal.offer_id));
  REQUIRE_MESSAGE(d, describe(d.error()));
  CHECK(d->instance_ids.size() == 2);
}

TEST_CASE_FIXTURE(zone_fx, "zone manager: an offer lapses after its TTL and cannot be deployed") {
  start(8);
  auto o = ask<zone_offer>(zm, eval_req(4)).value();
  REQUIRE(o.accepted);
  CHECK(info("free_cpu_cores") == "0");
  advance(4999ms);
  CHECK(info("free_cpu_cores") == "0");
  advance(1ms);
  CHECK(info("free_cpu_cores") == "8");
  CHECK(info("offers_expired") == "1");
  auto d = ask<deploy_service_reply>(zm, deploy_req(4, o.proposal.offer_id));
  REQUIRE_FALSE(d);
  CHECK(is(d.error(), errc::offer_expired));
  CHECK(reason_of(d.error()).find(o.proposal.offer_id.value) != std::string::npos);
}

TEST_CASE_FIXTURE(zone_fx, "zone manager: releasing an offer frees its reservation") {
  start(8);
  auto a = ask<zone_offer>(zm, eval_req(2)).value();
  auto b = ask<zone_offer>(zm, eval_req(2)).value();
  REQUIRE(a.accepted);
  REQUIRE(b.accepted);
  CHECK(info("free_cpu_cores") == "0");
  auto r = ask<status_reply>(zm, release_offer{a.proposal.offer_id});
  REQUIRE(r);
  CHECK(info("free_cpu_cores") == "4");
  auto again = ask<status_reply>(zm, release_offer{a.proposal.offer_id});
  REQUIRE_FALSE(again);
  CHECK(is(again.error(), errc::offer_expired));
  // Ids this zone never made, however close to its own, are unknown.
  for (const auto& bad : {"offer-edge-1-", "offer-edge-1-2x", "offer-edge-1-99", "offer-edge-2-2",
                          "offer-edge-1--2", "edge-1-2"}) {
    auto r = ask<status_reply>(zm, release_offer{fusion_id{bad}});
    REQUIRE_FALSE(r);
    CHECK(is(r.error(), errc::offer_expired));
  }
  CHECK(info("free_cpu_cores") == "4");
  self->send(zm, release_offers{{fusion_id{"offer-unknown"}, b.proposal.offer_id}});
  run();
  CHECK(info("free_cpu_cores") == "8");
  CHECK(info("offers_released") == "2");
}

TEST_CASE_FIXTURE(zone_fx, "zone manager: deploying with a valid offer starts the instances") {
  start(8);
  auto o = ask<zone_offer>(zm, eval_req(2)).value();
  REQUIRE(o.accepted);
  auto d = ask<deploy_service_reply>(zm, deploy_req(2, o.proposal.offer_id));
  REQUIRE(d);
  REQUIRE(d->instance_ids.size() == 2);
  CHECK(d->instance_ids[0].value == "inst-edge-1-1");
  CHECK(d->instances[1] == locator{"", names::instance(d->instance_ids[1].value)});
  auto inst = dir->get_as<service_lifecycle_actor>(d->instances[0].actor);
  REQUIRE(inst);
  auto slots = ask<available_sessions>(inst, get_available_sessions{});
  REQUIRE(slots);
  CHECK(slots->max_sessions == 4);
  CHECK(slots->available == 4);
  CHECK(info("instances") == "2");
  CHECK(info("reservations") == "0");
  CHECK(info("free_cpu_cores") == "4");
  // The offer was consumed: it can be neither reused nor released.
  CHECK(is(ask<deploy_service_reply>(zm, deploy_req(2, o.proposal.offer_id)).error(),
           errc::offer_expired));
  CHECK(is(ask<status_reply>(zm, release_offer{o.proposal.offer_id}).error(), errc::offer_expired));
  // Its expiry timer firing later changes nothing.
  advance(5s);
  CHECK(info("instances") == "2");
  CHECK(info("free_cpu_cores") == "4");
}

TEST_CASE_FIXTURE(zone_fx, "zone manager: deploying without an offer needs free capacity") {
  start(8);
  REQUIRE(ask<zone_offer>(zm, eval_req(3)).value().accepted);  // 6 of 8 cores held
  auto d = ask<deploy_service_reply>(zm, deploy_req(2));
  REQUIRE_FALSE(d);
  CHECK(is(d.error(), errc::insufficient_capacity));
  CHECK(reason_of(d.error()).find("need 4 cores") != std::string::npos);
  CHECK(reason_of(d.error()).find("free are 2 cores") != std::string::npos);
  auto ok = ask<deploy_service_reply>(zm, deploy_req(1));
  REQUIRE(ok);
  CHECK(ok->instance_ids.size() == 1);
  CHECK(info("free_cpu_cores") == "0");
  auto gpu = deploy_req(1);
  gpu.service.hardware.gpus = 1;
  auto refused = ask<deploy_service_reply>(zm, gpu);
  REQUIRE_FALSE(refused);
  CHECK(reason_of(refused.error()).find("GPU") != std::string::npos);
}

TEST_CASE_FIXTURE(zone_fx, "zone manager: 50 concurrent evaluations never over-commit the zone") {
  start(20);  // room for 10 instances of 2 cores
  std::vector<decltype(self->request(zm, caf::infinite, eval_req(1)))> handles;
  for (int i = 0; i < 50; ++i) handles.push_back(self->request(zm, caf::infinite, eval_req(1)));
  run();
  int accepted = 0;
  int declined = 0;
  std::set<std::string> ids;
  for (auto& h : handles)
    h.receive(
        [&](zone_offer& o) {
          if (o.accepted) {
            ++accepted;
            ids.insert(o.proposal.offer_id.value);
          } else {
            ++declined;
          }
        },
        [&](caf::error& e) { FAIL(describe(e)); });
  CHECK(accepted == 10);
  CHECK(declined == 40);
  CHECK(ids.size() == 10);
  CHECK(info("free_cpu_cores") == "0");
  CHECK(info("reserved_instances") == "10");
}

TEST_CASE_FIXTURE(zone_fx, "zone manager: a batch is answered in order in one reply") {
  start(8);
  zone_evaluate_batch batch;
  batch.requests = {eval_req(2), eval_req(2), eval_req(1)};
  auto gpu = game_manifest();
  gpu.hardware.gpus = 1;  // infeasible: no GPU here
  batch.requests[1].service = gpu;
  auto r = ask<zone_offer_batch>(zm, batch);
  REQUIRE(r);
  REQUIRE(r->offers.size() == 3);
  CHECK(r->offers[0].accepted);
  CHECK(r->offers[0].proposal.instances == 2);
  CHECK_FALSE(r->offers[1].accepted);
  CHECK(r->offers[1].code == refusal_code::infeasible);
  CHECK(r->offers[1].details.find("GPU") != std::string::npos);
  CHECK(r->offers[2].accepted);
  CHECK(info("free_cpu_cores") == "2");
  auto empty = ask<zone_offer_batch>(zm, zone_evaluate_batch{});
  REQUIRE(empty);
  CHECK(empty->offers.empty());
}

TEST_CASE_FIXTURE(zone_fx, "zone manager: a service-specific evaluator scores the offer") {
  start(8);
  auto custom = sys.spawn([](evaluator_actor::pointer) -> evaluator_actor::behavior_type {
    return {[](const evaluate& q) {
      evaluation e;
      e.feasible = q.free.free_cpu_cores >= 6;
      e.instances = 1;
      e.scores.total = 0.42;
      e.cost = 1.5;
      e.details = e.feasible ? "" : "custom says no";
      e.code = e.feasible ? refusal_code::none : refusal_code::infeasible;
      return e;
    }};
  });
  dir->put(names::evaluator("custom"), caf::actor_cast<caf::actor>(custom));
  run();
  auto o = ask<zone_offer>(zm, eval_req(2, "custom"));
  REQUIRE(o);
  REQUIRE(o->accepted);
  CHECK(o->proposal.scores.total == doctest::Approx(0.42));
  CHECK(o->proposal.instances == 1);
  CHECK(o->proposal.cost == doctest::Approx(1.5));
  REQUIRE(ask<zone_offer>(zm, eval_req(1, "custom"))->accepted);  // 4 of 8 cores now held
  auto no = ask<zone_offer>(zm, eval_req(1, "custom"));
  REQUIRE(no);
  CHECK_FALSE(no->accepted);
  CHECK(no->code == refusal_code::infeasible);
  CHECK(no->details == "custom says no");
}

TEST_CASE_FIXTURE(zone_fx, "zone manager: a missing evaluator declines at once") {
  start(8);
  auto o = ask<zone_offer>(zm, eval_req(1, "nope"));
  REQUIRE(o);
  CHECK_FALSE(o->accepted);
  CHECK(o->code == refusal_code::evaluation_failed);
  CHECK(refusal_words(o->code, o->details) ==
        "evaluation failed: the zone has no evaluator 'nope'");
  CHECK(info("free_cpu_cores") == "8");
}

TEST_CASE_FIXTURE(zone_fx,
                  "zone manager: with fallback 'decline', a hanging evaluator is "
                  "declined after its timeout") {
  zone::zone_manager_config cfg;
  cfg.parameters = edge(8);
  cfg.evaluator.timeout_ms = 100;
  cfg.evaluator.fallback = "decline";
  start(cfg);
  auto mute = sys.spawn(mute_evaluator);
  dir->put(names::evaluator("slow"), caf::actor_cast<caf::actor>(mute));
  run();
  auto waiting = self->request(zm, caf::infinite, eval_req(1, "slow"));
  run();
  CHECK(self->mailbox().empty());  // no answer yet, and the zone is not blocked meanwhile:
  CHECK(info("free_cpu_cores") == "8");
  advance(99ms);
  CHECK(self->mailbox().empty());
  advance(1ms);
  REQUIRE_FALSE(self->mailbox().empty());
  waiting.receive(
      [](zone_offer& o) {
        CHECK_FALSE(o.accepted);
        CHECK(o.code == refusal_code::evaluation_failed);
        CHECK(o.details == "evaluator 'slow' did not answer");
      },
      [](caf::error& e) { FAIL(describe(e)); });
  // Even in a batch the manager answers, with the other requests scored normally.
  zone_evaluate_batch batch;
  batch.requests = {eval_req(1), eval_req(1, "slow")};
  auto r = ask<zone_offer_batch>(zm, batch, 100ms);
  REQUIRE(r);
  CHECK(r->offers[0].accepted);
  CHECK_FALSE(r->offers[1].accepted);
}

/// An evaluator that fails its first request and quits.
evaluator_actor::behavior_type crashing_evaluator(evaluator_actor::pointer self) {
  return {[=](const evaluate&) -> caf::result<evaluation> {
    auto err = fusion::make_error(errc::evaluator_unavailable, "boom");
    self->quit(err);
    return err;
  }};
}

TEST_CASE_FIXTURE(zone_fx,
                  "zone manager: a failing evaluator is replaced by the generic one "
                  "(fallback 'generic', the default)") {
  start(8);
  auto crash = sys.spawn(crashing_evaluator);
  dir->put(names::evaluator("crashy"), caf::actor_cast<caf::actor>(crash));
  run();
  auto o = ask<zone_offer>(zm, eval_req(1, "crashy"));
  REQUIRE(o);
  REQUIRE(o->accepted);
  // The same scores as the generic evaluator's for the same free resources.
  REQUIRE(ask<status_reply>(zm, release_offer{o->proposal.offer_id}));
  auto generic = ask<zone_offer>(zm, eval_req(1));
  REQUIRE(generic);
  REQUIRE(generic->accepted);
  CHECK(o->proposal.scores == generic->proposal.scores);
  CHECK(o->proposal.instances == 1);
  // The dead evaluator fails at once from now on, and the zone keeps scoring.
  auto again = ask<zone_offer>(zm, eval_req(1, "crashy"));
  REQUIRE(again);
  CHECK(again->accepted);
}

TEST_CASE_FIXTURE(zone_fx,
                  "zone manager: with fallback 'decline', a crashing evaluator is "
                  "declined, not fatal") {
  zone::zone_manager_config cfg;
  cfg.parameters = edge(8);
  cfg.evaluator.fallback = "decline";
  start(cfg);
  auto crash = sys.spawn(crashing_evaluator);
  dir->put(names::evaluator("crashy"), caf::actor_cast<caf::actor>(crash));
  run();
  auto o = ask<zone_offer>(zm, eval_req(1, "crashy"));
  REQUIRE(o);
  CHECK_FALSE(o->accepted);
  CHECK(o->code == refusal_code::evaluation_failed);
  CHECK(o->details == "evaluator 'crashy' did not answer");
  // Asking the dead evaluator again fails at once, also declined.
  auto again = ask<zone_offer>(zm, eval_req(1, "crashy"));
  REQUIRE(again);
  CHECK_FALSE(again->accepted);
  CHECK(ask<zone_offer>(zm, eval_req(1))->accepted);  // the manager lives on
}

TEST_CASE_FIXTURE(zone_fx,
                  "zone manager: a monitoring script turns the zone's samples into "
                  "indicators") {
  zone::zone_manager_config cfg;
  cfg.parameters = edge(8);
  cfg.monitoring.interval_ms = 100;
  cfg.monitoring_source = R"(
    runs = 0
    function aggregate(s)
      runs = runs + 1
      local sessions = 0
      for _, i in ipairs(s.instances) do sessions = sessions + i.max_sessions end
      return { cpu_used = 1 - s.zone.free_cpu_cores / s.zone.cpu_cores, runs = runs,
               sessions = sessions }
    end)";
  start(cfg);
  CHECK(info("aggregations") == "0");
  advance(100ms);
  CHECK(info("aggregations") == "1");
  CHECK(info("indicator.cpu_used") == "0");
  CHECK(info("indicator.sessions") == "0");
  // Two instances of two cores each, four sessions each.
  auto o = ask<zone_offer>(zm, eval_req(2));
  REQUIRE(o);
  REQUIRE(o->accepted);
  REQUIRE(ask<deploy_service_reply>(zm, deploy_req(2, o->proposal.offer_id)));
  advance(100ms);
  CHECK(info("indicator.cpu_used") == "0.5");
  CHECK(info("indicator.sessions") == "8");
  CHECK(info("indicator.runs") == "2");  // the script's globals persist between runs
}

TEST_CASE_FIXTURE(zone_fx,
                  "zone manager: a failing or runaway monitoring script keeps the last "
                  "indicators and the zone keeps serving") {
  zone::zone_manager_config cfg;
  cfg.parameters = edge(8);
  cfg.monitoring.interval_ms = 100;
  cfg.monitoring.instructions = 50'000;
  cfg.monitoring_source = R"(
    runs = 0
    function aggregate(s)
      runs = runs + 1
      if runs == 2 then while true do end end
      if runs == 3 then return { broken = "text" } end
      if runs == 4 then error("probe missing") end
      return { runs = runs }
    end)";
  start(cfg);
  advance(100ms);
  CHECK(info("indicator.runs") == "1");
  advance(100ms);
  CHECK(info("indicator.runs") == "1");
  CHECK(info("aggregation_error") == "instruction budget of 50000 exceeded");
  advance(100ms);
  CHECK(info("aggregation_error") ==
        "aggregate returned indicator 'broken' = a string (expected a finite number)");
  advance(100ms);
  CHECK(info("aggregation_error").find("probe missing") != std::string::npos);
  CHECK(info("aggregation_failures") == "3");
  CHECK(ask<zone_offer>(zm, eval_req(1))->accepted);  // the zone serves on
  advance(100ms);
  CHECK(info("indicator.runs") == "5");
  CHECK(zone_info().values.count("aggregation_error") == 0);
}

TEST_CASE("zone manager: a monitoring script that does not load is refused with its line") {
  auto bad =
      zone::manager::aggregator::load("agg.lua", "function aggregate(s)\n  return {\nend", {});
  REQUIRE_FALSE(bad);
  CHECK(reason_of(bad.error()).rfind("monitoring script agg.lua: syntax error: agg.lua:3:", 0) ==
        0);
  auto none = zone::manager::aggregator::load("agg.lua", "x = 1", {});
  REQUIRE_FALSE(none);
  CHECK(reason_of(none.error()) ==
        "monitoring script agg.lua: the script defines no function 'aggregate(samples)'");
}

TEST_CASE_FIXTURE(zone_fx, "zone manager: graceful termination drains and frees the instance") {
  start(8);
  auto d = ask<deploy_service_reply>(zm, deploy_req(1)).value();
  auto id = d.instance_ids[0];
  auto inst = dir->get_as<service_lifecycle_actor>(d.instances[0].actor);
  auto s = ask<session_granted>(inst, acquire_session{"alice"}).value();
  CHECK(info("free_cpu_cores") == "6");
  auto pending = self->request(zm, caf::infinite, terminate_service_instance{id, 2000});
  run();
  CHECK(self->mailbox().empty());   // waits for alice
  CHECK(info("instances") == "0");  // withdrawn at once
  REQUIRE(ask<status_reply>(inst, release_session{s.session_id}));
  bool got = false;
  pending.receive(
      [&](status_reply& r) {
        got = true;
        CHECK(r.detail == "graceful: drained");
      },
      [](caf::error& e) { FAIL(describe(e)); });
  CHECK(got);
  CHECK(info("free_cpu_cores") == "8");
  CHECK(info("terminated_graceful") == "1");
  CHECK_FALSE(dir->get(names::instance(id.value)));
  auto unknown = ask<status_reply>(zm, terminate_service_instance{id, 0});
  REQUIRE_FALSE(unknown);
  CHECK(is(unknown.error(), errc::unknown_instance));
}

TEST_CASE_FIXTURE(zone_fx, "zone manager: an instance ignoring stop is forced down") {
  zone::zone_manager_config cfg;
  cfg.parameters = edge(8);
  cfg.instance.force_grace_ms = 1000;
  start(cfg);
  auto d = ask<deploy_service_reply>(zm, deploy_req(1)).value();
  auto id = d.instance_ids[0];
  // Replace the instance with one that accepts service_stop and never answers it.
  auto deaf =
      sys.spawn([](service_lifecycle_actor::pointer) -> service_lifecycle_actor::behavior_type {
        return {
            [](const service_start&) -> caf::result<status_reply> { return status_reply{}; },
            [](const service_stop&) -> caf::result<status_reply> {
              return caf::delegated<status_reply>{};
            },
            [](get_available_sessions) { return available_sessions{}; },
            [](const modify_sessions&) { return status_reply{}; },
            [](const get_information&) { return information{}; },
            [](const acquire_session&) -> caf::result<session_granted> {
              return caf::delegated<session_granted>{};
            },
            [](const release_session&) { return status_reply{}; },
            [](const session_keepalive&) { return status_reply{}; },
        };
      });
  caf::actor deaf_handle = caf::actor_cast<caf::actor>(deaf);
  dir->put(names::instance(id.value), deaf_handle);
  run();
  self->monitor(deaf_handle);
  auto pending = self->request(zm, caf::infinite, terminate_service_instance{id, 3000});
  run();
  advance(3999ms);
  CHECK(info("terminated_forced") == "0");
  advance(1ms);
  bool forced = false;
  pending.receive(
      [&](status_reply& r) {
        forced = r.detail.rfind("forced: instance did not stop within 4000 ms", 0) == 0;
      },
      [](caf::error& e) { FAIL(describe(e)); });
  CHECK(forced);
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; }, caf::after(0s) >> [] {});
  CHECK(down);
  CHECK(info("terminated_forced") == "1");
  CHECK(info("free_cpu_cores") == "8");
  CHECK_FALSE(dir->get(names::instance(id.value)));
}

TEST_CASE_FIXTURE(zone_fx, "zone manager: service information sums the instances' slots") {
  start(8);
  auto d = ask<deploy_service_reply>(zm, deploy_req(2)).value();
  auto inst = dir->get_as<service_lifecycle_actor>(d.instances[1].actor);
  REQUIRE(ask<session_granted>(inst, acquire_session{"a"}));
  auto i = ask<information>(zm, get_service_information{game, info_category::summary});
  REQUIRE(i);
  CHECK(i->values["instances"] == "2");
  CHECK(i->values["available_sessions"] == "7");
  CHECK(i->values["max_sessions"] == "8");
  CHECK(i->values["unreachable"] == "0");
  auto other = ask<information>(zm, get_service_information{"fusion://acme/none", {}});
  REQUIRE(other);
  CHECK(other->values["instances"] == "0");
  CHECK(other->values["available_sessions"] == "0");
}

TEST_CASE_FIXTURE(zone_fx, "zone manager: registers with the zone registry and reports changes") {
  auto log = std::make_shared<registry_log>();
  auto reg = sys.spawn(fake_registry, log);
  dir->put(names::zone_registry, reg);
  start(8);
  REQUIRE(log->registrations.size() == 1);
  const auto& r = log->registrations[0];
  CHECK(r.caller.name == "zone/edge-1");
  CHECK(r.caller.kind == role::zone_admin);
  CHECK(r.parameters == edge(8));
  CHECK(r.manager == locator{"", names::zone_manager("edge-1")});
  CHECK(info("zone_id") == "zone-42");
  auto standing = ask<zone_registration>(zm, get_zone_registration{}).value();
  CHECK(standing.state == zone_registration_state::registered);
  CHECK(standing.zone_id.value == "zone-42");
  CHECK(info("registration") == "registered");
  auto o = ask<zone_offer>(zm, eval_req(2)).value();
  CHECK(o.proposal.zone_id.value == "zone-42");
  // Reservation-only changes are reported within report_interval_ms, not at once.
  auto reports = log->resources.size();
  run();
  CHECK(log->resources.size() == reports);
  advance(std::chrono::milliseconds{zone::zone_manager_config{}.report_interval_ms});
  REQUIRE(log->resources.size() > reports);
  CHECK(log->resources.back().zone_id.value == "zone-42");
  CHECK(log->resources.back().information.reservations == 1);
  CHECK(log->resources.back().information.free_cpu_cores == 4);
  REQUIRE(ask<deploy_service_reply>(zm, deploy_req(2, o.proposal.offer_id)));
  REQUIRE_FALSE(log->services.empty());
  REQUIRE(log->services.back().information.size() == 1);
  CHECK(log->services.back().information[0].service == game);
  CHECK(log->services.back().information[0].instances == 2);
  CHECK(log->services.back().information[0].max_sessions == 8);
  CHECK(log->resources.back().information.instances == 2);
  CHECK(log->resources.back().information.reservations == 0);
}

TEST_CASE_FIXTURE(zone_fx,
                  "zone manager: service reports carry the instances' live free slots, not "
                  "their deployed capacity") {
  auto log = std::make_shared<registry_log>();
  dir->put(names::zone_registry, sys.spawn(fake_registry, log));
  start(8);
  auto d = ask<deploy_service_reply>(zm, deploy_req(1));
  REQUIRE(d);
  auto inst = dir->get_as<service_lifecycle_actor>(names::instance(d->instance_ids[0].value));
  REQUIRE(ask<session_granted>(inst, acquire_session{"a"}));
  REQUIRE(ask<session_granted>(inst, acquire_session{"b"}));
  // The instance reports within instance_report_ms, the zone publishes within its interval.
  for (int i = 0; i < 20; ++i) advance(100ms);
  REQUIRE_FALSE(log->slots.empty());
  CHECK(log->slots.back().reports.at(0).zone_id.value == "zone-42");
  CHECK(log->slots.back().reports.at(0).available == 2);
  REQUIRE(ask<deploy_service_reply>(zm, deploy_req(1)));  // an instance change: a report
  REQUIRE_FALSE(log->services.empty());
  const auto& r = log->services.back().information.at(0);
  CHECK(r.instances == 2);
  CHECK(r.max_sessions == 8);
  CHECK(r.available_sessions == 6);  // 2 of the first instance's 4, all 4 of the new one
}

TEST_CASE_FIXTURE(zone_fx,
                  "zone manager: a remote registry not reachable yet is asked again "
                  "until the zone is registered, with its node in the locator") {
  auto log = std::make_shared<registry_log>();
  auto reg = sys.spawn(fake_registry, log);
  bool link_up = false;
  dir->set_node("zone-node");
  dir->set_remote_resolver([&](const locator& loc) {
    return link_up && loc == locator{"orchestrator", names::zone_registry} ? reg : caf::actor{};
  });
  zone::zone_manager_config cfg;
  cfg.parameters = edge(8);
  cfg.registry = locator{"orchestrator", names::zone_registry};
  start(std::move(cfg));
  CHECK(ask<zone_registration>(zm, get_zone_registration{})->state ==
        zone_registration_state::pending);
  advance(std::chrono::milliseconds{100});  // asked again: still no link
  advance(std::chrono::milliseconds{200});
  CHECK(log->registrations.empty());
  link_up = true;
  advance(std::chrono::milliseconds{400});
  REQUIRE(log->registrations.size() == 1);
  CHECK(log->registrations[0].manager == locator{"zone-node", names::zone_manager("edge-1")});
  CHECK(ask<zone_registration>(zm, get_zone_registration{})->state ==
        zone_registration_state::registered);
  dir->set_remote_resolver(nullptr);
  caf::anon_send_exit(reg, caf::exit_reason::kill);
}

TEST_CASE_FIXTURE(zone_fx, "zone manager: a zone without a registry still works, unregistered") {
  start(8);
  CHECK(ask<zone_registration>(zm, get_zone_registration{})->state ==
        zone_registration_state::no_registry);
  CHECK(info("registration") == "not registered");
  CHECK(ask<zone_offer>(zm, eval_req(1))->accepted);
}

TEST_CASE_FIXTURE(zone_fx, "zone manager: a failed deployment step frees what it held") {
  start(8);
  caf::anon_send_exit(dir->get(names::dc_agent("edge-1")), caf::exit_reason::kill);
  run();
  auto d = ask<deploy_service_reply>(zm, deploy_req(2));
  REQUIRE_FALSE(d);
  CHECK(reason_of(d.error()).find("failed at prepare") != std::string::npos);
  CHECK(info("free_cpu_cores") == "8");
  CHECK(info("reservations") == "0");
  CHECK(info("deploy_failures") == "1");
  CHECK(info("instances") == "0");
}

TEST_CASE_FIXTURE(zone_fx,
                  "zone manager: a deployment fails with its real cause, not as capacity") {
  // Instances that are gone before they start: the start step fails for a cause that is no
  // FUSION code, which the zone reports as deployment_failed.
  zone::zone_manager_config cfg;
  cfg.parameters = edge(8);
  cfg.launch = [](caf::actor_system& sys, const zone::launch_spec& spec) {
    auto h = topology::in_process_instances()(sys, spec);
    caf::anon_send_exit(h, caf::exit_reason::kill);
    return h;
  };
  start(cfg);
  auto d = ask<deploy_service_reply>(zm, deploy_req(1));
  REQUIRE_FALSE(d);
  CHECK(is(d.error(), errc::deployment_failed));
  CHECK_MESSAGE(reason_of(d.error()).find("failed at start") != std::string::npos,
                reason_of(d.error()));
  CHECK(info("free_cpu_cores") == "8");
  CHECK(info("deploy_failures") == "1");
}

TEST_CASE_FIXTURE(zone_fx, "zone manager: staggered offers each lapse exactly at their own TTL") {
  start(8);
  auto a = ask<zone_offer>(zm, eval_req(1)).value();
  advance(1000ms);
  auto b = ask<zone_offer>(zm, eval_req(1)).value();
  auto c = ask<zone_offer>(zm, eval_req(1)).value();
  REQUIRE(ask<status_reply>(zm, release_offer{c.proposal.offer_id}));
  CHECK(b.proposal.ttl_ms == a.proposal.ttl_ms);
  CHECK(info("free_cpu_cores") == "4");
  advance(4000ms);  // a lapses
  CHECK(info("free_cpu_cores") == "6");
  CHECK(is(ask<deploy_service_reply>(zm, deploy_req(1, a.proposal.offer_id)).error(),
           errc::offer_expired));
  advance(999ms);
  CHECK(info("free_cpu_cores") == "6");
  advance(1ms);  // b lapses
  CHECK(info("free_cpu_cores") == "8");
  CHECK(info("offers_expired") == "2");
  CHECK(info("offers_released") == "1");
  // The timer is re-armed for offers made after the queue ran empty.
  REQUIRE(ask<zone_offer>(zm, eval_req(1))->accepted);
  advance(5000ms);
  CHECK(info("free_cpu_cores") == "8");
  CHECK(info("offers_expired") == "3");
}
