#pragma once
// The sending side of slot aggregation (spec §4.3.1, §4.3.2.5, §4.3.2.8; docs/slots.md):
// what a level (a zone over its instances, a router over its next hops) tells the level
// above. It samples its availability once per interval, keeps a moving average and variance
// of it, and publishes a batch of reports *damped*: at most one batch per interval, holding
// only the services whose availability moved beyond a band, or that were not published for
// a refresh period (so the receivers' rows do not expire). The message rate thus does not
// grow with session churn. A policy share publishes fewer slots than the level has.

#include "actors/slots/slot_table.hpp"
#include "runtime/config.hpp"

#include <caf/send.hpp>

#include <map>
#include <optional>

namespace fusion::slots {

/// How a level publishes.
struct publish_settings {
  /// At most one batch per interval (the aggregation interval).
  std::chrono::milliseconds interval{1000};
  /// A service is re-published unchanged after this long; keep it below the receivers'
  /// validity (table_settings::validity), e.g. a third of it.
  std::chrono::milliseconds refresh{1000};
  /// A change of availability is published once it reaches this many slots...
  uint32_t band_slots = 1;
  /// ... or this fraction of the service's maximum, whichever is larger.
  double band_fraction = 0.0;
  /// Weight of a new sample in the moving average and variance (0 < alpha <= 1).
  double alpha = 0.2;
  /// Fraction of the slots published (§4.3.2.8: a zone may offer fewer than it has).
  double share = 1.0;
};

/// The publish settings of a node's [slots] section.
publish_settings publish_settings_of(const runtime::slots_config& c);

/// Why publish settings are unusable; "" if they are sound.
std::string check(const publish_settings& s);

/// One batch to send: the changed reports, and the withdraws of services gone.
struct publication {
  protocols::slot_report_batch batch;
  std::vector<protocols::slot_withdraw> withdraws;
  bool empty() const { return batch.reports.empty() && withdraws.empty(); }
};

/// Sends `pub` to `sink`: its withdraws, then its batch. Fire-and-forget, like every report:
/// the next one supersedes it.
inline void deliver(const publication& pub, const protocols::slot_sink_actor& sink) {
  for (const auto& w : pub.withdraws) caf::anon_send(sink, w);
  if (!pub.batch.reports.empty()) caf::anon_send(sink, pub.batch);
}

class slot_publisher {
 public:
  /// `epoch` must grow with every start of the origin (e.g. a durable counter, or the start
  /// time in milliseconds): receivers drop what an older life said.
  slot_publisher(protocols::fusion_id origin, uint64_t epoch, publish_settings s = {});

  /// The level's availability of `service` now (e.g. its table's aggregate); the last call
  /// before a tick is the sample the tick takes.
  void set(const protocols::service_uri& service, const aggregate& now);

  /// The level no longer has `service`: withdrawn in the next publication.
  void remove(const protocols::service_uri& service);

  /// Makes the level's availability what `table` sums now: set() for each of its services,
  /// remove() for each service it no longer has.
  void mirror(const slot_table& table);

  /// Called at every tick: samples every service, and returns what to send if a batch is
  /// due (at most one per interval), or nothing. `wall_ms` (the sender's wall clock) goes
  /// into the reports' sent_at, for the receivers' age estimates.
  std::optional<publication> tick(time_point now, protocols::timestamp_ms wall_ms = 0);

  /// The last report published of every service, as sent: what a new receiver needs to
  /// catch up at once (the others have it, and would count it as a duplicate).
  publication snapshot() const;

  uint64_t epoch() const { return epoch_; }
  uint64_t sequence() const { return sequence_; }
  const publish_settings& settings() const { return settings_; }

 private:
  struct service_t {
    aggregate current;
    double average = 0;
    double variance = 0;
    bool sampled = false;
    std::optional<protocols::slot_report> published;  // the last report sent
    time_point published_at{};
  };
  bool beyond_band(const service_t& s, const protocols::slot_report& next) const;

  protocols::fusion_id origin_;
  uint64_t epoch_;
  publish_settings settings_;
  uint64_t sequence_ = 0;
  std::optional<time_point> last_batch_;
  std::map<protocols::service_uri, service_t> services_;
  std::vector<protocols::service_uri> gone_;
};

}  // namespace fusion::slots
