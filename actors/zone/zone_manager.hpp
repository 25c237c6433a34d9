#pragma once
// The zone manager (§6.3.1–6.3.3, §6.4.1): answers zone_evaluate with binding offers
// (reservations that expire), deploys instances through the zone's DC agent, terminates
// them gracefully or by force, and reports resources and services to the zone registry.

#include "actors/zone/dc_inprocess.hpp"
#include "protocols/zone_orchestration.hpp"
#include "runtime/directory.hpp"

#include <caf/actor_system.hpp>

#include <cstddef>

namespace fusion::zone {

/// Everything a zone manager needs at spawn time.
struct zone_manager_config {
  protocols::zone_parameters parameters;       ///< The zone's name, capabilities and cost model.
  protocols::duration_ms offer_ttl_ms = 5000;  ///< How long an offer's reservation holds.
  protocols::duration_ms evaluator_timeout_ms = 100;  ///< Wait for a service's evaluator.
  protocols::duration_ms stop_timeout_ms = 5000;      ///< Graceful stop when the caller gives none.
  protocols::duration_ms force_grace_ms = 1000;       ///< Extra wait before forcing an instance.
  protocols::duration_ms step_timeout_ms = 5000;  ///< Per deploy step when the caller gives none.
  protocols::duration_ms info_timeout_ms = 200;   ///< Wait for instances in get_*information.
  size_t cache_entries = 10'000;                  ///< Inline generic evaluator cache size.
  protocols::duration_ms cache_ttl_ms = 10'000;   ///< Age limit of cached evaluations.
  /// Reservation-only changes (offers made, released, expired) are reported to the zone
  /// registry at most this often; instance changes are reported at once.
  protocols::duration_ms report_interval_ms = 1'000;
  /// Starts the zone's service instances (given by whoever composes the node).
  instance_launcher launch;
  zone_manager_config() = default;
};

/// Spawns the zone manager and its in-process DC agent, registers both in `dir`
/// (names::zone_manager, names::dc_agent) and, if names::zone_registry is in `dir`,
/// registers the zone there.
protocols::zone_manager_actor spawn_zone_manager(caf::actor_system& sys, zone_manager_config cfg,
                                                 runtime::directory_ptr dir);

}  // namespace fusion::zone
