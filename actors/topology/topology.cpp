#include "actors/topology/topology.hpp"

#include "actors/domain/registrar.hpp"
#include "actors/domain/scaling.hpp"
#include "actors/domain/zone_registry.hpp"
#include "actors/evaluator/lua_evaluator.hpp"
#include "actors/gossip/agent.hpp"
#include "actors/service/instance.hpp"
#include "actors/zone/aggregation.hpp"
#include "actors/zone/zone_manager.hpp"
#include "protocols/errc.hpp"
#include "protocols/names.hpp"
#include "runtime/clock.hpp"
#include "runtime/files.hpp"
#include "runtime/logging.hpp"

#include <caf/actor_cast.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <string>

namespace fusion::topology {

using namespace protocols;

zone_builder::zone_builder(std::string name) {
  p_.name = std::move(name);
  p_.location.region = "default";
  p_.cpu_cores = 16;
  p_.memory_mb = 64 * 1024;
}

zone_builder& zone_builder::region(std::string region, double latitude, double longitude) {
  p_.location = geo_location{std::move(region), latitude, longitude};
  return *this;
}

zone_builder& zone_builder::cores(uint32_t n) {
  p_.cpu_cores = n;
  return *this;
}

zone_builder& zone_builder::memory_gb(uint64_t gb) {
  p_.memory_mb = gb * 1024;
  return *this;
}

zone_builder& zone_builder::gpu(std::string model, uint64_t memory_mb, double shader_model,
                                uint32_t count) {
  p_.gpus.push_back(gpu_spec{std::move(model), memory_mb, shader_model, count});
  return *this;
}

zone_builder& zone_builder::accelerator(std::string name) {
  p_.accelerators.push_back(std::move(name));
  return *this;
}

zone_builder& zone_builder::latency(std::string region, double ms) {
  p_.latency_ms[std::move(region)] = ms;
  return *this;
}

zone_builder& zone_builder::cost(double per_instance_hour, double per_core_hour,
                                 double per_gpu_hour) {
  p_.cost_per_instance_hour = per_instance_hour;
  p_.cost_per_core_hour = per_core_hour;
  p_.cost_per_gpu_hour = per_gpu_hour;
  return *this;
}

zone_builder& zone_builder::max_instances(uint32_t n) {
  p_.max_instances = n;
  return *this;
}

zone_builder& zone_builder::isolation(std::vector<std::string> kinds) {
  p_.isolation = std::move(kinds);
  return *this;
}

zone_builder& zone_builder::evaluator(std::string name) {
  p_.evaluators.push_back(std::move(name));
  return *this;
}

options::options() {
  auto defaults = runtime::default_config();
  placement = defaults.placement;
  evaluator = defaults.evaluator;
  instance = defaults.instance;
  deployment = defaults.deployment;
  slots = defaults.slots;
  scaling = defaults.scaling;
  monitoring = defaults.monitoring;
  gossip = defaults.gossip;
}

topology::topology(caf::actor_system& sys, options opts)
    : sys_(sys), opts_(std::move(opts)), dir_(std::make_shared<runtime::directory>()) {}

topology::topology(caf::actor_system& sys, options opts, runtime::directory_ptr dir)
    : sys_(sys), opts_(std::move(opts)), dir_(std::move(dir)) {}

options options_from(const runtime::node_config& nc) {
  options o;
  o.data_dir = nc.node.data_dir;
  o.placement = nc.placement;
  o.evaluator = nc.evaluator;
  o.instance = nc.instance;
  o.deployment = nc.deployment;
  o.slots = nc.slots;
  o.scaling = nc.scaling;
  o.monitoring = nc.monitoring;
  auto hosts_domain =
      std::find(nc.node.roles.begin(), nc.node.roles.end(), "domain") != nc.node.roles.end();
  if (!hosts_domain)
    for (const auto& p : nc.peers)
      if (p.role == "node") {
        o.registry = locator{p.name, names::zone_registry};
        break;
      }
  o.seed = nc.node.seed;
  o.gossip = nc.gossip;
  if (o.gossip.domain.empty() && hosts_domain) o.gossip.domain = nc.node.name;
  if (nc.gossip.mode != "on") return o;
  // Seeds: the peers named, else every peer this node dials; each reached at its seed entry.
  for (const auto& p : nc.peers)
    if (nc.gossip.seeds.empty() ? !p.address.empty()
                                : std::find(nc.gossip.seeds.begin(), nc.gossip.seeds.end(),
                                            p.name) != nc.gossip.seeds.end())
      o.gossip_seeds.push_back(locator{p.name, gossip::seed_name});
  for (const auto& name : nc.gossip.wan_seeds)
    o.gossip_wan_seeds.push_back(locator{name, gossip::wan_seed_name});
  if (!nc.gossip.trusted_keys.empty())
    for (const auto& k : nc.gossip.trusted_keys) o.trust.allow("*", k);
  else
    for (const auto& p : nc.peers) o.trust.allow("*", p.public_key);
  if (!nc.link.identity.empty()) {
    // The links role has loaded it already (and stopped the node if it could not).
    if (auto id = link::identity::load(nc.link.identity))
      o.identity = std::make_shared<const link::identity>(std::move(*id));
  }
  // Without one, every role of this process signs and trusts the same ephemeral key.
  if (!o.identity) o.identity = ephemeral_identity();
  o.trust.allow("*", o.identity->public_key_text());
  return o;
}

namespace {

/// The test network (options::gossip_network) as member `me`'s agent sees it; null if none.
std::function<bool(const std::string&)> network_of(const options& o, const std::string& me) {
  if (!o.gossip_network) return {};
  return [f = o.gossip_network, me](const std::string& to) { return f(me, to); };
}

}  // namespace

std::shared_ptr<const link::identity> ephemeral_identity() {
  static const auto id = [] {
    auto made = link::identity::generate();
    if (!made) throw std::runtime_error("no randomness for a key: " + describe(made.error()));
    return std::make_shared<const link::identity>(std::move(*made));
  }();
  return id;
}

const link::identity& topology::identity() {
  if (!opts_.identity) opts_.identity = ephemeral_identity();
  return *opts_.identity;
}

void topology::with_domain_agent() {
  const auto& id = identity();
  auto name = !opts_.gossip.domain.empty() ? opts_.gossip.domain
              : !dir_->node().empty()      ? dir_->node()
                                           : std::string{"domain"};
  domain_advertisement ad;
  ad.domain = name;
  ad.zone_registry = dir_->here(names::zone_registry);
  ad.registrar = dir_->here(names::registrar);
  ad.routing_manager = dir_->here(names::routing_manager);
  ad.node_id = dir_->node();
  // Versions grow across restarts: a restarted orchestrator's advertisement wins.
  ad.version = static_cast<uint64_t>(std::max<int64_t>(1, runtime::wall_now(sys_)));
  ad.latitude = opts_.gossip.latitude;
  ad.longitude = opts_.gossip.longitude;
  gossip::sign(ad, id);
  gossip::agent_config ac;
  ac.self.node_id = "domain/" + name;
  ac.self.incarnation = ad.version;
  ac.self.address = dir_->node();
  ac.self.domain = name;
  ac.protocol = gossip::params{opts_.gossip};
  ac.seed = opts_.seed;
  ac.seeds = opts_.gossip_seeds;
  ac.trust = opts_.trust;
  ac.trust.allow(name, id.public_key_text());
  ac.advertise = ad;
  ac.observers = {dir_->here(names::zone_registry)};
  ac.alias = gossip::seed_name;
  ac.network = network_of(opts_, ac.self.node_id);
  auto lan_member = ac.self.node_id;
  auto wan = ac;  // the WAN tier: the same domain among other domains' agents
  auto agent = gossip::spawn_gossip_agent(sys_, std::move(ac), dir_);
  std::lock_guard guard{mtx_};
  advertisement_ = ad;
  spawned_.push_back(caf::actor_cast<caf::actor>(agent));
  if (opts_.gossip_wan_seeds.empty()) return;
  wan.self.node_id = "wan:" + name;
  wan.seeds = opts_.gossip_wan_seeds;
  wan.observers.clear();
  wan.alias = gossip::wan_seed_name;
  wan.relay_domains = dir_->here(names::gossip(lan_member));
  wan.network = network_of(opts_, wan.self.node_id);
  spawned_.push_back(
      caf::actor_cast<caf::actor>(gossip::spawn_gossip_agent(sys_, std::move(wan), dir_)));
}

void topology::with_zone_agent(const zone_parameters& zone) {
  gossip::agent_config ac;
  ac.self.node_id = "zone/" + zone.name;
  ac.self.incarnation = static_cast<uint64_t>(std::max<int64_t>(1, runtime::wall_now(sys_)));
  ac.self.address = dir_->node();
  ac.self.zones = {zone.name};
  ac.protocol = gossip::params{opts_.gossip};
  ac.seed = opts_.seed + std::hash<std::string>{}(zone.name);
  ac.seeds = opts_.gossip_seeds.empty() ? std::vector<locator>{locator{"", gossip::seed_name}}
                                        : opts_.gossip_seeds;
  ac.trust = opts_.trust;
  // What this process signs (a domain it hosts or bootstraps) is trusted.
  ac.trust.allow("*", identity().public_key_text());
  ac.policy =
      gossip::parse_domain_policy(opts_.gossip.policy).value_or(gossip::domain_policy::first);
  ac.domain = opts_.gossip.domain;
  ac.latitude = zone.location.latitude;
  ac.longitude = zone.location.longitude;
  ac.observers = {dir_->here(names::zone_manager(zone.name))};
  ac.bootstrap_after_ms = opts_.gossip.bootstrap_after_ms;
  if (ac.bootstrap_after_ms > 0) {
    ac.bootstrap = [this]() -> std::optional<domain_advertisement> {
      with_domain();
      return advertisement();
    };
  }
  ac.network = network_of(opts_, ac.self.node_id);
  auto agent = gossip::spawn_gossip_agent(sys_, std::move(ac), dir_);
  std::lock_guard guard{mtx_};
  spawned_.push_back(caf::actor_cast<caf::actor>(agent));
}

std::optional<domain_advertisement> topology::advertisement() const {
  std::lock_guard guard{mtx_};
  return advertisement_;
}

zone::instance_launcher in_process_instances(const runtime::slots_config& slots,
                                             duration_ms session_timeout_ms) {
  return [slots, session_timeout_ms](caf::actor_system& sys, const zone::launch_spec& spec) {
    service::instance_config cfg;
    cfg.instance_id = spec.instance_id;
    cfg.service = spec.service;
    cfg.zone_name = spec.zone_name;
    cfg.report_to = spec.report_to;
    cfg.report_ms = slots.instance_report_ms;
    cfg.refresh_ms = slots.refresh_ms;
    cfg.session_timeout_ms = session_timeout_ms;
    return service::spawn_instance(sys, std::move(cfg));
  };
}

topology::~topology() {
  shutdown();
}

namespace {

std::string db_file(const std::string& dir, const char* name) {
  return dir.empty() ? std::string{} : dir + "/" + name;
}

}  // namespace

topology& topology::with_domain() {
  std::unique_lock guard{mtx_};
  domain::registrar_config rc;
  rc.db_path = db_file(opts_.data_dir, "registrar.db");
  rc.deployment = opts_.deployment;
  spawned_.push_back(caf::actor_cast<caf::actor>(domain::spawn_registrar(sys_, rc, dir_)));
  domain::zone_registry_config zc;
  zc.db_path = db_file(opts_.data_dir, "zones.db");
  zc.slots = opts_.slots;
  spawned_.push_back(caf::actor_cast<caf::actor>(domain::spawn_zone_registry(sys_, zc, dir_)));
  spawned_.push_back(
      caf::actor_cast<caf::actor>(domain::spawn_placement(sys_, opts_.placement, dir_)));
  domain::deployment_settings dc;
  dc.db_path = db_file(opts_.data_dir, "deployment.db");
  dc.deployment = opts_.deployment;
  dc.instance = opts_.instance;
  spawned_.push_back(caf::actor_cast<caf::actor>(domain::spawn_deployment(sys_, dc, dir_)));
  spawned_.push_back(
      caf::actor_cast<caf::actor>(domain::spawn_scaling(sys_, opts_.deployment, dir_)));
  guard.unlock();
  if (opts_.gossip.mode == "on") with_domain_agent();
  return *this;
}

topology& topology::with_zone(const zone_parameters& zone) {
  return with_zone(zone, {});
}

topology& topology::with_zone(const zone_parameters& zone, std::vector<locator> slot_sinks) {
  zone::zone_manager_config cfg;
  cfg.slot_sinks = std::move(slot_sinks);
  cfg.parameters = zone;
  cfg.placement = opts_.placement;
  cfg.evaluator = opts_.evaluator;
  cfg.instance = opts_.instance;
  cfg.deployment = opts_.deployment;
  cfg.slots = opts_.slots;
  cfg.scaling = opts_.scaling;
  cfg.monitoring = opts_.monitoring;
  cfg.monitoring_source = opts_.monitoring_source;
  cfg.launch = in_process_instances(opts_.slots, opts_.instance.session_timeout_ms);
  cfg.registry = opts_.registry;
  auto gossiping = opts_.gossip.mode == "on";
  if (gossiping) cfg.registry = locator{};  // its agent finds the domain
  {
    std::lock_guard guard{mtx_};
    spawned_.push_back(caf::actor_cast<caf::actor>(zone::spawn_zone_manager(sys_, cfg, dir_)));
  }
  if (gossiping) with_zone_agent(zone);
  zones_.push_back(zone.name);
  return *this;
}

topology& topology::with_router(router::router_config cfg) {
  cfg.slots = opts_.slots;
  spawned_.push_back(
      caf::actor_cast<caf::actor>(router::spawn_service_router(sys_, std::move(cfg), dir_)));
  return *this;
}

topology& topology::with_evaluator(const std::string& name, caf::actor evaluator) {
  dir_->put(names::evaluator(name), evaluator);
  spawned_.push_back(std::move(evaluator));
  return *this;
}

caf::error topology::with_evaluator_scripts(const std::vector<runtime::evaluator_script>& scripts) {
  for (const auto& s : scripts) {
    auto text = runtime::read_text_file(s.script, "Lua script");
    if (!text) return std::move(text.error());
    evaluator::lua_evaluator_config cfg;
    cfg.name = s.name;
    cfg.chunk_name = std::filesystem::path{s.script}.filename().string();
    cfg.source = std::move(*text);
    cfg.limits.instructions = s.instructions;
    cfg.limits.memory_bytes = static_cast<size_t>(s.memory_kb) * 1024;
    auto ev = evaluator::spawn_lua_evaluator(sys_, cfg);
    if (!ev) return std::move(ev.error());
    with_evaluator(s.name, caf::actor_cast<caf::actor>(*ev));
  }
  return caf::none;
}

caf::error topology::with_monitoring_script() {
  const auto& m = opts_.monitoring;
  if (m.script.empty()) return caf::none;
  auto text = runtime::read_text_file(m.script, "Lua script");
  if (!text) return std::move(text.error());
  auto checked =
      zone::manager::aggregator::load(std::filesystem::path{m.script}.filename().string(), *text,
                                      {m.instructions, static_cast<size_t>(m.memory_kb) * 1024});
  if (!checked) return std::move(checked.error());
  opts_.monitoring_source = std::move(*text);
  return caf::none;
}

registrar_actor topology::registrar() const {
  return dir_->get_as<registrar_actor>(names::registrar);
}

zone_registry_actor topology::zone_registry() const {
  return dir_->get_as<zone_registry_actor>(names::zone_registry);
}

placement_actor topology::placement() const {
  return dir_->get_as<placement_actor>(names::placement);
}

deployment_actor topology::deployment() const {
  return dir_->get_as<deployment_actor>(names::deployment);
}

service_router_actor topology::router(const std::string& name) const {
  return dir_->get_as<service_router_actor>(names::router(name));
}

zone_manager_actor topology::zone(const std::string& zone_name) const {
  return dir_->get_as<zone_manager_actor>(names::zone_manager(zone_name));
}

caf::error topology::with_zones(const std::vector<zone_parameters>& zones, duration_ms timeout_ms,
                                size_t wave) {
  for (size_t first = 0; first < zones.size(); first += wave) {
    std::vector<std::string> names;
    for (size_t i = first; i < std::min(zones.size(), first + wave); ++i) {
      with_zone(zones[i]);
      names.push_back(zones[i].name);
    }
    if (auto err = await_registrations(timeout_ms, std::move(names))) return err;
  }
  return caf::none;
}

caf::error topology::await_registrations(duration_ms timeout_ms,
                                         std::vector<std::string> pending) const {
  using namespace std::chrono;
  // No registry: nothing to wait for. A registry on another node: the zones keep asking
  // until its node is linked, whenever that is, so nodes can start in any order.
  if (!opts_.registry.node.empty() || !dir_->get(opts_.registry.actor)) return caf::none;
  caf::scoped_actor self{sys_};
  // Up to 64 zones asked at a time: one blocking round trip per zone costs a thread
  // hand-off each (seconds for 100,000 zones), while many more requests in flight slow
  // CAF 0.17 down (its request timers).
  constexpr size_t window = 64;
  using handle = caf::response_handle<caf::blocking_actor, caf::message, true>;
  caf::error failed;
  // One pass over the pending zones: keeps those not registered yet; true when none is
  // left or one failed.
  auto all_answered = [&] {
    std::vector<std::string> still;
    std::deque<std::pair<const std::string*, handle>> asked;
    size_t next = 0;
    while (next < pending.size() || !asked.empty()) {
      while (next < pending.size() && asked.size() < window) {
        const auto& name = pending[next++];
        asked.emplace_back(&name, self->request(caf::actor_cast<caf::actor>(zone(name)),
                                                milliseconds{timeout_ms}, get_zone_registration{}));
      }
      auto [name, rh] = std::move(asked.front());
      asked.pop_front();
      zone_registration r;
      rh.receive([&](zone_registration& x) { r = std::move(x); },
                 [&](caf::error& e) {
                   r.state = zone_registration_state::failed;
                   r.failure = describe(e);
                 });
      if (r.state == zone_registration_state::failed) {
        failed = make_error(errc::invalid_state, "zone " + *name +
                                                     " did not start: registration with the "
                                                     "zone registry failed: " +
                                                     r.failure);
        return true;
      }
      if (r.state != zone_registration_state::registered) still.push_back(*name);
    }
    pending = std::move(still);
    return pending.empty();
  };
  if (!runtime::poll_until(all_answered, 2 * milliseconds{timeout_ms}, milliseconds{10}))
    return make_error(errc::deadline_exceeded, "zone " + pending.front() +
                                                   " did not start: its registration got no "
                                                   "answer within " +
                                                   std::to_string(2 * timeout_ms) + " ms");
  return failed;
}

void topology::shutdown() {
  std::lock_guard guard{mtx_};
  // Zone managers own their DC agents and instances; the directory holds the rest.
  for (const auto& name : dir_->names())
    if (auto h = dir_->get(name)) caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  for (auto& h : spawned_) caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  spawned_.clear();
  dir_->clear();
}

}  // namespace fusion::topology
