#pragma once
// The fusion-bench library: subcommands that measure and print figures, one JSON object per
// line and per figure (STYLE 16: benchmarks print, they do not assert on time). Shared
// measurements live here so every benchmark can print the raw CAF rate next to its own.

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/variables_map.hpp>

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace fusion::bench {

namespace po = boost::program_options;

/// A count option with a default that must be between 1 and 10^9 (Boost alone would accept
/// "-1" for an unsigned type and wrap it).
po::typed_value<size_t>* count_option(size_t fallback, const char* name);

/// CPU seconds used so far by the clock's subject: CLOCK_THREAD_CPUTIME_ID (this thread) or
/// CLOCK_PROCESS_CPUTIME_ID (every thread of the process, user and system). On a shared
/// machine wall time includes other load; CPU time does not.
double cpu_seconds(clockid_t clock);

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

/// Measures the raw CAF request/response rate (above) and prints it as benchmark `bench`'s
/// `caf_request_response_per_s`, with its iterations, window and threads.
void print_caf_request_response(std::string_view bench, size_t n, size_t window = 64,
                                size_t threads = 2);

/// A fusion-bench subcommand.
struct subcommand {
  const char* name;                           ///< As typed: `fusion-bench <name>`.
  const char* help;                           ///< One line for --help.
  void (*declare)(po::options_description&);  ///< Adds the subcommand's options.
  int (*run)(const po::variables_map&);       ///< Returns the process exit code.
  bool hidden = false;  ///< Internal (a bench's peer process): runs, but is not listed.
};

// Every subcommand's options and entry point, declared from the table.
#define FUSION_BENCH(name, help)                 \
  void options_##name(po::options_description&); \
  int run_##name(const po::variables_map&);
#define FUSION_BENCH_HIDDEN(name, help) FUSION_BENCH(name, help)
#include "tests/bench/subcommands.def"
#undef FUSION_BENCH_HIDDEN
#undef FUSION_BENCH

/// All subcommands, hidden ones included, in table order.
const std::vector<subcommand>& subcommands();

/// Parses a subcommand's arguments (`--key value` or `--key=value`, after argv[0], which is
/// skipped) against its declared options; an unknown option, a missing value or a malformed number
/// is an error that names the option.
po::variables_map parse_options(const subcommand& cmd, int argc, char** argv);

/// The whole fusion-bench command line: `fusion-bench <subcommand> [options]`, `list`,
/// `--help`. Returns the exit code.
int main(int argc, char** argv);

}  // namespace fusion::bench
