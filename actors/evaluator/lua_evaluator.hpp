#pragma once
// Service-specific evaluators written in Lua (§5.4.2.2; docs/shell.md, "Lua inside the
// runtime"). A node's [[evaluator_script]] names a script; a manifest whose `evaluator:`
// names it is scored by it in every zone of that node. The script defines
//
//   function evaluate(zone, request, generic) ... end
//
// and gets the zone's capabilities and free resources, the request (the service's
// requirements, the deployment parameters, the user locations, the related services and
// the opaque cache key) and the generic evaluator's answer for the same request. It returns
// a number (the total score), a table of scores that replace the generic ones (total,
// hardware, capacity, cost, latency_ms, instances, extra = {name = score}), or false and a
// reason (the zone cannot host the service). A request the generic evaluator finds
// infeasible (no capacity, missing hardware) stays infeasible: the script is not asked.
// Each call runs in a scripting::sandbox under an instruction and a memory budget; a script
// that fails, exceeds its budget or returns something else is answered with an error
// (errc::evaluator_unavailable, saying why), and the zone scores with the generic evaluator.

#include "protocols/zone_orchestration.hpp"
#include "scripting/sandbox.hpp"

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include <string>

namespace fusion::evaluator {

/// One Lua evaluator: its name (what manifests say), the script and its budget.
struct lua_evaluator_config {
  std::string name;
  std::string chunk_name;  ///< For messages: "near_users.lua".
  std::string source;      ///< The script's text.
  scripting::budget limits;
};

/// Scores `req` with the script loaded in `sb` (which must define `evaluate`).
caf::expected<protocols::evaluation> lua_score(scripting::sandbox& sb,
                                               const protocols::evaluate& req);

/// Loads the script in a fresh sandbox and checks it defines `evaluate`, or says what is
/// wrong with it (syntax error with its line, a budget exceeded while loading, no function).
caf::expected<std::unique_ptr<scripting::sandbox>> load_lua_evaluator(
    const lua_evaluator_config& cfg);

/// Spawns an evaluator actor answering `evaluate` with the script, or says why the script
/// cannot serve (as load_lua_evaluator).
caf::expected<protocols::evaluator_actor> spawn_lua_evaluator(caf::actor_system& sys,
                                                              const lua_evaluator_config& cfg);

}  // namespace fusion::evaluator
