#pragma once
// Filling Lua tables from C++ values: `set_field(L, "key", x)` stores x under "key" in the
// table on top of the stack. For the hosts that hand data to a script (Lua evaluators,
// monitoring aggregation); lists of strings become sequences, string → number maps tables.

#include <lua.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace fusion::scripting {

inline void set_field(lua_State* L, const char* key, double x) {
  lua_pushnumber(L, x);
  lua_setfield(L, -2, key);
}

/// Integers as Lua integers (not floats): counts, sizes.
inline void set_integer(lua_State* L, const char* key, uint64_t x) {
  lua_pushinteger(L, static_cast<lua_Integer>(x));
  lua_setfield(L, -2, key);
}

inline void set_field(lua_State* L, const char* key, const std::string& x) {
  lua_pushlstring(L, x.data(), x.size());
  lua_setfield(L, -2, key);
}

inline void set_field(lua_State* L, const char* key, bool x) {
  lua_pushboolean(L, x ? 1 : 0);
  lua_setfield(L, -2, key);
}

inline void set_field(lua_State* L, const char* key, const std::vector<std::string>& xs) {
  lua_createtable(L, static_cast<int>(xs.size()), 0);
  for (size_t i = 0; i < xs.size(); ++i) {
    lua_pushlstring(L, xs[i].data(), xs[i].size());
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
  lua_setfield(L, -2, key);
}

inline void set_field(lua_State* L, const char* key, const std::map<std::string, double>& xs) {
  lua_createtable(L, 0, static_cast<int>(xs.size()));
  for (const auto& [k, v] : xs) set_field(L, k.c_str(), v);
  lua_setfield(L, -2, key);
}

}  // namespace fusion::scripting
