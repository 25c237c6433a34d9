// Lua service evaluators (actors/evaluator/lua_evaluator.hpp): what a script sees, what it
// may answer, and how a wrong or runaway script is refused without harm.

#include "actors/evaluator/lua_evaluator.hpp"

#include "actors/evaluator/scoring.hpp"
#include "protocols/errc.hpp"

#include <doctest/doctest.h>

using namespace fusion;
using namespace fusion::protocols;
using evaluator::lua_evaluator_config;

namespace {

evaluate request() {
  evaluate req;
  req.zone.name = "edge-brussels";
  req.zone.location = geo_location{"eu-west", 50.85, 4.35};
  req.zone.cpu_cores = 8;
  req.zone.memory_mb = 16384;
  req.zone.accelerators = {"h264-encoder"};
  req.free.free_cpu_cores = 6;
  req.free.free_memory_mb = 12000;
  req.service.name = "fusion://acme/game";
  req.service.hardware.cpu_cores = 2;
  req.service.hardware.memory_mb = 1024;
  req.deploy.instances = 2;
  req.deploy.user_locations = {geo_location{"eu-west", 51.05, 3.72}};
  req.cache_key = "player-42";
  return req;
}

/// Loads `source` as evaluator "test" under `limits`; fails the test if it does not load.
std::unique_ptr<scripting::sandbox> load(const std::string& source,
                                         scripting::budget limits = {1'000'000, 4u << 20}) {
  auto sb = evaluator::load_lua_evaluator(lua_evaluator_config{"test", "test.lua", source, limits});
  REQUIRE_MESSAGE(sb, describe(sb.error()));
  return std::move(*sb);
}

/// The error text of scoring `req` with `source` (fails the test if it scores).
std::string refusal(const std::string& source, const evaluate& req = request(),
                    scripting::budget limits = {1'000'000, 4u << 20}) {
  auto sb = load(source, limits);
  auto res = evaluator::lua_score(*sb, req);
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), errc::evaluator_unavailable));
  return reason_of(res.error());
}

}  // namespace

TEST_CASE("lua evaluator: a number is the total score, the rest is the generic evaluation") {
  auto sb = load("function evaluate(zone, request, generic) return 0.25 end");
  auto res = evaluator::lua_score(*sb, request());
  REQUIRE_MESSAGE(res, describe(res.error()));
  auto generic = evaluator::score_zone(request());
  REQUIRE(generic.feasible);
  CHECK(res->feasible);
  CHECK(res->scores.total == doctest::Approx(0.25));
  CHECK(res->scores.hardware == doctest::Approx(generic.scores.hardware));
  CHECK(res->instances == generic.instances);
  CHECK(res->cost == doctest::Approx(generic.cost));
}

TEST_CASE(
    "lua evaluator: the script sees the zone, its free resources, the request and the "
    "generic answer") {
  auto sb = load(R"(
    function evaluate(zone, request, generic)
      local ok = zone.name == "edge-brussels" and zone.region == "eu-west"
        and zone.latitude == 50.85 and zone.cpu_cores == 8 and zone.accelerators[1] == "h264-encoder"
        and zone.free.cpu_cores == 6 and zone.free.memory_mb == 12000 and zone.free.healthy
        and request.service == "fusion://acme/game" and request.instances == 2
        and request.hardware.cpu_cores == 2 and request.hardware.memory_mb == 1024
        and request.user_locations[1].latitude == 51.05 and request.cache_key == "player-42"
        and request.policy == "best_total"
        and generic.feasible and generic.instances == 2 and generic.total > 0
      return { total = ok and 1 or 0, extra = { distance = 0.5 } }
    end)");
  auto res = evaluator::lua_score(*sb, request());
  REQUIRE_MESSAGE(res, describe(res.error()));
  CHECK(res->scores.total == 1);
  CHECK(res->scores.extra.at("distance") == doctest::Approx(0.5));
}

TEST_CASE("lua evaluator: false and a reason make the zone infeasible") {
  auto sb = load("function evaluate() return false, 'no 5G coverage here' end");
  auto res = evaluator::lua_score(*sb, request());
  REQUIRE(res);
  CHECK_FALSE(res->feasible);
  CHECK(res->code == refusal_code::infeasible);
  CHECK(res->details == "no 5G coverage here");
}

