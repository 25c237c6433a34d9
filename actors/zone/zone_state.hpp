#pragma once
// The zone manager's state and what its parts share. The parts: zone_manager.cpp (offers
// and the actor), deployment.cpp, termination.cpp, information.cpp and reporting.cpp.
// Internal to the zone role, not an interface: other roles talk to the zone manager through
// protocols::zone_manager_actor.

#include "actors/evaluator/scoring.hpp"
#include "actors/slots/slot_publisher.hpp"
#include "actors/slots/slot_table.hpp"
#include "actors/zone/dc_inprocess.hpp"
#include "actors/zone/reservations.hpp"
#include "actors/zone/zone_manager.hpp"
#include "protocols/errc.hpp"
#include "protocols/names.hpp"
#include "runtime/clock.hpp"
#include "runtime/logging.hpp"
#include "runtime/manifest.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace fusion::zone::manager {

using namespace protocols;  // the zone manager's parts speak the protocol's vocabulary

using expire_atom = caf::atom_constant<caf::atom("zm_expire")>;
using flush_atom = caf::atom_constant<caf::atom("zm_flush")>;
using damped_flush_atom = caf::atom_constant<caf::atom("zm_dflush")>;
using register_atom = caf::atom_constant<caf::atom("zm_reg")>;
using slot_tick_atom = caf::atom_constant<caf::atom("zm_slots")>;
using scale_tick_atom = caf::atom_constant<caf::atom("zm_scale")>;
using monitor_tick_atom = caf::atom_constant<caf::atom("zm_monitor")>;

class aggregator;  // aggregation.hpp

/// The manager's full interface: the public one plus its own timers.
using zone_manager_impl =
    zone_manager_actor::extend<caf::reacts_to<expire_atom>, caf::reacts_to<flush_atom>,
                               caf::reacts_to<damped_flush_atom>, caf::reacts_to<register_atom>,
                               caf::reacts_to<slot_tick_atom>, caf::reacts_to<scale_tick_atom>,
                               caf::reacts_to<monitor_tick_atom>>;

inline std::chrono::milliseconds ms(duration_ms x) {
  return std::chrono::milliseconds(std::max<duration_ms>(1, x));
}

/// An instance this zone hosts (not protocols::instance_record, the domain's durable record).
struct hosted_instance {
  std::string id;
  service_uri service;
  fusion_id environment;
  locator where;
  uint32_t max_sessions = 0;
  uint32_t cores = 0;
  uint64_t memory_mb = 0;
  uint32_t gpus = 0;
  bool withdrawn = false;  // being terminated: no longer reported
  bool draining = false;   // to be reclaimed once empty: the gateway gives it no session

  resources use() const { return {cores, memory_mb, gpus, 1}; }
};

/// The gateway's order for one service: its running instances with free slots by their
/// last report, most free first, with their handles (slots.cpp).
struct gateway_order {
  std::vector<service_lifecycle_actor> instances;
  size_t running = 0;  // of the service, full ones included
};

/// A service this zone hosts, as its last deployment here described it, with its
/// elasticity rules and their state (scaling.cpp).
struct hosted_service {
  manifest service;
  fusion_id service_id;
  blob parameters;
  uint32_t sessions_per_instance = 0;  // the deployment's, 0 = the manifest's
  runtime::scaling_rules rules;
  runtime::mono_time quiet_until{};  // the cooldown after the last action
  std::string draining;              // the instance being emptied for reclaim, or ""
};

struct zm_state {
  zm_state() = default;
  zone_manager_config cfg;
  runtime::directory_ptr dir;
  dc_management_actor dc;
  fusion_id zone_id;
  zone_registry_actor registry;
  locator self_locator;            // where the domain reaches this manager (quoted in offers)
  zone_registration registration;  // with the zone registry (get_zone_registration)
  std::chrono::milliseconds register_backoff{100};  // wait before asking a remote registry again
  // Capacity, instances' use and holds (by number; an offer's id is
  // "<offer_prefix>-<number>").
  reservations ledger;
  std::string offer_prefix;  // "offer-<zone>"
  // Offers by expiry time. Every offer has the same TTL, so creation order is expiry order
  // and one timer, armed for the front, replaces a timer per offer.
  std::deque<std::pair<runtime::mono_time, uint64_t>> expiries;
  bool expiry_armed = false;
  // In the ledger's use until they are gone, withdrawn ones included.
  std::vector<hosted_instance> instances;
  runtime::id_generator instance_ids{"inst"};
  // Slots (slots.cpp): one row per instance, taken only from the instances this zone
  // starts or runs (`reporters`: instance id → its service); the publisher exists once the
  // zone knows its id (registered, or without a registry).
  slots::slot_table slot_rows;
  std::optional<slots::slot_publisher> publisher;
  std::unordered_map<std::string, service_uri> reporters;
  uint64_t slots_unknown = 0;  // reports from instances the zone does not run
  uint64_t slot_batches = 0;   // publications sent
  // Sinks that asked for the zone's slots (subscribe_slots), by "<node>/<actor>": each
  // until it is not renewed for [slots] validity_ms.
  std::map<std::string, std::pair<locator, runtime::mono_time>> subscribers;
  // By service, kept until an instance's report, start or stop, or the next slot tick: a
  // session request between reports is then a lookup (forget_gateway_orders()).
  std::unordered_map<std::string, std::shared_ptr<const gateway_order>> gateway_orders;
  // Elasticity rules (scaling.cpp), per service deployed here.
  std::map<service_uri, hosted_service> services;
  uint64_t scale_outs = 0, scale_ins = 0, overflows = 0;
  std::deque<std::string> decisions;  // the last 32 scaling decisions, as logged
  evaluator::evaluation_cache cache{0, 0};
  evaluation scratch;  // reused by inline scoring so the hot path does not allocate
  bool flush_scheduled = false;
  bool damped_flush_scheduled = false;
  uint64_t offers_made = 0, offers_declined = 0, offers_expired = 0, offers_released = 0;
  uint64_t deployed = 0, deploy_failures = 0, stopped_graceful = 0, stopped_forced = 0;
  // Monitoring aggregation (aggregation.hpp): the script, if [monitoring] names one, and
  // what its last successful run gave.
  std::shared_ptr<aggregator> monitor;
  std::map<std::string, double> indicators;
  std::string aggregation_error;  // of the last failed run, until one succeeds
  uint64_t aggregations = 0, aggregation_failures = 0;
  std::shared_ptr<spdlog::logger> log;
  static inline const char* name = "zone_manager";

