#pragma once
// The zone manager (§6.3.1–6.3.3, §6.4.1): answers zone_evaluate with binding offers
// (reservations that expire), deploys instances through the zone's DC agent, terminates
// them gracefully or by force, and reports resources and services to the zone registry.
// It aggregates its instances' free slots (one row per instance) and publishes them per
// service, damped and batched, to the zone registry and its slot sinks (§4.3.2.3).

#include "actors/zone/dc_inprocess.hpp"
#include "protocols/names.hpp"
#include "protocols/zone_orchestration.hpp"
#include "runtime/config.hpp"
#include "runtime/directory.hpp"

#include <caf/actor_system.hpp>

#include <cstddef>

namespace fusion::zone {

/// Everything a zone manager needs at spawn time.
struct zone_manager_config {
  protocols::zone_parameters parameters;  ///< The zone's name, capabilities and cost model.
  /// The node's config sections, as they are: [placement] offer_ttl_ms (how long an
  /// offer's reservation holds), [evaluator] (wait for a service's evaluator, the inline
  /// generic evaluator's cache), [instance] (graceful stop when the caller gives none, extra
  /// wait before forcing) and [deployment] step_timeout_ms (per deploy step when the caller
  /// gives none, and the zone's registration).
  runtime::placement_config placement = runtime::default_config().placement;
  runtime::evaluator_config evaluator = runtime::default_config().evaluator;
  runtime::instance_config instance = runtime::default_config().instance;
  runtime::deployment_config deployment = runtime::default_config().deployment;
  protocols::duration_ms info_timeout_ms = 200;  ///< Wait for instances in get_*information.
  /// Reservation-only changes (offers made, released, expired) are reported to the zone
  /// registry at most this often; instance changes are reported at once.
  protocols::duration_ms report_interval_ms = 1'000;
  /// [slots]: how often the zone publishes its instances' free slots, the damping band, the
  /// validity of an instance's report (docs/slots.md).
  runtime::slots_config slots = runtime::default_config().slots;
  /// [scaling]: how often the zone checks its services' elasticity rules (their manifests'
  /// slot_utilisation thresholds), and the cooldown after each action (docs/slots.md).
  runtime::scaling_config scaling = runtime::default_config().scaling;
  /// [monitoring]: the aggregation script's budget and period, and its text
  /// (`monitoring_source`, "" = no aggregation; actors/zone/aggregation.hpp).
  runtime::monitoring_config monitoring = runtime::default_config().monitoring;
  std::string monitoring_source;
  /// Where the zone publishes its slots besides its zone registry: service routers, or any
  /// slot sink (protocols::slot_sink_actor), resolved through the directory at each batch.
  std::vector<protocols::locator> slot_sinks;
  /// Starts the zone's service instances (given by whoever composes the node).
  instance_launcher launch;
  /// The zone registry to register with: this node's (node "") or another node's, reached
  /// over its link. A remote registry that cannot be reached yet (its link is not up) is
  /// asked again, after waits doubling from 100 ms to 2 s, until the zone is registered.
  /// An empty actor name: the zone waits for its gossip agent to find the home domain (a
  /// domain_advertisement, docs/gossip.md) and registers with that domain's registry.
  protocols::locator registry{"", protocols::names::zone_registry};
  zone_manager_config() = default;
};

/// Spawns the zone manager and its in-process DC agent, registers both in `dir`
/// (names::zone_manager, names::dc_agent) and registers the zone with `cfg.registry` (a
/// local registry only if `dir` has one).
protocols::zone_manager_actor spawn_zone_manager(caf::actor_system& sys, zone_manager_config cfg,
                                                 runtime::directory_ptr dir);

}  // namespace fusion::zone
