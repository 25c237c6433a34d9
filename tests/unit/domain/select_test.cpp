// Tests of step 4 of placement (actors/domain/select.hpp): which offers a decision takes, how
// many instances from each, the lowest_cost optimum and the cost ceiling over the whole request.

#include "actors/domain/select.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>

using namespace fusion;
using namespace fusion::protocols;
using fusion::domain::select_offers;

namespace {

zone_verdict offered(const std::string& zone, uint32_t instances, double cost, double total = 0.5,
                     double latency_ms = 10) {
  zone_verdict v;
  v.zone_name = zone;
  v.preselected = v.answered = v.offered = true;
  v.zone_offer.offer_id = fusion_id{"offer-" + zone};
  v.zone_offer.zone_name = zone;
  v.zone_offer.instances = instances;
  v.zone_offer.cost = cost;
  v.zone_offer.scores.total = total;
  v.zone_offer.latency_ms = latency_ms;
  return v;
}

uint32_t taken_from(const domain::offer_selection& s, const std::vector<zone_verdict>& vs,
                    const std::string& zone) {
  for (const auto& t : s.chosen)
    if (vs[t.verdict].zone_name == zone) return t.instances;
  return 0;
}

// The best any choice can do, by trying every one: the most instances coverable within the
// ceiling (up to `n`), and the lowest price of covering that many.
std::pair<uint32_t, double> brute_force(const std::vector<zone_verdict>& vs, uint32_t n,
                                        double ceiling) {
  uint32_t best_n = 0;
  double best_cost = 0;
  std::vector<uint32_t> take(vs.size(), 0);
  std::function<void(size_t)> go = [&](size_t i) {
    if (i == vs.size()) {
      uint32_t got = 0;
      double cost = 0;
      for (size_t j = 0; j < vs.size(); ++j) {
        got += take[j];
        cost += take[j] * vs[j].zone_offer.cost / vs[j].zone_offer.instances;
      }
      if (got > n || (ceiling > 0 && cost > ceiling + 1e-9)) return;
      if (got > best_n || (got == best_n && cost < best_cost)) {
        best_n = got;
        best_cost = cost;
      }
      return;
    }
    for (uint32_t t = 0; t <= vs[i].zone_offer.instances; ++t) {
      take[i] = t;
      go(i + 1);
    }
    take[i] = 0;
  };
  go(0);
  return {best_n, best_cost};
}

}  // namespace

TEST_CASE("select: lowest_cost ranks offers by price per instance served") {
  // The example: 2 instances for 1.2/h (0.6 each) must not beat 12 for 1.44/h.
  std::vector<zone_verdict> vs{offered("small", 2, 1.2), offered("big", 12, 1.44)};
  auto s = select_offers(vs, placement_policy::lowest_cost, 12, 0, 0);
  REQUIRE(s.chosen.size() == 1);
  CHECK(vs[s.chosen[0].verdict].zone_name == "big");
  CHECK(s.chosen[0].instances == 12);
  CHECK(s.covered == 12);
  CHECK(s.total_cost == doctest::Approx(1.44));
  CHECK(vs[0].code == refusal_code::not_needed);
  CHECK(refusal_words(vs[0].code, vs[0].details) == "not needed: better offers cover the request");
}

TEST_CASE("select: a decision takes from its last offer only the instances still needed") {
  std::vector<zone_verdict> vs{offered("a", 4, 4.0, 0.9), offered("b", 10, 5.0, 0.8)};
  auto s = select_offers(vs, placement_policy::best_total, 6, 0, 0);
  REQUIRE(s.chosen.size() == 2);
  CHECK(taken_from(s, vs, "a") == 4);
  CHECK(taken_from(s, vs, "b") == 2);
  CHECK(s.chosen[1].cost == doctest::Approx(1.0));
  CHECK(s.total_cost == doctest::Approx(5.0));
}

