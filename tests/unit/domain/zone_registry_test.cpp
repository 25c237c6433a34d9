#include "actors/domain/zone_registry.hpp"

#include "actors/domain/preselect.hpp"
#include "protocols/names.hpp"
#include "tests/support/det_fixture.hpp"
#include "tests/unit/domain/domain_test_support.hpp"

#include <doctest/doctest.h>

using namespace fusion;
using namespace fusion::protocols;

namespace {

zone_parameters params(const std::string& name, const std::string& region = "eu-west") {
  zone_parameters p;
  p.name = name;
  p.location = {region, 51.0, 3.7};
  p.cpu_cores = 32;
  p.memory_mb = 131072;
  return p;
}

manifest service(uint32_t cores = 2) {
  manifest m;
  m.name = "fusion://acme/x";
  m.hardware.cpu_cores = cores;
  m.hardware.memory_mb = 1024;
  return m;
}

struct zone_fixture : test::det_fixture {
  test::temp_dir tmp;
  runtime::directory_ptr dir = std::make_shared<runtime::directory>();

  zone_registry_actor spawn_registry(std::string db_path = "") {
    domain::zone_registry_config cfg;
    cfg.db_path = db_path.empty() ? tmp.file("zones.db") : db_path;
    auto h = domain::spawn_zone_registry(sys, cfg, dir);
    run();
    return h;
  }

  caf::expected<register_zone_reply> add(const zone_registry_actor& zr, const principal& who,
                                         zone_parameters p) {
    return ask<register_zone_reply>(zr, register_zone{who, std::move(p), {"", "zone/x"}});
  }

  std::vector<std::string> zone_names(const zone_registry_actor& zr) {
    auto l = ask<zone_list>(zr, list_zones{});
    REQUIRE(l);
    std::vector<std::string> out;
    for (const auto& z : l->zones) out.push_back(z.parameters.name);
    return out;
  }

  ~zone_fixture() {
    for (const auto& name : dir->names())
      caf::anon_send_exit(dir->get(name), caf::exit_reason::kill);
    dir->clear();
    run();
  }
};

}  // namespace

TEST_CASE_FIXTURE(zone_fixture, "zone registry: a zone admin registers a zone and gets a ZoneID") {
  auto zr = spawn_registry();
  CHECK(dir->get(names::zone_registry) == caf::actor_cast<caf::actor>(zr));
  auto r = add(zr, test::zone_ops, params("edge-1"));
  REQUIRE_MESSAGE(r, describe(r.error()));
  CHECK(r->zone_id.value == "zone-1");
  auto r2 = add(zr, test::root, params("edge-2"));
  REQUIRE(r2);
  CHECK(r2->zone_id.value == "zone-2");
  auto l = ask<zone_list>(zr, list_zones{});
  REQUIRE(l);
  REQUIRE(l->zones.size() == 2);
  CHECK(l->zones[0].owner == test::zone_ops);
  CHECK(l->zones[0].manager.actor == "zone/x");
  CHECK(l->zones[0].resources.free_cpu_cores == 32);  // capacity until a report arrives
}

