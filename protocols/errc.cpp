#include "protocols/errc.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace fusion {

std::string_view to_string(errc x) {
  switch (x) {
    case errc::malformed_frame:
      return "malformed_frame";
    case errc::frame_too_large:
      return "frame_too_large";
    case errc::unknown_message_type:
      return "unknown_message_type";
    case errc::unsupported_version:
      return "unsupported_version";
    case errc::invalid_config:
      return "invalid_config";
    case errc::invalid_manifest:
      return "invalid_manifest";
    case errc::unknown_service:
      return "unknown_service";
    case errc::duplicate_service:
      return "duplicate_service";
    case errc::not_authorized:
      return "not_authorized";
    case errc::unknown_zone:
      return "unknown_zone";
    case errc::duplicate_zone:
      return "duplicate_zone";
    case errc::no_feasible_zone:
      return "no_feasible_zone";
    case errc::offer_declined:
      return "offer_declined";
    case errc::offer_expired:
      return "offer_expired";
    case errc::insufficient_capacity:
      return "insufficient_capacity";
    case errc::evaluator_unavailable:
      return "evaluator_unavailable";
    case errc::deadline_exceeded:
      return "deadline_exceeded";
    case errc::unknown_instance:
      return "unknown_instance";
    case errc::invalid_state:
      return "invalid_state";
    case errc::no_session_slots:
      return "no_session_slots";
    case errc::storage_failure:
      return "storage_failure";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::decode_budget_exceeded:
      return "decode_budget_exceeded";
    case errc::deployment_failed:
      return "deployment_failed";
    case errc::peer_unreachable:
      return "peer_unreachable";
    case errc::unknown_actor:
      return "unknown_actor";
  }
  return "unknown_error";
}

std::string reason_of(const caf::error& e) {
  const auto& ctx = e.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0)) return ctx.get_as<std::string>(0);
  return {};
}

void add_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(errc_category,
                         [](uint8_t code, caf::atom_value, const caf::message& ctx) -> std::string {
                           std::string out = "fusion::";
                           out += to_string(static_cast<errc>(code));
                           if (ctx.size() == 1 && ctx.match_element<std::string>(0)) {
                             out += ": ";
                             out += ctx.get_as<std::string>(0);
                           } else if (!ctx.empty()) {
                             out += ": ";
                             out += caf::to_string(ctx);
                           }
                           return out;
                         });
}

std::string describe(const caf::error& e) {
  if (!e) return "ok";
  if (e.category() == errc_category) {
    std::string out{to_string(static_cast<errc>(e.code()))};
    if (auto why = reason_of(e); !why.empty()) out += ": " + why;
    return out;
  }
  if (e.category() == caf::atom("system")) return caf::to_string(static_cast<caf::sec>(e.code()));
  return caf::to_string(e);
}

}  // namespace fusion
