#include "actors/domain/registrar.hpp"

#include "protocols/names.hpp"
#include "runtime/store.hpp"
#include "tests/support/det_fixture.hpp"
#include "tests/unit/domain/domain_test_support.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <doctest/doctest.h>

#include <map>

using namespace fusion;
using namespace fusion::protocols;
using namespace std::chrono_literals;

namespace {

/// What the fake deployment function saw, and how it should answer.
struct fake_log {
  enum mode_t { answer, fail, silent } mode = answer;
  bool stop_fails = false;
  std::vector<deploy_service> deploys;  ///< Every request that may deploy.
  size_t listings = 0;                  ///< Requests for the instances on record (ensure 0).
  std::map<fusion_id, std::vector<fusion_id>> deployed;  ///< By ServiceID.
  std::vector<stop_service_instances> stops;
  std::vector<caf::typed_response_promise<deploy_service_reply>> parked;
};

deployment_actor::behavior_type fake_deployment(deployment_actor::pointer self,
                                                std::shared_ptr<fake_log> log) {
  return {
      [=](deploy_service& req) -> caf::result<deploy_service_reply> {
        deploy_service_reply out;
        auto& have = log->deployed[req.service_id];
        if (req.ensure && req.deploy.instances == 0) {
          ++log->listings;
          out.existing_ids = have;
          return out;
        }
        log->deploys.push_back(req);
        if (log->mode == fake_log::fail)
          return make_error(errc::no_feasible_zone, "no zone can host it");
        if (log->mode == fake_log::silent) {
          auto rp = self->make_response_promise<deploy_service_reply>();
          log->parked.push_back(rp);
          return rp;
        }
        auto n = req.deploy.instances;
        if (req.ensure) {
          out.existing_ids = have;
          n = n > have.size() ? n - static_cast<uint32_t>(have.size()) : 0;
        }
        for (uint32_t i = 1; i <= n; ++i) {
          out.instance_ids.push_back({"inst-" + std::to_string(have.size() + 1)});
          have.push_back(out.instance_ids.back());
        }
        return out;
      },
      [=](stop_service_instances& req) -> caf::result<status_reply> {
        log->stops.push_back(req);
        if (log->stop_fails) return status_reply{status::failed, "zone edge-1 did not answer"};
        return status_reply{status::ok, {}};
      },
      [=](reconcile_instances&) { return instances_reconciled{}; },
      [=](zone_instances_changed&) {
        return status_reply{status::ok, "recorded"};
      },
      [=](const zone_availability&) {},
  };
}

std::string manifest_yaml(const std::string& name, const std::string& extra = "") {
  return "general:\n  name: " + name + "\n" + extra;
}

struct registrar_fixture : test::det_fixture {
  test::temp_dir tmp;
  runtime::directory_ptr dir = std::make_shared<runtime::directory>();
  std::shared_ptr<fake_log> log = std::make_shared<fake_log>();

  registrar_actor spawn_registrar(std::string db_path = "") {
    domain::registrar_config cfg;
    cfg.db_path = db_path.empty() ? tmp.file("registrar.db") : db_path;
    auto h = domain::spawn_registrar(sys, cfg, dir);
    run();
    return h;
  }

  void add_fake_deployment() {
    dir->put(names::deployment, caf::actor_cast<caf::actor>(sys.spawn(fake_deployment, log)));
    run();
  }

  void kill(const registrar_actor& h) {
    caf::anon_send_exit(h, caf::exit_reason::kill);
    run();
  }

  caf::expected<register_service_reply> register_as(const registrar_actor& reg,
                                                    const principal& who, const std::string& yaml) {
    return ask<register_service_reply>(reg, register_service{who, yaml});
  }

  caf::expected<service_description> query(const registrar_actor& reg, const principal& who,
                                           const std::string& id,
                                           service_info_type type = service_info_type::summary) {
    return ask<service_description>(reg, query_service_by_name{who, {id}, type});
  }

  ~registrar_fixture() {
    for (const auto& name : dir->names())
      caf::anon_send_exit(dir->get(name), caf::exit_reason::kill);
    dir->clear();
    run();
  }
};

}  // namespace