TEST_CASE_FIXTURE(zone_fixture, "zone registry: bad registrations are refused with the reason") {
  auto zr = spawn_registry();
  auto provider = add(zr, test::acme, params("edge-1"));
  REQUIRE_FALSE(provider);
  CHECK(is(provider.error(), errc::not_authorized));
  CHECK(reason_of(provider.error()).find("'acme' (service_provider) may not register zones") !=
        std::string::npos);
  auto expect_invalid = [&](zone_parameters p, const std::string& field) {
    auto r = add(zr, test::zone_ops, std::move(p));
    REQUIRE_FALSE(r);
    CHECK(is(r.error(), errc::invalid_argument));
    CHECK_MESSAGE(reason_of(r.error()).find("register_zone: parameters." + field) == 0,
                  reason_of(r.error()));
  };
  expect_invalid(params(""), "name");
  expect_invalid(params("bad name"), "name");
  auto p = params("z");
  p.cpu_cores = 0;
  expect_invalid(p, "cpu_cores");
  p = params("z");
  p.memory_mb = 0;
  expect_invalid(p, "memory_mb");
  p = params("z");
  p.location.latitude = 91;
  expect_invalid(p, "location.latitude");
  p = params("z");
  p.location.longitude = -200;
  expect_invalid(p, "location.longitude");
  p = params("z");
  p.gpus = {{"t4", 16384, 5.0, 0}};
  expect_invalid(p, "gpus[0].count");
  p = params("z");
  p.isolation = {"jail"};
  expect_invalid(p, "isolation");
  p = params("z");
  p.cost_per_core_hour = -1;
  expect_invalid(p, "cost_per_core_hour");
  // The domain reaches a zone only through the locator it registered.
  auto nowhere = ask<register_zone_reply>(zr, register_zone{test::zone_ops, params("z"), {}});
  REQUIRE_FALSE(nowhere);
  CHECK(is(nowhere.error(), errc::invalid_argument));
  CHECK(reason_of(nowhere.error()).find("register_zone: manager: the locator of zone z's") == 0);
  REQUIRE(add(zr, test::zone_ops, params("edge-1")));
  auto dup = add(zr, test::other_ops, params("edge-1"));
  REQUIRE_FALSE(dup);
  CHECK(is(dup.error(), errc::duplicate_zone));
  CHECK(reason_of(dup.error()).find("already registered as zone-1") != std::string::npos);
  CHECK(zone_names(zr) == std::vector<std::string>{"edge-1"});
}

TEST_CASE_FIXTURE(zone_fixture,
                  "zone registry: each registration by its owner counts one more start, durably") {
  auto zr = spawn_registry();
  auto first = add(zr, test::zone_ops, params("edge-1"));
  REQUIRE(first);
  CHECK(first->start == 1);
  auto again = add(zr, test::zone_ops, params("edge-1"));  // its manager started again
  REQUIRE(again);
  CHECK(again->zone_id == first->zone_id);
  CHECK(again->start == 2);
  auto changed = params("edge-1");
  changed.cpu_cores = 8;
  auto third = add(zr, test::zone_ops, changed);
  REQUIRE(third);
  CHECK(third->start == 3);
  caf::anon_send_exit(zr, caf::exit_reason::kill);
  run();
  auto zr2 = spawn_registry();
  auto fourth = add(zr2, test::zone_ops, changed);
  REQUIRE(fourth);
  CHECK(fourth->zone_id == first->zone_id);
  CHECK(fourth->start == 4);
  auto other = add(zr2, test::zone_ops, params("edge-2"));
  REQUIRE(other);
  CHECK(other->start == 1);
}

TEST_CASE_FIXTURE(zone_fixture, "zone registry: registered zones survive a restart") {
  auto zr = spawn_registry();
  REQUIRE(add(zr, test::zone_ops, params("edge-1")));
  REQUIRE(add(zr, test::zone_ops, params("edge-2")));
  REQUIRE(add(zr, test::zone_ops, params("edge-3")));
  auto p = params("edge-2");
  p.cpu_cores = 8;
  REQUIRE(ask<status_reply>(zr, update_zone{test::zone_ops, {"zone-2"}, p}));
  REQUIRE(ask<status_reply>(zr, unregister_zone{test::zone_ops, {"zone-3"}, false}));
  resource_report busy;
  busy.free_cpu_cores = 1;
  REQUIRE(ask<status_reply>(zr, update_resource_information{{"zone-1"}, busy}));
  caf::anon_send_exit(zr, caf::exit_reason::kill);
  run();
  auto zr2 = spawn_registry();
  auto l = ask<zone_list>(zr2, list_zones{});
  REQUIRE(l);
  REQUIRE(l->zones.size() == 2);
  CHECK(l->zones[0].zone_id.value == "zone-1");
  CHECK(l->zones[0].resources.free_cpu_cores == 32);  // reports are soft state
  CHECK(l->zones[1].parameters.cpu_cores == 8);
  auto r = add(zr2, test::zone_ops, params("edge-4"));
  REQUIRE(r);
  CHECK(r->zone_id.value == "zone-4");
  CHECK(is(add(zr2, test::other_ops, params("edge-1")).error(), errc::duplicate_zone));
}

