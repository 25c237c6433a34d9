#pragma once
// fusion-shell's Lua API (docs/shell.md, "Lua API"): a table `fusion` in a sandbox
// (scripting/sandbox.hpp) exposing the shell's operations — fusion.request, fusion.send,
// fusion.services, fusion.deploy, ..., waits with timeouts and fusion.check — so a script can
// build a scenario and exit non-zero when a check fails. Files and processes are out of reach
// unless the operator allows them (io and the whole os library then).

#include "shell/operations.hpp"

#include "scripting/sandbox.hpp"

#include <caf/error.hpp>

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>

namespace fusion::shell {

/// What a script may use.
struct lua_options {
  uint64_t instructions = 100'000'000;  ///< VM instructions per chunk; 0 = no limit.
  size_t memory_bytes = 64u << 20;      ///< Bytes the Lua state may hold.
  bool allow_files = false;             ///< Open io and the whole os library.
};

/// A Lua state with the `fusion` table, over one set of operations.
class lua_session {
 public:
  lua_session(operations& ops, const lua_options& opts, std::ostream& out, std::ostream& err);
  ~lua_session();
  lua_session(const lua_session&) = delete;
  lua_session& operator=(const lua_session&) = delete;

  /// Runs the script file at `path`; errors carry the script's line.
  caf::error run_file(const std::string& path);
  /// Runs one interactive line: as an expression whose values are printed if it is one,
  /// as a statement otherwise.
  caf::error run_line(const std::string& line);

  /// Checks (fusion.check) that failed so far.
  uint32_t failed_checks() const;

  /// What the host functions share (defined in lua_api.cpp).
  struct state;

 private:
  std::unique_ptr<state> st_;
};

/// Runs the script at `path`; prints errors on `err`. Returns the exit code: 0 if it ran to
/// the end with every check passing, 1 if a check failed or the script raised an error (a
/// syntax error, its line shown) or ran out of its budget.
int run_script(operations& ops, const std::string& path, const lua_options& opts, std::ostream& out,
               std::ostream& err);

}  // namespace fusion::shell
