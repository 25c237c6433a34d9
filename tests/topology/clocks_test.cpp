// Two clock domains in one test: the domain functions run in one actor system and the zone
// in another, each with its own simulated wall and monotonic clock, as two nodes whose
// clocks have nothing in common. Offers cross between them as a TTL, never as a time.

#include "actors/topology/topology.hpp"
#include "protocols/errc.hpp"
#include "protocols/names.hpp"
#include "tests/support/det_fixture.hpp"

#include <caf/event_based_actor.hpp>

using namespace fusion;
using namespace fusion::protocols;
using namespace std::chrono_literals;
using fusion::topology::zone_builder;

namespace {

const principal acme{"acme", role::service_provider};
const principal zone_admin{"ops", role::zone_admin};
constexpr timestamp_ms year_ms = 365LL * 24 * 3600 * 1000;

// A zone manager that accepts every request and never answers.
caf::behavior mute_zone(caf::event_based_actor* self) {
  return {
      [=](zone_evaluate_batch&) { return self->make_response_promise<zone_offer_batch>(); },
      [=](release_offers&) {},
  };
}

fusion::topology::options with_ttl(duration_ms offer_ttl_ms) {
  fusion::topology::options o;
  o.placement.offer_ttl_ms = offer_ttl_ms;
  o.placement.deadline_ms = 1000;
  return o;
}

struct two_clocks {
  // The zone's node runs a year and 9,000 hours ahead of the domain's, on both clocks.
  test::det_fixture here{test::det_fixture::default_wall_clock_ms, 1h};
  test::det_fixture there{test::det_fixture::default_wall_clock_ms + year_ms, 9000h};
  runtime::directory_ptr dir = std::make_shared<runtime::directory>();
  fusion::topology::topology domain;
  fusion::topology::topology zones;

  explicit two_clocks(duration_ms offer_ttl_ms)
      : domain{here.sys, with_ttl(offer_ttl_ms), dir},
        zones{there.sys, with_ttl(offer_ttl_ms), dir} {
    domain.with_domain();
    run();
  }

  ~two_clocks() {
    zones.shutdown();
    domain.shutdown();
    run();
  }

  // Runs both systems until neither has work left.
  void run() {
    while (here.run() + there.run() > 0) {
    }
  }

  void advance_here(caf::timespan d) {
    here.sched.advance_time(d);
    run();
  }

  void advance_there(caf::timespan d) {
    there.sched.advance_time(d);
    run();
  }

  // Asks `dst` from the domain's side; the answer, or request_timeout if none came.
  template <class Reply, class Handle, class Request>
  caf::expected<Reply> ask(const Handle& dst, Request req) {
    auto rh = here.self->request(dst, caf::infinite, std::move(req));
    run();
    caf::expected<Reply> res{caf::sec::request_timeout};
    if (here.self->mailbox().empty()) return res;
    rh.receive([&](Reply& x) { res = std::move(x); }, [&](caf::error& e) { res = std::move(e); });
    return res;
  }

  manifest registered_service() {
    auto r = ask<register_service_reply>(
        domain.registrar(),
        register_service{acme,
                         "general:\n  name: fusion://acme/web\ndeployment:\n  hardware:\n"
                         "    cpu_cores: 1\n    memory_mb: 512\n"});
    REQUIRE_MESSAGE(r, describe(r.error()));
    auto d = ask<service_description>(
        domain.registrar(),
        query_service_by_name{acme, r->service_id, service_info_type::manifest});
    REQUIRE_MESSAGE(d, describe(d.error()));
    return d->record.parsed;
  }

  caf::expected<deploy_service_reply> deploy_with(const offer& o) {
    zone_deploy_service req;
    req.service_name = o.service;
    req.deploy.instances = 1;
    req.offer_id = o.offer_id;
    req.service = service;
    auto zm = caf::actor_cast<zone_manager_actor>(dir->resolve(o.manager));
    REQUIRE(zm);
    return ask<deploy_service_reply>(zm, std::move(req));
  }

  manifest service;  // what registered_service() returned, for deploy_with()
};

}  // namespace

