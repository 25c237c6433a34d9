// Tests of the service instance actor (§4.5.1 lifecycle, exact slot accounting) and of the
// in-process DC backend (§6.4.4 environments, instances, probes).

#include "actors/service/instance.hpp"
#include "actors/zone/dc_inprocess.hpp"
#include "protocols/errc.hpp"
#include "protocols/names.hpp"
#include "runtime/clock.hpp"
#include "tests/support/det_fixture.hpp"

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <tuple>

using namespace fusion;
using namespace fusion::protocols;
using namespace std::chrono_literals;

namespace {

struct instance_fx : test::det_fixture {
  service_lifecycle_actor inst;
  instance_fx() {
    service::instance_config cfg;
    cfg.instance_id = fusion_id{"inst-z-1"};
    // Not = "literal": a false GCC 12 -O3 warning (stringop-overflow).
    cfg.service = std::string{"fusion://acme/game"};
    cfg.zone_name = std::string{"z"};
    inst = service::spawn_instance(sys, cfg);
    run();
  }
  ~instance_fx() {
    caf::anon_send_exit(inst, caf::exit_reason::kill);
    run();
  }
  available_sessions avail() {
    return ask<available_sessions>(inst, get_available_sessions{}).value();
  }
};

// What a DC's launcher was asked to start: instance id, service, zone.
using launch_log = std::vector<std::tuple<std::string, std::string, std::string>>;

// A launcher that records each launch and starts a service instance actor.
zone::instance_launcher recording_launcher(std::shared_ptr<launch_log> log) {
  return [log](caf::actor_system& sys, const zone::launch_spec& spec) {
    log->emplace_back(spec.instance_id.value, spec.service, spec.zone_name);
    service::instance_config cfg;
    cfg.instance_id = spec.instance_id;
    cfg.service = spec.service;
    cfg.zone_name = spec.zone_name;
    return service::spawn_instance(sys, std::move(cfg));
  };
}

struct dc_fx : test::det_fixture {
  runtime::directory_ptr dir = std::make_shared<runtime::directory>();
  std::shared_ptr<launch_log> launches = std::make_shared<launch_log>();
  dc_management_actor dc = zone::spawn_inprocess_dc(sys, "z", dir, recording_launcher(launches));
  dc_fx() { run(); }
  ~dc_fx() {
    for (const auto& n : dir->names()) caf::anon_send_exit(dir->get(n), caf::exit_reason::kill);
    dir->clear();
    caf::anon_send_exit(dc, caf::exit_reason::kill);
    run();
  }
};

}  // namespace

TEST_CASE_FIXTURE(instance_fx, "instance: lifecycle created -> running -> stopped") {
  auto early = ask<session_granted>(inst, acquire_session{"alice"});
  REQUIRE_FALSE(early);
  CHECK(is(early.error(), errc::invalid_state));
  CHECK(reason_of(early.error()).find("while created") != std::string::npos);
  auto info = ask<information>(inst, get_information{info_category::summary}).value();
  CHECK(info.values["state"] == "created");
  auto started = ask<status_reply>(inst, service_start{{}, 3});
  REQUIRE(started);
  CHECK(started->code == status::ok);
  auto again = ask<status_reply>(inst, service_start{{}, 3});
  REQUIRE_FALSE(again);
  CHECK(is(again.error(), errc::invalid_state));
  info = ask<information>(inst, get_information{info_category::summary}).value();
  CHECK(info.values["state"] == "running");
  CHECK(info.values["service"] == "fusion://acme/game");
  CHECK(info.values["zone"] == "z");
  CHECK(info.values["max_sessions"] == "3");
  auto s = ask<session_granted>(inst, acquire_session{"alice"});
  REQUIRE(s);
  CHECK(s->instance_id.value == "inst-z-1");
  CHECK(s->instance == locator{"", names::instance("inst-z-1")});
  CHECK_FALSE(s->session_id.empty());
  auto health = ask<information>(inst, get_information{info_category::health}).value();
  CHECK(health.values["healthy"] == "true");
}

