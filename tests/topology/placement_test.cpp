// Topology tests of the four-step placement and domain deployment (§5.4.2.1, §5.4.4):
// whole domains in one process on CAF's deterministic test coordinator.

#include "actors/domain/placement.hpp"
#include "actors/topology/topology.hpp"
#include "protocols/names.hpp"
#include "tests/support/det_fixture.hpp"
#include "tests/support/files.hpp"

#include <caf/event_based_actor.hpp>

#include <set>

using namespace fusion;
using namespace fusion::protocols;
using namespace std::chrono_literals;
using fusion::topology::zone_builder;

namespace {

const principal acme{"acme", role::service_provider};
const principal mallory{"mallory", role::service_provider};
const principal zone_admin{"ops", role::zone_admin};

std::string manifest_yaml(const std::string& name, const std::string& extra = "") {
  return "general:\n  name: fusion://acme/" + name +
         "\ndeployment:\n  hardware:\n    cpu_cores: 1\n    memory_mb: 512\n" + extra;
}

struct domain_fixture : test::det_fixture {
  fusion::topology::topology topo;

  explicit domain_fixture(fusion::topology::options opts = {}) : topo{sys, std::move(opts)} {
    topo.with_domain();
    run();
  }

  ~domain_fixture() {
    topo.shutdown();
    run();
  }

  fusion_id register_service(const std::string& yaml, principal who = acme) {
    auto r = ask<register_service_reply>(topo.registrar(), protocols::register_service{who, yaml});
    REQUIRE_MESSAGE(r, describe(r.error()));
    return r->service_id;
  }

  /// The instances zone `zone` says it hosts (its get_zone_information "instances").
  std::string instances_in(const std::string& zone) {
    auto info = ask<information>(topo.zone(zone), get_zone_information{});
    REQUIRE(info);
    return info->values["instances"];
  }

  manifest parsed(const fusion_id& id) {
    auto d = ask<service_description>(topo.registrar(),
                                      query_service_by_name{acme, id, service_info_type::manifest});
    REQUIRE_MESSAGE(d, describe(d.error()));
    return d->record.parsed;
  }

  caf::expected<placement_decision> place(const manifest& m, deploy_parameters d = {},
                                          bool dry_run = false,
                                          std::optional<caf::timespan> after = std::nullopt) {
    return ask<placement_decision>(topo.placement(), place_service{acme, m, d, dry_run}, after);
  }
};

// A zone manager that accepts every request and never answers.
caf::behavior mute_zone(caf::event_based_actor* self) {
  return {
      [=](zone_evaluate_batch&) {
        return self->make_response_promise<zone_offer_batch>();  // never delivered
      },
      [=](release_offers&) {},
  };
}

using deliver_atom = caf::atom_constant<caf::atom("deliver")>;

struct slow_zone_state {
  slow_zone_state() = default;
  std::vector<caf::typed_response_promise<zone_offer_batch>> parked;
  std::shared_ptr<std::vector<fusion_id>> released;
};

// A zone manager that answers every evaluation with offers (as many as the request's
// copies), but only after 500 ms.
caf::behavior slow_zone(caf::stateful_actor<slow_zone_state>* self,
                        std::shared_ptr<std::vector<fusion_id>> released) {
  self->state.released = std::move(released);
  return {
      [=](zone_evaluate_batch& b) {
        auto rp = self->make_response_promise<zone_offer_batch>();
        self->state.parked.push_back(rp);
        std::vector<uint32_t> copies;
        for (const auto& r : b.requests) copies.push_back(r.copies);
        self->delayed_send(self, 500ms, deliver_atom::value, std::move(copies));
        return rp;
      },
      [=](deliver_atom, const std::vector<uint32_t>& copies) {
        zone_offer_batch out;
        for (size_t i = 0; i < copies.size(); ++i) {
          zone_offer o;
          o.accepted = true;
          o.proposal.offer_id = fusion_id{"late-offer-" + std::to_string(i)};
          o.proposal.zone_name = "slow";
          o.proposal.instances = 1;
          for (uint32_t c = 1; c < copies[i]; ++c)
            o.more_offer_ids.push_back(
                fusion_id{"late-offer-" + std::to_string(i) + "-" + std::to_string(c)});
          out.offers.push_back(std::move(o));
        }
        for (auto& rp : self->state.parked) rp.deliver(out);
        self->state.parked.clear();
      },
      [=](release_offers& r) {
        for (auto& id : r.offer_ids) self->state.released->push_back(id);
      },
  };
}

}  // namespace

TEST_CASE_FIXTURE(domain_fixture,
                  "placement: an offer that arrives after the decision is released, not leaked") {
  topo.with_zone(zone_builder{"good"}.cores(8));
  run();
  auto released = std::make_shared<std::vector<fusion_id>>();
  auto slow = sys.spawn(slow_zone, released);
  topo.directory()->put(names::zone_manager("slow"), slow);
  zone_parameters zp = zone_builder{"slow"}.cores(8);
  REQUIRE(ask<register_zone_reply>(
      topo.zone_registry(),
      register_zone{zone_admin, zp, locator{"", names::zone_manager("slow")}}));
  auto id = register_service(manifest_yaml("web"));
  auto m = parsed(id);
  // Two identical placements: the slow zone is asked once, for two offers.
  auto pl = caf::actor_cast<caf::actor>(topo.placement());
  auto first = self->request(pl, caf::infinite, place_service{acme, m, {}, false});
  auto second = self->request(pl, caf::infinite, place_service{acme, m, {}, false});
  run();           // waiting for the slow zone
  advance(250ms);  // the deadline passes: decided without it
  fusion_id decided;
  for (auto* rh : {&first, &second})
    rh->receive(
        [&](placement_decision& d) {
          REQUIRE(d.chosen.size() == 1);
          CHECK(d.chosen[0].zone_name == "good");
          decided = d.decision_id;
        },
        [&](caf::error& e) { FAIL(describe(e)); });
  auto d = ask<placement_decision>(topo.placement(), explain_placement{decided});
  REQUIRE(d);
  REQUIRE(d->chosen.size() == 1);
  CHECK(d->chosen[0].zone_name == "good");
  CHECK(released->empty());
  advance(300ms);  // the slow zone's two offers arrive now
  CHECK(released->empty());
  advance(20ms);  // and go back at the next tick
  REQUIRE(released->size() == 2);
  CHECK((*released)[0].value == "late-offer-0");
  CHECK((*released)[1].value == "late-offer-0-1");
  caf::anon_send_exit(slow, caf::exit_reason::kill);
}

