#pragma once
// Deterministic actor-test fixture: an actor system on CAF's test coordinator. No worker
// threads, simulated time: sched.run() drains messages without firing timers, and
// advance(d) moves the clock and fires what is due, so a 10-minute timer completes
// instantly. Derive from it (doctest TEST_CASE_FIXTURE).

#include "protocols/errc.hpp"
#include "protocols/registry.hpp"
#include "runtime/clock.hpp"
#include "runtime/logging.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <optional>

namespace fusion::test {

struct det_fixture {
  /// The simulated wall clock a fixture starts at unless told otherwise: 2026-01-01T00:00Z.
  static constexpr protocols::timestamp_ms default_wall_clock_ms = 1'767'225'600'000;

  static caf::actor_system_config& init(caf::actor_system_config& cfg,
                                        protocols::timestamp_ms wall_ms, caf::timespan mono_start) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.inline-output", true);
    cfg.set("logger.verbosity", caf::atom("quiet"));
    // runtime::wall_now() = this base + the simulated monotonic time: wall_ms at the start.
    // Not cfg.set(): CAF refuses keys it has no option for; actors read it back with get_or.
    caf::put(cfg.content, runtime::simulated_wall_clock_key,
             wall_ms - std::chrono::duration_cast<std::chrono::milliseconds>(mono_start).count());
    protocols::message_registry::instance().add_message_types(cfg);
    return cfg;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched =
      dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  caf::scoped_actor self{sys, true};

  /// A system whose wall clock reads `wall_ms` and whose monotonic clock reads
  /// `mono_start` at the start: two fixtures with different values behave as two nodes
  /// whose clocks have nothing in common.
  explicit det_fixture(protocols::timestamp_ms wall_ms = default_wall_clock_ms,
                       caf::timespan mono_start = std::chrono::hours(1))
      : sys{init(cfg, wall_ms, mono_start)} {
    sched.clock().current_time += mono_start;
    // Tests assert on results, not on logs: only errors reach the test output.
    static_cast<void>(runtime::setup_logging(runtime::log_config{"error", "text", ""}));
  }

  /// Runs every queued job; never fires timers. Returns the number of jobs run.
  size_t run() { return sched.run(); }

  /// Moves simulated time forward by `d`, firing due timers, then drains the queue.
  void advance(caf::timespan d) {
    sched.advance_time(d);
    sched.run();
  }

  /// Lets `d` of simulated time pass in 5 ms steps, as it does in a real process: every
  /// timer fires at its time, not all of them at the end of one jump.
  void pass(caf::timespan d) {
    for (caf::timespan t{0}; t < d; t += std::chrono::milliseconds{5})
      advance(std::chrono::milliseconds{5});
  }

  /// Sends `req` to `dst` as a request, drives the scheduler, and returns the answer or
  /// the error. Timers do not fire unless `after` is given, which advances time first.
  template <class Reply, class Handle, class Request>
  caf::expected<Reply> ask(const Handle& dst, Request req,
                           std::optional<caf::timespan> after = std::nullopt) {
    auto rh = self->request(dst, caf::infinite, std::move(req));
    sched.run();
    if (after) advance(*after);
    caf::expected<Reply> res{caf::sec::request_timeout};
    if (self->mailbox().empty()) return res;  // no answer (yet): never block the test
    rh.receive([&](Reply& x) { res = std::move(x); }, [&](caf::error& e) { res = std::move(e); });
    return res;
  }
};

}  // namespace fusion::test
