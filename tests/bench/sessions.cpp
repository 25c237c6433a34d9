// fusion-bench sessions: session setups end to end in one process (open_session → service
// router → zone gateway → instance slot → reply, then the release), the router's decision
// rate on one core (the routing metric over its next hops), and the raw CAF request/response
// rate of the same run (docs/slots.md, "Sessions").

#include "actors/slots/routing.hpp"
#include "actors/topology/topology.hpp"
#include "protocols/names.hpp"
#include "protocols/registry.hpp"
#include "tests/bench/bench.hpp"
#include "tests/bench/bench_zones.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <chrono>
#include <iostream>
#include <random>
#include <thread>
#include <unordered_map>

namespace fusion::bench {

using namespace protocols;

namespace {

const service_uri bench_service = "fusion://bench/sessions";

struct driver_state {
  driver_state() = default;
  service_router_actor router;
  runtime::directory_ptr dir;
  caf::actor report;
  std::unordered_map<std::string, service_lifecycle_actor> instances;  // by locator actor
  size_t total = 0, sent = 0, done = 0, refused = 0;
  static inline const char* name = "sessions-driver";
};

using driver_ptr = caf::stateful_actor<driver_state>*;

void driver_send(driver_ptr self);

void driver_answered(driver_ptr self, bool refused) {
  auto& st = self->state;
  ++st.done;
  st.refused += refused ? 1 : 0;
  if (st.sent < st.total)
    driver_send(self);
  else if (st.done == st.total)
    self->send(st.report, st.done, st.refused);
}

// One session: opened through the router, released at its instance at once (churn).
void driver_send(driver_ptr self) {
  auto& st = self->state;
  ++st.sent;
  // No timeout, as the router and the gateway do in one process: a local receiver that
  // dies bounces the request (runtime/request_timeout.hpp).
  self->request(st.router, caf::infinite, open_session{bench_service, "bench"})
      .then(
          [self](session_granted& g) {
            auto& s = self->state;
            auto i = s.instances.find(g.instance.actor);
            if (i == s.instances.end())
              i = s.instances
                      .emplace(g.instance.actor,
                               s.dir->get_as<service_lifecycle_actor>(g.instance.actor))
                      .first;
            self->send(i->second, release_session{g.session_id});  // its reply is dropped
            driver_answered(self, false);
          },
          [self](caf::error&) { driver_answered(self, true); });
}

caf::behavior driver(driver_ptr self, service_router_actor router, runtime::directory_ptr dir,
                     size_t total, size_t window, caf::actor report) {
  auto& st = self->state;
  st.router = std::move(router);
  st.dir = std::move(dir);
  st.report = std::move(report);
  st.total = total;
  for (size_t i = 0; i < std::min(window, total); ++i) driver_send(self);
  return {[](const status_reply&) {}};
}

// Opens `n` sessions, `window` in flight; returns {done, refused}.
std::pair<size_t, size_t> run_sessions(caf::actor_system& sys, const service_router_actor& router,
                                       const runtime::directory_ptr& dir, size_t n, size_t window) {
  caf::scoped_actor self{sys};
  auto d = sys.spawn(driver, router, dir, n, window, caf::actor{self});
  std::pair<size_t, size_t> out;
  self->receive([&](size_t done, size_t refused) { out = {done, refused}; });
  caf::anon_send_exit(d, caf::exit_reason::user_shutdown);
  return out;
}

// The routing metric over `hops` next hops with varied slots, `n` times on this thread.
double measure_decisions_per_s(size_t n, size_t hops) {
  std::mt19937_64 rng{42};
  std::vector<slots::hop> h(hops);
  for (size_t i = 0; i < hops; ++i) {
    h[i].id = "zone-" + std::to_string(i);
    h[i].metric_ms = 1.0 + static_cast<double>(rng() % 50);
    h[i].slots.available = rng() % 20;
    h[i].slots.max = 20;
    h[i].slots.variance = static_cast<double>(rng() % 8);
  }
  size_t chosen = 0;  // consumed so that the work cannot be optimised away
  auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < n; ++i) {
    h[i % hops].slots.available = (h[i % hops].slots.available + 1) % 20;  // numbers move
    auto r = slots::rank_hops(h);
    chosen += r.empty() ? 0 : r.front().index;
  }
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  asm volatile("" : : "g"(chosen) : "memory");  // the decisions are used: not optimised away
  return static_cast<double>(n) / secs;
}

}  // namespace

