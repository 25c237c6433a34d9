#include "actors/topology/demo.hpp"

#include "actors/domain/select.hpp"
#include "actors/gossip/agent.hpp"
#include "actors/topology/session_demo.hpp"
#include "actors/topology/topology.hpp"
#include "protocols/gossip.hpp"
#include "protocols/names.hpp"
#include "protocols/zone_management.hpp"
#include "protocols/zone_orchestration.hpp"
#include "runtime/clock.hpp"
#include "runtime/files.hpp"
#include "runtime/manifest.hpp"
#include "runtime/system.hpp"

#include <caf/scoped_actor.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <set>

namespace fusion::topology {

using namespace protocols;

namespace {

using std::chrono::milliseconds;

/// How long the services role waits for other nodes: for the zones of node.await_zones to
/// register over their links, or for the link to the domain's node to come up.
constexpr milliseconds other_nodes_wait{30'000};

// Blocking request from bootstrap code (never from an actor): the answer or the error.
template <class Reply, class Handle, class Request>
caf::expected<Reply> call(caf::scoped_actor& self, const Handle& dst, Request req,
                          duration_ms timeout = 10'000) {
  caf::expected<Reply> res{caf::sec::request_timeout};
  self->request(dst, milliseconds{timeout}, std::move(req))
      .receive([&](Reply& x) { res = std::move(x); }, [&](caf::error& e) { res = std::move(e); });
  return res;
}

// Zones of `zones` whose manager this node can reach: here, or over a link that is up.
size_t reachable_zones(const runtime::directory& dir, const zone_list& zones) {
  return static_cast<size_t>(std::count_if(
      zones.zones.begin(), zones.zones.end(),
      [&](const zone_record& z) { return static_cast<bool>(dir.resolve(z.manager)); }));
}

// Polls the zone registry until `expected` zones are registered and reachable (a zone on
// another node counts once its node is linked, not for its record from an earlier start)
// or `settle_ms` passes. Returns every registered zone.
caf::expected<zone_list> wait_for_zones(caf::scoped_actor& self, const runtime::directory& dir,
                                        const zone_registry_actor& reg, size_t expected,
                                        duration_ms settle_ms) {
  caf::expected<zone_list> zones{caf::sec::request_timeout};
  runtime::poll_until(
      [&] {
        zones = call<zone_list>(self, reg, list_zones{});
        return !zones || reachable_zones(dir, *zones) >= expected;
      },
      milliseconds{settle_ms});
  return zones;
}

/// Who gossips with this node's domain agent, and how the zones found the domain.
void print_gossip(std::ostream& out, caf::scoped_actor& self, const runtime::directory& dir) {
  auto agent = dir.get_as<gossip_actor>(gossip::seed_name);
  if (!agent) return;
  auto view = call<membership_digest>(self, agent, membership_digest{});
  if (!view) return;
  std::vector<std::string> zones;
  size_t alive = 0;
  for (const auto& m : view->members) {
    alive += m.status == member_status::alive ? 1 : 0;
    // With gossip on, a zone registers only once its agent has found the domain.
    if (!m.zones.empty() && m.status == member_status::alive) zones.push_back(m.zones.front());
  }
  out << "gossip: " << alive << " members alive; " << zones.size() << " zone(s) found domain '"
      << (view->domains.empty() ? "?" : view->domains.front().domain)
      << "' by its signed advertisement and registered:";
  for (const auto& z : zones) out << " " << z;
  out << "\n";
}

void print_zones(std::ostream& out, const zone_list& zones) {
  out << "zones (" << zones.zones.size() << "):\n";
  for (const auto& z : zones.zones) {
    const auto& p = z.parameters;
    out << "  " << std::left << std::setw(18) << p.name << std::setw(11) << p.location.region
        << std::right << std::setw(5) << p.cpu_cores << " cores " << std::setw(5)
        << p.memory_mb / 1024 << " GiB";
    for (const auto& g : p.gpus)
      out << "  " << g.count << "x " << g.model << " (sm " << g.shader_model << ")";
    for (const auto& a : p.accelerators) out << "  +" << a;
    out << "  cost " << p.cost_per_instance_hour << "/inst-h + " << p.cost_per_core_hour
        << "/core-h";
    if (p.cost_per_gpu_hour > 0) out << " + " << p.cost_per_gpu_hour << "/gpu-h";
    out << "\n";
  }
}

std::string indent(const std::string& text, const std::string& prefix) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    auto end = nl == std::string::npos ? text.size() : nl + 1;
    out += prefix + text.substr(pos, end - pos);
    pos = end;
  }
  return out;
}

bool hosts(const runtime::node_config& nc, const char* role) {
  return std::find(nc.node.roles.begin(), nc.node.roles.end(), role) != nc.node.roles.end();
}

/// Total instances a [[service]] entry wants: its deploy count on top of pre-deployment,
/// or 0 (only list those on record) when it asks for no deployment of its own.
uint32_t wanted_total(const runtime::service_entry& entry, const register_service_reply& reg,
                      const caf::expected<service_description>& desc) {
  if (entry.deploy == 0) return 0;
  uint32_t pre = desc ? desc->record.parsed.pre_deploy_instances
                      : static_cast<uint32_t>(reg.pre_deployed.size());
  return pre + static_cast<uint32_t>(entry.deploy);
}

/// Registers the manifest of `entry` with `registrar`; an error names the manifest's path.
caf::expected<register_service_reply> register_entry(caf::scoped_actor& self,
                                                     const registrar_actor& registrar,
                                                     const runtime::service_entry& entry) {
  auto yaml = runtime::read_text_file(entry.manifest);
  if (!yaml) return yaml.error();
  principal provider{entry.provider, role::service_provider};
  auto reg = call<register_service_reply>(self, registrar, register_service{provider, *yaml});
  if (reg) return reg;
  // The registrar names the manifest "manifest"; the operator knows it by its path.
  auto why = reason_of(reg.error());
  if (why.rfind("manifest:", 0) == 0)
    why = entry.manifest + why.substr(std::string_view{"manifest"}.size());
  else
    why = entry.manifest + ": " + describe(reg.error());
  return make_error(errc::invalid_manifest, std::move(why));
}

/// Makes sure the service of `entry` has the instances it wants (wanted_total): deploys
/// only those missing, so a node started again with its config deploys nothing twice.
caf::expected<deploy_service_reply> ensure_instances(caf::scoped_actor& self,
                                                     const registrar_actor& registrar,
                                                     const deployment_actor& deployment,
                                                     const runtime::service_entry& entry,
                                                     const register_service_reply& reg) {
  principal provider{entry.provider, role::service_provider};
  auto desc = call<service_description>(
      self, registrar,
      query_service_by_name{provider, reg.service_id, service_info_type::manifest});
  deploy_service req{provider, reg.service_id, {}, {}};
  req.deploy.instances = wanted_total(entry, reg, desc);
  req.ensure = true;
  return call<deploy_service_reply>(self, deployment, std::move(req));
}

/// What a failed deployment of a configured service makes the node exit with.
caf::error deploy_failure(const runtime::service_entry& entry, const register_service_reply& reg,
                          const caf::error& e) {
  return caf::error{
      e.code(), e.category(),
      caf::make_message("configured service " + reg.name + " (" + entry.manifest + "): deploying " +
                        std::to_string(entry.deploy) + " instance(s) failed: " + describe(e))};
}

/// "deploy 2 instance(s)", or what was missing of them when some already run.
std::string deploy_heading(const runtime::service_entry& entry, const deploy_service_reply& r) {
  auto heading = "deploy " + std::to_string(entry.deploy) + " instance(s)";
  if (r.existing_ids.empty()) return heading;
  return heading + ": " + std::to_string(r.existing_ids.size()) + " already on record, " +
         std::to_string(r.instance_ids.size()) + " deployed";
}

/// Registers every [[service]] entry of `nc` in order and makes sure each has its instances
/// (ensure_instances), printing each registration and each failed deployment; `registered`
/// runs after a registration is printed, `deployed` with the outcome of its deployment.
/// Stops at a manifest that does not register and returns its error; `failed` gets the
/// first failed deployment (the entries after it still run).
template <class Registered, class Deployed>
caf::error register_and_deploy(caf::scoped_actor& self, const runtime::node_config& nc,
                               const registrar_actor& registrar, const deployment_actor& deployment,
                               std::ostream& out, caf::error& failed, Registered registered,
                               Deployed deployed) {
  for (const auto& entry : nc.services) {
    auto reg = register_entry(self, registrar, entry);
    if (!reg) return reg.error();
    out << "\nregistered " << reg->name << " as " << reg->service_id.value << " (provider "
        << entry.provider << ")";
    if (!reg->pre_deployed.empty())
      out << ", pre-deployed " << reg->pre_deployed.size() << " instance(s)";
    out << "\n";
    registered();
    auto dep = ensure_instances(self, registrar, deployment, entry, *reg);
    if (!dep) {
      out << "  deploy " << entry.deploy << " instance(s): FAILED — " << describe(dep.error())
          << "\n";
      if (!failed) failed = deploy_failure(entry, *reg, dep.error());
    }
    deployed(entry, *reg, dep);
  }
  return caf::none;
}

/// Polls until `dir` resolves `where` (a link to its node is up) or `timeout` passes.
caf::actor await_remote(const runtime::directory_ptr& dir, const locator& where,
                        milliseconds timeout) {
  caf::actor found;
  runtime::poll_until(
      [&] {
        found = dir->resolve(where);
        return static_cast<bool>(found);
      },
      timeout);
  return found;
}

/// The services role of a node without the domain role: it registers and deploys its
/// [[service]] entries with the domain functions of its first [[peer]] of role "node", over
/// the link. The domain knows this node by its key: a provider's key acts only as its own
/// principal, whatever the entries say. Zones, decisions and instances are the domain's to
/// show; this prints what each request returned.
caf::error services_over_link(caf::scoped_actor& self, const runtime::node_config& nc,
                              const runtime::directory_ptr& dir, std::ostream& out) {
  auto domain_node = options_from(nc).registry.node;
  if (domain_node.empty())
    return make_error(errc::invalid_config,
                      "the services role needs the domain role in the same node, or a "
                      "[[peer]] of role \"node\" that runs it");
  auto registrar = caf::actor_cast<registrar_actor>(
      await_remote(dir, locator{domain_node, names::registrar}, other_nodes_wait));
  auto deployment = caf::actor_cast<deployment_actor>(
      await_remote(dir, locator{domain_node, names::deployment}, milliseconds{0}));
  if (!registrar || !deployment)
    return make_error(errc::peer_unreachable, "no link to the domain's node '" + domain_node +
                                                  "' came up within " +
                                                  std::to_string(other_nodes_wait.count()) + " ms");
  out << "FUSION services of node '" << nc.node.name << "', registered with the domain on node '"
      << domain_node << "'\n";
  caf::error failed;
  auto err = register_and_deploy(
      self, nc, registrar, deployment, out, failed, [] {},
      [&](const runtime::service_entry& entry, const register_service_reply& reg,
          const caf::expected<deploy_service_reply>& dep) {
        if (!dep) return;
        if (entry.deploy > 0) {
          out << "  " << deploy_heading(entry, *dep);
          if (!dep->decision_id.value.empty()) out << " (" << dep->decision_id.value << ")";
          out << "\n";
        }
        auto list = [&](const std::vector<locator>& where, const char* what) {
          for (const auto& loc : where)
            out << "    " << reg.name << " on node " << loc.node << ": " << loc.actor << " ("
                << what << ")\n";
        };
        list(dep->existing, "on record");
        list(dep->instances, "deployed now");
      });
  out.flush();
  return err ? err : failed;
}

}  // namespace

