#include "actors/domain/deployment.hpp"

#include "protocols/names.hpp"
#include "protocols/records.hpp"
#include "protocols/zone_orchestration.hpp"
#include "runtime/clock.hpp"
#include "runtime/logging.hpp"
#include "runtime/store.hpp"

#include <caf/actor_cast.hpp>
#include <caf/stateful_actor.hpp>

#include <map>
#include <memory>
#include <set>

namespace fusion::domain {

using namespace protocols;

namespace {

struct deployment_state {
  deployment_state() = default;
  deployment_settings cfg;
  runtime::directory_ptr dir;
  std::unique_ptr<runtime::store> db;
  caf::error db_error;  // set if the store could not be opened: every write fails with it
  std::map<std::string, instance_record> instances;  // by InstanceID
  std::map<fusion_id, uint32_t> deploying;           // instances being deployed, by ServiceID
  /// Instances of failed zones placed again elsewhere, by zone name: stopped where they
  /// still run once their zone is back (docs/gossip.md, "Failure handling").
  std::map<std::string, std::vector<instance_record>> replaced;
  static inline const char* name = "deployment";
};

using self_ptr = deployment_actor::stateful_pointer<deployment_state>;

std::chrono::milliseconds ms(duration_ms x) {
  return std::chrono::milliseconds{x};
}

// Progress of one deploy_service across its chosen zones.
struct deploy_job {
  caf::typed_response_promise<deploy_service_reply> rp;
  deploy_service request;
  service_record service;
  placement_decision decision;
  deploy_service_reply reply;
  std::vector<instance_record> records;
  std::vector<std::string> failures;
  errc cause = errc::deployment_failed;  // the code of the first failure, if it had one
  size_t outstanding = 0;
  uint32_t counted = 0;  // instances counted in `deploying` until the job settles
};

using job_ptr = std::shared_ptr<deploy_job>;

/// The zone manager at `where`, or an invalid handle if it cannot be reached.
zone_manager_actor zone_at(self_ptr self, const locator& where) {
  return caf::actor_cast<zone_manager_actor>(self->state.dir->resolve(where));
}

/// The manager of the zone hosting `rec`. Records stored before version 2 carry no
/// locator; their zones were local, under their registered names.
locator manager_of(const instance_record& rec) {
  return rec.zone_manager.actor.empty() ? locator{"", names::zone_manager(rec.zone_name)}
                                        : rec.zone_manager;
}

caf::error persist(self_ptr self, const instance_record& rec) {
  auto& st = self->state;
  if (!st.db) return st.db_error;
  return st.db->put_record(instances_table, rec.instance_id.value, rec);
}

/// Drops the record of an instance that is gone, in memory and in the store.
void forget(self_ptr self, const fusion_id& id) {
  self->state.instances.erase(id.value);
  if (self->state.db)
    if (auto err = self->state.db->erase(instances_table, id.value))
      runtime::logger("deployment")->error("{}", describe(err));
}

void terminate_instances(self_ptr self, const std::vector<instance_record>& recs) {
  for (const auto& r : recs)
    if (auto zm = zone_at(self, manager_of(r)))
      self->request(
              zm, ms(self->state.cfg.instance.stop_timeout_ms * 2),
              terminate_service_instance{r.instance_id, self->state.cfg.instance.stop_timeout_ms})
          .then([](const status_reply&) {}, [](const caf::error&) {});
}

/// The instances of `service` on record plus those being deployed.
uint32_t instances_of(const deployment_state& st, const fusion_id& service) {
  uint32_t n = 0;
  for (const auto& [id, rec] : st.instances) n += rec.service_id == service ? 1 : 0;
  if (auto i = st.deploying.find(service); i != st.deploying.end()) n += i->second;
  return n;
}

/// Answers the job: from now on its instances are on record or gone, no longer deploying.
template <class T>
void settle(self_ptr self, const job_ptr& job, T&& answer) {
  if (job->counted > 0) {
    auto i = self->state.deploying.find(job->service.service_id);
    if (i != self->state.deploying.end() && (i->second -= job->counted) == 0)
      self->state.deploying.erase(i);
    job->counted = 0;
  }
  job->rp.deliver(std::forward<T>(answer));
}

// All zones answered: commit (store records, answer) or roll back (terminate, fail).
void finish(self_ptr self, const job_ptr& job) {
  if (job->failures.empty()) {
    for (const auto& rec : job->records) {
      if (auto err = persist(self, rec)) {
        terminate_instances(self, job->records);
        settle(self, job, err);
        return;
      }
    }
    for (auto& rec : job->records) self->state.instances[rec.instance_id.value] = rec;
    job->reply.decision_id = job->decision.decision_id;
    runtime::logger("deployment")
        ->info("deployed {} instance(s) of {} ({})", job->records.size(), job->service.parsed.name,
               job->decision.decision_id.value);
    settle(self, job, std::move(job->reply));
    return;
  }
  terminate_instances(self, job->records);
  std::string why = "deployment of " + job->service.parsed.name + " failed, rolled back " +
                    std::to_string(job->records.size()) + " started instance(s):";
  for (const auto& f : job->failures) why += " " + f + ";";
  settle(self, job, make_error(job->cause, std::move(why)));
}

void deploy_in_zones(self_ptr self, const job_ptr& job) {
  auto& d = job->decision;
  if (!d.satisfied) {
    // Offers chosen for a partial cover are still reserved: give them back.
    for (const auto& o : d.chosen)
      if (auto zm = zone_at(self, o.manager)) self->send(zm, release_offers{{o.offer_id}});
    std::string why = "no placement for " + job->service.parsed.name + " (" + d.summary + ")";
    size_t shown = 0;
    for (const auto& v : d.verdicts)
      if (v.code != refusal_code::none && !v.chosen && shown++ < 16)
        why += "; zone " + v.zone_name + ": " + refusal_words(v.code, v.details);
    settle(self, job, make_error(errc::no_feasible_zone, std::move(why)));
    return;
  }
  uint32_t remaining = job->request.deploy.instances;
  for (const auto& o : d.chosen) {
    if (remaining == 0) break;
    auto n = std::min(remaining, o.instances);
    remaining -= n;
    auto zm = zone_at(self, o.manager);
    if (!zm) {
      job->failures.push_back("zone " + o.zone_name + " is not reachable at '" + o.manager.actor +
                              "'");
      continue;
    }
    zone_deploy_service req;
    req.service_name = job->service.parsed.name;
    req.service_parameters = job->request.service_parameters;
    req.deploy = job->request.deploy;
    req.deploy.instances = n;
    req.timeout_ms = self->state.cfg.deployment.step_timeout_ms;
    req.offer_id = o.offer_id;
    req.service_id = job->service.service_id;
    req.service = job->service.parsed;
    ++job->outstanding;
    auto zone_name = o.zone_name;
    auto zone_id = o.zone_id;
    auto manager = o.manager;
    self->request(zm, ms(self->state.cfg.deployment.step_timeout_ms), std::move(req))
        .then(
            [=](deploy_service_reply& r) {
              for (size_t i = 0; i < r.instance_ids.size(); ++i) {
                instance_record rec;
                rec.instance_id = r.instance_ids[i];
                rec.service_id = job->service.service_id;
                rec.service = job->service.parsed.name;
                rec.zone_name = zone_name;
                rec.zone_id = zone_id;
                rec.zone_manager = manager;
                if (i < r.instances.size()) rec.instance = r.instances[i];
                rec.decision_id = job->decision.decision_id;
                rec.deployed_at = runtime::wall_now(self);
                job->reply.instance_ids.push_back(rec.instance_id);
                job->reply.instances.push_back(rec.instance);
                job->records.push_back(std::move(rec));
              }
              if (--job->outstanding == 0) finish(self, job);
            },
            [=](caf::error& e) {
              if (job->failures.empty() && e.category() == errc_category)
                job->cause = static_cast<errc>(e.code());
              job->failures.push_back("zone " + zone_name + ": " + describe(e));
              if (--job->outstanding == 0) finish(self, job);
            });
  }
  if (job->outstanding == 0) finish(self, job);
}

caf::result<deploy_service_reply> on_deploy(self_ptr self, deploy_service& req) {
  auto& st = self->state;
  if (req.deploy.instances == 0 && !req.ensure)
    return make_error(errc::invalid_argument, "deploy.instances must be at least 1");
  auto registrar = st.dir->get_as<registrar_actor>(names::registrar);
  auto placement = st.dir->get_as<placement_actor>(names::placement);
  if (!registrar || !placement)
    return make_error(errc::unknown_service,
                      "this domain has no registrar or placement function to deploy with");
  auto job = std::make_shared<deploy_job>();
  job->rp = self->make_response_promise<deploy_service_reply>();
  job->request = std::move(req);
  // Asking for the manifest also checks the caller owns the service (or is domain admin).
  self->request(registrar, ms(st.cfg.deployment.step_timeout_ms),
                query_service_by_name{job->request.caller, job->request.service_id,
                                      service_info_type::manifest})
      .then(
          [=](service_description& desc) {
            job->service = std::move(desc.record);
            const auto& m = job->service.parsed;
            auto& st = self->state;
            auto running = instances_of(st, job->service.service_id);
            if (job->request.ensure) {
              for (const auto& [id, rec] : st.instances)
                if (rec.service_id == job->service.service_id) {
                  job->reply.existing_ids.push_back(rec.instance_id);
                  job->reply.existing.push_back(rec.instance);
                }
              auto wanted = job->request.deploy.instances;
              if (running >= wanted) {
                job->rp.deliver(std::move(job->reply));
                return;
              }
              job->request.deploy.instances = wanted - running;
            }
            if (m.max_instances > 0 && running + job->request.deploy.instances > m.max_instances) {
              job->rp.deliver(make_error(
                  errc::invalid_argument,
                  m.name + " allows at most " + std::to_string(m.max_instances) +
                      " instances (business.max_instances); " + std::to_string(running) +
                      " running or being deployed, " +
                      std::to_string(job->request.deploy.instances) + " more requested"));
              return;
            }
            job->counted = job->request.deploy.instances;
            st.deploying[job->service.service_id] += job->counted;
            self->request(placement, ms(self->state.cfg.deployment.step_timeout_ms),
                          place_service{job->request.caller, m, job->request.deploy, false})
                .then(
                    [=](placement_decision& d) {
                      job->decision = std::move(d);
                      deploy_in_zones(self, job);
                    },
                    [=](caf::error& e) { settle(self, job, std::move(e)); });
          },
          [=](caf::error& e) { job->rp.deliver(std::move(e)); });
  return job->rp;
}

caf::result<status_reply> on_stop(self_ptr self, stop_service_instances& req) {
  auto& st = self->state;
  std::vector<instance_record> victims;
  for (const auto& [id, rec] : st.instances)
    if (rec.service_id == req.service_id) victims.push_back(rec);
  if (victims.empty()) return status_reply{status::ok, "no instances of " + req.service_id.value};
  auto timeout = req.timeout_ms > 0 ? req.timeout_ms : st.cfg.instance.stop_timeout_ms;
  auto rp = self->make_response_promise<status_reply>();
  struct progress {
    size_t outstanding = 0;
    size_t stopped = 0;
    std::vector<std::string> failures;
  };
  auto prog = std::make_shared<progress>();
  prog->outstanding = victims.size();
  auto done = [=]() mutable {
    if (--prog->outstanding > 0) return;
    if (prog->failures.empty()) {
      rp.deliver(status_reply{status::ok, "stopped " + std::to_string(prog->stopped) +
                                              " instance(s) of " + req.service_id.value});
      return;
    }
    std::string why = "could not stop every instance:";
    for (const auto& f : prog->failures) why += " " + f + ";";
    rp.deliver(make_error(errc::deadline_exceeded, std::move(why)));
  };
  for (const auto& rec : victims) {
    auto zm = zone_at(self, manager_of(rec));
    if (!zm) {
      prog->failures.push_back(rec.instance_id.value + ": zone " + rec.zone_name +
                               " is not reachable");
      done();
      continue;
    }
    auto id = rec.instance_id;
    // The zone waits `timeout` for a graceful stop, then forces: allow for both.
    self->request(zm, ms(timeout * 2 + st.cfg.deployment.step_timeout_ms),
                  terminate_service_instance{id, timeout})
        .then(
            [=](const status_reply&) mutable {
              ++prog->stopped;
              forget(self, id);
              done();
            },
            [=](caf::error& e) mutable {
              if (is(e, errc::unknown_instance)) {
                forget(self, id);  // already gone
                ++prog->stopped;
              } else {
                prog->failures.push_back(id.value + ": " + describe(e));
              }
              done();
            });
  }
  return rp;
}

// Reconciliation: each zone hosting recorded instances is asked which instances it hosts.
// Only records that existed when the question was sent are judged (a deployment committed
// meanwhile was answered by its zone before the question reached it, so it is listed anyway).
caf::result<instances_reconciled> on_reconcile(self_ptr self, const reconcile_instances& req) {
  struct progress {
    caf::typed_response_promise<instances_reconciled> rp;
    instances_reconciled result;
    size_t outstanding = 0;
  };
  auto& st = self->state;
  auto prog = std::make_shared<progress>();
  prog->rp = self->make_response_promise<instances_reconciled>();
  auto finished = [self, prog] {
    if (--prog->outstanding > 0) return;
    if (prog->result.removed > 0 || prog->result.unconfirmed > 0)
      runtime::logger("deployment")
          ->info(
              "reconciled instance records with their zones: {} confirmed, {} removed (gone "
              "with an earlier start of their zone), {} kept unconfirmed (zone not answering)",
              prog->result.confirmed, prog->result.removed, prog->result.unconfirmed);
    prog->rp.deliver(std::move(prog->result));
  };
  // Records by the zone manager hosting them (node, then actor name).
  std::map<std::pair<std::string, std::string>, std::vector<fusion_id>> by_zone;
  for (const auto& [id, rec] : st.instances) {
    if (!req.zone_name.empty() && rec.zone_name != req.zone_name) continue;
    auto where = manager_of(rec);
    by_zone[{where.node, where.actor}].push_back(rec.instance_id);
  }
  prog->outstanding = by_zone.size() + 1;  // + 1: this loop, so `finished` runs once at least
  for (auto& [where, ids] : by_zone) {
    auto zm = zone_at(self, locator{where.first, where.second});
    if (!zm) {
      prog->result.unconfirmed += static_cast<uint32_t>(ids.size());
      finished();
      continue;
    }
    auto n = static_cast<uint32_t>(ids.size());
    self->request(zm, ms(st.cfg.deployment.step_timeout_ms), list_hosted_instances{})
        .then(
            [=, ids = std::move(ids)](const hosted_instances& hosted) {
              std::set<fusion_id> present(hosted.instance_ids.begin(), hosted.instance_ids.end());
              for (const auto& id : ids) {
                if (!self->state.instances.count(id.value)) continue;  // stopped meanwhile
                if (present.count(id)) {
                  ++prog->result.confirmed;
                } else {
                  runtime::logger("deployment")
                      ->info("instance {} is not hosted by zone {} any more: record removed",
                             id.value, hosted.zone_name);
                  forget(self, id);
                  ++prog->result.removed;
                  prog->result.removed_ids.push_back(id);
                }
              }
              finished();
            },
            [=](const caf::error&) {
              prog->result.unconfirmed += n;
              finished();
            });
  }
  finished();
  return prog->rp;
}

// A zone's own scaling (§6.3.3): its started instances go on record, its stopped ones off.
caf::result<status_reply> on_zone_changed(self_ptr self, const zone_instances_changed& req) {
  auto& st = self->state;
  for (const auto& rec : req.started)
    if (rec.instance_id.empty() || rec.zone_name != req.zone_name)
      return make_error(errc::invalid_argument,
                        "zone_instances_changed from zone '" + req.zone_name +
                            "': every started instance needs an id and that zone's name (found '" +
                            rec.instance_id.value + "' in zone '" + rec.zone_name + "')");
  for (const auto& id : req.stopped) {
    auto i = st.instances.find(id.value);
    if (i != st.instances.end() && i->second.zone_name != req.zone_name)
      return make_error(errc::invalid_argument, "zone_instances_changed from zone '" +
                                                    req.zone_name + "': instance " + id.value +
                                                    " runs in zone '" + i->second.zone_name + "'");
  }
  for (const auto& rec : req.started) {
    if (auto err = persist(self, rec)) return err;
    st.instances[rec.instance_id.value] = rec;
  }
  for (const auto& id : req.stopped) forget(self, id);
  runtime::logger("deployment")
      ->info("zone {} started {} and stopped {} instance(s) on its own: {}", req.zone_name,
             req.started.size(), req.stopped.size(), req.reason);
  return status_reply{status::ok, "recorded " + std::to_string(req.started.size()) +
                                      " started and " + std::to_string(req.stopped.size()) +
                                      " stopped instance(s)"};
}

// A zone failed (gossip declared its node dead, the registry fenced it): its instances are
// off the record and placed again elsewhere, through domain scaling (which takes each
// service's owner and manifest); the originals are remembered until the zone is back.
void on_zone_down(self_ptr self, const zone_availability& z) {
  auto& st = self->state;
  std::map<service_uri, uint32_t> lost;
  auto& gone = st.replaced[z.zone_name];
  for (auto it = st.instances.begin(); it != st.instances.end();) {
    if (it->second.zone_name != z.zone_name) {
      ++it;
      continue;
    }
    auto rec = it->second;
    ++it;
    ++lost[rec.service];
    gone.push_back(rec);
    forget(self, rec.instance_id);
  }
  auto log = runtime::logger("deployment");
  if (lost.empty()) {
    log->info("zone {} failed: it hosted no instance on record", z.zone_name);
    return;
  }
  auto scaling = st.dir->get_as<scaling_actor>(names::scaling);
  for (const auto& [service, n] : lost) {
    log->warn("zone {} failed: placing its {} instance(s) of {} again elsewhere", z.zone_name, n,
              service);
    if (!scaling) {
      log->error("no domain scaling function to place {} again: deploy it by hand", service);
      continue;
    }
    self->request(scaling, ms(4 * st.cfg.deployment.step_timeout_ms),
                  scale_service{service, n, "zone failure handling",
                                "zone " + z.zone_name + " declared dead"})
        .then([](const deploy_service_reply&) {},
              [=](const caf::error& e) {
                runtime::logger("deployment")
                    ->error("could not place {} again after zone {} failed: {}", service,
                            z.zone_name, describe(e));
              });
  }
}

// A failed zone is back (it registered again): what it still runs of the instances placed
// again meanwhile is stopped there, so no instance runs twice.
void on_zone_up(self_ptr self, const zone_availability& z) {
  auto& st = self->state;
  auto it = st.replaced.find(z.zone_name);
  if (it == st.replaced.end()) return;
  auto recs = std::move(it->second);
  st.replaced.erase(it);
  auto zm = zone_at(self, z.manager);  // the locator the zone registered, as the registry sent it
  if (!zm) return;
  self->request(zm, ms(st.cfg.deployment.step_timeout_ms), list_hosted_instances{})
      .then(
          [=](const hosted_instances& hosted) {
            std::set<fusion_id> present(hosted.instance_ids.begin(), hosted.instance_ids.end());
            std::vector<instance_record> twice;
            for (const auto& r : recs)
              if (present.count(r.instance_id) > 0) twice.push_back(r);
            if (twice.empty()) return;
            runtime::logger("deployment")
                ->warn(
                    "zone {} is back with {} instance(s) placed again while it was dead: "
                    "stopping them there",
                    z.zone_name, twice.size());
            for (auto& r : twice) r.zone_manager = z.manager;
            terminate_instances(self, twice);
          },
          [=](const caf::error& e) {
            runtime::logger("deployment")
                ->warn(
                    "zone {} is back but did not list its instances ({}); instances placed "
                    "again meanwhile may run twice until it is reconciled",
                    z.zone_name, describe(e));
          });
}

deployment_actor::behavior_type deployment_impl(self_ptr self, deployment_settings cfg,
                                                runtime::directory_ptr dir) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.dir = std::move(dir);
  if (auto db = runtime::store::open(st.cfg.db_path)) {
    st.db = std::move(*db);
    std::vector<caf::error> corrupt;
    if (auto recs = st.db->load_records<instance_record>(instances_table, &corrupt)) {
      for (auto& [key, rec] : *recs) st.instances.emplace(key, std::move(rec));
    } else {
      runtime::logger("deployment")->error("{}", describe(recs.error()));
    }
    for (const auto& e : corrupt) runtime::logger("deployment")->error("{}", describe(e));
  } else {
    st.db_error = db.error();
    runtime::logger("deployment")->error("{}", describe(st.db_error));
  }
  return {
      [=](deploy_service& req) { return on_deploy(self, req); },
      [=](stop_service_instances& req) { return on_stop(self, req); },
      [=](const reconcile_instances& req) { return on_reconcile(self, req); },
      [=](const zone_instances_changed& req) { return on_zone_changed(self, req); },
      [=](const zone_availability& z) {
        if (z.up)
          on_zone_up(self, z);
        else
          on_zone_down(self, z);
      },
  };
}

}  // namespace

deployment_actor spawn_deployment(caf::actor_system& sys, deployment_settings cfg,
                                  runtime::directory_ptr dir) {
  auto handle = sys.spawn(deployment_impl, std::move(cfg), dir);
  dir->put(names::deployment, caf::actor_cast<caf::actor>(handle));
  return handle;
}

}  // namespace fusion::domain
