#pragma once
// The zone registry (§5.5.2): execution zones register here durably, report their services
// and free resources (soft state), and the placement function asks it for step 1 of the
// four-step placement (§5.4.2.1): the zones that meet a service's hard constraints.
// docs/registrar.md.

#include "protocols/zone_management.hpp"
#include "runtime/config.hpp"
#include "runtime/directory.hpp"

#include <caf/actor_system.hpp>

#include <string>

namespace fusion::domain {

/// Settings of one zone registry.
struct zone_registry_config {
  /// SQLite database file; "" or ":memory:" keeps zone registrations in memory only.
  std::string db_path;
  /// [slots]: validity_ms is how long a zone's slot report counts without a refresh.
  runtime::slots_config slots = runtime::default_config().slots;
  zone_registry_config() = default;
};

/// Name of the store table that holds zone_record entries, keyed by ZoneID.
inline constexpr const char* zones_table = "zones";

/// Spawns a zone registry that loads every stored zone, and registers it in `dir` under
/// protocols::names::zone_registry (replacing a previous one).
protocols::zone_registry_actor spawn_zone_registry(caf::actor_system& sys, zone_registry_config cfg,
                                                   runtime::directory_ptr dir);

}  // namespace fusion::domain
