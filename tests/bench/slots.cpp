// fusion-bench slots: how stale the service routers' slot numbers are while sessions churn,
// and how many slot update messages a zone sends per aggregation interval (docs/slots.md;
// docs/benchmarks.md, "Slots"). One process: a domain, --routers service routers and --zones
// zones of --instances instances with --slots session slots each; zone z publishes its slots
// to router z mod --routers (and to the zone registry). A driver opens sessions at the zones'
// gateways and releases them, so that every zone's free slots rise and fall all the time, and
// samples the routers' rows against the free slots it knows each zone has.

#include "actors/topology/topology.hpp"
#include "protocols/names.hpp"
#include "protocols/registry.hpp"
#include "tests/bench/bench.hpp"
#include "tests/bench/bench_zones.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace fusion::bench {

using namespace protocols;

namespace {

const service_uri bench_service = "fusion://bench/slots";

using bench_clock = std::chrono::steady_clock;

using step_atom = caf::atom_constant<caf::atom("sl_step")>;
using sample_atom = caf::atom_constant<caf::atom("sl_sample")>;
using begin_atom = caf::atom_constant<caf::atom("sl_begin")>;
using end_atom = caf::atom_constant<caf::atom("sl_end")>;

/// The true free slots of one zone over time, as the driver changes them one session at a
/// time. The history is cut into *runs*: maximal stretches in which the value only falls
/// (sessions opened) or only rises (released). Within a run every value is true at one
/// stretch of time only, so a router's number names the moment it was true.
class truth_history {
 public:
  truth_history(int64_t start, double t_ms) : changes_{{t_ms, start}}, run_begin_{0}, dir_{0} {}

  int64_t now() const { return changes_.back().value; }
  size_t runs() const { return run_begin_.size(); }
  /// +1 if the value rises in run `run`, -1 if it falls, 0 before the first change.
  int direction(size_t run) const { return dir_[run]; }

  /// The value became `value` at `t_ms`.
  void record(double t_ms, int64_t value) {
    int d = value > now() ? 1 : -1;
    if (dir_.back() == 0) {
      dir_.back() = d;
    } else if (d != dir_.back()) {
      run_begin_.push_back(changes_.size());
      dir_.push_back(d);
    }
    changes_.push_back({t_ms, value});
  }

  /// The last change of run `run` (or the value the run started from) whose value is within
  /// `band` of `r` (|value - r| < band); nullopt if the run has none.
  std::optional<size_t> match(size_t run, int64_t r, int64_t band) const {
    size_t lo = run == 0 ? 0 : run_begin_[run] - 1;
    size_t hi = run + 1 < runs() ? run_begin_[run + 1] - 1 : changes_.size() - 1;
    for (size_t i = hi + 1; i-- > lo;)
      if (std::llabs(changes_[i].value - r) < band) return i;
    return std::nullopt;
  }

  /// When the value of change `i` stopped being true (the next change); nullopt if it still is.
  std::optional<double> left_at(size_t i) const {
    if (i + 1 >= changes_.size()) return std::nullopt;
    return changes_[i + 1].t_ms;
  }