TEST_CASE("lua evaluator: a request the generic evaluator finds infeasible stays infeasible") {
  auto req = request();
  req.service.hardware.cpu_cores = 64;  // more than the zone has
  auto sb = load("function evaluate() error('must not be asked') end");
  auto res = evaluator::lua_score(*sb, req);
  REQUIRE_MESSAGE(res, describe(res.error()));
  CHECK_FALSE(res->feasible);
}

TEST_CASE("lua evaluator: a script may host fewer instances, never more") {
  auto sb = load("function evaluate() return { instances = 1 } end");
  auto res = evaluator::lua_score(*sb, request());
  REQUIRE(res);
  CHECK(res->instances == 1);
  CHECK(refusal("function evaluate() return { instances = 3 } end") ==
        "evaluate returned 'instances' = 3 (expected 0 to 2)");
}

TEST_CASE(
    "lua evaluator: answers out of range or of the wrong type are refused with what to "
    "fix") {
  CHECK(refusal("function evaluate() return 1.5 end") ==
        "evaluate returned 'total' = 1.5 (expected 0 to 1)");
  CHECK(refusal("function evaluate() return 0/0 end").find("'total' = ") != std::string::npos);
  CHECK(refusal("function evaluate() return { hardware = 'high' } end") ==
        "evaluate returned a string for 'hardware' (expected a number)");
  CHECK(refusal("function evaluate() return { extra = { [1] = 0.5 } } end") ==
        "evaluate returned an extra score whose name is not a string");
  CHECK(refusal("function evaluate() end") ==
        "evaluate returned a nil (expected a number, a table, or false and a reason)");
  CHECK(refusal("function evaluate() return true end") ==
        "evaluate returned true (expected a number, a table, or false and a reason)");
}

TEST_CASE("lua evaluator: a runtime error names the script's line") {
  CHECK(refusal("function evaluate(zone)\n  return zone.nothing.here\nend") ==
        "test.lua:2: attempt to index a nil value (field 'nothing')");
}

TEST_CASE(
    "lua evaluator: an endless loop or an allocation bomb is stopped by its budget, and "
    "the next request is scored") {
  const std::string spin = R"(
    calls = 0
    function evaluate()
      calls = calls + 1
      if calls == 1 then while true do end end
      if calls == 2 then local t = {} for i = 1, 1e9 do t[i] = tostring(i):rep(100) end end
      return 0.5
    end)";
  auto sb = load(spin, {200'000, 2u << 20});
  auto first = evaluator::lua_score(*sb, request());
  REQUIRE_FALSE(first);
  CHECK(reason_of(first.error()) == "instruction budget of 200000 exceeded");
  auto second = evaluator::lua_score(*sb, request());
  REQUIRE_FALSE(second);
  CHECK(reason_of(second.error()).find("exceeded") != std::string::npos);
  auto third = evaluator::lua_score(*sb, request());
  REQUIRE_MESSAGE(third, describe(third.error()));
  CHECK(third->scores.total == doctest::Approx(0.5));
}

TEST_CASE(
    "lua evaluator: a script that does not compile or defines no evaluate is refused at "
    "load") {
  auto bad = evaluator::load_lua_evaluator(
      lua_evaluator_config{"near", "near.lua", "function evaluate(\n  return 1\nend", {}});
  REQUIRE_FALSE(bad);
  CHECK(is(bad.error(), errc::invalid_config));
  CHECK(reason_of(bad.error()).rfind("evaluator 'near' (near.lua): syntax error: near.lua:2:", 0) ==
        0);
  auto none = evaluator::load_lua_evaluator(lua_evaluator_config{"near", "near.lua", "x = 1", {}});
  REQUIRE_FALSE(none);
  CHECK(reason_of(none.error()) ==
        "evaluator 'near' (near.lua): the script defines no function 'evaluate(zone, request, "
        "generic)'");
  auto loops = evaluator::load_lua_evaluator(
      lua_evaluator_config{"near", "near.lua", "while true do end", {10'000, 1u << 20}});
  REQUIRE_FALSE(loops);
  CHECK(reason_of(loops.error()) ==
        "evaluator 'near' (near.lua): near.lua: instruction budget of 10000 exceeded");
}