TEST_CASE_FIXTURE(domain_fixture,
                  "placement: preselection excludes zones failing hard "
                  "constraints and says why") {
  topo.with_zone(zone_builder{"cpu-only"}.cores(8))
      .with_zone(zone_builder{"gpu-dc"}.cores(64).gpu("nvidia-a100", 40960, 8.0, 4));
  run();
  auto id = register_service(manifest_yaml("renderer", "    gpus: 1\n    min_shader_model: 6.0\n"));
  auto d = place(parsed(id), {}, true);
  REQUIRE_MESSAGE(d, describe(d.error()));
  CHECK(d->satisfied);
  CHECK(d->zones_known == 2);
  REQUIRE(d->chosen.size() == 1);
  CHECK(d->chosen[0].zone_name == "gpu-dc");
  bool saw_cpu_only = false;
  for (const auto& v : d->verdicts)
    if (v.zone_name == "cpu-only") {
      saw_cpu_only = true;
      CHECK_FALSE(v.preselected);
      CHECK(v.details.find("GPU") != std::string::npos);
    }
  CHECK(saw_cpu_only);
}

TEST_CASE_FIXTURE(domain_fixture,
                  "placement: an impossible placement lists why each zone "
                  "was rejected") {
  topo.with_zone(zone_builder{"a"}.cores(4)).with_zone(zone_builder{"b"}.cores(4));
  run();
  auto id = register_service(manifest_yaml("needs-fpga", "    accelerators: [fpga]\n"));
  auto r = ask<deploy_service_reply>(topo.deployment(), deploy_service{acme, id, {}, {}});
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::no_feasible_zone));
  auto why = reason_of(r.error());
  CHECK(why.find("zone a:") != std::string::npos);
  CHECK(why.find("zone b:") != std::string::npos);
  CHECK(why.find("fpga") != std::string::npos);
}

TEST_CASE_FIXTURE(domain_fixture,
                  "placement: a zone that misses the deadline does not block "
                  "the decision") {
  topo.with_zone(zone_builder{"good"}.cores(8));
  run();
  // A registered zone whose manager never answers.
  auto mute = sys.spawn(mute_zone);
  topo.directory()->put(names::zone_manager("mute"), mute);
  zone_parameters zp = zone_builder{"mute"}.cores(8);
  auto reg = ask<register_zone_reply>(
      topo.zone_registry(),
      register_zone{zone_admin, zp, locator{"", names::zone_manager("mute")}});
  REQUIRE(reg);
  auto id = register_service(manifest_yaml("web"));
  auto m = parsed(id);
  auto rh = self->request(caf::actor_cast<caf::actor>(topo.placement()), caf::infinite,
                          place_service{acme, m, {}, true});
  run();
  CHECK(self->mailbox().empty());  // still waiting for the mute zone: no decision yet
  advance(250ms);
  fusion_id decided;
  rh.receive([&](placement_decision& x) { decided = x.decision_id; },
             [&](caf::error& e) { FAIL(describe(e)); });
  auto d = ask<placement_decision>(topo.placement(), explain_placement{decided});
  REQUIRE_MESSAGE(d, describe(d.error()));
  CHECK(d->satisfied);
  REQUIRE(d->chosen.size() == 1);
  CHECK(d->chosen[0].zone_name == "good");
  for (const auto& v : d->verdicts)
    if (v.zone_name == "mute") {
      CHECK_FALSE(v.answered);
      CHECK(v.code == refusal_code::no_answer);
      CHECK(refusal_words(v.code, v.details).find("deadline") != std::string::npos);
    }
  caf::anon_send_exit(mute, caf::exit_reason::kill);
}

TEST_CASE_FIXTURE(domain_fixture,
                  "placement: 50 concurrent deployments racing for a zone with "
                  "10 slots never over-commit it") {
  topo.with_zone(zone_builder{"small"}.cores(10).memory_gb(64));
  run();
  auto id = register_service(manifest_yaml("game"));
  std::vector<caf::response_handle<caf::blocking_actor, caf::message, true>> pending;
  for (int i = 0; i < 50; ++i)
    pending.push_back(self->request(caf::actor_cast<caf::actor>(topo.deployment()), caf::infinite,
                                    deploy_service{acme, id, {}, {}}));
  run();
  int ok = 0;
  int refused = 0;
  std::set<std::string> instances;
  for (auto& rh : pending)
    rh.receive(
        [&](deploy_service_reply& r) {
          ++ok;
          for (auto& i : r.instance_ids) instances.insert(i.value);
        },
        [&](caf::error& e) {
          ++refused;
          CHECK(is(e, errc::no_feasible_zone));
        });
  CHECK(ok == 10);
  CHECK(refused == 40);
  CHECK(instances.size() == 10);
  auto info = ask<information>(topo.zone("small"), get_zone_information{});
  REQUIRE(info);
  CHECK(info->values["instances"] == "10");
}

