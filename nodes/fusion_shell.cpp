// fusion-shell: an operator's and a script's way into FUSION (docs/shell.md). Thin main:
// parses the command line, connects (embedded roles or links), hands over to the commands,
// the Lua script or the interactive loop of shell/.

#include "fusion_node_embedded.hpp"
#include "protocols/errc.hpp"
#include "shell/commands.hpp"
#include "shell/lua_api.hpp"
#include "shell/options.hpp"
#include "shell/repl.hpp"

#include <caf/config.hpp>

#include <iostream>
#include <string>
#include <vector>

namespace {

/// Exit codes, documented in --help and docs/shell.md.
enum exit_code : int { ok = 0, failed = 1, usage_error = 2, cannot_connect = 3 };

}  // namespace

int main(int argc, char** argv) {
  using namespace fusion::shell;
  auto opts = parse_options(std::vector<std::string>(argv + 1, argv + argc));
  if (!opts) {
    std::cerr << "fusion-shell: " << fusion::describe(opts.error())
              << "\nTry 'fusion-shell --help'.\n";
    return usage_error;
  }
  if (opts->help) {
    std::cout << usage_text() << "\n";
    return ok;
  }
  if (opts->version) {
    std::cout << "fusion-shell " << FUSION_VERSION << " (CAF " << CAF_VERSION / 10000 << '.'
              << CAF_VERSION / 100 % 100 << '.' << CAF_VERSION % 100 << ")\n";
    return ok;
  }
  opts->connect.builtin_toml = fusion_node_embedded_toml;
  opts->connect.builtin_dir = FUSION_CONFIG_DIR;
  std::string startup;
  auto c = client::start(opts->connect, &startup);
  if (!c) {
    std::cerr << "fusion-shell: " << fusion::describe(c.error()) << "\n";
    return cannot_connect;
  }
  if (opts->verbose) std::cout << startup;
  operations ops{**c};
  commands cmds{ops};
  int status = ok;
  switch (opts->mode) {
    case shell_mode::commands:
      for (const auto& line : opts->commands) {
        status = cmds.run(line, std::cout, std::cerr);
        if (status != ok || cmds.quit_requested()) break;
      }
      break;
    case shell_mode::script:
      status = run_script(ops, opts->script, opts->lua, std::cout, std::cerr);
      break;
    case shell_mode::lua: {
      lua_session lua{ops, opts->lua, std::cout, std::cout};
      status = run_lua_repl(cmds, lua, opts->history);
      break;
    }
    case shell_mode::interactive:
      status = run_repl(cmds, opts->history);
      break;
  }
  std::cout.flush();
  (*c)->stop();
  return status;
}