caf::error bootstrap_services(caf::actor_system& sys, const runtime::node_config& nc,
                              const runtime::directory_ptr& dir, std::ostream& out,
                              duration_ms settle_ms) {
  caf::scoped_actor self{sys};
  if (!hosts(nc, "domain")) return services_over_link(self, nc, dir, out);
  auto registry = dir->get_as<zone_registry_actor>(names::zone_registry);
  auto registrar = dir->get_as<registrar_actor>(names::registrar);
  auto deployment = dir->get_as<deployment_actor>(names::deployment);
  auto placement = dir->get_as<placement_actor>(names::placement);
  if (!registry || !registrar || !deployment || !placement)
    return make_error(errc::invalid_config,
                      "the services role needs the domain role in the same node");
  // Zones on other nodes register over their links: wait for as many as the config says.
  size_t expected = hosts(nc, "zones") ? nc.zones.size() : 0;
  if (nc.node.await_zones > 0) {
    expected = std::max<size_t>(expected, nc.node.await_zones);
    settle_ms = std::max<duration_ms>(settle_ms, other_nodes_wait.count());
  }
  auto zones = wait_for_zones(self, *dir, registry, expected, settle_ms);
  if (!zones) return zones.error();
  if (auto reachable = reachable_zones(*dir, *zones);
      nc.node.await_zones > 0 && reachable < expected)
    return make_error(errc::deadline_exceeded,
                      "only " + std::to_string(reachable) + " of the " + std::to_string(expected) +
                          " zones (node.await_zones) registered and reachable within " +
                          std::to_string(settle_ms) + " ms");
  out << "FUSION domain '" << nc.node.name << "'\n";
  print_gossip(out, self, *dir);
  print_zones(out, *zones);
  // After a restart, records of instances that died with the previous process go first, so
  // they count toward no limit and nothing is deployed twice.
  auto rec = call<instances_reconciled>(self, deployment, reconcile_instances{});
  if (!rec) return rec.error();
  if (rec->removed > 0 || rec->unconfirmed > 0)
    out << "instance records of an earlier start: " << rec->removed
        << " removed (their zones no longer host them), " << rec->unconfirmed
        << " kept unconfirmed (their zones did not answer)\n";
  out << "\nplacement decisions below: * marks a chosen zone (chosen zones are listed first, "
         "with the instances taken from each); latency n/a = the service names no user "
         "locations\n";
  // Every decision, in the order it happened: the placement function numbers its decisions
  // decision-1, decision-2, … as requests arrive, and the demo places one at a time.
  uint64_t next_decision = 1;
  std::set<placement_policy> explained;
  auto show_decisions = [&](const std::string& heading) {
    bool first = true;
    for (;; ++next_decision) {
      auto d = call<placement_decision>(
          self, placement, explain_placement{{"decision-" + std::to_string(next_decision)}});
      if (!d) break;
      if (first) out << "  " << heading << ":\n";
      first = false;
      if (explained.insert(d->policy).second)
        out << "    (policy " << domain::explain_policy(d->policy) << ")\n";
      out << indent(domain::render_decision(*d, false), "    ");
    }
  };
  // Pre-deployed instances and those of an earlier start are on record: listed with the
  // ones each entry deploys, none of them deployed twice.
  std::vector<locator> instances;
  std::vector<std::pair<fusion_id, principal>> deployed;  // services with instances
  caf::error failed;  // the first deployment that failed: the node then exits non-zero
  auto err = register_and_deploy(
      self, nc, registrar, deployment, out, failed, [&] { show_decisions("pre-deployment"); },
      [&](const runtime::service_entry& entry, const register_service_reply& reg,
          const caf::expected<deploy_service_reply>& dep) {
        if (!dep) {
          show_decisions("its placement");
          return;
        }
        if (entry.deploy > 0 && dep->instance_ids.empty())
          out << "  " << deploy_heading(entry, *dep) << "\n";
        else if (entry.deploy > 0)
          show_decisions(deploy_heading(entry, *dep));
        instances.insert(instances.end(), dep->existing.begin(), dep->existing.end());
        instances.insert(instances.end(), dep->instances.begin(), dep->instances.end());
        if (!dep->existing.empty() || !dep->instances.empty())
          deployed.emplace_back(reg.service_id, principal{entry.provider, role::service_provider});
      });
  if (err) return err;
  out << "\ninstances (" << instances.size() << "):\n";
  for (const auto& loc : instances) {
    auto inst = caf::actor_cast<service_lifecycle_actor>(dir->resolve(loc));
    if (!inst) {
      out << "  " << loc.actor << ": not reachable (node " << loc.node << ")\n";
      continue;
    }
    auto info = call<information>(self, inst, get_information{info_category::summary});
    if (!info) {
      out << "  " << loc.actor << ": " << describe(info.error()) << "\n";
      continue;
    }
    auto& v = info->values;
    out << "  " << std::left << std::setw(26) << loc.actor.substr(loc.actor.find('/') + 1)
        << std::setw(32) << v["service"] << " zone " << std::setw(16) << v["zone"] << " slots "
        << v["available"] << "/" << v["max_sessions"] << " free\n";
  }
  out << "\nzone capacity after deployment:\n";
  for (const auto& z : zones->zones) {
    // The manager the zone registered from: in this process or on a zone node.
    auto zm = caf::actor_cast<zone_manager_actor>(dir->resolve(z.manager));
    out << "  " << std::left << std::setw(18) << z.parameters.name;
    auto info = zm ? call<information>(self, zm, get_zone_information{})
                   : caf::expected<information>{make_error(errc::peer_unreachable, "")};
    if (!info) {
      out << " not reachable (" << (z.manager.node.empty() ? "here" : z.manager.node) << ")\n";
      continue;
    }
    auto& v = info->values;
    out << " instances " << std::setw(3) << v["instances"] << " free cores " << std::setw(5)
        << v["free_cpu_cores"] << " free GPUs " << v["free_gpus"] << "\n";
  }
  // The demo clients use the first deployed service with elasticity rules.
  if (nc.node.demo_sessions_s > 0 && hosts(nc, "zones"))
    for (const auto& [id, owner] : deployed) {
      auto d = call<service_description>(
          self, registrar, query_service_by_name{owner, id, service_info_type::manifest});
      if (!d) continue;
      auto rules = runtime::scaling_rules_of(d->record.parsed);
      if (!rules.scale_out && !rules.scale_in) continue;
      run_session_demo(sys, nc, dir, *zones, d->record.parsed, out);
      break;
    }
  out.flush();
  return failed;
}

