#pragma once
// fusion-bench link over loopback between two processes (issue 9): the benchmark process
// sends, a peer process it starts itself (the hidden subcommand link_peer,
// tests/bench/link_peer.cpp) receives. The same 200-byte messages go through three
// transports: the sealed link (link/: dial, listener, link brokers), CAF's own BASP
// (caf::io::publish / connect) and raw TCP (4-byte length prefix). What both processes
// agree on is here.
//
// Flow control is the same on every transport: at most `window` messages are unacknowledged;
// every window/4-th message (and the last) asks the receiver for its count of messages so
// far, which it sends back at once.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace fusion::bench::loopback {

/// Size of every message (the 200 bytes; the raw TCP frame adds a 4-byte length).
inline constexpr std::size_t message_bytes = 200;

/// First byte of a message: count it.
inline constexpr char data_kind = 'd';
/// First byte of a message: count it, then send back the count so far (an ack).
inline constexpr char ack_me_kind = 'a';
/// First byte of a message: send it back unchanged (round trip).
inline constexpr char ping_kind = 'p';
/// First byte of an ack on the sealed link: 'k', then the count as 8 bytes big-endian.
/// BASP acks are (caf::ok_atom, uint64_t); raw TCP acks are the 8 bytes alone.
inline constexpr char ack_kind = 'k';
/// Size of an ack on the sealed link.
inline constexpr std::size_t ack_bytes = 9;

/// Longest any wait of the benchmark lasts (the peer's ready line, a link, an ack, a pong).
inline constexpr std::chrono::milliseconds wait_limit{10'000};

/// Writes `n` as 8 bytes big-endian at `p`.
inline void put_be64(char* p, uint64_t n) {
  for (int i = 7; i >= 0; --i, n >>= 8) p[i] = static_cast<char>(n & 0xff);
}

/// Reads 8 bytes big-endian at `p`.
inline uint64_t get_be64(const char* p) {
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n = (n << 8) | static_cast<unsigned char>(p[i]);
  return n;
}

/// The first byte of message number `i` (1-based) of `n`: every `ack_every`-th and the
/// last one ask for an ack.
inline char kind_of(uint64_t i, uint64_t n, uint64_t ack_every) {
  return i % ack_every == 0 || i == n ? ack_me_kind : data_kind;
}

/// What the peer process prints on its stdout once it listens: its three ports and the
/// sealed link's public key.
struct peer_ready {
  uint16_t link_port = 0;
  uint16_t basp_port = 0;
  uint16_t raw_port = 0;
  std::string link_key;  ///< Base64 Ed25519 public key (link::to_text).
};

/// The ready line: "fusion-bench-peer LINK_PORT BASP_PORT RAW_PORT KEY".
std::string format_ready(const peer_ready& r);

/// Parses a ready line; nullopt if it is not one.
std::optional<peer_ready> parse_ready(const std::string& line);

/// What `fusion-bench link` passes to the loopback part.
struct loopback_options {
  std::size_t messages = 0;  ///< Per transport.
  std::size_t window = 0;    ///< Unacknowledged messages at most.
  std::size_t pings = 0;     ///< Round trips timed for rtt_us.
  std::size_t rounds = 0;    ///< Sealed rates measured per link; the median is printed.
  std::string peer_fault;    ///< Testing: "" or a fault for the peer (link_peer --fault).
};

/// Starts the peer process, measures the three transports, prints the figures, stops the
/// peer. Returns the exit code: 1 (after a message on stderr) if anything failed.
int run_loopback(const loopback_options& opts);

// ---- raw TCP (tests/bench/loopback_tcp.cpp)

/// A TCP socket listening on 127.0.0.1 at a port the OS chose (written to `port`), or -1
/// with `why` set.
int listen_tcp_loopback(uint16_t& port, std::string& why);

/// Receiver side: accepts connections on `listener` one after the other, forever, and
/// counts the frames of each, answering every ack_me frame with the count (8 bytes).
void serve_raw_tcp(int listener);

/// Sender side: connects to 127.0.0.1:`port` and sends `n` frames of message_bytes (plus
/// the 4-byte length) in writes of up to 64 KiB, at most `window` unacknowledged. Returns
/// messages per second, or nullopt with `why` set.
std::optional<double> raw_tcp_msgs_per_s(uint16_t port, std::size_t n, std::size_t window,
                                         std::string& why);

}  // namespace fusion::bench::loopback
