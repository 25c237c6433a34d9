// Topology tests of the four-step placement and domain deployment (§5.4.2.1, §5.4.4):
// whole domains in one process on CAF's deterministic test coordinator.

#include "actors/topology/topology.hpp"
#include "protocols/names.hpp"
#include "tests/support/det_fixture.hpp"

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
  fusion::topology::topology topo{sys};

  domain_fixture() {
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

// A zone manager that answers every evaluation with an offer, but only after 500 ms.
caf::behavior slow_zone(caf::stateful_actor<slow_zone_state>* self,
                        std::shared_ptr<std::vector<fusion_id>> released) {
  self->state.released = std::move(released);
  return {
      [=](zone_evaluate_batch& b) {
        auto rp = self->make_response_promise<zone_offer_batch>();
        self->state.parked.push_back(rp);
        self->delayed_send(self, 500ms, deliver_atom::value, b.requests.size());
        return rp;
      },
      [=](deliver_atom, size_t n) {
        zone_offer_batch out;
        for (size_t i = 0; i < n; ++i) {
          zone_offer o;
          o.accepted = true;
          o.proposal.offer_id = fusion_id{"late-offer-" + std::to_string(i)};
          o.proposal.zone_name = "slow";
          o.proposal.instances = 1;
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
  CHECK_FALSE(place(m, {}, false));  // waiting for the slow zone
  advance(250ms);                    // the deadline passes: decided without it
  auto d = ask<placement_decision>(topo.placement(), explain_placement{fusion_id{"decision-1"}});
  REQUIRE(d);
  REQUIRE(d->chosen.size() == 1);
  CHECK(d->chosen[0].zone_name == "good");
  CHECK(released->empty());
  advance(300ms);  // the slow zone's offer arrives now
  REQUIRE(released->size() == 1);
  CHECK(released->front().value == "late-offer-0");
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
      CHECK(v.reason.find("GPU") != std::string::npos);
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
  auto early = place(m, {}, true);
  CHECK_FALSE(early);  // still waiting for the mute zone: no decision before the deadline
  advance(250ms);
  auto d = ask<placement_decision>(topo.placement(), explain_placement{fusion_id{"decision-1"}});
  REQUIRE_MESSAGE(d, describe(d.error()));
  CHECK(d->satisfied);
  REQUIRE(d->chosen.size() == 1);
  CHECK(d->chosen[0].zone_name == "good");
  for (const auto& v : d->verdicts)
    if (v.zone_name == "mute") {
      CHECK_FALSE(v.answered);
      CHECK(v.reason.find("deadline") != std::string::npos);
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
  auto info = ask<information>(topo.zone("edge"), get_zone_information{});
  REQUIRE(info);
  CHECK(info->values["instances"] == "0");
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

TEST_CASE_FIXTURE(test::det_fixture,
                  "placement: a manifest without mapping.policy gets the domain's default policy") {
  fusion::topology::options opts;
  opts.placement.default_policy = placement_policy::lowest_cost;
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