TEST_CASE_FIXTURE(domain_fixture, "placement: lowest_cost picks the cheapest offer") {
  topo.with_zone(zone_builder{"pricey"}.cores(32).cost(2.0, 0.1))
      .with_zone(zone_builder{"cheap"}.cores(32).cost(0.2, 0.01))
      .with_zone(zone_builder{"middle"}.cores(32).cost(1.0, 0.05));
  run();
  auto id = register_service(manifest_yaml("batch", "mapping:\n  policy: lowest_cost\n"));
  auto d = place(parsed(id), {}, true);
  REQUIRE(d);
  CHECK(d->policy == placement_policy::lowest_cost);
  REQUIRE(d->chosen.size() == 1);
  CHECK(d->chosen[0].zone_name == "cheap");
}

TEST_CASE_FIXTURE(domain_fixture,
                  "placement: lowest_cost takes the cheapest cover of the request, ranked by "
                  "price per instance served") {
  // 1 core per instance: "two" hosts 2 instances at 0.6/h each (1.2/h for its offer), "twelve"
  // hosts 12 at 0.12/h each (1.44/h): 12 instances cost 1.44/h, not 1.2 + 10 × 0.12.
  topo.with_zone(zone_builder{"two"}.cores(2).cost(0.5, 0.1))
      .with_zone(zone_builder{"twelve"}.cores(12).cost(0.02, 0.1));
  run();
  auto id = register_service(manifest_yaml("batch", "mapping:\n  policy: lowest_cost\n"));
  deploy_parameters twelve;
  twelve.instances = 12;
  auto d = place(parsed(id), twelve, true);
  REQUIRE(d);
  CHECK(d->satisfied);
  REQUIRE(d->chosen.size() == 1);
  CHECK(d->chosen[0].zone_name == "twelve");
  CHECK(d->chosen[0].instances == 12);
  CHECK(d->chosen[0].cost == doctest::Approx(1.44));
  CHECK(d->summary.find("12 instances for 1.44/h") != std::string::npos);
  // For 13, the 13th comes from the dearer zone: the decision takes 1 of its 2 instances.
  twelve.instances = 13;
  auto more = place(parsed(id), twelve, true);
  REQUIRE(more);
  CHECK(more->satisfied);
  REQUIRE(more->chosen.size() == 2);
  CHECK(more->chosen[1].zone_name == "two");
  CHECK(more->chosen[1].instances == 1);
  CHECK(more->summary.find("13 instances for 2.04/h") != std::string::npos);
  auto text = domain::render_decision(*more);
  CHECK(text.find("* two: takes 1 of 2 instances for 0.6/h") != std::string::npos);
  CHECK(text.find("latency n/a") != std::string::npos);  // no user locations
  CHECK(text.find("00000") == std::string::npos);        // numbers for people
}

TEST_CASE_FIXTURE(domain_fixture,
                  "placement: the cost ceiling holds for the total of the chosen offers") {
  // Each zone's offer of 2 instances is within 3/h (2.0 and 2.4), both together are not.
  topo.with_zone(zone_builder{"a"}.cores(2).cost(0.9, 0.1))
      .with_zone(zone_builder{"b"}.cores(2).cost(1.1, 0.1));
  run();
  auto id = register_service(manifest_yaml("batch", "business:\n  cost_ceiling: 3\n"));
  deploy_parameters four;
  four.instances = 4;
  auto d = place(parsed(id), four, true);
  REQUIRE(d);
  CHECK_FALSE(d->satisfied);
  double total = 0;
  uint32_t covered = 0;
  for (const auto& o : d->chosen) {
    total += o.cost;
    covered += o.instances;
  }
  CHECK(total <= 3.0);
  CHECK(covered == 2);
  CHECK(d->summary.find("offers cover 2 of 4 instances within the cost ceiling of 3/h") !=
        std::string::npos);
}

TEST_CASE_FIXTURE(domain_fixture,
                  "placement: names match whatever their case in preselection and scoring "
                  "alike, and an unknown fixed zone is reported") {
  topo.with_zone(zone_builder{"gpu-dc"}.cores(32).gpu("nvidia-a100", 40960, 8.0, 4))
      .with_zone(zone_builder{"cpu-dc"}.cores(32));
  run();
  auto id = register_service(manifest_yaml(
      "render", "    gpus: 1\n    gpu_model: NVIDIA\nmapping:\n  fixed_zones: [gpu-dc, gpu-dk]\n"));
  auto d = place(parsed(id), {}, true);
  REQUIRE(d);
  CHECK(d->satisfied);
  REQUIRE(d->chosen.size() == 1);
  CHECK(d->chosen[0].zone_name == "gpu-dc");
  bool reported = false;
  for (const auto& v : d->verdicts)
    if (v.zone_name == "gpu-dk") {
      reported = true;
      CHECK_FALSE(v.preselected);
      CHECK(v.code == refusal_code::unknown_zone);
      CHECK(refusal_words(v.code, v.details) ==
            "mapping.fixed_zones names a zone this domain does not know");
    }
  CHECK(reported);
}

