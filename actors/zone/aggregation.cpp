#include "actors/zone/aggregation.hpp"

#include "protocols/errc.hpp"
#include "scripting/fields.hpp"

#include <lua.hpp>

#include <cmath>
#include <filesystem>

namespace fusion::zone::manager {

namespace {

using scripting::set_field;
using scripting::set_integer;

/// The samples table: the zone, its instances (with their last slot report) and its
/// services' slot totals.
void push_samples(lua_State* L, const zm_state& st, int64_t now_ms) {
  const auto& p = st.cfg.parameters;
  auto free = st.free();
  lua_createtable(L, 0, 4);
  set_integer(L, "now_ms", static_cast<uint64_t>(now_ms));
  lua_createtable(L, 0, 10);
  set_field(L, "name", p.name);
  set_integer(L, "cpu_cores", p.cpu_cores);
  set_integer(L, "memory_mb", p.memory_mb);
  set_integer(L, "gpus", st.ledger.capacity().gpus);
  set_integer(L, "free_cpu_cores", free.free_cpu_cores);
  set_integer(L, "free_memory_mb", free.free_memory_mb);
  set_integer(L, "free_gpus", free.free_gpus);
  set_integer(L, "instances", free.instances);
  set_integer(L, "reservations", free.reservations);
  lua_setfield(L, -2, "zone");
  lua_createtable(L, static_cast<int>(st.instances.size()), 0);
  lua_Integer n = 0;
  for (const auto& i : st.instances) {
    if (i.withdrawn) continue;
    lua_createtable(L, 0, 10);
    set_field(L, "id", i.id);
    set_field(L, "service", i.service);
    set_integer(L, "max_sessions", i.max_sessions);
    set_integer(L, "cores", i.cores);
    set_integer(L, "memory_mb", i.memory_mb);
    set_integer(L, "gpus", i.gpus);
    set_field(L, "draining", i.draining);
    if (const auto* r = st.slot_rows.row(protocols::fusion_id{i.id}, i.service)) {
      set_integer(L, "available", r->available);
      set_integer(L, "max", r->max);
      set_field(L, "moving_average", r->moving_average);
    }
    lua_rawseti(L, -2, ++n);
  }
  lua_setfield(L, -2, "instances");
  auto services = st.slot_rows.services();
  lua_createtable(L, 0, static_cast<int>(services.size()));
  for (const auto& s : services) {
    auto a = st.slot_rows.of(s);
    lua_createtable(L, 0, 5);
    set_integer(L, "available", a.available);
    set_integer(L, "max", a.max);
    set_field(L, "moving_average", a.moving_average);
    set_field(L, "variance", a.variance);
    set_integer(L, "instances", a.origins);
    lua_setfield(L, -2, s.c_str());
  }
  lua_setfield(L, -2, "services");
}

caf::error bad(const std::string& what) {
  return make_error(errc::invalid_argument, "aggregate returned " + what);
}

}  // namespace

caf::expected<std::unique_ptr<aggregator>> aggregator::load(const std::string& name,
                                                            const std::string& source,
                                                            scripting::budget limits) {
  auto sb = scripting::load_script(name, source, limits, "aggregate", "aggregate(samples)");
  if (!sb)
    return make_error(errc::invalid_config,
                      "monitoring script " + name + ": " + reason_of(sb.error()));
  return std::unique_ptr<aggregator>{new aggregator{std::move(*sb)}};
}

caf::expected<std::map<std::string, double>> aggregator::run(const zm_state& st, int64_t now_ms) {
  auto* L = sb_->state();
  auto top = lua_gettop(L);
  lua_getglobal(L, "aggregate");
  push_samples(L, st, now_ms);
  if (auto err = sb_->call(1, 1)) return err;
  std::map<std::string, double> out;
  caf::error err;
  if (!lua_istable(L, -1)) {
    err = bad(std::string{"a "} + luaL_typename(L, -1) + " (expected a table of indicators)");
  } else {
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
      if (lua_type(L, -2) != LUA_TSTRING) {
        err = bad("an indicator whose name is not a string");
      } else if (lua_type(L, -1) != LUA_TNUMBER || !std::isfinite(lua_tonumber(L, -1))) {
        err = bad("indicator '" + std::string{lua_tostring(L, -2)} + "' = a " +
                  luaL_typename(L, -1) + " (expected a finite number)");
      } else {
        out[lua_tostring(L, -2)] = lua_tonumber(L, -1);
      }
      lua_pop(L, 1);
      if (err) break;
    }
  }
  lua_settop(L, top);
  if (err) return err;
  return out;
}

void start_monitoring(self_ptr self) {
  auto& st = self->state;
  const auto& m = st.cfg.monitoring;
  if (st.cfg.monitoring_source.empty()) return;
  auto name = std::filesystem::path{m.script}.filename().string();
  auto loaded = aggregator::load(name.empty() ? "aggregate.lua" : name, st.cfg.monitoring_source,
                                 {m.instructions, static_cast<size_t>(m.memory_kb) * 1024});
  if (!loaded) {
    st.aggregation_error = reason_of(loaded.error());
    st.log->error("zone {}: {}", st.zone(), st.aggregation_error);
    return;
  }
  st.monitor = std::shared_ptr<aggregator>{std::move(*loaded)};
  self->delayed_send(self, ms(m.interval_ms), monitor_tick_atom::value);
}

void monitor_tick(self_ptr self) {
  auto& st = self->state;
  if (!st.monitor) return;
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    runtime::mono_now(self).time_since_epoch())
                    .count();
  auto res = st.monitor->run(st, now_ms);
  if (res) {
    st.indicators = std::move(*res);
    st.aggregation_error.clear();
    ++st.aggregations;
  } else {
    // The previous indicators stay; the failure is logged once per distinct error.
    auto why = reason_of(res.error());
    if (why != st.aggregation_error)
      st.log->warn("zone {}: aggregation failed: {}", st.zone(), why);
    st.aggregation_error = std::move(why);
    ++st.aggregation_failures;
  }
  self->delayed_send(self, ms(st.cfg.monitoring.interval_ms), monitor_tick_atom::value);
}

}  // namespace fusion::zone::manager
