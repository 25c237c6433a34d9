// fusion-bench registrar: durable registrations per second (issue 7's goal: >= 5,000/s on
// 2 cores). Every registration is acknowledged only after its transaction committed with
// synchronous=FULL in WAL mode, into a data folder on disk; 100 providers register
// concurrently so the registrar's store writer can commit many in one transaction (group
// commit). The same run prints the rate with one registration in flight and the fsyncs per
// second of the disk, the two references the grouped figure is read against.

#include "actors/domain/registrar.hpp"
#include "protocols/all_messages.hpp"
#include "protocols/registry.hpp"
#include "runtime/directory.hpp"
#include "runtime/logging.hpp"
#include "tests/bench/bench.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <fcntl.h>
#include <unistd.h>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>

namespace fusion::bench {

namespace {

using namespace protocols;

std::string manifest_of(const std::string& provider, size_t i) {
  return "general:\n  name: fusion://" + provider + "/service-" + std::to_string(i) +
         "\n  version: '1'\ndeployment:\n  hardware:\n    cpu_cores: 1\n    memory_mb: 256\n";
}

struct provider_state {
  provider_state() = default;
  registrar_actor registrar;
  principal who;
  size_t total = 0;
  size_t sent = 0;
  size_t failed = 0;
  caf::actor report;
  std::string first_error;
  static inline const char* name = "registrar-bench-provider";
};

using provider_ptr = caf::stateful_actor<provider_state>*;

// Registers `total` services, one at a time, then reports (failed, first error).
void register_next(provider_ptr self) {
  auto& st = self->state;
  if (st.sent == st.total) {
    self->send(st.report, st.failed, st.first_error);
    self->quit();
    return;
  }
  auto yaml = manifest_of(st.who.name, st.sent++);
  self->request(st.registrar, std::chrono::seconds(60), register_service{st.who, std::move(yaml)})
      .then([self](const register_service_reply&) { register_next(self); },
            [self](caf::error& e) {
              if (self->state.failed++ == 0) self->state.first_error = describe(e);
              register_next(self);
            });
}

caf::behavior provider(provider_ptr self, registrar_actor registrar, std::string name, size_t total,
                       caf::actor report) {
  auto& st = self->state;
  st.registrar = std::move(registrar);
  st.who = principal{std::move(name), role::service_provider};
  st.total = total;
  st.report = std::move(report);
  register_next(self);
  return {[](caf::unit_t) {}};
}

struct run_result {
  double per_s = 0;
  size_t failed = 0;
  std::string first_error;
};

// `providers` providers each register `each` services into a registrar whose store is
// `db_path`; the rate counts from the first request to the last acknowledgement.
run_result measure(const std::string& db_path, const std::string& tag, size_t providers,
                   size_t each, size_t threads) {
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", threads);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  message_registry::instance().add_message_types(cfg);
  caf::actor_system sys{cfg};
  run_result res;
  {
    auto dir = std::make_shared<runtime::directory>();
    domain::registrar_config rc;
    rc.db_path = db_path;
    auto registrar = domain::spawn_registrar(sys, rc, dir);
    caf::scoped_actor self{sys};
    auto start = std::chrono::steady_clock::now();
    for (size_t p = 0; p < providers; ++p)
      sys.spawn(provider, registrar, tag + "-" + std::to_string(p), each,
                caf::actor_cast<caf::actor>(self));
    for (size_t p = 0; p < providers; ++p)
      self->receive([&](size_t failed, const std::string& why) {
        res.failed += failed;
        if (res.first_error.empty()) res.first_error = why;
      });
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    res.per_s = static_cast<double>(providers * each) / secs;
    caf::anon_send_exit(registrar, caf::exit_reason::user_shutdown);
    dir->clear();
  }
  return res;
}

// fsync()s per second of a 4 KiB rewrite of one file in `folder`, for about a second: what
// one durable commit at a time can reach on this disk.
double measure_fsyncs_per_s(const std::string& folder) {
  auto path = folder + "/fsync-probe";
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
  if (fd < 0) return 0;
  std::string page(4096, 'x');
  size_t n = 0;
  auto start = std::chrono::steady_clock::now();
  double secs = 0;
  while (secs < 1.0) {
    if (::pwrite(fd, page.data(), page.size(), 0) < 0 || ::fsync(fd) != 0) break;
    ++n;
    secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  ::close(fd);
  ::unlink(path.c_str());
  return secs > 0 ? static_cast<double>(n) / secs : 0;
}

}  // namespace

void options_registrar(po::options_description& desc) {
  desc.add_options()("registrations", count_option(20'000, "registrations"),
                     "durable registrations measured with --providers in flight")(
      "providers", count_option(100, "providers"), "providers registering concurrently")(
      "single", count_option(1'000, "single"),
      "registrations measured with one in flight (registrations_per_s_single)")(
      "threads", count_option(2, "threads"), "scheduler threads")(
      "data-dir", po::value<std::string>()->default_value(""),
      "folder on disk for the store (default: a new folder under $TMPDIR or /var/tmp, "
      "removed afterwards)");
}

int run_registrar(const po::variables_map& vm) {
  const auto registrations = vm["registrations"].as<size_t>();
  const auto providers = std::min(vm["providers"].as<size_t>(), registrations);
  const auto single = vm["single"].as<size_t>();
  const auto threads = vm["threads"].as<size_t>();
  // Only errors: the registrar logs every registration at info.
  if (auto err = runtime::setup_logging(runtime::log_config{"error", "text", ""})) {
    std::cerr << "fusion-bench registrar: " << describe(err) << "\n";
    return 1;
  }
  std::string folder = vm["data-dir"].as<std::string>();
  bool remove = false;
  if (folder.empty()) {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string{base != nullptr ? base : "/var/tmp"} + "/fusion-bench-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::cerr << "fusion-bench registrar: cannot create a folder under "
                << tmpl.substr(0, tmpl.rfind('/')) << "; pass --data-dir\n";
      return 1;
    }
    folder = tmpl;
    remove = true;
  }
  auto each = registrations / providers;
  auto grouped = measure(folder + "/grouped.db", "provider", providers, each, threads);
  auto one = measure(folder + "/single.db", "single", 1, single, threads);
  auto fsyncs = measure_fsyncs_per_s(folder);
  if (remove) std::filesystem::remove_all(folder);
  const std::vector<std::pair<std::string, config_value>> durable = {
      {"synchronous", std::string{"FULL"}},
      {"journal", std::string{"WAL"}},
      {"acknowledged", std::string{"after commit"}},
      {"threads", static_cast<int64_t>(threads)}};
  auto with = [&](std::vector<std::pair<std::string, config_value>> extra) {
    extra.insert(extra.end(), durable.begin(), durable.end());
    return extra;
  };
  print_figure("registrar", "registrations_per_s", grouped.per_s, "registrations/s",
               with({{"registrations", static_cast<int64_t>(each * providers)},
                     {"in_flight", static_cast<int64_t>(providers)}}));
  print_figure("registrar", "registrations_per_s_single", one.per_s, "registrations/s",
               with({{"registrations", static_cast<int64_t>(single)}, {"in_flight", int64_t{1}}}));
  print_figure("registrar", "fsyncs_per_s", fsyncs, "fsyncs/s",
               {{"write", std::string{"4 KiB pwrite + fsync, one file"}}});
  print_figure("registrar", "failed_registrations",
               static_cast<double>(grouped.failed + one.failed), "registrations");
  if (grouped.failed + one.failed > 0) {
    std::cerr << "fusion-bench registrar: " << grouped.failed + one.failed
              << " registrations failed, the first: "
              << (grouped.first_error.empty() ? one.first_error : grouped.first_error) << "\n";
    return 1;
  }
  return 0;
}

}  // namespace fusion::bench
