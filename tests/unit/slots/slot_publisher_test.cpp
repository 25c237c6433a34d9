// Tests of the damped slot publisher (actors/slots/slot_publisher.hpp) on a simulated clock:
// at most one batch per interval however fast sessions churn, only changes beyond the band
// (or a refresh before the receivers' rows expire), a policy share, moving average and
// variance per tick, and withdraws that a receiving slot table honours.

#include "actors/slots/slot_publisher.hpp"

#include <doctest/doctest.h>

using namespace fusion;
using namespace std::chrono_literals;
using slots::aggregate;
using slots::outcome;
using slots::publish_settings;
using slots::slot_publisher;
using slots::slot_table;

namespace {

const std::string game = "fusion://acme/game";
const std::string chat = "fusion://acme/chat";
const slots::time_point t0{};

aggregate slots_of(uint64_t available, uint64_t max) {
  aggregate a;
  a.available = available;
  a.max = max;
  a.largest = static_cast<uint32_t>(available);
  a.origins = 1;
  return a;
}

publish_settings every_second() {
  publish_settings s;
  s.interval = 1000ms;
  s.refresh = 3000ms;
  s.band_slots = 2;
  return s;
}

}  // namespace

TEST_CASE("slot publisher: the first tick publishes every service, numbered in sequence") {
  slot_publisher p{protocols::fusion_id{"zone-a"}, 7, every_second()};
  p.set(game, slots_of(3, 10));
  p.set(chat, slots_of(5, 5));
  auto out = p.tick(t0, 1234);
  REQUIRE(out);
  REQUIRE(out->batch.reports.size() == 2);
  for (const auto& r : out->batch.reports) {
    CHECK(r.zone_id.value == "zone-a");
    CHECK(r.epoch == 7);
    CHECK(r.sent_at == 1234);
  }
  CHECK(out->batch.reports[0].sequence == 1);
  CHECK(out->batch.reports[1].sequence == 2);
  CHECK(p.sequence() == 2);
}

TEST_CASE("slot publisher: session churn within an interval makes at most one batch") {
  slot_publisher p{protocols::fusion_id{"zone-a"}, 1, every_second()};
  int batches = 0;
  // 10 s of churn: availability changes 1,000 times a second, ticks every 100 ms.
  // Every sample differs from the previous one by more than the band.
  for (int ms = 0; ms < 10'000; ++ms) {
    p.set(game, slots_of(static_cast<uint64_t>((ms / 100 % 2) * 40 + ms % 7), 50));
    if (ms % 100 == 0 && p.tick(t0 + std::chrono::milliseconds{ms})) ++batches;
  }
  CHECK(batches == 10);  // one per interval: the rate does not follow the churn
}

TEST_CASE("slot publisher: changes within the band wait for the refresh, larger ones do not") {
  slot_publisher p{protocols::fusion_id{"zone-a"}, 1, every_second()};
  p.set(game, slots_of(10, 20));
  REQUIRE(p.tick(t0));
  p.set(game, slots_of(9, 20));  // one slot: inside the band of 2
  CHECK_FALSE(p.tick(t0 + 1s));
  CHECK_FALSE(p.tick(t0 + 2s));
  auto refreshed = p.tick(t0 + 3s);  // the refresh period: re-published to keep rows alive
  REQUIRE(refreshed);
  CHECK(refreshed->batch.reports.at(0).available == 9);
  p.set(game, slots_of(4, 20));      // five slots: beyond the band
  CHECK_FALSE(p.tick(t0 + 3500ms));  // but not twice in one interval
  auto moved = p.tick(t0 + 4s);
  REQUIRE(moved);
  CHECK(moved->batch.reports.at(0).available == 4);
  p.set(game, slots_of(4, 30));  // a new maximum is always news
  CHECK(p.tick(t0 + 5s));
}

TEST_CASE("slot publisher: a band fraction of the maximum damps large services more") {
  auto s = every_second();
  s.band_fraction = 0.1;
  slot_publisher p{protocols::fusion_id{"zone-a"}, 1, s};
  p.set(game, slots_of(500, 1000));
  REQUIRE(p.tick(t0));
  p.set(game, slots_of(450, 1000));  // 50 < 10% of 1000
  CHECK_FALSE(p.tick(t0 + 1s));
  p.set(game, slots_of(400, 1000));  // 100 = 10%
  CHECK(p.tick(t0 + 2s));
}