TEST_CASE("clocks: an offer made on another node's clock holds there for its TTL") {
  two_clocks t{5000};
  t.zones.with_zone(zone_builder{"far"}.cores(8));
  t.run();
  t.service = t.registered_service();
  deploy_parameters one;
  one.instances = 1;
  auto first =
      t.ask<placement_decision>(t.domain.placement(), place_service{acme, t.service, one, false});
  REQUIRE_MESSAGE(first, describe(first.error()));
  REQUIRE(first->satisfied);
  REQUIRE(first->chosen.size() == 1);
  const auto& o = first->chosen[0];
  CHECK(o.ttl_ms == 5000);
  CHECK(o.manager == locator{"", names::zone_manager("far")});
  // The decision is stamped with the domain's wall time, not the zone's.
  CHECK(first->decided_at == test::det_fixture::default_wall_clock_ms);
  // Counted on the zone's own clock: 4,999 ms later there, the offer still holds, however
  // far the domain's clock is from the zone's.
  t.advance_there(4999ms);
  auto deployed = t.deploy_with(o);
  CHECK_MESSAGE(deployed, describe(deployed.error()));
  // A second offer, used after its TTL ran out on the zone's clock, is refused.
  auto second =
      t.ask<placement_decision>(t.domain.placement(), place_service{acme, t.service, one, false});
  REQUIRE(second);
  REQUIRE(second->satisfied);
  t.advance_there(5000ms);
  auto late = t.deploy_with(second->chosen[0]);
  REQUIRE_FALSE(late);
  CHECK(is(late.error(), errc::offer_expired));
}

namespace {

// A zone "quick" (on the zone's node) that answers at once races a registered zone "mute"
// (here) that never answers: the decision waits for placement's 1,000 ms deadline on the
// domain's clock. Returns that decision.
placement_decision race_with_a_mute_zone(two_clocks& t) {
  t.zones.with_zone(zone_builder{"quick"}.cores(8));
  t.run();
  auto mute = t.here.sys.spawn(mute_zone);
  t.dir->put(names::zone_manager("mute"), mute);
  zone_parameters zp = zone_builder{"mute"}.cores(8);
  REQUIRE(t.ask<register_zone_reply>(
      t.domain.zone_registry(),
      register_zone{zone_admin, zp, locator{"", names::zone_manager("mute")}}));
  auto m = t.registered_service();
  auto rh = t.here.self->request(caf::actor_cast<caf::actor>(t.domain.placement()), caf::infinite,
                                 place_service{acme, m, {}, true});
  t.run();
  CHECK(t.here.self->mailbox().empty());  // waiting for the mute zone
  t.advance_here(1000ms);
  placement_decision d;
  rh.receive([&](placement_decision& x) { d = std::move(x); },
             [&](caf::error& e) { FAIL(describe(e)); });
  caf::anon_send_exit(mute, caf::exit_reason::kill);
  t.run();
  return d;
}

}  // namespace

TEST_CASE("clocks: an offer whose TTL runs out before the decision is not chosen") {
  // By the deadline the 200 ms offer has lapsed on the domain's clock.
  two_clocks t{200};
  auto d = race_with_a_mute_zone(t);
  CHECK_FALSE(d.satisfied);
  CHECK(d.chosen.empty());
  bool seen = false;
  for (const auto& v : d.verdicts)
    if (v.zone_name == "quick") {
      seen = true;
      CHECK(v.answered);
      CHECK_FALSE(v.offered);
      CHECK(v.code == refusal_code::offer_lapsed);
      CHECK(refusal_words(v.code, v.details) ==
            "its offer lapsed before the decision (held for 200 ms)");
    }
  CHECK(seen);
}

TEST_CASE("clocks: an offer that arrives within its TTL of the decision is chosen") {
  // The same race with a TTL longer than the deadline: the offer still holds.
  two_clocks t{1500};
  auto d = race_with_a_mute_zone(t);
  CHECK(d.satisfied);
  REQUIRE(d.chosen.size() == 1);
  CHECK(d.chosen[0].zone_name == "quick");
}