TEST_CASE_FIXTURE(instance_fx, "instance: slot accounting stays exact under random traffic") {
  REQUIRE(ask<status_reply>(inst, service_start{{}, 5}));
  runtime::rng rng{42};
  std::vector<fusion_id> open;
  uint32_t max = 5;
  uint64_t granted = 0, released = 0;
  for (int step = 0; step < 3000; ++step) {
    auto dice = rng.next() % 10;
    if (dice < 5) {
      auto r = ask<session_granted>(inst, acquire_session{"c"});
      if (open.size() < max) {
        REQUIRE(r);
        CHECK(std::none_of(open.begin(), open.end(),
                           [&](const fusion_id& x) { return x == r->session_id; }));
        open.push_back(r->session_id);
        ++granted;
      } else {
        REQUIRE_FALSE(r);
        CHECK(is(r.error(), errc::no_session_slots));
      }
    } else if (dice < 9) {
      if (open.empty()) continue;
      auto k = rng.next() % open.size();
      REQUIRE(ask<status_reply>(inst, release_session{open[k]}));
      open.erase(open.begin() + static_cast<long>(k));
      ++released;
    } else {
      max = static_cast<uint32_t>(rng.next() % 9);
      REQUIRE(ask<status_reply>(inst, modify_sessions{max}));
    }
    auto a = avail();
    auto in_use = static_cast<uint32_t>(open.size());
    REQUIRE(a.max_sessions == max);
    REQUIRE(a.available == (max > in_use ? max - in_use : 0));
  }
  CHECK(granted > 500);
  auto info = ask<information>(inst, get_information{info_category::sessions}).value();
  CHECK(info.values["granted"] == std::to_string(granted));
  CHECK(info.values["released"] == std::to_string(released));
  CHECK(info.values["in_use"] == std::to_string(open.size()));
}

TEST_CASE_FIXTURE(instance_fx, "instance: shrinking max never cuts sessions in use") {
  REQUIRE(ask<status_reply>(inst, service_start{{}, 4}));
  std::vector<fusion_id> s;
  for (int i = 0; i < 4; ++i)
    s.push_back(ask<session_granted>(inst, acquire_session{"c"})->session_id);
  REQUIRE(ask<status_reply>(inst, modify_sessions{2}));
  CHECK(avail().available == 0);
  auto info = ask<information>(inst, get_information{info_category::summary}).value();
  CHECK(info.values["in_use"] == "4");
  REQUIRE(ask<status_reply>(inst, release_session{s[0]}));
  REQUIRE(ask<status_reply>(inst, release_session{s[1]}));
  CHECK(avail().available == 0);  // 2 in use, max 2
  REQUIRE(ask<status_reply>(inst, release_session{s[2]}));
  CHECK(avail().available == 1);
  auto twice = ask<status_reply>(inst, release_session{s[2]});
  REQUIRE_FALSE(twice);
  CHECK(is(twice.error(), errc::invalid_argument));
  CHECK(reason_of(twice.error()).find(s[2].value) != std::string::npos);
}

TEST_CASE_FIXTURE(instance_fx, "instance: stop without sessions answers at once and quits") {
  REQUIRE(ask<status_reply>(inst, service_start{{}, 2}));
  auto r = ask<status_reply>(inst, service_stop{1000});
  REQUIRE(r);
  CHECK(r->code == status::ok);
  CHECK(r->detail == "stopped");
  auto after = ask<available_sessions>(inst, get_available_sessions{});
  CHECK_FALSE(after);  // the actor is gone
}

