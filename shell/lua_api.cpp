#include "shell/lua_api.hpp"

#include "protocols/errc.hpp"
#include "shell/schema.hpp"

#include <lua.hpp>

#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

namespace fusion::shell {

struct lua_session::state {
  operations& ops;
  lua_options opts;
  std::ostream& out;
  std::ostream& err;
  scripting::sandbox box;
  uint32_t failed = 0;
  state(operations& o, const lua_options& lo, std::ostream& os, std::ostream& es)
      : ops(o),
        opts(lo),
        out(os),
        err(es),
        box(scripting::budget{lo.instructions, lo.memory_bytes}) {}
};

namespace {

using state = lua_session::state;

// Lua raises errors by longjmp, which skips C++ destructors: host functions do their work in
// `body` (which returns normally, its objects destroyed) and leave an error text in `error`;
// only then, with no C++ object alive, is the error raised.
struct call_result {
  int results = 0;
  std::string error;  // non-empty: raise it
};

state& st_of(lua_State* L) {
  return *static_cast<state*>(lua_touserdata(L, lua_upvalueindex(1)));
}

template <class F>
int guarded(lua_State* L, F body) {
  bool failed = false;
  {
    call_result r = body(st_of(L));
    if (r.error.empty()) return r.results;
    lua_pushstring(L, r.error.c_str());
    failed = true;
  }
  if (failed) return lua_error(L);
  return 0;
}

// ---- Lua <-> value -----------------------------------------------------------------------

value from_lua(lua_State* L, int idx, int depth = 0) {
  idx = lua_absindex(L, idx);
  switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN:
      return value{lua_toboolean(L, idx) != 0};
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) return value{static_cast<int64_t>(lua_tointeger(L, idx))};
      return value{static_cast<double>(lua_tonumber(L, idx))};
    case LUA_TSTRING: {
      size_t n = 0;
      const char* s = lua_tolstring(L, idx, &n);
      return value{std::string{s, n}};
    }
    case LUA_TTABLE: {
      if (depth > 32) return value{};
      const auto n = static_cast<lua_Integer>(lua_rawlen(L, idx));
      bool sequence = n > 0;
      value_object obj;
      lua_pushnil(L);
      while (lua_next(L, idx) != 0) {
        if (lua_type(L, -2) == LUA_TNUMBER && lua_isinteger(L, -2)) {
          auto k = lua_tointeger(L, -2);
          if (k < 1 || k > n) sequence = false;
          obj.emplace_back(std::to_string(k), from_lua(L, -1, depth + 1));
        } else if (lua_type(L, -2) == LUA_TSTRING) {
          sequence = false;
          obj.emplace_back(lua_tostring(L, -2), from_lua(L, -1, depth + 1));
        } else {
          sequence = false;
        }
        lua_pop(L, 1);
      }
      if (sequence) {
        value_array arr(static_cast<size_t>(n));
        for (auto& [k, v] : obj) arr[std::stoul(k) - 1] = std::move(v);
        return value{std::move(arr)};
      }
      return value{std::move(obj)};
    }
    default:
      return value{};
  }
}

void push(lua_State* L, const value& x) {
  struct visitor {
    lua_State* L;
    void operator()(std::monostate) const { lua_pushnil(L); }
    void operator()(bool b) const { lua_pushboolean(L, b); }
    void operator()(int64_t i) const { lua_pushinteger(L, static_cast<lua_Integer>(i)); }
    void operator()(uint64_t u) const { lua_pushnumber(L, static_cast<lua_Number>(u)); }
    void operator()(double d) const { lua_pushnumber(L, d); }
    void operator()(const std::string& s) const { lua_pushlstring(L, s.data(), s.size()); }
    void operator()(const value_array& a) const {
      lua_createtable(L, static_cast<int>(a.size()), 0);
      for (size_t i = 0; i < a.size(); ++i) {
        push(L, a[i]);
        lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
      }
    }
    void operator()(const value_object& o) const {
      lua_createtable(L, 0, static_cast<int>(o.size()));
      for (const auto& [k, v] : o) {
        push(L, v);
        lua_setfield(L, -2, k.c_str());
      }
    }
  };
  std::visit(visitor{L}, x.v);
}