TEST_CASE_FIXTURE(registrar_fixture, "registrar: a valid manifest gets a ServiceID") {
  auto reg = spawn_registrar();
  CHECK(dir->get(names::registrar) == caf::actor_cast<caf::actor>(reg));
  auto r = register_as(reg, test::acme, manifest_yaml("fusion://acme/x"));
  REQUIRE_MESSAGE(r, describe(r.error()));
  CHECK(r->service_id.value == "svc-1");
  CHECK(r->name == "fusion://acme/x");
  CHECK(r->pre_deployed.empty());
  auto by_id = query(reg, test::evil, "svc-1");
  REQUIRE(by_id);
  CHECK(by_id->record.parsed.name == "fusion://acme/x");
  CHECK(by_id->record.owner == test::acme);
  CHECK(by_id->record.revision == 1);
  CHECK(by_id->record.manifest_yaml.empty());  // the summary carries no manifest
  CHECK(by_id->details.at("owner") == "acme");
  auto by_name = query(reg, test::evil, "fusion://acme/x");
  REQUIRE(by_name);
  CHECK(by_name->record.service_id.value == "svc-1");
}

TEST_CASE_FIXTURE(registrar_fixture, "registrar: invalid and duplicate registrations are refused") {
  auto reg = spawn_registrar();
  auto bad_yaml = register_as(reg, test::acme, "general: [\n");
  REQUIRE_FALSE(bad_yaml);
  CHECK(is(bad_yaml.error(), errc::invalid_manifest));
  CHECK(reason_of(bad_yaml.error()).find("YAML syntax error") != std::string::npos);
  auto no_name = register_as(reg, test::acme, "general:\n  version: '2'\n");
  REQUIRE_FALSE(no_name);
  CHECK(reason_of(no_name.error()) ==
        "manifest:1: general.name: missing; every manifest needs a name like "
        "fusion://<provider>/<service>");
  auto gpus = register_as(reg, test::acme,
                          manifest_yaml("fusion://acme/x",
                                        "deployment:\n  hardware:\n    gpus: "
                                        "two\n"));
  REQUIRE_FALSE(gpus);
  CHECK(reason_of(gpus.error()) ==
        "manifest:5: deployment.hardware.gpus: expected a non-negative integer, found 'two'");
  auto first = register_as(reg, test::acme, manifest_yaml("fusion://acme/x"));
  REQUIRE(first);
  CHECK(first->service_id.value == "svc-1");  // refusals consumed no ids
  auto dup = register_as(reg, test::evil, manifest_yaml("fusion://acme/x", "  version: '9'\n"));
  REQUIRE_FALSE(dup);
  CHECK(is(dup.error(), errc::duplicate_service));
  CHECK(reason_of(dup.error()).find("already registered as svc-1") != std::string::npos);
  auto still = query(reg, test::acme, "svc-1", service_info_type::manifest);
  REQUIRE(still);
  CHECK(still->record.owner == test::acme);
  CHECK(still->record.parsed.version == "1");
}

TEST_CASE_FIXTURE(registrar_fixture, "registrar: acknowledged services survive a restart") {
  auto reg = spawn_registrar();
  REQUIRE(register_as(reg, test::acme, manifest_yaml("fusion://acme/a")));
  REQUIRE(register_as(reg, test::acme, manifest_yaml("fusion://acme/b")));
  REQUIRE(register_as(reg, test::acme, manifest_yaml("fusion://acme/c")));
  REQUIRE(
      ask<status_reply>(reg, update_service{test::acme, "fusion://acme/a",
                                            manifest_yaml("fusion://acme/a", "  version: '2'\n")}));
  REQUIRE(ask<status_reply>(reg, unregister_service{test::acme, {"svc-3"}, false}));
  kill(reg);
  auto reg2 = spawn_registrar();
  CHECK(dir->get(names::registrar) == caf::actor_cast<caf::actor>(reg2));
  auto a = query(reg2, test::acme, "fusion://acme/a", service_info_type::manifest);
  REQUIRE_MESSAGE(a, describe(a.error()));
  CHECK(a->record.service_id.value == "svc-1");
  CHECK(a->record.revision == 2);
  CHECK(a->record.parsed.version == "2");
  CHECK(a->record.manifest_yaml == manifest_yaml("fusion://acme/a", "  version: '2'\n"));
  CHECK(query(reg2, test::acme, "svc-2"));
  auto gone = query(reg2, test::acme, "svc-3");
  REQUIRE_FALSE(gone);
  CHECK(is(gone.error(), errc::unknown_service));
  // New ids continue above the highest ever issued (svc-3 was unregistered), names stay
  // unique.
  auto d = register_as(reg2, test::acme, manifest_yaml("fusion://acme/d"));
  REQUIRE(d);
  CHECK(d->service_id.value == "svc-4");
  auto dup = register_as(reg2, test::evil, manifest_yaml("fusion://acme/b"));
  REQUIRE_FALSE(dup);
  CHECK(is(dup.error(), errc::duplicate_service));
}

