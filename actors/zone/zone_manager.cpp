#include "actors/zone/zone_manager.hpp"

#include "actors/evaluator/scoring.hpp"
#include "actors/zone/dc_inprocess.hpp"
#include "actors/zone/reservations.hpp"
#include "protocols/errc.hpp"
#include "protocols/names.hpp"
#include "runtime/clock.hpp"
#include "runtime/logging.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <limits>
#include <optional>
#include <unordered_map>

namespace fusion::zone {

using namespace protocols;

namespace {

using expire_atom = caf::atom_constant<caf::atom("zm_expire")>;
using flush_atom = caf::atom_constant<caf::atom("zm_flush")>;
using damped_flush_atom = caf::atom_constant<caf::atom("zm_dflush")>;

/// The manager's full interface: the public one plus its own timers.
using zone_manager_impl =
    zone_manager_actor::extend<caf::reacts_to<expire_atom>, caf::reacts_to<flush_atom>,
                               caf::reacts_to<damped_flush_atom>>;

std::chrono::milliseconds ms(duration_ms x) {
  return std::chrono::milliseconds(std::max<duration_ms>(1, x));
}

/// An instance this zone hosts (not protocols::instance_record, the domain's durable record).
struct hosted_instance {
  std::string id;
  service_uri service;
  fusion_id environment;
  locator where;
  uint32_t max_sessions = 0;
  uint32_t cores = 0;
  uint64_t memory_mb = 0;
  uint32_t gpus = 0;
  bool withdrawn = false;  // being terminated: no longer reported

  resources use() const { return {cores, memory_mb, gpus, 1}; }
};

struct zm_state {
  zm_state() = default;
  zone_manager_config cfg;
  runtime::directory_ptr dir;
  dc_management_actor dc;
  fusion_id zone_id;
  zone_registry_actor registry;
  locator self_locator;  // where the domain reaches this manager (quoted in offers)
  std::string registration = "not registered";
  // Capacity, instances' use and holds (by number; an offer's id is
  // "<offer_prefix>-<number>").
  reservations ledger;
  std::string offer_prefix;  // "offer-<zone>"
  // Offers by expiry time. Every offer has the same TTL, so creation order is expiry order
  // and one timer, armed for the front, replaces a timer per offer.
  std::deque<std::pair<runtime::mono_time, uint64_t>> expiries;
  bool expiry_armed = false;
  // In the ledger's use until they are gone, withdrawn ones included.
  std::vector<hosted_instance> instances;
  runtime::id_generator instance_ids{"inst"};
  evaluator::evaluation_cache cache{0, 0};
  evaluation scratch;  // reused by inline scoring so the hot path does not allocate
  bool flush_scheduled = false;
  bool damped_flush_scheduled = false;
  uint64_t offers_made = 0, offers_declined = 0, offers_expired = 0, offers_released = 0;
  uint64_t deployed = 0, deploy_failures = 0, stopped_graceful = 0, stopped_forced = 0;
  std::shared_ptr<spdlog::logger> log;
  static inline const char* name = "zone_manager";

  const std::string& zone() const { return cfg.parameters.name; }

  resource_report free() const {
    auto f = ledger.free();
    resource_report r;
    r.free_cpu_cores = static_cast<uint32_t>(std::min<uint64_t>(f.cores, UINT32_MAX));
    r.free_memory_mb = f.memory_mb;
    r.free_gpus = static_cast<uint32_t>(std::min<uint64_t>(f.gpus, UINT32_MAX));
    r.instances = running();
    r.reservations = static_cast<uint32_t>(ledger.holds());
    return r;
  }

  uint32_t running() const {
    uint32_t n = 0;
    for (const auto& i : instances) n += i.withdrawn ? 0 : 1;
    return n;
  }

  fusion_id offer_id(uint64_t hold_number) const {
    return {offer_prefix + "-" + std::to_string(hold_number)};
  }

  // The number of an open (not consumed, not expired) offer, or 0. Ids this zone did not
  // make are unknown.
  uint64_t open_offer(const std::string& id, runtime::mono_time now) {
    auto n = runtime::id_number(id, offer_prefix);
    auto* h = ledger.find(n);
    return h == nullptr || h->deploying || h->expires_at <= now ? 0 : n;
  }

