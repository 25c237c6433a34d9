#include "actors/evaluator/lua_evaluator.hpp"

#include "actors/evaluator/scoring.hpp"
#include "protocols/errc.hpp"
#include "scripting/fields.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <fmt/format.h>
#include <lua.hpp>

#include <cmath>
#include <memory>

namespace fusion::evaluator {

using namespace protocols;

namespace {

using scripting::set_field;
using scripting::set_integer;

// --- Lua tables from the request ---

void set_field(lua_State* L, const char* key, const std::vector<geo_location>& xs) {
  lua_createtable(L, static_cast<int>(xs.size()), 0);
  for (size_t i = 0; i < xs.size(); ++i) {
    lua_createtable(L, 0, 3);
    set_field(L, "region", xs[i].region);
    set_field(L, "latitude", xs[i].latitude);
    set_field(L, "longitude", xs[i].longitude);
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
  lua_setfield(L, -2, key);
}

void push_zone(lua_State* L, const zone_parameters& z, const resource_report& free) {
  lua_createtable(L, 0, 20);
  set_field(L, "name", z.name);
  set_field(L, "region", z.location.region);
  set_field(L, "latitude", z.location.latitude);
  set_field(L, "longitude", z.location.longitude);
  set_field(L, "latency_ms", z.latency_ms);
  set_field(L, "os", z.os);
  set_integer(L, "cpu_cores", z.cpu_cores);
  set_integer(L, "memory_mb", z.memory_mb);
  lua_createtable(L, static_cast<int>(z.gpus.size()), 0);
  for (size_t i = 0; i < z.gpus.size(); ++i) {
    lua_createtable(L, 0, 4);
    set_field(L, "model", z.gpus[i].model);
    set_integer(L, "memory_mb", z.gpus[i].memory_mb);
    set_field(L, "shader_model", z.gpus[i].shader_model);
    set_integer(L, "count", z.gpus[i].count);
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
  lua_setfield(L, -2, "gpus");
  set_field(L, "accelerators", z.accelerators);
  set_field(L, "isolation", z.isolation);
  set_integer(L, "max_instances", z.max_instances);
  set_field(L, "cost_per_instance_hour", z.cost_per_instance_hour);
  set_field(L, "cost_per_core_hour", z.cost_per_core_hour);
  set_field(L, "cost_per_gpu_hour", z.cost_per_gpu_hour);
  lua_createtable(L, 0, 6);
  set_integer(L, "cpu_cores", free.free_cpu_cores);
  set_integer(L, "memory_mb", free.free_memory_mb);
  set_integer(L, "gpus", free.free_gpus);
  set_integer(L, "instances", free.instances);
  set_integer(L, "reservations", free.reservations);
  set_field(L, "healthy", free.healthy);
  lua_setfield(L, -2, "free");
}

void push_request(lua_State* L, const evaluate& req) {
  const auto& m = req.service;
  const auto& d = req.deploy;
  lua_createtable(L, 0, 20);
  set_field(L, "service", m.name);
  set_field(L, "version", m.version);
  set_field(L, "service_type", m.service_type);
  set_field(L, "keywords", m.keywords);
  set_field(L, "categories", m.categories);
  set_field(L, "functions", m.functions);
  set_field(L, "dependencies", m.dependencies);
  set_field(L, "cache_key", req.cache_key);
  lua_createtable(L, 0, 9);
  set_field(L, "os", m.hardware.os);
  set_integer(L, "cpu_cores", m.hardware.cpu_cores);
  set_integer(L, "memory_mb", m.hardware.memory_mb);
  set_integer(L, "gpus", m.hardware.gpus);
  set_field(L, "gpu_model", m.hardware.gpu_model);
  set_integer(L, "gpu_memory_mb", m.hardware.gpu_memory_mb);
  set_field(L, "min_shader_model", m.hardware.min_shader_model);
  set_field(L, "accelerators", m.hardware.accelerators);
  set_field(L, "affinities", m.hardware.affinities);
  lua_setfield(L, -2, "hardware");
  set_integer(L, "instances", d.instances);
  set_integer(L, "sessions_per_instance",
              d.sessions_per_instance > 0 ? d.sessions_per_instance : m.sessions_per_instance);
  set_field(L, "region", d.region);
  set_field(L, "max_cost", d.max_cost);
  set_field(L, "policy", std::string{to_string(d.has_policy ? d.policy : m.policy)});
  set_field(L, "latency_budget_ms",
            d.latency_budget_ms > 0 ? d.latency_budget_ms : m.latency_budget_ms);
  set_field(L, "user_locations", d.user_locations.empty() ? m.user_locations : d.user_locations);
}

void push_generic(lua_State* L, const evaluation& g) {
  lua_createtable(L, 0, 10);
  set_field(L, "feasible", g.feasible);
  set_field(L, "total", g.scores.total);
  set_field(L, "hardware", g.scores.hardware);
  set_field(L, "capacity", g.scores.capacity);
  set_field(L, "extra", g.scores.extra);
  set_field(L, "cost", g.cost);
  set_field(L, "latency_ms", g.latency_ms);
  set_integer(L, "instances", g.instances);
  set_field(L, "details", g.details);
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
  auto sb = scripting::load_script(cfg.chunk_name, cfg.source, cfg.limits, "evaluate",
                                   "evaluate(zone, request, generic)");
  if (!sb)
    return make_error(errc::invalid_config, "evaluator '" + cfg.name + "' (" + cfg.chunk_name +
                                                "): " + reason_of(sb.error()));
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