TEST_CASE_FIXTURE(
    zone_fixture,
    "zone registry: its owner registering a zone again reconciles it, across restarts") {
  auto zr = spawn_registry();
  REQUIRE(add(zr, test::zone_ops, params("edge-1")));
  REQUIRE(add(zr, test::zone_ops, params("edge-2")));
  for (int restart = 0; restart < 2; ++restart) {
    caf::anon_send_exit(zr, caf::exit_reason::kill);
    run();
    zr = spawn_registry();
    auto same = add(zr, test::zone_ops, params("edge-1"));
    REQUIRE_MESSAGE(same, describe(same.error()));
    CHECK(same->zone_id.value == "zone-1");
    CHECK(zone_names(zr) == std::vector<std::string>{"edge-1", "edge-2"});
  }
  auto bigger = params("edge-2");
  bigger.cpu_cores = 64;
  auto upd = add(zr, test::zone_ops, bigger);
  REQUIRE(upd);
  CHECK(upd->zone_id.value == "zone-2");
  caf::anon_send_exit(zr, caf::exit_reason::kill);
  run();
  zr = spawn_registry();
  auto l = ask<zone_list>(zr, list_zones{});
  REQUIRE(l);
  REQUIRE(l->zones.size() == 2);
  CHECK(l->zones[1].zone_id.value == "zone-2");
  CHECK(l->zones[1].parameters.cpu_cores == 64);
  CHECK(is(add(zr, test::other_ops, params("edge-1")).error(), errc::duplicate_zone));
  auto next = add(zr, test::zone_ops, params("edge-3"));
  REQUIRE(next);
  CHECK(next->zone_id.value == "zone-3");
}

TEST_CASE_FIXTURE(zone_fixture, "zone registry: logs through the configured logger") {
  test::temp_dir logs;
  const runtime::log_config json{"info", "json", logs.file("node.log")};
  REQUIRE_FALSE(runtime::setup_logging(json));
  spawn_registry("/nonexistent-dir-for-fusion-tests/zones.db");
  runtime::flush_logs();
  auto text = test::read_text(json.file);
  REQUIRE_FALSE(runtime::setup_logging(runtime::log_config{"error", "text", ""}));
  CHECK(
      text.find(
          R"("level":"error","component":"zone_registry","msg":"storage_failure: store: cannot open)") !=
      std::string::npos);
}

TEST_CASE_FIXTURE(zone_fixture, "zone registry: only the owner or a domain admin manages a zone") {
  auto zr = spawn_registry();
  REQUIRE(add(zr, test::zone_ops, params("edge-1")));
  REQUIRE(add(zr, test::zone_ops, params("edge-2")));
  auto upd = ask<status_reply>(zr, update_zone{test::other_ops, {"zone-1"}, params("edge-1")});
  REQUIRE_FALSE(upd);
  CHECK(is(upd.error(), errc::not_authorized));
  auto del = ask<status_reply>(zr, unregister_zone{test::other_ops, {"zone-1"}, false});
  REQUIRE_FALSE(del);
  CHECK(is(del.error(), errc::not_authorized));
  auto rename_clash =
      ask<status_reply>(zr, update_zone{test::zone_ops, {"zone-1"}, params("edge-2")});
  REQUIRE_FALSE(rename_clash);
  CHECK(is(rename_clash.error(), errc::duplicate_zone));
  auto bad = params("edge-1");
  bad.memory_mb = 0;
  auto invalid = ask<status_reply>(zr, update_zone{test::zone_ops, {"zone-1"}, bad});
  REQUIRE_FALSE(invalid);
  CHECK(is(invalid.error(), errc::invalid_argument));
  REQUIRE(ask<status_reply>(zr, update_zone{test::root, {"zone-1"}, params("edge-1b")}));
  REQUIRE(ask<status_reply>(zr, unregister_zone{test::root, {"zone-2"}, true}));
  CHECK(zone_names(zr) == std::vector<std::string>{"edge-1b"});
  REQUIRE(add(zr, test::zone_ops, params("edge-2")));  // the name is free again
}

