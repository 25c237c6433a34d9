#include "actors/zone/zone_manager.hpp"

#include "actors/zone/aggregation.hpp"
#include "actors/zone/zone_state.hpp"

namespace fusion::zone {

namespace manager {

namespace {

/// Registers the zone with its registry; while a remote registry cannot be reached, asks
/// again after a wait that doubles from 100 ms to 2 s.
void try_register(self_ptr self) {
  auto& st = self->state;
  auto retry = [self] {
    auto& s = self->state;
    self->delayed_send(self, s.register_backoff, register_atom::value);
    s.register_backoff = std::min(s.register_backoff * 2, std::chrono::milliseconds{2000});
  };
  auto reg = caf::actor_cast<zone_registry_actor>(st.dir->resolve(st.cfg.registry));
  if (!reg) {
    retry();
    return;
  }
  register_zone msg{principal{"zone/" + st.zone(), role::zone_admin}, st.cfg.parameters,
                    st.self_locator};
  self->request(reg, ms(st.cfg.deployment.step_timeout_ms), std::move(msg))
      .then(
          [=](register_zone_reply& r) {
            auto& s = self->state;
            s.zone_id = r.zone_id;
            // The k-th start numbers its instances from (k-1)·2³² + 1: ids of earlier
            // starts, still in the domain's durable records, are never issued again.
            if (r.start > 1) s.instance_ids.skip_past(uint64_t{r.start - 1} << 32);
            s.registry = reg;
            s.registration = {zone_registration_state::registered, r.zone_id, r.start, {}};
            publish_as(self, r.zone_id, r.start);
            if (!s.cfg.registry.node.empty())  // local registrations are many and quiet
              s.log->info(
                  "zone {} registered as {} (start {}) with the zone registry of node "
                  "'{}'",
                  s.zone(), r.zone_id.value, r.start, s.cfg.registry.node);
            schedule_report(self);
          },
          [=](caf::error& e) {
            auto& s = self->state;
            if (is(e, errc::peer_unreachable)) {  // the link went while asking: ask again
              retry();
              return;
            }
            s.registration.state = zone_registration_state::failed;
            s.registration.failure = describe(e);
            s.log->warn("zone {}: registration with the zone registry failed: {}", s.zone(),
                        describe(e));
          });
}

zone_offer decline(self_ptr self, refusal_code code, std::string details) {
  ++self->state.offers_declined;
  zone_offer res;
  res.accepted = false;
  res.code = code;
  res.details = std::move(details);
  return res;
}

/// Reserves `h` under a new offer id; the expiry is tracked by the zone's one timer.
fusion_id reserve(self_ptr self, hold h) {
  auto& st = self->state;
  auto expires_at = h.expires_at;
  auto n = st.ledger.add(std::move(h));
  st.expiries.emplace_back(expires_at, n);
  ++st.offers_made;
  return st.offer_id(n);
}

/// Turns a feasible evaluation into offers backed by reservations: one, plus up to
/// `req.copies - 1` more on the same terms while capacity lasts; or a refusal when the
/// resources are no longer free (an asynchronous evaluator answered after other offers).
zone_offer make_offer(self_ptr self, const zone_evaluate& req, const evaluation& ev) {
  auto& st = self->state;
  if (!ev.feasible) return decline(self, refusal_code::infeasible, ev.details);
  const auto& hw = req.service->hardware;
  // Instances of `hw` the free resources and the instance cap still allow.
  const resources per_instance{hw.cpu_cores, hw.memory_mb, hw.gpus, 1};
  uint64_t fit = std::min<uint64_t>(ev.instances, st.ledger.fit(per_instance));
  if (fit == 0)
    return decline(self, refusal_code::no_capacity,
                   req.service_name.empty() ? req.service->name : req.service_name);
  hold h;
  h.service = req.service_name.empty() ? req.service->name : req.service_name;
  h.instances = static_cast<uint32_t>(fit);
  h.per_instance = per_instance;
  h.sessions_per_instance = req.deploy.sessions_per_instance > 0
                                ? req.deploy.sessions_per_instance
                                : req.service->sessions_per_instance;
  h.expires_at = runtime::after(runtime::mono_now(self), st.cfg.placement.offer_ttl_ms);
  zone_offer res;
  res.accepted = true;
  auto& o = res.proposal;
  o.zone_id = st.zone_id;
  o.zone_name = st.zone();
  o.service = h.service;
  o.scores = ev.scores;
  // The evaluation priced what it could host; the offer prices what it reserves.
  o.cost = ev.instances > 0 ? ev.cost * static_cast<double>(fit) / ev.instances : ev.cost;
  if (fit < ev.instances)
    o.scores.capacity = ev.scores.capacity * static_cast<double>(fit) / ev.instances;
  o.instances = h.instances;
  o.sessions_per_instance = h.sessions_per_instance;
  o.latency_ms = ev.latency_ms;
  o.ttl_ms = st.cfg.placement.offer_ttl_ms;
  o.manager = st.self_locator;
  o.offer_id = reserve(self, h);
  if (req.copies > 1) {
    auto more = std::min<uint64_t>(req.copies - 1, st.ledger.fit(per_instance) / fit);
    res.more_offer_ids.reserve(more);
    for (uint64_t i = 0; i < more; ++i) res.more_offer_ids.push_back(reserve(self, h));
  }
  if (!st.expiry_armed) {
    st.expiry_armed = true;
    self->delayed_send(self, ms(st.cfg.placement.offer_ttl_ms), expire_atom::value);
  }
  schedule_damped_report(self);
  return res;
}

/// Gives back open offers; unknown, used or expired ids are ignored.
/// Returns how many were given back.
size_t release(self_ptr self, const std::vector<fusion_id>& ids) {
  auto& st = self->state;
  auto now = runtime::mono_now(self);
  size_t released = 0;
  for (const auto& id : ids)
    if (auto n = st.open_offer(id.value, now); n != 0) {
      st.ledger.drop(n);
      ++st.offers_released;
      ++released;
    }
  if (released > 0) schedule_damped_report(self);
  return released;
}

/// Cache entries are keyed by the request hash alone: it covers the manifest, whose
/// `evaluator` keeps the generic evaluator's entries apart from a service evaluator's.
const std::string no_key;

/// Scores with the generic evaluator next to the zone, through the zone's cache.
zone_offer evaluate_inline(self_ptr self, const zone_evaluate& req) {
  auto& st = self->state;
  const auto& p = st.cfg.parameters;
  auto free = st.free();
  auto now = runtime::mono_now(self);
  auto hash = evaluator::request_hash(p, free, *req.service, req.deploy);
  const evaluation* ev = st.cache.find(no_key, hash, now);
  if (ev == nullptr) {
    evaluator::score_zone_into(p, free, *req.service, req.deploy, st.scratch);
    st.cache.insert(no_key, hash, st.scratch, now);
    ev = &st.scratch;
  }
  return make_offer(self, req, *ev);
}

/// Evaluates one request and hands the answer to `done`, synchronously for the generic
/// evaluator and after a bounded wait for a service-specific one. When that one fails or
/// does not answer in time, [evaluator] fallback says what the zone does: score with the
/// generic evaluator ("generic") or decline ("decline").
template <class Done>
void evaluate_with(self_ptr self, zone_evaluate req, Done done) {
  auto& st = self->state;
  const auto& name = req.service->evaluator;
  if (name.empty()) {
    done(evaluate_inline(self, req));
    return;
  }
  auto ev = st.dir->get_as<evaluator_actor>(names::evaluator(name));
  if (!ev) {
    done(
        decline(self, refusal_code::evaluation_failed, "the zone has no evaluator '" + name + "'"));
    return;
  }
  // A service evaluator's answers are cached like the generic one's (§5.4.2.2.3): the key
  // holds everything it was given, so a script must be a function of its arguments.
  evaluate q;
  q.zone = st.cfg.parameters;
  q.free = st.free();
  q.service = *req.service;
  q.deploy = req.deploy;
  auto hash = evaluator::request_hash(q.zone, q.free, q.service, q.deploy);
  if (const auto* hit = st.cache.find(no_key, hash, runtime::mono_now(self))) {
    done(make_offer(self, req, *hit));
    return;
  }
  auto shared_req = std::make_shared<zone_evaluate>(std::move(req));
  self->request(ev, ms(st.cfg.evaluator.timeout_ms), std::move(q))
      .then(
          [=](evaluation& e) mutable {
            self->state.cache.insert(no_key, hash, e, runtime::mono_now(self));
            done(make_offer(self, *shared_req, e));
          },
          [=](caf::error& err) mutable {
            const auto& evaluator = shared_req->service->evaluator;
            if (self->state.cfg.evaluator.fallback == "generic") {
              self->state.log->info(
                  "zone {}: evaluator '{}' failed ({}); scored with the "
                  "generic evaluator",
                  self->state.zone(), evaluator, describe(err));
              done(evaluate_inline(self, *shared_req));
              return;
            }
            self->state.log->info("zone {}: evaluator '{}' failed: {}", self->state.zone(),
                                  evaluator, describe(err));
            done(decline(self, refusal_code::evaluation_failed,
                         "evaluator '" + evaluator + "' did not answer"));
          });
}

zone_manager_impl::behavior_type zone_manager(self_ptr self, zone_manager_config cfg,
                                              runtime::directory_ptr dir, dc_management_actor dc) {
  auto& st = self->state;
  const auto& name = cfg.parameters.name;
  st.offer_prefix = "offer-" + name;
  st.instance_ids = runtime::id_generator{"inst-" + name};
  st.cache = evaluator::evaluation_cache{cfg.evaluator.cache_entries, cfg.evaluator.cache_ttl_ms};
  resources capacity{cfg.parameters.cpu_cores, cfg.parameters.memory_mb, 0,
                     cfg.parameters.max_instances};
  for (const auto& g : cfg.parameters.gpus) capacity.gpus += g.count;
  st.ledger = reservations{capacity};
  st.log = runtime::logger("zone");
  st.cfg = std::move(cfg);
  st.dir = std::move(dir);
  st.dc = std::move(dc);
  st.self_locator = st.dir->here(names::zone_manager(st.zone()));
  // No registry actor named: the zone's gossip agent finds the home domain (docs/gossip.md)
  // and hands its advertisement over; the zone registers then.
  auto discover = st.cfg.registry.actor.empty();
  st.registration.state =
      !discover && st.cfg.registry.node.empty() && !st.dir->get(st.cfg.registry.actor)
          ? zone_registration_state::no_registry
          : zone_registration_state::pending;
  if (st.registration.state == zone_registration_state::pending && !discover) try_register(self);
  start_slots(self);
  start_scaling(self);
  start_monitoring(self);
  return {
      [=](const zone_evaluate& req) -> caf::result<zone_offer> {
        if (req.service->evaluator.empty()) return evaluate_inline(self, req);
        auto rp = self->make_response_promise<zone_offer>();
        evaluate_with(self, req, [rp](zone_offer x) mutable { rp.deliver(std::move(x)); });
        return rp;
      },
      [=](get_zone_registration) { return self->state.registration; },
      [=](list_hosted_instances) {
        hosted_instances reply{self->state.zone(), {}};
        for (const auto& i : self->state.instances) reply.instance_ids.push_back(fusion_id{i.id});
        return reply;
      },
      [=](zone_evaluate_batch& req) -> caf::result<zone_offer_batch> {
        release(self, req.release);
        // The generic evaluator answers at once, inside evaluate_with; a promise is made
        // only when a request still waits on an evaluator actor after the loop.
        struct batch_ctx {
          std::optional<caf::typed_response_promise<zone_offer_batch>> rp;
          zone_offer_batch out;
          size_t pending = 0;
        };
        auto ctx = std::make_shared<batch_ctx>();
        auto n = req.requests.size();
        ctx->out.offers.resize(n);
        ctx->pending = n;
        for (size_t i = 0; i < n; ++i)
          evaluate_with(self, std::move(req.requests[i]), [ctx, i](zone_offer x) {
            ctx->out.offers[i] = std::move(x);
            if (--ctx->pending == 0 && ctx->rp) ctx->rp->deliver(std::move(ctx->out));
          });
        if (ctx->pending == 0) return std::move(ctx->out);
        ctx->rp = self->make_response_promise<zone_offer_batch>();
        return *ctx->rp;
      },
      [=](const release_offers& req) { release(self, req.offer_ids); },
      [=](const release_offer& req) -> caf::result<status_reply> {
        if (release(self, {req.offer_id}) == 0)
          return fusion::make_error(errc::offer_expired, "zone " + self->state.zone() +
                                                             ": offer '" + req.offer_id.value +
                                                             "' is unknown, used or expired");
        return status_reply{status::ok, "offer " + req.offer_id.value + " released"};
      },
      [=](expire_atom) {
        auto& s = self->state;
        s.expiry_armed = false;
        auto now = runtime::mono_now(self);
        bool changed = false;
        while (!s.expiries.empty() && s.expiries.front().first <= now) {
          auto n = s.expiries.front().second;
          s.expiries.pop_front();
          // Released or consumed offers are gone or deploying: they no longer expire.
          if (const auto* h = s.ledger.find(n); h == nullptr || h->deploying) continue;
          s.ledger.drop(n);
          ++s.offers_expired;
          changed = true;
        }
        if (!s.expiries.empty()) {
          s.expiry_armed = true;
          self->delayed_send(self, ms(runtime::millis_between(now, s.expiries.front().first)),
                             expire_atom::value);
        }
        if (changed) schedule_damped_report(self);
      },
      [=](flush_atom) { flush_reports(self); },
      [=](register_atom) { try_register(self); },
      [=](damped_flush_atom) {
        self->state.damped_flush_scheduled = false;
        flush_reports(self);
      },
      [=](zone_deploy_service& req) { return deploy(self, req); },
      [=](const terminate_service_instance& req) { return terminate(self, req); },
      [=](const get_service_information& req) { return service_information(self, req); },
      [=](const get_zone_information& req) { return zone_information(self, req); },
      [=](const slot_report& r) { take_report(self, r); },
      [=](const slot_withdraw& w) { take_withdraw(self, w); },
      [=](const slot_report_batch& b) {
        for (const auto& r : b.reports) take_report(self, r);
      },
      [=](slot_tick_atom) { slot_tick(self); },
      [=](scale_tick_atom) { scale_tick(self); },
      [=](monitor_tick_atom) { monitor_tick(self); },
      [=](const list_slots& req) { return list_instance_slots(self, req); },
      [=](const open_session& req) { return open_session_here(self, req); },
      [=](const subscribe_slots& req) { take_subscription(self, req); },
      [=](const domain_advertisement& ad) {
        // The home domain, found by gossip: register with its zone registry (again, if it
        // moved).
        auto& s = self->state;
        if (ad.zone_registry.actor.empty() || ad.zone_registry == s.cfg.registry) return;
        s.log->info(
            "zone {} found its domain '{}' by gossip: registering with the zone registry "
            "of node '{}'",
            s.zone(), ad.domain, ad.zone_registry.node);
        s.cfg.registry = ad.zone_registry;
        s.registration.state = zone_registration_state::pending;
        s.register_backoff = std::chrono::milliseconds{100};
        try_register(self);
      },
      [=](const member_change& c) {
        // Gossip declared this zone's member dead (it was cut off, or too slow): the domain
        // fenced the zone's start, so it registers again and publishes under the new one.
        auto& s = self->state;
        if (!c.self || c.member.status != member_status::dead || s.cfg.registry.actor.empty())
          return;
        s.log->warn("zone {} was declared dead by gossip (incarnation {}): registering again",
                    s.zone(), c.member.incarnation);
        s.registration.state = zone_registration_state::pending;
        s.register_backoff = std::chrono::milliseconds{100};
        try_register(self);
      },
  };
}

}  // namespace

}  // namespace manager

protocols::zone_manager_actor spawn_zone_manager(caf::actor_system& sys, zone_manager_config cfg,
                                                 runtime::directory_ptr dir) {
  auto name = cfg.parameters.name;
  auto dc = spawn_inprocess_dc(sys, name, dir, cfg.launch);
  auto d = dir;
  protocols::zone_manager_actor h =
      sys.spawn(manager::zone_manager, std::move(cfg), std::move(dir), std::move(dc));
  d->put(protocols::names::zone_manager(name), caf::actor_cast<caf::actor>(h));
  return h;
}

}  // namespace fusion::zone