std::string arg_string(lua_State* L, int i, const char* fn, const char* what, std::string& error,
                       bool optional = false) {
  if (optional && lua_isnoneornil(L, i)) return {};
  if (lua_type(L, i) != LUA_TSTRING && lua_type(L, i) != LUA_TNUMBER) {
    if (error.empty())
      error = std::string{fn} + ": argument " + std::to_string(i) + " (" + what +
              ") must be a string, found " + luaL_typename(L, i);
    return {};
  }
  return lua_tostring(L, i);
}

uint32_t arg_count(lua_State* L, int i, const char* fn, std::string& error) {
  if (lua_isnoneornil(L, i)) return 1;
  if (!lua_isinteger(L, i) || lua_tointeger(L, i) < 1 || lua_tointeger(L, i) > 1'000'000) {
    if (error.empty())
      error = std::string{fn} + ": argument " + std::to_string(i) + " must be a whole number >= 1";
    return 1;
  }
  return static_cast<uint32_t>(lua_tointeger(L, i));
}

// Pushes a result as `value` or `nil, error text`.
call_result reply(lua_State* L, caf::expected<value> r) {
  if (!r) {
    lua_pushnil(L);
    auto text = describe(r.error());
    lua_pushlstring(L, text.data(), text.size());
    return {2, {}};
  }
  push(L, *r);
  return {1, {}};
}

