// Tests of the soft-state slot table (actors/slots/slot_table.hpp), without an actor and on
// a simulated clock: a report replaces its origin's previous one, so duplicated, reordered
// and replayed reports and restarts never count twice; silent origins expire; withdraws
// act at once and keep older reports out; absurd reports are refused with a reason; and
// tables stacked three levels deep sum correctly.

#include "actors/slots/slot_table.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <random>

using namespace fusion;
using namespace std::chrono_literals;
using protocols::slot_report;
using protocols::slot_withdraw;
using slots::aggregate;
using slots::outcome;
using slots::slot_table;

namespace {

const std::string game = "fusion://acme/game";
const std::string chat = "fusion://acme/chat";

const slots::time_point t0{};

slot_report report(const std::string& origin, const std::string& service, uint32_t available,
                   uint32_t max, uint64_t sequence, uint64_t epoch = 1) {
  slot_report r;
  r.zone_id = protocols::fusion_id{origin};
  r.service = service;
  r.available = available;
  r.max = max;
  r.moving_average = available;
  r.sequence = sequence;
  r.epoch = epoch;
  return r;
}

slot_withdraw withdraw(const std::string& origin, const std::string& service, uint64_t sequence,
                       uint64_t epoch = 1) {
  return slot_withdraw{protocols::fusion_id{origin}, service, sequence, epoch};
}

}  // namespace

TEST_CASE("slot table: the rows of a service sum, with the largest single origin") {
  slot_table t;
  CHECK(t.apply(report("zone-a", game, 3, 10, 1), t0) == outcome::accepted);
  CHECK(t.apply(report("zone-b", game, 7, 8, 1), t0) == outcome::accepted);
  CHECK(t.apply(report("zone-a", chat, 50, 100, 2), t0) == outcome::accepted);
  auto g = t.of(game);
  CHECK(g.available == 10);
  CHECK(g.max == 18);
  CHECK(g.largest == 7);
  CHECK(g.moving_average == doctest::Approx(10));
  CHECK(g.origins == 2);
  CHECK(t.of(chat).available == 50);
  CHECK(t.of("fusion://acme/none") == aggregate{});
  CHECK(t.services() == std::vector<std::string>{chat, game});
  CHECK(t.size() == 3);
}

TEST_CASE("slot table: a newer report replaces its origin's row instead of adding to it") {
  slot_table t;
  t.apply(report("zone-a", game, 3, 10, 1), t0);
  t.apply(report("zone-a", game, 9, 10, 2), t0);
  CHECK(t.of(game).available == 9);
  CHECK(t.of(game).origins == 1);
  CHECK(t.counters().accepted == 2);
}

TEST_CASE("slot table: duplicated, reordered and replayed reports never count twice") {
  slot_table t;
  std::vector<slot_report> sent;
  for (uint64_t seq = 1; seq <= 20; ++seq)
    for (const auto* zone : {"zone-a", "zone-b", "zone-c"})
      sent.push_back(report(zone, game, static_cast<uint32_t>(seq % 7), 10, seq));
  // The network duplicates every report and delivers them in a random order...
  auto delivered = sent;
  delivered.insert(delivered.end(), sent.begin(), sent.end());
  std::mt19937 rng{7};
  std::shuffle(delivered.begin(), delivered.end(), rng);
  for (const auto& r : delivered) t.apply(r, t0);
  // ... then replays the whole history once more.
  for (const auto& r : sent) CHECK(t.apply(r, t0) != outcome::accepted);
  // Each origin's last report (sequence 20: 20 % 7 = 6 free) counts once.
  CHECK(t.of(game).available == 3 * 6);
  CHECK(t.of(game).origins == 3);
  const auto& c = t.counters();
  CHECK(c.accepted + c.duplicates + c.stale == delivered.size() + sent.size());
  CHECK(c.accepted <= sent.size());  // no report was taken twice
  CHECK(c.duplicates > 0);
}

