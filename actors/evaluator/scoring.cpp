#include "actors/evaluator/scoring.hpp"

#include "protocols/codec.hpp"

#include "runtime/clock.hpp"
#include "runtime/names.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace fusion::evaluator {

using namespace protocols;

namespace {

using runtime::gpu_model_matches;
using runtime::has_name;
using runtime::same_name;

std::string num(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", x);
  return buf;
}

void infeasible(evaluation& out, std::string reason) {
  out.feasible = false;
  out.scores.total = 0;
  out.scores.hardware = 0;
  out.scores.capacity = 0;
  out.cost = 0;
  out.latency_ms = 0;
  out.instances = 0;
  out.details = std::move(reason);
  out.code = protocols::refusal_code::infeasible;
}

// Assigns an extra dimension; no allocation once the key exists (short keys use SSO).
void set_extra(score& s, const char* key, double value) {
  s.extra[key] = value;
}

// A GPU model of the zone that satisfies every GPU requirement, or nullptr.
const gpu_spec* matching_gpu(const zone_parameters& zone, const hardware_requirements& hw) {
  for (const auto& g : zone.gpus) {
    if (!gpu_model_matches(g.model, hw.gpu_model)) continue;
    if (g.memory_mb < hw.gpu_memory_mb || g.shader_model < hw.min_shader_model || g.count < hw.gpus)
      continue;
    return &g;
  }
  return nullptr;
}

std::string gpu_wish(const hardware_requirements& hw) {
  std::string s = std::to_string(hw.gpus) + " GPU";
  if (!hw.gpu_model.empty()) s += " of model '" + hw.gpu_model + "'";
  if (hw.min_shader_model > 0) s += " with shader model >= " + num(hw.min_shader_model);
  if (hw.gpu_memory_mb > 0) s += " and >= " + std::to_string(hw.gpu_memory_mb) + " MB memory";
  return s;
}

bool affinity_met(const zone_parameters& zone, const std::string& a) {
  if (same_name(a, zone.name) || same_name(a, zone.location.region) ||
      has_name(zone.accelerators, a) || has_name(zone.isolation, a))
    return true;
  for (const auto& g : zone.gpus)
    if (gpu_model_matches(g.model, a)) return true;
  return false;
}

// Word-wise 64-bit mixing (fast on the hot path; not cryptographic).
// Hashes every field of the values it inspects, recursively, through their inspect():
// the cache key cannot miss a field the scorer reads, however the structs grow.
class field_hasher {
 public:
  using result_type = void;
  static constexpr bool reads_state = true;
  static constexpr bool writes_state = false;

  uint64_t h = 0xcbf29ce484222325ull;

  template <class... Ts>
  void operator()(Ts&&... xs) {
    (add(xs), ...);
  }

 private:
  void word(uint64_t v) {
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
  }

  template <class T>
  void add(const T& x) {
    using codec::is_map;
    using codec::is_vector;
    if constexpr (codec::is_annotation_v<T>) {
      // type names and callbacks carry no data
    } else if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T>) {
      static_assert(sizeof(T) <= sizeof(uint64_t));
      uint64_t v = 0;
      std::memcpy(&v, &x, sizeof(T));
      word(v);
    } else if constexpr (std::is_same_v<T, std::string>) {
      word(std::hash<std::string_view>{}(x));
    } else if constexpr (std::is_same_v<T, blob>) {
      word(std::hash<std::string_view>{}(
          std::string_view{reinterpret_cast<const char*>(x.data()), x.size()}));
    } else if constexpr (is_shared<T>::value) {
      add(*x);
    } else if constexpr (is_vector<T>::value) {
      word(x.size());
      for (const auto& e : x) add(e);
    } else if constexpr (is_map<T>::value) {
      word(x.size());
      for (const auto& [k, v] : x) {
        add(k);
        add(v);
      }
    } else {
      inspect(*this, const_cast<T&>(x));
    }
  }
};

}  // namespace

double distance_km(double lat1, double lon1, double lat2, double lon2) {
  constexpr double earth_radius_km = 6371.0;
  constexpr double rad = M_PI / 180.0;
  double dlat = (lat2 - lat1) * rad;
  double dlon = (lon2 - lon1) * rad;
  double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
             std::cos(lat1 * rad) * std::cos(lat2 * rad) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * earth_radius_km * std::asin(std::min(1.0, std::sqrt(a)));
}

double estimate_latency_ms(const zone_parameters& zone, const geo_location& user) {
  if (!user.region.empty()) {
    auto i = zone.latency_ms.find(user.region);
    if (i != zone.latency_ms.end()) return i->second;
  }
  return latency_base_ms + distance_km(zone.location.latitude, zone.location.longitude,
                                       user.latitude, user.longitude) /
                               latency_km_per_ms;
}