caf::expected<std::string> manifest_text(state& st, const std::string& arg) {
  if (arg.find('\n') != std::string::npos) return arg;
  if (!st.opts.allow_files)
    return make_error(errc::invalid_argument,
                      "reading the manifest file '" + arg +
                          "' needs --allow-files (or pass the YAML text itself)");
  std::ifstream in{arg, std::ios::binary};
  if (!in) return make_error(errc::invalid_argument, "cannot read '" + arg + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int l_request(lua_State* L) {
  return guarded(L, [L](state& st) -> call_result {
    std::string e;
    auto actor = arg_string(L, 1, "fusion.request", "actor", e);
    auto msg = arg_string(L, 2, "fusion.request", "message", e);
    if (!e.empty()) return {0, e};
    value fields = lua_istable(L, 3) ? from_lua(L, 3) : value{value_object{}};
    return reply(L, st.ops.request(actor, msg, fields));
  });
}

int l_send(lua_State* L) {
  return guarded(L, [L](state& st) -> call_result {
    std::string e;
    auto actor = arg_string(L, 1, "fusion.send", "actor", e);
    auto msg = arg_string(L, 2, "fusion.send", "message", e);
    if (!e.empty()) return {0, e};
    value fields = lua_istable(L, 3) ? from_lua(L, 3) : value{value_object{}};
    if (auto err = st.ops.send(actor, msg, fields)) return reply(L, err);
    lua_pushboolean(L, 1);
    return {1, {}};
  });
}

int l_services(lua_State* L) {
  return guarded(L, [L](state& st) { return reply(L, st.ops.services()); });
}
int l_zones(lua_State* L) {
  return guarded(L, [L](state& st) { return reply(L, st.ops.zones()); });
}
int l_actors(lua_State* L) {
  return guarded(L, [L](state& st) { return reply(L, st.ops.actors()); });
}

int l_register(lua_State* L) {
  return guarded(L, [L](state& st) -> call_result {
    std::string e;
    auto arg = arg_string(L, 1, "fusion.register", "manifest", e);
    if (!e.empty()) return {0, e};
    auto text = manifest_text(st, arg);
    if (!text) return reply(L, text.error());
    return reply(L, st.ops.register_text(*text, "script"));
  });
}

int l_plan(lua_State* L) {
  return guarded(L, [L](state& st) -> call_result {
    std::string e;
    auto arg = arg_string(L, 1, "fusion.plan", "manifest", e);
    auto n = arg_count(L, 2, "fusion.plan", e);
    if (!e.empty()) return {0, e};
    auto text = manifest_text(st, arg);
    if (!text) return reply(L, text.error());
    return reply(L, st.ops.plan_text(*text, "script", n));
  });
}

int l_deploy(lua_State* L) {
  return guarded(L, [L](state& st) -> call_result {
    std::string e;
    auto svc = arg_string(L, 1, "fusion.deploy", "service", e);
    auto n = arg_count(L, 2, "fusion.deploy", e);
    if (!e.empty()) return {0, e};
    return reply(L, st.ops.deploy(svc, n));
  });
}

template <caf::expected<value> (operations::*Op)(const std::string&), bool Optional>
int l_one_string(lua_State* L) {
  return guarded(L, [L](state& st) -> call_result {
    std::string e;
    auto arg = arg_string(L, 1, "fusion", "argument", e, Optional);
    if (!e.empty()) return {0, e};
    return reply(L, (st.ops.*Op)(arg));
  });
}

int l_session_open(lua_State* L) {
  return guarded(L, [L](state& st) -> call_result {
    std::string e;
    auto target = arg_string(L, 1, "fusion.session_open", "service or instance", e);
    if (!e.empty()) return {0, e};
    std::string client_name = "fusion-shell", via;
    if (lua_istable(L, 2)) {
      auto opts = from_lua(L, 2);
      if (auto c = opts.find("client")) client_name = c->text();
      if (auto v = opts.find("via")) via = v->text();
    }
    return reply(L, st.ops.session_open(target, client_name, via));
  });
}

int l_session_close(lua_State* L) {
  return guarded(L, [L](state& st) -> call_result {
    std::string e;
    auto sid = arg_string(L, 1, "fusion.session_close", "session id", e);
    auto at = arg_string(L, 2, "fusion.session_close", "instance", e, true);
    if (!e.empty()) return {0, e};
    return reply(L, st.ops.session_close(sid, at));
  });
}

double arg_seconds(lua_State* L, int i, const char* fn, double fallback, std::string& error) {
  if (lua_isnoneornil(L, i)) return fallback;
  if (!lua_isnumber(L, i) || !(lua_tonumber(L, i) >= 0) || lua_tonumber(L, i) > 3600) {
    if (error.empty()) error = std::string{fn} + ": seconds must be a number from 0 to 3600";
    return fallback;
  }
  return lua_tonumber(L, i);
}

int l_wait(lua_State* L) {
  return guarded(L, [L](state&) -> call_result {
    std::string e;
    auto s = arg_seconds(L, 1, "fusion.wait", 0, e);
    if (!e.empty()) return {0, e};
    std::this_thread::sleep_for(std::chrono::duration<double>(s));
    return {0, {}};
  });
}

// fusion.kill(actor): crashes an actor of this process (--embedded); true or nil, error.
int l_kill(lua_State* L) {
  return guarded(L, [L](state& st) -> call_result {
    std::string e;
    auto actor = arg_string(L, 1, "fusion.kill", "actor", e);
    if (!e.empty()) return {0, e};
    if (auto err = st.ops.connection().kill(actor)) return reply(L, err);
    lua_pushboolean(L, 1);
    return {1, {}};
  });
}

// fusion.routes(service [, via]): where service routers would send a session.
int l_routes(lua_State* L) {
  return guarded(L, [L](state& st) -> call_result {
    std::string e;
    auto svc = arg_string(L, 1, "fusion.routes", "service", e);
    auto via = arg_string(L, 2, "fusion.routes", "router", e, true);
    if (!e.empty()) return {0, e};
    return reply(L, st.ops.routes(svc, via));
  });
}

// fusion.watch(actor, seconds [, interval_s]): polls what the actor shows for `seconds` and
// returns every change seen, {t = seconds, path =, before =, after =}, the first poll's
// leaves included (before = nil; after = nil for a leaf that is gone).
int l_watch(lua_State* L) {
  return guarded(L, [L](state& st) -> call_result {
    std::string e;
    auto actor = arg_string(L, 1, "fusion.watch", "actor", e);
    auto seconds = arg_seconds(L, 2, "fusion.watch", 1, e);
    auto interval = arg_seconds(L, 3, "fusion.watch", 0.1, e);
    if (!e.empty()) return {0, e};
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(seconds));
    value_array seen;
    caf::error last_error;
    auto err = st.ops.watch(
        actor, std::chrono::milliseconds{static_cast<int64_t>(interval * 1000)},
        [&] { return std::chrono::steady_clock::now() < until; },
        [&](double t, const std::vector<change>& changes) {
          last_error = caf::error{};
          for (const auto& c : changes)
            seen.emplace_back(value_object{{"t", value{t}},
                                           {"path", value{c.path}},
                                           {"before", c.before ? value{*c.before} : value{}},
                                           {"after", c.after ? value{*c.after} : value{}}});
        },
        [&](double, const caf::error& x) { last_error = x; });
    if (err) return reply(L, err);
    if (last_error) return reply(L, last_error);
    return reply(L, value{std::move(seen)});
  });
}

// fusion.wait_until(fn, timeout_s [, interval_s]): calls fn until it returns a true value
// (returned) or the timeout passes (nil, "timed out ...").
int l_wait_until(lua_State* L) {
  if (!lua_isfunction(L, 1)) {
    lua_pushstring(L, "fusion.wait_until: argument 1 must be a function");
    return lua_error(L);
  }
  double timeout = 10, interval = 0.05;
  bool failed = false;
  {
    std::string e;
    timeout = arg_seconds(L, 2, "fusion.wait_until", 10, e);
    interval = arg_seconds(L, 3, "fusion.wait_until", 0.05, e);
    if (!e.empty()) {
      lua_pushstring(L, e.c_str());
      failed = true;
    }
  }
  if (failed) return lua_error(L);
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(timeout));
  for (;;) {
    lua_pushvalue(L, 1);
    lua_call(L, 0, 1);  // errors in fn propagate to the script
    if (lua_toboolean(L, -1)) return 1;
    lua_pop(L, 1);
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::duration<double>(interval));
  }
  lua_pushnil(L);
  lua_pushfstring(L, "timed out after %f s", timeout);
  return 2;
}

