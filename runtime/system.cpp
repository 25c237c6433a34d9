#include "runtime/system.hpp"

#include "protocols/errc.hpp"
#include "protocols/registry.hpp"
#include "runtime/logging.hpp"

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/io/middleman.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <pthread.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <ctime>

namespace fusion::runtime {

void configure_actor_system(caf::actor_system_config& cfg, const node_config& nc) {
  cfg.set("scheduler.max-threads", static_cast<size_t>(nc.scheduler.threads));
  cfg.set("scheduler.policy", caf::atom_from_string(nc.scheduler.policy));
  cfg.load<caf::io::middleman>();
  protocols::message_registry::instance().add_message_types(cfg);
}

namespace {

// Waits for SIGINT/SIGTERM (blocked in every thread, see run_node) or until `seconds`
// pass (0 = no limit). Returns the signal number, or 0 when the time is up.
int wait_for_stop(const sigset_t& stop_signals, double seconds) {
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + std::chrono::duration_cast<clock::duration>(
                                     std::chrono::duration<double>(seconds));
  for (;;) {
    int sig = 0;
    if (seconds <= 0) {
      if (sigwait(&stop_signals, &sig) == 0) return sig;
      continue;
    }
    auto left = deadline - clock::now();
    if (left <= clock::duration::zero()) return 0;
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
    sig = sigtimedwait(&stop_signals, nullptr, &ts);
    if (sig > 0) return sig;
    if (errno == EAGAIN) return 0;
    // EINTR: another signal interrupted the wait; wait for the rest of the time.
  }
}

}  // namespace

caf::error run_node(const node_config& nc, const role_registry& reg) {
  if (auto err = setup_logging(nc.log)) return err;
  auto log = logger("node");
  // Block the stop signals before CAF starts its threads, so every thread inherits the
  // mask and the signals reach only wait_for_stop(): no async-signal handler needed.
  sigset_t stop_signals, old_mask;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);
  caf::error result;
  {
    caf::actor_system_config cfg;
    configure_actor_system(cfg, nc);
    caf::actor_system sys{cfg};
    role_context ctx;
    if (auto err = reg.start(sys, nc, ctx)) {
      // The caller reports the error on stderr; a log file gets a copy.
      if (!nc.log.file.empty())
        log->error("node '{}' cannot start: {}", nc.node.name, describe(err));
      result = std::move(err);
    } else {
      log->info(
          "node '{}' started: roles [{}], {} zone(s), {} service(s), {} scheduler "
          "thread(s)",
          nc.node.name, fmt::join(nc.node.roles, ", "), nc.zones.size(), nc.services.size(),
          nc.scheduler.threads);
      flush_logs();
      auto sig = wait_for_stop(stop_signals, nc.node.run_for_s);
      log->info("node '{}' stopping ({})", nc.node.name,
                sig == 0 ? std::string{"run time elapsed"}
                         : fmt::format("signal {}", sig == SIGINT ? "SIGINT" : "SIGTERM"));
      stop_roles(ctx);
    }
    // ~actor_system waits for every actor told to quit above.
  }
  if (!result) log->info("node '{}' stopped", nc.node.name);
  flush_logs();
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  return result;
}

}  // namespace fusion::runtime