void options_sessions(po::options_description& desc) {
  desc.add_options()("zones", count_option(10, "zones"), "zones under the router")(
      "instances", count_option(10, "instances"), "instances per zone")(
      "slots", count_option(1000, "slots"), "session slots per instance")(
      "sessions", count_option(200'000, "sessions"), "sessions opened (and released)")(
      "window", count_option(64, "window"), "session requests in flight")(
      "threads", count_option(2, "threads"), "CAF scheduler threads")(
      "decisions", count_option(2'000'000, "decisions"), "routing decisions on one core")(
      "hops", count_option(8, "hops"), "next hops per routing decision");
}

int run_sessions(const po::variables_map& vm) {
  const auto zones = vm["zones"].as<size_t>();
  const auto per_zone = vm["instances"].as<size_t>();
  const auto slots_per = vm["slots"].as<size_t>();
  const auto total = vm["sessions"].as<size_t>();
  const auto window = vm["window"].as<size_t>();
  const auto threads = vm["threads"].as<size_t>();
  const std::vector<std::pair<std::string, config_value>> conf{
      {"zones", static_cast<int64_t>(zones)},
      {"instances_per_zone", static_cast<int64_t>(per_zone)},
      {"slots_per_instance", static_cast<int64_t>(slots_per)},
      {"sessions", static_cast<int64_t>(total)},
      {"in_flight", static_cast<int64_t>(window)},
      {"scheduler_threads", static_cast<int64_t>(threads)}};
  {
    caf::actor_system_config cfg;
    cfg.set("scheduler.max-threads", threads);
    cfg.set("logger.verbosity", caf::atom("quiet"));
    message_registry::instance().add_message_types(cfg);
    caf::actor_system sys{cfg};
    topology::options opts;
    opts.slots.interval_ms = 100;
    opts.slots.refresh_ms = 300;
    opts.slots.validity_ms = 3'000;
    topology::topology topo{sys, opts};
    topo.with_domain();
    router::router_config rc;
    rc.name = "edge";
    topo.with_router(rc);
    const locator edge{"", names::router("edge")};
    for (size_t z = 0; z < zones; ++z)
      topo.with_zone(topology::zone_builder{"zone-" + std::to_string(z)}
                         .cores(static_cast<uint32_t>(per_zone))
                         .max_instances(static_cast<uint32_t>(per_zone)),
                     {edge});
    if (auto err = topo.await_registrations(10'000)) {
      std::cerr << "sessions bench: " << describe(err) << "\n";
      return 1;
    }
    caf::scoped_actor self{sys};
    create_forwarding_entry entry;
    entry.entry_id = fusion_id{"all-zones"};
    entry.information.service_ids = {fusion_id{bench_service}};
    for (size_t z = 0; z < zones; ++z) {
      auto name = "zone-" + std::to_string(z);
      auto zm = topo.zone(name);
      auto zone_id = registered_zone_id(self, zm, name);
      if (zone_id.empty() || !deploy_bench_service(self, zm, bench_service, per_zone, slots_per))
        return 1;
      next_hop h;
      h.hop = locator{"", names::zone_manager(name)};
      h.metric_ms = 1.0 + static_cast<double>(z);
      h.origin = zone_id;
      entry.information.next_hops.push_back(h);
    }
    bool installed = false;
    self->request(topo.router("edge"), std::chrono::seconds(5), entry)
        .receive([&](status_reply&) { installed = true; },
                 [&](caf::error& e) { std::cerr << describe(e) << "\n"; });
    if (!installed) return 1;
    // Wait until the router holds every zone's slots.
    size_t rows = 0;
    for (int attempt = 0; attempt < 300 && rows < zones; ++attempt) {
      self->request(topo.router("edge"), std::chrono::seconds(5), list_slots{bench_service})
          .receive([&](slot_list& l) { rows = l.rows.size(); }, [](caf::error&) {});
      if (rows < zones) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (rows < zones) {
      std::cerr << "sessions bench: the router heard of " << rows << " of " << zones << " zones\n";
      return 1;
    }
    run_sessions(sys, topo.router("edge"), topo.directory(), std::min<size_t>(total, 5000),
                 window);  // warm-up
    auto t0 = std::chrono::steady_clock::now();
    auto cpu0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
    auto [done, refused] = run_sessions(sys, topo.router("edge"), topo.directory(), total, window);
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto cpu = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
    auto granted = static_cast<double>(done - refused);
    print_figure("sessions", "session_setups_per_s", granted / secs, "1/s", conf);
    print_figure("sessions", "session_setups_per_cpu_s", granted / cpu, "1/s", conf);
    print_figure("sessions", "sessions_refused", static_cast<double>(refused), "sessions", conf);
    topo.shutdown();
  }
  const auto decisions = vm["decisions"].as<size_t>();
  const auto hops = vm["hops"].as<size_t>();
  print_figure("sessions", "router_decisions_per_s", measure_decisions_per_s(decisions, hops),
               "1/s",
               {{"decisions", static_cast<int64_t>(decisions)},
                {"hops", static_cast<int64_t>(hops)},
                {"threads", int64_t{1}}});
  print_caf_request_response("sessions", total, window, threads);
  return 0;
}

}  // namespace fusion::bench