int l_check(lua_State* L) {
  auto& st = st_of(L);
  if (lua_toboolean(L, 1)) {
    lua_pushboolean(L, 1);
    return 1;
  }
  ++st.failed;
  luaL_where(L, 1);  // "script.lua:12: "
  const char* where = lua_tostring(L, -1);
  const char* what = lua_isnoneornil(L, 2) ? "check failed" : luaL_tolstring(L, 2, nullptr);
  st.err << "CHECK FAILED " << where << what << std::endl;
  lua_settop(L, 0);
  lua_pushboolean(L, 0);
  return 1;
}

int l_json(lua_State* L) {
  return guarded(L, [L](state&) -> call_result {
    auto text = to_json(from_lua(L, 1));
    lua_pushlstring(L, text.data(), text.size());
    return {1, {}};
  });
}

int l_messages(lua_State* L) {
  return guarded(L, [L](state&) -> call_result {
    if (lua_isnoneornil(L, 1)) {
      value_array names;
      for (auto& n : message_names()) names.emplace_back(std::move(n));
      push(L, value{std::move(names)});
      return {1, {}};
    }
    std::string e;
    auto name = arg_string(L, 1, "fusion.messages", "message", e);
    if (!e.empty()) return {0, e};
    auto fields = fields_of(name);
    if (!fields) return reply(L, make_error(errc::invalid_argument, "no message '" + name + "'"));
    value_object r;
    for (const auto& f : *fields) r.emplace_back(f.name, value{f.type});
    push(L, value{std::move(r)});
    return {1, {}};
  });
}

