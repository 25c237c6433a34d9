// Topology tests of slot aggregation by message passing (spec §4.3.2.3, DESIGN §4 flow 4,
// docs/slots.md): instances report their free slots to their zone, the zone publishes the
// sums per service, damped, to the zone registry and its slot sinks. A domain with zones in
// one process on CAF's deterministic test coordinator, in simulated time.

#include "actors/topology/topology.hpp"
#include "actors/zone/zone_manager.hpp"
#include "protocols/names.hpp"
#include "tests/topology/slots_support.hpp"

#include <caf/event_based_actor.hpp>

#include <set>

using namespace fusion;
using namespace fusion::protocols;
using namespace std::chrono_literals;
using fusion::topology::zone_builder;

namespace {

const service_uri game = "fusion://acme/game";
const service_uri chat = "fusion://acme/chat";

using test::fast_slots;
using test::small_service;

/// What a fake service router hears from zones.
struct sink_log {
  std::vector<slot_report_batch> batches;
  std::vector<slot_withdraw> withdraws;
  size_t reports() const {
    size_t n = 0;
    for (const auto& b : batches) n += b.reports.size();
    return n;
  }
};

caf::behavior recording_sink(caf::event_based_actor*, std::shared_ptr<sink_log> log) {
  return {
      [=](const slot_report_batch& b) { log->batches.push_back(b); },
      [=](const slot_withdraw& w) { log->withdraws.push_back(w); },
      [=](const slot_report& r) { log->batches.push_back(slot_report_batch{{r}}); },
  };
}

struct slots_fixture : test::det_fixture {
  fusion::topology::topology topo;

  explicit slots_fixture(fusion::topology::options opts = fast_slots())
      : topo{sys, std::move(opts)} {
    topo.with_domain();
    run();
  }

  ~slots_fixture() {
    topo.shutdown();
    run();
  }

  std::vector<fusion_id> deploy(const std::string& zone, uint32_t n, const manifest& m) {
    return test::deploy_in(*this, topo, zone, n, m);
  }

  service_lifecycle_actor instance(const fusion_id& id) {
    return topo.directory()->get_as<service_lifecycle_actor>(names::instance(id.value));
  }

  /// Opens a session on instance `id`.
  fusion_id open(const fusion_id& id) {
    auto g = ask<session_granted>(instance(id), acquire_session{"tester"});
    REQUIRE_MESSAGE(g, describe(g.error()));
    return g->session_id;
  }

  slot_list registry_slots(const service_uri& s = "") {
    auto l = ask<slot_list>(topo.zone_registry(), list_slots{s});
    REQUIRE(l);
    return *l;
  }

  slot_list zone_slots(const std::string& zone, const service_uri& s = "") {
    auto l = ask<slot_list>(topo.zone(zone), list_slots{s});
    REQUIRE(l);
    return *l;
  }

  std::string zone_info(const std::string& zone, const std::string& key) {
    auto i = ask<information>(topo.zone(zone), get_zone_information{});
    REQUIRE(i);
    return i->values[key];
  }

  /// The registry's free slots of `s`, summed over zones, and how many zones report it.
  std::pair<uint64_t, size_t> domain_free(const service_uri& s) {
    uint64_t n = 0;
    auto l = registry_slots(s);

    for (const auto& r : l.rows) n += r.available;
    return {n, l.rows.size()};
  }
};

}  // namespace

TEST_CASE_FIXTURE(slots_fixture,
                  "slots: the registry sees each zone's live free slots, summed over its "
                  "instances, per service") {
  topo.with_zone(zone_builder{"edge-a"}.cores(8)).with_zone(zone_builder{"edge-b"}.cores(8));
  run();
  auto a = deploy("edge-a", 2, small_service(game, 4));
  deploy("edge-b", 1, small_service(game, 4));
  deploy("edge-b", 1, small_service(chat, 10));
  pass(200ms);
  auto rows = registry_slots(game).rows;
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].available + rows[1].available == 12);
  CHECK(rows[0].max + rows[1].max == 12);
  std::set<std::string> names{rows[0].name, rows[1].name};
  CHECK(names == std::set<std::string>{"edge-a", "edge-b"});
  CHECK(domain_free(chat) == std::pair<uint64_t, size_t>{10, 1});

  // Three sessions on one instance of edge-a: its zone row says 5 of 8 within an interval.
  for (int i = 0; i < 3; ++i) open(a[0]);
  pass(200ms);
  auto edge_a = zone_slots("edge-a", game).rows;
  REQUIRE(edge_a.size() == 2);  // one row per instance
  CHECK(edge_a[0].available + edge_a[1].available == 5);
  CHECK(domain_free(game) == std::pair<uint64_t, size_t>{9, 2});
}

