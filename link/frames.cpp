#include "link/frames.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace fusion::link {

void put_be32(bytes& out, uint32_t n) {
  auto i = out.size();
  out.resize(i + 4);
  out[i] = static_cast<unsigned char>(n >> 24);
  out[i + 1] = static_cast<unsigned char>(n >> 16);
  out[i + 2] = static_cast<unsigned char>(n >> 8);
  out[i + 3] = static_cast<unsigned char>(n);
}

uint32_t get_be32(const unsigned char* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

void append_frame(bytes& out, byte_span body) {
  put_be32(out, static_cast<uint32_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
}

// ---- frame_decoder

bool frame_decoder::feed(byte_span chunk) {
  if (failed()) return false;
  const unsigned char* p = chunk.data();
  std::size_t left = chunk.size();
  while (left > 0) {
    if (!in_body_) {
      auto n = std::min(left, frame_header_size - header_have_);
      std::memcpy(header_ + header_have_, p, n);
      header_have_ += n;
      p += n;
      left -= n;
      if (header_have_ < frame_header_size) break;
      header_have_ = 0;
      body_size_ = get_be32(header_);
      if (body_size_ > max_frame_) {
        // Refused on the header alone: nothing of this body is held.
        fault_ = fault::frame_too_large;
        reason_ = "frame of " + std::to_string(body_size_) + " bytes exceeds the maximum of " +
                  std::to_string(max_frame_);
        bytes{}.swap(body_);
        ready_.clear();
        return false;
      }
      in_body_ = true;
      body_.clear();
      body_.reserve(body_size_);
    }
    auto n = std::min(left, body_size_ - body_.size());
    body_.insert(body_.end(), p, p + n);
    p += n;
    left -= n;
    if (body_.size() == body_size_) {
      ready_.push_back(std::move(body_));
      body_ = bytes{};
      in_body_ = false;
    }
  }
  return true;
}

std::optional<bytes> frame_decoder::next() {
  if (failed() || ready_.empty()) return std::nullopt;
  auto frame = std::move(ready_.front());
  ready_.pop_front();
  return frame;
}

std::size_t frame_decoder::buffered_bytes() const noexcept {
  std::size_t n = body_.capacity();
  for (const auto& f : ready_) n += f.capacity();
  return n;
}

// ---- sealer

sealer::sealer(stream_state state, uint32_t max_frame, std::size_t batch_bytes)
    : state_(std::move(state)),
      max_frame_(max_frame),
      batch_bytes_(batch_bytes),
      closed_(max_frame < seal_overhead + message_header_size) {}

sealer::sealer(sealer&& other) noexcept
    : state_(std::move(other.state_)),
      max_frame_(other.max_frame_),
      batch_bytes_(other.batch_bytes_),
      plain_(std::move(other.plain_)),
      pending_(std::exchange(other.pending_, 0)),
      closed_(std::exchange(other.closed_, true)) {}

sealer& sealer::operator=(sealer&& other) noexcept {
  if (this != &other) {
    state_ = std::move(other.state_);
    max_frame_ = other.max_frame_;
    batch_bytes_ = other.batch_bytes_;
    plain_ = std::move(other.plain_);
    pending_ = std::exchange(other.pending_, 0);
    closed_ = std::exchange(other.closed_, true);
  }
  return *this;
}

std::size_t sealer::max_message_size() const noexcept {
  if (max_frame_ < seal_overhead + message_header_size) return 0;
  return max_frame_ - seal_overhead - message_header_size;
}

bool sealer::add(byte_span message, bytes& out) {
  if (closed_ || message.size() > max_message_size()) return false;
  auto need = message_header_size + message.size();
  if (pending_ > 0 && plain_.size() + need > max_message_size() + message_header_size) flush(out);
  put_be32(plain_, static_cast<uint32_t>(message.size()));
  plain_.insert(plain_.end(), message.begin(), message.end());
  ++pending_;
  if (plain_.size() >= batch_bytes_) flush(out);
  return true;
}

void sealer::flush(bytes& out) {
  if (closed_ || pending_ == 0) return;
  seal(out, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
}

void sealer::heartbeat(bytes& out) {
  if (closed_) return;
  seal(out, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
}

void sealer::close(bytes& out) {
  if (closed_) return;
  seal(out, crypto_secretstream_xchacha20poly1305_TAG_FINAL);
  closed_ = true;
  state_.wipe();
}

void sealer::seal(bytes& out, unsigned char tag) {
  auto body = plain_.size() + seal_overhead;
  auto at = out.size();
  put_be32(out, static_cast<uint32_t>(body));
  out.resize(at + frame_header_size + body);
  crypto_secretstream_xchacha20poly1305_push(&state_.get(), out.data() + at + frame_header_size,
                                             nullptr, plain_.data(), plain_.size(), nullptr, 0,
                                             tag);
  plain_.clear();
  pending_ = 0;
}

// ---- opener

opener::opener(opener&& other) noexcept
    : state_(std::move(other.state_)),
      ready_(std::exchange(other.ready_, false)),
      final_(other.final_),
      frames_(other.frames_),
      plain_(std::move(other.plain_)),
      fault_(other.fault_),
      reason_(std::move(other.reason_)) {}

opener& opener::operator=(opener&& other) noexcept {
  if (this != &other) {
    state_ = std::move(other.state_);
    ready_ = std::exchange(other.ready_, false);
    final_ = other.final_;
    frames_ = other.frames_;
    plain_ = std::move(other.plain_);
    fault_ = other.fault_;
    reason_ = std::move(other.reason_);
  }
  return *this;
}

bool opener::fail(fault f, std::string why) {
  if (fault_ == fault::none) {
    fault_ = f;
    reason_ = std::move(why);
  }
  state_.wipe();
  ready_ = false;
  plain_.clear();
  return false;
}

bool opener::open(byte_span body, std::vector<byte_span>& messages) {
  messages.clear();
  if (failed()) return false;
  if (!ready_) return fail(fault::wrong_state, "no session: the handshake has not completed");
  if (final_)
    return fail(fault::frame_after_final,
                "frame " + std::to_string(frames_ + 1) + " arrived after the FINAL frame");
  auto frame_no = std::to_string(frames_ + 1);
  if (body.size() < seal_overhead)
    return fail(fault::forged_frame, "frame " + frame_no + " is " + std::to_string(body.size()) +
                                         " bytes, shorter than a sealed record");
  plain_.resize(body.size() - seal_overhead);
  unsigned long long len = 0;
  unsigned char tag = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(&state_.get(), plain_.data(), &len, &tag,
                                                 body.data(), body.size(), nullptr, 0) != 0)
    return fail(fault::forged_frame, "frame " + frame_no +
                                         " does not authenticate (tampered, replayed, "
                                         "reordered, dropped or from another session)");
  if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE &&
      tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL)
    return fail(fault::malformed_frame, "frame " + frame_no + " carries tag " +
                                            std::to_string(tag) +
                                            ", which this protocol never sends");
  // Validate the whole layout before handing out any message.
  const unsigned char* p = plain_.data();
  std::size_t left = static_cast<std::size_t>(len);
  while (left > 0) {
    if (left < message_header_size) {
      messages.clear();
      return fail(fault::malformed_frame, "frame " + frame_no + " ends inside a message length");
    }
    auto n = get_be32(p);
    if (n > left - message_header_size) {
      messages.clear();
      return fail(fault::malformed_frame,
                  "frame " + frame_no + ": a message claims " + std::to_string(n) + " bytes, " +
                      std::to_string(left - message_header_size) + " remain");
    }
    messages.emplace_back(p + message_header_size, n);
    p += message_header_size + n;
    left -= message_header_size + n;
  }
  ++frames_;
  if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
    final_ = true;
    state_.wipe();
  }
  return true;
}

bool opener::finish() {
  if (failed()) return false;
  if (final_) return true;
  return fail(fault::truncated, "the stream ended after " + std::to_string(frames_) +
                                    " frame(s) without its FINAL frame (cut or reset)");
}

}  // namespace fusion::link