TEST_CASE_FIXTURE(zone_fixture, "zone registry: unknown ZoneIDs are reported") {
  auto zr = spawn_registry();
  auto u = ask<status_reply>(zr, update_zone{test::root, {"zone-9"}, params("x")});
  REQUIRE_FALSE(u);
  CHECK(is(u.error(), errc::unknown_zone));
  CHECK(reason_of(u.error()).find("'zone-9'") != std::string::npos);
  CHECK(is(ask<status_reply>(zr, unregister_zone{test::root, {"zone-9"}, false}).error(),
           errc::unknown_zone));
  CHECK(is(ask<status_reply>(zr, update_resource_information{{"zone-9"}, {}}).error(),
           errc::unknown_zone));
  CHECK(is(ask<status_reply>(zr, update_service_information{{"zone-9"}, {}}).error(),
           errc::unknown_zone));
  REQUIRE(add(zr, test::zone_ops, params("edge-1")));
  auto ok = ask<status_reply>(
      zr, update_service_information{{"zone-1"}, {service_report{"fusion://acme/x", 1, 3, 4}}});
  REQUIRE(ok);
  CHECK(ok->code == status::ok);
}

TEST_CASE_FIXTURE(zone_fixture,
                  "zone registry: preselection applies resource reports and explains rejections") {
  auto zr = spawn_registry();
  REQUIRE(add(zr, test::zone_ops, params("edge-1")));
  REQUIRE(add(zr, test::zone_ops, params("us-1", "us-east")));
  REQUIRE(add(zr, test::zone_ops, params("edge-2")));
  auto m = service(8);
  m.denied_regions = {"us-east"};
  resource_report busy;
  busy.free_cpu_cores = 4;
  busy.free_memory_mb = 65536;
  REQUIRE(ask<status_reply>(zr, update_resource_information{{"zone-3"}, busy}));
  auto r = ask<preselection>(zr, preselect_zones{m, {}, 16});
  REQUIRE(r);
  CHECK(r->zones_known == 3);
  REQUIRE(r->candidates.size() == 1);
  CHECK(r->candidates[0].parameters.name == "edge-1");
  REQUIRE(r->rejected.size() == 2);
  CHECK(r->rejected[0].details == "region 'us-east' is in security.denied_regions");
  CHECK(r->rejected[0].code == refusal_code::hard_constraint);
  CHECK(r->rejected[1].zone_id.value == "zone-3");
  CHECK(r->rejected[1].details == "needs 8 free CPU cores per instance, has 4 free");
  resource_report sick = domain::full_capacity(params("edge-1"));
  sick.healthy = false;
  REQUIRE(ask<status_reply>(zr, update_resource_information{{"zone-1"}, sick}));
  r = ask<preselection>(zr, preselect_zones{m, {}, 16});
  REQUIRE(r);
  CHECK(r->candidates.empty());
  CHECK(r->rejected.size() == 3);
  auto zero = ask<preselection>(zr, preselect_zones{m, {}, 0});
  REQUIRE_FALSE(zero);
  CHECK(is(zero.error(), errc::invalid_argument));
}

TEST_CASE_FIXTURE(zone_fixture,
                  "zone registry: preselection is bounded by k and rotates its start") {
  auto zr = spawn_registry();
  for (int i = 1; i <= 5; ++i)
    REQUIRE(add(zr, test::zone_ops, params("edge-" + std::to_string(i))));
  std::vector<std::string> seen;
  for (int round = 0; round < 3; ++round) {
    auto r = ask<preselection>(zr, preselect_zones{service(), {}, 2});
    REQUIRE(r);
    CHECK(r->zones_known == 5);
    REQUIRE(r->candidates.size() == 2);
    CHECK(r->rejected.empty());
    for (const auto& z : r->candidates) seen.push_back(z.parameters.name);
  }
  CHECK(seen ==
        std::vector<std::string>{"edge-1", "edge-2", "edge-3", "edge-4", "edge-5", "edge-1"});
}

TEST_CASE_FIXTURE(zone_fixture, "zone registry: a store failure acknowledges nothing") {
  auto zr = spawn_registry("/nonexistent-dir-for-fusion-tests/zones.db");
  auto r = add(zr, test::zone_ops, params("edge-1"));
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::storage_failure));
  CHECK(zone_names(zr).empty());
}
