// The zone's elasticity rules (spec §6.3.3, §4.3.2.6; docs/slots.md "Scaling"): a service's
// manifest bounds its slot utilisation in the zone (runtime/manifest.hpp scaling_rules); on
// its scaling tick the zone starts an instance above the scale_out bound, asks domain
// scaling when it has no room for one (overflow), and below the scale_in bound drains the
// least used instance and reclaims it once empty. The band between the bounds
// (hysteresis) and a cooldown after each action keep it from flapping.

#include "actors/zone/zone_state.hpp"
#include "protocols/orchestration_management.hpp"

#include <cmath>

namespace fusion::zone::manager {

namespace {

/// A service's instances here, as its rules see them.
struct service_load {
  size_t running = 0;
  uint64_t max = 0, free = 0;
  double utilisation() const { return max == 0 ? 0 : 1.0 - static_cast<double>(free) / max; }
};

service_load load_of(self_ptr self, const service_uri& service) {
  service_load l;
  for (const auto& i : self->state.instances) {
    if (i.withdrawn || i.service != service) continue;
    ++l.running;
    l.max += i.max_sessions;
    l.free += std::min(live_available(self, i), i.max_sessions);
  }
  return l;
}

std::string percent(double x) {
  return std::to_string(static_cast<int>(std::lround(x * 100))) + "%";
}

/// Logs a scaling decision (info, or warn if it failed) and keeps the last ones for
/// get_zone_information's "scaling_decisions".
void decided(self_ptr self, bool ok, const std::string& what) {
  auto& st = self->state;
  auto line = "zone " + st.zone() + ": " + what;
  if (ok)
    st.log->info("{}", line);
  else
    st.log->warn("{}", line);
  st.decisions.push_back(std::move(line));
  if (st.decisions.size() > 32) st.decisions.pop_front();
}

zone_manager_actor me(self_ptr self) {
  return caf::actor_cast<zone_manager_actor>(self);
}

/// Tells the deployment function what the zone did on its own, so its records stay true.
void tell_domain(self_ptr self, zone_instances_changed change) {
  auto& st = self->state;
  if (st.registration.state == zone_registration_state::no_registry) return;
  auto deployment = caf::actor_cast<deployment_actor>(
      st.dir->resolve(locator{st.cfg.registry.node, names::deployment}));
  if (!deployment) return;  // a domain without a deployment function keeps no records
  change.zone_name = st.zone();
  self->request(deployment, ms(st.cfg.deployment.step_timeout_ms), std::move(change))
      .then([](const status_reply&) {},
            [self](const caf::error& e) {
              self->state.log->warn(
                  "zone {}: the deployment function did not record a scaling "
                  "action: {}",
                  self->state.zone(), describe(e));
            });
}

/// No room here: domain scaling places the instance elsewhere.
void overflow(self_ptr self, const service_uri& service, const std::string& why) {
  auto& st = self->state;
  auto scaling = caf::actor_cast<scaling_actor>(
      st.dir->resolve(locator{st.cfg.registry.node, names::scaling}));
  if (!scaling) {
    decided(self, false, "scale_out " + service + ": " + why + "; and no domain scaling to ask");
    return;
  }
  ++st.overflows;
  decided(self, true, "scale_out " + service + ": " + why + "; asking domain scaling");
  self->request(scaling, ms(4 * st.cfg.deployment.step_timeout_ms),
                scale_service{service, 1, "zone " + st.zone(), why})
      .then(
          [=](const deploy_service_reply& r) {
            std::string where;
            for (const auto& l : r.instances) where += (where.empty() ? "" : ", ") + l.actor;
            decided(self, true, "domain scaling started " + where + " for " + service);
          },
          [=](const caf::error& e) {
            decided(self, false, "domain scaling refused " + service + ": " + describe(e));
          });
}

void scale_out(self_ptr self, const hosted_service& svc, const std::string& why) {
  zone_deploy_service req;
  req.service_name = svc.service.name;
  req.service_parameters = svc.parameters;
  req.deploy.instances = 1;
  req.deploy.sessions_per_instance = svc.sessions_per_instance;
  req.service_id = svc.service_id;
  req.service = svc.service;
  auto service = svc.service.name;
  self->request(me(self), caf::infinite, std::move(req))
      .then(
          [=](deploy_service_reply& r) {
            auto& s = self->state;
            ++s.scale_outs;
            decided(self, true,
                    "scale_out " + service + ": " + why + ": started " +
                        (r.instance_ids.empty() ? "" : r.instance_ids.front().value));
            zone_instances_changed change;
            change.reason = "scale_out: " + why;
            for (size_t i = 0; i < r.instance_ids.size(); ++i) {
              instance_record rec;
              rec.instance_id = r.instance_ids[i];
              rec.service_id = s.services[service].service_id;
              rec.service = service;
              rec.zone_name = s.zone();
              rec.zone_id = s.zone_id;
              if (i < r.instances.size()) rec.instance = r.instances[i];
              rec.deployed_at = runtime::wall_now(self);
              rec.zone_manager = s.self_locator;
              change.started.push_back(std::move(rec));
            }
            tell_domain(self, std::move(change));
          },
          [=](caf::error& e) {
            if (is(e, errc::insufficient_capacity))
              overflow(self, service, why + "; no room here (" + reason_of(e) + ")");
            else
              decided(self, false,
                      "scale_out " + service + ": " + why + ": failed: " + describe(e));
          });
}

/// Stops the drained instance `id` and tells the domain.
void reclaim(self_ptr self, const service_uri& service, const std::string& id,
             const std::string& why) {
  self->request(me(self), caf::infinite, terminate_service_instance{fusion_id{id}, 0})
      .then(
          [=](const status_reply&) {
            auto& s = self->state;
            ++s.scale_ins;
            decided(self, true, "scale_in " + service + ": " + why + ": reclaimed " + id);
            zone_instances_changed change;
            change.reason = "scale_in: " + why;
            change.stopped.push_back(fusion_id{id});
            tell_domain(self, std::move(change));
          },
          [=](const caf::error& e) {
            decided(self, false,
                    "scale_in " + service + ": reclaiming " + id + " failed: " + describe(e));
          });
}

/// The running instance of `service` with the fewest sessions (the newest among equals):
/// draining it moves the fewest clients and leaves the others fuller.
hosted_instance* least_used(self_ptr self, const service_uri& service) {
  hosted_instance* best = nullptr;
  uint32_t best_used = 0;
  for (auto& i : self->state.instances) {
    if (i.withdrawn || i.service != service) continue;
    auto used = i.max_sessions - std::min(live_available(self, i), i.max_sessions);
    if (best == nullptr || used <= best_used) {
      best = &i;
      best_used = used;
    }
  }
  return best;
}

/// One service's rules on one tick.
void check(self_ptr self, hosted_service& svc, runtime::mono_time now) {
  auto& st = self->state;
  const auto& service = svc.service.name;
  auto load = load_of(self, service);
  if (load.running == 0) return;
  auto u = load.utilisation();
  auto over = [&](const char* dir, double bound) {
    return "slot utilisation " + percent(u) + (dir[0] == '>' ? " > " : " < ") + percent(bound) +
           " over " + std::to_string(load.running) + " instance(s)";
  };
  if (!svc.draining.empty()) {
    auto i = st.find_instance(svc.draining);
    if (i == st.instances.end() || i->withdrawn) {
      svc.draining.clear();
    } else if (!svc.rules.scale_in || u >= *svc.rules.scale_in) {
      // The load came back before the instance emptied: it takes sessions again.
      decided(self, true,
              "scale_in " + service + " called off: slot utilisation " + percent(u) + " is back; " +
                  svc.draining + " takes sessions again");
      i->draining = false;
      svc.draining.clear();
      forget_gateway_orders(self);
    } else if (live_available(self, *i) >= i->max_sessions) {
      auto id = svc.draining;
      svc.draining.clear();
      svc.quiet_until = runtime::after(now, st.cfg.scaling.cooldown_ms);
      reclaim(self, service, id, over("<", *svc.rules.scale_in) + ", drained");
    }
    return;
  }
  if (now < svc.quiet_until) return;
  if (svc.rules.scale_out && u > *svc.rules.scale_out) {
    auto cap = svc.service.max_instances;
    if (cap > 0 && load.running >= cap) return;  // the manifest's bound, also per zone
    svc.quiet_until = runtime::after(now, st.cfg.scaling.cooldown_ms);
    scale_out(self, svc, over(">", *svc.rules.scale_out));
    return;
  }
  // A zone keeps at least one instance of a service it scales, and the manifest's
  // min_instances (policies), so scaling in never leaves the service short anywhere.
  auto floor = std::max<size_t>(1, svc.service.min_instances);
  if (svc.rules.scale_in && u < *svc.rules.scale_in && load.running > floor) {
    auto* victim = least_used(self, service);
    // Hysteresis: without the victim, the others must stay at or below the scale_out bound,
    // or removing it would only bring the next scale_out.
    auto used = load.max - load.free;
    auto rest = load.max - victim->max_sessions;
    if (svc.rules.scale_out && rest > 0 &&
        static_cast<double>(used) / static_cast<double>(rest) > *svc.rules.scale_out)
      return;
    if (rest == 0) return;
    svc.quiet_until = runtime::after(now, st.cfg.scaling.cooldown_ms);
    victim->draining = true;
    svc.draining = victim->id;
    forget_gateway_orders(self);
    auto in_use =
        victim->max_sessions - std::min(live_available(self, *victim), victim->max_sessions);
    decided(self, true,
            "scale_in " + service + ": " + over("<", *svc.rules.scale_in) + ": draining " +
                victim->id + " (" + std::to_string(in_use) + " session(s) left)");
    if (in_use == 0) check(self, svc, now);  // empty already: reclaimed at once
  }
}

}  // namespace

void note_service(self_ptr self, const zone_deploy_service& req) {
  auto name = req.service_name.empty() ? req.service.name : req.service_name;
  auto& svc = self->state.services[name];
  svc.service = req.service;
  svc.service.name = name;
  svc.service_id = req.service_id;
  svc.parameters = req.service_parameters;
  svc.sessions_per_instance = req.deploy.sessions_per_instance;
  svc.rules = runtime::scaling_rules_of(req.service);
}

void start_scaling(self_ptr self) {
  self->delayed_send(self, ms(self->state.cfg.scaling.interval_ms), scale_tick_atom::value);
}

void scale_tick(self_ptr self) {
  auto now = runtime::mono_now(self);
  for (auto& [name, svc] : self->state.services)
    if (svc.rules.scale_out || svc.rules.scale_in) check(self, svc, now);
  start_scaling(self);
}

}  // namespace fusion::zone::manager
