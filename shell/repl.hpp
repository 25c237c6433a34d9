#pragma once
// The interactive shell: libedit line editing, a history file, tab completion of commands,
// actor names, service names and message fields; command mode and Lua mode.

#include "shell/commands.hpp"
#include "shell/lua_api.hpp"

#include <string>

namespace fusion::shell {

/// Reads commands at a prompt until end of input or `quit`; keeps history in `history_file`
/// ("" = none). Returns 0 if the last command succeeded, 1 otherwise.
int run_repl(commands& cmds, const std::string& history_file);

/// Reads Lua at a prompt; returns 1 if a check failed, 0 otherwise.
int run_lua_repl(commands& cmds, lua_session& lua, const std::string& history_file);

}  // namespace fusion::shell