 private:
  struct change {
    double t_ms;
    int64_t value;
  };
  std::vector<change> changes_;
  std::vector<size_t> run_begin_;  // index of each run's first change
  std::vector<int> dir_;           // of each run
};

/// What the bench knows of one router row (one zone's row at its router) across samples.
struct row_track {
  size_t run = 0;               // the run of the truth the row's number comes from
  std::optional<int64_t> last;  // the number at the previous sample
  double last_sample_ms = 0;    // when the previous sample was taken
  double shown_since_ms = 0;    // the last sample that showed another number: the row has
                                // shown `last` since some time after it
  double last_true_ms = 0;      // when the row's number was last within band of the truth
};

/// One sample of a row: its staleness (ms) and whether its number was ever true.
struct row_sample {
  double age_ms = 0;
  bool matched = false;
};

/// Staleness of a row showing `r` at `t_ms`: 0 if the zone's true free slots are within
/// `band` of `r` now (the row is fresh), else the time since they last were while the row
/// could have shown `r`. The number comes from one run of the truth (the first, from the
/// row's run on, that holds it; a row whose number turns against its run's direction has
/// moved on to the next run): when the truth left the band there is how old the number is.
/// A later run that passed through the band again (the load turned back) counts only if it
/// left the band after the row began to show `r`, so that the row was right then. A number
/// true in no run since the row's is unmatched, and counts as stale since the row was last
/// right.
row_sample follow(row_track& row, const truth_history& h, double t_ms, int64_t r, int64_t band) {
  if (row.last && r != *row.last) {
    int d = r > *row.last ? 1 : -1;
    if (h.direction(row.run) != 0 && d != h.direction(row.run) && row.run + 1 < h.runs()) ++row.run;
    row.shown_since_ms = row.last_sample_ms;
  }
  row.last = r;
  row.last_sample_ms = t_ms;
  if (std::llabs(h.now() - r) < band) {
    row.last_true_ms = t_ms;
    return {0.0, true};
  }
  std::optional<double> last_right;
  bool own = true;  // the first run that holds the number is where it comes from
  for (size_t k = row.run; k < h.runs(); ++k) {
    auto i = h.match(k, r, band);
    if (!i) continue;
    auto left = h.left_at(*i);  // set: the truth is not within band now
    if (!left) continue;
    if (own) {
      row.run = k;
      last_right = *left;
      own = false;
    } else if (*left > row.shown_since_ms) {
      last_right = std::max(*last_right, *left);
    }
  }
  if (!last_right) return {t_ms - row.last_true_ms, false};
  row.last_true_ms = *last_right;
  return {std::max(0.0, t_ms - *last_right), true};
}

/// Value at quantile `q` (nearest rank) of `v`, which it sorts; 0 if empty.
double quantile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

/// The driver's settings.
struct driver_params {
  std::vector<zone_manager_actor> gateways;         // by zone index
  std::vector<service_router_actor> routers;        // by router index
  std::vector<std::vector<size_t>> router_zones;    // zone indexes each router routes
  std::unordered_map<std::string, size_t> zone_of;  // zone id → zone index
  runtime::directory_ptr dir;
  int64_t slots_per_zone = 0;  // instances × slots
  int64_t amplitude = 0;       // sessions a zone's load swings by
  double ramp_ms = 0;          // one swing, up or down
  double step_ms = 0;          // the driver's timer
  double sample_ms = 0;        // the routers are sampled this often
  int64_t band = 1;            // [slots] band_slots
};

/// What the driver measured between begin and end.
struct driver_results {
  std::vector<double> staleness_ms;
  std::vector<double> sample_rtt_ms;
  uint64_t unmatched = 0;  // samples whose number was true in no run since the row's
  uint64_t missing = 0;    // samples of a router without the zone's row
  uint64_t opened = 0, released = 0, refused = 0;
  double seconds = 0;
};

struct zone_track {
  zone_track(int64_t slots, double t_ms) : truth(slots, t_ms) {}
  truth_history truth;
  row_track row;
  int64_t held = 0;    // sessions opened (requests sent) minus released
  size_t pending = 0;  // opens not answered yet
  std::deque<std::pair<fusion_id, service_lifecycle_actor>> granted;  // oldest first
  double phase_ms = 0;  // where in its swing the zone starts
};

struct driver_state {
  driver_state() = default;
  driver_params p;
  std::shared_ptr<driver_results> out;
  bench_clock::time_point t0;
  std::vector<zone_track> zones;
  std::unordered_map<std::string, service_lifecycle_actor> instances;  // by locator actor
  bool measuring = false;
  double begin_ms = 0;
  static inline const char* name = "slots-driver";

