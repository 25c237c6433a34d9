#include "actors/domain/select.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace fusion::domain {

using namespace protocols;

namespace {

constexpr double unaffordable = std::numeric_limits<double>::infinity();

// Prices are sums of products of decimal prices: compare them with a small tolerance so
// 12 × 0.12 is within a ceiling of 1.44.
bool within(double cost, double ceiling) {
  return cost <= ceiling + 1e-9 * std::max(1.0, std::abs(ceiling));
}

// The order of a policy over offers; ties by total score, then zone name (deterministic).
bool better(const zone_verdict& x, const zone_verdict& y, placement_policy policy) {
  const auto& a = x.zone_offer;
  const auto& b = y.zone_offer;
  switch (policy) {
    case placement_policy::lowest_cost: {
      auto pa = price_per_instance(a);
      auto pb = price_per_instance(b);
      if (pa != pb) return pa < pb;
      break;
    }
    case placement_policy::lowest_latency:
      if (a.latency_ms != b.latency_ms) return a.latency_ms < b.latency_ms;
      break;
    case placement_policy::best_total:
      break;
  }
  if (a.scores.total != b.scores.total) return a.scores.total > b.scores.total;
  return x.zone_name < y.zone_name;
}

// The eligible offers of one decision, with the cheapest way to cover a number of instances
// from those not considered yet.
struct offers_view {
  const std::vector<zone_verdict>& verdicts;
  std::vector<size_t> by_price;  // eligible verdict indices, cheapest per instance first
  std::vector<bool> considered;  // by verdict index: already decided on

  uint32_t capacity(size_t i) const { return verdicts[i].zone_offer.instances; }

  // Price per hour of the cheapest way to take `n` instances from the offers not considered
  // yet: from the cheapest per instance up (optimal, as prices are linear in instances
  // taken); unaffordable if they hold fewer than `n`.
  double cheapest(uint64_t n) const {
    double cost = 0;
    for (auto i : by_price) {
      if (n == 0) break;
      if (considered[i]) continue;
      auto t = std::min<uint64_t>(n, capacity(i));
      cost += static_cast<double>(t) * price_per_instance(verdicts[i].zone_offer);
      n -= t;
    }
    return n == 0 ? cost : unaffordable;
  }
};

// Largest t in [0, hi] with f(t) within `ceiling`, where f is convex and f(lo) is within it
// for some lo in [0, hi] (the caller's invariant); -1 if none is.
template <class F>
int64_t largest_within(F f, uint64_t hi, double ceiling) {
  if (within(f(hi), ceiling)) return static_cast<int64_t>(hi);
  // The minimum of a convex f: the first t whose step f(t+1) - f(t) is not negative.
  uint64_t a = 0;
  uint64_t b = hi;
  while (a < b) {
    auto m = a + (b - a) / 2;
    auto here = f(m);
    // Unaffordable (the rest cannot be covered) only below the finite part: go right.
    if (std::isinf(here) || f(m + 1) < here)
      a = m + 1;
    else
      b = m;
  }
  if (!within(f(a), ceiling)) return -1;
  // f does not decrease on [a, hi]: the last t there within the ceiling.
  uint64_t lo = a;
  uint64_t up = hi;  // f(up) is above the ceiling
  while (up - lo > 1) {
    auto m = lo + (up - lo) / 2;
    if (within(f(m), ceiling))
      lo = m;
    else
      up = m;
  }
  return static_cast<int64_t>(lo);
}

}  // namespace

double price_per_instance(const offer& o) {
  return o.instances > 0 ? o.cost / o.instances : o.cost;
}

offer_selection select_offers(std::vector<zone_verdict>& verdicts, placement_policy policy,
                              uint32_t instances, double latency_budget_ms, double max_cost) {
  const double ceiling = max_cost > 0 ? max_cost : unaffordable;
  std::vector<size_t> eligible;
  for (size_t i = 0; i < verdicts.size(); ++i) {
    auto& v = verdicts[i];
    if (!v.offered || v.zone_offer.instances == 0) continue;
    if (policy == placement_policy::lowest_latency && latency_budget_ms > 0 &&
        v.zone_offer.latency_ms > latency_budget_ms) {
      v.code = refusal_code::latency_over_budget;
      v.details = for_people(v.zone_offer.latency_ms) + " ms is above the budget of " +
                  for_people(latency_budget_ms) + " ms";
      continue;
    }
    eligible.push_back(i);
  }
  offers_view view{verdicts, eligible, std::vector<bool>(verdicts.size(), false)};
  std::sort(view.by_price.begin(), view.by_price.end(), [&](size_t x, size_t y) {
    return better(verdicts[x], verdicts[y], placement_policy::lowest_cost);
  });

  // How many instances to cover: all requested if the cheapest cover is within the ceiling,
  // else the most that are (the cheapest cover's price grows with the instances covered).
  uint64_t offered = 0;
  for (auto i : eligible) offered += view.capacity(i);
  uint64_t target = std::min<uint64_t>(instances, offered);
  offer_selection out;
  if (!within(view.cheapest(target), ceiling)) {
    out.ceiling_bound = true;
    uint64_t lo = 0;
    uint64_t up = target;  // the cheapest cover of `up` is above the ceiling
    while (up - lo > 1) {
      auto m = lo + (up - lo) / 2;
      if (within(view.cheapest(m), ceiling))
        lo = m;
      else
        up = m;
    }
    target = lo;
  }

  // In the policy's order, take as much from each offer as keeps the rest coverable within
  // the ceiling by the offers after it. Invariant: spent + cheapest(rest) is within it.
  std::sort(eligible.begin(), eligible.end(),
            [&](size_t x, size_t y) { return better(verdicts[x], verdicts[y], policy); });
  uint64_t rest = target;
  double spent = 0;
  for (auto i : eligible) {
    auto& v = verdicts[i];
    view.considered[i] = true;
    if (rest == 0) {
      if (out.ceiling_bound) {
        v.code = refusal_code::ceiling_reached;
        v.details = for_people(max_cost) + "/h";
      } else {
        v.code = refusal_code::not_needed;
      }
      continue;
    }
    const double unit = price_per_instance(v.zone_offer);
    auto cost_with = [&](uint64_t t) {
      return spent + static_cast<double>(t) * unit + view.cheapest(rest - t);
    };
    auto t = largest_within(cost_with, std::min<uint64_t>(rest, view.capacity(i)), ceiling);
    if (t <= 0) {
      v.code = refusal_code::over_ceiling;
      v.details = for_people(max_cost) + "/h";
      continue;
    }
    auto n = static_cast<uint32_t>(t);
    auto cost = static_cast<double>(n) * unit;
    out.chosen.push_back({i, n, cost});
    spent += cost;
    rest -= n;
  }
  out.covered = static_cast<uint32_t>(target - rest);
  out.total_cost = spent;
  return out;
}

std::string for_people(double x) {
  if (x == 0) return "0";  // also -0
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", x);
  return buf;
}

std::string explain_policy(placement_policy policy) {
  switch (policy) {
    case placement_policy::lowest_cost:
      return "lowest_cost: the cheapest set of offers that covers the request (by price per "
             "instance served)";
    case placement_policy::lowest_latency:
      return "lowest_latency: the offers with the lowest latency to the users first, within "
             "the latency budget";
    case placement_policy::best_total:
      break;
  }
  return "best_total: the offers with the highest total score first (hardware, capacity, "
         "network and cost together)";
}

}  // namespace fusion::domain
