// Topology tests of gossip (spec §6.2, §5.4.5; docs/gossip.md): zones that know one seed
// find their domain and register; a crashed zone is declared dead, fenced, its slots leave
// the router and its instances are placed again; a partitioned zone comes back without a
// duplicate instance or a lost registration; a zone with no domain bootstraps one. Simulated
// time, and a network the test can cut.

#include "actors/gossip/agent.hpp"
#include "actors/router/routing_manager.hpp"
#include "actors/topology/topology.hpp"
#include "protocols/names.hpp"
#include "tests/topology/slots_support.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <set>

using namespace fusion;
using namespace fusion::protocols;
using namespace std::chrono_literals;
using fusion::topology::zone_builder;

namespace {

const principal acme{"acme", role::service_provider};
const service_uri game = "fusion://acme/game";

std::string zone_name(int i) {
  return "z" + std::to_string(i);
}

struct gossip_fixture : test::det_fixture {
  std::set<std::string> cut;  // members whose messages (both ways) are lost
  fusion::topology::topology topo{sys, options()};
  fusion_id service_id;

  fusion::topology::options options(duration_ms bootstrap_after_ms = 0) {
    auto o = test::fast_slots();
    // Rows stay valid for a minute: slots that leave a level within the test left because
    // the zone was fenced, not because they expired.
    o.slots.validity_ms = 60'000;
    o.gossip.mode = "on";
    o.gossip.bootstrap_after_ms = bootstrap_after_ms;
    o.gossip_network = [this](const std::string& from, const std::string& to) {
      return cut.count(from) == 0 && cut.count(to) == 0;
    };
    return o;
  }

  /// The domain, a router managed by the routing manager, and `zones` zones that each know
  /// only the domain's seed entry.
  void domain_with_zones(int zones) {
    topo.with_domain();
    for (int i = 0; i < zones; ++i)
      topo.with_zone(zone_builder{zone_name(i)}.region("eu-west", 50 + i * 0.1, 4).cores(8),
                     {locator{"", names::router("edge")}});
    router::router_config rc;
    rc.name = "edge";
    topo.with_router(rc);
    router::routing_manager_config mc;
    router::managed_router edge;
    edge.name = "edge";
    mc.routers = {edge};
    router::spawn_routing_manager(sys, mc, topo.directory());
    run();
  }

  ~gossip_fixture() {
    if (auto rm = topo.directory()->get(names::routing_manager))
      caf::anon_send_exit(rm, caf::exit_reason::user_shutdown);
    topo.shutdown();
    run();
  }

  caf::actor agent(const std::string& member) {
    return topo.directory()->get(names::gossip(member));
  }

  /// How the domain's agent sees `member` (nullopt: unknown).
  std::optional<member_status> seen_by_domain(const std::string& member) {
    auto d = ask<membership_digest>(caf::actor_cast<gossip_actor>(agent("domain/domain")),
                                    membership_digest{});
    REQUIRE(d);
    for (const auto& m : d->members)
      if (m.node_id == member) return m.status;
    return std::nullopt;
  }

  zone_registration registration(const std::string& zone) {
    auto r = ask<zone_registration>(topo.zone(zone), get_zone_registration{});
    REQUIRE(r);
    return *r;
  }

  void register_and_deploy(uint32_t n) {
    auto yaml = "general:\n  name: " + game +
                "\ndeployment:\n  hardware:\n    cpu_cores: 1\n    memory_mb: 512\n"
                "resources:\n  sessions_per_instance: 4\n";
    auto r = ask<register_service_reply>(topo.registrar(), register_service{acme, yaml});
    REQUIRE_MESSAGE(r, describe(r.error()));
    service_id = r->service_id;
    deploy_parameters d;
    d.instances = n;
    auto dep =
        ask<deploy_service_reply>(topo.deployment(), deploy_service{acme, service_id, {}, d});
    REQUIRE_MESSAGE(dep, describe(dep.error()));
  }

  /// The game's instances on record.
  std::set<std::string> records() {
    auto d = ask<service_description>(
        topo.registrar(), query_service_by_name{acme, service_id, service_info_type::instances});
    REQUIRE_MESSAGE(d, describe(d.error()));
    std::set<std::string> out;
    for (const auto& id : d->instance_ids) out.insert(id.value);
    return out;
  }

  /// Instances zone `zone` actually hosts.
  std::set<std::string> hosted_ids(const std::string& zone) {
    auto h = ask<hosted_instances>(topo.zone(zone), list_hosted_instances{});
    REQUIRE(h);
    std::set<std::string> out;
    for (const auto& id : h->instance_ids) out.insert(id.value);
    return out;
  }