TEST_CASE("select: the cost ceiling holds for the whole chosen set, not each offer") {
  // Each offer alone is within 3/h; both whole offers together are not.
  std::vector<zone_verdict> vs{offered("a", 2, 2.0, 0.9), offered("b", 2, 2.4, 0.8)};
  auto s = select_offers(vs, placement_policy::best_total, 4, 0, 3.0);
  CHECK(s.total_cost <= 3.0 + 1e-9);
  CHECK(s.covered == 2);  // 2 of a (2/h); one more of b would be 3.2/h
  CHECK(s.ceiling_bound);
  // A cover within the ceiling that needs part of a costly offer is found.
  std::vector<zone_verdict> ws{offered("cheap", 10, 5.0, 0.1), offered("dear", 12, 12.0, 0.9)};
  auto t = select_offers(ws, placement_policy::best_total, 12, 0, 7.0);
  CHECK(t.covered == 12);
  CHECK(t.total_cost == doctest::Approx(7.0));
  CHECK(taken_from(t, ws, "dear") == 2);  // the policy's favourite, as much as the ceiling allows
  CHECK(taken_from(t, ws, "cheap") == 10);
  CHECK_FALSE(t.ceiling_bound);
}

TEST_CASE("select: lowest_latency skips offers above the latency budget") {
  std::vector<zone_verdict> vs{offered("near", 1, 5.0, 0.5, 8), offered("far", 4, 1.0, 0.9, 90)};
  auto s = select_offers(vs, placement_policy::lowest_latency, 2, 50, 0);
  REQUIRE(s.chosen.size() == 1);
  CHECK(vs[s.chosen[0].verdict].zone_name == "near");
  CHECK(s.covered == 1);
  CHECK(vs[1].code == refusal_code::latency_over_budget);
  CHECK(refusal_words(vs[1].code, vs[1].details) == "latency 90 ms is above the budget of 50 ms");
}

TEST_CASE(
    "select: every policy covers the most instances the ceiling allows; lowest_cost at "
    "the lowest price any choice has (checked against all choices)") {
  std::mt19937 rng{20261201};
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>{lo, hi}(rng); };
  for (int round = 0; round < 300; ++round) {
    std::vector<zone_verdict> vs;
    auto offers = pick(1, 4);
    // Not "z" + std::to_string(i): GCC 12 at -O3 warns falsely there (stringop-overflow).
    for (int i = 0; i < offers; ++i)
      vs.push_back(offered(std::string{"z"}.append(std::to_string(i)),
                           static_cast<uint32_t>(pick(1, 6)), pick(1, 40) / 10.0,
                           pick(0, 100) / 100.0, pick(1, 100)));
    auto n = static_cast<uint32_t>(pick(1, 14));
    double ceiling = pick(0, 1) == 0 ? 0 : pick(1, 80) / 10.0;
    auto [best_n, best_cost] = brute_force(vs, n, ceiling);
    for (auto policy : {placement_policy::lowest_cost, placement_policy::best_total,
                        placement_policy::lowest_latency}) {
      CAPTURE(round);
      CAPTURE(static_cast<int>(policy));
      auto copy = vs;
      auto s = select_offers(copy, policy, n, 0, ceiling);
      CHECK(s.covered == best_n);
      if (ceiling > 0) CHECK(s.total_cost <= ceiling + 1e-9);
      uint32_t sum = 0;
      double cost = 0;
      for (const auto& t : s.chosen) {
        CHECK(t.instances >= 1);
        CHECK(t.instances <= copy[t.verdict].zone_offer.instances);
        sum += t.instances;
        cost += t.cost;
      }
      CHECK(sum == s.covered);
      CHECK(cost == doctest::Approx(s.total_cost));
      if (policy == placement_policy::lowest_cost)
        CHECK(s.total_cost == doctest::Approx(best_cost));
    }
  }
}

TEST_CASE("select: numbers for people have no trailing zeros") {
  CHECK(domain::for_people(12.0) == "12");
  CHECK(domain::for_people(1.44) == "1.44");
  CHECK(domain::for_people(0.1 + 0.2) == "0.3");
  CHECK(domain::for_people(-0.0) == "0");
  CHECK(domain::explain_policy(placement_policy::lowest_cost).find("price per instance") !=
        std::string::npos);
}
