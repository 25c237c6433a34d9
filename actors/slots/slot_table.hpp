#pragma once
// Soft-state aggregation of session slots (spec §4.3.2.3 and §4.3.2.5, DESIGN §4 flow 4,
// docs/slots.md): the table every aggregating level keeps — a zone over its instances, a
// service router over its next hops, a domain over its zones. One row per (origin, service)
// holds the origin's newest report. A newer report *replaces* the row, so duplicated,
// reordered and replayed reports, and an origin's restart (a higher epoch), never count
// twice. Rows not refreshed within the validity period expire, so a silent or departed
// origin leaves no ghost slots; a withdraw removes them at once. Time is passed in by the
// caller (the actor's clock; simulated in tests).

#include "protocols/slots.hpp"
#include "runtime/config.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fusion::slots {

using time_point = std::chrono::steady_clock::time_point;

/// How a table judges reports.
struct table_settings {
  /// A row not refreshed for this long is dropped (and with it its slots).
  std::chrono::milliseconds validity{3000};
  /// More slots than this in one report is absurd: the report is refused.
  uint32_t max_slots = 1'000'000;
};

/// The table settings of a node's [slots] section (its validity_ms).
table_settings table_settings_of(const runtime::slots_config& c);

/// What became of one report or withdraw.
enum class outcome : uint8_t {
  accepted,   ///< Stored (or, for a withdraw, carried out).
  duplicate,  ///< The same epoch and sequence as the stored row: nothing changes.
  stale,      ///< An older epoch, or an older sequence in the same epoch: dropped.
  invalid,    ///< Absurd content (see slot_table::check): dropped.
};

std::string_view to_string(outcome o);

/// The sum of one service's rows: what the level reports upward or routes on.
struct aggregate {
  uint64_t available = 0;     ///< Free slots, summed over origins.
  uint64_t max = 0;           ///< Maximum slots, summed over origins.
  uint32_t largest = 0;       ///< The most free slots at a single origin.
  double moving_average = 0;  ///< The origins' smoothed availability, summed.
  double variance = 0;        ///< Their variances, summed (origins vary independently).
  std::size_t origins = 0;    ///< Rows counted.
  friend bool operator==(const aggregate&, const aggregate&) = default;
};

/// What a table did since it was made: every dropped report is counted by its reason.
struct table_counters {
  uint64_t accepted = 0;
  uint64_t duplicates = 0;
  uint64_t stale = 0;
  uint64_t invalid = 0;
  uint64_t expired = 0;    ///< Rows dropped because their origin fell silent.
  uint64_t withdrawn = 0;  ///< Rows removed by withdraws.
  uint64_t restarts = 0;   ///< Origins seen with a higher epoch: their older rows dropped.
};

class slot_table {
 public:
  explicit slot_table(table_settings s = {}) : settings_(s) {}

  /// Takes one report of `r.zone_id` (the origin: the zone, instance or router that sent it).
  outcome apply(const protocols::slot_report& r, time_point now);

  /// Removes the origin's row of `w.service`, or every row of the origin if it is "", unless
  /// the withdraw is older than what is stored. Reports older than it stay refused.
  outcome withdraw(const protocols::slot_withdraw& w, time_point now);

  /// Drops every row of `origin` and what is known of it, at once: the owner no longer
  /// takes reports from it (an instance being stopped, a zone unregistered). Counted as
  /// withdrawn; returns how many live rows went.
  std::size_t forget(const protocols::fusion_id& origin);

  /// Drops the rows not refreshed within the validity period; returns how many.
  std::size_t expire(time_point now);

  /// The sum of the live rows of `service`.
  aggregate of(const protocols::service_uri& service) const;

  /// Services with at least one live row, in order.
  std::vector<protocols::service_uri> services() const;

  /// The stored report of `origin` for `service`, or null.
  const protocols::slot_report* row(const protocols::fusion_id& origin,
                                    const protocols::service_uri& service) const;

  /// The live rows of `service` (every service if it is ""), by service then origin, with
  /// their age at `now`. `name` is left empty for the owner to fill.
  std::vector<protocols::slot_row> list(const protocols::service_uri& service,
                                        time_point now) const;

  /// The counters in their wire form (list_slots); `unknown` is the owner's to fill.
  protocols::slot_counters wire_counters() const;

  /// Live rows.
  std::size_t size() const;

  const table_counters& counters() const { return counters_; }
  const table_settings& settings() const { return settings_; }

  /// Why `r` is absurd, naming the field and what is expected; "" if it is sound.
  static std::string check(const protocols::slot_report& r, uint32_t max_slots);

 private:
  /// A row, or a tombstone left by a withdraw so that older reports stay refused until it
  /// expires too.
  struct row_t {
    protocols::slot_report report;
    time_point received;
    bool withdrawn = false;
  };
  /// What is known of an origin beyond its rows.
  struct origin_t {
    uint64_t epoch = 0;
    uint64_t floor = 0;       ///< Reports of this epoch with sequence <= floor are stale.
    time_point last_heard{};  ///< For forgetting origins long silent.
  };
  using key = std::pair<protocols::service_uri, protocols::fusion_id>;  // service first: of()

  /// The origin of `id`, made if new; null (the message is stale) if `epoch` is older than
  /// its epoch. A higher epoch is a restart: the origin's rows and floor are dropped.
  origin_t* enter(const protocols::fusion_id& id, uint64_t epoch);

  table_settings settings_;
  std::map<key, row_t> rows_;
  std::map<protocols::fusion_id, origin_t> origins_;
  table_counters counters_;
};

}  // namespace fusion::slots
