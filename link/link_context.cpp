#include "link/link_context.hpp"

#include "runtime/logging.hpp"

namespace fusion::link {

handshake_config link_context::handshake_settings(std::optional<public_key> expected_peer) const {
  handshake_config cfg;
  cfg.deadline = settings.handshake_deadline;
  cfg.expected_peer = std::move(expected_peer);
  cfg.max_frame = settings.max_frame;
  cfg.batch_bytes = settings.batch_bytes;
  return cfg;
}

link_settings settings_of(const runtime::link_config& lc) {
  link_settings s;
  s.max_frame = lc.max_frame_bytes;
  s.heartbeat = std::chrono::milliseconds{lc.heartbeat_ms};
  s.dead_after = std::chrono::milliseconds{lc.dead_after_ms};
  s.handshake_deadline = std::chrono::milliseconds{lc.handshake_timeout_ms};
  s.dial_timeout = std::chrono::milliseconds{lc.dial_timeout_ms};
  s.max_send_buffer = static_cast<std::size_t>(lc.max_send_buffer_bytes);
  return s;
}

std::shared_ptr<const link_context> make_link_context(identity me, trust trusted,
                                                      link_settings settings) {
  return std::make_shared<const link_context>(link_context{std::move(me), std::move(trusted),
                                                           settings, runtime::logger("link"),
                                                           std::make_shared<link_counters>()});
}

}  // namespace fusion::link
