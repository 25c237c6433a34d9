#include "scripting/sandbox.hpp"

#include "protocols/errc.hpp"

#include <lua.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fusion::scripting {

namespace {

/// Instructions between two budget checks: small enough to stop a loop promptly, large
/// enough that the hook costs nothing measurable.
constexpr int hook_period = 1000;

/// The registry key under which a state keeps its owning sandbox.
const char owner_key = 0;

/// Functions of the base library a sandboxed script must not have: they read files, load
/// binary chunks or reach the collector's knobs.
constexpr const char* removed_base[] = {"dofile", "loadfile", "collectgarbage"};

/// `load` restricted to text chunks, so no crafted bytecode reaches the VM.
int text_only_load(lua_State* L) {
  int n = lua_gettop(L);
  if (n < 1) return luaL_error(L, "load: expected a string or function");
  lua_settop(L, 4);
  lua_pushliteral(L, "t");
  lua_replace(L, 3);
  lua_pushvalue(L, lua_upvalueindex(1));  // the original load
  lua_insert(L, 1);
  lua_call(L, 4, LUA_MULTRET);
  return lua_gettop(L);
}

}  // namespace

void* sandbox::alloc(void* ud, void* ptr, size_t osize, size_t nsize) {
  auto& self = *static_cast<sandbox*>(ud);
  // For a new block, `osize` encodes its kind, not a size.
  size_t old = ptr == nullptr ? 0 : osize;
  if (nsize == 0) {
    std::free(ptr);
    self.mem_ -= old;
    return nullptr;
  }
  if (nsize > old && self.mem_ - old + nsize > self.budget_.memory_bytes) {
    self.out_of_memory_ = true;
    return nullptr;
  }
  void* p = std::realloc(ptr, nsize);
  if (p == nullptr) {
    self.out_of_memory_ = true;
    return nullptr;
  }
  self.mem_ = self.mem_ - old + nsize;
  return p;
}

void sandbox::hook(lua_State* L, lua_Debug*) {
  auto& self = owner_of(L);
  if (self.last_ != failure::instructions) self.used_ += hook_period;
  if (self.budget_.instructions != 0 && self.used_ > self.budget_.instructions) {
    self.last_ = failure::instructions;
    // From now on every instruction fails, so a script's pcall cannot swallow the error
    // and go on: each level of protected calls unwinds at its next instruction.
    lua_sethook(L, &sandbox::hook, LUA_MASKCOUNT, 1);
    lua_pushfstring(L, "instruction budget of %I exceeded",
                    static_cast<lua_Integer>(self.budget_.instructions));
    lua_error(L);
  }
}

sandbox& owner_of(lua_State* L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &owner_key);
  auto* self = static_cast<sandbox*>(lua_touserdata(L, -1));
  lua_pop(L, 1);
  return *self;
}

sandbox::sandbox(budget b) : budget_(b) {
  L_ = lua_newstate(&sandbox::alloc, this);
  if (L_ == nullptr) return;
  lua_pushlightuserdata(L_, this);
  lua_rawsetp(L_, LUA_REGISTRYINDEX, &owner_key);
  // The safe libraries, each opened under a protected call (they allocate).
  static const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},        {LUA_TABLIBNAME, luaopen_table},
                                  {LUA_STRLIBNAME, luaopen_string}, {LUA_MATHLIBNAME, luaopen_math},
                                  {LUA_UTF8LIBNAME, luaopen_utf8},  {LUA_OSLIBNAME, luaopen_os}};
  auto open_all = [](lua_State* L) -> int {
    for (const auto& lib : libs) {
      luaL_requiref(L, lib.name, lib.func, 1);
      lua_pop(L, 1);
    }
    for (auto* name : removed_base) {
      lua_pushnil(L);
      lua_setglobal(L, name);
    }
    lua_getglobal(L, "load");
    lua_pushcclosure(L, text_only_load, 1);
    lua_setglobal(L, "load");
    // os: the clock and calendar only.
    lua_getglobal(L, LUA_OSLIBNAME);
    lua_newtable(L);
    for (auto* keep : {"clock", "time", "date", "difftime"}) {
      lua_getfield(L, -2, keep);
      lua_setfield(L, -2, keep);
    }
    lua_setglobal(L, LUA_OSLIBNAME);
    lua_pop(L, 1);
    return 0;
  };
  lua_pushcfunction(L_, open_all);
  if (lua_pcall(L_, 0, 0, 0) != LUA_OK) {
    lua_close(L_);
    L_ = nullptr;
    return;
  }
}