void score_zone_into(const zone_parameters& zone, const resource_report& free,
                     const manifest& service, const deploy_parameters& deploy, evaluation& out) {
  const auto& hw = service.hardware;
  out.cached = false;
  // Hard constraints first: each failure names what is missing.
  if (!hw.os.empty() && !same_name(hw.os, zone.os))
    return infeasible(out, "runs " + zone.os + ", the service needs " + hw.os);
  if (!service.isolation.empty() && !has_name(zone.isolation, service.isolation))
    return infeasible(out, "offers no '" + service.isolation + "' isolation");
  const auto& region = zone.location.region;
  if (!deploy.region.empty() && !same_name(deploy.region, region))
    return infeasible(
        out, "is in region '" + region + "', the deployment asks for '" + deploy.region + "'");
  if (!service.allowed_regions.empty() && !has_name(service.allowed_regions, region))
    return infeasible(out, "is in region '" + region + "', which the manifest does not allow");
  if (has_name(service.denied_regions, region))
    return infeasible(out, "is in region '" + region + "', which the manifest denies");
  if (hw.cpu_cores > zone.cpu_cores || hw.memory_mb > zone.memory_mb)
    return infeasible(out, "has " + std::to_string(zone.cpu_cores) + " cores and " +
                               std::to_string(zone.memory_mb) +
                               " MB in total, one instance needs " + std::to_string(hw.cpu_cores) +
                               " cores and " + std::to_string(hw.memory_mb) + " MB");
  if (hw.gpus > 0 && matching_gpu(zone, hw) == nullptr)
    return infeasible(out, "has no " + gpu_wish(hw));
  for (const auto& acc : hw.accelerators)
    if (!has_name(zone.accelerators, acc))
      return infeasible(out, "lacks accelerator '" + acc + "'");

  // Capacity: how many of the requested instances the free resources host.
  uint32_t requested = std::max<uint32_t>(1, deploy.instances);
  if (service.max_instances > 0) requested = std::min(requested, service.max_instances);
  uint64_t fit = requested;
  if (hw.cpu_cores > 0) fit = std::min<uint64_t>(fit, free.free_cpu_cores / hw.cpu_cores);
  if (hw.memory_mb > 0) fit = std::min<uint64_t>(fit, free.free_memory_mb / hw.memory_mb);
  if (hw.gpus > 0) fit = std::min<uint64_t>(fit, free.free_gpus / hw.gpus);
  if (zone.max_instances > 0)
    fit = std::min<uint64_t>(
        fit, zone.max_instances > free.instances ? zone.max_instances - free.instances : 0);
  if (fit == 0)
    return infeasible(out, "has no room for one instance: it needs " +
                               std::to_string(hw.cpu_cores) + " cores, " +
                               std::to_string(hw.memory_mb) + " MB, " + std::to_string(hw.gpus) +
                               " GPUs; free are " + std::to_string(free.free_cpu_cores) +
                               " cores, " + std::to_string(free.free_memory_mb) + " MB, " +
                               std::to_string(free.free_gpus) + " GPUs");
  // Cost per hour of the offered instances. The ceiling holds for the whole request
  // (docs/placement.md): a zone offers only as many instances as fit under it, so placement
  // can still take part of its offer next to cheaper zones.
  double per_instance = zone.cost_per_instance_hour + hw.cpu_cores * zone.cost_per_core_hour +
                        hw.gpus * zone.cost_per_gpu_hour;
  double ceiling = deploy.max_cost > 0 ? deploy.max_cost : service.cost_ceiling;
  if (ceiling > 0 && per_instance > 0) {
    // The tolerance keeps 12 × 0.12 within a ceiling of 1.44.
    auto affordable = std::floor(ceiling / per_instance * (1 + 1e-9));
    if (affordable < 1)
      return infeasible(out, "costs " + num(per_instance) +
                                 "/h for one instance, above the ceiling of " + num(ceiling) +
                                 "/h");
    fit = std::min<uint64_t>(fit, static_cast<uint64_t>(std::min(affordable, 4e9)));
  }
  auto instances = static_cast<uint32_t>(fit);
  double cost = per_instance * instances;
  double cost_score = ceiling > 0 ? 1.0 - 0.5 * cost / ceiling : 1.0 / (1.0 + per_instance);

  // Network: worst latency over the users' locations.
  const auto& users =
      deploy.user_locations.empty() ? service.user_locations : deploy.user_locations;
  double latency = 0;
  for (const auto& u : users) latency = std::max(latency, estimate_latency_ms(zone, u));
  double budget =
      deploy.latency_budget_ms > 0 ? deploy.latency_budget_ms : service.latency_budget_ms;
  double network = 1.0;
  if (!users.empty()) {
    if (budget > 0)
      network = latency <= budget ? 1.0 - 0.5 * latency / budget : 0.5 * budget / latency;
    else
      network = 1.0 / (1.0 + latency / 50.0);
  }

  // Hardware: hard constraints hold; soft affinities and wasted special hardware adjust.
  double affinity = 1.0;
  if (!hw.affinities.empty()) {
    size_t met = 0;
    for (const auto& a : hw.affinities) met += affinity_met(zone, a) ? 1 : 0;
    affinity = static_cast<double>(met) / static_cast<double>(hw.affinities.size());
  }
  double fitness = (hw.gpus == 0 && !zone.gpus.empty()) ? 0.8 : 1.0;
  double hardware = fitness * (0.75 + 0.25 * affinity);
  double capacity = static_cast<double>(instances) / static_cast<double>(requested);

  out.feasible = true;
  out.details.clear();
  out.code = protocols::refusal_code::none;
  out.instances = instances;
  out.cost = cost;
  out.latency_ms = latency;
  out.scores.hardware = hardware;
  out.scores.capacity = capacity;
  out.scores.total = weight_hardware * hardware + weight_capacity * capacity +
                     weight_network * network + weight_cost * cost_score;
  set_extra(out.scores, "network", network);
  set_extra(out.scores, "cost", cost_score);
}

