#pragma once
// fusion-shell's command line (docs/shell.md, "Starting the shell"), parsed apart from main so
// tests can check it.

#include "shell/client.hpp"
#include "shell/lua_api.hpp"

#include <caf/expected.hpp>

#include <string>
#include <vector>

namespace fusion::shell {

/// What the shell does after connecting.
enum class shell_mode : uint8_t {
  interactive = 0,  ///< Commands typed at a prompt (libedit).
  commands = 1,     ///< The -e commands, then exit.
  script = 2,       ///< The -f Lua script, then exit.
  lua = 3,          ///< Lua typed at a prompt.
};

/// Everything the command line says.
struct shell_options {
  bool help = false;
  bool version = false;
  client_options connect;
  lua_options lua;
  shell_mode mode = shell_mode::interactive;
  std::vector<std::string> commands;  ///< -e
  std::string script;                 ///< -f
  std::string history;                ///< History file; "" = ~/.fusion_shell_history.
  bool verbose = false;               ///< Print what starting the embedded services printed.
};

/// The --help text.
std::string usage_text();

/// Parses the arguments (without the program name). Errors say which option is wrong.
caf::expected<shell_options> parse_options(const std::vector<std::string>& args);

}  // namespace fusion::shell
