#include "actors/slots/routing.hpp"

#include <algorithm>
#include <cmath>

namespace fusion::slots {

double free_probability(const aggregate& a) {
  if (a.available == 0) return 0;
  auto sd = std::sqrt(a.variance);
  if (!(sd > 1e-9)) return 1;
  // P(X >= 1) for X ~ N(available, sd^2), with the continuity correction at 0.5.
  auto z = (static_cast<double>(a.available) - 0.5) / sd;
  return 0.5 * std::erfc(-z / std::sqrt(2.0));
}

std::vector<scored_hop> rank_hops(std::span<const hop> hops, const route_settings& s) {
  std::vector<scored_hop> out;
  out.reserve(hops.size());
  for (std::size_t i = 0; i < hops.size(); ++i) {
    auto p = free_probability(hops[i].slots);
    if (p < s.min_free_probability || p <= 0) continue;
    out.push_back({i, p, hops[i].metric_ms + (1 - p) * s.retry_ms});
  }
  std::sort(out.begin(), out.end(), [&](const scored_hop& a, const scored_hop& b) {
    if (a.cost != b.cost) return a.cost < b.cost;
    const auto& x = hops[a.index];
    const auto& y = hops[b.index];
    if (x.slots.available != y.slots.available) return x.slots.available > y.slots.available;
    return x.id < y.id;
  });
  return out;
}

}  // namespace fusion::slots
