#pragma once
// Time and randomness for actors. Two kinds of time, never mixed:
//  - wall time (protocols::timestamp_ms, Unix-epoch milliseconds): what durable records and
//    anything on the wire carry, since it means the same on another node and after a
//    restart;
//  - monotonic time (mono_time): deadlines, timers and ages inside one process; it never
//    leaves the process (a message carries a duration such as an offer's TTL instead).
// Actors read both through the actor system, so both are simulated under CAF's test
// coordinator, and draw randomness from a seeded generator they own: the same actors run
// deterministically in tests.

#include "protocols/common.hpp"

#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>
#include <caf/local_actor.hpp>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <thread>

namespace fusion::runtime {

/// A point on the actor system's monotonic clock (simulated under the test coordinator).
using mono_time = caf::actor_clock::time_point;

/// Now on the monotonic clock of `sys`.
inline mono_time mono_now(const caf::actor_system& sys) {
  return const_cast<caf::actor_system&>(sys).clock().now();
}

/// mono_now() of the system hosting `self`.
inline mono_time mono_now(const caf::local_actor* self) {
  return mono_now(self->home_system());
}

/// `t` plus `ms` milliseconds.
inline mono_time after(mono_time t, protocols::duration_ms ms) {
  return t + std::chrono::milliseconds{ms};
}

/// Whole milliseconds from `from` to `to` (negative if `to` is earlier).
inline protocols::duration_ms millis_between(mono_time from, mono_time to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

/// Config key of the wall clock a deterministic test system starts at (Unix-epoch ms).
inline constexpr std::string_view simulated_wall_clock_key = "fusion.simulated-wall-clock-ms";

/// Whether `sys` runs on CAF's deterministic test coordinator (simulated time).
bool simulated_time(const caf::actor_system& sys);

/// Wall time now, in Unix-epoch milliseconds: the system clock, or under the test
/// coordinator the configured simulated_wall_clock_key plus the simulated time elapsed.
protocols::timestamp_ms wall_now(const caf::actor_system& sys);

/// wall_now() of the system hosting `self`.
inline protocols::timestamp_ms wall_now(const caf::local_actor* self) {
  return wall_now(self->home_system());
}

/// A small, fast, seedable random generator (splitmix64). Each actor owns one, seeded
/// from its config, so runs are reproducible.
class rng {
 public:
  explicit rng(uint64_t seed = 0x9E3779B97F4A7C15ull) : state_(seed) {}

  /// Next 64 random bits.
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  /// Uniform double in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  using result_type = uint64_t;
  static constexpr uint64_t min() { return 0; }
  static constexpr uint64_t max() { return ~uint64_t{0}; }
  uint64_t operator()() { return next(); }

 private:
  uint64_t state_;
};

/// Makes readable unique ids "<prefix>-<n>" (e.g. "inst-edge-1-7"). Deterministic: the
/// counter starts where the owner says (e.g. after the highest id found in its store).
class id_generator {
 public:
  /// Ids `prefix-next`, `prefix-(next+step)`, …: generators with the same step and
  /// different starts never collide.
  explicit id_generator(std::string prefix, uint64_t next = 1, uint64_t step = 1)
      : prefix_(std::move(prefix)), next_(next), step_(step) {}

  /// The next id.
  protocols::fusion_id make() {
    auto id = prefix_ + "-" + std::to_string(next_);
    next_ += step_;
    return {std::move(id)};
  }

  /// Ensures later ids are above `n` (after reloading stored ids).
  void skip_past(uint64_t n) {
    if (n >= next_) next_ += ((n - next_) / step_ + 1) * step_;
  }

  const std::string& prefix() const { return prefix_; }

 private:
  std::string prefix_;
  uint64_t next_;
  uint64_t step_;
};

/// N of an id "prefix-N" as id_generator makes them, or 0 (never issued) if `id` has
/// another shape.
inline uint64_t id_number(std::string_view id, std::string_view prefix) {
  if (id.size() <= prefix.size() + 1 || id.substr(0, prefix.size()) != prefix ||
      id[prefix.size()] != '-')
    return 0;
  uint64_t n = 0;
  auto digits = id.substr(prefix.size() + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  return ec == std::errc{} && end == digits.data() + digits.size() ? n : 0;
}

/// Bootstrap code only (a node's main thread, never an actor): calls `done()` every
/// `interval` of wall-clock time until it returns true or `timeout` has passed. Returns
/// whether `done()` returned true.
template <class Predicate>
bool poll_until(Predicate done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = std::chrono::milliseconds{20}) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

}  // namespace fusion::runtime