sandbox::~sandbox() {
  if (L_ != nullptr) lua_close(L_);
}

caf::error sandbox::protected_call(std::string_view chunk, int nargs, int nresults) {
  used_ = 0;
  out_of_memory_ = false;
  last_ = failure::none;
  lua_sethook(L_, &sandbox::hook, LUA_MASKCOUNT, hook_period);
  auto rc = lua_pcall(L_, nargs, nresults, 0);
  lua_sethook(L_, nullptr, 0, 0);
  if (rc == LUA_OK) return {};
  std::string msg =
      lua_type(L_, -1) == LUA_TSTRING ? lua_tostring(L_, -1) : "(error object is not a string)";
  lua_pop(L_, 1);
  // Lua's own errors carry the chunk and line; a budget's say which chunk ran out.
  auto in_chunk = [&](std::string text) {
    return chunk.empty() ? text : std::string{chunk} + ": " + text;
  };
  if (rc == LUA_ERRMEM || out_of_memory_) {
    last_ = failure::memory;
    return make_error(
        errc::invalid_argument,
        in_chunk("memory budget of " + std::to_string(budget_.memory_bytes) + " bytes exceeded"));
  }
  if (last_ == failure::instructions) return make_error(errc::invalid_argument, in_chunk(msg));
  last_ = failure::runtime;
  return make_error(errc::invalid_argument, std::move(msg));
}

caf::error sandbox::run(std::string_view name, std::string_view source) {
  if (L_ == nullptr)
    return make_error(errc::invalid_argument, "the Lua state could not be created");
  std::string chunk{"="};
  chunk.append(name);
  out_of_memory_ = false;
  auto rc = luaL_loadbufferx(L_, source.data(), source.size(), chunk.c_str(), "t");
  if (rc != LUA_OK) {
    std::string msg = lua_type(L_, -1) == LUA_TSTRING ? lua_tostring(L_, -1) : "cannot load";
    lua_pop(L_, 1);
    last_ = rc == LUA_ERRMEM || out_of_memory_ ? failure::memory : failure::syntax;
    if (last_ == failure::memory)
      msg = std::string{name} + ": memory budget exceeded while compiling";
    else
      msg.insert(0, "syntax error: ");
    return make_error(errc::invalid_argument, std::move(msg));
  }
  return protected_call(name, 0, 0);
}

caf::error sandbox::run_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in) return make_error(errc::invalid_argument, "cannot read the script '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return run(std::filesystem::path{path}.filename().string(), text.str());
}

caf::error sandbox::call(int nargs, int nresults) {
  if (L_ == nullptr)
    return make_error(errc::invalid_argument, "the Lua state could not be created");
  return protected_call("", nargs, nresults);
}

caf::expected<std::unique_ptr<sandbox>> load_script(std::string_view name, std::string_view source,
                                                    budget limits, const char* entry,
                                                    std::string_view signature) {
  auto sb = std::make_unique<sandbox>(limits);
  if (!sb->valid())
    return make_error(errc::invalid_config, "its memory budget cannot hold a Lua state");
  if (auto err = sb->run(name, source)) return make_error(errc::invalid_config, reason_of(err));
  lua_getglobal(sb->state(), entry);
  bool ok = lua_isfunction(sb->state(), -1);
  lua_pop(sb->state(), 1);
  if (!ok)
    return make_error(errc::invalid_config,
                      "the script defines no function '" + std::string{signature} + "'");
  return sb;
}

}  // namespace fusion::scripting