TEST_CASE_FIXTURE(domain_fixture,
                  "placement: lowest_latency picks the zone nearest the users "
                  "within the cost budget") {
  topo.with_zone(zone_builder{"paris"}.region("eu-west", 48.85, 2.35).cores(32).cost(3.0, 0.1))
      .with_zone(
          zone_builder{"frankfurt"}.region("eu-central", 50.11, 8.68).cores(32).cost(0.5, 0.01))
      .with_zone(zone_builder{"tokyo"}.region("ap-east", 35.68, 139.69).cores(32).cost(0.1, 0.01));
  run();
  auto id = register_service(
      manifest_yaml("ar",
                    "mapping:\n  policy: lowest_latency\n  user_locations:\n"
                    "    - {region: eu-west, latitude: 48.86, longitude: 2.34}\n"));
  auto m = parsed(id);
  auto d = place(m, {}, true);
  REQUIRE(d);
  REQUIRE(d->chosen.size() == 1);
  CHECK(d->chosen[0].zone_name == "paris");
  // With a cost budget below Paris' price, the next-nearest affordable zone wins.
  deploy_parameters budget;
  budget.max_cost = 1.0;
  auto d2 = place(m, budget, true);
  REQUIRE(d2);
  REQUIRE(d2->chosen.size() == 1);
  CHECK(d2->chosen[0].zone_name == "frankfurt");
}

TEST_CASE_FIXTURE(domain_fixture,
                  "placement: best_total picks the offer with the highest total "
                  "score, and a request's policy overrides the manifest's") {
  topo.with_zone(zone_builder{"tiny"}.cores(2).cost(0.01, 0.001))
      .with_zone(zone_builder{"large"}.cores(256).memory_gb(1024).cost(1.0, 0.05))
      .with_zone(zone_builder{"medium"}.cores(16).cost(0.5, 0.02));
  run();
  auto id = register_service(manifest_yaml("svc"));
  deploy_parameters d;
  d.instances = 2;
  auto best = place(parsed(id), d, true);
  REQUIRE(best);
  CHECK(best->policy == placement_policy::best_total);
  REQUIRE_FALSE(best->chosen.empty());
  for (const auto& v : best->verdicts)
    if (v.offered) CHECK(v.zone_offer.scores.total <= best->chosen[0].scores.total);
  d.has_policy = true;
  d.policy = placement_policy::lowest_cost;
  auto cheap = place(parsed(id), d, true);
  REQUIRE(cheap);
  CHECK(cheap->policy == placement_policy::lowest_cost);
  REQUIRE_FALSE(cheap->chosen.empty());
  for (const auto& v : cheap->verdicts)
    if (v.offered) CHECK(v.zone_offer.cost >= cheap->chosen[0].cost);
}

// Evaluations a zone has made (each answered from its cache or scored).
int evaluations(domain_fixture& fx, const std::string& zone) {
  auto info = fx.ask<information>(fx.topo.zone(zone), get_zone_information{});
  REQUIRE(info);
  return std::stoi(info->values["cache_hits"]) + std::stoi(info->values["cache_misses"]);
}

// Sends every request at once (before any is handled), then collects the decisions in the
// same order.
std::vector<placement_decision> place_concurrently(domain_fixture& fx,
                                                   const std::vector<place_service>& reqs) {
  std::vector<caf::response_handle<caf::blocking_actor, caf::message, true>> pending;
  for (const auto& req : reqs)
    pending.push_back(
        fx.self->request(caf::actor_cast<caf::actor>(fx.topo.placement()), caf::infinite, req));
  fx.run();
  std::vector<placement_decision> out;
  for (auto& rh : pending)
    rh.receive([&](placement_decision& d) { out.push_back(std::move(d)); },
               [&](caf::error& e) { FAIL("placement failed: " << describe(e)); });
  return out;
}

// Sends `n` copies of `req` at once.
std::vector<placement_decision> place_concurrently(domain_fixture& fx, size_t n,
                                                   const place_service& req) {
  return place_concurrently(fx, std::vector<place_service>(n, req));
}

TEST_CASE_FIXTURE(domain_fixture,
                  "placement: identical concurrent placements each get their own offers, "
                  "best zone first, until its capacity is gone") {
  topo.with_zone(zone_builder{"cheap"}.cores(2).cost(0.1, 0.01))
      .with_zone(zone_builder{"pricey"}.cores(8).cost(2.0, 0.1));
  run();
  auto id = register_service(manifest_yaml("game", "mapping:\n  policy: lowest_cost\n"));
  auto ds = place_concurrently(*this, 4, place_service{acme, parsed(id), {}, false});
  REQUIRE(ds.size() == 4);
  std::set<std::string> decisions;
  std::set<std::string> offers;
  for (size_t i = 0; i < ds.size(); ++i) {
    const auto& d = ds[i];
    CHECK(d.satisfied);
    REQUIRE(d.chosen.size() == 1);
    decisions.insert(d.decision_id.value);
    offers.insert(d.chosen[0].offer_id.value);
    // The cheap zone holds two instances: the first two requests take it.
    CHECK(d.chosen[0].zone_name == (i < 2 ? "cheap" : "pricey"));
    for (const auto& v : d.verdicts)
      if (v.zone_name == "cheap" && i >= 2) {
        CHECK(v.answered);
        CHECK_FALSE(v.offered);
        CHECK(v.code == refusal_code::offers_taken);
        CHECK(refusal_words(v.code, v.details).find("identical placements") != std::string::npos);
      }
  }
  CHECK(decisions.size() == 4);             // one decision each, each shown by explain
  CHECK(evaluations(*this, "cheap") == 1);  // one evaluation per zone for all four
  CHECK(evaluations(*this, "pricey") == 1);
  CHECK(offers.size() == 4);  // never the same reservation twice
  auto again = ask<placement_decision>(topo.placement(), explain_placement{ds[3].decision_id});
  REQUIRE(again);
  CHECK(*again == ds[3]);
  // The chosen reservations stay with the callers; the two unused copies of the pricey
  // zone's offer go back with the next batch to it or at the next tick (20 ms).
  advance(20ms);
  auto cheap = ask<information>(topo.zone("cheap"), get_zone_information{});
  auto pricey = ask<information>(topo.zone("pricey"), get_zone_information{});
  REQUIRE(cheap);
  REQUIRE(pricey);
  CHECK(cheap->values["reservations"] == "2");
  CHECK(pricey->values["reservations"] == "2");
  CHECK(pricey->values["free_cpu_cores"] == "6");
}

