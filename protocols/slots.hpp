#pragma once
// Session slot reports (§4.3, DESIGN §4.4): zone → service routers → peer domains. Soft
// state: each report replaces the previous one of the same (zone, service); sequence and
// epoch let a receiver drop stale or reordered reports and never double-count.

#include "protocols/common.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace fusion::protocols {

/// Available session slots of one service in one zone.
struct slot_report {
  static constexpr message_meta meta{0x0B01, "slot_report", 1, 4};
  fusion_id zone_id;
  service_uri service;
  uint32_t available = 0;     ///< Sum of free slots over the zone's instances, now.
  uint32_t max = 0;           ///< Sum of the instances' maximum slots.
  double moving_average = 0;  ///< Smoothed `available` (EWMA), for stable routing.
  double variance = 0;        ///< Variance of `available` around the average.
  uint64_t sequence = 0;      ///< Increases with every report of this zone and epoch.
  uint64_t epoch = 0;         ///< Increases when the zone manager restarts; resets sequence.
  timestamp_ms sent_at = 0;   ///< Sender's clock, for age estimates (§4.3.2.5).
  friend bool operator==(const slot_report&, const slot_report&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, slot_report& x) {
  return f(caf::meta::type_name("slot_report"), x.zone_id, x.service, x.available, x.max,
           x.moving_average, x.variance, x.sequence, x.epoch, x.sent_at);
}

/// The zone no longer offers slots of `service` (or of any service if it is empty):
/// sent before instances terminate and when a zone leaves.
struct slot_withdraw {
  static constexpr message_meta meta{0x0B02, "slot_withdraw", 1, 1};
  fusion_id zone_id;
  service_uri service;  ///< "" = every service of the zone.
  uint64_t sequence = 0;
  uint64_t epoch = 0;
  friend bool operator==(const slot_withdraw&, const slot_withdraw&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, slot_withdraw& x) {
  return f(caf::meta::type_name("slot_withdraw"), x.zone_id, x.service, x.sequence, x.epoch);
}

/// Many reports in one message (batched and damped updates, §4.3.2.5).
struct slot_report_batch {
  static constexpr message_meta meta{0x0B03, "slot_report_batch", 1, 1};
  std::vector<slot_report> reports;
  friend bool operator==(const slot_report_batch&, const slot_report_batch&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, slot_report_batch& x) {
  return f(caf::meta::type_name("slot_report_batch"), x.reports);
}

/// Ask an aggregating level (the zone registry) what it holds: its live rows of `service`,
/// or of every service if it is "".
struct list_slots {
  static constexpr message_meta meta{0x0B04, "list_slots", 1, 0};
  service_uri service;
  friend bool operator==(const list_slots&, const list_slots&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, list_slots& x) {
  return f(caf::meta::type_name("list_slots"), x.service);
}

/// One live row of a level: the newest report of one origin for one service.
struct slot_row {
  fusion_id origin;  ///< Who reported it (a zone, for the zone registry).
  std::string name;  ///< The origin's readable name, if the level knows it (a zone's name).
  service_uri service;
  uint32_t available = 0;
  uint32_t max = 0;
  double moving_average = 0;
  double variance = 0;
  uint64_t sequence = 0;
  uint64_t epoch = 0;
  duration_ms age_ms = 0;  ///< Since the row was last refreshed, by the level's clock.
  friend bool operator==(const slot_row&, const slot_row&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, slot_row& x) {
  return f(caf::meta::type_name("slot_row"), x.origin, x.name, x.service, x.available, x.max,
           x.moving_average, x.variance, x.sequence, x.epoch, x.age_ms);
}

/// What a level has dropped since it started, by reason (the slot table's counters plus the
/// reports of origins it does not know).
struct slot_counters {
  uint64_t accepted = 0;
  uint64_t duplicates = 0;
  uint64_t stale = 0;
  uint64_t invalid = 0;
  uint64_t unknown = 0;  ///< From origins the level does not know (unregistered zones...).
  uint64_t expired = 0;
  uint64_t withdrawn = 0;
  uint64_t restarts = 0;
  friend bool operator==(const slot_counters&, const slot_counters&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, slot_counters& x) {
  return f(caf::meta::type_name("slot_counters"), x.accepted, x.duplicates, x.stale, x.invalid,
           x.unknown, x.expired, x.withdrawn, x.restarts);
}

/// Reply to list_slots: the rows (by service, then origin) and the level's counters.
struct slot_list {
  static constexpr message_meta meta{0x0B05, "slot_list", 1, 1};
  std::vector<slot_row> rows;
  slot_counters counters;
  friend bool operator==(const slot_list&, const slot_list&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, slot_list& x) {
  return f(caf::meta::type_name("slot_list"), x.rows, x.counters);
}

/// Typed interface of anything aggregating slots (zone gateway, service router, speaker).
/// Fire-and-forget: reports are soft state, refreshed periodically.
using slot_sink_actor = caf::typed_actor<caf::reacts_to<slot_report>, caf::reacts_to<slot_withdraw>,
                                         caf::reacts_to<slot_report_batch>>;

/// A slot sink (a service router) asks a slot source (a zone manager, or a router below it)
/// to publish to it: soft state, the source forgets a subscription not renewed within its
/// `[slots] validity_ms`, so a router renews it every interval while an entry names the
/// source as a next hop (docs/slots.md "Service routers").
struct subscribe_slots {
  static constexpr message_meta meta{0x0B06, "subscribe_slots", 1, 1};
  locator sink;
  friend bool operator==(const subscribe_slots&, const subscribe_slots&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, subscribe_slots& x) {
  return f(caf::meta::type_name("subscribe_slots"), x.sink);
}

}  // namespace fusion::protocols