TEST_CASE("slot table: an origin's restart (higher epoch) voids its older reports") {
  slot_table t;
  t.apply(report("zone-a", game, 4, 10, 30), t0);
  t.apply(report("zone-a", chat, 2, 5, 31), t0);
  // The zone manager restarts: epoch 2, sequence from 1 again, only the game so far.
  CHECK(t.apply(report("zone-a", game, 10, 10, 1, 2), t0) == outcome::accepted);
  CHECK(t.of(game).available == 10);
  CHECK(t.of(chat).origins == 0);  // what the old life said of chat is void
  CHECK(t.counters().restarts == 1);
  // Late reports of the old life are refused, whatever their sequence.
  CHECK(t.apply(report("zone-a", chat, 2, 5, 32, 1), t0) == outcome::stale);
  CHECK(t.apply(report("zone-a", game, 0, 10, 99, 1), t0) == outcome::stale);
  CHECK(t.of(game).available == 10);
}

TEST_CASE("slot table: rows of a silent origin expire, and so do their slots") {
  slot_table t{{.validity = 3000ms, .max_slots = 1000}};
  t.apply(report("zone-a", game, 5, 10, 1), t0);
  t.apply(report("zone-b", game, 6, 10, 1), t0);
  t.apply(report("zone-b", game, 6, 10, 2), t0 + 2s);  // b keeps reporting, a falls silent
  CHECK(t.expire(t0 + 2999ms) == 0);
  CHECK(t.expire(t0 + 3s) == 1);
  CHECK(t.of(game).available == 6);
  CHECK(t.row(protocols::fusion_id{"zone-a"}, game) == nullptr);
  CHECK(t.counters().expired == 1);
  // A duplicate does not refresh a row: a replay cannot keep ghost slots alive.
  CHECK(t.apply(report("zone-b", game, 6, 10, 2), t0 + 4s) == outcome::duplicate);
  CHECK(t.expire(t0 + 5s) == 1);
  CHECK(t.size() == 0);
}

TEST_CASE("slot table: a withdraw removes a row at once and keeps older reports out") {
  slot_table t;
  t.apply(report("zone-a", game, 5, 10, 1), t0);
  t.apply(report("zone-a", chat, 5, 10, 2), t0);
  CHECK(t.withdraw(withdraw("zone-a", game, 4), t0) == outcome::accepted);
  CHECK(t.of(game).origins == 0);
  CHECK(t.of(chat).available == 5);
  CHECK(t.counters().withdrawn == 1);
  // Report 3 was sent before the withdraw but arrives after it: refused.
  CHECK(t.apply(report("zone-a", game, 5, 10, 3), t0) == outcome::stale);
  CHECK(t.withdraw(withdraw("zone-a", game, 4), t0) == outcome::duplicate);
  // A report sent after the withdraw brings the service back.
  CHECK(t.apply(report("zone-a", game, 2, 10, 5), t0) == outcome::accepted);
  CHECK(t.of(game).available == 2);
  // A withdraw older than the stored report changes nothing.
  CHECK(t.withdraw(withdraw("zone-a", game, 3), t0) == outcome::stale);
  CHECK(t.of(game).available == 2);
}

TEST_CASE("slot table: a withdraw of every service removes the origin's older rows only") {
  slot_table t;
  t.apply(report("zone-a", game, 5, 10, 1), t0);
  t.apply(report("zone-a", chat, 5, 10, 2), t0);
  t.apply(report("zone-b", game, 1, 10, 1), t0);
  t.apply(report("zone-a", chat, 4, 10, 9), t0);  // newer than the withdraw below
  CHECK(t.withdraw(withdraw("zone-a", "", 8), t0) == outcome::accepted);
  CHECK(t.of(game).available == 1);  // zone-b's alone
  CHECK(t.of(chat).available == 4);  // report 9 came after the withdraw
  CHECK(t.apply(report("zone-a", game, 5, 10, 7), t0) == outcome::stale);
  CHECK(t.withdraw(withdraw("zone-a", "", 8), t0) == outcome::duplicate);
  CHECK(t.withdraw(withdraw("zone-a", "", 6), t0) == outcome::stale);
}