TEST_CASE("slot publisher: a policy share publishes fewer slots than the level has") {
  auto s = every_second();
  s.share = 0.5;
  slot_publisher p{protocols::fusion_id{"zone-a"}, 1, s};
  p.set(game, slots_of(9, 21));
  auto out = p.tick(t0);
  REQUIRE(out);
  const auto& r = out->batch.reports.at(0);
  CHECK(r.available == 4);
  CHECK(r.max == 10);
  CHECK(r.moving_average == doctest::Approx(4.5));
  CHECK(slot_table::check(r, 1'000'000).empty());
}

TEST_CASE("slot publisher: the moving average and variance follow availability per tick") {
  auto s = every_second();
  s.alpha = 0.5;
  s.band_slots = 1;
  slot_publisher steady{protocols::fusion_id{"zone-a"}, 1, s};
  slot_publisher jumpy{protocols::fusion_id{"zone-b"}, 1, s};
  slots::publication last_steady, last_jumpy;
  for (int i = 0; i < 20; ++i) {
    steady.set(game, slots_of(10, 20));
    jumpy.set(game, slots_of(i % 2 == 0 ? 0 : 20, 20));
    auto now = t0 + std::chrono::seconds{i};
    if (auto o = steady.tick(now)) last_steady = *o;
    if (auto o = jumpy.tick(now)) last_jumpy = *o;
  }
  const auto& a = last_steady.batch.reports.at(0);
  const auto& b = last_jumpy.batch.reports.at(0);
  CHECK(a.moving_average == doctest::Approx(10));
  CHECK(a.variance == doctest::Approx(0));
  CHECK(b.moving_average > 5);
  CHECK(b.moving_average < 15);
  CHECK(b.variance > 50);  // swinging by 20 around ~10
}

TEST_CASE("slot publisher: a removed service is withdrawn, and the receiver drops it") {
  slot_publisher p{protocols::fusion_id{"zone-a"}, 1, every_second()};
  slot_table domain;
  auto deliver = [&](const slots::publication& out) {
    for (const auto& w : out.withdraws) domain.withdraw(w, t0);
    for (const auto& r : out.batch.reports) domain.apply(r, t0);
  };
  p.set(game, slots_of(3, 10));
  p.set(chat, slots_of(1, 2));
  auto first = p.tick(t0);
  REQUIRE(first);
  deliver(*first);
  deliver(*first);  // delivered twice: the table takes each report once
  CHECK(domain.of(game).available == 3);
  CHECK(domain.counters().accepted == 2);
  CHECK(domain.counters().duplicates == 2);
  p.remove(game);
  auto second = p.tick(t0 + 1s);
  REQUIRE(second);
  REQUIRE(second->withdraws.size() == 1);
  CHECK(second->withdraws[0].service == game);
  CHECK(second->withdraws[0].sequence > first->batch.reports.back().sequence);
  deliver(*second);
  CHECK(domain.of(game).origins == 0);
  CHECK(domain.of(chat).available == 1);
  // The first batch replayed after the withdraw brings nothing back.
  for (const auto& r : first->batch.reports) CHECK(domain.apply(r, t0) != outcome::accepted);
  CHECK(domain.of(game).origins == 0);
}

TEST_CASE("slot publisher: unusable settings are named") {
  auto s = every_second();
  CHECK(slots::check(s).empty());
  s.refresh = 500ms;
  CHECK(slots::check(s) == "the refresh period must be at least the interval");
  s = every_second();
  s.alpha = 0;
  CHECK(slots::check(s) == "alpha must be more than 0 and at most 1");
  s = every_second();
  s.share = 1.5;
  CHECK(slots::check(s) == "share must be 0 to 1");
  s = every_second();
  s.interval = 0ms;
  CHECK(slots::check(s) == "the publish interval must be more than 0 ms");
}