TEST_CASE_FIXTURE(
    registrar_fixture,
    "registrar: its owner registering a service again reconciles it, across restarts") {
  auto reg = spawn_registrar();
  auto a = manifest_yaml("fusion://acme/a");
  REQUIRE(register_as(reg, test::acme, a));
  REQUIRE(register_as(reg, test::acme, manifest_yaml("fusion://acme/b")));
  for (int restart = 0; restart < 2; ++restart) {
    kill(reg);
    reg = spawn_registrar();
    // The same manifest: the same registration, nothing written.
    auto same = register_as(reg, test::acme, a);
    REQUIRE_MESSAGE(same, describe(same.error()));
    CHECK(same->service_id.value == "svc-1");
    auto rec = query(reg, test::acme, "svc-1", service_info_type::manifest);
    REQUIRE(rec);
    CHECK(rec->record.revision == 1);
  }
  // A changed manifest: the same ServiceID at the next revision, durably.
  auto changed = manifest_yaml("fusion://acme/a", "  version: '2'\n");
  auto upd = register_as(reg, test::acme, changed);
  REQUIRE(upd);
  CHECK(upd->service_id.value == "svc-1");
  kill(reg);
  reg = spawn_registrar();
  auto rec = query(reg, test::acme, "fusion://acme/a", service_info_type::manifest);
  REQUIRE(rec);
  CHECK(rec->record.revision == 2);
  CHECK(rec->record.manifest_yaml == changed);
  // Another principal cannot take the name over, and new services get new ids.
  auto other = register_as(reg, test::evil, a);
  REQUIRE_FALSE(other);
  CHECK(is(other.error(), errc::duplicate_service));
  auto c = register_as(reg, test::acme, manifest_yaml("fusion://acme/c"));
  REQUIRE(c);
  CHECK(c->service_id.value == "svc-3");
}

TEST_CASE_FIXTURE(registrar_fixture, "registrar: logs through the configured logger") {
  test::temp_dir logs;
  const runtime::log_config json{"info", "json", logs.file("node.log")};
  REQUIRE_FALSE(runtime::setup_logging(json));
  auto reg = spawn_registrar("/nonexistent-dir-for-fusion-tests/registrar.db");
  auto ok = spawn_registrar(tmp.file("other.db"));
  REQUIRE(register_as(ok, test::acme, manifest_yaml("fusion://acme/a")));
  REQUIRE(register_as(ok, test::acme, manifest_yaml("fusion://acme/a")));  // logs "reused"
  runtime::flush_logs();
  auto text = test::read_text(json.file);
  REQUIRE_FALSE(runtime::setup_logging(runtime::log_config{"error", "text", ""}));
  CHECK(
      text.find(
          R"("level":"error","component":"registrar","msg":"storage_failure: store: cannot open)") !=
      std::string::npos);
  CHECK(text.find(R"("level":"info","component":"registrar")") != std::string::npos);
}

TEST_CASE_FIXTURE(registrar_fixture,
                  "registrar: a corrupt stored record is skipped and its id is not reused") {
  auto path = tmp.file("registrar.db");
  {
    auto reg = spawn_registrar(path);
    REQUIRE(register_as(reg, test::acme, manifest_yaml("fusion://acme/a")));
    kill(reg);
    auto db = runtime::store::open(path);
    REQUIRE(db);
    REQUIRE_FALSE((*db)->put(domain::services_table, "svc-7", {'\x01', '\x02'}));
  }
  auto reg = spawn_registrar(path);
  CHECK(query(reg, test::acme, "svc-1"));
  auto next = register_as(reg, test::acme, manifest_yaml("fusion://acme/b"));
  REQUIRE(next);
  CHECK(next->service_id.value == "svc-8");
}

