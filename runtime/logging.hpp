#pragma once
// Process-wide logging: one spdlog logger per component ("registrar", "zone/edge-1"), all
// writing through one shared sink (stderr or a file) in text or JSON-lines format, at the
// level the node config asks for.

#include "runtime/config.hpp"

#include <caf/error.hpp>

#include <spdlog/logger.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace fusion::runtime {

/// The logger of `component`, created on first use with the current sink and level.
/// Thread-safe; cheap enough to call once per actor at spawn and keep the pointer.
std::shared_ptr<spdlog::logger> logger(const std::string& component);

/// Whether the `count`th occurrence of a repeated problem (a dropped report, an unknown
/// session) is logged: the first, then every 1,000th, so that a misbehaving sender cannot
/// flood the log. The count itself is kept and shown by the actor.
inline bool log_occurrence(uint64_t count) {
  return count == 1 || count % 1000 == 0;
}

/// Points every logger (existing and future) at the sink, format and level of `cfg`.
/// Called once by the node before actors start; errors (bad level, unwritable file) are
/// errc::invalid_config and leave the previous setup in place.
caf::error setup_logging(const log_config& cfg);

/// Writes buffered log lines out (before exit, or before a test reads the log file).
void flush_logs();

/// Maps a config level name ("warn") to spdlog's level; false if unknown.
bool parse_log_level(std::string_view name, spdlog::level::level_enum& out);

/// Escapes `s` for use inside a JSON string literal (quotes, backslashes, control bytes).
std::string json_escape(std::string_view s);

}  // namespace fusion::runtime
