#include "actors/domain/registrar.hpp"

#include "protocols/errc.hpp"
#include "protocols/names.hpp"
#include "runtime/clock.hpp"
#include "runtime/manifest.hpp"
#include "runtime/store.hpp"

#include <caf/sec.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

namespace fusion::domain {

namespace {

using namespace protocols;

/// The registrar's memory: every acknowledged registration, mirrored from the store.
struct registrar_state {
  registrar_state() = default;
  registrar_config cfg;
  runtime::directory_ptr dir;
  std::unique_ptr<runtime::store> db;
  caf::error db_error;  ///< Why the store is unusable; every request then fails with it.
  std::map<std::string, service_record> services;  ///< By ServiceID.
  std::map<std::string, std::string> by_name;      ///< Service URI → ServiceID.
  /// Instances known from pre-deployment (soft state, not durable), by ServiceID.
  std::map<std::string, std::vector<fusion_id>> instances;
  runtime::id_generator ids{"svc"};
  static inline const char* name = "fusion.registrar";
};

using self_ptr = registrar_actor::stateful_pointer<registrar_state>;

/// Store table holding the highest ServiceID number ever issued (key "svc").
constexpr const char* counters_table = "registrar_counters";

std::string lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

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
  auto db = runtime::store::open(st.cfg.db_path);
  if (!db) {
    st.db_error = db.error();
    spdlog::error("registrar: {}", describe(st.db_error));
    return;
  }
  st.db = std::move(*db);
  // Every stored key reserves its number, even one whose record no longer decodes.
  auto rows = st.db->load_all(services_table);
  std::vector<caf::error> corrupt;
  auto recs =
      rows ? st.db->load_records<service_record>(services_table, &corrupt)
           : caf::expected<std::vector<std::pair<std::string, service_record>>>{rows.error()};
  if (!recs) {
    st.db_error = recs.error();
    st.db.reset();
    spdlog::error("registrar: {}", describe(st.db_error));
    return;
  }
  for (const auto& row : *rows) st.ids.skip_past(id_number(row.first));
  if (auto counters = st.db->load_all(counters_table)) {
    for (const auto& [key, value] : *counters)
      if (key == "svc")
        st.ids.skip_past(id_number("svc-" + std::string(value.begin(), value.end())));
  } else {
    st.db_error = counters.error();
    st.db.reset();
    spdlog::error("registrar: {}", describe(st.db_error));
    return;
  }
  for (const auto& e : corrupt)
    spdlog::error("registrar: {}; the record stays on disk and is ignored", describe(e));
  for (auto& [key, rec] : *recs) {
    if (rec.service_id.value != key || st.by_name.count(rec.parsed.name) != 0) {
      spdlog::error("registrar: stored record '{}' is inconsistent (id '{}', name '{}'); ignored",
                    key, rec.service_id.value, rec.parsed.name);
      continue;
    }
    st.by_name.emplace(rec.parsed.name, key);
    st.services.emplace(key, std::move(rec));
  }
  spdlog::debug("registrar: loaded {} services from '{}'", st.services.size(), st.db->path());
}

/// Removes a service durably, then from memory. The result for the provider.
caf::error erase_service(self_ptr self, const fusion_id& id, status_reply& out) {
  auto& st = self->state;
  auto i = st.services.find(id.value);
  if (i == st.services.end()) {
    out = status_reply{status::ok, id.value + " was already unregistered"};
    return {};
  }
  if (auto err = st.db->erase(services_table, id.value)) return err;
  out = status_reply{status::ok, "unregistered " + i->second.parsed.name + " (" + id.value + ")"};
  st.by_name.erase(i->second.parsed.name);
  st.services.erase(i);
  st.instances.erase(id.value);
  return {};
}

deployment_actor deployment_of(const registrar_state& st) {
  return st.dir ? st.dir->get_as<deployment_actor>(names::deployment) : deployment_actor{};
}

registrar_actor::behavior_type registrar(self_ptr self, registrar_config cfg,
                                         runtime::directory_ptr dir) {
  self->state.cfg = std::move(cfg);
  self->state.dir = std::move(dir);
  load(self);
  return {
      [=](register_service& req) -> caf::result<register_service_reply> {
        auto& st = self->state;
        if (!st.db) return store_unusable(st);
        auto m = runtime::parse_manifest(req.service_manifest);
        if (!m) return m.error();
        if (auto i = st.by_name.find(m->name); i != st.by_name.end())
          return make_error(errc::duplicate_service,
                            "service " + m->name + " is already registered as " + i->second +
                                "; use update_service to change its manifest");
        service_record rec;
        rec.service_id = st.ids.make();
        // The highest id ever issued is stored first, so ids of unregistered services are
        // never handed out again after a restart.
        auto n = std::to_string(id_number(rec.service_id.value));
        if (auto err = st.db->put(counters_table, "svc", std::vector<char>(n.begin(), n.end())))
          return err;
        rec.owner = req.caller;
        rec.revision = 1;
        rec.manifest_yaml = std::move(req.service_manifest);
        rec.parsed = std::move(*m);
        rec.registered_at = runtime::now_ms(self);
        if (auto err = st.db->put_record(services_table, rec.service_id.value, rec)) return err;
        auto id = rec.service_id;
        auto name = rec.parsed.name;
        auto pre = rec.parsed.pre_deploy_instances;
        st.by_name.emplace(name, id.value);
        st.services.emplace(id.value, std::move(rec));
        register_service_reply reply{id, name, {}};
        if (pre == 0) return reply;
        auto dep = deployment_of(st);
        if (!dep) {
          spdlog::warn(
              "registrar: {} ({}) asks for {} pre-deployed instances but no deployment "
              "function is running; registered without pre-deployment",
              name, id.value, pre);
          return reply;
        }
        deploy_parameters params;
        params.instances = pre;
        auto timeout = st.cfg.deploy_timeout_ms;
        auto rp = self->make_response_promise<register_service_reply>();
        self->request(dep, std::chrono::milliseconds(timeout),
                      deploy_service{req.caller, id, {}, params})
            .then(
                [=](deploy_service_reply& r) mutable {
                  auto out = reply;
                  if (self->state.services.count(id.value) != 0) {
                    auto& known = self->state.instances[id.value];
                    known.insert(known.end(), r.instance_ids.begin(), r.instance_ids.end());
                  }
                  out.pre_deployed = std::move(r.instance_ids);
                  rp.deliver(std::move(out));
                },
                [=](caf::error& e) mutable {
                  spdlog::warn(
                      "registrar: pre-deployment of {} ({}) failed: {}; the service is "
                      "registered without instances",
                      name, id.value,
                      describe(deployment_failure(e, "deploy the instances", timeout)));
                  rp.deliver(reply);
                });
        return rp;
      },
      [=](unregister_service& req) -> caf::result<status_reply> {
        auto& st = self->state;
        if (!st.db) return store_unusable(st);
        auto rec = find(st, req.service_id.value);
        if (rec == nullptr) return unknown(req.service_id.value);
        if (!may_manage(req.caller, *rec)) return denied(req.caller, "unregister", *rec);
        auto id = rec->service_id;
        auto name = rec->parsed.name;
        auto dep = deployment_of(st);
        status_reply out;
        if (!req.stop_services || !dep) {
          if (auto err = erase_service(self, id, out)) return err;
          return out;
        }
        auto timeout = st.cfg.deploy_timeout_ms;
        auto rp = self->make_response_promise<status_reply>();
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
                  status_reply done;
                  if (auto err = erase_service(self, id, done))
                    rp.deliver(std::move(err));
                  else
                    rp.deliver(std::move(done));
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
        if (!st.db) return store_unusable(st);
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
        if (auto err = st.db->put_record(services_table, next.service_id.value, next)) return err;
        *rec = std::move(next);
        return status_reply{status::ok, rec->service_id.value + " (" + rec->parsed.name +
                                            ") is now at revision " +
                                            std::to_string(rec->revision)};
      },
      [=](query_service_by_name& req) -> caf::result<service_description> {
        auto& st = self->state;
        if (!st.db) return store_unusable(st);
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
            if (auto i = st.instances.find(rec->service_id.value); i != st.instances.end())
              out.instance_ids = i->second;
            out.details["instances"] = std::to_string(out.instance_ids.size());
            break;
          }
          default:
            out.record = summary_of(*rec);
            break;
        }
        return out;
      },
      [=](query_service_by_category& req) -> caf::result<service_list> {
        auto& st = self->state;
        if (!st.db) return store_unusable(st);
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
        return out;
      },
  };
}

}  // namespace

registrar_actor spawn_registrar(caf::actor_system& sys, registrar_config cfg,
                                runtime::directory_ptr dir) {
  auto handle = sys.spawn(registrar, std::move(cfg), dir);
  if (dir) dir->put(names::registrar, caf::actor_cast<caf::actor>(handle));
  return handle;
}

}  // namespace fusion::domain
