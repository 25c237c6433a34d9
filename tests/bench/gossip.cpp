// fusion-bench gossip: the membership protocol (actors/gossip/membership.hpp) at scale:
// --members state machines in one process over the deterministic simulated network of the
// tests (tests/unit/gossip/sim_network.hpp), default [gossip] params, simulated time.
//
// The members start converged and quiet: each is given a digest of every member and then
// spends the join news that queued (sim_network::preseed), as a cluster is once its joins have
// been gossiped; simulating the joins themselves would take far longer. Then, in order:
//   dissemination_rounds  protocol intervals from one member originating a new (signed)
//                         domain advertisement until every member has accepted it
//   bytes_per_member_s    bytes sent per member and simulated second over one whole
//                         push-pull period without faults (exact msgpack sizes)
//   detection_s           one member crashes: seconds until every other has declared it dead
//   false_positives       --loss-seconds at 1% message loss: live members declared dead
// and the wall-clock seconds of the run. Every member holds a view of every other, so memory
// grows as members^2; a run that would not fit in the memory available is refused.

#include "actors/gossip/advertisement.hpp"
#include "actors/gossip/membership.hpp"
#include "tests/bench/bench.hpp"
#include "tests/unit/gossip/sim_network.hpp"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace fusion::bench {

using gossip::time_ms;
using gossip::test::sim_network;
using protocols::member_status;

