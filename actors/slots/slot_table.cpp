#include "actors/slots/slot_table.hpp"

#include <cmath>
#include <set>

namespace fusion::slots {

using protocols::fusion_id;
using protocols::service_uri;

table_settings table_settings_of(const runtime::slots_config& c) {
  table_settings s;
  s.validity = std::chrono::milliseconds(c.validity_ms);
  return s;
}

std::string_view to_string(outcome o) {
  switch (o) {
    case outcome::accepted:
      return "accepted";
    case outcome::duplicate:
      return "duplicate";
    case outcome::stale:
      return "stale";
    case outcome::invalid:
      return "invalid";
  }
  return "unknown";
}

std::string slot_table::check(const protocols::slot_report& r, uint32_t max_slots) {
  if (r.zone_id.empty()) return "a slot report without an origin (zone_id is empty)";
  auto from = "slot report of '" + r.zone_id.value + "' for '" + r.service + "': ";
  if (!protocols::is_valid_service_uri(r.service))
    return from + "the service is not a name of the form fusion://<provider>/<name>";
  if (r.sequence == 0) return from + "sequence must be 1 or more (each report counts up from 1)";
  if (r.max > max_slots)
    return from + "max " + std::to_string(r.max) + " is beyond the limit of " +
           std::to_string(max_slots) + " slots";
  if (r.available > r.max)
    return from + "available " + std::to_string(r.available) + " exceeds max " +
           std::to_string(r.max);
  if (!std::isfinite(r.moving_average) || r.moving_average < 0 ||
      r.moving_average > static_cast<double>(r.max))
    return from + "moving_average must be a number from 0 to max (" + std::to_string(r.max) + ")";
  if (!std::isfinite(r.variance) || r.variance < 0)
    return from + "variance must be a finite number, 0 or more";
  return {};
}

slot_table::origin_t* slot_table::enter(const fusion_id& id, uint64_t epoch) {
  auto [it, made] = origins_.try_emplace(id);
  auto& o = it->second;
  if (made) {
    o.epoch = epoch;
    return &o;
  }
  if (epoch < o.epoch) return nullptr;
  if (epoch > o.epoch) {
    // A restart: what the origin said in its older life is void, tombstones included.
    for (auto r = rows_.begin(); r != rows_.end();)
      r = r->first.second == id ? rows_.erase(r) : ++r;
    o.epoch = epoch;
    o.floor = 0;
    ++counters_.restarts;
  }
  return &o;
}

outcome slot_table::apply(const protocols::slot_report& r, time_point now) {
  if (!check(r, settings_.max_slots).empty()) {
    ++counters_.invalid;
    return outcome::invalid;
  }
  auto* o = enter(r.zone_id, r.epoch);
  if (o == nullptr || r.sequence <= o->floor) {
    ++counters_.stale;
    return outcome::stale;
  }
  auto [it, made] = rows_.try_emplace(key{r.service, r.zone_id}, row_t{r, now, false});
  if (!made) {
    auto& row = it->second;
    // A duplicate does not refresh the row: a replay must not keep ghost slots alive.
    if (r.sequence == row.report.sequence) {
      ++counters_.duplicates;
      return outcome::duplicate;
    }
    if (r.sequence < row.report.sequence) {
      ++counters_.stale;
      return outcome::stale;
    }
    row = row_t{r, now, false};
  }
  o->last_heard = now;
  ++counters_.accepted;
  return outcome::accepted;
}

outcome slot_table::withdraw(const protocols::slot_withdraw& w, time_point now) {
  if (w.zone_id.empty() || w.sequence == 0) {
    ++counters_.invalid;
    return outcome::invalid;
  }
  auto* o = enter(w.zone_id, w.epoch);
  if (o == nullptr || w.sequence <= o->floor) {
    auto same = o != nullptr && w.service.empty() && w.sequence == o->floor;
    ++(same ? counters_.duplicates : counters_.stale);
    return same ? outcome::duplicate : outcome::stale;
  }
  if (w.service.empty()) {
    // Every row the withdraw is newer than goes; reports older than it stay refused.
    o->floor = w.sequence;
    for (auto r = rows_.begin(); r != rows_.end();) {
      if (r->first.second == w.zone_id && r->second.report.sequence < w.sequence) {
        if (!r->second.withdrawn) ++counters_.withdrawn;
        r = rows_.erase(r);
      } else {
        ++r;
      }
    }
  } else {
    protocols::slot_report tomb;
    tomb.zone_id = w.zone_id;
    tomb.service = w.service;
    tomb.sequence = w.sequence;
    tomb.epoch = w.epoch;
    auto [it, made] = rows_.try_emplace(key{w.service, w.zone_id}, row_t{tomb, now, true});
    if (!made) {
      auto& row = it->second;
      if (w.sequence <= row.report.sequence) {
        auto same = w.sequence == row.report.sequence && row.withdrawn;
        ++(same ? counters_.duplicates : counters_.stale);
        return same ? outcome::duplicate : outcome::stale;
      }
      if (!row.withdrawn) ++counters_.withdrawn;
      row = row_t{tomb, now, true};
    }
  }
  o->last_heard = now;
  return outcome::accepted;
}

std::size_t slot_table::forget(const fusion_id& origin) {
  std::size_t n = 0;
  for (auto r = rows_.begin(); r != rows_.end();) {
    if (r->first.second != origin) {
      ++r;
      continue;
    }
    n += r->second.withdrawn ? 0 : 1;
    r = rows_.erase(r);
  }
  origins_.erase(origin);
  counters_.withdrawn += n;
  return n;
}

std::size_t slot_table::expire(time_point now) {
  std::size_t n = 0;
  std::set<fusion_id> kept;
  for (auto r = rows_.begin(); r != rows_.end();) {
    if (now - r->second.received >= settings_.validity) {
      if (!r->second.withdrawn) ++n;
      r = rows_.erase(r);
    } else {
      kept.insert(r->first.second);
      ++r;
    }
  }
  counters_.expired += n;
  // An origin without rows is remembered (its epoch and floor keep refusing its old
  // reports) for a few validity periods after it was last heard, then forgotten.
  for (auto o = origins_.begin(); o != origins_.end();) {
    bool forget = !kept.contains(o->first) && now - o->second.last_heard >= 4 * settings_.validity;
    o = forget ? origins_.erase(o) : ++o;
  }
  return n;
}

aggregate slot_table::of(const service_uri& service) const {
  aggregate a;
  for (auto r = rows_.lower_bound(key{service, fusion_id{}});
       r != rows_.end() && r->first.first == service; ++r) {
    if (r->second.withdrawn) continue;
    const auto& x = r->second.report;
    a.available += x.available;
    a.max += x.max;
    a.largest = std::max(a.largest, x.available);
    a.moving_average += x.moving_average;
    a.variance += x.variance;
    ++a.origins;
  }
  return a;
}

std::vector<service_uri> slot_table::services() const {
  std::vector<service_uri> out;
  for (const auto& [k, row] : rows_)
    if (!row.withdrawn && (out.empty() || out.back() != k.first)) out.push_back(k.first);
  return out;
}

const protocols::slot_report* slot_table::row(const fusion_id& origin,
                                              const service_uri& service) const {
  auto r = rows_.find(key{service, origin});
  return r == rows_.end() || r->second.withdrawn ? nullptr : &r->second.report;
}

std::vector<protocols::slot_row> slot_table::list(const service_uri& service,
                                                  time_point now) const {
  std::vector<protocols::slot_row> out;
  auto first = service.empty() ? rows_.begin() : rows_.lower_bound(key{service, fusion_id{}});
  for (auto r = first; r != rows_.end() && (service.empty() || r->first.first == service); ++r) {
    if (r->second.withdrawn) continue;
    const auto& x = r->second.report;
    auto age = std::chrono::duration_cast<std::chrono::milliseconds>(now - r->second.received);
    out.push_back(protocols::slot_row{x.zone_id,
                                      {},
                                      x.service,
                                      x.available,
                                      x.max,
                                      x.moving_average,
                                      x.variance,
                                      x.sequence,
                                      x.epoch,
                                      age.count()});
  }
  return out;
}

protocols::slot_counters slot_table::wire_counters() const {
  const auto& c = counters_;
  return {c.accepted, c.duplicates, c.stale, c.invalid, 0, c.expired, c.withdrawn, c.restarts};
}

std::size_t slot_table::size() const {
  std::size_t n = 0;
  for (const auto& [k, row] : rows_) n += row.withdrawn ? 0 : 1;
  return n;
}

}  // namespace fusion::slots
