// Actor-system setup from the node config, role composition and the node run loop.

#include "runtime/system.hpp"
#include "protocols/errc.hpp"
#include "protocols/registry.hpp"
#include "runtime/clock.hpp"
#include "runtime/logging.hpp"
#include "tests/support/det_fixture.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <typeindex>

using namespace fusion;
using namespace fusion::runtime;

namespace {

caf::behavior idle(caf::event_based_actor*) {
  return {[](int) {}};
}

// A role that spawns one idle actor and reports its termination through `gone`.
role_starter idle_role(std::shared_ptr<std::atomic<int>> gone,
                       std::shared_ptr<std::vector<std::string>> log, std::string name) {
  return [=](caf::actor_system& sys, const node_config&, role_context& ctx) -> caf::error {
    auto a = sys.spawn(idle);
    a->attach_functor([gone] { ++*gone; });
    ctx.actors.push_back(a);
    ctx.directory->put(name, a);
    ctx.on_stop.push_back([log, name] { log->push_back("stop " + name); });
    log->push_back("start " + name);
    return {};
  };
}

node_config quiet_config() {
  auto nc = default_config();
  nc.log.level = "off";
  return nc;
}

}  // namespace

TEST_CASE("system: configure_actor_system applies the configured scheduler") {
  auto nc = default_config();
  nc.scheduler.threads = 3;
  nc.scheduler.policy = "stealing";  // not the default: the test sees it applied
  caf::actor_system_config cfg;
  configure_actor_system(cfg, nc);
  caf::actor_system sys{cfg};
  CHECK(caf::get_or(sys.config(), "scheduler.max-threads", size_t{0}) == 3);
  CHECK(sys.scheduler().num_workers() == 3);
  CHECK(caf::get_or(sys.config(), "scheduler.policy", caf::atom("none")) == caf::atom("stealing"));
  CHECK(sys.has_middleman());
}

TEST_CASE("system: one worker thread is honoured, not CAF's max(4, cores)") {
  auto nc = default_config();
  nc.scheduler.threads = 1;
  caf::actor_system_config cfg;
  configure_actor_system(cfg, nc);
  caf::actor_system sys{cfg};
  CHECK(sys.scheduler().num_workers() == 1);
  CHECK(caf::get_or(sys.config(), "scheduler.policy", caf::atom("none")) == caf::atom("sharing"));
}

TEST_CASE("system: every FUSION message type is registered with CAF") {
  caf::actor_system_config cfg;
  configure_actor_system(cfg, default_config());
  const auto& entries = protocols::message_registry::instance().entries();
  REQUIRE_FALSE(entries.empty());
  for (const auto& e : entries)
    CHECK_MESSAGE(cfg.type_names_by_rtti.count(e.type) == 1, "not registered: " << e.meta.name);
}

TEST_CASE_FIXTURE(test::det_fixture, "roles: configured roles start in order and stop cleanly") {
  role_registry reg;
  auto gone = std::make_shared<std::atomic<int>>(0);
  auto log = std::make_shared<std::vector<std::string>>();
  REQUIRE(reg.add("domain", idle_role(gone, log, "domain")));
  REQUIRE(reg.add("zones", idle_role(gone, log, "zones")));
  CHECK_FALSE(reg.add("zones", idle_role(gone, log, "other")));
  CHECK(reg.names() == std::vector<std::string>{"domain", "zones"});
  auto nc = default_config();
  nc.node.roles = {"zones", "domain"};
  role_context ctx;
  REQUIRE_FALSE(reg.start(sys, nc, ctx));
  run();
  CHECK(*log == std::vector<std::string>{"start zones", "start domain"});
  CHECK(ctx.directory->names() == std::vector<std::string>{"domain", "zones"});
  CHECK(*gone == 0);
  stop_roles(ctx);
  run();
  CHECK(*gone == 2);
  CHECK(*log ==
        std::vector<std::string>{"start zones", "start domain", "stop domain", "stop zones"});
  CHECK(ctx.directory->names().empty());
  stop_roles(ctx);  // idempotent
  CHECK(log->size() == 4);
}

