#pragma once
// A Lua 5.4 sandbox (docs/shell.md, "Lua sandbox"): one lua_State with a memory budget (an
// allocator that refuses past it) and an instruction budget per call (a count hook that
// stops the script), opened with the safe libraries only — base without dofile, loadfile
// and binary chunks; string, table, math, utf8; os.clock/os.time/os.date. No io, os.execute,
// package/require or debug unless the host adds its own functions. Service evaluators
// (actors/evaluator/lua_evaluator.hpp), monitoring aggregation scripts and fusion-shell
// scripts all run in one. Never throws: every failure comes back as a caf::error
// (errc::invalid_argument) whose text says what to fix, with the script's line.

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct lua_State;
struct lua_Debug;

namespace fusion::scripting {

/// What one script may use.
struct budget {
  uint64_t instructions = 10'000'000;  ///< VM instructions per call (load or call); 0 = no limit.
  size_t memory_bytes = 16u << 20;     ///< Bytes the whole state may hold.
};

/// Why the last load or call failed.
enum class failure : uint8_t {
  none = 0,
  syntax = 1,        ///< The chunk does not compile.
  runtime = 2,       ///< The script raised an error (or a host function did).
  instructions = 3,  ///< It ran out of its instruction budget.
  memory = 4,        ///< It ran out of its memory budget.
};

/// One sandboxed Lua state. Not thread-safe: one owner (an actor, or the shell's thread).
class sandbox {
 public:
  explicit sandbox(budget b = {});
  ~sandbox();
  sandbox(const sandbox&) = delete;
  sandbox& operator=(const sandbox&) = delete;

  /// The state, for pushing arguments, reading results and registering host functions.
  lua_State* state() const { return L_; }
  /// Whether the state could be created (false only when even the base libraries did not
  /// fit the memory budget).
  bool valid() const { return L_ != nullptr; }

  /// Compiles and runs `source` (text only) as chunk `name` ("nearest.lua"), under the
  /// instruction budget. Errors say "nearest.lua:7: ..." for syntax and runtime errors.
  caf::error run(std::string_view name, std::string_view source);

  /// Reads the file at `path` and runs it (chunk name = the file's base name).
  caf::error run_file(const std::string& path);

  /// Calls the function on the stack below its `nargs` arguments, under a fresh instruction
  /// budget, leaving `nresults` results (lua_pcall semantics). On failure the function and
  /// arguments are popped and nothing is pushed.
  caf::error call(int nargs, int nresults);

  /// Why the last run/call failed (failure::none after a success).
  failure last_failure() const { return last_; }
  /// Instructions the last run/call executed (a multiple of the hook's period).
  uint64_t instructions_used() const { return used_; }
  /// Bytes the state holds now.
  size_t memory_used() const { return mem_; }
  const budget& limits() const { return budget_; }

 private:
  static void* alloc(void* ud, void* ptr, size_t osize, size_t nsize);
  static void hook(lua_State* L, lua_Debug* ar);
  /// `chunk`: named in a budget's error ("" for a call: the caller knows what it called).
  caf::error protected_call(std::string_view chunk, int nargs, int nresults);

  budget budget_;
  lua_State* L_ = nullptr;
  size_t mem_ = 0;
  uint64_t used_ = 0;
  bool out_of_memory_ = false;
  failure last_ = failure::none;
};

/// The sandbox that owns `L` (the one whose state() it is).
sandbox& owner_of(lua_State* L);

/// A fresh sandbox under `limits` with `source` run in it as chunk `name`, checked to define
/// the global function `entry`; or errc::invalid_config saying what is wrong, for the caller
/// to prefix with what the script is: a syntax error with its line, a budget exceeded while
/// loading, no such function (`signature` shows how it should look: "evaluate(zone, ...)").
caf::expected<std::unique_ptr<sandbox>> load_script(std::string_view name, std::string_view source,
                                                    budget limits, const char* entry,
                                                    std::string_view signature);

}  // namespace fusion::scripting