TEST_CASE_FIXTURE(domain_fixture,
                  "placement: concurrent dry runs each see a full set of offers and give "
                  "them all back") {
  topo.with_zone(zone_builder{"a"}.cores(64)).with_zone(zone_builder{"b"}.cores(64));
  run();
  auto id = register_service(manifest_yaml("probe"));
  auto ds = place_concurrently(*this, 5, place_service{acme, parsed(id), {}, true});
  REQUIRE(ds.size() == 5);
  std::set<std::string> offered;
  for (const auto& d : ds) {
    CHECK(d.satisfied);
    size_t n = 0;
    for (const auto& v : d.verdicts)
      if (v.offered) {
        ++n;
        if (v.chosen) offered.insert(v.zone_offer.offer_id.value);
      }
    CHECK(n == 2);
  }
  CHECK(offered.size() == 5);
  advance(20ms);  // the next tick gives every reservation back
  for (const auto& zone : {"a", "b"}) {
    auto info = ask<information>(topo.zone(zone), get_zone_information{});
    REQUIRE(info);
    CHECK(info->values["reservations"] == "0");
    CHECK(info->values["free_cpu_cores"] == "64");
  }
}

TEST_CASE_FIXTURE(domain_fixture,
                  "placement: requests that differ in manifest or parameters are evaluated "
                  "apart") {
  topo.with_zone(zone_builder{"a"}.cores(8)).with_zone(zone_builder{"b"}.cores(8));
  run();
  auto m = parsed(register_service(manifest_yaml("svc")));
  auto other = parsed(register_service(manifest_yaml("other")));
  deploy_parameters two;
  two.instances = 2;
  // Three identical (one evaluation per zone), then two that differ.
  std::vector<place_service> reqs(3, place_service{acme, m, {}, true});
  reqs.push_back(place_service{acme, m, two, true});
  reqs.push_back(place_service{acme, other, {}, true});
  auto ds = place_concurrently(*this, reqs);
  REQUIRE(ds.size() == 5);
  for (const auto& d : ds) CHECK(d.satisfied);
  CHECK(ds[3].service == m.name);
  CHECK(ds[3].chosen[0].instances == 2);
  CHECK(ds[4].service == other.name);
  CHECK(evaluations(*this, "a") == 3);
  CHECK(evaluations(*this, "b") == 3);
}

// A domain whose placement function is a pool of two workers.
struct pooled_fixture : domain_fixture {
  static topology::options two_workers() {
    topology::options o;
    o.placement.workers = 2;
    return o;
  }
  pooled_fixture() : domain_fixture(two_workers()) {}
};

TEST_CASE_FIXTURE(pooled_fixture,
                  "placement: with two workers, identical requests still form one cohort and "
                  "explain finds every decision") {
  topo.with_zone(zone_builder{"a"}.cores(64)).with_zone(zone_builder{"b"}.cores(64));
  run();
  std::vector<manifest> services;
  for (int i = 0; i < 6; ++i)
    services.push_back(parsed(register_service(manifest_yaml("svc-" + std::to_string(i)))));
  // Three identical requests for svc-0: one evaluation per zone.
  auto same = place_concurrently(*this, 3, place_service{acme, services[0], {}, true});
  REQUIRE(same.size() == 3);
  CHECK(evaluations(*this, "a") == 1);
  CHECK(evaluations(*this, "b") == 1);
  std::vector<placement_decision> all = same;
  for (size_t i = 1; i < services.size(); ++i) {
    auto d = place(services[i], {}, true);
    REQUIRE_MESSAGE(d, describe(d.error()));
    all.push_back(*d);
  }
  std::set<std::string> ids;
  for (const auto& d : all) {
    CHECK(d.satisfied);
    ids.insert(d.decision_id.value);
    auto again = ask<placement_decision>(topo.placement(), explain_placement{d.decision_id});
    REQUIRE_MESSAGE(again, describe(again.error()));
    CHECK(again->service == d.service);
    CHECK(again->decision_id == d.decision_id);
  }
  // The workers share one counter: ids decision-1 … decision-8, one each, numbered in the
  // order the requests arrived (the later, one-by-one requests have higher numbers).
  std::set<std::string> expected;
  for (size_t i = 1; i <= all.size(); ++i) expected.insert("decision-" + std::to_string(i));
  CHECK(ids == expected);
  for (size_t i = 3; i < all.size(); ++i)
    CHECK(all[i].decision_id.value == "decision-" + std::to_string(i + 1));
  for (const auto& bad : {"decision-999", "decision-x", "no-dash", ""}) {
    auto r = ask<placement_decision>(topo.placement(), explain_placement{fusion_id{bad}});
    REQUIRE_FALSE(r);
    CHECK(is(r.error(), errc::invalid_argument));
  }
}