TEST_CASE_FIXTURE(registrar_fixture, "registrar: a store failure acknowledges nothing") {
  auto reg = spawn_registrar("/nonexistent-dir-for-fusion-tests/registrar.db");
  auto r = register_as(reg, test::acme, manifest_yaml("fusion://acme/x"));
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::storage_failure));
  CHECK(reason_of(r.error()).find("/nonexistent-dir-for-fusion-tests/registrar.db") !=
        std::string::npos);
  auto q = query(reg, test::acme, "fusion://acme/x");
  REQUIRE_FALSE(q);
  CHECK(is(q.error(), errc::storage_failure));
}

TEST_CASE_FIXTURE(registrar_fixture,
                  "registrar: a provider cannot touch another provider's service") {
  auto reg = spawn_registrar();
  REQUIRE(register_as(reg, test::acme, manifest_yaml("fusion://acme/x", "  keywords: [video]\n")));
  auto upd = ask<status_reply>(
      reg,
      update_service{test::evil, "svc-1", manifest_yaml("fusion://acme/x", "  version: '6'\n")});
  REQUIRE_FALSE(upd);
  CHECK(is(upd.error(), errc::not_authorized));
  CHECK(reason_of(upd.error()) ==
        "principal 'evil' may not update fusion://acme/x (svc-1): it belongs to 'acme'; only its "
        "owner or a domain admin may");
  auto unreg = ask<status_reply>(reg, unregister_service{test::evil, {"svc-1"}, true});
  REQUIRE_FALSE(unreg);
  CHECK(is(unreg.error(), errc::not_authorized));
  auto man = query(reg, test::evil, "svc-1", service_info_type::manifest);
  REQUIRE_FALSE(man);
  CHECK(is(man.error(), errc::not_authorized));
  auto inst = query(reg, test::evil, "svc-1", service_info_type::instances);
  REQUIRE_FALSE(inst);
  CHECK(is(inst.error(), errc::not_authorized));
  // Anyone may see the summary and find it by category.
  CHECK(query(reg, test::evil, "svc-1"));
  auto cat = ask<service_list>(reg, query_service_by_category{test::evil, {"video"}});
  REQUIRE(cat);
  CHECK(cat->service_names == std::vector<std::string>{"fusion://acme/x"});
  // The refused update changed nothing; a domain admin may do everything.
  auto adm = query(reg, test::root, "svc-1", service_info_type::manifest);
  REQUIRE(adm);
  CHECK(adm->record.revision == 1);
  CHECK(adm->record.manifest_yaml == manifest_yaml("fusion://acme/x", "  keywords: [video]\n"));
  REQUIRE(ask<status_reply>(reg,
                            update_service{test::root, "svc-1", manifest_yaml("fusion://acme/x")}));
  auto bye = ask<status_reply>(reg, unregister_service{test::root, {"svc-1"}, false});
  REQUIRE(bye);
  CHECK(bye->code == status::ok);
  CHECK_FALSE(query(reg, test::acme, "svc-1"));
}

TEST_CASE_FIXTURE(registrar_fixture, "registrar: unknown ServiceIDs and names are reported") {
  auto reg = spawn_registrar();
  auto q = query(reg, test::root, "svc-42");
  REQUIRE_FALSE(q);
  CHECK(is(q.error(), errc::unknown_service));
  CHECK(reason_of(q.error()).find("'svc-42'") != std::string::npos);
  auto u = ask<status_reply>(reg, unregister_service{test::root, {"fusion://acme/none"}, false});
  REQUIRE_FALSE(u);
  CHECK(is(u.error(), errc::unknown_service));
  auto up = ask<status_reply>(
      reg, update_service{test::root, "fusion://acme/none", manifest_yaml("fusion://acme/none")});
  REQUIRE_FALSE(up);
  CHECK(is(up.error(), errc::unknown_service));
}

