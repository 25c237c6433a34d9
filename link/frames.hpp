#pragma once
// Framing of a link (docs/security.md, "Frames"). On the wire every frame is a 4-byte
// big-endian length and a body. frame_decoder cuts frames out of a byte stream fed in
// arbitrary chunks and checks each length against a maximum before it holds any of the
// body. After the handshake every body is one secretstream record: sealer packs many small
// application messages into one record ([u32 length][bytes]...), opener authenticates and
// unpacks them. Any failure is final.

#include "link/fault.hpp"
#include "link/secret.hpp"

#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace fusion::link {

/// Bytes on the wire.
using bytes = std::vector<unsigned char>;
/// A view of bytes.
using byte_span = std::span<const unsigned char>;
/// One direction's secretstream state: key material, wiped when it dies.
using stream_state = wiped<crypto_secretstream_xchacha20poly1305_state>;

/// Size of a frame's length prefix.
inline constexpr std::size_t frame_header_size = 4;
/// Default largest frame body (length prefix not counted): 1 MiB.
inline constexpr uint32_t default_max_frame = 1u << 20;
/// Default batch size: a sealer seals its batch once this many plaintext bytes are pending.
inline constexpr std::size_t default_batch_bytes = 16 * 1024;
/// Bytes a sealed record adds to its plaintext (16-byte MAC + 1 encrypted tag byte).
inline constexpr std::size_t seal_overhead = crypto_secretstream_xchacha20poly1305_ABYTES;
/// Size of the length before each application message inside a sealed record.
inline constexpr std::size_t message_header_size = 4;

/// Appends `n` as 4 big-endian bytes.
void put_be32(bytes& out, uint32_t n);
/// Reads 4 big-endian bytes.
uint32_t get_be32(const unsigned char* p) noexcept;
/// Appends one frame ([u32 big-endian length][body]) to `out`.
void append_frame(bytes& out, byte_span body);

/// Cuts complete frames out of a byte stream fed in arbitrary chunks (split anywhere,
/// many frames per chunk). A length above the maximum is an error as soon as its 4 bytes
/// are in, before any of that frame's body is held; on any error everything buffered is
/// released and the decoder refuses further input.
class frame_decoder {
 public:
  /// `max_frame`: the largest body accepted.
  explicit frame_decoder(uint32_t max_frame = default_max_frame) : max_frame_(max_frame) {}

  /// Consumes a chunk; complete frames become available through next(). False once failed.
  bool feed(byte_span chunk);
  /// The next complete frame body, in order; nullopt if none is complete (or failed).
  std::optional<bytes> next();

  /// True after any failure; all further input is refused.
  bool failed() const noexcept { return fault_ != fault::none; }
  /// Why it failed (fault::none while healthy).
  fault error() const noexcept { return fault_; }
  /// What went wrong, for a log line; "" while healthy.
  const std::string& reason() const noexcept { return reason_; }
  /// Memory held for frames: the partial body's capacity plus complete frames not taken.
  std::size_t buffered_bytes() const noexcept;
  /// The largest body accepted.
  uint32_t max_frame() const noexcept { return max_frame_; }

 private:
  uint32_t max_frame_;
  unsigned char header_[frame_header_size] = {};
  std::size_t header_have_ = 0;
  bool in_body_ = false;
  uint32_t body_size_ = 0;
  bytes body_;
  std::deque<bytes> ready_;
  fault fault_ = fault::none;
  std::string reason_;
};

/// The sending half of a link after the handshake: batches application messages and seals
/// each batch into one secretstream record, written out as one frame. Move-only; the
/// stream state is wiped when the sealer dies.
class sealer {
 public:
  /// An unusable sealer (add() fails) until one is moved in from a handshake's session.
  sealer() = default;
  /// Seals with `state`; frames stay within `max_frame`; a batch is sealed once
  /// `batch_bytes` plaintext bytes are pending (0: every message is its own frame).
  sealer(stream_state state, uint32_t max_frame, std::size_t batch_bytes);
  /// A moved-from sealer is closed.
  sealer(sealer&& other) noexcept;
  sealer& operator=(sealer&& other) noexcept;

  /// Adds one message to the batch. Seals the pending batch into `out` first if the message
  /// would not fit in the same frame, and after it if the batch reached `batch_bytes`. False
  /// (nothing changes) if the message can never fit in a frame or the sealer is closed.
  bool add(byte_span message, bytes& out);
  /// Seals the pending messages, if any, into one frame appended to `out`.
  void flush(bytes& out);
  /// Seals a record that carries no message (an authenticated heartbeat: the opener accepts
  /// it and yields nothing); if messages are pending, seals them instead. Nothing if closed.
  void heartbeat(bytes& out);
  /// Seals the pending messages (possibly none) into the stream's FINAL frame, appended to
  /// `out`, so the peer can tell an orderly close from a cut. add() fails afterwards.
  void close(bytes& out);

  /// Messages added and not yet sealed.
  std::size_t pending_messages() const noexcept { return pending_; }
  /// Plaintext bytes not yet sealed (message lengths included).
  std::size_t pending_bytes() const noexcept { return plain_.size(); }
  /// True after close() (and for a default-constructed sealer).
  bool closed() const noexcept { return closed_; }
  /// The largest single message add() accepts.
  std::size_t max_message_size() const noexcept;

 private:
  void seal(bytes& out, unsigned char tag);

  stream_state state_;
  uint32_t max_frame_ = 0;
  std::size_t batch_bytes_ = 0;
  bytes plain_;
  std::size_t pending_ = 0;
  bool closed_ = true;
};

/// The receiving half of a link after the handshake: authenticates each frame body in
/// order and unpacks its messages. A bit flip, a replayed, reordered, dropped or foreign
/// frame fails, and any failure is final. The stream state is wiped on failure and death.
class opener {
 public:
  /// An opener that fails every frame until one is moved in from a handshake's session.
  opener() = default;
  /// Opens with `state`.
  explicit opener(stream_state state) : state_(std::move(state)), ready_(true) {}
  /// A moved-from opener fails every frame.
  opener(opener&& other) noexcept;
  opener& operator=(opener&& other) noexcept;

  /// Authenticates one frame body. On success `messages` holds views of its messages,
  /// valid until the next open(); on failure it is empty and the opener is failed.
  bool open(byte_span body, std::vector<byte_span>& messages);
  /// Call when the transport ended: true if the stream ended with its FINAL frame;
  /// otherwise the opener fails with fault::truncated.
  bool finish();
  /// True once the FINAL frame was opened.
  bool closed_cleanly() const noexcept { return final_; }

  /// True after any failure; all further input is refused.
  bool failed() const noexcept { return fault_ != fault::none; }
  /// Why it failed (fault::none while healthy).
  fault error() const noexcept { return fault_; }
  /// What went wrong, for a log line; "" while healthy.
  const std::string& reason() const noexcept { return reason_; }
  /// Frames opened so far.
  uint64_t frames_opened() const noexcept { return frames_; }

 private:
  bool fail(fault f, std::string why);

  stream_state state_;
  bool ready_ = false;
  bool final_ = false;
  uint64_t frames_ = 0;
  bytes plain_;
  fault fault_ = fault::none;
  std::string reason_;
};

}  // namespace fusion::link
