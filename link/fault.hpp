#pragma once
// Why a link failed. Any fault is final: the handshake, decoder or opener that reports it
// refuses all further input, and the link must be closed (STYLE 11: only a framing or
// authentication failure closes a link).

#include <cstdint>
#include <string_view>

namespace fusion::link {

/// The cause of a link failure; the object that failed also keeps a sentence with details.
enum class fault : uint8_t {
  /// No failure.
  none = 0,
  /// A handshake message has the wrong size, protocol label or version.
  malformed_message,
  /// A handshake message arrived in a state that does not expect it (or after a failure).
  wrong_state,
  /// The peer's identity key is not in the trust allowlist (or not the one expected).
  untrusted_peer,
  /// The peer's signature over the handshake transcript does not verify.
  bad_signature,
  /// The peer's ephemeral key is unusable (crypto_kx rejected it, e.g. all zeros).
  bad_key_exchange,
  /// The peer's key confirmation record does not authenticate or names another transcript.
  not_confirmed,
  /// The handshake did not complete before its deadline (the caller said so).
  deadline_exceeded,
  /// A frame's length prefix is above the configured maximum.
  frame_too_large,
  /// A frame does not authenticate: tampered, replayed, reordered, dropped or foreign.
  forged_frame,
  /// An authenticated frame's inner message layout is invalid, or it carries a tag the
  /// protocol never sends.
  malformed_frame,
  /// A frame arrived after the stream's FINAL frame.
  frame_after_final,
  /// The stream ended without its FINAL frame: it may have been cut.
  truncated,
  /// A message is too large to fit in one frame, or the sealer was already closed.
  cannot_seal,
};

/// Stable name of a fault, e.g. "bad_signature".
std::string_view to_string(fault x) noexcept;

}  // namespace fusion::link
