// fusion-bench placement: four-step placements per second over a large domain (issue 3's
// goal: >= 20,000/s on 2 cores with k = 16 offers each and the generic evaluator), next to
// the raw CAF request/response rate measured in the same run, and the memory per zone.

#include "actors/topology/topology.hpp"
#include "protocols/all_messages.hpp"
#include "protocols/registry.hpp"
#include "runtime/clock.hpp"
#include "runtime/config.hpp"
#include "runtime/files.hpp"
#include "runtime/manifest.hpp"
#include "tests/bench/bench.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <unistd.h>
#include <chrono>
#include <fstream>
#include <iostream>
#include <thread>

namespace fusion::bench {

namespace {

using namespace protocols;

// Resident set size of this process, in bytes.
size_t rss_bytes() {
  std::ifstream statm{"/proc/self/statm"};
  size_t pages = 0;
  size_t resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// A heterogeneous zone: location, size, GPUs and prices vary with the index.
zone_parameters make_zone(size_t i, runtime::rng& gen) {
  static const char* regions[] = {"eu-west", "eu-central", "us-east", "us-west", "ap-east"};
  topology::zone_builder z{"zone-" + std::to_string(i)};
  z.region(regions[i % 5], -60 + gen.uniform() * 120, -180 + gen.uniform() * 360)
      .cores(static_cast<uint32_t>(64 + gen.next() % 448))
      .memory_gb(256 + gen.next() % 768)
      .cost(0.05 + gen.uniform(), 0.01 + gen.uniform() * 0.05, 0.5 + gen.uniform());
  if (i % 5 == 0) z.gpu("nvidia-a100", 40960, 8.0, 8);
  if (i % 3 == 0) z.accelerator("h264-encoder");
  return z.params();
}

// The benchmark's service when no --manifest is given: one core, 512 MB, users in Paris.
manifest default_manifest() {
  manifest m;
  m.name = "fusion://bench/interactive";
  m.hardware.cpu_cores = 1;
  m.hardware.memory_mb = 512;
  m.sessions_per_instance = 8;
  m.user_locations = {geo_location{"eu-west", 48.85, 2.35}};
  return m;
}

// The `i`th of the benchmark's distinct services: `base` under another name.
manifest bench_manifest(manifest base, size_t i) {
  base.name += "-" + std::to_string(i);
  return base;
}

struct driver_state {
  driver_state() = default;
  placement_actor placement;
  std::vector<place_service> requests;  // cycled through
  caf::actor report;
  size_t total = 0;
  size_t sent = 0;
  size_t done = 0;
  size_t failed = 0;
  size_t offers = 0;
  static inline const char* name = "placement-driver";
};

using driver_ptr = caf::stateful_actor<driver_state>*;

void driver_send(driver_ptr self);

// Counts one answered placement and keeps the window full, or reports when all are done.
void driver_answered(driver_ptr self, bool failed, size_t offers) {
  auto& st = self->state;
  ++st.done;
  st.failed += failed ? 1 : 0;
  st.offers += offers;
  if (st.sent < st.total)
    driver_send(self);
  else if (st.done == st.total)
    self->send(st.report, st.done, st.failed, st.offers);
}

void driver_send(driver_ptr self) {
  auto& st = self->state;
  const auto& req = st.requests[st.sent % st.requests.size()];
  ++st.sent;
  self->request(st.placement, std::chrono::seconds(30), req)
      .then(
          [self](const placement_decision& d) {
            auto offers = static_cast<size_t>(std::count_if(
                d.verdicts.begin(), d.verdicts.end(), [](const auto& v) { return v.offered; }));
            driver_answered(self, !d.satisfied, offers);
          },
          [self](caf::error&) { driver_answered(self, true, 0); });
}

// Keeps `window` dry-run placements in flight until `total` are decided, cycling through
// `services` distinct services, then reports to `report`.
caf::behavior driver(driver_ptr self, placement_actor placement, size_t total, size_t window,
                     size_t services, manifest base, caf::actor report) {
  auto& st = self->state;
  st.placement = std::move(placement);
  st.report = std::move(report);
  st.total = total;
  for (size_t i = 0; i < services; ++i)
    st.requests.push_back(place_service{
        principal{"bench", role::service_provider}, bench_manifest(base, i), {}, true});
  for (size_t i = 0; i < std::min(window, total); ++i) driver_send(self);
  return {[](caf::unit_t) {}};
}

}  // namespace

void options_placement(po::options_description& desc) {
  desc.add_options()("zones", count_option(5000, "zones"), "zones in the domain")(
      "placements", count_option(50'000, "placements"), "placements measured (after 2000 warm-up)")(
      "window", count_option(64, "window"), "placements in flight")("k", count_option(16, "k"),
                                                                    "zones asked per placement")(
      "services", count_option(1, "services"),
      "distinct services the placements cycle through (identical requests in flight together "
      "are placed as one cohort)")("threads", count_option(2, "threads"), "scheduler threads")(
      "placement-workers",
      count_option(static_cast<size_t>(runtime::default_config().placement.workers),
                   "placement-workers"),
      "placement actors sharing the work (requests routed by service)")(
      "manifest", po::value<std::string>(),
      "YAML manifest to place (default: one core, 512 MB, users in Paris)")(
      "policy", po::value<std::string>()->default_value("stealing")->notifier([](const auto& p) {
        if (p != "stealing" && p != "sharing")
          throw po::error("--policy must be 'stealing' or 'sharing', got '" + p + "'");
      }),
      "CAF scheduler policy: stealing or sharing");
}

int run_placement(const po::variables_map& vm) {
  using clock = std::chrono::steady_clock;
  const auto zones = vm["zones"].as<size_t>();
  const auto total = vm["placements"].as<size_t>();
  const auto window = vm["window"].as<size_t>();
  const auto k = vm["k"].as<size_t>();
  const auto services = vm["services"].as<size_t>();
  const auto threads = vm["threads"].as<size_t>();
  const auto workers = vm["placement-workers"].as<size_t>();
  const auto policy = vm["policy"].as<std::string>();
  auto base = default_manifest();
  std::string manifest_name = "built-in";
  if (vm.count("manifest") > 0) {
    manifest_name = vm["manifest"].as<std::string>();
    auto text = runtime::read_text_file(manifest_name);
    auto parsed = text ? runtime::parse_manifest(*text, manifest_name)
                       : caf::expected<manifest>{text.error()};
    if (!parsed) {
      std::cerr << "fusion-bench placement: " << describe(parsed.error()) << "\n";
      return 2;
    }
    base = std::move(*parsed);
  }
  const double caf_rate = measure_caf_request_response_per_s(500'000, 64, threads);

  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", threads);
  cfg.set("scheduler.policy", caf::atom_from_string(policy));
  cfg.set("logger.verbosity", caf::atom("quiet"));
  message_registry::instance().add_message_types(cfg);
  caf::actor_system sys{cfg};
  topology::options topts;
  topts.placement.k = static_cast<uint32_t>(k);
  topts.placement.deadline_ms = 2000;  // the bench measures throughput, not the deadline
  topts.placement.decisions_kept = 64;
  topts.placement.workers = static_cast<uint32_t>(workers);
  topology::topology topo{sys, topts};
  topo.with_domain();
  const size_t rss_before = rss_bytes();
  runtime::rng gen{42};
  for (size_t i = 0; i < zones; ++i) topo.with_zone(make_zone(i, gen));
  // Wait until every zone has registered with the zone registry.
  caf::scoped_actor self{sys};
  size_t registered = 0;
  for (int attempt = 0; attempt < 600 && registered < zones; ++attempt) {
    self->request(topo.zone_registry(), std::chrono::seconds(5), list_zones{})
        .receive([&](const zone_list& l) { registered = l.zones.size(); }, [&](caf::error&) {});
    if (registered < zones) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const size_t rss_after = rss_bytes();
  if (registered < zones) {
    std::cerr << "placement bench: only " << registered << " of " << zones << " zones registered\n";
    return 1;
  }
  std::vector<std::pair<std::string, config_value>> conf{
      {"zones", static_cast<int64_t>(zones)},
      {"k", static_cast<int64_t>(k)},
      {"services", static_cast<int64_t>(services)},
      {"window", static_cast<int64_t>(window)},
      {"placements", static_cast<int64_t>(total)},
      {"threads", static_cast<int64_t>(threads)},
      {"evaluator", std::string{"generic"}},
      {"manifest", manifest_name},
      {"scheduler", policy}};
  // Warm-up: fills the zones' evaluation caches the way a running domain would have.
  auto run = [&](size_t n) {
    auto d = sys.spawn(driver, topo.placement(), n, window, services, base, caf::actor{self});
    size_t done = 0;
    size_t failed = 0;
    size_t offers = 0;
    self->receive([&](size_t x, size_t y, size_t z) { done = x, failed = y, offers = z; });
    caf::anon_send_exit(d, caf::exit_reason::user_shutdown);
    return std::make_tuple(done, failed, offers);
  };
  run(std::min<size_t>(total, 2000));
  auto t0 = clock::now();
  auto cpu0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  auto [done, failed, offers] = run(total);
  double secs = std::chrono::duration<double>(clock::now() - t0).count();
  double cpu = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
  print_figure("placement", "placements_per_s", static_cast<double>(done) / secs, "1/s", conf);
  // Less sensitive to a noisy machine than the wall-clock rate: placements per second of CPU
  // used by the whole process (every thread, user and system).
  print_figure("placement", "placements_per_cpu_s", static_cast<double>(done) / cpu, "1/s", conf);
  print_figure("placement", "caf_request_response_per_s", caf_rate, "1/s", conf);
  print_figure("placement", "offers_per_placement",
               static_cast<double>(offers) / static_cast<double>(done), "offers", conf);
  print_figure("placement", "failed_placements", static_cast<double>(failed), "placements", conf);
  print_figure("placement", "bytes_per_zone",
               static_cast<double>(rss_after - rss_before) / static_cast<double>(zones), "B", conf);
  topo.shutdown();
  return failed == 0 ? 0 : 1;
}

}  // namespace fusion::bench
