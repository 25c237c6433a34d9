#include "actors/domain/zone_registry.hpp"

#include "actors/domain/preselect.hpp"
#include "actors/slots/slot_table.hpp"
#include "protocols/errc.hpp"
#include "protocols/names.hpp"
#include "protocols/orchestration_management.hpp"
#include "runtime/clock.hpp"
#include "runtime/commits.hpp"
#include "runtime/logging.hpp"
#include "runtime/store.hpp"
#include "runtime/text.hpp"
#include "runtime/zone_check.hpp"

#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/logger.h>

#include <limits>
#include <map>
#include <unordered_map>

namespace fusion::domain {

namespace {

using namespace protocols;

/// The registry's memory. Zones live in one vector so preselection scans contiguous memory.
/// It runs ahead of the disk by the batches in flight; no reply leaves before what it saw
/// is committed.
struct zone_registry_state {
  zone_registry_state() = default;
  zone_registry_config cfg;
  runtime::directory_ptr dir;
  std::shared_ptr<runtime::store_writer> db;
  runtime::commits commits;
  caf::error db_error;  ///< Why the store is unusable; every request then fails with it.
  std::shared_ptr<spdlog::logger> log = runtime::logger("zone_registry");
  std::vector<zone_record> zones;
  std::vector<uint8_t> reported;  ///< Per zone: a resource report has arrived.
  std::unordered_map<std::string, size_t> by_id;
  std::unordered_map<std::string, size_t> by_name;
  /// Last service report of each zone, by ZoneID (soft state).
  std::map<std::string, std::vector<service_report>> services;
  /// The zones' slots (docs/slots.md): one row per zone and service, soft state.
  slots::slot_table slots;
  runtime::mono_time slots_expired_at{};  ///< Rows are expired at most once per second.
  uint64_t slots_unknown = 0;             ///< Reports of zones not registered here.
  /// Zones gossip declared dead, fenced until they register again: ZoneID → the start
  /// that ended (docs/gossip.md, "Failure handling"). Soft state: a registry that restarts
  /// learns deaths again from gossip.
  std::map<std::string, uint32_t> down;
  size_t next_start = 0;  ///< Rotating start offset of the next preselection scan.
  runtime::id_generator ids{"zone"};
  static inline const char* name = "fusion.zone_registry";
};

/// The registry's full interface: the public one plus its store's commit notices.
using zone_registry_impl =
    zone_registry_actor::extend<caf::reacts_to<runtime::committed_atom, uint64_t, caf::error>>;

using self_ptr = zone_registry_impl::stateful_pointer<zone_registry_state>;

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

caf::error fenced(const zone_record& z) {
  return make_error(errc::unknown_zone,
                    "zone " + z.parameters.name + " (" + z.zone_id.value +
                        ") was declared dead and is fenced: its manager must register again");
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

/// Checks zone parameters (runtime::check_zone_parameters, which the node config uses too);
/// the error names the offending field and the accepted range.
caf::error validate(const zone_parameters& p, const char* op) {
  if (auto problem = runtime::check_zone_parameters(p))
    return make_error(
        errc::invalid_argument,
        std::string{op} + ": parameters." + runtime::echoed(problem->field) + " " + problem->what);
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
  auto db = runtime::open_writer(self->system(), st.cfg.db_path);
  if (!db) {
    st.db_error = db.error();
    st.log->error("{}", describe(st.db_error));
    return;
  }
  auto rec =
      runtime::recover<zone_record>((*db)->db(), zones_table, counters_table, "zone", "zone");
  if (!rec) {
    st.db_error = rec.error();
    st.log->error("{}", describe(st.db_error));
    return;
  }
  st.db = std::move(*db);
  st.ids.skip_past(rec->highest_id);
  for (const auto& e : rec->corrupt)
    st.log->error("{}; the record stays on disk and is ignored", describe(e));
  for (auto& [key, z] : rec->records) {
    if (z.zone_id.value != key || st.by_name.count(z.parameters.name) != 0) {
      st.log->error("stored record '{}' is inconsistent; ignored", key);
      continue;
    }
    z.resources = full_capacity(z.parameters);
    st.by_name[z.parameters.name] = st.zones.size();
    st.by_id[key] = st.zones.size();
    st.zones.push_back(std::move(z));
    st.reported.push_back(0);
  }
}

/// Commits `batch`, then runs `then` with the result on the registry's thread (fail-stop).
void durably(self_ptr self, runtime::write_batch batch, std::function<void(caf::error)> then) {
  runtime::commit_fail_stop(self, std::move(batch), std::move(then),
                            "the zone registry refuses every change from now on");
}

/// Answers `value` after `batch` (possibly empty: a barrier for what the caller saw) is
/// committed.
template <class T>
caf::result<T> reply_durably(self_ptr self, runtime::write_batch batch, T value) {
  if (batch.empty() && self->state.commits.in_flight() == 0) return value;
  auto rp = self->make_response_promise<T>();
  durably(self, std::move(batch), [rp, value = std::move(value)](caf::error err) mutable {
    if (err)
      rp.deliver(std::move(err));
    else
      rp.deliver(std::move(value));
  });
  return rp;
}

/// What changed between two parameter sets, for the log ("cpu_cores, costs").
std::string changes(const zone_parameters& a, const zone_parameters& b) {
  std::string out;
  auto note = [&](bool differs, const char* what) {
    if (!differs) return;
    if (!out.empty()) out += ", ";
    out += what;
  };
  note(a.location != b.location, "location");
  note(a.cpu_cores != b.cpu_cores, "cpu_cores");
  note(a.memory_mb != b.memory_mb, "memory_mb");
  note(a.gpus != b.gpus, "gpus");
  note(a.accelerators != b.accelerators, "accelerators");
  note(a.cost_per_instance_hour != b.cost_per_instance_hour ||
           a.cost_per_core_hour != b.cost_per_core_hour ||
           a.cost_per_gpu_hour != b.cost_per_gpu_hour,
       "costs");
  if (out.empty() && !(a == b)) out = "other parameters";
  return out;
}

zone_record* find(zone_registry_state& st, const fusion_id& id, size_t* index = nullptr) {
  auto i = st.by_id.find(id.value);
  if (i == st.by_id.end()) return nullptr;
  if (index != nullptr) *index = i->second;
  return &st.zones[i->second];
}

/// Drops the slot rows of zones silent past the validity period (at most once a second:
/// expiry walks every row).
void expire_slots(self_ptr self, bool now_or_never = false) {
  auto& st = self->state;
  auto now = runtime::mono_now(self);
  if (!now_or_never && now - st.slots_expired_at < std::chrono::seconds(1)) return;
  st.slots_expired_at = now;
  if (auto n = st.slots.expire(now); n > 0)
    st.log->warn("{} zone slot report(s) expired: their zones were silent for {} ms", n,
                 st.cfg.slots.validity_ms);
}

/// Whether a slot report or withdraw comes from a registered zone; counts and logs (the
/// first, then every 1,000th) what does not.
bool from_zone(self_ptr self, const fusion_id& origin) {
  auto& st = self->state;
  if (find(st, origin) != nullptr) return true;
  if (runtime::log_occurrence(++st.slots_unknown))
    st.log->warn("dropped a slot report ({} so far): '{}' is not a registered zone",
                 st.slots_unknown, origin.value);
  return false;
}

void take_slots(self_ptr self, const slot_report& r) {
  auto& st = self->state;
  if (!from_zone(self, r.zone_id)) return;
  if (st.slots.apply(r, runtime::mono_now(self)) == slots::outcome::invalid) {
    auto n = st.slots.counters().invalid;
    if (runtime::log_occurrence(n))
      st.log->warn("dropped a slot report ({} so far): {}", n,
                   slots::slot_table::check(r, st.slots.settings().max_slots));
  }
}

/// Gossip declared the member hosting zone `z` dead: the zone's start ends (fenced). Its
/// slots leave this registry and, through the routing manager, every router at once, and
/// reports of that start stay refused; placement skips it; the deployment function places
/// its instances again. The record stays: nothing is deleted on a death gossip reports, so
/// a zone that was only cut off registers again and reconciles.
void fence(self_ptr self, zone_record& z, const member_state& m) {
  auto& st = self->state;
  if (!st.down.emplace(z.zone_id.value, z.starts).second) return;
  st.log->warn(
      "zone {} ({}) declared dead by gossip (member {}, incarnation {}): fenced at "
      "start {}; its slots are withdrawn and its instances placed again",
      z.parameters.name, z.zone_id.value, m.node_id, m.incarnation, z.starts);
  // The highest sequence of the ended start: every later report of that start is stale.
  slot_withdraw w{z.zone_id, "", std::numeric_limits<uint64_t>::max(), uint64_t{z.starts}};
  st.slots.withdraw(w, runtime::mono_now(self));
  st.services.erase(z.zone_id.value);
  if (!st.dir) return;
  if (auto rm = st.dir->get(names::routing_manager)) caf::anon_send(rm, w);
  if (auto dep = st.dir->get(names::deployment))
    caf::anon_send(dep, zone_availability{z.zone_id, z.parameters.name, false, z.starts, {}});
}

void on_member_change(self_ptr self, const member_change& c) {
  auto& st = self->state;
  if (c.self || c.member.status != member_status::dead) return;
  for (const auto& name : c.member.zones)
    if (auto i = st.by_name.find(name); i != st.by_name.end())
      fence(self, st.zones[i->second], c.member);
}

zone_registry_impl::behavior_type zone_registry(self_ptr self, zone_registry_config cfg,
                                                runtime::directory_ptr dir) {
  self->state.slots = slots::slot_table{slots::table_settings_of(cfg.slots)};
  self->state.cfg = std::move(cfg);
  self->state.dir = std::move(dir);
  load(self);
  return {
      [=](runtime::committed_atom, uint64_t token, caf::error& err) {
        self->state.commits.done(token, std::move(err));
      },
      [=](register_zone& req) -> caf::result<register_zone_reply> {
        auto& st = self->state;
        if (!st.db || st.db_error) return store_unusable(st);
        if (req.caller.kind != role::zone_admin && req.caller.kind != role::domain_admin)
          return make_error(errc::not_authorized,
                            "principal '" + req.caller.name + "' (" +
                                std::string{to_string(req.caller.kind)} +
                                ") may not register zones; only a zone admin or domain admin may");
        if (auto err = validate(req.parameters, "register_zone")) return err;
        if (req.manager.actor.empty())
          return make_error(errc::invalid_argument,
                            "register_zone: manager: the locator of zone " +
                                runtime::echoed(req.parameters.name) +
                                "'s manager is empty; the domain reaches the zone through it");
        if (auto i = st.by_name.find(req.parameters.name); i != st.by_name.end()) {
          auto& old = st.zones[i->second];
          if (req.caller.name != old.owner.name)
            return make_error(errc::duplicate_zone,
                              "zone name '" + req.parameters.name + "' is already registered as " +
                                  old.zone_id.value +
                                  "; use update_zone to change it, or pick another name");
          // Its owner registers it again (a zone manager restarting, a retry after a lost
          // answer): the same zone reuses its ZoneID, counts one more start, and changed
          // parameters update it.
          ++old.starts;
          if (old.parameters == req.parameters && old.manager == req.manager) {
            st.log->info("zone {} ({}) registered again by its owner, unchanged; reused (start {})",
                         old.parameters.name, old.zone_id.value, old.starts);
          } else {
            auto what = changes(old.parameters, req.parameters);
            if (!(old.manager == req.manager)) what += what.empty() ? "manager" : ", manager";
            st.log->info(
                "zone {} ({}) registered again by its owner with changes ({}); updated (start {})",
                old.parameters.name, old.zone_id.value, what, old.starts);
            old.parameters = std::move(req.parameters);
            old.manager = std::move(req.manager);
            if (!st.reported[i->second]) old.resources = full_capacity(old.parameters);
          }
          // A restarted zone hosts nothing of its earlier start: the deployment drops the
          // records of instances the zone no longer has (and keeps the rest). A zone back
          // from the dead also stops what was placed again elsewhere meanwhile.
          auto was_down = st.down.erase(old.zone_id.value) > 0;
          if (was_down)
            st.log->info("zone {} ({}) is back (start {}): no longer fenced", old.parameters.name,
                         old.zone_id.value, old.starts);
          if (st.dir)
            if (auto dep = st.dir->get_as<deployment_actor>(names::deployment)) {
              caf::anon_send(dep, reconcile_instances{old.parameters.name});  // no answer wanted
              if (was_down)
                caf::anon_send(dep, zone_availability{old.zone_id, old.parameters.name, true,
                                                      old.starts, old.manager});
            }
          return reply_durably(
              self, {runtime::record_write(zones_table, old.zone_id.value, durable_form(old))},
              register_zone_reply{old.zone_id, old.starts});
        }
        zone_record z;
        z.zone_id = st.ids.make();
        z.owner = req.caller;
        z.parameters = std::move(req.parameters);
        z.manager = std::move(req.manager);
        z.resources = full_capacity(z.parameters);
        z.registered_at = runtime::wall_now(self);
        // One transaction: the record and the highest id ever issued, so ids of
        // unregistered zones are never handed out again after a restart.
        runtime::write_batch batch{
            runtime::counter_write(counters_table, "zone", id_number(z.zone_id.value)),
            runtime::record_write(zones_table, z.zone_id.value, z)};
        auto id = z.zone_id;
        st.by_id[id.value] = st.zones.size();
        st.by_name[z.parameters.name] = st.zones.size();
        st.zones.push_back(std::move(z));
        st.reported.push_back(0);
        return reply_durably(self, std::move(batch), register_zone_reply{id, 1});
      },
      [=](update_zone& req) -> caf::result<status_reply> {
        auto& st = self->state;
        if (!st.db || st.db_error) return store_unusable(st);
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
        runtime::write_batch batch{
            runtime::record_write(zones_table, next.zone_id.value, durable_form(next))};
        st.by_name.erase(z->parameters.name);
        st.by_name[next.parameters.name] = idx;
        *z = std::move(next);
        return reply_durably(self, std::move(batch),
                             status_reply{status::ok, "zone " + z->parameters.name + " (" +
                                                          z->zone_id.value + ") updated"});
      },
      [=](unregister_zone& req) -> caf::result<status_reply> {
        auto& st = self->state;
        if (!st.db || st.db_error) return store_unusable(st);
        size_t idx = 0;
        auto z = find(st, req.zone_id, &idx);
        if (z == nullptr) return unknown(req.zone_id);
        if (!may_manage(req.caller, *z)) return denied(req.caller, "unregister", *z);
        runtime::write_batch batch{runtime::store_write{zones_table, z->zone_id.value, {}, true}};
        auto detail = "unregistered zone " + z->parameters.name + " (" + z->zone_id.value + ")";
        if (req.stop_services) detail += "; its zone manager stops the instances it runs";
        st.services.erase(z->zone_id.value);
        st.slots.forget(z->zone_id);
        st.zones.erase(st.zones.begin() + static_cast<std::ptrdiff_t>(idx));
        st.reported.erase(st.reported.begin() + static_cast<std::ptrdiff_t>(idx));
        reindex(st);
        return reply_durably(self, std::move(batch), status_reply{status::ok, std::move(detail)});
      },
      [=](update_service_information& req) -> caf::result<status_reply> {
        auto& st = self->state;
        auto z = find(st, req.zone_id);
        if (z == nullptr) return unknown(req.zone_id);
        if (st.down.count(req.zone_id.value) > 0) return fenced(*z);
        st.services[req.zone_id.value] = std::move(req.information);
        return status_reply{status::ok, {}};
      },
      [=](update_resource_information& req) -> caf::result<status_reply> {
        auto& st = self->state;
        size_t idx = 0;
        auto z = find(st, req.zone_id, &idx);
        if (z == nullptr) return unknown(req.zone_id);
        if (st.down.count(req.zone_id.value) > 0) return fenced(*z);
        z->resources = req.information;
        st.reported[idx] = 1;
        return status_reply{status::ok, {}};
      },
      [=](preselect_zones& req) -> caf::result<preselection> {
        auto& st = self->state;
        if (req.k == 0)
          return make_error(errc::invalid_argument, "preselect_zones: k must be at least 1");
        auto res = preselect(st.zones, req.service, req.deploy, req.k, st.next_start, &st.down);
        st.next_start = res.next_start;
        preselection out;
        out.zones_known = static_cast<uint32_t>(st.zones.size());
        out.candidates.reserve(res.candidates.size());
        for (auto i : res.candidates) out.candidates.push_back(st.zones[i]);
        out.rejected = std::move(res.rejected);
        return reply_durably(self, {}, std::move(out));
      },
      [=](list_zones&) -> caf::result<zone_list> {
        return reply_durably(self, {}, zone_list{self->state.zones});
      },
      [=](const slot_report& r) {
        take_slots(self, r);
        expire_slots(self);
      },
      [=](const slot_report_batch& b) {
        for (const auto& r : b.reports) take_slots(self, r);
        expire_slots(self);
      },
      [=](const slot_withdraw& w) {
        // A withdraw can only remove slots: one of a zone not (or no longer) registered is
        // ignored, not counted.
        if (find(self->state, w.zone_id) != nullptr)
          self->state.slots.withdraw(w, runtime::mono_now(self));
      },
      [=](const member_change& c) { on_member_change(self, c); },
      [=](const list_slots& req) {
        auto& st = self->state;
        expire_slots(self, true);
        slot_list out;
        out.rows = st.slots.list(req.service, runtime::mono_now(self));
        for (auto& row : out.rows)
          if (auto* z = find(st, row.origin)) row.name = z->parameters.name;
        out.counters = st.slots.wire_counters();
        out.counters.unknown = st.slots_unknown;
        return out;
      },
  };
}

}  // namespace

zone_registry_actor spawn_zone_registry(caf::actor_system& sys, zone_registry_config cfg,
                                        runtime::directory_ptr dir) {
  zone_registry_actor handle = sys.spawn(zone_registry, std::move(cfg), dir);
  if (dir) dir->put(names::zone_registry, caf::actor_cast<caf::actor>(handle));
  return handle;
}

}  // namespace fusion::domain