TEST_CASE("slot table: absurd reports are refused with a reason that names the field") {
  slot_table t{{.validity = 3000ms, .max_slots = 1000}};
  auto refused = [&](slot_report r, const std::string& words) {
    CAPTURE(words);
    CHECK(t.apply(r, t0) == outcome::invalid);
    CHECK(slot_table::check(r, 1000).find(words) != std::string::npos);
  };
  refused(report("", game, 1, 2, 1), "zone_id is empty");
  refused(report("zone-a", "game", 1, 2, 1), "fusion://<provider>/<name>");
  refused(report("zone-a", game, 1, 2, 0), "sequence must be 1 or more");
  refused(report("zone-a", game, 1, 1001, 1), "beyond the limit of 1000 slots");
  refused(report("zone-a", game, 3, 2, 1), "available 3 exceeds max 2");
  auto r = report("zone-a", game, 1, 2, 1);
  r.moving_average = std::numeric_limits<double>::quiet_NaN();
  refused(r, "moving_average");
  r.moving_average = 3;
  refused(r, "moving_average");
  r.moving_average = 1;
  r.variance = -1;
  refused(r, "variance");
  r.variance = std::numeric_limits<double>::infinity();
  refused(r, "variance");
  CHECK(t.counters().invalid == 9);
  CHECK(t.size() == 0);
  CHECK(t.withdraw(withdraw("", game, 1), t0) == outcome::invalid);
  CHECK(t.withdraw(withdraw("zone-a", game, 0), t0) == outcome::invalid);
  CHECK(slot_table::check(report("zone-a", game, 1, 2, 1), 1000).empty());
}

TEST_CASE("slot table: a long-silent origin is forgotten, a recent one still refuses replays") {
  slot_table t{{.validity = 1000ms, .max_slots = 1000}};
  t.apply(report("zone-a", game, 5, 10, 10), t0);
  t.expire(t0 + 1s);  // the row goes; the origin's sequence is remembered
  CHECK(t.apply(report("zone-a", game, 5, 10, 10), t0 + 2s) == outcome::accepted);
  t.expire(t0 + 3s);
  t.expire(t0 + 7s);  // 4 validity periods after it was last heard: forgotten
  CHECK(t.apply(report("zone-a", game, 5, 10, 1), t0 + 8s) == outcome::accepted);
}

TEST_CASE("slot table: three levels (zone -> router -> router) sum what the zones report") {
  // Three zones report to two edge routers; both edge routers re-aggregate to one core
  // router, each as one origin with its own sequence.
  slot_table edge1, edge2, core;
  edge1.apply(report("zone-1", game, 4, 10, 1), t0);
  edge1.apply(report("zone-2", game, 6, 10, 1), t0);
  edge2.apply(report("zone-3", game, 5, 20, 1), t0);
  uint64_t seq = 0;
  auto publish = [&](const slot_table& edge, const std::string& name) {
    auto a = edge.of(game);
    auto r =
        report(name, game, static_cast<uint32_t>(a.available), static_cast<uint32_t>(a.max), ++seq);
    r.moving_average = a.moving_average;
    r.variance = a.variance;
    return core.apply(r, t0);
  };
  CHECK(publish(edge1, "router-edge-1") == outcome::accepted);
  CHECK(publish(edge2, "router-edge-2") == outcome::accepted);
  CHECK(core.of(game).available == 15);
  CHECK(core.of(game).max == 40);
  CHECK(core.of(game).largest == 10);  // the larger edge aggregate
  // A zone changes; its edge router publishes again; the core follows without double counting.
  edge1.apply(report("zone-2", game, 1, 10, 2), t0);
  CHECK(publish(edge1, "router-edge-1") == outcome::accepted);
  CHECK(core.of(game).available == 10);
  CHECK(core.of(game).origins == 2);
}