TEST_CASE_FIXTURE(instance_fx, "instance: stop waits for sessions to drain") {
  REQUIRE(ask<status_reply>(inst, service_start{{}, 2}));
  auto a = ask<session_granted>(inst, acquire_session{"a"}).value().session_id;
  auto b = ask<session_granted>(inst, acquire_session{"b"}).value().session_id;
  auto pending = self->request(inst, caf::infinite, service_stop{1000});
  run();
  CHECK(self->mailbox().empty());  // no answer while sessions are in use
  auto refused = ask<session_granted>(inst, acquire_session{"c"});
  REQUIRE_FALSE(refused);
  CHECK(is(refused.error(), errc::invalid_state));
  CHECK(avail().available == 0);
  auto again = ask<status_reply>(inst, service_stop{1000});
  REQUIRE_FALSE(again);
  CHECK(is(again.error(), errc::invalid_state));
  REQUIRE(ask<status_reply>(inst, release_session{a}));
  // The last release ends the stop: its own reply and the stop reply both arrive.
  auto last = ask<status_reply>(inst, release_session{b});
  REQUIRE(last);
  CHECK(last->detail == "released");
  std::string detail;
  pending.receive([&](status_reply& r) { detail = r.detail; },
                  [&](caf::error& e) { FAIL(describe(e)); });
  CHECK(detail == "drained");
}

TEST_CASE_FIXTURE(instance_fx, "instance: stop forces remaining sessions after the timeout") {
  REQUIRE(ask<status_reply>(inst, service_start{{}, 5}));
  for (int i = 0; i < 3; ++i) REQUIRE(ask<session_granted>(inst, acquire_session{"c"}));
  auto rh = self->request(inst, caf::infinite, service_stop{500});
  run();
  CHECK(self->mailbox().empty());
  advance(499ms);
  CHECK(self->mailbox().empty());
  advance(1ms);
  REQUIRE_FALSE(self->mailbox().empty());
  std::string detail;
  rh.receive([&](status_reply& r) { detail = r.detail; }, [](caf::error& e) { FAIL(describe(e)); });
  CHECK(detail == "forced 3 sessions");
}

TEST_CASE_FIXTURE(dc_fx, "dc: environment lifecycle with instance and probes") {
  auto env = ask<environment_reply>(dc, prepare_service_environment{"fusion://acme/game", {}});
  REQUIRE(env);
  CHECK(env->environment_id.value == "env-z-1");
  CHECK(dir->get(names::dc_agent("z")));
  auto launched = ask<instance_launched>(
      dc, launch_instance{env->environment_id, fusion_id{"inst-z-9"}, "fusion://acme/game"});
  REQUIRE(launched);
  CHECK(launched->instance == locator{"", names::instance("inst-z-9")});
  auto inst = dir->get_as<service_lifecycle_actor>(names::instance("inst-z-9"));
  REQUIRE(inst);
  CHECK(ask<status_reply>(inst, service_start{{}, 2}));
  auto twice = ask<instance_launched>(
      dc, launch_instance{env->environment_id, fusion_id{"inst-z-10"}, "fusion://acme/game"});
  REQUIRE_FALSE(twice);
  CHECK(is(twice.error(), errc::invalid_state));
  auto probe = ask<probe_reply>(dc, enable_probe{env->environment_id, "cpu", {}});
  REQUIRE(probe);
  CHECK(probe->probe_id.value == "probe-1");
  auto info =
      ask<information>(dc, get_environment_information{env->environment_id, info_category::summary})
          .value();
  CHECK(info.values["state"] == "running");
  CHECK(info.values["instance"] == "inst-z-9");
  CHECK(info.values["probe.probe-1"] == "cpu");
  auto dcinfo = ask<information>(dc, dc_get_information{}).value();
  CHECK(dcinfo.values["environments"] == "1");
  CHECK(dcinfo.values["instances"] == "1");
  CHECK(dcinfo.values["probes"] == "1");
  auto bad_probe = ask<status_reply>(dc, disable_probe{env->environment_id, fusion_id{"probe-7"}});
  REQUIRE_FALSE(bad_probe);
  CHECK(is(bad_probe.error(), errc::invalid_argument));
  CHECK(ask<status_reply>(dc, disable_probe{env->environment_id, probe->probe_id}));
  // Reset kills the instance and keeps the environment for reuse.
  REQUIRE(ask<status_reply>(dc, reset_service_environment{env->environment_id}));
  CHECK_FALSE(dir->get(names::instance("inst-z-9")));
  CHECK_FALSE(ask<available_sessions>(inst, get_available_sessions{}));
  info =
      ask<information>(dc, get_environment_information{env->environment_id, info_category::summary})
          .value();
  CHECK(info.values["state"] == "prepared");
  CHECK(info.values["probes"] == "0");
  REQUIRE(ask<instance_launched>(
      dc, launch_instance{env->environment_id, fusion_id{"inst-z-11"}, "fusion://acme/game"}));
  REQUIRE(ask<status_reply>(dc, terminate_service_environment{env->environment_id}));
  CHECK_FALSE(dir->get(names::instance("inst-z-11")));
  dcinfo = ask<information>(dc, dc_get_information{}).value();
  CHECK(dcinfo.values["environments"] == "0");
  CHECK(dcinfo.values["terminated_total"] == "1");
}