TEST_CASE_FIXTURE(slots_fixture,
                  "slots: a zone drops, counts and keeps out reports of instances it does not "
                  "run, of another service, or absurd") {
  topo.with_zone(zone_builder{"edge-a"}.cores(8));
  run();
  auto ids = deploy("edge-a", 1, small_service(game, 4));
  pass(200ms);
  auto zm = topo.zone("edge-a");
  auto before = zone_slots("edge-a").rows;
  REQUIRE(before.size() == 1);
  auto epoch = before[0].epoch;
  // A stranger, the right instance for the wrong service, an absurd count.
  caf::anon_send(zm, slot_report{{"inst-stranger"}, game, 100, 100, 100, 0, 1, 1, 0});
  caf::anon_send(zm, slot_report{ids[0], chat, 100, 100, 100, 0, 99, epoch, 0});
  caf::anon_send(zm, slot_report_batch{{slot_report{ids[0], game, 50, 4, 4, 0, 99, epoch, 0}}});
  caf::anon_send(zm, slot_withdraw{{"inst-stranger"}, "", 2, 1});
  run();
  auto after = zone_slots("edge-a");
  REQUIRE(after.rows.size() == 1);
  CHECK(after.rows[0].available == 4);
  CHECK(after.counters.unknown == 2);  // a withdraw of a stranger removes nothing: ignored
  CHECK(after.counters.invalid == 1);
  CHECK(zone_info("edge-a", "slot_reports_unknown") == "2");
  pass(200ms);
  CHECK(domain_free(game) == std::pair<uint64_t, size_t>{4, 1});
}

TEST_CASE_FIXTURE(slots_fixture,
                  "slots: duplicated, reordered and replayed instance reports and an instance "
                  "restart never double-count at the zone") {
  topo.with_zone(zone_builder{"edge-a"}.cores(8));
  run();
  auto id = deploy("edge-a", 1, small_service(game, 10))[0];
  pass(50ms);
  auto row = zone_slots("edge-a").rows.at(0);
  auto zm = topo.zone("edge-a");
  auto report = [&](uint64_t seq, uint32_t avail, uint64_t epoch) {
    return slot_report{id, game, avail, 10, static_cast<double>(avail), 0, seq, epoch, 0};
  };
  auto s = row.sequence + 100;  // past what the instance itself sends meanwhile
  // Newest first, then the older one, then the newest again, then the older again.
  for (auto x : {report(s + 2, 3, row.epoch), report(s + 1, 7, row.epoch),
                 report(s + 2, 3, row.epoch), report(s + 1, 7, row.epoch)})
    caf::anon_send(zm, x);
  run();
  auto l = zone_slots("edge-a");
  REQUIRE(l.rows.size() == 1);
  CHECK(l.rows[0].available == 3);
  CHECK(l.counters.duplicates == 1);
  CHECK(l.counters.stale == 2);
  // The instance restarts (a higher epoch, counting from 1): its new life replaces the old.
  caf::anon_send(zm, report(1, 9, row.epoch + 1));
  caf::anon_send(zm, report(s + 3, 1, row.epoch));  // late word from the old life
  run();
  l = zone_slots("edge-a");
  REQUIRE(l.rows.size() == 1);
  CHECK(l.rows[0].available == 9);
  CHECK(l.counters.restarts == 1);
  CHECK(l.counters.stale == 3);
}

TEST_CASE_FIXTURE(slots_fixture,
                  "slots: a silent instance's slots expire at the zone, and the zone withdraws "
                  "them from the registry") {
  topo.with_zone(zone_builder{"edge-a"}.cores(8));
  run();
  auto ids = deploy("edge-a", 2, small_service(game, 4));
  pass(200ms);
  CHECK(domain_free(game) == std::pair<uint64_t, size_t>{8, 1});
  // One instance dies without a word: the zone still counts it until its row expires.
  caf::anon_send_exit(instance(ids[0]), caf::exit_reason::kill);
  run();
  pass(500ms);
  CHECK(domain_free(game).first == 8);
  pass(800ms);
  CHECK(zone_slots("edge-a").rows.size() == 1);
  CHECK(zone_info("edge-a", "slot_rows_expired") == "1");
  pass(200ms);
  CHECK(domain_free(game) == std::pair<uint64_t, size_t>{4, 1});
  // The other dies too: the service is gone from the zone, withdrawn at the registry at
  // once rather than left to expire there.
  caf::anon_send_exit(instance(ids[1]), caf::exit_reason::kill);
  run();
  pass(1'100ms);
  CHECK(zone_slots("edge-a").rows.empty());
  CHECK(registry_slots(game).rows.empty());
  CHECK(registry_slots().counters.withdrawn == 1);
  CHECK(registry_slots().counters.expired == 0);
}

TEST_CASE_FIXTURE(slots_fixture,
                  "slots: terminating an instance takes its slots out of the zone at once") {
  topo.with_zone(zone_builder{"edge-a"}.cores(8));
  run();
  auto ids = deploy("edge-a", 2, small_service(game, 4));
  pass(200ms);
  auto t = ask<status_reply>(topo.zone("edge-a"), terminate_service_instance{ids[0], 100});
  REQUIRE_MESSAGE(t, describe(t.error()));
  auto rows = zone_slots("edge-a").rows;
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].origin == ids[1]);
  pass(200ms);
  CHECK(domain_free(game) == std::pair<uint64_t, size_t>{4, 1});
  CHECK(registry_slots(game).rows.at(0).max == 4);
}