  size_t hosted(const std::string& zone) { return hosted_ids(zone).size(); }

  /// Whether any of `ids` is on record.
  bool any_on_record(const std::set<std::string>& ids) {
    auto recs = records();
    return std::any_of(ids.begin(), ids.end(), [&](const auto& id) { return recs.count(id) > 0; });
  }

  /// Zone names with slot rows of the game at level `h`.
  template <class Handle>
  std::set<std::string> slot_origins(const Handle& h) {
    auto l = ask<slot_list>(h, list_slots{game});
    REQUIRE(l);
    std::set<std::string> out;
    for (const auto& r : l->rows) out.insert(r.origin.value);
    return out;
  }

  /// A zone hosting at least one instance of the game, of `zones`.
  std::string busy_zone(int zones) {
    for (int i = 0; i < zones; ++i)
      if (hosted(zone_name(i)) > 0) return zone_name(i);
    FAIL("no zone hosts the game");
    return {};
  }

  /// Stops zone `zone`'s manager and gossip agent at once, as a crashed node would.
  void crash(const std::string& zone) {
    auto& dir = *topo.directory();
    for (const auto& name : {names::zone_manager(zone), names::gossip("zone/" + zone)}) {
      caf::anon_send_exit(dir.get(name), caf::exit_reason::kill);
      dir.erase(name);
    }
    run();
  }
};

}  // namespace

TEST_CASE_FIXTURE(gossip_fixture,
                  "twenty zones that know only the domain's seed entry find it and register") {
  domain_with_zones(20);
  pass(3s);
  for (int i = 0; i < 20; ++i) {
    INFO("zone " << zone_name(i));
    CHECK(registration(zone_name(i)).state == zone_registration_state::registered);
    CHECK(seen_by_domain("zone/" + zone_name(i)) == member_status::alive);
  }
  auto zones = ask<zone_list>(topo.zone_registry(), list_zones{});
  REQUIRE(zones);
  CHECK(zones->zones.size() == 20);
}

TEST_CASE_FIXTURE(gossip_fixture,
                  "a crashed zone is declared dead within 3 s, its slots leave the router and its "
                  "instances are placed again") {
  domain_with_zones(6);
  pass(2s);
  register_and_deploy(6);
  pass(1s);
  auto victim = busy_zone(6);
  auto lost = hosted_ids(victim);
  auto id = registration(victim).zone_id.value;
  REQUIRE(slot_origins(topo.router("edge")).count(id) == 1);
  REQUIRE(slot_origins(topo.zone_registry()).count(id) == 1);
  crash(victim);
  pass(3s);
  CHECK(seen_by_domain("zone/" + victim) == member_status::dead);
  // Its slots are gone from the registry and the router (rows would expire only after the
  // validity period: refreshed every 300 ms, they stay valid for a second after each).
  CHECK(slot_origins(topo.zone_registry()).count(id) == 0);
  CHECK(slot_origins(topo.router("edge")).count(id) == 0);
  pass(1s);
  // Its instances are off the record and as many run elsewhere.
  CHECK_FALSE(any_on_record(lost));
  CHECK(records().size() == 6);
  size_t running = 0;
  for (int i = 0; i < 6; ++i)
    if (zone_name(i) != victim) running += hosted(zone_name(i));
  CHECK(running == 6);
  // No registration is lost: the zone is fenced, not deleted.
  auto zones = ask<zone_list>(topo.zone_registry(), list_zones{});
  REQUIRE(zones);
  CHECK(zones->zones.size() == 6);
}

TEST_CASE_FIXTURE(gossip_fixture,
                  "a partitioned zone comes back, registers again and keeps no duplicate "
                  "instance") {
  domain_with_zones(5);
  pass(2s);
  register_and_deploy(5);
  pass(1s);
  auto victim = busy_zone(5);
  auto start = registration(victim).start;
  auto id = registration(victim).zone_id.value;
  auto lost = hosted_ids(victim);
  std::map<std::string, uint32_t> starts;
  for (int i = 0; i < 5; ++i) starts[zone_name(i)] = registration(zone_name(i)).start;
  cut.insert("zone/" + victim);
  pass(5s);
  CHECK(seen_by_domain("zone/" + victim) == member_status::dead);
  CHECK_FALSE(any_on_record(lost));
  CHECK(slot_origins(topo.router("edge")).count(id) == 0);
  cut.clear();
  pass(5s);
  CHECK(seen_by_domain("zone/" + victim) == member_status::alive);
  auto back = registration(victim);
  CHECK(back.state == zone_registration_state::registered);
  CHECK(back.start > start);
  // What was placed again elsewhere no longer runs in the zone that came back.
  CHECK(hosted(victim) == 0);
  size_t running = 0;
  for (int i = 0; i < 5; ++i) running += hosted(zone_name(i));
  CHECK(running == 5);
  CHECK(records().size() == 5);
  // The cut-off zone declared everyone else dead meanwhile; once healed, its claims were
  // refuted: no other zone was fenced (none had to register again).
  for (int i = 0; i < 5; ++i)
    if (zone_name(i) != victim) CHECK(registration(zone_name(i)).start == starts[zone_name(i)]);
}

