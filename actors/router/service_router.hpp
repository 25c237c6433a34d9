#pragma once
// A service router (spec §4.3.2.3, §4.3.2.5, §5.5.4.1; DESIGN §4 flows 4–5; docs/slots.md
// "Service routers"): forwarding entries, installed by the routing manager, name its next
// hops for each service — zone gateways or other routers — with a network metric and the
// origin their slot reports carry. It keeps one slot row per next hop and service, ranks
// the hops for a session request by the routing metric of actors/slots/routing.hpp, and
// re-aggregates upward: its own sums, damped, to the routers above it, so the hierarchy
// has as many levels as routers are stacked.

#include "protocols/names.hpp"
#include "protocols/routing_management.hpp"
#include "runtime/config.hpp"
#include "runtime/directory.hpp"

#include <caf/actor_system.hpp>

#include <string>
#include <vector>

namespace fusion::router {

/// Everything a service router needs at spawn time.
struct router_config {
  /// Its name: it registers as names::router(name), and its slot reports carry the origin
  /// "router/<name>" unless `id` says otherwise.
  std::string name;
  protocols::fusion_id id;
  /// [slots]: its publishing interval, damping and the validity of its next hops' rows.
  runtime::slots_config slots = runtime::default_config().slots;
  /// What landing on a hop without a free slot costs (ms), and the least probability of a
  /// free slot for a hop to be tried (docs/slots.md "Choosing a next hop").
  double retry_ms = 50;
  double min_free_probability = 0.05;
  /// A session request (open_session) tries at most this many next hops, best first, each
  /// within hop_timeout_ms, before it is refused as "no capacity" with the reasons.
  uint32_t max_tries = 3;
  protocols::duration_ms hop_timeout_ms = 1'000;
  /// Routers above this one: it publishes its sums per service to them.
  std::vector<protocols::locator> upstream;
  /// On-demand deployment (SPD-4): a session request for a service this router routes but
  /// no next hop has a free slot of asks domain scaling (at `scaling`) for an instance and
  /// takes a slot on it, or is refused once on_demand_timeout_ms have passed.
  bool on_demand = false;
  protocols::duration_ms on_demand_timeout_ms = 30'000;
  protocols::locator scaling{"", protocols::names::scaling};
  /// The routing manager it reports its statistics to (provide_routing_information) every
  /// statistics_ms; none if the locator is empty.
  protocols::locator manager;
  protocols::duration_ms statistics_ms = 10'000;
  router_config() = default;
};

/// Spawns a service router and registers it in `dir` under names::router(cfg.name).
protocols::service_router_actor spawn_service_router(caf::actor_system& sys, router_config cfg,
                                                     runtime::directory_ptr dir);

}  // namespace fusion::router
