#include "link/fault.hpp"

namespace fusion::link {

std::string_view to_string(fault x) noexcept {
  switch (x) {
    case fault::none:
      return "none";
    case fault::malformed_message:
      return "malformed_message";
    case fault::wrong_state:
      return "wrong_state";
    case fault::untrusted_peer:
      return "untrusted_peer";
    case fault::bad_signature:
      return "bad_signature";
    case fault::bad_key_exchange:
      return "bad_key_exchange";
    case fault::not_confirmed:
      return "not_confirmed";
    case fault::deadline_exceeded:
      return "deadline_exceeded";
    case fault::frame_too_large:
      return "frame_too_large";
    case fault::forged_frame:
      return "forged_frame";
    case fault::malformed_frame:
      return "malformed_frame";
    case fault::frame_after_final:
      return "frame_after_final";
    case fault::truncated:
      return "truncated";
    case fault::cannot_seal:
      return "cannot_seal";
  }
  return "unknown";
}

}  // namespace fusion::link
