#pragma once
// A zone's resource ledger (§6.3.1): its capacity, what its instances use and what its holds
// keep (open offers and deployments in progress). Free = capacity − used − held, dimension
// by dimension. A plain value without an actor: the zone manager owns one, and
// tests/unit/zone/reservations_test.cpp checks it on its own.

#include "protocols/common.hpp"
#include "runtime/clock.hpp"

#include <cstdint>
#include <unordered_map>

namespace fusion::zone {

/// An amount of a zone's resources. `instances` counts instance slots (the zone's
/// max_instances cap); an instance's own use has instances = 1.
struct resources {
  uint64_t cores = 0;
  uint64_t memory_mb = 0;
  uint64_t gpus = 0;
  uint64_t instances = 0;

  resources& operator+=(const resources& x);
  /// Subtracts `x`, dimension by dimension, never below zero.
  resources& operator-=(const resources& x);
  /// `n` times this amount.
  resources times(uint64_t n) const;
  /// Whether `x` fits in this amount in every dimension.
  bool fits(const resources& x) const;
  friend bool operator==(const resources&, const resources&) = default;
};

/// What a hold keeps: `instances` instances of one service, each using `per_instance`.
struct hold {
  protocols::service_uri service;
  uint32_t instances = 0;
  resources per_instance;  ///< instances = 1
  uint32_t sessions_per_instance = 0;
  runtime::mono_time expires_at = runtime::mono_time::max();
  bool deploying = false;  ///< consumed by a deployment: no longer an offer

  /// Everything the hold keeps.
  resources total() const { return per_instance.times(instances); }
};

/// The ledger. Holds are numbered from 1 in the order they are made.
class reservations {
 public:
  /// A zone of `capacity`; capacity.instances = 0 means no instance cap.
  explicit reservations(resources capacity = {}) : capacity_(capacity) {}

  /// What neither instances use nor holds keep. Without an instance cap, `instances` is
  /// the largest uint64_t.
  resources free() const;

  /// How many instances of `per_instance` the free resources and the instance cap allow.
  /// An all-zero `per_instance` gives the instance slots left.
  uint64_t fit(const resources& per_instance) const;

  /// Keeps `h` under a new number, which it returns.
  uint64_t add(hold h);

  /// The hold numbered `n`, or nullptr.
  hold* find(uint64_t n);

  /// Gives back hold `n`; false if there is none.
  bool drop(uint64_t n);

  /// An instance starts using `r` (r.instances = 1), or stops using it.
  void use(const resources& r) { used_ += r; }
  void unuse(const resources& r) { used_ -= r; }

  const resources& capacity() const { return capacity_; }
  const resources& used() const { return used_; }
  const resources& held() const { return held_; }
  size_t holds() const { return holds_.size(); }

 private:
  resources capacity_;
  resources used_;
  resources held_;
  std::unordered_map<uint64_t, hold> holds_;
  uint64_t next_ = 1;
};

}  // namespace fusion::zone
