#pragma once
// The generic evaluator's scoring (§5.4.2.2.1): how well a zone suits a service, from the
// zone's description, its free resources, the manifest and the deployment parameters, and
// a small LRU cache of evaluations (§5.4.2.2.3). A library of its own (fusion_scoring),
// linked by the evaluator role (actors/evaluator/generic.hpp) and, by design, by the zone
// role: score_zone is pure and allocation-free on the feasible path, so zone managers call
// it inline on the placement hot path instead of asking an evaluator actor.

#include "protocols/zone_orchestration.hpp"
#include "runtime/clock.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace fusion::evaluator {

/// Weights of the dimensions in the total score; they sum to 1 (docs/zones.md).
inline constexpr double weight_hardware = 0.30;
inline constexpr double weight_capacity = 0.25;
inline constexpr double weight_network = 0.30;
inline constexpr double weight_cost = 0.15;

/// Latency estimate when a region has no measured latency: base + great-circle km / divisor.
inline constexpr double latency_base_ms = 5.0;
inline constexpr double latency_km_per_ms = 100.0;

/// Scores `zone` with `free` resources for `service` deployed per `deploy`. Pure; the
/// feasible path does not allocate when `out.scores.extra` already holds "network"/"cost".
void score_zone_into(const protocols::zone_parameters& zone, const protocols::resource_report& free,
                     const protocols::manifest& service, const protocols::deploy_parameters& deploy,
                     protocols::evaluation& out);

/// Scores one evaluate request: every value in [0, 1]; infeasible with a reason in words.
protocols::evaluation score_zone(const protocols::evaluate& req);

/// Estimated latency in ms from `zone` to `user`: the zone's measured table if it knows the
/// user's region, else latency_base_ms + great-circle distance / latency_km_per_ms.
double estimate_latency_ms(const protocols::zone_parameters& zone,
                           const protocols::geo_location& user);

/// Great-circle distance in km between two WGS84 points (haversine).
double distance_km(double lat1, double lon1, double lat2, double lon2);

/// 64-bit hash of everything an evaluation depends on: every field of the zone, its free
/// resources, the manifest and the deployment parameters, taken through their inspect()
/// (so a field added to any of them is in the key without a change here). Used as cache
/// key when the caller gives none.
uint64_t request_hash(const protocols::zone_parameters& zone,
                      const protocols::resource_report& free, const protocols::manifest& service,
                      const protocols::deploy_parameters& deploy);

/// LRU cache of evaluations with a bounded number of entries and a time to live
/// (§5.4.2.2.3). Keys are a caller-given string or a request hash. Not thread-safe: owned by
/// one actor.
class evaluation_cache {
 public:
  /// At most `entries` evaluations, each valid for `ttl_ms` after insertion (0 = no cache).
  evaluation_cache(size_t entries, protocols::duration_ms ttl_ms);

  /// Cached evaluation for the key at time `now`, or nullptr (missing or expired).
  /// A hit makes the entry the most recently used.
  const protocols::evaluation* find(const std::string& cache_key, uint64_t hash,
                                    runtime::mono_time now);

  /// Stores `x` under the key, evicting the least recently used entry when full.
  void insert(const std::string& cache_key, uint64_t hash, const protocols::evaluation& x,
              runtime::mono_time now);

  /// Number of live entries (expired ones count until looked up or evicted).
  size_t size() const { return index_.size(); }

  /// Lookups answered from the cache.
  uint64_t hits() const { return hits_; }

  /// Lookups not answered (missing or expired).
  uint64_t misses() const { return misses_; }

  /// Entries dropped to make room.
  uint64_t evictions() const { return evictions_; }

 private:
  static constexpr uint32_t npos = UINT32_MAX;
  struct entry {
    uint64_t key = 0;
    std::string cache_key;  // caller-given key, compared on lookup to rule out collisions
    protocols::evaluation value;
    runtime::mono_time expires_at;
    uint32_t prev = npos;
    uint32_t next = npos;
  };
  static uint64_t key_of(const std::string& cache_key, uint64_t hash);
  void unlink(uint32_t i);
  void push_front(uint32_t i);
  void drop(uint32_t i);

  size_t capacity_;
  protocols::duration_ms ttl_ms_;
  std::vector<entry> slots_;
  std::vector<uint32_t> free_slots_;
  std::unordered_map<uint64_t, uint32_t> index_;
  uint32_t head_ = npos;  // most recently used
  uint32_t tail_ = npos;  // least recently used
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
  uint64_t evictions_ = 0;
};

}  // namespace fusion::evaluator