namespace {

// Resident bytes per (member, member it knows) once preseeded, measured at 1,000 and 2,000
// members; the refusal below uses it.
constexpr double bytes_per_view_entry = 400;

/// MemAvailable from /proc/meminfo, in bytes; 0 if unknown.
double available_memory() {
  std::ifstream in{"/proc/meminfo"};
  std::string key, unit;
  double kb = 0;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return 0;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

void options_gossip(po::options_description& desc) {
  desc.add_options()("members", count_option(1000, "members"), "members, each a state machine")(
      "loss-seconds", count_option(60, "loss-seconds"),
      "simulated seconds at 1% message loss for the false positives")(
      "seed", count_option(1, "seed"), "seed of the simulated network");
}

int run_gossip(const po::variables_map& vm) {
  const auto n = vm["members"].as<size_t>();
  const auto loss_s = vm["loss-seconds"].as<size_t>();
  const auto seed = vm["seed"].as<size_t>();
  if (n < 3) {
    std::cerr << "fusion-bench gossip: --members must be at least 3\n";
    return 2;
  }
  const double need = bytes_per_view_entry * static_cast<double>(n) * static_cast<double>(n);
  if (const double have = available_memory(); have > 0 && need > 0.8 * have) {
    std::cerr << "fusion-bench gossip: " << n << " members hold " << n << "^2 view entries, about "
              << need / 1e9 << " GB; only " << have / 1e9
              << " GB of memory is available. Use fewer --members.\n";
    return 1;
  }
  const auto wall0 = std::chrono::steady_clock::now();
  const gossip::params p{};
  gossip::test::net_params np;
  np.seed = seed;
  np.keep_log = false;  // members^2 joins: the hooks below count what is measured
  // The push-pull period the members settle on (membership.cpp's scale).
  const auto nd = static_cast<double>(n);
  const auto push_pull_ms =
      static_cast<time_ms>(static_cast<double>(p.push_pull_ms) *
                           (n <= 32 ? 1.0 : std::ceil(std::log2(nd) - std::log2(32.0)) + 1));
  const std::vector<std::pair<std::string, config_value>> conf{
      {"members", static_cast<int64_t>(n)},
      {"interval_ms", static_cast<int64_t>(p.interval_ms)},
      {"probe_timeout_ms", static_cast<int64_t>(p.probe_timeout_ms)},
      {"delay_ms", std::to_string(np.delay_ms) + "+0.." + std::to_string(np.jitter_ms)},
      {"start", std::string{"preseeded views, join news spent"}},
      {"seed", static_cast<int64_t>(seed)}};
  auto with = [&](std::vector<std::pair<std::string, config_value>> more) {
    auto c = conf;
    c.insert(c.end(), more.begin(), more.end());
    return c;
  };

  auto key = link::identity::generate();
  if (!key) {
    std::cerr << "fusion-bench gossip: no signing key: " << caf::to_string(key.error()) << "\n";
    return 1;
  }
  gossip::domain_trust trust;
  trust.allow("bench", key->public_key_text());
  auto verifier = [&trust](const protocols::domain_advertisement& ad) {
    return gossip::verify(ad, trust);
  };

  sim_network net{p, np};
  for (size_t i = 0; i < n; ++i) net.add("m" + std::to_string(i), 0, verifier);
  net.preseed();
  const double preseed_wall_s = seconds_since(wall0);
  // Every member's first push-pull falls within one base period: start after it.
  net.run_for(p.push_pull_ms + p.interval_ms);

  // Dissemination of a new advertisement from member 0.
  size_t reached = 0;
  net.on_domain = [&](const sim_network::domain_record&) { ++reached; };
  protocols::domain_advertisement ad;
  ad.domain = "bench";
  ad.zone_registry = {"m0:7000", "zone_registry"};
  ad.registrar = {"m0:7000", "registrar"};
  ad.node_id = "m0";
  ad.version = 1;
  gossip::sign(ad, *key);
  const auto t_ad = net.now();
  net.call(0, [&](gossip::membership& m, time_ms now) { m.advertise(now, ad); });
  while (reached < n && net.now() < t_ad + 120'000) net.run_for(10);
  const double rounds =
      reached < n ? -1 : static_cast<double>(net.now() - t_ad) / static_cast<double>(p.interval_ms);
  print_figure("gossip", "dissemination_rounds", rounds, "intervals",
               with({{"goal_max", 1.5 * std::log2(nd)},
                     {"members_reached", static_cast<int64_t>(reached)}}));
  net.on_domain = nullptr;
  net.run_for(5'000);  // the advertisement's retransmissions end

  // Steady state: one whole push-pull period, so that each member exchanges its view once.
  auto bytes = [&] {
    uint64_t b = 0;
    for (sim_network::index i = 0; i < n; ++i) b += net.sent(i).bytes;
    return b;
  };
  const auto bytes0 = bytes();
  const auto tot0 = net.total();
  const auto t_steady = net.now();
  net.run_for(push_pull_ms);
  const auto tot1 = net.total();
  const double secs = static_cast<double>(net.now() - t_steady) / 1000.0;
  const auto per_member_s = [&](double x) { return x / nd / secs; };
  const auto probes = tot1.pings + tot1.acks - tot0.pings - tot0.acks;
  print_figure(
      "gossip", "bytes_per_member_s", per_member_s(static_cast<double>(bytes() - bytes0)), "B/s",
      with(
          {{"seconds", secs},
           {"msgs_per_member_s",
            per_member_s(static_cast<double>(probes + tot1.ping_reqs - tot0.ping_reqs +
                                             tot1.digests - tot0.digests))},
           {"digests_per_member_s", per_member_s(static_cast<double>(tot1.digests - tot0.digests))},
           {"updates_per_ping_or_ack", probes == 0
                                           ? 0.0
                                           : static_cast<double>(tot1.updates - tot0.updates) /
                                                 static_cast<double>(probes)}}));

  // Detection: the member in the middle crashes.
  const auto victim = static_cast<sim_network::index>(n / 2);
  std::vector<bool> saw(n, false);
  size_t seen = 0;
  uint64_t false_deaths = 0;
  net.on_change = [&](const sim_network::change_record& r) {
    if (r.self || r.status != member_status::dead) return;
    if (r.subject == victim) {
      if (!saw[r.observer]) {
        saw[r.observer] = true;
        ++seen;
      }
    } else if (r.subject != sim_network::nobody && net.up(r.subject)) {
      ++false_deaths;
    }
  };
  const auto t_crash = net.now();
  net.crash(victim);
  while (seen < n - 1 && net.now() < t_crash + 120'000) net.run_for(10);
  const double detection = seen < n - 1 ? -1 : static_cast<double>(net.now() - t_crash) / 1000.0;
  print_figure("gossip", "detection_s", detection, "s",
               with({{"goal_max", 3.0}, {"members_reached", static_cast<int64_t>(seen)}}));

  // False positives: live members declared dead by anyone, from the crash on, at 1% loss.
  uint64_t suspicions0 = 0;
  for (auto i : net.running()) suspicions0 += net.at(i).stats().suspicions;
  net.set_loss(0.01);
  net.run_for(loss_s * 1000);
  net.set_loss(0);
  uint64_t suspicions = 0;
  for (auto i : net.running()) suspicions += net.at(i).stats().suspicions;
  print_figure("gossip", "false_positives", static_cast<double>(false_deaths), "reports",
               with({{"loss", 0.01},
                     {"seconds", static_cast<int64_t>(loss_s)},
                     {"goal_max", int64_t{0}},
                     {"suspicions", static_cast<int64_t>(suspicions - suspicions0)}}));

  print_figure("gossip", "wall_s", seconds_since(wall0), "s",
               with({{"preseed_wall_s", preseed_wall_s},
                     {"simulated_s", static_cast<double>(net.now()) / 1000.0}}));
  return 0;
}

}  // namespace fusion::bench