TEST_CASE_FIXTURE(registrar_fixture,
                  "registrar: an update raises the revision and keeps the name") {
  auto reg = spawn_registrar();
  REQUIRE(register_as(reg, test::acme, manifest_yaml("fusion://acme/x")));
  auto ok = ask<status_reply>(
      reg,
      update_service{test::acme, "fusion://acme/x",
                     manifest_yaml("fusion://acme/x", "resources:\n  sessions_per_instance: 4\n")});
  REQUIRE(ok);
  CHECK(ok->detail.find("revision 2") != std::string::npos);
  auto renamed = ask<status_reply>(
      reg, update_service{test::acme, "fusion://acme/x", manifest_yaml("fusion://acme/y")});
  REQUIRE_FALSE(renamed);
  CHECK(is(renamed.error(), errc::invalid_manifest));
  CHECK(reason_of(renamed.error()).find("cannot be renamed") != std::string::npos);
  auto invalid = ask<status_reply>(
      reg,
      update_service{test::acme, "svc-1",
                     manifest_yaml("fusion://acme/x", "resources:\n  sessions_per_instance: 0\n")});
  REQUIRE_FALSE(invalid);
  CHECK(is(invalid.error(), errc::invalid_manifest));
  auto d = query(reg, test::acme, "svc-1", service_info_type::manifest);
  REQUIRE(d);
  CHECK(d->record.revision == 2);
  CHECK(d->record.parsed.sessions_per_instance == 4);
}

TEST_CASE_FIXTURE(registrar_fixture,
                  "registrar: category queries match all categories or keywords, ignoring case") {
  auto reg = spawn_registrar();
  REQUIRE(register_as(reg, test::acme,
                      manifest_yaml("fusion://acme/game",
                                    "  categories: [Gaming]\n  keywords: "
                                    "[gpu, streaming]\n")));
  REQUIRE(register_as(reg, test::acme,
                      manifest_yaml("fusion://acme/tv",
                                    "  categories: [media]\n  keywords: "
                                    "[streaming]\n")));
  REQUIRE(register_as(reg, test::evil, manifest_yaml("fusion://evil/a", "  keywords: [GPU]\n")));
  auto names = [&](std::vector<std::string> cats) {
    auto r = ask<service_list>(reg, query_service_by_category{test::evil, std::move(cats)});
    REQUIRE(r);
    return r->service_names;
  };
  CHECK(names({"streaming"}) == std::vector<std::string>{"fusion://acme/game", "fusion://acme/tv"});
  CHECK(names({"gpu"}) == std::vector<std::string>{"fusion://acme/game", "fusion://evil/a"});
  CHECK(names({"gaming", "STREAMING"}) == std::vector<std::string>{"fusion://acme/game"});
  CHECK(names({"gaming", "media"}).empty());
  CHECK(names({}).size() == 3);
}

TEST_CASE_FIXTURE(registrar_fixture,
                  "registrar: pre_deploy_instances asks the deployment function for instances") {
  add_fake_deployment();
  auto reg = spawn_registrar();
  auto r = register_as(reg, test::acme,
                       manifest_yaml("fusion://acme/x", "policies:\n  pre_deploy_instances: 2\n"));
  REQUIRE_MESSAGE(r, describe(r.error()));
  CHECK(r->pre_deployed == std::vector<fusion_id>{{"inst-1"}, {"inst-2"}});
  REQUIRE(log->deploys.size() == 1);
  CHECK(log->deploys[0].caller == test::acme);
  CHECK(log->deploys[0].service_id == r->service_id);
  CHECK(log->deploys[0].deploy.instances == 2);
  CHECK(log->deploys[0].ensure);
  auto inst = query(reg, test::acme, "svc-1", service_info_type::instances);
  REQUIRE(inst);
  CHECK(inst->instance_ids == r->pre_deployed);
  CHECK(log->listings == 1);
  // Its owner registers it again (a retry, a restart): the two run, nothing is deployed.
  auto again = register_as(
      reg, test::acme, manifest_yaml("fusion://acme/x", "policies:\n  pre_deploy_instances: 2\n"));
  REQUIRE_MESSAGE(again, describe(again.error()));
  CHECK(again->pre_deployed.empty());
  CHECK(log->deployed[r->service_id].size() == 2);
  // No pre-deployment asked: the deployment function is not bothered.
  auto deploys = log->deploys.size();
  REQUIRE(register_as(reg, test::acme, manifest_yaml("fusion://acme/y")));
  CHECK(log->deploys.size() == deploys);
}

