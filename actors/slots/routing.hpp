#pragma once
// The routing metric of a service router (spec §4.3.2.5, DESIGN §4 flow 5, docs/slots.md
// "Choosing a next hop"): which next hop a session request for a service takes, from the
// network metric of each hop and the slots its table sums for it. A hop's numbers are always
// somewhat out of date (other routers act on them at the same time), so the slots count as
// the probability that one is still free on arrival, estimated from the hop's availability
// and its variance; landing on a hop with no free slot costs a retry. Under high variance
// this prefers a hop with many slots over the last slot of the closest one.

#include "actors/slots/slot_table.hpp"

#include <span>
#include <string>
#include <vector>

namespace fusion::slots {

/// One way to send a request: a next hop (another router or a zone's gateway).
struct hop {
  std::string id;        ///< The next hop's name.
  double metric_ms = 0;  ///< Network metric through it to the service (latency, ms).
  aggregate slots;       ///< What the router's table sums for this hop and service.
};

/// How a router weighs slots against distance.
struct route_settings {
  /// What landing on a hop without a free slot costs (the gateway refuses, the request is
  /// retried through another hop), in the unit of the metric.
  double retry_ms = 50;
  /// Hops less likely than this to have a free slot are not tried.
  double min_free_probability = 0.05;
};

/// A hop with what the router thinks of it.
struct scored_hop {
  std::size_t index = 0;  ///< Into the hops given.
  double p_free = 0;      ///< Probability that a slot is still free on arrival.
  double cost = 0;        ///< metric + (1 - p_free) * retry: lower is better.
};

/// Probability that at least one of `a`'s slots is free when a request arrives: its
/// availability taken as normal around `available` with `a.variance`; 1 when it has free
/// slots and no variance, 0 when it has none.
double free_probability(const aggregate& a);

/// The hops worth trying, best first (ties: more free slots, then the id). Empty: no hop
/// is likely to have a free slot.
std::vector<scored_hop> rank_hops(std::span<const hop> hops, const route_settings& s = {});

}  // namespace fusion::slots