evaluation score_zone(const evaluate& req) {
  evaluation out;
  score_zone_into(req.zone, req.free, req.service, req.deploy, out);
  return out;
}

uint64_t request_hash(const zone_parameters& zone, const resource_report& free,
                      const manifest& service, const deploy_parameters& deploy) {
  field_hasher h;
  h(zone, free, service, deploy);
  return h.h;
}

// --- evaluation_cache ---

evaluation_cache::evaluation_cache(size_t entries, duration_ms ttl_ms)
    : capacity_(entries), ttl_ms_(ttl_ms) {
  // No reservation up front: a zone that sees few distinct requests stays small (an index
  // reserved for 10,000 entries alone costs ~80 KB per zone).
}

uint64_t evaluation_cache::key_of(const std::string& cache_key, uint64_t hash) {
  if (cache_key.empty()) return hash;
  field_hasher h;
  h.h ^= 0x5bd1e995;  // separate caller keys from request hashes
  h(cache_key);
  return h.h;
}

void evaluation_cache::unlink(uint32_t i) {
  auto& e = slots_[i];
  if (e.prev != npos)
    slots_[e.prev].next = e.next;
  else
    head_ = e.next;
  if (e.next != npos)
    slots_[e.next].prev = e.prev;
  else
    tail_ = e.prev;
  e.prev = e.next = npos;
}

void evaluation_cache::push_front(uint32_t i) {
  auto& e = slots_[i];
  e.prev = npos;
  e.next = head_;
  if (head_ != npos) slots_[head_].prev = i;
  head_ = i;
  if (tail_ == npos) tail_ = i;
}

void evaluation_cache::drop(uint32_t i) {
  unlink(i);
  index_.erase(slots_[i].key);
  free_slots_.push_back(i);
}

const evaluation* evaluation_cache::find(const std::string& cache_key, uint64_t hash,
                                         runtime::mono_time now) {
  if (capacity_ == 0 || ttl_ms_ <= 0) {
    ++misses_;
    return nullptr;
  }
  auto it = index_.find(key_of(cache_key, hash));
  if (it == index_.end() || slots_[it->second].cache_key != cache_key) {
    ++misses_;
    return nullptr;
  }
  auto i = it->second;
  if (slots_[i].expires_at <= now) {
    drop(i);
    ++misses_;
    return nullptr;
  }
  unlink(i);
  push_front(i);
  ++hits_;
  return &slots_[i].value;
}

void evaluation_cache::insert(const std::string& cache_key, uint64_t hash, const evaluation& x,
                              runtime::mono_time now) {
  if (capacity_ == 0 || ttl_ms_ <= 0) return;
  auto key = key_of(cache_key, hash);
  auto it = index_.find(key);
  uint32_t i;
  if (it != index_.end()) {
    i = it->second;
    unlink(i);
  } else {
    if (index_.size() >= capacity_) {
      auto victim = tail_;
      drop(victim);
      ++evictions_;
    }
    if (!free_slots_.empty()) {
      i = free_slots_.back();
      free_slots_.pop_back();
    } else {
      i = static_cast<uint32_t>(slots_.size());
      slots_.emplace_back();
    }
    index_.emplace(key, i);
  }
  auto& e = slots_[i];
  e.key = key;
  e.cache_key = cache_key;
  e.value = x;
  e.value.cached = false;
  e.expires_at = runtime::after(now, ttl_ms_);
  push_front(i);
}

}  // namespace fusion::evaluator
