#pragma once
// The fusion-bench library: subcommands that measure and print figures, one JSON object per
// line and per figure (STYLE 16: benchmarks print, they do not assert on time). Shared
// measurements live here so every benchmark can print the raw CAF rate next to its own.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace fusion::bench {

/// Options common to every subcommand, parsed from `--key value` / `--key=value` pairs.
struct options {
  size_t iterations = 0;                     ///< --iterations N; 0 = the subcommand's default.
  std::map<std::string, std::string> extra;  ///< Every other --key value, for the subcommand.

  /// `iterations` if given, else `fallback`.
  size_t iterations_or(size_t fallback) const { return iterations > 0 ? iterations : fallback; }
};

/// One configuration value printed next to a figure.
using config_value = std::variant<int64_t, double, std::string>;

/// Prints one figure as a JSON line: {"bench", "figure", "value", "unit", config..., "cores"}.
void print_figure(std::string_view bench, std::string_view figure, double value,
                  std::string_view unit,
                  const std::vector<std::pair<std::string, config_value>>& config = {});

/// Raw in-process request/response rate between two CAF actors: `n` int requests with at
/// most `window` in flight, scheduler sized to `threads`. The physical limit later
/// benchmarks are compared against (DESIGN §6).
double measure_caf_request_response_per_s(size_t n, size_t window = 64, size_t threads = 2);

/// A fusion-bench subcommand.
struct subcommand {
  const char* name;                 ///< As typed: `fusion-bench <name>`.
  const char* help;                 ///< One line for --help.
  int (*run)(const options& opts);  ///< Returns the process exit code.
};

// Every subcommand's entry point, declared from the table.
#define FUSION_BENCH(name, help) int run_##name(const options& opts);
#include "tests/bench/subcommands.def"
#undef FUSION_BENCH

/// All subcommands, in table order.
const std::vector<subcommand>& subcommands();

/// Parses `--iterations N`, `--key value` and `--key=value` arguments; false + `error` on
/// malformed input (unknown positional argument, missing value, bad number).
bool parse_options(int argc, char** argv, options& out, std::string& error);

/// The whole fusion-bench command line: `fusion-bench <subcommand> [options]`, `list`,
/// `--help`. Returns the exit code.
int main(int argc, char** argv);

}  // namespace fusion::bench
