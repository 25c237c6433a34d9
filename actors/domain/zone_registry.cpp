#include "actors/domain/zone_registry.hpp"

#include "actors/domain/preselect.hpp"
#include "protocols/errc.hpp"
#include "protocols/names.hpp"
#include "runtime/clock.hpp"
#include "runtime/store.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <cmath>
#include <map>
#include <unordered_map>

namespace fusion::domain {

namespace {

using namespace protocols;

/// The registry's memory. Zones live in one vector so preselection scans contiguous memory.
struct zone_registry_state {
  zone_registry_state() = default;
  zone_registry_config cfg;
  runtime::directory_ptr dir;
  std::unique_ptr<runtime::store> db;
  caf::error db_error;  ///< Why the store is unusable; every request then fails with it.
  std::vector<zone_record> zones;
  std::vector<uint8_t> reported;  ///< Per zone: a resource report has arrived.
  std::unordered_map<std::string, size_t> by_id;
  std::unordered_map<std::string, size_t> by_name;
  /// Last service report of each zone, by ZoneID (soft state).
  std::map<std::string, std::vector<service_report>> services;
  size_t next_start = 0;  ///< Rotating start offset of the next preselection scan.
  runtime::id_generator ids{"zone"};
  static inline const char* name = "fusion.zone_registry";
};

using self_ptr = zone_registry_actor::stateful_pointer<zone_registry_state>;

/// Store table holding the highest ZoneID number ever issued (key "zone").
constexpr const char* counters_table = "zone_counters";

/// N of "zone-N", or 0 for keys of another shape.
uint64_t id_number(const std::string& id) {
  return runtime::id_number(id, "zone");
}

void reindex(zone_registry_state& st) {
  st.by_id.clear();
  st.by_name.clear();
  for (size_t i = 0; i < st.zones.size(); ++i) {
    st.by_id[st.zones[i].zone_id.value] = i;
    st.by_name[st.zones[i].parameters.name] = i;
  }
}

caf::error store_unusable(const zone_registry_state& st) {
  return make_error(errc::storage_failure,
                    "zone registry store is unusable: " + describe(st.db_error));
}

caf::error unknown(const fusion_id& id) {
  return make_error(errc::unknown_zone, "no registered zone has ZoneID '" + id.value +
                                            "'; list_zones shows the registered zones");
}

bool may_manage(const principal& caller, const zone_record& z) {
  return caller.kind == role::domain_admin || caller.name == z.owner.name;
}

caf::error denied(const principal& caller, const char* action, const zone_record& z) {
  return make_error(errc::not_authorized,
                    "principal '" + caller.name + "' may not " + action + " zone " +
                        z.parameters.name + " (" + z.zone_id.value + "): it belongs to '" +
                        z.owner.name + "'; only its owner or a domain admin may");
}

std::string num(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", x);
  return buf;
}

/// Checks zone parameters; the error names the offending field and the accepted range.
caf::error validate(const zone_parameters& p, const char* op) {
  auto bad = [&](const std::string& field, const std::string& what) {
    return make_error(errc::invalid_argument,
                      std::string{op} + ": parameters." + field + " " + what);
  };
  bool name_ok = !p.name.empty() && p.name.size() <= 64;
  for (auto c : p.name)
    name_ok = name_ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_');
  if (!name_ok)
    return bad("name", "must be 1-64 letters, digits, '.', '-' or '_', found '" + p.name + "'");
  if (p.cpu_cores == 0) return bad("cpu_cores", "must be > 0 (found 0)");
  if (p.memory_mb == 0) return bad("memory_mb", "must be > 0 (found 0)");
  const auto& loc = p.location;
  if (!std::isfinite(loc.latitude) || loc.latitude < -90 || loc.latitude > 90)
    return bad("location.latitude", "must be between -90 and 90, found " + num(loc.latitude));
  if (!std::isfinite(loc.longitude) || loc.longitude < -180 || loc.longitude > 180)
    return bad("location.longitude", "must be between -180 and 180, found " + num(loc.longitude));
  for (size_t i = 0; i < p.gpus.size(); ++i) {
    const auto& g = p.gpus[i];
    auto at = "gpus[" + std::to_string(i) + "]";
    if (g.model.empty()) return bad(at + ".model", "must name the GPU model");
    if (g.count == 0) return bad(at + ".count", "must be > 0 (found 0)");
    if (!std::isfinite(g.shader_model) || g.shader_model < 0)
      return bad(at + ".shader_model", "must be >= 0, found " + num(g.shader_model));
  }
  for (const auto& iso : p.isolation)
    if (iso != "container" && iso != "vm" && iso != "bare-metal")
      return bad("isolation", "must list only container, vm or bare-metal, found '" + iso + "'");
  for (auto [field, v] : {std::pair{"cost_per_instance_hour", p.cost_per_instance_hour},
                          std::pair{"cost_per_core_hour", p.cost_per_core_hour},
                          std::pair{"cost_per_gpu_hour", p.cost_per_gpu_hour}})
    if (!std::isfinite(v) || v < 0) return bad(field, "must be >= 0, found " + num(v));
  for (const auto& [region, ms] : p.latency_ms)
    if (!std::isfinite(ms) || ms < 0)
      return bad("latency_ms." + region, "must be >= 0, found " + num(ms));
  return {};
}

/// The durable form of a zone: resources are soft state, so the stored copy holds capacity.
zone_record durable_form(const zone_record& z) {
  auto out = z;
  out.resources = full_capacity(z.parameters);
  return out;
}

void load(self_ptr self) {
  auto& st = self->state;
  auto db = runtime::store::open(st.cfg.db_path);
  if (!db) {
    st.db_error = db.error();
    spdlog::error("zone registry: {}", describe(st.db_error));
    return;
  }
  st.db = std::move(*db);
  auto rows = st.db->load_all(zones_table);
  std::vector<caf::error> corrupt;
  auto recs = rows ? st.db->load_records<zone_record>(zones_table, &corrupt)
                   : caf::expected<std::vector<std::pair<std::string, zone_record>>>{rows.error()};
  if (!recs) {
    st.db_error = recs.error();
    st.db.reset();
    spdlog::error("zone registry: {}", describe(st.db_error));
    return;
  }
  for (const auto& row : *rows) st.ids.skip_past(id_number(row.first));
  if (auto counters = st.db->load_all(counters_table)) {
    for (const auto& [key, value] : *counters)
      if (key == "zone")
        st.ids.skip_past(id_number("zone-" + std::string(value.begin(), value.end())));
  } else {
    st.db_error = counters.error();
    st.db.reset();
    spdlog::error("zone registry: {}", describe(st.db_error));
    return;
  }
  for (const auto& e : corrupt)
    spdlog::error("zone registry: {}; the record stays on disk and is ignored", describe(e));
  for (auto& [key, z] : *recs) {
    if (z.zone_id.value != key || st.by_name.count(z.parameters.name) != 0) {
      spdlog::error("zone registry: stored record '{}' is inconsistent; ignored", key);
      continue;
    }
    z.resources = full_capacity(z.parameters);
    st.by_name[z.parameters.name] = st.zones.size();
    st.by_id[key] = st.zones.size();
    st.zones.push_back(std::move(z));
    st.reported.push_back(0);
  }
}

zone_record* find(zone_registry_state& st, const fusion_id& id, size_t* index = nullptr) {
  auto i = st.by_id.find(id.value);
  if (i == st.by_id.end()) return nullptr;
  if (index != nullptr) *index = i->second;
  return &st.zones[i->second];
}

zone_registry_actor::behavior_type zone_registry(self_ptr self, zone_registry_config cfg,
                                                 runtime::directory_ptr dir) {
  self->state.cfg = std::move(cfg);
  self->state.dir = std::move(dir);
  load(self);
  return {
      [=](register_zone& req) -> caf::result<register_zone_reply> {
        auto& st = self->state;
        if (!st.db) return store_unusable(st);
        if (req.caller.kind != role::zone_admin && req.caller.kind != role::domain_admin)
          return make_error(errc::not_authorized,
                            "principal '" + req.caller.name + "' (" +
                                std::string{to_string(req.caller.kind)} +
                                ") may not register zones; only a zone admin or domain admin may");
        if (auto err = validate(req.parameters, "register_zone")) return err;
        if (auto i = st.by_name.find(req.parameters.name); i != st.by_name.end())
          return make_error(errc::duplicate_zone,
                            "zone name '" + req.parameters.name + "' is already registered as " +
                                st.zones[i->second].zone_id.value +
                                "; use update_zone to change it, or pick another name");
        zone_record z;
        z.zone_id = st.ids.make();
        // The highest id ever issued is stored first, so ids of unregistered zones are never
        // handed out again after a restart.
        auto n = std::to_string(id_number(z.zone_id.value));
        if (auto err = st.db->put(counters_table, "zone", std::vector<char>(n.begin(), n.end())))
          return err;
        z.owner = req.caller;
        z.parameters = std::move(req.parameters);
        z.manager = std::move(req.manager);
        z.resources = full_capacity(z.parameters);
        z.registered_at = runtime::now_ms(self);
        if (auto err = st.db->put_record(zones_table, z.zone_id.value, z)) return err;
        auto id = z.zone_id;
        st.by_id[id.value] = st.zones.size();
        st.by_name[z.parameters.name] = st.zones.size();
        st.zones.push_back(std::move(z));
        st.reported.push_back(0);
        return register_zone_reply{id};
      },
      [=](update_zone& req) -> caf::result<status_reply> {
        auto& st = self->state;
        if (!st.db) return store_unusable(st);
        size_t idx = 0;
        auto z = find(st, req.zone_id, &idx);
        if (z == nullptr) return unknown(req.zone_id);
        if (!may_manage(req.caller, *z)) return denied(req.caller, "update", *z);
        if (auto err = validate(req.parameters, "update_zone")) return err;
        if (auto i = st.by_name.find(req.parameters.name);
            i != st.by_name.end() && i->second != idx)
          return make_error(errc::duplicate_zone, "update_zone: zone name '" + req.parameters.name +
                                                      "' is already used by " +
                                                      st.zones[i->second].zone_id.value);
        auto next = *z;
        next.parameters = std::move(req.parameters);
        if (!st.reported[idx]) next.resources = full_capacity(next.parameters);
        if (auto err = st.db->put_record(zones_table, next.zone_id.value, durable_form(next)))
          return err;
        st.by_name.erase(z->parameters.name);
        st.by_name[next.parameters.name] = idx;
        *z = std::move(next);
        return status_reply{status::ok,
                            "zone " + z->parameters.name + " (" + z->zone_id.value + ") updated"};
      },
      [=](unregister_zone& req) -> caf::result<status_reply> {
        auto& st = self->state;
        if (!st.db) return store_unusable(st);
        size_t idx = 0;
        auto z = find(st, req.zone_id, &idx);
        if (z == nullptr) return unknown(req.zone_id);
        if (!may_manage(req.caller, *z)) return denied(req.caller, "unregister", *z);
        if (auto err = st.db->erase(zones_table, z->zone_id.value)) return err;
        auto detail = "unregistered zone " + z->parameters.name + " (" + z->zone_id.value + ")";
        if (req.stop_services) detail += "; its zone manager stops the instances it runs";
        st.services.erase(z->zone_id.value);
        st.zones.erase(st.zones.begin() + static_cast<std::ptrdiff_t>(idx));
        st.reported.erase(st.reported.begin() + static_cast<std::ptrdiff_t>(idx));
        reindex(st);
        return status_reply{status::ok, std::move(detail)};
      },
      [=](update_service_information& req) -> caf::result<status_reply> {
        auto& st = self->state;
        auto z = find(st, req.zone_id);
        if (z == nullptr) return unknown(req.zone_id);
        st.services[req.zone_id.value] = std::move(req.information);
        return status_reply{status::ok, {}};
      },
      [=](update_resource_information& req) -> caf::result<status_reply> {
        auto& st = self->state;
        size_t idx = 0;
        auto z = find(st, req.zone_id, &idx);
        if (z == nullptr) return unknown(req.zone_id);
        z->resources = req.information;
        st.reported[idx] = 1;
        return status_reply{status::ok, {}};
      },
      [=](preselect_zones& req) -> caf::result<preselection> {
        auto& st = self->state;
        if (req.k == 0)
          return make_error(errc::invalid_argument, "preselect_zones: k must be at least 1");
        auto res = preselect(st.zones, req.service, req.deploy, req.k, st.next_start);
        st.next_start = res.next_start;
        preselection out;
        out.zones_known = static_cast<uint32_t>(st.zones.size());
        out.candidates.reserve(res.candidates.size());
        for (auto i : res.candidates) out.candidates.push_back(st.zones[i]);
        out.rejected = std::move(res.rejected);
        return out;
      },
      [=](list_zones&) -> caf::result<zone_list> { return zone_list{self->state.zones}; },
  };
}

}  // namespace

zone_registry_actor spawn_zone_registry(caf::actor_system& sys, zone_registry_config cfg,
                                        runtime::directory_ptr dir) {
  auto handle = sys.spawn(zone_registry, std::move(cfg), dir);
  if (dir) dir->put(names::zone_registry, caf::actor_cast<caf::actor>(handle));
  return handle;
}

}  // namespace fusion::domain
