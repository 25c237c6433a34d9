#include "actors/evaluator/lua_evaluator.hpp"

#include "actors/evaluator/scoring.hpp"
#include "protocols/errc.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <fmt/format.h>
#include <lua.hpp>

#include <cmath>
#include <memory>

namespace fusion::evaluator {

using namespace protocols;

namespace {

// --- Lua tables from the request ---

void set(lua_State* L, const char* key, double x) {
  lua_pushnumber(L, x);
  lua_setfield(L, -2, key);
}

void set_int(lua_State* L, const char* key, uint64_t x) {
  lua_pushinteger(L, static_cast<lua_Integer>(x));
  lua_setfield(L, -2, key);
}

void set(lua_State* L, const char* key, const std::string& x) {
  lua_pushlstring(L, x.data(), x.size());
  lua_setfield(L, -2, key);
}

void set(lua_State* L, const char* key, bool x) {
  lua_pushboolean(L, x ? 1 : 0);
  lua_setfield(L, -2, key);
}

void set(lua_State* L, const char* key, const std::vector<std::string>& xs) {
  lua_createtable(L, static_cast<int>(xs.size()), 0);
  for (size_t i = 0; i < xs.size(); ++i) {
    lua_pushlstring(L, xs[i].data(), xs[i].size());
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
  lua_setfield(L, -2, key);
}

void set(lua_State* L, const char* key, const std::vector<geo_location>& xs) {
  lua_createtable(L, static_cast<int>(xs.size()), 0);
  for (size_t i = 0; i < xs.size(); ++i) {
    lua_createtable(L, 0, 3);
    set(L, "region", xs[i].region);
    set(L, "latitude", xs[i].latitude);
    set(L, "longitude", xs[i].longitude);
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
  lua_setfield(L, -2, key);
}

void set(lua_State* L, const char* key, const std::map<std::string, double>& xs) {
  lua_createtable(L, 0, static_cast<int>(xs.size()));
  for (const auto& [k, v] : xs) set(L, k.c_str(), v);
  lua_setfield(L, -2, key);
}

void push_zone(lua_State* L, const zone_parameters& z, const resource_report& free) {
  lua_createtable(L, 0, 20);
  set(L, "name", z.name);
  set(L, "region", z.location.region);
  set(L, "latitude", z.location.latitude);
  set(L, "longitude", z.location.longitude);
  set(L, "latency_ms", z.latency_ms);
  set(L, "os", z.os);
  set_int(L, "cpu_cores", z.cpu_cores);
  set_int(L, "memory_mb", z.memory_mb);
  lua_createtable(L, static_cast<int>(z.gpus.size()), 0);
  for (size_t i = 0; i < z.gpus.size(); ++i) {
    lua_createtable(L, 0, 4);
    set(L, "model", z.gpus[i].model);
    set_int(L, "memory_mb", z.gpus[i].memory_mb);
    set(L, "shader_model", z.gpus[i].shader_model);
    set_int(L, "count", z.gpus[i].count);
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
  lua_setfield(L, -2, "gpus");
  set(L, "accelerators", z.accelerators);
  set(L, "isolation", z.isolation);
  set_int(L, "max_instances", z.max_instances);
  set(L, "cost_per_instance_hour", z.cost_per_instance_hour);
  set(L, "cost_per_core_hour", z.cost_per_core_hour);
  set(L, "cost_per_gpu_hour", z.cost_per_gpu_hour);
  lua_createtable(L, 0, 6);
  set_int(L, "cpu_cores", free.free_cpu_cores);
  set_int(L, "memory_mb", free.free_memory_mb);
  set_int(L, "gpus", free.free_gpus);
  set_int(L, "instances", free.instances);
  set_int(L, "reservations", free.reservations);
  set(L, "healthy", free.healthy);
  lua_setfield(L, -2, "free");
}

void push_request(lua_State* L, const evaluate& req) {
  const auto& m = req.service;
  const auto& d = req.deploy;
  lua_createtable(L, 0, 20);
  set(L, "service", m.name);
  set(L, "version", m.version);
  set(L, "service_type", m.service_type);
  set(L, "keywords", m.keywords);
  set(L, "categories", m.categories);
  set(L, "functions", m.functions);
  set(L, "dependencies", m.dependencies);
  set(L, "cache_key", req.cache_key);
  lua_createtable(L, 0, 9);
  set(L, "os", m.hardware.os);
  set_int(L, "cpu_cores", m.hardware.cpu_cores);
  set_int(L, "memory_mb", m.hardware.memory_mb);
  set_int(L, "gpus", m.hardware.gpus);
  set(L, "gpu_model", m.hardware.gpu_model);
  set_int(L, "gpu_memory_mb", m.hardware.gpu_memory_mb);
  set(L, "min_shader_model", m.hardware.min_shader_model);
  set(L, "accelerators", m.hardware.accelerators);
  set(L, "affinities", m.hardware.affinities);
  lua_setfield(L, -2, "hardware");
  set_int(L, "instances", d.instances);
  set_int(L, "sessions_per_instance",
          d.sessions_per_instance > 0 ? d.sessions_per_instance : m.sessions_per_instance);
  set(L, "region", d.region);
  set(L, "max_cost", d.max_cost);
  set(L, "policy", std::string{to_string(d.has_policy ? d.policy : m.policy)});
  set(L, "latency_budget_ms", d.latency_budget_ms > 0 ? d.latency_budget_ms : m.latency_budget_ms);
  set(L, "user_locations", d.user_locations.empty() ? m.user_locations : d.user_locations);
}

void push_generic(lua_State* L, const evaluation& g) {
  lua_createtable(L, 0, 10);
  set(L, "feasible", g.feasible);
  set(L, "total", g.scores.total);
  set(L, "hardware", g.scores.hardware);
  set(L, "capacity", g.scores.capacity);
  set(L, "extra", g.scores.extra);
  set(L, "cost", g.cost);
  set(L, "latency_ms", g.latency_ms);
  set_int(L, "instances", g.instances);
  set(L, "details", g.details);
}

// --- the script's answer ---

caf::error bad_answer(const std::string& what) {
  return make_error(errc::evaluator_unavailable, "evaluate returned " + what);
}

/// Reads the number at `idx` within [lo, hi] into `out`, or says what is wrong.
caf::error read_number(lua_State* L, int idx, const char* key, double lo, double hi, double& out) {
  if (lua_type(L, idx) != LUA_TNUMBER)
    return bad_answer(std::string{"a "} + luaL_typename(L, idx) + " for '" + key +
                      "' (expected a number)");
  auto x = lua_tonumber(L, idx);
  if (!(x >= lo && x <= hi))
    return bad_answer(fmt::format("'{}' = {} (expected {} to {})", key, x, lo, hi));
  out = x;
  return {};
}

/// Applies the table at the top of the stack to `ev`.
caf::error read_table(lua_State* L, evaluation& ev) {
  struct field {
    const char* key;
    double lo, hi;
    double* out;
  };
  double instances = ev.instances;
  const field fields[] = {
      {"total", 0, 1, &ev.scores.total},
      {"hardware", 0, 1, &ev.scores.hardware},
      {"capacity", 0, 1, &ev.scores.capacity},
      {"cost", 0, 1e12, &ev.cost},
      {"latency_ms", 0, 1e9, &ev.latency_ms},
      // A script may host fewer instances than the zone has room for, never more.
      {"instances", 0, static_cast<double>(ev.instances), &instances},
  };
  for (const auto& f : fields) {
    lua_getfield(L, -1, f.key);
    caf::error err;
    if (!lua_isnil(L, -1)) err = read_number(L, -1, f.key, f.lo, f.hi, *f.out);
    lua_pop(L, 1);
    if (err) return err;
  }
  ev.instances = static_cast<uint32_t>(instances);
  lua_getfield(L, -1, "extra");
  if (lua_istable(L, -1)) {
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
      if (lua_type(L, -2) != LUA_TSTRING) {
        lua_pop(L, 3);
        return bad_answer("an extra score whose name is not a string");
      }
      std::string key = lua_tostring(L, -2);
      double x = 0;
      auto err = read_number(L, -1, ("extra." + key).c_str(), 0, 1, x);
      lua_pop(L, 1);
      if (err) {
        lua_pop(L, 2);
        return err;
      }
      ev.scores.extra[key] = x;
    }
  } else if (!lua_isnil(L, -1)) {
    auto err =
        bad_answer(std::string{"a "} + luaL_typename(L, -1) + " for 'extra' (expected a table)");
    lua_pop(L, 1);
    return err;
  }
  lua_pop(L, 1);
  if (ev.instances == 0) {
    ev.feasible = false;
    ev.code = refusal_code::infeasible;
    ev.details = "the service's evaluator allows no instance here";
  }
  return {};
}

struct lua_state {
  lua_state() = default;
  std::shared_ptr<scripting::sandbox> sb;
  std::string evaluator;  ///< Its name in manifests.
  static inline const char* name = "lua_evaluator";
};

evaluator_actor::behavior_type lua_evaluator(evaluator_actor::stateful_pointer<lua_state> self,
                                             std::shared_ptr<scripting::sandbox> script,
                                             std::string evaluator) {
  self->state.sb = std::move(script);
  self->state.evaluator = std::move(evaluator);
  return {
      [self](const evaluate& req) -> caf::result<evaluation> {
        auto res = lua_score(*self->state.sb, req);
        if (!res)
          return make_error(errc::evaluator_unavailable,
                            "evaluator '" + self->state.evaluator + "': " + reason_of(res.error()));
        return std::move(*res);
      },
  };
}

}  // namespace

caf::expected<evaluation> lua_score(scripting::sandbox& sb, const evaluate& req) {
  auto ev = score_zone(req);
  if (!ev.feasible) return ev;
  auto* L = sb.state();
  auto top = lua_gettop(L);
  lua_getglobal(L, "evaluate");
  push_zone(L, req.zone, req.free);
  push_request(L, req);
  push_generic(L, ev);
  if (auto err = sb.call(3, 2)) return make_error(errc::evaluator_unavailable, reason_of(err));
  caf::error err;
  switch (lua_type(L, -2)) {
    case LUA_TNUMBER:
      lua_pushvalue(L, -2);
      err = read_number(L, -1, "total", 0, 1, ev.scores.total);
      lua_pop(L, 1);
      break;
    case LUA_TTABLE:
      lua_pushvalue(L, -2);
      err = read_table(L, ev);
      lua_pop(L, 1);
      break;
    case LUA_TBOOLEAN:
      if (lua_toboolean(L, -2)) {
        err = bad_answer("true (expected a number, a table, or false and a reason)");
        break;
      }
      ev.feasible = false;
      ev.code = refusal_code::infeasible;
      ev.details = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                  : "the service's evaluator refused the zone";
      break;
    default:
      err = bad_answer(std::string{"a "} + luaL_typename(L, -2) +
                       " (expected a number, a table, or false and a reason)");
  }
  lua_settop(L, top);
  if (err) return err;
  return ev;
}

caf::expected<std::unique_ptr<scripting::sandbox>> load_lua_evaluator(
    const lua_evaluator_config& cfg) {
  auto sb = std::make_unique<scripting::sandbox>(cfg.limits);
  auto where = "evaluator '" + cfg.name + "' (" + cfg.chunk_name + "): ";
  if (!sb->valid())
    return make_error(errc::invalid_config, where + "its memory budget cannot hold a Lua state");
  if (auto err = sb->run(cfg.chunk_name, cfg.source))
    return make_error(errc::invalid_config, where + reason_of(err));
  lua_getglobal(sb->state(), "evaluate");
  bool ok = lua_isfunction(sb->state(), -1);
  lua_pop(sb->state(), 1);
  if (!ok)
    return make_error(errc::invalid_config,
                      where + "the script defines no function 'evaluate(zone, request, generic)'");
  return sb;
}

caf::expected<evaluator_actor> spawn_lua_evaluator(caf::actor_system& sys,
                                                   const lua_evaluator_config& cfg) {
  auto sb = load_lua_evaluator(cfg);
  if (!sb) return std::move(sb.error());
  // CAF copies spawn arguments: the sandbox travels in a shared_ptr the actor keeps.
  return sys.spawn(lua_evaluator, std::shared_ptr<scripting::sandbox>{std::move(*sb)}, cfg.name);
}

}  // namespace fusion::evaluator
