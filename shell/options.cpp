#include "shell/options.hpp"

#include "protocols/errc.hpp"

#include <boost/program_options.hpp>

#include <sstream>

namespace fusion::shell {

namespace po = boost::program_options;

namespace {

constexpr const char* usage = R"(Usage:
  fusion-shell --embedded [CONFIG]  [options]   roles of CONFIG (default: the embedded demo)
                                                 started in this process
  fusion-shell --config SHELL.toml  [options]   connect to the nodes of SHELL.toml ([link]
                                                 identity, [[peer]]s, no roles) as a principal
  Then: interactive commands (default), -e COMMAND... (run them and exit), -f SCRIPT.lua
  (run the Lua script and exit: status 1 if a check failed or it raised an error), or
  'lua' (Lua typed at a prompt). 'help' inside the shell lists the commands.

Exit codes: 0 ok, 1 a command, check or script failed, 2 usage error, 3 cannot connect
(config invalid, node roles failed to start). Guide: docs/shell.md.

Options)";

po::options_description visible_options(std::string& embedded, std::string& config,
                                        shell_options& o, uint64_t& timeout_ms,
                                        uint64_t& memory_mb) {
  po::options_description d{usage};
  d.add_options()("help,h", "print this help and exit")("version", "print the version and exit")(
      "embedded", po::value<std::string>(&embedded)->implicit_value(""),
      "run the roles of a node config (default: the embedded demo) in this process")(
      "config,c", po::value<std::string>(&config), "shell config (TOML) with [link] and [[peer]]")(
      "node,n", po::value<std::string>(&o.connect.node), "node asked by default (a peer's name)")(
      "timeout,t", po::value<uint64_t>(&timeout_ms)->default_value(5000), "request timeout in ms")(
      "execute,e", po::value<std::vector<std::string>>(&o.commands),
      "run COMMAND (repeatable), then exit")("file,f", po::value<std::string>(&o.script),
                                             "run the Lua script, then exit")(
      "allow-files", "scripts may use io and the whole os library")(
      "instructions", po::value<uint64_t>(&o.lua.instructions)->default_value(100'000'000),
      "Lua instructions per chunk (0 = no limit)")(
      "memory-mb", po::value<uint64_t>(&memory_mb)->default_value(64), "Lua memory in MiB")(
      "history", po::value<std::string>(&o.history),
      "history file (default ~/.fusion_shell_history)")(
      "log-level", po::value<std::string>(&o.connect.log_level),
      "overrides the config's [log] level")("verbose,v",
                                            "print what starting the embedded services printed");
  return d;
}

caf::error usage_error(std::string text) {
  return make_error(errc::invalid_argument, std::move(text));
}

}  // namespace

std::string usage_text() {
  std::string embedded, config;
  shell_options o;
  uint64_t t = 0, m = 0;
  std::ostringstream out;
  out << visible_options(embedded, config, o, t, m);
  return out.str();
}

caf::expected<shell_options> parse_options(const std::vector<std::string>& args) {
  shell_options o;
  std::string embedded, config;
  uint64_t timeout_ms = 0, memory_mb = 0;
  auto visible = visible_options(embedded, config, o, timeout_ms, memory_mb);
  po::options_description all;
  all.add(visible).add_options()("args", po::value<std::vector<std::string>>());
  po::positional_options_description pos;
  pos.add("args", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return usage_error(e.what());
  }
  o.help = vm.count("help") > 0;
  o.version = vm.count("version") > 0;
  if (o.help || o.version) return o;
  auto rest =
      vm.count("args") ? vm["args"].as<std::vector<std::string>>() : std::vector<std::string>{};
  o.connect.embedded = vm.count("embedded") > 0;
  // "--embedded lua": the mode, not a config file called lua.
  if (o.connect.embedded && embedded == "lua") {
    embedded.clear();
    rest.insert(rest.begin(), "lua");
  }
  o.connect.config = o.connect.embedded ? embedded : config;
  // "--embedded CONFIG": Boost takes an implicit value only as --embedded=CONFIG.
  if (o.connect.embedded && embedded.empty() && !rest.empty() && rest[0] != "lua") {
    o.connect.config = rest[0];
    rest.erase(rest.begin());
  }
  if (o.connect.embedded && vm.count("config"))
    return usage_error(
        "--embedded and --config exclude each other (--embedded CONFIG runs a "
        "node config's roles here)");
  if (!o.connect.embedded && !vm.count("config"))
    return usage_error("say where to connect: --embedded [CONFIG] or --config SHELL.toml");
  if (timeout_ms == 0 || timeout_ms > 3'600'000)
    return usage_error("--timeout: expected 1 to 3600000 ms");
  o.connect.timeout = std::chrono::milliseconds{timeout_ms};
  if (memory_mb == 0 || memory_mb > 4096) return usage_error("--memory-mb: expected 1 to 4096");
  o.lua.memory_bytes = static_cast<size_t>(memory_mb) << 20;
  o.lua.allow_files = vm.count("allow-files") > 0;
  o.verbose = vm.count("verbose") > 0;
  const bool lua_mode = !rest.empty() && rest[0] == "lua";
  if (lua_mode) rest.erase(rest.begin());
  if (!rest.empty()) return usage_error("unexpected argument '" + rest[0] + "'");
  int modes = (lua_mode ? 1 : 0) + (o.script.empty() ? 0 : 1) + (o.commands.empty() ? 0 : 1);
  if (modes > 1) return usage_error("choose one of -e, -f and lua");
  if (lua_mode) o.mode = shell_mode::lua;
  if (!o.script.empty()) o.mode = shell_mode::script;
  if (!o.commands.empty()) o.mode = shell_mode::commands;
  if ((vm.count("allow-files") || !vm["instructions"].defaulted()) &&
      o.mode != shell_mode::script && o.mode != shell_mode::lua)
    return usage_error("--allow-files and --instructions belong to -f and lua");
  return o;
}

}  // namespace fusion::shell
