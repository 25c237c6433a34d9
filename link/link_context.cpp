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

std::shared_ptr<const link_context> make_link_context(identity me, trust trusted,
                                                      link_settings settings) {
  return std::make_shared<const link_context>(link_context{std::move(me), std::move(trusted),
                                                           settings, runtime::logger("link"),
                                                           std::make_shared<link_counters>()});
}

}  // namespace fusion::link