TEST_CASE_FIXTURE(registrar_fixture,
                  "registrar: registration succeeds when pre-deployment is impossible") {
  auto reg = spawn_registrar();
  auto pre = "policies:\n  pre_deploy_instances: 1\n";
  SUBCASE("no deployment function") {
    auto r = register_as(reg, test::acme, manifest_yaml("fusion://acme/x", pre));
    REQUIRE(r);
    CHECK(r->pre_deployed.empty());
  }
  SUBCASE("the deployment function fails") {
    log->mode = fake_log::fail;
    add_fake_deployment();
    auto r = register_as(reg, test::acme, manifest_yaml("fusion://acme/x", pre));
    REQUIRE(r);
    CHECK(r->pre_deployed.empty());
    CHECK(log->deploys.size() == 1);
  }
  SUBCASE("the deployment function does not answer in time") {
    log->mode = fake_log::silent;
    add_fake_deployment();
    self->send(reg, register_service{test::acme, manifest_yaml("fusion://acme/x", pre)});
    run();
    CHECK(self->mailbox().empty());  // still waiting for deployment
    advance(std::chrono::milliseconds{runtime::default_config().deployment.step_timeout_ms});
    self->receive([&](register_service_reply& x) { CHECK(x.pre_deployed.empty()); },
                  [&](caf::error& e) { FAIL(describe(e)); },
                  caf::after(0s) >> [] { FAIL("no answer after the deploy timeout"); });
  }
  CHECK(query(reg, test::acme, "fusion://acme/x"));
}

TEST_CASE_FIXTURE(registrar_fixture,
                  "registrar: unregister with stop_services stops instances first") {
  add_fake_deployment();
  auto reg = spawn_registrar();
  REQUIRE(register_as(reg, test::acme, manifest_yaml("fusion://acme/x")));
  log->stop_fails = true;
  auto refused = ask<status_reply>(reg, unregister_service{test::acme, {"svc-1"}, true});
  REQUIRE_FALSE(refused);
  CHECK(is(refused.error(), errc::invalid_state));
  CHECK(reason_of(refused.error()).find("zone edge-1 did not answer") != std::string::npos);
  CHECK(query(reg, test::acme, "svc-1"));  // kept
  log->stop_fails = false;
  auto ok = ask<status_reply>(reg, unregister_service{test::acme, {"fusion://acme/x"}, true});
  REQUIRE(ok);
  CHECK(ok->code == status::ok);
  REQUIRE(log->stops.size() == 2);
  CHECK(log->stops[1].service_id.value == "svc-1");
  CHECK_FALSE(query(reg, test::acme, "svc-1"));
}

TEST_CASE("registrar: registered_at is wall time, the same after a restart under other clocks") {
  test::temp_dir tmp;
  domain::registrar_config cfg;
  cfg.db_path = tmp.file("registrar.db");
  const timestamp_ms day_ms = 24LL * 3600 * 1000;
  const timestamp_ms first_wall = test::det_fixture::default_wall_clock_ms;
  auto registered_at = [](test::det_fixture& fx, const registrar_actor& reg,
                          const std::string& name) -> timestamp_ms {
    auto d = fx.ask<service_description>(
        reg, query_service_by_name{test::acme, {name}, service_info_type::manifest});
    REQUIRE_MESSAGE(d, describe(d.error()));
    return d->record.registered_at;
  };
  {
    test::det_fixture first{first_wall, 1h};
    auto reg = domain::spawn_registrar(first.sys, cfg, std::make_shared<runtime::directory>());
    first.run();
    REQUIRE(first.ask<register_service_reply>(
        reg, register_service{test::acme, manifest_yaml("fusion://acme/a")}));
    CHECK(registered_at(first, reg, "fusion://acme/a") == first_wall);
    caf::anon_send_exit(reg, caf::exit_reason::kill);
    first.run();
  }
  // The restarted process's clocks share nothing with the first one's: its monotonic clock
  // starts elsewhere and its wall clock reads a day later.
  test::det_fixture second{first_wall + day_ms, 300h};
  auto reg = domain::spawn_registrar(second.sys, cfg, std::make_shared<runtime::directory>());
  second.run();
  CHECK(registered_at(second, reg, "fusion://acme/a") == first_wall);
  REQUIRE(second.ask<register_service_reply>(
      reg, register_service{test::acme, manifest_yaml("fusion://acme/b")}));
  CHECK(registered_at(second, reg, "fusion://acme/b") == first_wall + day_ms);
  caf::anon_send_exit(reg, caf::exit_reason::kill);
  second.run();
}