int l_print(lua_State* L) {
  auto& st = st_of(L);
  const int n = lua_gettop(L);
  for (int i = 1; i <= n; ++i) {
    size_t len = 0;
    const char* s = luaL_tolstring(L, i, &len);
    if (i > 1) st.out << '\t';
    st.out.write(s, static_cast<std::streamsize>(len));
    lua_pop(L, 1);
  }
  st.out << std::endl;
  return 0;
}

}  // namespace

lua_session::lua_session(operations& ops, const lua_options& opts, std::ostream& out,
                         std::ostream& err)
    : st_(std::make_unique<state>(ops, opts, out, err)) {
  lua_State* L = st_->box.state();
  if (!L) return;
  if (opts.allow_files) {
    luaL_requiref(L, LUA_IOLIBNAME, luaopen_io, 1);
    luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 1);
    lua_pop(L, 2);
  }
  static const luaL_Reg fns[] = {
      {"request", l_request},
      {"send", l_send},
      {"services", l_services},
      {"register", l_register},
      {"deploy", l_deploy},
      {"plan", l_plan},
      {"explain", l_one_string<&operations::explain, false>},
      {"zones", l_zones},
      {"instances", l_one_string<&operations::instances, false>},
      {"slots", l_one_string<&operations::slots, true>},
      {"members", l_one_string<&operations::members, true>},
      {"session_open", l_session_open},
      {"session_close", l_session_close},
      {"actors", l_actors},
      {"messages", l_messages},
      {"routes", l_routes},
      {"kill", l_kill},
      {"kill_zone", l_one_string<&operations::kill_zone, false>},
      {"state", l_one_string<&operations::state_of, false>},
      {"watch", l_watch},
      {"wait", l_wait},
      {"wait_until", l_wait_until},
      {"check", l_check},
      {"json", l_json},
      {nullptr, nullptr},
  };
  lua_newtable(L);
  lua_pushlightuserdata(L, st_.get());
  luaL_setfuncs(L, fns, 1);
  lua_setglobal(L, "fusion");
  lua_pushlightuserdata(L, st_.get());
  lua_pushcclosure(L, l_print, 1);
  lua_setglobal(L, "print");
}

lua_session::~lua_session() = default;

uint32_t lua_session::failed_checks() const {
  return st_->failed;
}

caf::error lua_session::run_file(const std::string& path) {
  if (!st_->box.valid()) return make_error(errc::invalid_argument, "cannot create a Lua state");
  return st_->box.run_file(path);
}

caf::error lua_session::run_line(const std::string& line) {
  auto& box = st_->box;
  if (!box.valid()) return make_error(errc::invalid_argument, "cannot create a Lua state");
  lua_State* L = box.state();
  // An expression first ("fusion.services()" prints its value), a statement otherwise.
  const int top = lua_gettop(L);
  std::string expr = "return " + line;
  if (luaL_loadbufferx(L, expr.data(), expr.size(), "=stdin", "t") == LUA_OK) {
    if (auto err = box.call(0, LUA_MULTRET)) return err;
    const int n = lua_gettop(L) - top;
    if (n > 0) {
      lua_getglobal(L, "print");
      lua_insert(L, top + 1);
      if (auto err = box.call(n, 0)) return err;
    }
    lua_settop(L, top);
    return caf::none;
  }
  lua_settop(L, top);
  return box.run("stdin", line);
}

int run_script(operations& ops, const std::string& path, const lua_options& opts, std::ostream& out,
               std::ostream& err) {
  lua_session session{ops, opts, out, err};
  if (auto e = session.run_file(path)) {
    err << "fusion-shell: " << describe(e) << std::endl;
    return 1;
  }
  if (session.failed_checks() > 0) {
    err << "fusion-shell: " << session.failed_checks() << " check(s) failed" << std::endl;
    return 1;
  }
  return 0;
}

}  // namespace fusion::shell
