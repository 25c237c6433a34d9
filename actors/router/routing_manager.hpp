#pragma once
// The domain's routing manager (§5.5.4.2; docs/slots.md "Routing manager"): it keeps the
// forwarding entries of the service routers it manages in step with the zone registry —
// every registered zone a next hop (its manager, its ZoneID as origin, a network metric
// estimated from the router's location to the zone's) — and collects the routers'
// statistics (provide_routing_information), which get_routing_information shows.

#include "protocols/names.hpp"
#include "protocols/routing_management.hpp"
#include "runtime/directory.hpp"

#include <caf/actor_system.hpp>

#include <string>
#include <vector>

namespace fusion::router {

/// A router the manager keeps entries for.
struct managed_router {
  std::string name;                  ///< Its name: it is reached as names::router(name).
  protocols::geo_location location;  ///< Where it is, for the metric to each zone.
  std::vector<std::string> zones;    ///< The zones it routes to by name; empty = every zone.
  managed_router() = default;
};

struct routing_manager_config {
  std::vector<managed_router> routers;
  /// How often it reads the zone registry and brings the entries up to date.
  protocols::duration_ms interval_ms = 1'000;
  protocols::locator registry{"", protocols::names::zone_registry};
  routing_manager_config() = default;
};

/// The id of the entry the manager installs in each router.
inline constexpr const char* managed_entry = "zones";

/// Spawns the routing manager; registers it in `dir` as names::routing_manager.
protocols::routing_manager_actor spawn_routing_manager(caf::actor_system& sys,
                                                       routing_manager_config cfg,
                                                       runtime::directory_ptr dir);

}  // namespace fusion::router
