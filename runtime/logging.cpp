#include "runtime/logging.hpp"

#include "protocols/errc.hpp"

#include <spdlog/formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <fmt/format.h>

#include <ctime>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

namespace fusion::runtime {

namespace {

constexpr std::string_view level_name(spdlog::level::level_enum lvl) {
  switch (lvl) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

// ISO 8601 in UTC with milliseconds: "2026-11-29T20:30:00.123Z".
std::string utc_timestamp(spdlog::log_clock::time_point tp) {
  using namespace std::chrono;
  auto since_epoch = tp.time_since_epoch();
  auto secs = duration_cast<seconds>(since_epoch);
  auto ms = duration_cast<milliseconds>(since_epoch - secs).count();
  std::time_t t = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

// One JSON object per line: {"ts":...,"level":...,"component":...,"msg":...}. Timestamps
// are UTC with milliseconds; component and message are escaped, so any payload stays on
// one line and parses.
class json_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    fmt::format_to(std::back_inserter(dest),
                   R"({{"ts":"{}","level":"{}",)"
                   R"("component":"{}","msg":"{}"}})"
                   "\n",
                   utc_timestamp(msg.time), level_name(msg.level),
                   json_escape({msg.logger_name.data(), msg.logger_name.size()}),
                   json_escape({msg.payload.data(), msg.payload.size()}));
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>();
  }
};

// Text lines for people: "2026-11-29T20:30:00.123Z info registrar: message".
class text_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    fmt::format_to(std::back_inserter(dest), "{} {} {}: {}\n", utc_timestamp(msg.time),
                   level_name(msg.level), msg.logger_name, msg.payload);
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<text_formatter>();
  }
};

struct log_state {
  std::mutex mtx;
  spdlog::sink_ptr sink;
  spdlog::level::level_enum level = spdlog::level::info;
  std::map<std::string, std::shared_ptr<spdlog::logger>> loggers;

  log_state() {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    sink->set_formatter(std::make_unique<text_formatter>());
  }
};

log_state& state() {
  static log_state instance;
  return instance;
}

}  // namespace

std::string json_escape(std::string_view s) {
  // nlohmann-json does the escaping (control bytes as \u00XX, invalid UTF-8 replaced).
  auto quoted =
      nlohmann::json(std::string{s}).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return quoted.substr(1, quoted.size() - 2);
}

bool parse_log_level(std::string_view name, spdlog::level::level_enum& out) {
  static constexpr std::pair<std::string_view, spdlog::level::level_enum> table[] = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
      {"error", spdlog::level::err},   {"off", spdlog::level::off},
  };
  for (const auto& [n, lvl] : table)
    if (n == name) {
      out = lvl;
      return true;
    }
  return false;
}

std::shared_ptr<spdlog::logger> logger(const std::string& component) {
  auto& st = state();
  std::lock_guard<std::mutex> guard{st.mtx};
  auto& lg = st.loggers[component];
  if (!lg) {
    lg = std::make_shared<spdlog::logger>(component, st.sink);
    lg->set_level(st.level);
    lg->flush_on(spdlog::level::warn);
  }
  return lg;
}

caf::error setup_logging(const log_config& cfg) {
  spdlog::level::level_enum level;
  if (!parse_log_level(cfg.level, level))
    return make_error(errc::invalid_config,
                      "log.level: expected trace, debug, info, warn, "
                      "error or off, found \"" +
                          cfg.level + "\"");
  std::unique_ptr<spdlog::formatter> fmt;
  if (cfg.format == "json")
    fmt = std::make_unique<json_formatter>();
  else if (cfg.format == "text")
    fmt = std::make_unique<text_formatter>();
  else
    return make_error(errc::invalid_config,
                      "log.format: expected \"text\" or \"json\", found \"" + cfg.format + "\"");
  spdlog::sink_ptr sink;
  if (cfg.file.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    try {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(cfg.file);
    } catch (const std::exception& e) {
      return make_error(errc::invalid_config, "log.file: cannot open \"" + cfg.file +
                                                  "\" for appending (" + e.what() + ")");
    }
  }
  sink->set_formatter(std::move(fmt));
  auto& st = state();
  std::lock_guard<std::mutex> guard{st.mtx};
  st.sink->flush();
  st.sink = sink;
  st.level = level;
  for (auto& [name, lg] : st.loggers) {
    lg->sinks().assign(1, sink);
    lg->set_level(level);
  }
  return {};
}

void flush_logs() {
  auto& st = state();
  std::lock_guard<std::mutex> guard{st.mtx};
  st.sink->flush();
}

}  // namespace fusion::runtime