TEST_CASE_FIXTURE(dc_fx, "dc: instances start through the injected launcher only") {
  auto env = ask<environment_reply>(dc, prepare_service_environment{"fusion://acme/game", {}});
  REQUIRE(env);
  REQUIRE(ask<instance_launched>(
      dc, launch_instance{env->environment_id, fusion_id{"inst-z-4"}, "fusion://acme/game"}));
  CHECK(*launches == launch_log{{"inst-z-4", "fusion://acme/game", "z"}});
  // A DC given no launcher cannot start anything, and says so.
  auto bare = zone::spawn_inprocess_dc(sys, "bare", dir, {});
  auto env2 = ask<environment_reply>(bare, prepare_service_environment{"fusion://acme/game", {}});
  REQUIRE(env2);
  auto none = ask<instance_launched>(
      bare, launch_instance{env2->environment_id, fusion_id{"inst-bare-1"}, "fusion://acme/game"});
  REQUIRE_FALSE(none);
  CHECK(is(none.error(), errc::invalid_state));
  CHECK(reason_of(none.error()) == "zone bare was given no instance launcher");
  CHECK(launches->size() == 1);
  caf::anon_send_exit(bare, caf::exit_reason::kill);
}

TEST_CASE_FIXTURE(dc_fx, "dc: unknown environments are refused by name") {
  fusion_id ghost{"env-z-99"};
  auto e1 = ask<status_reply>(dc, terminate_service_environment{ghost});
  REQUIRE_FALSE(e1);
  CHECK(is(e1.error(), errc::invalid_argument));
  CHECK(reason_of(e1.error()).find("env-z-99") != std::string::npos);
  CHECK(
      is(ask<status_reply>(dc, reset_service_environment{ghost}).error(), errc::invalid_argument));
  CHECK(is(ask<information>(dc, get_environment_information{ghost, info_category::summary}).error(),
           errc::invalid_argument));
  CHECK(is(ask<probe_reply>(dc, enable_probe{ghost, "cpu", {}}).error(), errc::invalid_argument));
  CHECK(is(ask<instance_launched>(dc, launch_instance{ghost, fusion_id{"i"}, "s"}).error(),
           errc::invalid_argument));
  auto env = ask<environment_reply>(dc, prepare_service_environment{"s", {}}).value();
  CHECK(is(ask<probe_reply>(dc, enable_probe{env.environment_id, "", {}}).error(),
           errc::invalid_argument));
  CHECK(
      is(ask<instance_launched>(dc, launch_instance{env.environment_id, fusion_id{}, "s"}).error(),
         errc::invalid_argument));
}

namespace {

/// What a zone manager hears from an instance.
struct heard_t {
  std::vector<slot_report> reports;
  std::vector<slot_withdraw> withdraws;
};

caf::behavior listening_zone(caf::event_based_actor*, std::shared_ptr<heard_t> heard) {
  return {
      [=](const slot_report& r) { heard->reports.push_back(r); },
      [=](const slot_withdraw& w) { heard->withdraws.push_back(w); },
      [=](const slot_report_batch&) {},
  };
}

}  // namespace

