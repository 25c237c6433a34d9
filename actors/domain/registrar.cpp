#include "actors/domain/registrar.hpp"

#include "protocols/errc.hpp"
#include "protocols/names.hpp"
#include "runtime/clock.hpp"
#include "runtime/commits.hpp"
#include "runtime/logging.hpp"
#include "runtime/manifest.hpp"
#include "runtime/names.hpp"
#include "runtime/store.hpp"

#include <caf/sec.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/logger.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

namespace fusion::domain {

namespace {

using namespace protocols;

/// The registrar's memory: every registration, mirrored from the store. It runs ahead of
/// the disk by the batches in flight; no reply leaves before what it saw is committed.
struct registrar_state {
  registrar_state() = default;
  registrar_config cfg;
  runtime::directory_ptr dir;
  std::shared_ptr<runtime::store_writer> db;
  runtime::commits commits;
  caf::error db_error;  ///< Why the store is unusable; every request then fails with it.
  std::shared_ptr<spdlog::logger> log = runtime::logger("registrar");
  std::map<std::string, service_record> services;  ///< By ServiceID.
  std::map<std::string, std::string> by_name;      ///< Service URI → ServiceID.
  runtime::id_generator ids{"svc"};
  static inline const char* name = "fusion.registrar";
};

/// The registrar's full interface: the public one plus its store's commit notices.
using registrar_impl =
    registrar_actor::extend<caf::reacts_to<runtime::committed_atom, uint64_t, caf::error>>;

using self_ptr = registrar_impl::stateful_pointer<registrar_state>;

/// Store table holding the highest ServiceID number ever issued (key "svc").
constexpr const char* counters_table = "registrar_counters";

using runtime::lower;

/// N of "svc-N", or 0 for keys of another shape.
uint64_t id_number(const std::string& id) {
  return runtime::id_number(id, "svc");
}

service_record* find(registrar_state& st, const std::string& id_or_name) {
  if (auto i = st.services.find(id_or_name); i != st.services.end()) return &i->second;
  if (auto j = st.by_name.find(id_or_name); j != st.by_name.end())
    if (auto i = st.services.find(j->second); i != st.services.end()) return &i->second;
  return nullptr;
}

caf::error unknown(const std::string& x) {
  return make_error(errc::unknown_service,
                    "no registered service has ServiceID or name '" + x +
                        "'; query_service_by_category with no categories lists every service");
}

bool may_manage(const principal& caller, const service_record& rec) {
  return caller.kind == role::domain_admin || caller.name == rec.owner.name;
}

caf::error denied(const principal& caller, const char* action, const service_record& rec) {
  return make_error(errc::not_authorized, "principal '" + caller.name + "' may not " + action +
                                              " " + rec.parsed.name + " (" + rec.service_id.value +
                                              "): it belongs to '" + rec.owner.name +
                                              "'; only its owner or a domain admin may");
}

caf::error store_unusable(const registrar_state& st) {
  return make_error(
      errc::storage_failure,
      "registrar store is unusable, nothing can be registered: " + describe(st.db_error));
}

/// Turns a failed request to the deployment function into an error for the provider.
caf::error deployment_failure(const caf::error& e, const std::string& what,
                              protocols::duration_ms timeout) {
  if (e.category() == caf::atom("system") &&
      e.code() == static_cast<uint8_t>(caf::sec::request_timeout))
    return make_error(errc::deadline_exceeded, "the deployment function did not " + what +
                                                   " within " + std::to_string(timeout) + " ms");
  return e;
}

/// The public part of a record: identity, owner, revision and the general section.
service_record summary_of(const service_record& rec) {
  service_record out;
  out.service_id = rec.service_id;
  out.owner = rec.owner;
  out.revision = rec.revision;
  out.registered_at = rec.registered_at;
  const auto& m = rec.parsed;
  out.parsed.name = m.name;
  out.parsed.version = m.version;
  out.parsed.description = m.description;
  out.parsed.keywords = m.keywords;
  out.parsed.categories = m.categories;
  out.parsed.service_type = m.service_type;
  out.parsed.stateful = m.stateful;
  return out;
}

info_map details_of(const service_record& rec) {
  return {{"service_id", rec.service_id.value},
          {"name", rec.parsed.name},
          {"owner", rec.owner.name},
          {"revision", std::to_string(rec.revision)},
          {"version", rec.parsed.version},
          {"registered_at_ms", std::to_string(rec.registered_at)}};
}

void load(self_ptr self) {
  auto& st = self->state;
  auto db = runtime::open_writer(self->system(), st.cfg.db_path);
  if (!db) {
    st.db_error = db.error();
    st.log->error("{}", describe(st.db_error));
    return;
  }
  auto rec =
      runtime::recover<service_record>((*db)->db(), services_table, counters_table, "svc", "svc");
  if (!rec) {
    st.db_error = rec.error();
    st.log->error("{}", describe(st.db_error));
    return;
  }
  st.db = std::move(*db);
  st.ids.skip_past(rec->highest_id);
  for (const auto& e : rec->corrupt)
    st.log->error("{}; the record stays on disk and is ignored", describe(e));
  for (auto& [key, r] : rec->records) {
    if (r.service_id.value != key || st.by_name.count(r.parsed.name) != 0) {
      st.log->error("stored record '{}' is inconsistent (id '{}', name '{}'); ignored", key,
                    r.service_id.value, r.parsed.name);
      continue;
    }
    st.by_name.emplace(r.parsed.name, key);
    st.services.emplace(key, std::move(r));
  }
  st.log->debug("loaded {} services from '{}'", st.services.size(), st.db->db().path());
}

/// Commits `batch`, then runs `then` with the result on the registrar's thread (fail-stop).
void durably(self_ptr self, runtime::write_batch batch, std::function<void(caf::error)> then) {
  runtime::commit_fail_stop(self, std::move(batch), std::move(then),
                            "the registrar refuses every request from now on");
}

/// `value` for the caller once every batch queued before is committed (it may have seen them).
template <class T>
caf::result<T> after_commits(self_ptr self, T value) {
  if (self->state.commits.in_flight() == 0) return value;
  auto rp = self->make_response_promise<T>();
  durably(self, {}, [rp, value = std::move(value)](caf::error err) mutable {
    if (err)
      rp.deliver(std::move(err));
    else
      rp.deliver(std::move(value));
  });
  return rp;
}

/// Removes a service from memory and queues its durable removal; `then` gets the result.
void erase_service(self_ptr self, const fusion_id& id,
                   std::function<void(caf::expected<status_reply>)> then) {
  auto& st = self->state;
  auto i = st.services.find(id.value);
  if (i == st.services.end()) {
    then(status_reply{status::ok, id.value + " was already unregistered"});
    return;
  }
  status_reply out{status::ok, "unregistered " + i->second.parsed.name + " (" + id.value + ")"};
  st.by_name.erase(i->second.parsed.name);
  st.services.erase(i);
  durably(self, {runtime::store_write{services_table, id.value, {}, true}},
          [then, out](caf::error err) {
            if (err)
              then(std::move(err));
            else
              then(out);
          });
}

/// Answers `rp` with the service's id after it is durable, first making sure `pre`
/// instances of it exist if the manifest asks for pre-deployment: the deployment function
/// deploys only those missing (none after a retry, or after a restart while they run).
void acknowledge_registration(self_ptr self, principal caller, fusion_id id, std::string name,
                              uint32_t pre,
                              caf::typed_response_promise<register_service_reply> rp) {
  register_service_reply reply{id, name, {}, {}};
  auto& st = self->state;
  if (pre == 0) {
    rp.deliver(std::move(reply));
    return;
  }
  auto dep = st.dir ? st.dir->get_as<deployment_actor>(names::deployment) : deployment_actor{};
  if (!dep) {
    st.log->warn(
        "{} ({}) asks for {} pre-deployed instances but no deployment function is running; "
        "registered without pre-deployment",
        name, id.value, pre);
    rp.deliver(std::move(reply));
    return;
  }
  deploy_service req{caller, id, {}, {}};
  req.deploy.instances = pre;
  req.ensure = true;
  auto timeout = st.cfg.deployment.step_timeout_ms;
  self->request(dep, std::chrono::milliseconds(timeout), std::move(req))
      .then(
          [=](deploy_service_reply& r) mutable {
            auto out = reply;
            out.pre_deployed = std::move(r.instance_ids);
            out.pre_deployed_at = std::move(r.instances);
            rp.deliver(std::move(out));
          },
          [=](caf::error& e) mutable {
            self->state.log->warn(
                "pre-deployment of {} ({}) failed: {}; the service is registered without "
                "instances",
                name, id.value, describe(deployment_failure(e, "deploy the instances", timeout)));
            rp.deliver(reply);
          });
}

/// Commits a registration's `batch`, then acknowledges it (acknowledge_registration); a
/// failed commit is the answer instead.
caf::result<register_service_reply> register_durably(self_ptr self, runtime::write_batch batch,
                                                     principal caller, fusion_id id,
                                                     std::string name, uint32_t pre) {
  auto rp = self->make_response_promise<register_service_reply>();
  durably(self, std::move(batch), [=](caf::error err) mutable {
    if (err)
      rp.deliver(std::move(err));
    else
      acknowledge_registration(self, caller, id, name, pre, rp);
  });
  return rp;
}

deployment_actor deployment_of(const registrar_state& st) {
  return st.dir ? st.dir->get_as<deployment_actor>(names::deployment) : deployment_actor{};
}

/// `out` with the instances the deployment function has on record for its service (it
/// keeps them, durably): asked as "ensure 0 instances", which deploys nothing.
caf::result<service_description> instances_of(self_ptr self, const principal& caller,
                                              service_description out) {
  auto dep = deployment_of(self->state);
  if (!dep) {
    out.details["instances"] = "0";
    out.details["instances_note"] = "no deployment function is running in this domain";
    return out;
  }
  deploy_service req{caller, out.record.service_id, {}, {}};
  req.deploy.instances = 0;
  req.ensure = true;
  auto timeout = self->state.cfg.deployment.step_timeout_ms;
  auto rp = self->make_response_promise<service_description>();
  self->request(dep, std::chrono::milliseconds(timeout), std::move(req))
      .then(
          [rp, out](deploy_service_reply& r) mutable {
            out.instance_ids = std::move(r.existing_ids);
            out.details["instances"] = std::to_string(out.instance_ids.size());
            rp.deliver(std::move(out));
          },
          [rp, timeout](caf::error& e) mutable {
            rp.deliver(deployment_failure(e, "list the instances", timeout));
          });
  return rp;
}

registrar_impl::behavior_type registrar(self_ptr self, registrar_config cfg,
                                        runtime::directory_ptr dir) {
  self->state.cfg = std::move(cfg);
  self->state.dir = std::move(dir);
  load(self);
  return {
      [=](runtime::committed_atom, uint64_t token, caf::error& err) {
        self->state.commits.done(token, std::move(err));
      },
      [=](register_service& req) -> caf::result<register_service_reply> {
        auto& st = self->state;
        if (!st.db || st.db_error) return store_unusable(st);
        auto m = runtime::parse_manifest(req.service_manifest);
        if (!m) return m.error();
        if (auto i = st.by_name.find(m->name); i != st.by_name.end()) {
          auto& old = st.services.at(i->second);
          if (req.caller.name != old.owner.name)
            return make_error(errc::duplicate_service,
                              "service " + m->name + " is already registered as " + i->second +
                                  "; use update_service to change its manifest");
          // Its owner registers it again (a node restarting with its config, a retry after
          // a lost answer): the same manifest reuses the registration, a changed one
          // updates it. Pre-deployment tops the instances up to the manifest's count.
          runtime::write_batch batch;
          if (old.manifest_yaml == req.service_manifest) {
            st.log->info("{} ({}) registered again by its owner, unchanged; reused", m->name,
                         i->second);
          } else {
            service_record next = old;
            next.revision = old.revision + 1;
            next.manifest_yaml = std::move(req.service_manifest);
            next.parsed = std::move(*m);
            st.log->info(
                "{} ({}) registered again by its owner with a changed manifest: revision {} -> "
                "{}",
                next.parsed.name, next.service_id.value, old.revision, next.revision);
            batch.push_back(runtime::record_write(services_table, next.service_id.value, next));
            old = std::move(next);
          }
          return register_durably(self, std::move(batch), req.caller, old.service_id,
                                  old.parsed.name, old.parsed.pre_deploy_instances);
        }
        service_record rec;
        rec.service_id = st.ids.make();
        rec.owner = req.caller;
        rec.revision = 1;
        rec.manifest_yaml = std::move(req.service_manifest);
        rec.parsed = std::move(*m);
        rec.registered_at = runtime::wall_now(self);
        // One transaction: the record and the highest id ever issued, so ids of
        // unregistered services are never handed out again after a restart.
        runtime::write_batch batch{
            runtime::counter_write(counters_table, "svc", id_number(rec.service_id.value)),
            runtime::record_write(services_table, rec.service_id.value, rec)};
        auto id = rec.service_id;
        auto name = rec.parsed.name;
        auto pre = rec.parsed.pre_deploy_instances;
        st.by_name.emplace(name, id.value);
        st.services.emplace(id.value, std::move(rec));
        return register_durably(self, std::move(batch), req.caller, id, name, pre);
      },
      [=](unregister_service& req) -> caf::result<status_reply> {
        auto& st = self->state;
        if (!st.db || st.db_error) return store_unusable(st);
        auto rec = find(st, req.service_id.value);
        if (rec == nullptr) return unknown(req.service_id.value);
        if (!may_manage(req.caller, *rec)) return denied(req.caller, "unregister", *rec);
        auto id = rec->service_id;
        auto name = rec->parsed.name;
        auto dep = deployment_of(st);
        auto rp = self->make_response_promise<status_reply>();
        auto deliver = [rp](caf::expected<status_reply> r) mutable {
          if (r)
            rp.deliver(std::move(*r));
          else
            rp.deliver(std::move(r.error()));
        };
        if (!req.stop_services || !dep) {
          erase_service(self, id, deliver);
          return rp;
        }
        auto timeout = st.cfg.deployment.step_timeout_ms;
        self->request(dep, std::chrono::milliseconds(timeout), stop_service_instances{id, 0})
            .then(
                [=](status_reply& r) mutable {
                  if (r.code == status::failed) {
                    rp.deliver(
                        make_error(errc::invalid_state,
                                   "the deployment function could not stop the instances of " +
                                       name + ": " + r.detail + "; the service stays registered"));
                    return;
                  }
                  if (self->state.db_error) {
                    rp.deliver(store_unusable(self->state));
                    return;
                  }
                  erase_service(self, id, deliver);
                },
                [=](caf::error& e) mutable {
                  rp.deliver(deployment_failure(e,
                                                "confirm stopping the instances of " + name +
                                                    " (the service stays registered)",
                                                timeout));
                });
        return rp;
      },
      [=](update_service& req) -> caf::result<status_reply> {
        auto& st = self->state;
        if (!st.db || st.db_error) return store_unusable(st);
        auto rec = find(st, req.service_name);
        if (rec == nullptr) return unknown(req.service_name);
        if (!may_manage(req.caller, *rec)) return denied(req.caller, "update", *rec);
        auto m = runtime::parse_manifest(req.manifest);
        if (!m) return m.error();
        if (m->name != rec->parsed.name)
          return make_error(errc::invalid_manifest,
                            "manifest: general.name: is " + m->name +
                                " but the service updated is " + rec->parsed.name +
                                "; a service cannot be renamed, register the new name instead");
        service_record next = *rec;
        next.revision = rec->revision + 1;
        next.manifest_yaml = std::move(req.manifest);
        next.parsed = std::move(*m);
        auto batch = runtime::write_batch{
            runtime::record_write(services_table, next.service_id.value, next)};
        *rec = std::move(next);
        status_reply out{status::ok, rec->service_id.value + " (" + rec->parsed.name +
                                         ") is now at revision " + std::to_string(rec->revision)};
        auto rp = self->make_response_promise<status_reply>();
        durably(self, std::move(batch), [rp, out](caf::error err) mutable {
          if (err)
            rp.deliver(std::move(err));
          else
            rp.deliver(out);
        });
        return rp;
      },
      [=](query_service_by_name& req) -> caf::result<service_description> {
        auto& st = self->state;
        if (!st.db || st.db_error) return store_unusable(st);
        auto rec = find(st, req.service_id.value);
        if (rec == nullptr) return unknown(req.service_id.value);
        service_description out;
        out.details = details_of(*rec);
        switch (req.information_type) {
          case service_info_type::manifest:
            if (!may_manage(req.caller, *rec))
              return denied(req.caller, "read the manifest of", *rec);
            out.record = *rec;
            break;
          case service_info_type::instances: {
            if (!may_manage(req.caller, *rec))
              return denied(req.caller, "list the instances of", *rec);
            out.record = summary_of(*rec);
            return instances_of(self, req.caller, std::move(out));
          }
          default:
            out.record = summary_of(*rec);
            break;
        }
        return after_commits(self, std::move(out));
      },
      [=](query_service_by_category& req) -> caf::result<service_list> {
        auto& st = self->state;
        if (!st.db || st.db_error) return store_unusable(st);
        std::vector<std::string> wanted;
        for (const auto& c : req.categories) wanted.push_back(lower(c));
        service_list out;
        for (const auto& [id, rec] : st.services) {
          std::set<std::string> has;
          for (const auto& c : rec.parsed.categories) has.insert(lower(c));
          for (const auto& k : rec.parsed.keywords) has.insert(lower(k));
          if (std::all_of(wanted.begin(), wanted.end(),
                          [&](const std::string& w) { return has.count(w) != 0; }))
            out.service_names.push_back(rec.parsed.name);
        }
        std::sort(out.service_names.begin(), out.service_names.end());
        return after_commits(self, std::move(out));
      },
  };
}

}  // namespace

registrar_actor spawn_registrar(caf::actor_system& sys, registrar_config cfg,
                                runtime::directory_ptr dir) {
  registrar_actor handle = sys.spawn(registrar, std::move(cfg), dir);
  if (dir) dir->put(names::registrar, caf::actor_cast<caf::actor>(handle));
  return handle;
}

}  // namespace fusion::domain