std::string decision_json(const placement_decision& d) {
  using nlohmann::json;
  // Numbers as people read them (at most 6 significant digits), as in the text form.
  auto num = [](double x) { return std::stod(domain::for_people(x)); };
  auto offer_json = [&](const offer& o) {
    json scores = {{"total", num(o.scores.total)},
                   {"hardware", num(o.scores.hardware)},
                   {"capacity", num(o.scores.capacity)}};
    for (const auto& [k, x] : o.scores.extra) scores[k] = num(x);
    return json{{"offer_id", o.offer_id.value},
                {"zone", o.zone_name},
                {"scores", scores},
                {"cost_per_hour", num(o.cost)},
                {"instances", o.instances},
                // 0: not estimated, the service names no user locations.
                {"latency_ms", o.latency_ms > 0 ? json(num(o.latency_ms)) : json(nullptr)},
                {"ttl_ms", o.ttl_ms}};
  };
  json verdicts = json::array();
  for (const auto& v : d.verdicts) {
    json j = {{"zone", v.zone_name},          {"zone_id", v.zone_id.value},
              {"preselected", v.preselected}, {"answered", v.answered},
              {"offered", v.offered},         {"chosen", v.chosen}};
    if (v.offered) j["offer"] = offer_json(v.zone_offer);
    if (v.code != refusal_code::none || !v.details.empty()) {
      j["reason"] = refusal_words(v.code, v.details);
      j["reason_code"] = to_string(v.code);
    }
    verdicts.push_back(std::move(j));
  }
  // What the decision takes from each chosen offer: its instances and their price.
  json chosen = json::array();
  uint64_t covered = 0;
  double total = 0;
  for (const auto& o : d.chosen) {
    chosen.push_back(offer_json(o));
    covered += o.instances;
    total += o.cost;
  }
  json out = {{"decision_id", d.decision_id.value},
              {"service", d.service},
              {"policy", std::string{to_string(d.policy)}},
              {"policy_explained", domain::explain_policy(d.policy)},
              {"satisfied", d.satisfied},
              {"zones_known", d.zones_known},
              {"summary", d.summary},
              {"instances", covered},
              {"total_cost_per_hour", num(total)},
              {"chosen", chosen},
              {"zones", verdicts}};
  return out.dump(2);
}