TEST_CASE_FIXTURE(test::det_fixture,
                  "instance: reports its free slots to its zone at most once per report_ms, "
                  "refreshes them, and withdraws them when it stops") {
  auto heard = std::make_shared<heard_t>();
  auto zone = sys.spawn(listening_zone, heard);
  service::instance_config cfg;
  cfg.instance_id = fusion_id{"inst-z-7"};
  cfg.service = std::string{"fusion://acme/game"};
  cfg.report_to = caf::actor_cast<slot_sink_actor>(zone);
  cfg.epoch = 5;
  cfg.report_ms = 100;
  cfg.refresh_ms = 1'000;
  auto inst = service::spawn_instance(sys, cfg);
  run();
  CHECK(heard->reports.empty());  // nothing before it runs
  REQUIRE(ask<status_reply>(inst, service_start{{}, 10}));
  REQUIRE(heard->reports.size() == 1);
  CHECK(heard->reports[0] ==
        slot_report{cfg.instance_id, cfg.service, 10, 10, 10, 0, 1, 5, heard->reports[0].sent_at});
  // Ten sessions at once: one report with all of them, report_ms after the first.
  for (int i = 0; i < 10; ++i) REQUIRE(ask<session_granted>(inst, acquire_session{"c"}));
  advance(99ms);
  CHECK(heard->reports.size() == 1);
  advance(1ms);
  REQUIRE(heard->reports.size() == 2);
  CHECK(heard->reports[1].available == 0);
  CHECK(heard->reports[1].sequence == 2);
  // Nothing changes: a refresh every refresh_ms, not a report every report_ms.
  advance(999ms);
  CHECK(heard->reports.size() == 2);
  advance(1ms);
  REQUIRE(heard->reports.size() == 3);
  CHECK(heard->reports[2].available == 0);
  // Stopping withdraws every slot at once, while sessions drain.
  auto stop = self->request(inst, caf::infinite, service_stop{5'000});
  run();
  REQUIRE(heard->withdraws.size() == 1);
  CHECK(heard->withdraws[0] == slot_withdraw{cfg.instance_id, "", 4, 5});
  advance(5s);
  CHECK(heard->reports.size() == 3);  // a stopping instance reports nothing more
  stop.receive([](status_reply&) {}, [](caf::error&) {});
  caf::anon_send_exit(zone, caf::exit_reason::kill);
  run();
}

TEST_CASE_FIXTURE(instance_fx,
                  "instance: a silent client's session ends after the session timeout; "
                  "keepalives keep a session; closes of unknown sessions are refused and "
                  "counted") {
  service::instance_config cfg;
  cfg.instance_id = fusion_id{"inst-z-2"};
  cfg.service = std::string{"fusion://acme/game"};
  cfg.zone_name = std::string{"z"};
  cfg.session_timeout_ms = 1'000;
  auto i2 = service::spawn_instance(sys, cfg);
  run();
  REQUIRE(ask<status_reply>(i2, service_start{{}, 2}));
  auto talker = ask<session_granted>(i2, acquire_session{"talker"}).value();
  auto mute = ask<session_granted>(i2, acquire_session{"mute"}).value();
  for (int i = 0; i < 3; ++i) {
    advance(300ms);
    REQUIRE(ask<status_reply>(i2, session_keepalive{talker.session_id}));
  }
  CHECK(ask<available_sessions>(i2, get_available_sessions{})->available == 0);  // 0.9 s
  for (int i = 0; i < 3; ++i) {
    advance(300ms);
    REQUIRE(ask<status_reply>(i2, session_keepalive{talker.session_id}));
  }
  CHECK(ask<available_sessions>(i2, get_available_sessions{})->available == 1);  // 1.8 s
  auto gone = ask<status_reply>(i2, session_keepalive{mute.session_id});
  REQUIRE_FALSE(gone);
  CHECK(reason_of(gone.error()).find("expired after 1000 ms without a keepalive") !=
        std::string::npos);
  auto late = ask<status_reply>(i2, release_session{mute.session_id});  // a late close
  REQUIRE_FALSE(late);
  CHECK(is(late.error(), errc::invalid_argument));
  auto info = ask<information>(i2, get_information{info_category::sessions}).value();
  CHECK(info.values["expired"] == "1");
  CHECK(info.values["in_use"] == "1");
  CHECK(info.values["unknown_sessions"] == "2");  // the keepalive and the close, counted
  caf::anon_send_exit(i2, caf::exit_reason::kill);
  run();
}
