// fusion-bench placement: four-step placements per second over a large domain (issue 3's
// goal: >= 20,000/s on 2 cores with k = 16 offers each and the generic evaluator), next to
// the raw CAF request/response rate measured in the same run, and the memory per zone.
// With --zone-nodes N the same zones also run in N fusion-node processes linked to the
// domain, and the rate across processes is printed next to the in-process one (issue 9's
// goal: at least half of it). With --evaluator lua the same domain also places a service
// scored by a Lua evaluator (configs/evaluators/near_users.lua, or --evaluator-script FILE),
// and that rate is printed next to the generic evaluator's of the same run (issue 12's goal:
// at least half of it).

#include "actors/evaluator/lua_evaluator.hpp"
#include "actors/evaluator/scoring.hpp"
#include "actors/topology/topology.hpp"
#include "protocols/all_messages.hpp"
#include "protocols/registry.hpp"
#include "runtime/cli.hpp"
#include "runtime/clock.hpp"
#include "runtime/config.hpp"
#include "runtime/defaults.hpp"
#include "runtime/files.hpp"
#include "runtime/manifest.hpp"
#include "tests/bench/bench.hpp"
#include "tests/bench/zone_nodes.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <unistd.h>
#include <chrono>
#include <filesystem>
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

// The Lua evaluator --evaluator lua places with unless --evaluator-script says otherwise:
// the example that weighs the generic score with nearness to the closest user.
constexpr const char* near_users_lua = FUSION_CONFIG_DIR "/evaluators/near_users.lua";

// The benchmark's `n` zones, the same in every run and wherever they run.
std::vector<zone_parameters> bench_zones(size_t n) {
  runtime::rng gen{42};
  std::vector<zone_parameters> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(make_zone(i, gen));
  return out;
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

// Most zone node processes --zone-nodes starts.
constexpr size_t max_zone_nodes = 16;

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
      "policy",
      po::value<std::string>()
          ->default_value(runtime::default_config().scheduler.policy)
          ->notifier([](const auto& p) {
            if (p != "stealing" && p != "sharing")
              throw po::error("--policy must be 'stealing' or 'sharing', got '" + p + "'");
          }),
      "CAF scheduler policy of every process: stealing or sharing")(
      "zone-nodes", cli::unsigned_value<size_t>()->default_value(0)->notifier([](size_t n) {
        if (n > max_zone_nodes)
          throw po::error("--zone-nodes must be at most " + std::to_string(max_zone_nodes));
      }),
      "also run the zones in N fusion-node processes linked to this one and print both rates "
      "(0: in-process only)")(
      "evaluator", po::value<std::string>()->default_value("generic")->notifier([](const auto& e) {
        if (e != "generic" && e != "lua")
          throw po::error("--evaluator must be 'generic' or 'lua', got '" + e + "'");
      }),
      "generic: the generic evaluator only; lua: also a service scored by a Lua evaluator, "
      "printed next to the generic rate of the same run")(
      "evaluator-script", po::value<std::string>(),
      "the Lua evaluator for --evaluator lua (default: configs/evaluators/near_users.lua, "
      "the generic score weighed with nearness to the users)")(
      "fusion-node", po::value<std::string>(),
      "the fusion-node program for --zone-nodes (default: the one next "
      "to fusion-bench)");
}

namespace {

// What one series of placements gave.
struct series {
  size_t done = 0;
  size_t failed = 0;
  size_t offers = 0;
};

// Runs `n` placements through `placement`, `window` in flight, and waits for every answer.
series run_series(caf::actor_system& sys, const placement_actor& placement, size_t n, size_t window,
                  size_t services, const manifest& base) {
  caf::scoped_actor self{sys};
  auto d = sys.spawn(driver, placement, n, window, services, base, caf::actor{self});
  series r;
  self->receive([&](size_t done, size_t failed, size_t offers) { r = {done, failed, offers}; });
  caf::anon_send_exit(d, caf::exit_reason::user_shutdown);
  return r;
}

// A measured series: its placements, wall-clock seconds and CPU seconds.
struct measurement {
  series s;
  double wall_s = 0;
  double cpu_s = 0;
};

// A warm-up (fills the zones' evaluation caches the way a running domain would have), then
// `total` placements timed; `cpu()` reads the CPU seconds used by everything taking part.
template <class CpuSeconds>
measurement measure(caf::actor_system& sys, const placement_actor& placement, size_t total,
                    size_t window, size_t services, const manifest& base, CpuSeconds cpu) {
  run_series(sys, placement, std::min<size_t>(total, 2000), window, services, base);
  auto t0 = std::chrono::steady_clock::now();
  auto cpu0 = cpu();
  measurement m;
  m.s = run_series(sys, placement, total, window, services, base);
  m.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  m.cpu_s = cpu() - cpu0;
  return m;
}

using config_list = std::vector<std::pair<std::string, config_value>>;

void print_rates(const measurement& m, const config_list& conf) {
  const auto done = static_cast<double>(m.s.done);
  print_figure("placement", "placements_per_s", done / m.wall_s, "1/s", conf);
  // Less sensitive to a noisy machine than the wall-clock rate: placements per second of
  // CPU used by every process taking part (every thread, user and system).
  print_figure("placement", "placements_per_cpu_s", done / m.cpu_s, "1/s", conf);
}

void print_outcome(const measurement& m, const config_list& conf) {
  print_figure("placement", "offers_per_placement",
               static_cast<double>(m.s.offers) / static_cast<double>(m.s.done), "offers", conf);
  print_figure("placement", "failed_placements", static_cast<double>(m.s.failed), "placements",
               conf);
}

// The fusion-node executable: --fusion-node, or the one next to this program (both are
// built into build/nodes/).
std::string fusion_node_path(const po::variables_map& vm) {
  if (vm.count("fusion-node") > 0) return vm["fusion-node"].as<std::string>();
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string{"fusion-node"} : (self.parent_path() / "fusion-node").string();
}

}  // namespace

