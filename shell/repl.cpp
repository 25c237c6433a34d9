#include "shell/repl.hpp"

#include "protocols/errc.hpp"

#include <editline/readline.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

namespace fusion::shell {

namespace {

commands* completing = nullptr;    // the commands completion asks (one REPL at a time)
std::vector<std::string> matches;  // candidates of the word being completed

char* next_match(const char*, int state) {
  static size_t i = 0;
  if (state == 0) i = 0;
  if (i >= matches.size()) return nullptr;
  return strdup(matches[i++].c_str());
}

char** complete(const char* text, int start, int) {
  rl_attempted_completion_over = 1;  // never fall back to file names
  if (!completing) return nullptr;
  std::string before{rl_line_buffer, static_cast<size_t>(start)};
  auto words = split_words(before);
  matches = words ? completing->complete(*words, text) : std::vector<std::string>{};
  if (matches.empty()) return nullptr;
  // "field=" waits for its value: no space after it.
  bool all_fields = true;
  for (const auto& m : matches) all_fields = all_fields && !m.empty() && m.back() == '=';
  rl_completion_append_character = all_fields ? '\0' : ' ';
  return rl_completion_matches(text, next_match);
}

std::string history_path(const std::string& given) {
  if (!given.empty()) return given;
  const char* home = std::getenv("HOME");
  return home ? std::string{home} + "/.fusion_shell_history" : std::string{};
}

// One line at `prompt`, or false at end of input.
bool read_line(const char* prompt, std::string& line) {
  char* raw = readline(prompt);
  if (!raw) return false;
  line = raw;
  std::free(raw);
  return true;
}

void remember(const std::string& line, const std::string& path) {
  if (line.find_first_not_of(" \t") == std::string::npos) return;
  add_history(line.c_str());
  if (!path.empty()) write_history(path.c_str());
}

}  // namespace

int run_repl(commands& cmds, const std::string& history_file) {
  auto path = history_path(history_file);
  completing = &cmds;
  rl_attempted_completion_function = complete;
  rl_basic_word_break_characters = const_cast<char*>(" \t");
  if (!path.empty()) read_history(path.c_str());
  std::cout << "fusion-shell " << FUSION_VERSION << ": 'help' lists the commands, 'quit' leaves."
            << std::endl;
  int status = 0;
  std::string line;
  while (!cmds.quit_requested() && read_line("fusion> ", line)) {
    remember(line, path);
    status = cmds.run(line, std::cout, std::cout);
    std::cout.flush();
  }
  completing = nullptr;
  return status;
}

int run_lua_repl(commands& cmds, lua_session& lua, const std::string& history_file) {
  auto path = history_path(history_file);
  completing = &cmds;
  rl_attempted_completion_function = complete;
  if (!path.empty()) read_history(path.c_str());
  std::cout << "fusion-shell " << FUSION_VERSION
            << " Lua: the table 'fusion' holds the operations; end of input leaves." << std::endl;
  std::string line;
  while (read_line("lua> ", line)) {
    remember(line, path);
    if (auto err = lua.run_line(line)) std::cout << "error: " << describe(err) << std::endl;
  }
  completing = nullptr;
  return lua.failed_checks() > 0 ? 1 : 0;
}

}  // namespace fusion::shell