  double now_ms() const {
    return std::chrono::duration<double, std::milli>(bench_clock::now() - t0).count();
  }
};

using driver_ptr = caf::stateful_actor<driver_state>*;

/// Sessions zone `z` should hold at `t_ms`: a triangle wave from 0 to the amplitude and back,
/// one ramp each way, shifted per zone so that half the zones fill while the others drain.
int64_t target(const driver_state& st, size_t z, double t_ms) {
  const double period = 2 * st.p.ramp_ms;
  double x = std::fmod(t_ms + st.zones[z].phase_ms, period);
  double up = x < st.p.ramp_ms ? x / st.p.ramp_ms : (period - x) / st.p.ramp_ms;
  return static_cast<int64_t>(std::floor(static_cast<double>(st.p.amplitude) * up));
}

// The truth changes when the request leaves the driver: a little before the instance counts
// it, so the staleness measured is, if anything, too high.
void open_one(driver_ptr self, size_t z) {
  auto& st = self->state;
  auto& zt = st.zones[z];
  ++zt.held;
  ++zt.pending;
  zt.truth.record(st.now_ms(), st.p.slots_per_zone - zt.held);
  if (st.measuring) ++st.out->opened;
  open_session req;
  req.service = bench_service;
  req.client = "bench";
  self->request(st.p.gateways[z], caf::infinite, std::move(req))
      .then(
          [self, z](session_granted& g) {
            auto& s = self->state;
            auto i = s.instances.find(g.instance.actor);
            if (i == s.instances.end())
              i = s.instances
                      .emplace(g.instance.actor,
                               s.p.dir->get_as<service_lifecycle_actor>(g.instance.actor))
                      .first;
            --s.zones[z].pending;
            s.zones[z].granted.emplace_back(g.session_id, i->second);
          },
          [self, z](caf::error&) {
            auto& s = self->state;
            auto& zt = s.zones[z];
            --zt.pending;
            --zt.held;
            zt.truth.record(s.now_ms(), s.p.slots_per_zone - zt.held);
            ++s.out->refused;
          });
}

void release_one(driver_ptr self, size_t z) {
  auto& st = self->state;
  auto& zt = st.zones[z];
  auto [id, inst] = std::move(zt.granted.front());
  zt.granted.pop_front();
  --zt.held;
  zt.truth.record(st.now_ms(), st.p.slots_per_zone - zt.held);
  if (st.measuring) ++st.out->released;
  caf::anon_send(inst, release_session{id});  // its reply is dropped
}

// Moves every zone towards its target. A zone releases only once its opens are answered,
// so that its instances see the turn in the order the driver made it.
void step(driver_ptr self) {
  auto& st = self->state;
  auto t = st.now_ms();
  for (size_t z = 0; z < st.zones.size(); ++z) {
    auto& zt = st.zones[z];
    auto want = target(st, z, t);
    for (auto n = want - zt.held; n > 0; --n) open_one(self, z);
    if (zt.pending == 0)
      for (auto n = zt.held - want; n > 0 && !zt.granted.empty(); --n) release_one(self, z);
  }
}

void take_sample(driver_ptr self, size_t router, double sent_ms, const slot_list& l) {
  auto& st = self->state;
  auto t = st.now_ms();
  const auto& mine = st.p.router_zones[router];
  std::vector<bool> seen(mine.size(), false);
  auto record = [&](const row_sample& s) {
    if (!st.measuring) return;
    st.out->staleness_ms.push_back(s.age_ms);
    if (!s.matched) ++st.out->unmatched;
  };
  for (const auto& row : l.rows) {
    auto z = st.p.zone_of.find(row.origin.value);
    if (z == st.p.zone_of.end()) continue;
    auto at = std::find(mine.begin(), mine.end(), z->second);
    if (at == mine.end()) continue;  // not a zone of this router's entry
    seen[static_cast<size_t>(at - mine.begin())] = true;
    auto& zt = st.zones[z->second];
    record(follow(zt.row, zt.truth, t, row.available, st.p.band));
  }
  // A zone's row missing at its router is as stale as the row was when it was last right.
  for (size_t i = 0; i < mine.size(); ++i) {
    if (seen[i]) continue;
    if (st.measuring) ++st.out->missing;
    record({t - st.zones[mine[i]].row.last_true_ms, false});
  }
  if (st.measuring) st.out->sample_rtt_ms.push_back(t - sent_ms);
}

void sample(driver_ptr self) {
  auto& st = self->state;
  for (size_t r = 0; r < st.p.routers.size(); ++r) {
    if (st.p.router_zones[r].empty()) continue;
    auto sent = st.now_ms();
    self->request(st.p.routers[r], caf::infinite, list_slots{bench_service})
        .then([self, r, sent](slot_list& l) { take_sample(self, r, sent, l); }, [](caf::error&) {});
  }
}

caf::behavior driver(driver_ptr self, driver_params p, std::shared_ptr<driver_results> out) {
  auto& st = self->state;
  st.p = std::move(p);
  st.out = std::move(out);
  st.t0 = bench_clock::now();
  const auto n = st.p.gateways.size();
  for (size_t z = 0; z < n; ++z) {
    st.zones.emplace_back(st.p.slots_per_zone, 0.0);
    st.zones.back().phase_ms = 2 * st.p.ramp_ms * static_cast<double>(z) / static_cast<double>(n);
  }
  auto ms = [](double x) {
    return std::chrono::microseconds(static_cast<int64_t>(std::max(1.0, x * 1000)));
  };
  step(self);
  self->delayed_send(self, ms(st.p.step_ms), step_atom::value);
  self->delayed_send(self, ms(st.p.sample_ms), sample_atom::value);
  return {
      [=](step_atom) {
        step(self);
        self->delayed_send(self, ms(self->state.p.step_ms), step_atom::value);
      },
      [=](sample_atom) {
        sample(self);
        self->delayed_send(self, ms(self->state.p.sample_ms), sample_atom::value);
      },
      [=](begin_atom) {
        self->state.measuring = true;
        self->state.begin_ms = self->state.now_ms();
      },
      [=](end_atom) -> uint64_t {
        auto& s = self->state;
        s.measuring = false;
        s.out->seconds = (s.now_ms() - s.begin_ms) / 1000;
        return s.out->staleness_ms.size();
      },
  };
}

/// One counter read from one zone or router: its value, and when the request left and its
/// answer came back (ms since the bench's start): the reading happened in between.
struct reading {
  uint64_t value = 0;
  double sent_ms = 0;
  double got_ms = 0;
  double mid_ms() const { return (sent_ms + got_ms) / 2; }
};

/// The counters the bench reads from every zone and router before and after the window.
struct counters {
  std::vector<reading> publications;  // per zone: slot_batches_published
  uint64_t instance_reports = 0;      // accepted by the zones
  std::vector<reading> accepted;      // per router: reports accepted
  std::vector<reading> received;      // per router: reports accepted or dropped, withdraws
  uint64_t router_dropped = 0;        // duplicates, stale, invalid, unknown
  uint64_t router_expired = 0;
  uint64_t router_withdrawn = 0;
  double at_ms = 0;  // middle of the whole reading
};

/// A counter of get_zone_information; nullopt if the zone does not give it.
std::optional<uint64_t> value_of(const information& info, const char* key) {
  auto i = info.values.find(key);
  if (i == info.values.end() || i->second.empty() ||
      i->second.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoull(i->second);
}

std::optional<counters> read_counters(caf::scoped_actor& self, const topology::topology& topo,
                                      size_t routers, bench_clock::time_point t0) {
  auto ms = [&] {
    return std::chrono::duration<double, std::milli>(bench_clock::now() - t0).count();
  };
  counters c;
  auto from = ms();
  bool ok = true;
  for (const auto& name : topo.zone_names()) {
    auto sent = ms();
    self->request(topo.zone(name), std::chrono::seconds(10), get_zone_information{})
        .receive(
            [&](information& info) {
              auto published = value_of(info, "slot_batches_published");
              auto reports = value_of(info, "slot_reports_accepted");
              if (!published || !reports) {
                std::cerr << "slots bench: zone " << name << " gives no slot counters\n";
                ok = false;
                return;
              }
              c.publications.push_back({*published, sent, ms()});
              c.instance_reports += *reports;
            },
            [&](caf::error& e) {
              std::cerr << "slots bench: zone " << name << ": " << describe(e) << "\n";
              ok = false;
            });
  }
  for (size_t r = 0; r < routers; ++r) {
    auto sent = ms();
    self->request(topo.router("router-" + std::to_string(r)), std::chrono::seconds(10),
                  list_slots{bench_service})
        .receive(
            [&](slot_list& l) {
              const auto& k = l.counters;
              auto got = ms();
              c.accepted.push_back({k.accepted, sent, got});
              c.received.push_back(
                  {k.accepted + k.duplicates + k.stale + k.invalid + k.unknown + k.withdrawn, sent,
                   got});
              c.router_dropped += k.duplicates + k.stale + k.invalid + k.unknown;
              c.router_expired += k.expired;
              c.router_withdrawn += k.withdrawn;
            },
            [&](caf::error& e) {
              std::cerr << "slots bench: router " << r << ": " << describe(e) << "\n";
              ok = false;
            });
  }
  c.at_ms = (from + ms()) / 2;
  if (!ok) return std::nullopt;
  return c;
}

}  // namespace

void options_slots(po::options_description& desc) {
  desc.add_options()("zones", count_option(100, "zones"), "zones")(
      "instances", count_option(100, "instances"), "instances per zone")(
      "routers", count_option(10, "routers"), "service routers; zone z publishes to z mod N")(
      "slots", count_option(20, "slots"), "session slots per instance")(
      "churn", count_option(100, "churn"), "sessions opened or released per second in each zone")(
      "ramp-intervals", count_option(10, "ramp-intervals"),
      "a zone's load rises for this many intervals, then falls as long")(
      "seconds", count_option(5, "seconds"), "measured seconds, after one rise and fall")(
      "interval-ms", count_option(100, "interval-ms"), "[slots] interval_ms, at least 10")(
      "refresh-ms", count_option(300, "refresh-ms"), "[slots] refresh_ms, at least interval-ms")(
      "validity-ms", count_option(1000, "validity-ms"),
      "[slots] validity_ms, more than refresh-ms")(
      "instance-report-ms", count_option(10, "instance-report-ms"), "[slots] instance_report_ms")(
      "band-slots", count_option(1, "band-slots"), "[slots] band_slots")(
      "threads", count_option(2, "threads"), "CAF scheduler threads");
}

int run_slots(const po::variables_map& vm) {
  const auto zones = vm["zones"].as<size_t>();
  const auto per_zone = vm["instances"].as<size_t>();
  const auto routers = vm["routers"].as<size_t>();
  const auto slots_per = vm["slots"].as<size_t>();
  const auto churn = vm["churn"].as<size_t>();
  const auto ramp_intervals = vm["ramp-intervals"].as<size_t>();
  const auto seconds = vm["seconds"].as<size_t>();
  const auto interval_ms = vm["interval-ms"].as<size_t>();
  const auto refresh_ms = vm["refresh-ms"].as<size_t>();
  const auto validity_ms = vm["validity-ms"].as<size_t>();
  const auto report_ms = vm["instance-report-ms"].as<size_t>();
  const auto band = vm["band-slots"].as<size_t>();
  const auto threads = vm["threads"].as<size_t>();
  const auto policy = runtime::default_config().scheduler.policy;
  const double ramp_ms = static_cast<double>(ramp_intervals * interval_ms);
  const auto amplitude = static_cast<int64_t>(static_cast<double>(churn) * ramp_ms / 1000);
  const auto slots_per_zone = static_cast<int64_t>(per_zone * slots_per);
  auto usage = [](const std::string& what) {
    std::cerr << "fusion-bench slots: " << what << "\n";
    return 2;
  };
  if (interval_ms < 10) return usage("--interval-ms must be at least 10 ([slots] interval_ms)");
  if (refresh_ms < interval_ms) return usage("--refresh-ms must be at least --interval-ms");
  if (validity_ms <= refresh_ms) return usage("--validity-ms must be more than --refresh-ms");
  if (routers > zones) return usage("--routers must be at most --zones");
  if (amplitude < 1 || amplitude > slots_per_zone)
    return usage("a zone's load swings by --churn x --ramp-intervals x --interval-ms / 1000 = " +
                 std::to_string(amplitude) + " sessions; it must be 1 to the zone's " +
                 std::to_string(slots_per_zone) + " slots (--instances x --slots)");
  const std::vector<std::pair<std::string, config_value>> conf{
      {"zones", static_cast<int64_t>(zones)},
      {"instances_per_zone", static_cast<int64_t>(per_zone)},
      {"routers", static_cast<int64_t>(routers)},
      {"slots_per_instance", static_cast<int64_t>(slots_per)},
      {"churn_per_zone_s", static_cast<int64_t>(churn)},
      {"ramp_intervals", static_cast<int64_t>(ramp_intervals)},
      {"seconds", static_cast<int64_t>(seconds)},
      {"interval_ms", static_cast<int64_t>(interval_ms)},
      {"refresh_ms", static_cast<int64_t>(refresh_ms)},
      {"validity_ms", static_cast<int64_t>(validity_ms)},
      {"instance_report_ms", static_cast<int64_t>(report_ms)},
      {"band_slots", static_cast<int64_t>(band)},
      {"scheduler_threads", static_cast<int64_t>(threads)},
      {"scheduler", policy}};
  auto results = std::make_shared<driver_results>();
  std::optional<counters> before, after;
  {
    caf::actor_system_config cfg;
    cfg.set("scheduler.max-threads", threads);
    cfg.set("scheduler.policy", caf::atom_from_string(policy));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    message_registry::instance().add_message_types(cfg);
    caf::actor_system sys{cfg};
    topology::options opts;
    opts.slots.interval_ms = static_cast<duration_ms>(interval_ms);
    opts.slots.refresh_ms = static_cast<duration_ms>(refresh_ms);
    opts.slots.validity_ms = static_cast<duration_ms>(validity_ms);
    opts.slots.instance_report_ms = static_cast<duration_ms>(report_ms);
    opts.slots.band_slots = static_cast<uint32_t>(band);
    topology::topology topo{sys, opts};
    topo.with_domain();
    for (size_t r = 0; r < routers; ++r) {
      router::router_config rc;
      rc.name = "router-" + std::to_string(r);
      topo.with_router(rc);
    }
    for (size_t z = 0; z < zones; ++z)
      topo.with_zone(topology::zone_builder{"zone-" + std::to_string(z)}
                         .cores(static_cast<uint32_t>(per_zone))
                         .max_instances(static_cast<uint32_t>(per_zone)),
                     {locator{"", names::router("router-" + std::to_string(z % routers))}});
    if (auto err = topo.await_registrations(10'000)) {
      std::cerr << "slots bench: " << describe(err) << "\n";
      return 1;
    }
    caf::scoped_actor self{sys};
    driver_params p;
    p.router_zones.resize(routers);
    std::vector<create_forwarding_entry> entries(routers);
    for (size_t r = 0; r < routers; ++r) {
      entries[r].entry_id = fusion_id{"zones"};
      entries[r].information.service_ids = {fusion_id{bench_service}};
    }
    for (size_t z = 0; z < zones; ++z) {
      auto name = "zone-" + std::to_string(z);
      auto zm = topo.zone(name);
      auto zone_id = registered_zone_id(self, zm, name);
      if (zone_id.empty()) return 1;
      next_hop h;
      h.hop = locator{"", names::zone_manager(name)};
      h.metric_ms = 1.0;
      h.origin = zone_id;
      entries[z % routers].information.next_hops.push_back(h);
      p.router_zones[z % routers].push_back(z);
      p.zone_of.emplace(zone_id.value, z);
      p.gateways.push_back(zm);
      if (!deploy_bench_service(self, zm, bench_service, per_zone, slots_per)) return 1;
    }
    for (size_t r = 0; r < routers; ++r) {
      auto router = topo.router("router-" + std::to_string(r));
      p.routers.push_back(router);
      bool installed = false;
      self->request(router, std::chrono::seconds(5), entries[r])
          .receive([&](status_reply&) { installed = true; },
                   [&](caf::error& e) { std::cerr << describe(e) << "\n"; });
      if (!installed) return 1;
    }
    // Wait until every router holds each of its zones' rows with every slot free: every
    // instance has reported, and the zones' sums have arrived.
    size_t ready = 0;
    for (int attempt = 0; attempt < 3000 && ready < zones; ++attempt) {
      ready = 0;
      for (auto& router : p.routers)
        self->request(router, std::chrono::seconds(5), list_slots{bench_service})
            .receive(
                [&](slot_list& l) {
                  for (const auto& row : l.rows)
                    if (row.max == slots_per_zone && row.available == slots_per_zone) ++ready;
                },
                [](caf::error&) {});
      if (ready < zones) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (ready < zones) {
      std::cerr << "slots bench: the routers hold " << ready << " of " << zones
                << " zones with all their slots\n";
      return 1;
    }
    p.dir = topo.directory();
    p.slots_per_zone = slots_per_zone;
    p.amplitude = amplitude;
    p.ramp_ms = ramp_ms;
    p.step_ms = std::max(1.0, static_cast<double>(interval_ms) / 20);
    p.sample_ms = std::max(1.0, static_cast<double>(interval_ms) / 4);
    p.band = static_cast<int64_t>(band);
    auto t0 = bench_clock::now();
    auto d = sys.spawn(driver, std::move(p), results);
    // Warm-up: one rise and fall of every zone, then the measured window.
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(2 * ramp_ms));
    before = read_counters(self, topo, routers, t0);
    self->send(d, begin_atom::value);
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    self->request(d, caf::infinite, end_atom::value).receive([](uint64_t) {}, [](caf::error&) {});
    after = read_counters(self, topo, routers, t0);
    caf::anon_send_exit(d, caf::exit_reason::user_shutdown);
    topo.shutdown();
  }
  if (!before || !after) return 1;
  const double interval = static_cast<double>(interval_ms);
  const double window_ms = after->at_ms - before->at_ms;
  // Per zone: its publications over the time between its two readings, in intervals. The
  // mean is the figure; the busiest zone is judged with the fencepost taken off: n batches
  // at least one interval apart span (n - 1) intervals, which must fit between the request
  // of the first reading and the answer to the second, so a zone that keeps the rule cannot
  // show more than 1.
  uint64_t publications = 0;
  double zone_intervals = 0;
  double busiest = 0;
  for (size_t z = 0; z < zones; ++z) {
    const auto& b = before->publications[z];
    const auto& a = after->publications[z];
    auto n = a.value - b.value;
    publications += n;
    zone_intervals += (a.mid_ms() - b.mid_ms()) / interval;
    if (n > 0)
      busiest = std::max(busiest, static_cast<double>(n - 1) * interval / (a.got_ms - b.sent_ms));
  }
  uint64_t accepted = 0;
  uint64_t received = 0;
  double routed_zone_intervals = 0;
  for (size_t i = 0; i < routers; ++i) {
    const auto& b = before->accepted[i];
    const auto& a = after->accepted[i];
    accepted += a.value - b.value;
    received += after->received[i].value - before->received[i].value;
    routed_zone_intervals += static_cast<double>((zones + routers - 1 - i) / routers) *
                             (a.mid_ms() - b.mid_ms()) / interval;
  }
  auto& r = *results;
  std::vector<double> staleness = r.staleness_ms;
  const double p50 = quantile(staleness, 0.50) / interval;
  const double p99 = quantile(staleness, 0.99) / interval;
  const double worst =
      staleness.empty() ? 0 : *std::max_element(staleness.begin(), staleness.end()) / interval;
  print_figure("slots", "staleness_p50_intervals", p50, "intervals", conf);
  print_figure("slots", "staleness_p99_intervals", p99, "intervals", conf);
  print_figure("slots", "staleness_max_intervals", worst, "intervals", conf);
  print_figure("slots", "staleness_samples", static_cast<double>(r.staleness_ms.size()), "samples",
               conf);
  print_figure("slots", "samples_unmatched", static_cast<double>(r.unmatched), "samples", conf);
  print_figure("slots", "samples_row_missing", static_cast<double>(r.missing), "samples", conf);
  print_figure("slots", "sample_rtt_p99_ms", quantile(r.sample_rtt_ms, 0.99), "ms", conf);
  // Each publication is one message to each sink (a slot_report_batch), plus one per
  // slot_withdraw it carries (those the routers counted are added).
  print_figure(
      "slots", "update_msgs_per_zone_interval",
      static_cast<double>(publications + (after->router_withdrawn - before->router_withdrawn)) /
          zone_intervals,
      "msgs", conf);
  print_figure("slots", "update_msgs_per_zone_interval_max", busiest, "msgs", conf);
  // The same from the routers' side: every report and withdraw that reached them (one report
  // per batch here, the zones having one service), whatever the zones counted.
  print_figure("slots", "update_msgs_per_zone_interval_at_routers",
               static_cast<double>(received) / routed_zone_intervals, "msgs", conf);
  print_figure("slots", "reports_accepted_per_zone_interval",
               static_cast<double>(accepted) / routed_zone_intervals, "reports", conf);
  print_figure("slots", "reports_dropped_at_routers",
               static_cast<double>(after->router_dropped - before->router_dropped), "reports",
               conf);
  print_figure("slots", "rows_expired_at_routers",
               static_cast<double>(after->router_expired - before->router_expired), "rows", conf);
  print_figure("slots", "slot_withdraws_at_routers",
               static_cast<double>(after->router_withdrawn - before->router_withdrawn), "msgs",
               conf);
  print_figure(
      "slots", "instance_reports_per_s",
      static_cast<double>(after->instance_reports - before->instance_reports) * 1000 / window_ms,
      "1/s", conf);
  print_figure("slots", "sessions_opened_per_s", static_cast<double>(r.opened) / r.seconds, "1/s",
               conf);
  print_figure("slots", "sessions_released_per_s", static_cast<double>(r.released) / r.seconds,
               "1/s", conf);
  print_figure("slots", "sessions_refused", static_cast<double>(r.refused), "sessions", conf);
  print_caf_request_response("slots", 200'000, 64, threads);
  return 0;
}

}  // namespace fusion::bench