/// Topologies built by the test itself, stopped (and their exits run) however it ends.
struct topologies_fixture : test::det_fixture {
  std::vector<std::unique_ptr<fusion::topology::topology>> built;

  fusion::topology::topology& make(fusion::topology::options o, runtime::directory_ptr dir = {}) {
    built.push_back(dir ? std::make_unique<fusion::topology::topology>(sys, std::move(o), dir)
                        : std::make_unique<fusion::topology::topology>(sys, std::move(o)));
    return *built.back();
  }

  ~topologies_fixture() {
    for (auto& t : built) t->shutdown();
    run();
  }
};

fusion::topology::options gossiping() {
  auto o = test::fast_slots();
  o.gossip.mode = "on";
  return o;
}

TEST_CASE_FIXTURE(topologies_fixture,
                  "a zone that finds no domain bootstraps one and registers with it") {
  auto o = gossiping();
  o.gossip.bootstrap_after_ms = 500;
  auto& topo = make(o);
  topo.with_zone(zone_builder{"lonely"}.region("eu-west", 50, 4).cores(4));
  run();
  pass(300ms);
  CHECK_FALSE(topo.directory()->get(names::zone_registry));
  pass(1s);
  REQUIRE(topo.directory()->get(names::zone_registry));
  auto r = ask<zone_registration>(topo.zone("lonely"), get_zone_registration{});
  REQUIRE(r);
  CHECK(r->state == zone_registration_state::registered);
}

TEST_CASE_FIXTURE(topologies_fixture,
                  "a zone learns another domain's advertisement over the WAN pool and joins it") {
  // Two domains on two "nodes" (directories that resolve each other's locators, as links
  // would): A's and B's WAN agents know each other; a zone seeded by A's agent, told to join
  // B, gets B's advertisement relayed through A's WAN agent and registers with B.
  auto dir_a = std::make_shared<runtime::directory>();
  auto dir_b = std::make_shared<runtime::directory>();
  dir_a->set_node("node-a");
  dir_b->set_node("node-b");
  dir_a->set_remote_resolver([dir_b](const locator& l) {
    return l.node == "node-b" ? dir_b->get(l.actor) : caf::actor{};
  });
  dir_b->set_remote_resolver([dir_a](const locator& l) {
    return l.node == "node-a" ? dir_a->get(l.actor) : caf::actor{};
  });
  auto opts = [](const std::string& domain, const std::string& other_node) {
    auto o = gossiping();
    o.gossip.domain = domain;
    o.gossip_wan_seeds = {locator{other_node, gossip::wan_seed_name}};
    // Both domains sign with this process's key; each trusts it for any domain, as a node
    // trusts its peers' keys.
    o.trust.allow("*", fusion::topology::ephemeral_identity()->public_key_text());
    return o;
  };
  auto& a = make(opts("domain-a", "node-b"), dir_a);
  auto& b = make(opts("domain-b", "node-a"), dir_b);
  a.with_domain();
  b.with_domain();
  auto zo = opts("domain-a", "node-b");
  zo.gossip.policy = "named";
  zo.gossip.domain = "domain-b";
  zo.gossip_wan_seeds.clear();
  auto& zones = make(zo, dir_a);
  zones.with_zone(zone_builder{"wanderer"}.region("eu-west", 50, 4).cores(4));
  run();
  pass(3s);
  auto r = ask<zone_registration>(zones.zone("wanderer"), get_zone_registration{});
  REQUIRE(r);
  CHECK(r->state == zone_registration_state::registered);
  auto in_b = ask<zone_list>(b.zone_registry(), list_zones{});
  REQUIRE(in_b);
  REQUIRE(in_b->zones.size() == 1);
  CHECK(in_b->zones[0].parameters.name == "wanderer");
  auto in_a = ask<zone_list>(a.zone_registry(), list_zones{});
  REQUIRE(in_a);
  CHECK(in_a->zones.empty());
}
