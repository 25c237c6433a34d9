#include "actors/slots/slot_publisher.hpp"

#include <algorithm>
#include <cmath>

namespace fusion::slots {

publish_settings publish_settings_of(const runtime::slots_config& c) {
  publish_settings s;
  s.interval = std::chrono::milliseconds(c.interval_ms);
  s.refresh = std::chrono::milliseconds(c.refresh_ms);
  s.band_slots = c.band_slots;
  s.band_fraction = c.band_fraction;
  s.alpha = c.alpha;
  s.share = c.share;
  return s;
}

std::string check(const publish_settings& s) {
  if (s.interval.count() <= 0) return "the publish interval must be more than 0 ms";
  if (s.refresh < s.interval) return "the refresh period must be at least the interval";
  if (!(s.band_fraction >= 0 && s.band_fraction <= 1)) return "band_fraction must be 0 to 1";
  if (!(s.alpha > 0 && s.alpha <= 1)) return "alpha must be more than 0 and at most 1";
  if (!(s.share >= 0 && s.share <= 1)) return "share must be 0 to 1";
  return {};
}

slot_publisher::slot_publisher(protocols::fusion_id origin, uint64_t epoch, publish_settings s)
    : origin_(std::move(origin)), epoch_(epoch), settings_(s) {}

void slot_publisher::set(const protocols::service_uri& service, const aggregate& now) {
  services_[service].current = now;
  std::erase(gone_, service);
}

void slot_publisher::remove(const protocols::service_uri& service) {
  auto it = services_.find(service);
  if (it == services_.end()) return;
  if (it->second.published) gone_.push_back(service);  // receivers know it: withdraw
  services_.erase(it);
}

void slot_publisher::mirror(const slot_table& table) {
  auto live = table.services();  // sorted, like services_
  std::vector<protocols::service_uri> gone;
  for (const auto& [name, s] : services_)
    if (!std::binary_search(live.begin(), live.end(), name)) gone.push_back(name);
  for (const auto& name : gone) remove(name);
  for (const auto& name : live) set(name, table.of(name));
}

bool slot_publisher::beyond_band(const service_t& s, const protocols::slot_report& next) const {
  const auto& last = *s.published;
  if (next.max != last.max) return true;
  auto moved = next.available > last.available ? next.available - last.available
                                               : last.available - next.available;
  auto band = std::max<double>(settings_.band_slots, settings_.band_fraction * next.max);
  return moved > 0 && static_cast<double>(moved) >= band;
}

std::optional<publication> slot_publisher::tick(time_point now, protocols::timestamp_ms wall_ms) {
  const double a = settings_.alpha;
  const double share = settings_.share;
  // Sample every service once per tick: the average and variance follow time, not churn.
  for (auto& [name, s] : services_) {
    auto x = static_cast<double>(s.current.available);
    if (!s.sampled) {
      s.average = x;
      s.variance = 0;
      s.sampled = true;
    } else {
      auto d = x - s.average;
      s.average += a * d;
      s.variance = (1 - a) * (s.variance + a * d * d);
    }
  }
  if (last_batch_ && now - *last_batch_ < settings_.interval) return std::nullopt;
  publication out;
  for (auto& name : gone_)
    out.withdraws.push_back(protocols::slot_withdraw{origin_, name, ++sequence_, epoch_});
  gone_.clear();
  for (auto& [name, s] : services_) {
    protocols::slot_report r;
    r.zone_id = origin_;
    r.service = name;
    r.max = static_cast<uint32_t>(std::floor(static_cast<double>(s.current.max) * share));
    r.available = std::min(
        r.max, static_cast<uint32_t>(std::floor(static_cast<double>(s.current.available) * share)));
    r.moving_average = std::min(static_cast<double>(r.max), s.average * share);
    r.variance = s.variance * share * share;
    r.epoch = epoch_;
    bool due = !s.published || beyond_band(s, r) || now - s.published_at >= settings_.refresh;
    if (!due) continue;
    r.sequence = ++sequence_;
    r.sent_at = wall_ms;
    s.published = r;
    s.published_at = now;
    out.batch.reports.push_back(std::move(r));
  }
  if (out.empty()) return std::nullopt;
  last_batch_ = now;
  return out;
}

publication slot_publisher::snapshot() const {
  publication out;
  for (const auto& [name, s] : services_)
    if (s.published) out.batch.reports.push_back(*s.published);
  return out;
}

}  // namespace fusion::slots
