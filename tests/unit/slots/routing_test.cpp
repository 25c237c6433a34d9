// Tests of the service router's metric (actors/slots/routing.hpp): distance and free slots
// combined through the probability that a slot is still free, so that under high variance
// a hop with many slots beats the last slot of the closest one (spec §4.3.2.5).

#include "actors/slots/routing.hpp"

#include <doctest/doctest.h>

using namespace fusion;
using slots::aggregate;
using slots::free_probability;
using slots::hop;
using slots::rank_hops;

namespace {

hop make_hop(std::string id, double metric_ms, uint64_t available, double variance) {
  hop h;
  h.id = std::move(id);
  h.metric_ms = metric_ms;
  h.slots.available = available;
  h.slots.max = std::max<uint64_t>(available, 1);
  h.slots.variance = variance;
  h.slots.origins = 1;
  return h;
}

}  // namespace

TEST_CASE("routing: the probability of a free slot grows with slots and falls with variance") {
  aggregate a;
  CHECK(free_probability(a) == 0);  // no slot: never
  a.available = 1;
  CHECK(free_probability(a) == 1);  // a slot and a stable number: certain
  a.variance = 4;
  auto one_slot = free_probability(a);
  CHECK(one_slot > 0.5);
  CHECK(one_slot < 0.7);  // Phi(0.25) = 0.599
  a.available = 10;
  CHECK(free_probability(a) > 0.99);
  a.variance = 400;
  CHECK(free_probability(a) < 0.7);
}

TEST_CASE("routing: with stable numbers the closest hop with a free slot wins") {
  std::vector<hop> hops{make_hop("far", 12, 50, 0), make_hop("near", 5, 1, 0),
                        make_hop("full", 1, 0, 0)};
  auto ranked = rank_hops(hops);
  REQUIRE(ranked.size() == 2);  // the full hop is not worth trying
  CHECK(hops[ranked[0].index].id == "near");
  CHECK(ranked[0].cost == doctest::Approx(5));
  CHECK(hops[ranked[1].index].id == "far");
}

TEST_CASE("routing: under high variance many slots beat the last slot of the closest hop") {
  std::vector<hop> hops{make_hop("near", 5, 1, 4), make_hop("far", 12, 50, 4)};
  auto ranked = rank_hops(hops, {.retry_ms = 50, .min_free_probability = 0.05});
  REQUIRE(ranked.size() == 2);
  CHECK(hops[ranked[0].index].id == "far");  // 12 + ~0 against 5 + 0.4 * 50
  CHECK(ranked[1].cost == doctest::Approx(5 + (1 - ranked[1].p_free) * 50));
  // A cheap retry makes the gamble on the near hop worth it again.
  auto cheap = rank_hops(hops, {.retry_ms = 5, .min_free_probability = 0.05});
  CHECK(hops[cheap[0].index].id == "near");
}

TEST_CASE("routing: hops unlikely to have a slot are not tried; ties go to more slots") {
  std::vector<hop> hops{make_hop("shaky", 1, 1, 10'000), make_hop("b", 10, 5, 0),
                        make_hop("a", 10, 5, 0), make_hop("c", 10, 9, 0)};
  auto ranked = rank_hops(hops, {.retry_ms = 50, .min_free_probability = 0.6});
  REQUIRE(ranked.size() == 3);
  CHECK(hops[ranked[0].index].id == "c");  // same cost, more slots
  CHECK(hops[ranked[1].index].id == "a");  // then by name
  CHECK(hops[ranked[2].index].id == "b");
  CHECK(rank_hops(std::vector<hop>{}).empty());
}