int run_placement(const po::variables_map& vm) {
  const auto zones = vm["zones"].as<size_t>();
  const auto total = vm["placements"].as<size_t>();
  const auto window = vm["window"].as<size_t>();
  const auto k = vm["k"].as<size_t>();
  const auto services = vm["services"].as<size_t>();
  const auto threads = vm["threads"].as<size_t>();
  const auto workers = vm["placement-workers"].as<size_t>();
  const auto policy = vm["policy"].as<std::string>();
  const auto zone_nodes_n = vm["zone-nodes"].as<size_t>();
  const auto with_lua = vm["evaluator"].as<std::string>() == "lua";
  if (vm.count("evaluator-script") > 0 && !with_lua) {
    std::cerr << "fusion-bench placement: --evaluator-script needs --evaluator lua\n";
    return 2;
  }
  if (with_lua && zone_nodes_n > 0) {
    std::cerr << "fusion-bench placement: --evaluator lua runs in-process only (no --zone-nodes)\n";
    return 2;
  }
  // The budgets a node gives an [[evaluator_script]] that sets none.
  namespace budget_defaults = fusion::defaults::evaluator_script;
  evaluator::lua_evaluator_config lua{
      "bench-lua",
      "",
      "",
      {budget_defaults::instructions, static_cast<size_t>(budget_defaults::memory_kb) * 1024}};
  if (with_lua) {
    auto path = vm.count("evaluator-script") > 0 ? vm["evaluator-script"].as<std::string>()
                                                 : std::string{near_users_lua};
    auto text = runtime::read_text_file(path, "Lua script");
    if (!text) {
      std::cerr << "fusion-bench placement: " << describe(text.error()) << "\n";
      return 2;
    }
    lua.chunk_name = std::filesystem::path{path}.filename().string();
    lua.source = std::move(*text);
  }
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
  // A missing fusion-node is found before minutes of in-process measurement.
  const auto fusion_node = fusion_node_path(vm);
  if (zone_nodes_n > 0 && ::access(fusion_node.c_str(), X_OK) != 0) {
    std::cerr << "fusion-bench placement: no fusion-node at " << fusion_node
              << " (build it, or give --fusion-node PATH)\n";
    return 1;
  }
  const double caf_rate = measure_caf_request_response_per_s(500'000, 64, threads);
  topology::options topts;
  topts.placement.k = static_cast<uint32_t>(k);
  topts.placement.deadline_ms = 2000;  // the bench measures throughput, not the deadline
  topts.placement.decisions_kept = 64;
  topts.placement.workers = static_cast<uint32_t>(workers);
  const auto domain = bench_zones(zones);
  config_list conf{{"zones", static_cast<int64_t>(zones)},
                   {"k", static_cast<int64_t>(k)},
                   {"services", static_cast<int64_t>(services)},
                   {"window", static_cast<int64_t>(window)},
                   {"placements", static_cast<int64_t>(total)},
                   {"threads", static_cast<int64_t>(threads)},
                   {"evaluator", std::string{"generic"}},
                   {"manifest", manifest_name},
                   {"scheduler", policy}};
  // With --zone-nodes, every figure says where its zones ran.
  auto in_process_conf = conf;
  if (zone_nodes_n > 0) in_process_conf.emplace_back("zone_nodes", int64_t{0});

  // In-process: the domain and every zone in one actor system.
  measurement local;
  measurement scripted_run;  // --evaluator lua
  size_t rss_before = 0;
  size_t rss_after = 0;
  {
    caf::actor_system_config cfg;
    cfg.set("scheduler.max-threads", threads);
    cfg.set("scheduler.policy", caf::atom_from_string(policy));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    message_registry::instance().add_message_types(cfg);
    caf::actor_system sys{cfg};
    topology::topology topo{sys, topts};
    topo.with_domain();
    rss_before = rss_bytes();
    for (const auto& z : domain) topo.with_zone(z);
    // Wait until every zone has registered with the zone registry.
    size_t registered = 0;
    {
      caf::scoped_actor self{sys};
      for (int attempt = 0; attempt < 600 && registered < zones; ++attempt) {
        self->request(topo.zone_registry(), std::chrono::seconds(5), list_zones{})
            .receive([&](const zone_list& l) { registered = l.zones.size(); }, [&](caf::error&) {});
        if (registered < zones) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    rss_after = rss_bytes();
    if (registered < zones) {
      std::cerr << "placement bench: only " << registered << " of " << zones
                << " zones registered\n";
      return 1;
    }
    local = measure(sys, topo.placement(), total, window, services, base,
                    [] { return cpu_seconds(CLOCK_PROCESS_CPUTIME_ID); });
    if (with_lua) {
      auto ev = evaluator::spawn_lua_evaluator(sys, lua);
      if (!ev) {
        std::cerr << "fusion-bench placement: " << describe(ev.error()) << "\n";
        topo.shutdown();
        return 2;
      }
      topo.with_evaluator(lua.name, caf::actor_cast<caf::actor>(*ev));
      auto scripted = base;
      scripted.evaluator = lua.name;
      scripted_run = measure(sys, topo.placement(), total, window, services, scripted,
                             [] { return cpu_seconds(CLOCK_PROCESS_CPUTIME_ID); });
    }
    topo.shutdown();
  }
  print_rates(local, in_process_conf);
  if (with_lua) {
    auto lua_conf = in_process_conf;
    for (auto& [key, value] : lua_conf)
      if (key == "evaluator") value = std::string{"lua:"} + lua.chunk_name;
    print_rates(scripted_run, lua_conf);
    print_outcome(scripted_run, lua_conf);
    // Evaluations without the zones' cache, one thread: what a cache miss costs.
    evaluate req;
    req.zone = domain[0];
    req.free = resource_report{req.zone.cpu_cores, req.zone.memory_mb, 0, 0, 0, true};
    req.service = base;
    req.service.user_locations = {geo_location{"eu-west", 48.85, 2.35}};
    auto sb = evaluator::load_lua_evaluator(lua);
    const size_t calls = 20'000;
    auto timed = [&](auto&& one) {
      auto t0 = std::chrono::steady_clock::now();
      for (size_t i = 0; i < calls; ++i) one();
      return static_cast<double>(calls) /
             std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    size_t lua_failures = 0;
    auto generic_rate = timed([&] { (void)evaluator::score_zone(req); });
    auto lua_rate = timed([&] { lua_failures += !evaluator::lua_score(**sb, req); });
    print_figure("placement", "generic_evaluations_per_s", generic_rate, "1/s", in_process_conf);
    print_figure("placement", "lua_evaluations_per_s", lua_rate, "1/s", lua_conf);
    print_figure("placement", "lua_evaluation_failures", static_cast<double>(lua_failures),
                 "evaluations", lua_conf);
    print_figure("placement", "lua_to_generic_rate",
                 (static_cast<double>(scripted_run.s.done) / scripted_run.wall_s) /
                     (static_cast<double>(local.s.done) / local.wall_s),
                 "x", lua_conf);
  }
  print_figure("placement", "caf_request_response_per_s", caf_rate, "1/s", in_process_conf);
  print_outcome(local, in_process_conf);
  print_figure("placement", "bytes_per_zone",
               static_cast<double>(rss_after - rss_before) / static_cast<double>(zones), "B",
               in_process_conf);
  if (zone_nodes_n == 0) return local.s.failed == 0 && scripted_run.s.failed == 0 ? 0 : 1;

  // Across processes: the same zones in --zone-nodes fusion-node processes.
  zone_nodes_settings zs;
  zs.fusion_node = fusion_node;
  zs.nodes = zone_nodes_n;
  zs.zones = domain;
  zs.roles = topts;
  zs.threads = threads;
  zs.policy = policy;
  std::string error;
  auto nodes = zone_nodes::start(zs, error);
  if (!nodes) {
    std::cerr << "fusion-bench placement --zone-nodes " << zone_nodes_n << ": " << error << "\n";
    return 1;
  }
  auto remote = measure(
      nodes->system(), nodes->placement(), total, window, services, base,
      [&nodes] { return cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) + nodes->children_cpu_seconds(); });
  if (error = nodes->check_children("during the measurement"); !error.empty()) {
    std::cerr << "fusion-bench placement --zone-nodes " << zone_nodes_n << ": " << error << "\n";
    return 1;
  }
  auto remote_conf = conf;
  remote_conf.emplace_back("zone_nodes", static_cast<int64_t>(zone_nodes_n));
  print_rates(remote, remote_conf);
  print_outcome(remote, remote_conf);
  nodes.reset();
  return local.s.failed == 0 && remote.s.failed == 0 ? 0 : 1;
}

}  // namespace fusion::bench