TEST_CASE_FIXTURE(domain_fixture,
                  "placement: in a cohort, a dry run gives its offer back and a real request "
                  "keeps its own") {
  topo.with_zone(zone_builder{"only"}.cores(4));
  run();
  auto m = parsed(register_service(manifest_yaml("mixed")));
  auto ds = place_concurrently(
      *this, {place_service{acme, m, {}, true}, place_service{acme, m, {}, false}});
  REQUIRE(ds.size() == 2);
  CHECK(ds[0].satisfied);  // the dry run
  REQUIRE(ds[1].chosen.size() == 1);
  auto kept = ds[1].chosen[0].offer_id;
  CHECK(evaluations(*this, "only") == 1);
  advance(20ms);  // the dry run's offer goes back at the next tick
  auto info = ask<information>(topo.zone("only"), get_zone_information{});
  REQUIRE(info);
  CHECK(info->values["reservations"] == "1");  // the real request's, until it deploys
  CHECK(info->values["free_cpu_cores"] == "3");
  // The kept offer is still open: releasing it succeeds once.
  auto r = ask<status_reply>(topo.zone("only"), release_offer{kept});
  CHECK_MESSAGE(r, describe(r.error()));
}

struct small_cohort_fixture : domain_fixture {
  static topology::options cohorts_of_two() {
    topology::options o;
    o.placement.max_cohort = 2;
    return o;
  }
  small_cohort_fixture() : domain_fixture(cohorts_of_two()) {}
};

TEST_CASE_FIXTURE(small_cohort_fixture, "placement: a full cohort closes and the next one opens") {
  topo.with_zone(zone_builder{"z"}.cores(64));
  run();
  auto ds = place_concurrently(
      *this, 5, place_service{acme, parsed(register_service(manifest_yaml("burst"))), {}, true});
  REQUIRE(ds.size() == 5);
  for (const auto& d : ds) CHECK(d.satisfied);
  CHECK(evaluations(*this, "z") == 3);  // cohorts of 2, 2 and 1
}

TEST_CASE_FIXTURE(domain_fixture, "placement: a dry run releases every reservation") {
  topo.with_zone(zone_builder{"one"}.cores(2));
  run();
  auto id = register_service(manifest_yaml("x"));
  deploy_parameters d;
  d.instances = 2;
  for (int i = 0; i < 5; ++i) {
    auto r = place(parsed(id), d, true);
    REQUIRE(r);
    CHECK(r->satisfied);  // capacity for 2 is given back after each dry run
  }
}

TEST_CASE_FIXTURE(domain_fixture,
                  "deployment: deploys instances in the chosen zone and records "
                  "the decision") {
  topo.with_zone(zone_builder{"edge"}.cores(16));
  run();
  auto id = register_service(manifest_yaml("web", "resources:\n  sessions_per_instance: 4\n"));
  deploy_parameters d;
  d.instances = 3;
  auto r = ask<deploy_service_reply>(topo.deployment(), deploy_service{acme, id, {}, d});
  REQUIRE_MESSAGE(r, describe(r.error()));
  CHECK(r->instance_ids.size() == 3);
  CHECK(r->instances.size() == 3);
  auto why = ask<placement_decision>(topo.placement(), explain_placement{r->decision_id});
  REQUIRE(why);
  CHECK(why->satisfied);
  // Every instance runs with the manifest's session slots.
  auto dir = topo.directory();
  for (const auto& loc : r->instances) {
    auto inst = dir->get_as<service_lifecycle_actor>(loc.actor);
    REQUIRE(inst);
    auto slots = ask<available_sessions>(inst, get_available_sessions{});
    REQUIRE(slots);
    CHECK(slots->max_sessions == 4);
    CHECK(slots->available == 4);
  }
}

TEST_CASE_FIXTURE(domain_fixture,
                  "deployment: a provider cannot deploy another provider's "
                  "service") {
  topo.with_zone(zone_builder{"edge"}.cores(16));
  run();
  auto id = register_service(manifest_yaml("private"));
  auto r = ask<deploy_service_reply>(topo.deployment(), deploy_service{mallory, id, {}, {}});
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::not_authorized));
  auto admin = ask<deploy_service_reply>(
      topo.deployment(), deploy_service{principal{"root", role::domain_admin}, id, {}, {}});
  CHECK_MESSAGE(admin, describe(admin.error()));
}

TEST_CASE_FIXTURE(domain_fixture, "deployment: business.max_instances caps deployments") {
  topo.with_zone(zone_builder{"edge"}.cores(16));
  run();
  auto id = register_service(manifest_yaml("capped", "business:\n  max_instances: 2\n"));
  deploy_parameters two;
  two.instances = 2;
  REQUIRE(ask<deploy_service_reply>(topo.deployment(), deploy_service{acme, id, {}, two}));
  auto third = ask<deploy_service_reply>(topo.deployment(), deploy_service{acme, id, {}, {}});
  REQUIRE_FALSE(third);
  CHECK(reason_of(third.error()).find("at most 2") != std::string::npos);
}

TEST_CASE_FIXTURE(domain_fixture,
                  "deployment: unregistering with StopServices terminates the "
                  "instances and frees the zone") {
  topo.with_zone(zone_builder{"edge"}.cores(2));
  run();
  auto id = register_service(manifest_yaml("temp"));
  deploy_parameters two;
  two.instances = 2;
  REQUIRE(ask<deploy_service_reply>(topo.deployment(), deploy_service{acme, id, {}, two}));
  auto st = ask<status_reply>(topo.registrar(), unregister_service{acme, id, true});
  REQUIRE_MESSAGE(st, describe(st.error()));
  CHECK(instances_in("edge") == "0");
}

TEST_CASE_FIXTURE(domain_fixture,
                  "deployment: pre-deployment at registration starts the "
                  "instances the manifest asks for") {
  topo.with_zone(zone_builder{"edge"}.cores(8));
  run();
  auto r = ask<register_service_reply>(
      topo.registrar(),
      protocols::register_service{
          acme, manifest_yaml("eager", "policies:\n  pre_deploy_instances: 2\n")});
  REQUIRE_MESSAGE(r, describe(r.error()));
  CHECK(r->pre_deployed.size() == 2);
}