int run_plan(const runtime::node_config& nc, const std::string& manifest_path, uint32_t instances,
             bool json, std::ostream& out, std::ostream& err) {
  auto yaml = runtime::read_text_file(manifest_path);
  if (!yaml) {
    err << "fusion-node plan: " << describe(yaml.error()) << "\n";
    return 3;
  }
  auto m = runtime::parse_manifest(*yaml, manifest_path);
  if (!m) {
    err << "fusion-node plan: " << describe(m.error()) << "\n";
    return 3;
  }
  if (nc.zones.empty()) {
    err << "fusion-node plan: the config declares no [[zone]] to place on\n";
    return 3;
  }
  caf::actor_system_config cfg;
  runtime::configure_actor_system(cfg, nc);
  caf::actor_system sys{cfg};
  auto opts = options_from(nc);
  opts.data_dir.clear();  // a dry run: nothing is written anywhere
  topology topo{sys, opts};
  topo.with_domain();
  // Every zone registered before placing (in waves: issue 8 item 11), or a clear error.
  // Lua evaluators first: a manifest naming one is scored by it, as on a running node.
  auto zones = topo.with_evaluator_scripts(nc.evaluator_scripts);
  if (!zones) zones = topo.with_zones(nc.zones, opts.deployment.step_timeout_ms);
  int code = 0;
  {
    caf::scoped_actor self{sys};
    deploy_parameters dp;
    dp.instances = instances;
    auto d = !zones ? call<placement_decision>(
                          self, topo.placement(),
                          place_service{principal{"plan", role::domain_admin}, *m, dp, true})
                    : caf::expected<placement_decision>{zones};
    if (!d) {
      err << "fusion-node plan: " << describe(d.error()) << "\n";
      code = 1;
    } else {
      out << (json ? decision_json(*d) + "\n" : domain::render_decision(*d));
      code = d->satisfied ? 0 : 1;
    }
  }
  topo.shutdown();
  return code;
}

}  // namespace fusion::topology
