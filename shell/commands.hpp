#pragma once
// The commands of fusion-shell (docs/shell.md): parsing a command line into words, running a
// command over the operations, printing its result as text or (--json) as one JSON line,
// `help`, and what tab completion offers after the words typed so far.

#include "shell/operations.hpp"

#include <caf/expected.hpp>

#include <ostream>
#include <string>
#include <vector>

namespace fusion::shell {

/// Splits a command line into words: blanks separate, "..." and '...' quote, a backslash
/// escapes the next character. Errors name an unterminated quote.
caf::expected<std::vector<std::string>> split_words(const std::string& line);

/// Names of every command, sorted.
const std::vector<std::string>& command_names();

/// The help text of `command` ("" = the list of every command).
std::string help_text(const std::string& command);

/// Runs commands over one set of operations.
class commands {
 public:
  explicit commands(operations& ops) : ops_(ops) {}

  /// Runs one command line; prints results on `out` and errors on `err`. Returns 0 if it
  /// succeeded, 1 if it failed (an empty line succeeds).
  int run(const std::string& line, std::ostream& out, std::ostream& err);
  int run(const std::vector<std::string>& words, std::ostream& out, std::ostream& err);

  /// Whether `quit` or `exit` was run.
  bool quit_requested() const { return quit_; }

  /// Completions of `partial`, the word being typed after `before`: commands first, then
  /// actor names, message names, field names of the message named, service names.
  std::vector<std::string> complete(const std::vector<std::string>& before,
                                    const std::string& partial);

 private:
  int watch(std::vector<std::string> args, bool json, std::ostream& out, std::ostream& err);

  operations& ops_;
  bool quit_ = false;
  std::vector<std::string> service_cache_;
};

}  // namespace fusion::shell