  std::vector<hosted_instance>::iterator find_instance(const std::string& id) {
    return std::find_if(instances.begin(), instances.end(),
                        [&](const hosted_instance& x) { return x.id == id; });
  }
};

using self_ptr = zone_manager_impl::stateful_pointer<zm_state>;

/// Reports resources and services to the registry once the current burst of changes is over.
void schedule_report(self_ptr self) {
  auto& st = self->state;
  if (!st.registry || st.flush_scheduled) return;
  st.flush_scheduled = true;
  self->send(self, flush_atom::value);
}

/// Reports a reservation-only change within report_interval_ms: offers come and go at the
/// placement rate, and a report for each would flood the registry with soft state that
/// placement does not need (offers are binding; a zone never over-commits).
void schedule_damped_report(self_ptr self) {
  auto& st = self->state;
  if (!st.registry || st.flush_scheduled || st.damped_flush_scheduled) return;
  st.damped_flush_scheduled = true;
  self->delayed_send(self, ms(st.cfg.report_interval_ms), damped_flush_atom::value);
}

void flush_reports(self_ptr self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (!st.registry) return;
  std::vector<service_report> services;
  for (const auto& i : st.instances) {
    if (i.withdrawn) continue;
    auto s = std::find_if(services.begin(), services.end(),
                          [&](const service_report& r) { return r.service == i.service; });
    if (s == services.end()) {
      services.push_back(service_report{i.service, 0, 0, 0});
      s = services.end() - 1;
    }
    ++s->instances;
    s->max_sessions += i.max_sessions;
    s->available_sessions += i.max_sessions;
  }
  // Fire-and-forget: reports are soft state, superseded by the next one. A request would
  // arm a timer per report (never cancelled in CAF 0.17) on the placement hot path.
  caf::anon_send(st.registry, update_resource_information{st.zone_id, st.free()});
  caf::anon_send(st.registry, update_service_information{st.zone_id, std::move(services)});
}

zone_offer decline(self_ptr self, std::string reason) {
  ++self->state.offers_declined;
  zone_offer res;
  res.accepted = false;
  res.reason = std::move(reason);
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
  if (!ev.feasible)
    return decline(
        self, ev.reason.empty() ? "zone " + st.zone() + " cannot host the service" : ev.reason);
  const auto& hw = req.service->hardware;
  // Instances of `hw` the free resources and the instance cap still allow.
  const resources per_instance{hw.cpu_cores, hw.memory_mb, hw.gpus, 1};
  uint64_t fit = std::min<uint64_t>(ev.instances, st.ledger.fit(per_instance));
  if (fit == 0)
    return decline(self, "zone " + st.zone() + " has no free capacity left for " +
                             (req.service_name.empty() ? req.service->name : req.service_name));
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

/// Scores with the generic evaluator next to the zone, through the zone's cache.
zone_offer evaluate_inline(self_ptr self, const zone_evaluate& req) {
  auto& st = self->state;
  const auto& p = st.cfg.parameters;
  auto free = st.free();
  auto now = runtime::mono_now(self);
  auto hash = evaluator::request_hash(p, free, *req.service, req.deploy);
  static const std::string no_key;
  const evaluation* ev = st.cache.find(no_key, hash, now);
  if (ev == nullptr) {
    evaluator::score_zone_into(p, free, *req.service, req.deploy, st.scratch);
    st.cache.insert(no_key, hash, st.scratch, now);
    ev = &st.scratch;
  }
  return make_offer(self, req, *ev);
}

/// Evaluates one request and hands the answer to `done`, synchronously for the generic
/// evaluator and after a bounded wait for a service-specific one.
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
    done(decline(self, "no evaluator '" + name + "' in zone " + st.zone()));
    return;
  }
  evaluate q;
  q.zone = st.cfg.parameters;
  q.free = st.free();
  q.service = *req.service;
  q.deploy = req.deploy;
  auto shared_req = std::make_shared<zone_evaluate>(std::move(req));
  self->request(ev, ms(st.cfg.evaluator.timeout_ms), std::move(q))
      .then([=](evaluation& e) mutable { done(make_offer(self, *shared_req, e)); },
            [=](caf::error& err) mutable {
              self->state.log->info("zone {}: evaluator '{}' failed: {}", self->state.zone(),
                                    shared_req->service->evaluator, describe(err));
              done(decline(self,
                           "evaluator '" + shared_req->service->evaluator + "' did not answer"));
            });
}

// --- deployment (§6.3.3) ---

/// One deployment in progress. Its hold (marked deploying: it neither expires nor can be
/// released) sizes it and keeps its resources until the instances run or it fails.
struct deploy_ctx {
  caf::typed_response_promise<deploy_service_reply> rp;
  uint64_t hold = 0;
  service_uri service;
  blob parameters;
  std::string image;
  duration_ms step_timeout = 0;
  std::vector<fusion_id> environments;  // prepared so far (rolled back on failure)
  std::vector<hosted_instance> started;
};

void deploy_fail(self_ptr self, std::shared_ptr<deploy_ctx> ctx, const std::string& step,
                 const caf::error& err) {
  auto& st = self->state;
  for (const auto& env : ctx->environments)
    self->request(st.dc, ms(ctx->step_timeout), terminate_service_environment{env})
        .then([](status_reply&) {}, [](caf::error&) {});
  st.ledger.drop(ctx->hold);
  ++st.deploy_failures;
  schedule_report(self);
  auto why = "zone " + st.zone() + ": deploying " + ctx->service + " failed at " + step + ": " +
             describe(err) + "; nothing was left running";
  st.log->warn("{}", why);
  // The real cause: a FUSION code keeps its code; a timeout is a deadline; anything else (an
  // agent or instance that went away) is deployment_failed, never a capacity problem.
  if (err == caf::sec::request_timeout)
    ctx->rp.deliver(fusion::make_error(errc::deadline_exceeded, std::move(why)));
  else if (err.category() == errc_category)
    ctx->rp.deliver(caf::error{err.code(), errc_category, caf::make_message(std::move(why))});
  else
    ctx->rp.deliver(fusion::make_error(errc::deployment_failed, std::move(why)));
}

void deploy_commit(self_ptr self, std::shared_ptr<deploy_ctx> ctx) {
  auto& st = self->state;
  st.ledger.drop(ctx->hold);
  deploy_service_reply reply;
  for (auto& rec : ctx->started) {
    st.ledger.use(rec.use());
    reply.instance_ids.push_back(fusion_id{rec.id});
    reply.instances.push_back(rec.where);
    st.instances.push_back(std::move(rec));
  }
  st.deployed += ctx->started.size();
  schedule_report(self);
  ctx->rp.deliver(std::move(reply));
}

/// Prepares, launches and starts the next instance; commits when all are running.
void deploy_next(self_ptr self, std::shared_ptr<deploy_ctx> ctx) {
  auto& st = self->state;
  const auto* held = st.ledger.find(ctx->hold);
  if (held == nullptr) {  // cannot happen: a deploying hold is only dropped here
    deploy_fail(self, ctx, "prepare",
                fusion::make_error(errc::invalid_state, "the deployment's reservation is gone"));
    return;
  }
  const auto& h = *held;
  if (ctx->started.size() == h.instances) {
    deploy_commit(self, ctx);
    return;
  }
  prepare_service_environment prep;
  prep.service_name = ctx->service;
  prep.env.type = "actor";
  prep.env.cpu_cores = static_cast<uint32_t>(h.per_instance.cores);
  prep.env.memory_mb = h.per_instance.memory_mb;
  prep.env.gpus = static_cast<uint32_t>(h.per_instance.gpus);
  prep.env.image = ctx->image;
  auto t = ms(ctx->step_timeout);
  self->request(st.dc, t, std::move(prep))
      .then(
          [=](environment_reply& env) {
            ctx->environments.push_back(env.environment_id);
            auto inst_id = self->state.instance_ids.make();
            self->request(self->state.dc, t,
                          launch_instance{env.environment_id, inst_id, ctx->service})
                .then(
                    [=](instance_launched& launched) {
                      auto inst = caf::actor_cast<service_lifecycle_actor>(
                          self->state.dir->resolve(launched.instance));
                      if (!inst) {
                        deploy_fail(self, ctx, "start",
                                    fusion::make_error(errc::unknown_instance,
                                                       "instance " + launched.instance.actor +
                                                           " is not in the directory"));
                        return;
                      }
                      auto sessions = h.sessions_per_instance;
                      self->request(inst, t, service_start{ctx->parameters, sessions})
                          .then(
                              [=](status_reply& r) {
                                if (r.code != status::ok) {
                                  deploy_fail(self, ctx, "start",
                                              fusion::make_error(errc::invalid_state, r.detail));
                                  return;
                                }
                                hosted_instance rec;
                                rec.id = launched.instance_id.value;
                                rec.service = ctx->service;
                                rec.environment = env.environment_id;
                                rec.where = launched.instance;
                                rec.max_sessions = h.sessions_per_instance;
                                rec.cores = static_cast<uint32_t>(h.per_instance.cores);
                                rec.memory_mb = h.per_instance.memory_mb;
                                rec.gpus = static_cast<uint32_t>(h.per_instance.gpus);
                                ctx->started.push_back(std::move(rec));
                                deploy_next(self, ctx);
                              },
                              [=](caf::error& e) { deploy_fail(self, ctx, "start", e); });
                    },
                    [=](caf::error& e) { deploy_fail(self, ctx, "launch", e); });
          },
          [=](caf::error& e) { deploy_fail(self, ctx, "prepare", e); });
}

caf::result<deploy_service_reply> deploy(self_ptr self, zone_deploy_service& req) {
  auto& st = self->state;
  auto service = req.service_name.empty() ? req.service.name : req.service_name;
  auto ctx = std::make_shared<deploy_ctx>();
  ctx->service = service;
  ctx->parameters = std::move(req.service_parameters);
  ctx->image = req.service.image;
  ctx->step_timeout = req.timeout_ms > 0 ? req.timeout_ms : st.cfg.deployment.step_timeout_ms;
  auto now = runtime::mono_now(self);
  if (!req.offer_id.empty()) {
    auto n = st.open_offer(req.offer_id.value, now);
    if (n == 0)
      return fusion::make_error(errc::offer_expired, "zone " + st.zone() + ": offer '" +
                                                         req.offer_id.value +
                                                         "' is unknown or expired; evaluate again");
    const auto& h = *st.ledger.find(n);
    if (h.service != service)
      return fusion::make_error(
          errc::invalid_argument,
          "offer '" + req.offer_id.value + "' was made for " + h.service + ", not for " + service);
    // Deploy what was asked, within what the offer reserved; give back the rest.
    auto want =
        req.deploy.instances > 0 ? std::min(req.deploy.instances, h.instances) : h.instances;
    hold consumed = h;
    consumed.instances = want;
    consumed.deploying = true;
    consumed.expires_at = runtime::mono_time::max();
    if (req.deploy.sessions_per_instance > 0)
      consumed.sessions_per_instance = req.deploy.sessions_per_instance;
    st.ledger.drop(n);
    ctx->hold = st.ledger.add(std::move(consumed));
  } else {
    auto requested = std::max<uint32_t>(1, req.deploy.instances);
    evaluation ev;
    evaluator::score_zone_into(st.cfg.parameters, st.free(), req.service, req.deploy, ev);
    if (!ev.feasible) return fusion::make_error(errc::insufficient_capacity, ev.reason);
    if (ev.instances < requested || st.ledger.fit({}) < requested) {
      const auto& hw = req.service.hardware;
      auto free = st.free();
      return fusion::make_error(
          errc::insufficient_capacity,
          "zone " + st.zone() + " cannot host " + std::to_string(requested) + " instances of " +
              service + ": they need " + std::to_string(uint64_t{hw.cpu_cores} * requested) +
              " cores, " + std::to_string(hw.memory_mb * requested) + " MB, " +
              std::to_string(uint64_t{hw.gpus} * requested) + " GPUs; free are " +
              std::to_string(free.free_cpu_cores) + " cores, " +
              std::to_string(free.free_memory_mb) + " MB, " + std::to_string(free.free_gpus) +
              " GPUs and room for " +
              std::to_string(std::min<uint64_t>(ev.instances, st.ledger.fit({}))) + " instances");
    }
    hold h;
    h.service = service;
    h.instances = requested;
    const auto& hw = req.service.hardware;
    h.per_instance = {hw.cpu_cores, hw.memory_mb, hw.gpus, 1};
    h.sessions_per_instance = req.deploy.sessions_per_instance > 0
                                  ? req.deploy.sessions_per_instance
                                  : req.service.sessions_per_instance;
    h.deploying = true;
    ctx->hold = st.ledger.add(std::move(h));
  }
  ctx->rp = self->make_response_promise<deploy_service_reply>();
  deploy_next(self, ctx);
  return ctx->rp;
}

// --- termination (§6.3.3.2) ---

/// Frees a terminated instance's resources and environment, then answers.
void finish_termination(self_ptr self, std::string instance_id, bool forced, std::string detail,
                        caf::typed_response_promise<status_reply> rp) {
  auto& st = self->state;
  auto i = st.find_instance(instance_id);
  if (i == st.instances.end()) {
    rp.deliver(fusion::make_error(errc::unknown_instance,
                                  "instance " + instance_id + " vanished during termination"));
    return;
  }
  auto env = i->environment;
  st.ledger.unuse(i->use());
  st.instances.erase(i);
  ++(forced ? st.stopped_forced : st.stopped_graceful);
  schedule_report(self);
  auto text = std::string{forced ? "forced: " : "graceful: "} + detail;
  self->request(st.dc, ms(st.cfg.deployment.step_timeout_ms), terminate_service_environment{env})
      .then(
          [=](status_reply&) mutable {
            rp.deliver(status_reply{status::ok, text});
          },
          [=](caf::error& e) mutable {
            rp.deliver(
                status_reply{status::ok, text + "; environment cleanup failed: " + describe(e)});
          });
}

caf::result<status_reply> terminate(self_ptr self, const terminate_service_instance& req) {
  auto& st = self->state;
  auto i = st.find_instance(req.instance_id.value);
  if (i == st.instances.end())
    return fusion::make_error(errc::unknown_instance, "zone " + st.zone() + " has no instance '" +
                                                          req.instance_id.value + "'");
  if (i->withdrawn)
    return fusion::make_error(errc::invalid_state,
                              "instance " + i->id + " is already being terminated");
  // Withdraw its slots first: it no longer counts in reports while it stops.
  i->withdrawn = true;
  schedule_report(self);
  auto rp = self->make_response_promise<status_reply>();
  auto timeout = req.timeout_ms > 0 ? req.timeout_ms : st.cfg.instance.stop_timeout_ms;
  auto id = i->id;
  auto inst = caf::actor_cast<service_lifecycle_actor>(st.dir->resolve(i->where));
  if (!inst) {
    finish_termination(self, id, true, "instance was not reachable", rp);
    return rp;
  }
  self->request(inst, ms(timeout + st.cfg.instance.force_grace_ms), service_stop{timeout})
      .then([=](status_reply& r) { finish_termination(self, id, false, r.detail, rp); },
            [=](caf::error& e) {
              self->send_exit(inst, caf::exit_reason::kill);
              finish_termination(
                  self, id, true,
                  "instance did not stop within " +
                      std::to_string(timeout + self->state.cfg.instance.force_grace_ms) + " ms (" +
                      describe(e) + ")",
                  rp);
            });
  return rp;
}

// --- information (§6.4.1.3) ---

struct service_info_ctx {
  caf::typed_response_promise<information> rp;
  information info;
  size_t pending = 0;
  uint64_t available = 0;
  uint64_t max_sessions = 0;
  uint64_t unreachable = 0;
};

void service_info_done(std::shared_ptr<service_info_ctx> ctx) {
  if (--ctx->pending > 0) return;
  ctx->info.values["available_sessions"] = std::to_string(ctx->available);
  ctx->info.values["max_sessions"] = std::to_string(ctx->max_sessions);
  ctx->info.values["unreachable"] = std::to_string(ctx->unreachable);
  ctx->rp.deliver(std::move(ctx->info));
}

caf::result<information> service_information(self_ptr self, const get_service_information& req) {
  auto& st = self->state;
  auto ctx = std::make_shared<service_info_ctx>();
  ctx->info.category = req.category;
  auto& v = ctx->info.values;
  v["zone"] = st.zone();
  v["service"] = req.service_name;
  std::vector<service_lifecycle_actor> targets;
  size_t count = 0;
  for (const auto& i : st.instances) {
    if (i.withdrawn || i.service != req.service_name) continue;
    ++count;
    if (req.category != info_category::summary) v["instance." + i.id] = i.where.actor;
    if (auto h = caf::actor_cast<service_lifecycle_actor>(st.dir->resolve(i.where)))
      targets.push_back(h);
    else
      ++ctx->unreachable;
  }
  v["instances"] = std::to_string(count);
  if (targets.empty()) {
    ctx->pending = 1;
    ctx->rp = self->make_response_promise<information>();
    auto rp = ctx->rp;
    service_info_done(ctx);
    return rp;
  }
  ctx->pending = targets.size();
  ctx->rp = self->make_response_promise<information>();
  for (auto& h : targets)
    self->request(h, ms(st.cfg.info_timeout_ms), get_available_sessions{})
        .then(
            [=](available_sessions& a) {
              ctx->available += a.available;
              ctx->max_sessions += a.max_sessions;
              service_info_done(ctx);
            },
            [=](caf::error&) {
              ++ctx->unreachable;
              service_info_done(ctx);
            });
  return ctx->rp;
}

information zone_information(self_ptr self, const get_zone_information& req) {
  auto& st = self->state;
  const auto& p = st.cfg.parameters;
  information info;
  info.category = req.category;
  auto& v = info.values;
  auto free = st.free();
  v["zone"] = p.name;
  v["zone_id"] = st.zone_id.value;
  v["registration"] = st.registration;
  v["region"] = p.location.region;
  v["cpu_cores"] = std::to_string(p.cpu_cores);
  v["memory_mb"] = std::to_string(p.memory_mb);
  v["gpus"] = std::to_string(st.ledger.capacity().gpus);
  v["max_instances"] = std::to_string(p.max_instances);
  v["free_cpu_cores"] = std::to_string(free.free_cpu_cores);
  v["free_memory_mb"] = std::to_string(free.free_memory_mb);
  v["free_gpus"] = std::to_string(free.free_gpus);
  v["instances"] = std::to_string(free.instances);
  v["reservations"] = std::to_string(free.reservations);
  v["reserved_instances"] = std::to_string(st.ledger.held().instances);
  v["offers_made"] = std::to_string(st.offers_made);
  v["offers_declined"] = std::to_string(st.offers_declined);
  v["offers_expired"] = std::to_string(st.offers_expired);
  v["offers_released"] = std::to_string(st.offers_released);
  v["deployed"] = std::to_string(st.deployed);
  v["deploy_failures"] = std::to_string(st.deploy_failures);
  v["terminated_graceful"] = std::to_string(st.stopped_graceful);
  v["terminated_forced"] = std::to_string(st.stopped_forced);
  v["cache_hits"] = std::to_string(st.cache.hits());
  v["cache_misses"] = std::to_string(st.cache.misses());
  if (req.category != info_category::summary)
    for (const auto& i : st.instances)
      v["instance." + i.id] = i.service + (i.withdrawn ? " stopping" : " running");
  return info;
}

// --- the actor ---

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
  st.self_locator = locator{"", names::zone_manager(st.zone())};
  if (auto reg = st.dir->get_as<zone_registry_actor>(names::zone_registry)) {
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
              s.registration = "registered";
              schedule_report(self);
            },
            [=](caf::error& e) {
              auto& s = self->state;
              s.registration = "failed: " + describe(e);
              s.log->warn("zone {}: registration with the zone registry failed: {}", s.zone(),
                          describe(e));
            });
  }
  return {
      [=](const zone_evaluate& req) -> caf::result<zone_offer> {
        if (req.service->evaluator.empty()) return evaluate_inline(self, req);
        auto rp = self->make_response_promise<zone_offer>();
        evaluate_with(self, req, [rp](zone_offer x) mutable { rp.deliver(std::move(x)); });
        return rp;
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
      [=](damped_flush_atom) {
        self->state.damped_flush_scheduled = false;
        flush_reports(self);
      },
      [=](zone_deploy_service& req) { return deploy(self, req); },
      [=](const terminate_service_instance& req) { return terminate(self, req); },
      [=](const get_service_information& req) { return service_information(self, req); },
      [=](const get_zone_information& req) { return zone_information(self, req); },
  };
}

}  // namespace

zone_manager_actor spawn_zone_manager(caf::actor_system& sys, zone_manager_config cfg,
                                      runtime::directory_ptr dir) {
  auto name = cfg.parameters.name;
  auto dc = spawn_inprocess_dc(sys, name, dir, cfg.launch);
  auto d = dir;
  zone_manager_actor h = sys.spawn(zone_manager, std::move(cfg), std::move(dir), std::move(dc));
  d->put(names::zone_manager(name), caf::actor_cast<caf::actor>(h));
  return h;
}

}  // namespace fusion::zone
