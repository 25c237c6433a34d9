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

/// Typed interface of anything aggregating slots (zone gateway, service router, speaker).
/// Fire-and-forget: reports are soft state, refreshed periodically.
using slot_sink_actor = caf::typed_actor<caf::reacts_to<slot_report>, caf::reacts_to<slot_withdraw>,
                                         caf::reacts_to<slot_report_batch>>;

}  // namespace fusion::protocols
