#include "tests/bench/bench.hpp"

#include "runtime/cli.hpp"

#include <nlohmann/json.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <boost/program_options/parsers.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

namespace fusion::bench {

namespace {

/// Tells the waiting benchmark that a request failed.
using rr_failed_atom = caf::atom_constant<caf::atom("rr_failed")>;

// Minimal JSON string escaping for names and configuration strings.
std::string json_string(std::string_view s) {
  return nlohmann::json(std::string{s})
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string json_number(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

struct rr_client_state {
  rr_client_state() = default;
  caf::actor server;
  caf::actor done;
  size_t n = 0;
  size_t sent = 0;
  size_t received = 0;
};

using rr_client_ptr = caf::stateful_actor<rr_client_state>*;

// Sends the next request; its answer sends the one after (a free function, so no closure
// has to refer to itself).
void rr_send(rr_client_ptr self) {
  auto& st = self->state;
  ++st.sent;
  self->request(st.server, caf::infinite, static_cast<int32_t>(st.sent))
      .then(
          [self](int32_t) {
            auto& s = self->state;
            if (++s.received == s.n) {
              self->send(s.done, caf::ok_atom::value);
              self->quit();
            } else if (s.sent < s.n) {
              rr_send(self);
            }
          },
          [self](caf::error&) {
            self->send(self->state.done, rr_failed_atom::value);
            self->quit();
          });
}

// Keeps `window` int requests in flight to `server` until `n` answers came back, then tells
// `done`.
caf::behavior rr_client(rr_client_ptr self, caf::actor server, caf::actor done, size_t n,
                        size_t window) {
  self->state.server = std::move(server);
  self->state.done = std::move(done);
  self->state.n = n;
  for (size_t i = 0; i < std::min(window, n); ++i) rr_send(self);
  return {[](int32_t) {}};
}

}  // namespace

void print_figure(std::string_view bench, std::string_view figure, double value,
                  std::string_view unit,
                  const std::vector<std::pair<std::string, config_value>>& config) {
  std::string line = "{\"bench\": " + json_string(bench) + ", \"figure\": " + json_string(figure) +
                     ", \"value\": " + json_number(value) + ", \"unit\": " + json_string(unit);
  for (const auto& [key, val] : config) {
    line += ", " + json_string(key) + ": ";
    if (auto i = std::get_if<int64_t>(&val))
      line += std::to_string(*i);
    else if (auto d = std::get_if<double>(&val))
      line += json_number(*d);
    else
      line += json_string(std::get<std::string>(val));
  }
  line += ", \"cores\": " + std::to_string(std::thread::hardware_concurrency()) + "}";
  std::cout << line << std::endl;
}

double measure_caf_request_response_per_s(size_t n, size_t window, size_t threads) {
  if (n == 0) return 0;
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", threads);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto server = sys.spawn([]() -> caf::behavior { return {[](int32_t x) { return x; }}; });
  caf::scoped_actor self{sys};
  auto start = std::chrono::steady_clock::now();
  sys.spawn(rr_client, server, caf::actor{self}, n, window);
  bool ok = false;
  self->receive([&](caf::ok_atom) { ok = true; }, [&](rr_failed_atom) { ok = false; });
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  self->send_exit(server, caf::exit_reason::user_shutdown);
  return ok && secs > 0 ? static_cast<double>(n) / secs : 0.0;
}

const std::vector<subcommand>& subcommands() {
  static const std::vector<subcommand> table{
#define FUSION_BENCH(name, help) subcommand{#name, help, &options_##name, &run_##name, false},
#define FUSION_BENCH_HIDDEN(name, help) subcommand{#name, help, &options_##name, &run_##name, true},
#include "tests/bench/subcommands.def"
#undef FUSION_BENCH_HIDDEN
#undef FUSION_BENCH
  };
  return table;
}

double cpu_seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

po::typed_value<size_t>* count_option(size_t fallback, const char* name) {
  return cli::unsigned_value<size_t>()->default_value(fallback)->notifier([name](size_t v) {
    if (v == 0 || v > 1'000'000'000)
      throw po::error(std::string{"--"} + name + " must be between 1 and 1000000000");
  });
}

namespace {

po::options_description describe(const subcommand& cmd) {
  po::options_description desc{std::string{"fusion-bench "} + cmd.name + " options"};
  desc.add_options()("help,h", "print this help");
  cmd.declare(desc);
  return desc;
}

void usage(std::ostream& os) {
  os << "usage: fusion-bench <subcommand> [--option value ...]\n"
        "       fusion-bench list | --help | <subcommand> --help\n"
        "Prints one JSON object per line and per figure.\n\nsubcommands:\n";
  for (const auto& s : subcommands())
    if (!s.hidden) os << "  " << s.name << "  " << s.help << "\n";
}

}  // namespace

po::variables_map parse_options(const subcommand& cmd, int argc, char** argv) {
  auto desc = describe(cmd);
  po::variables_map vm;
  po::positional_options_description none;  // a stray word is an error, not ignored
  po::store(po::command_line_parser(argc, argv).options(desc).positional(none).run(), vm);
  po::notify(vm);
  return vm;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(std::cerr);
    return 2;
  }
  std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    usage(std::cout);
    return 0;
  }
  if (cmd == "list") {
    for (const auto& s : subcommands())
      if (!s.hidden) std::cout << s.name << "\n";
    return 0;
  }
  for (const auto& s : subcommands()) {
    if (cmd != s.name) continue;
    po::variables_map vm;
    try {
      vm = parse_options(s, argc - 1, argv + 1);  // argv[1], the subcommand, is skipped
    } catch (const po::error& e) {
      std::cerr << "fusion-bench " << cmd << ": " << e.what() << "\n" << describe(s);
      return 2;
    }
    if (vm.count("help") > 0) {
      std::cout << s.help << "\n\n" << describe(s);
      return 0;
    }
    return s.run(vm);
  }
  std::cerr << "fusion-bench: unknown subcommand '" << cmd << "'; try 'fusion-bench list'\n";
  return 2;
}

void print_caf_request_response(std::string_view bench, size_t n, size_t window, size_t threads) {
  print_figure(bench, "caf_request_response_per_s",
               measure_caf_request_response_per_s(n, window, threads), "req/s",
               {{"iterations", static_cast<int64_t>(n)},
                {"in_flight", static_cast<int64_t>(window)},
                {"scheduler_threads", static_cast<int64_t>(threads)}});
}

}  // namespace fusion::bench