  const std::string& zone() const { return cfg.parameters.name; }

  resource_report free() const {
    auto f = ledger.free();
    resource_report r;
    r.free_cpu_cores = static_cast<uint32_t>(std::min<uint64_t>(f.cores, UINT32_MAX));
    r.free_memory_mb = f.memory_mb;
    r.free_gpus = static_cast<uint32_t>(std::min<uint64_t>(f.gpus, UINT32_MAX));
    r.instances = running();
    r.reservations = static_cast<uint32_t>(ledger.holds());
    return r;
  }

  uint32_t running() const {
    uint32_t n = 0;
    for (const auto& i : instances) n += i.withdrawn ? 0 : 1;
    return n;
  }

  fusion_id offer_id(uint64_t hold_number) const {
    return {offer_prefix + "-" + std::to_string(hold_number)};
  }

  // The number of an open (not consumed, not expired) offer, or 0. Ids this zone did not
  // make are unknown.
  uint64_t open_offer(const std::string& id, runtime::mono_time now) {
    auto n = runtime::id_number(id, offer_prefix);
    auto* h = ledger.find(n);
    return h == nullptr || h->deploying || h->expires_at <= now ? 0 : n;
  }

  std::vector<hosted_instance>::iterator find_instance(const std::string& id) {
    return std::find_if(instances.begin(), instances.end(),
                        [&](const hosted_instance& x) { return x.id == id; });
  }
};

using self_ptr = zone_manager_impl::stateful_pointer<zm_state>;

// --- reporting.cpp: soft state for the zone registry ---

/// Reports resources and services to the registry once the current burst of changes is over.
void schedule_report(self_ptr self);

/// Reports a reservation-only change within report_interval_ms (damped: offers come and go
/// at the placement rate).
void schedule_damped_report(self_ptr self);

/// Sends the reports now.
void flush_reports(self_ptr self);

// --- slots.cpp: session slots (§4.3.2.3, docs/slots.md) ---

/// Arms the slot timer; without a zone registry, starts publishing at once.
void start_slots(self_ptr self);

/// The zone is registered as `zone_id` for the `start`-th time: it publishes from now on,
/// with the start as its epoch (receivers drop what its earlier lives said).
void publish_as(self_ptr self, const fusion_id& zone_id, uint32_t start);

/// Instance `id` runs (or is starting) `service`: its reports count from now on.
void expect_reports(self_ptr self, const std::string& id, const service_uri& service);

/// Instance `id` no longer counts (being terminated, or its deployment failed).
void stop_counting(self_ptr self, const std::string& id);

/// The instances changed, or their slots: the gateway orders them afresh.
inline void forget_gateway_orders(self_ptr self) {
  self->state.gateway_orders.clear();
}

/// The instance's free slots as last reported, or all of them if it has not reported yet.
uint32_t live_available(self_ptr self, const hosted_instance& i);

void take_report(self_ptr self, const slot_report& r);
void take_subscription(self_ptr self, const subscribe_slots& req);
void take_withdraw(self_ptr self, const slot_withdraw& w);
void slot_tick(self_ptr self);
slot_list list_instance_slots(self_ptr self, const list_slots& req);

/// The zone's service gateway (§6.3.6): a session on the running instance with the most free
/// slots by its last report, trying the next one while an instance refuses; refused with
/// no_session_slots when none has a free slot.
caf::result<session_granted> open_session_here(self_ptr self, const open_session& req);

// --- scaling.cpp (§6.3.3) ---

/// Remembers what a deployment of a service said: its manifest and rules, for scaling.
void note_service(self_ptr self, const zone_deploy_service& req);

/// Arms the scaling tick ([scaling] interval_ms).
void start_scaling(self_ptr self);

/// Checks every service's rules: starts, overflows, drains or reclaims instances.
void scale_tick(self_ptr self);

// --- deployment.cpp (§6.3.3) ---

/// Deploys the instances of `req`, with or without an offer.
caf::result<deploy_service_reply> deploy(self_ptr self, zone_deploy_service& req);

// --- termination.cpp (§6.3.3.2) ---

/// Stops an instance gracefully, then by force, and frees what it used.
caf::result<status_reply> terminate(self_ptr self, const terminate_service_instance& req);

// --- information.cpp (§6.4.1.3) ---

/// Per-service slots, asked from the instances.
caf::result<information> service_information(self_ptr self, const get_service_information& req);

/// The zone's own figures.
information zone_information(self_ptr self, const get_zone_information& req);

}  // namespace fusion::zone::manager