TEST_CASE_FIXTURE(domain_fixture,
                  "deployment: ensure tops a service up to the total wanted and deploys "
                  "nothing when enough run") {
  topo.with_zone(zone_builder{"edge"}.cores(16));
  run();
  auto id = register_service(manifest_yaml("steady"));
  auto ensure = [&](uint32_t total) {
    deploy_service req{acme, id, {}, {}};
    req.deploy.instances = total;
    req.ensure = true;
    auto r = ask<deploy_service_reply>(topo.deployment(), req);
    REQUIRE_MESSAGE(r, describe(r.error()));
    return *r;
  };
  auto first = ensure(2);
  CHECK(first.instance_ids.size() == 2);
  CHECK(first.existing_ids.empty());
  auto more = ensure(3);
  CHECK(more.instance_ids.size() == 1);
  CHECK(more.existing_ids.size() == 2);
  CHECK(more.existing.size() == 2);
  auto enough = ensure(2);
  CHECK(enough.instance_ids.empty());
  CHECK(enough.existing_ids.size() == 3);
  CHECK(enough.decision_id.value.empty());  // nothing was placed
  CHECK(instances_in("edge") == "3");
}

TEST_CASE_FIXTURE(domain_fixture,
                  "deployment: instances being deployed count toward ensure and "
                  "business.max_instances") {
  topo.with_zone(zone_builder{"edge"}.cores(16));
  run();
  auto id = register_service(manifest_yaml("racy", "business:\n  max_instances: 3\n"));
  deploy_service req{acme, id, {}, {}};
  req.deploy.instances = 2;
  req.ensure = true;
  // Both requests are in the deployment's mailbox before either is answered.
  auto a = self->request(topo.deployment(), caf::infinite, req);
  auto b = self->request(topo.deployment(), caf::infinite, req);
  deploy_service two{acme, id, {}, {}};
  two.deploy.instances = 2;
  auto c = self->request(topo.deployment(), caf::infinite, two);
  run();
  size_t deployed = 0;
  size_t refused = 0;
  for (auto* h : {&a, &b, &c})
    h->receive([&](deploy_service_reply& r) { deployed += r.instance_ids.size(); },
               [&](caf::error& e) {
                 CHECK(reason_of(e).find("at most 3") != std::string::npos);
                 ++refused;
               });
  CHECK(deployed == 2);  // the second ensure saw the first one's two instances coming
  CHECK(refused == 1);   // 2 on the way + 2 more > 3
  CHECK(instances_in("edge") == "2");
}

TEST_CASE(
    "registrar: its owner registering a service again after the domain restarted "
    "pre-deploys only what is missing") {
  test::temp_dir tmp;
  fusion::topology::options opts;
  opts.data_dir = tmp.path;
  test::det_fixture fx;
  auto dir = std::make_shared<runtime::directory>();
  auto yaml = manifest_yaml("eager", "policies:\n  pre_deploy_instances: 2\n");
  // The zone lives on while the domain stops and starts again (another process in a cluster).
  fusion::topology::topology first{fx.sys, opts, dir};
  first.with_domain();
  fusion::topology::topology zones{fx.sys, opts, dir};
  zones.with_zone(zone_builder{"z"}.cores(8));
  fx.run();
  auto reg = fx.ask<register_service_reply>(first.registrar(), register_service{acme, yaml});
  REQUIRE_MESSAGE(reg, describe(reg.error()));
  CHECK(reg->pre_deployed.size() == 2);
  // The domain's process dies; the zone's lives on.
  for (const auto* name :
       {names::registrar, names::zone_registry, names::placement, names::deployment}) {
    caf::anon_send_exit(dir->get(name), caf::exit_reason::kill);
    dir->erase(name);
  }
  fx.run();
  fusion::topology::topology second{fx.sys, opts, dir};
  second.with_domain();
  fx.run();
  auto again = fx.ask<register_service_reply>(second.registrar(), register_service{acme, yaml});
  REQUIRE_MESSAGE(again, describe(again.error()));
  CHECK(again->service_id == reg->service_id);
  CHECK(again->pre_deployed.empty());  // both still run: nothing deployed twice
  auto info = fx.ask<information>(zones.zone("z"), get_zone_information{});
  REQUIRE(info);
  CHECK(info->values["instances"] == "2");
  second.shutdown();
  first.shutdown();  // what the first domain spawned outside the directory
  zones.shutdown();
  fx.run();
}

TEST_CASE_FIXTURE(test::det_fixture,
                  "placement: a manifest without mapping.policy gets the domain's default policy") {
  fusion::topology::options opts;
  opts.placement.policy = placement_policy::lowest_cost;
  fusion::topology::topology topo{sys, opts};
  topo.with_domain()
      .with_zone(zone_builder{"pricey"}.cores(32).cost(2.0, 0.1))
      .with_zone(zone_builder{"cheap"}.cores(32).cost(0.2, 0.01));
  run();
  auto reg = ask<register_service_reply>(topo.registrar(),
                                         protocols::register_service{acme, manifest_yaml("plain")});
  REQUIRE(reg);
  auto m = ask<service_description>(
      topo.registrar(), query_service_by_name{acme, reg->service_id, service_info_type::manifest});
  REQUIRE(m);
  CHECK_FALSE(m->record.parsed.policy_set);
  auto d =
      ask<placement_decision>(topo.placement(), place_service{acme, m->record.parsed, {}, true});
  REQUIRE(d);
  CHECK(d->policy == placement_policy::lowest_cost);
  REQUIRE(d->chosen.size() == 1);
  CHECK(d->chosen[0].zone_name == "cheap");
  // A manifest that names its policy keeps it.
  auto named = m->record.parsed;
  named.policy_set = true;
  named.policy = placement_policy::best_total;
  auto d2 = ask<placement_decision>(topo.placement(), place_service{acme, named, {}, true});
  REQUIRE(d2);
  CHECK(d2->policy == placement_policy::best_total);
  topo.shutdown();
  run();
}