TEST_CASE_FIXTURE(slots_fixture,
                  "slots: a zone that restarts replaces its slots at the registry instead of "
                  "adding to them") {
  topo.with_zone(zone_builder{"edge-a"}.cores(8));
  run();
  deploy("edge-a", 3, small_service(game, 4));
  pass(200ms);
  CHECK(domain_free(game) == std::pair<uint64_t, size_t>{12, 1});
  // The zone's process dies with its instances; a new zone manager of the same zone starts.
  auto dir = topo.directory();
  for (const auto& n : dir->names())
    if (n.find("edge-a") != std::string::npos || n.rfind("instance", 0) == 0) {
      caf::anon_send_exit(dir->get(n), caf::exit_reason::kill);
      dir->erase(n);
    }
  run();
  topo.with_zone(zone_builder{"edge-a"}.cores(8));
  run();
  deploy("edge-a", 1, small_service(game, 4));
  pass(200ms);
  auto l = registry_slots(game);
  REQUIRE(l.rows.size() == 1);
  CHECK(l.rows[0].available == 4);
  CHECK(l.rows[0].epoch == 2);  // the zone's second start
  CHECK(l.counters.restarts == 1);
}

TEST_CASE_FIXTURE(slots_fixture,
                  "slots: the registry drops, counts and keeps out reports of zones it does "
                  "not know") {
  topo.with_zone(zone_builder{"edge-a"}.cores(8));
  run();
  deploy("edge-a", 1, small_service(game, 4));
  pass(200ms);
  caf::anon_send(topo.zone_registry(),
                 slot_report_batch{{slot_report{{"zone-999"}, game, 100, 100, 100, 0, 1, 1, 0}}});
  caf::anon_send(topo.zone_registry(), slot_withdraw{{"zone-998"}, "", 1, 1});
  run();
  auto l = registry_slots();
  CHECK(l.counters.unknown == 1);  // the withdraw removes nothing: ignored
  CHECK(domain_free(game) == std::pair<uint64_t, size_t>{4, 1});
}

TEST_CASE_FIXTURE(slots_fixture,
                  "slots: publishing is damped: session churn within an interval gives at most "
                  "one batch, and no batch while nothing moves") {
  auto log = std::make_shared<sink_log>();
  auto sink = sys.spawn(recording_sink, log);
  topo.directory()->put("router-1", sink);
  auto zp = zone_builder{"edge-a"}.cores(8).params();
  // A zone publishing to a service router besides the registry.
  auto opts = fast_slots();
  zone::zone_manager_config zc;
  zc.parameters = zp;
  zc.slots = opts.slots;
  zc.launch = fusion::topology::in_process_instances(opts.slots);
  zc.slot_sinks = {locator{"", "router-1"}};
  zone::spawn_zone_manager(sys, zc, topo.directory());
  run();
  auto ids = deploy("edge-a", 2, small_service(game, 100));
  pass(100ms);
  REQUIRE(log->reports() == 1);
  CHECK(log->batches.back().reports[0].available == 200);
  // 2,000 session changes over 10 intervals; the level creeps down by `tick` each time.
  for (int tick = 0; tick < 10; ++tick) {
    std::vector<std::pair<fusion_id, fusion_id>> open_now;  // instance, session
    for (int i = 0; i < 100; ++i) open_now.emplace_back(ids[i % 2], open(ids[i % 2]));
    for (const auto& [inst, session] : open_now)
      REQUIRE(ask<status_reply>(instance(inst), release_session{session}));
    for (int i = 0; i < tick; ++i) open(ids[0]);
    pass(100ms);
  }
  // One batch per interval that ended with a change: ticks 1 to 9, after the first batch.
  CHECK(log->batches.size() == 10);
  CHECK(log->batches.back().reports[0].available == 200 - 45);
  // Nothing moves: only a refresh every 300 ms, not a batch every interval.
  auto before = log->batches.size();
  pass(900ms);
  CHECK(log->batches.size() - before == 3);
  caf::anon_send_exit(sink, caf::exit_reason::kill);
}
