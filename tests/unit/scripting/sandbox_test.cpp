// The Lua sandbox (scripting/sandbox.hpp): what a script may reach, and how a script that
// loops or allocates without bound is stopped while the state stays usable.

#include "scripting/sandbox.hpp"

#include "protocols/errc.hpp"

#include <doctest/doctest.h>
#include <lua.hpp>

using namespace fusion;
using scripting::budget;
using scripting::failure;
using scripting::sandbox;

namespace {

/// Runs `source` and returns the global `result` as a string ("" if it is not one).
std::string result_of(sandbox& sb, const std::string& source) {
  auto err = sb.run("test.lua", source);
  REQUIRE_MESSAGE(!err, describe(err));
  lua_getglobal(sb.state(), "result");
  std::string out = lua_isstring(sb.state(), -1) ? lua_tostring(sb.state(), -1) : "";
  lua_pop(sb.state(), 1);
  return out;
}

}  // namespace

TEST_CASE("a sandboxed script computes with the safe libraries") {
  sandbox sb;
  REQUIRE(sb.valid());
  CHECK(
      result_of(sb, "result = string.format('%d-%s', math.floor(7.9), table.concat({'a','b'}))") ==
      "7-ab");
  CHECK(result_of(sb, "result = tostring(type(os.clock()) == 'number' and utf8.len('héllo'))") ==
        "5");
}

TEST_CASE("files, processes, modules and the debug library are out of a script's reach") {
  sandbox sb;
  CHECK(result_of(sb,
                  "result = tostring(io == nil and require == nil and package == nil and "
                  "debug == nil and dofile == nil and loadfile == nil)") == "true");
  CHECK(result_of(sb,
                  "result = tostring(os.execute == nil and os.remove == nil and "
                  "os.getenv == nil and os.exit == nil)") == "true");
}

TEST_CASE("load accepts source text and refuses precompiled chunks") {
  sandbox sb;
  CHECK(result_of(sb, "result = load('return 6*7')()") == "42");
  CHECK(result_of(sb, "local f, err = load('\\27Lua\\84\\0'); result = tostring(err)")
            .find("binary") != std::string::npos);
}

TEST_CASE("a syntax error names the chunk and its line") {
  sandbox sb;
  auto err = sb.run("broken.lua", "local x = 1\nif x then\n  x = \nend\n");
  REQUIRE(err);
  CHECK(sb.last_failure() == failure::syntax);
  CHECK(describe(err).find("broken.lua:4:") != std::string::npos);
}

TEST_CASE("a runtime error names its line and leaves the state usable") {
  sandbox sb;
  auto err = sb.run("oops.lua", "local t = nil\nresult = t.field\n");
  REQUIRE(err);
  CHECK(sb.last_failure() == failure::runtime);
  CHECK(describe(err).find("oops.lua:2:") != std::string::npos);
  CHECK(result_of(sb, "result = 'still here'") == "still here");
}

TEST_CASE(
    "an endless loop is stopped by the instruction budget, and the next call gets a "
    "fresh one") {
  sandbox sb{budget{100'000, 4u << 20}};
  auto err =
      sb.run("spin.lua", "function spin() while true do end end\nfunction ok() return 1 end");
  REQUIRE_MESSAGE(!err, describe(err));
  lua_getglobal(sb.state(), "spin");
  err = sb.call(0, 0);
  REQUIRE(err);
  CHECK(sb.last_failure() == failure::instructions);
  CHECK(describe(err).find("instruction budget of 100000 exceeded") != std::string::npos);
  CHECK(sb.instructions_used() > 100'000);
  CHECK(sb.instructions_used() <= 101'000);
  lua_getglobal(sb.state(), "ok");
  err = sb.call(0, 1);
  REQUIRE_MESSAGE(!err, describe(err));
  CHECK(lua_tointeger(sb.state(), -1) == 1);
  lua_pop(sb.state(), 1);
}

TEST_CASE("a script cannot catch its budget being exceeded with pcall") {
  sandbox sb{budget{50'000, 4u << 20}};
  auto err = sb.run("sly.lua", "for i = 1, 100 do pcall(function() while true do end end) end");
  REQUIRE(err);
  CHECK(sb.last_failure() == failure::instructions);
}

TEST_CASE("unbounded allocation is stopped by the memory budget and the memory is freed") {
  sandbox sb{budget{0, 2u << 20}};
  auto before = sb.memory_used();
  auto err =
      sb.run("hog.lua", "local t = {}\nfor i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end");
  REQUIRE(err);
  CHECK(sb.last_failure() == failure::memory);
  CHECK(describe(err).find("memory budget of 2097152 bytes exceeded") != std::string::npos);
  CHECK(sb.memory_used() <= 2u << 20);
  lua_gc(sb.state(), LUA_GCCOLLECT);
  CHECK(sb.memory_used() < before + 64 * 1024);
  CHECK(result_of(sb, "result = 'recovered'") == "recovered");
}