TEST_CASE("restart: instance ids never repeat after a restart with the same data_dir") {
  test::temp_dir tmp;
  fusion::topology::options opts;
  opts.data_dir = tmp.path;
  test::det_fixture fx;
  auto deploy_once = [&]() -> std::string {
    fusion::topology::topology topo{fx.sys, opts};
    topo.with_domain().with_zone(zone_builder{"z"}.cores(8));
    fx.run();
    auto reg = fx.ask<register_service_reply>(topo.registrar(),
                                              register_service{acme, manifest_yaml("web")});
    REQUIRE_MESSAGE(reg, describe(reg.error()));
    auto r = fx.ask<deploy_service_reply>(topo.deployment(),
                                          deploy_service{acme, reg->service_id, {}, {}});
    REQUIRE_MESSAGE(r, describe(r.error()));
    REQUIRE(r->instance_ids.size() == 1);
    topo.shutdown();
    fx.run();
    return r->instance_ids[0].value;
  };
  CHECK(deploy_once() == "inst-z-1");
  // The zone's second start numbers from 2^32 + 1: the first start's instance keeps its row.
  CHECK(deploy_once() == "inst-z-4294967297");
  CHECK(deploy_once() == "inst-z-8589934593");
}

TEST_CASE(
    "restart: records of instances gone with the zone's earlier start are removed, "
    "unconfirmed ones kept") {
  test::temp_dir tmp;
  fusion::topology::options opts;
  opts.data_dir = tmp.path;
  test::det_fixture fx;
  auto yaml = manifest_yaml("web", "business:\n  max_instances: 2\n");
  deploy_parameters two;
  two.instances = 2;
  fusion_id service;
  {  // first start: two instances, both confirmed by their zone
    fusion::topology::topology topo{fx.sys, opts};
    topo.with_domain().with_zone(zone_builder{"z"}.cores(8));
    fx.run();
    auto reg = fx.ask<register_service_reply>(topo.registrar(), register_service{acme, yaml});
    REQUIRE_MESSAGE(reg, describe(reg.error()));
    service = reg->service_id;
    auto r =
        fx.ask<deploy_service_reply>(topo.deployment(), deploy_service{acme, service, {}, two});
    REQUIRE_MESSAGE(r, describe(r.error()));
    auto rec = fx.ask<instances_reconciled>(topo.deployment(), reconcile_instances{});
    REQUIRE(rec);
    CHECK(rec->confirmed == 2);
    CHECK(rec->removed == 0);
    topo.shutdown();
    fx.run();
  }
  {  // the domain alone: nobody can confirm or deny, so the records stay
    fusion::topology::topology topo{fx.sys, opts};
    topo.with_domain();
    fx.run();
    auto rec = fx.ask<instances_reconciled>(topo.deployment(), reconcile_instances{});
    REQUIRE(rec);
    CHECK(rec->unconfirmed == 2);
    CHECK(rec->removed == 0);
    CHECK(rec->confirmed == 0);
    topo.shutdown();
    fx.run();
  }
  {  // the zone starts again, empty: its registration makes the domain drop both records
    fusion::topology::topology topo{fx.sys, opts};
    topo.with_domain().with_zone(zone_builder{"z"}.cores(8));
    fx.run();
    auto rec = fx.ask<instances_reconciled>(topo.deployment(), reconcile_instances{});
    REQUIRE(rec);
    CHECK(rec->confirmed == 0);
    CHECK(rec->removed == 0);  // already removed when the zone registered
    CHECK(rec->unconfirmed == 0);
    // The ghosts no longer count toward business.max_instances: two can run again.
    auto r =
        fx.ask<deploy_service_reply>(topo.deployment(), deploy_service{acme, service, {}, two});
    REQUIRE_MESSAGE(r, describe(r.error()));
    rec = fx.ask<instances_reconciled>(topo.deployment(), reconcile_instances{"z"});
    REQUIRE(rec);
    CHECK(rec->confirmed == 2);
    rec = fx.ask<instances_reconciled>(topo.deployment(), reconcile_instances{"other"});
    REQUIRE(rec);
    CHECK(rec->confirmed == 0);
    topo.shutdown();
    fx.run();
  }
}

TEST_CASE("topology: a node config's sections reach the roles whole, defaults included") {
  auto nc = runtime::default_config();
  nc.node.data_dir = "/var/lib/fusion";
  nc.placement.max_cohort = 3;
  nc.placement.decisions_kept = 5;
  nc.evaluator.cache_ttl_ms = 9;
  nc.instance.force_grace_ms = 7;
  nc.deployment.step_timeout_ms = 750;
  auto o = fusion::topology::options_from(nc);
  CHECK(o.data_dir == nc.node.data_dir);
  CHECK(o.placement == nc.placement);
  CHECK(o.evaluator == nc.evaluator);
  CHECK(o.instance == nc.instance);
  CHECK(o.deployment == nc.deployment);
  // A topology built without a config runs with the config's defaults, not its own.
  fusion::topology::options unset;
  auto defaults = runtime::default_config();
  CHECK(unset.placement == defaults.placement);
  CHECK(unset.evaluator == defaults.evaluator);
  CHECK(unset.instance == defaults.instance);
  CHECK(unset.deployment == defaults.deployment);
}