TEST_CASE_FIXTURE(test::det_fixture, "roles: a role that is not built in fails the start") {
  role_registry reg;
  auto gone = std::make_shared<std::atomic<int>>(0);
  auto log = std::make_shared<std::vector<std::string>>();
  REQUIRE(reg.add("zones", idle_role(gone, log, "zones")));
  auto nc = default_config();
  nc.node.roles = {"zones", "domain"};
  role_context ctx;
  auto err = reg.start(sys, nc, ctx);
  REQUIRE(err);
  CHECK(is(err, errc::invalid_config));
  CHECK(reason_of(err) ==
        "role \"domain\" is not built into this fusion-node (available: "
        "zones); remove it from node.roles");
  run();
  CHECK(*gone == 1);  // the role started before the failure was stopped again
  CHECK(ctx.actors.empty());
}

TEST_CASE_FIXTURE(test::det_fixture, "roles: a failing starter's error is returned as is") {
  role_registry reg;
  reg.add("domain", [](caf::actor_system&, const node_config&, role_context&) {
    return make_error(errc::storage_failure, "cannot open data_dir");
  });
  auto nc = default_config();
  nc.node.roles = {"domain"};
  role_context ctx;
  auto err = reg.start(sys, nc, ctx);
  CHECK(is(err, errc::storage_failure));
  CHECK(reason_of(err) == "cannot open data_dir");
}

TEST_CASE("node: run_node starts the roles, stops after run_for_s and tells actors to quit") {
  role_registry reg;
  auto gone = std::make_shared<std::atomic<int>>(0);
  auto log = std::make_shared<std::vector<std::string>>();
  REQUIRE(reg.add("zones", idle_role(gone, log, "zones")));
  auto nc = quiet_config();
  nc.node.roles = {"zones"};
  nc.node.run_for_s = 0.01;
  nc.scheduler.threads = 1;
  CHECK_FALSE(run_node(nc, reg));
  CHECK(*gone == 1);
  CHECK(*log == std::vector<std::string>{"start zones", "stop zones"});
}

TEST_CASE("node: run_node reports a role that cannot start instead of running") {
  role_registry reg;
  auto nc = quiet_config();
  nc.node.roles = {"domain"};
  nc.node.run_for_s = 30;  // must not be waited for
  auto err = run_node(nc, reg);
  CHECK(is(err, errc::invalid_config));
  CHECK(reason_of(err).find("role \"domain\" is not built into this fusion-node") == 0);
}

TEST_CASE("node: run_node refuses a log file it cannot open") {
  auto nc = quiet_config();
  nc.node.roles = {};
  nc.log.file = "/dev/null/node.log";  // a file is not a folder: cannot be created
  auto err = run_node(nc, role_registry{});
  CHECK(is(err, errc::invalid_config));
  CHECK(reason_of(err).rfind("log.file: cannot open", 0) == 0);
  CHECK_FALSE(setup_logging(log_config{"info", "text", ""}));
}

TEST_CASE("ids: generators with one step and different starts never collide") {
  id_generator even{"decision", 2, 2};
  id_generator odd{"decision", 1, 2};
  CHECK(odd.make().value == "decision-1");
  CHECK(even.make().value == "decision-2");
  CHECK(odd.make().value == "decision-3");
  // After reloading stored ids, the next id is above them and still on the generator's step.
  odd.skip_past(10);
  CHECK(odd.make().value == "decision-11");
  even.skip_past(1'000'000'000'000);  // arithmetic, not a loop
  CHECK(even.make().value == "decision-1000000000002");
  id_generator plain{"zone"};
  plain.skip_past(41);
  CHECK(plain.make().value == "zone-42");
  plain.skip_past(3);  // below the next id: no effect
  CHECK(plain.make().value == "zone-43");
  // Reading the number back: only ids of the generator's exact shape have one.
  CHECK(id_number("zone-43", "zone") == 43);
  CHECK(id_number("offer-edge-1-7", "offer-edge-1") == 7);
  for (const auto* other : {"zone-", "zone-4x", "zone--4", "zones-4", "zone4", "svc-4", ""})
    CHECK(id_number(other, "zone") == 0);
}
