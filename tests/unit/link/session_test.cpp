// Sealed sessions: batches of messages go through both ways whole and in order, split
// across any chunks; a flipped bit, a replayed, reordered, dropped, reflected or foreign
// frame fails for good; a stream cut before its FINAL frame is reported as truncated.

#include "link/frames.hpp"
#include "link/handshake.hpp"
#include "tests/unit/link/link_test.hpp"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

using namespace fusion::link;
using fusion::link::test::connect;
using fusion::link::test::to_bytes;
using fusion::link::test::to_string;
using fusion::link::test::two_nodes;

namespace {

/// `count` messages of varied sizes (0..299 bytes), each starting with its number.
std::vector<std::string> sample_messages(std::size_t count, unsigned seed = 7) {
  std::mt19937 rng{seed};
  std::uniform_int_distribution<std::size_t> size{0, 299};
  std::vector<std::string> out;
  for (std::size_t i = 0; i < count; ++i) {
    auto s = std::to_string(i) + ":";
    s.resize(std::max(s.size(), size(rng)), static_cast<char>('a' + i % 26));
    out.push_back(s);
  }
  return out;
}

/// Seals `msgs` with `tx` (and closes the stream if `close`); returns the wire bytes.
bytes seal_all(sealer& tx, const std::vector<std::string>& msgs, bool close = true) {
  bytes wire;
  for (const auto& m : msgs) REQUIRE(tx.add(to_bytes(m), wire));
  if (close)
    tx.close(wire);
  else
    tx.flush(wire);
  return wire;
}

/// Splits wire bytes into frame bodies.
std::vector<bytes> frames_of(const bytes& wire) {
  frame_decoder d;
  REQUIRE(d.feed(wire));
  std::vector<bytes> out;
  while (auto f = d.next()) out.push_back(std::move(*f));
  return out;
}

/// Decodes `wire` in chunks of `next_size()` bytes and opens every frame with `rx`.
template <class NextSize>
std::vector<std::string> receive(opener& rx, const bytes& wire, NextSize next_size,
                                 std::size_t* frame_count = nullptr) {
  frame_decoder d;
  std::vector<std::string> got;
  std::vector<byte_span> msgs;
  std::size_t at = 0, frames = 0;
  while (at < wire.size()) {
    auto n = std::min(next_size(), wire.size() - at);
    REQUIRE(d.feed(byte_span{wire.data() + at, n}));
    at += n;
    while (auto f = d.next()) {
      REQUIRE_MESSAGE(rx.open(*f, msgs), rx.reason());
      ++frames;
      for (auto m : msgs) got.push_back(to_string(m));
    }
  }
  if (frame_count) *frame_count = frames;
  return got;
}

/// A raw pair of stream states (no handshake), for records the sealer never makes.
struct raw_stream {
  stream_state push, pull;
  raw_stream() {
    unsigned char key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
    unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
    crypto_secretstream_xchacha20poly1305_keygen(key);
    crypto_secretstream_xchacha20poly1305_init_push(&push.get(), header, key);
    crypto_secretstream_xchacha20poly1305_init_pull(&pull.get(), header, key);
    sodium_memzero(key, sizeof key);
  }
  /// One record of raw plaintext with `tag`.
  bytes record(const bytes& plain, unsigned char tag) {
    bytes c(plain.size() + seal_overhead);
    crypto_secretstream_xchacha20poly1305_push(&push.get(), c.data(), nullptr, plain.data(),
                                               plain.size(), nullptr, 0, tag);
    return c;
  }
};

constexpr unsigned char tag_message = crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;

}  // namespace

TEST_CASE("session: batched messages go through both ways, split into 1-byte chunks") {
  two_nodes n;
  auto [a, b] = connect(n);
  auto to_bob = sample_messages(500, 1);
  auto to_alice = sample_messages(300, 2);
  auto wire_ab = seal_all(a.tx, to_bob);
  auto wire_ba = seal_all(b.tx, to_alice);
  std::size_t frames_ab = 0, frames_ba = 0;
  auto one = [] { return std::size_t{1}; };
  CHECK(receive(b.rx, wire_ab, one, &frames_ab) == to_bob);
  CHECK(receive(a.rx, wire_ba, one, &frames_ba) == to_alice);
  CHECK(frames_ab < to_bob.size() / 10);  // many messages per frame
  CHECK(frames_ba < to_alice.size() / 10);
  CHECK(b.rx.finish());
  CHECK(a.rx.finish());
  CHECK(b.rx.closed_cleanly());
}

TEST_CASE("session: batched messages go through split into random chunk sizes") {
  for (unsigned seed = 1; seed <= 10; ++seed) {
    CAPTURE(seed);
    two_nodes n;
    handshake_config cfg;
    cfg.batch_bytes = 1000 * seed;
    auto [a, b] = connect(n, cfg);
    auto msgs = sample_messages(400, seed);
    auto wire = seal_all(a.tx, msgs);
    std::mt19937 rng{seed};
    std::uniform_int_distribution<std::size_t> size{1, 2000};
    CHECK(receive(b.rx, wire, [&] { return size(rng); }) == msgs);
    CHECK(b.rx.finish());
  }
}

TEST_CASE("session: the whole conversation, handshake included, as one byte stream") {
  two_nodes n;
  handshake a{role::initiator, n.alice, n.alice_trusts};
  handshake b{role::responder, n.bob, n.bob_trusts};
  frame_decoder at_a, at_b;
  bytes wire_ab, wire_ba;
  append_frame(wire_ab, a.start());
  REQUIRE(at_b.feed(wire_ab));
  append_frame(wire_ba, b.on_message(*at_b.next()));
  REQUIRE(at_a.feed(wire_ba));
  wire_ab.clear();
  append_frame(wire_ab, a.on_message(*at_a.next()));
  auto sa = a.take_session();
  REQUIRE(sa);
  // alice sends right behind message 3, in the same write
  auto msgs = sample_messages(100);
  for (const auto& m : msgs) REQUIRE(sa->tx.add(to_bytes(m), wire_ab));
  sa->tx.close(wire_ab);
  std::mt19937 rng{3};
  std::uniform_int_distribution<std::size_t> size{1, 64};
  std::size_t at = 0;
  std::optional<session> sb;
  std::vector<std::string> got;
  std::vector<byte_span> views;
  while (at < wire_ab.size()) {
    auto k = std::min(size(rng), wire_ab.size() - at);
    REQUIRE(at_b.feed(byte_span{wire_ab.data() + at, k}));
    at += k;
    while (auto f = at_b.next()) {
      if (!sb) {
        CHECK(b.on_message(*f).empty());
        sb = b.take_session();
        REQUIRE(sb);
        continue;
      }
      REQUIRE(sb->rx.open(*f, views));
      for (auto v : views) got.push_back(to_string(v));
    }
  }
  CHECK(got == msgs);
  CHECK(sb->rx.finish());
}

TEST_CASE("session: without batching every message is its own frame") {
  two_nodes n;
  handshake_config cfg;
  cfg.batch_bytes = 0;
  auto [a, b] = connect(n, cfg);
  auto msgs = sample_messages(50);
  auto wire = seal_all(a.tx, msgs, false);
  CHECK(frames_of(wire).size() == 50);
  CHECK(receive(b.rx, wire, [] { return std::size_t{4096}; }) == msgs);
}

TEST_CASE("session: a batch is sealed when it reaches the threshold, or on flush") {
  two_nodes n;
  handshake_config cfg;
  cfg.batch_bytes = 1000;
  auto [a, b] = connect(n, cfg);
  bytes wire;
  bytes msg(200, 'x');
  for (int i = 0; i < 4; ++i) REQUIRE(a.tx.add(msg, wire));
  CHECK(wire.empty());
  CHECK(a.tx.pending_messages() == 4);
  REQUIRE(a.tx.add(msg, wire));  // 5 x 204 bytes >= 1000
  CHECK(frames_of(wire).size() == 1);
  CHECK(a.tx.pending_messages() == 0);
  REQUIRE(a.tx.add(msg, wire));
  a.tx.flush(wire);
  CHECK(frames_of(wire).size() == 2);
  a.tx.flush(wire);  // nothing pending: no empty frame
  CHECK(frames_of(wire).size() == 2);
}

TEST_CASE("session: a heartbeat is an authenticated empty record; pending messages go instead") {
  two_nodes n;
  auto [a, b] = connect(n);
  bytes wire;
  a.tx.heartbeat(wire);
  auto frames = frames_of(wire);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].size() == seal_overhead);
  std::vector<byte_span> msgs;
  REQUIRE(b.rx.open(frames[0], msgs));
  CHECK(msgs.empty());
  // A flipped bit in a heartbeat fails like any frame.
  bytes wire2;
  a.tx.heartbeat(wire2);
  auto forged = frames_of(wire2)[0];
  forged[3] ^= 1;
  CHECK_FALSE(b.rx.open(forged, msgs));
  CHECK(b.rx.error() == fault::forged_frame);
  // With messages pending, the heartbeat seals them.
  bytes wire3;
  REQUIRE(a.tx.add(to_bytes("hi"), wire3));
  a.tx.heartbeat(wire3);
  CHECK(frames_of(wire3).size() == 1);
  CHECK(a.tx.pending_messages() == 0);
}

TEST_CASE("session: frames never exceed the maximum, and a message that cannot fit is refused") {
  two_nodes n;
  handshake_config cfg;
  cfg.max_frame = 256;
  cfg.batch_bytes = 1 << 20;
  auto [a, b] = connect(n, cfg);
  CHECK(a.tx.max_message_size() == 256 - seal_overhead - message_header_size);
  bytes wire;
  CHECK_FALSE(a.tx.add(bytes(a.tx.max_message_size() + 1, 1), wire));
  CHECK(wire.empty());
  std::vector<std::string> msgs(20, std::string(100, 'm'));
  for (const auto& m : msgs) REQUIRE(a.tx.add(to_bytes(m), wire));
  REQUIRE(a.tx.add(bytes(a.tx.max_message_size(), 2), wire));
  a.tx.close(wire);
  for (const auto& f : frames_of(wire)) CHECK(f.size() <= 256);
  auto got = receive(b.rx, wire, [] { return std::size_t{7}; });
  REQUIRE(got.size() == 21);
  CHECK(got.back().size() == a.tx.max_message_size());
}

TEST_CASE("session: a flipped bit anywhere in a frame fails it, and the opener for good") {
  two_nodes n;
  auto [a, b] = connect(n);
  auto frame = frames_of(seal_all(a.tx, {"hello", "world"}, false)).at(0);
  auto next = frames_of(seal_all(a.tx, {"later"}, false)).at(0);
  std::vector<byte_span> msgs;
  for (std::size_t i = 0; i < frame.size(); ++i) {
    CAPTURE(i);
    auto [x, y] = connect(n);
    auto f = frames_of(seal_all(x.tx, {"hello", "world"}, false)).at(0);
    f[i] ^= 0x10;
    CHECK_FALSE(y.rx.open(f, msgs));
    CHECK(y.rx.error() == fault::forged_frame);
    CHECK(msgs.empty());
  }
  frame[3] ^= 1;
  CHECK_FALSE(b.rx.open(frame, msgs));
  frame[3] ^= 1;
  CHECK_FALSE(b.rx.open(frame, msgs));  // even the genuine frame: failure is final
  CHECK_FALSE(b.rx.open(next, msgs));
  CHECK(b.rx.error() == fault::forged_frame);
}

TEST_CASE("session: a replayed frame fails") {
  two_nodes n;
  auto [a, b] = connect(n);
  auto f0 = frames_of(seal_all(a.tx, {"pay 10"}, false)).at(0);
  auto f1 = frames_of(seal_all(a.tx, {"then this"}, false)).at(0);
  std::vector<byte_span> msgs;
  REQUIRE(b.rx.open(f0, msgs));
  CHECK(to_string(msgs.at(0)) == "pay 10");
  CHECK_FALSE(b.rx.open(f0, msgs));
  CHECK(b.rx.error() == fault::forged_frame);
  CHECK(b.rx.reason().find("frame 2") != std::string::npos);
  CHECK_FALSE(b.rx.open(f1, msgs));
}

TEST_CASE("session: reordered frames fail") {
  two_nodes n;
  auto [a, b] = connect(n);
  auto f0 = frames_of(seal_all(a.tx, {"first"}, false)).at(0);
  auto f1 = frames_of(seal_all(a.tx, {"second"}, false)).at(0);
  std::vector<byte_span> msgs;
  CHECK_FALSE(b.rx.open(f1, msgs));
  CHECK(b.rx.error() == fault::forged_frame);
  CHECK_FALSE(b.rx.open(f0, msgs));
}

TEST_CASE("session: a dropped frame makes the next one fail") {
  two_nodes n;
  auto [a, b] = connect(n);
  seal_all(a.tx, {"lost"}, false);
  auto f1 = frames_of(seal_all(a.tx, {"after"}, false)).at(0);
  std::vector<byte_span> msgs;
  CHECK_FALSE(b.rx.open(f1, msgs));
  CHECK(b.rx.error() == fault::forged_frame);
}

TEST_CASE("session: a frame reflected back to its sender, or from another session, fails") {
  two_nodes n;
  auto [a, b] = connect(n);
  auto [c, d] = connect(n);
  auto f = frames_of(seal_all(a.tx, {"to bob"}, false)).at(0);
  std::vector<byte_span> msgs;
  CHECK_FALSE(a.rx.open(f, msgs));  // reflected
  CHECK(a.rx.error() == fault::forged_frame);
  CHECK_FALSE(d.rx.open(f, msgs));  // same two nodes, another session
  CHECK(d.rx.error() == fault::forged_frame);
  CHECK(b.rx.open(f, msgs));
}

TEST_CASE("session: a stream that ends without its FINAL frame is truncated") {
  two_nodes n;
  auto [a, b] = connect(n);
  auto wire = seal_all(a.tx, {"one", "two", "three"}, false);
  CHECK(receive(b.rx, wire, [] { return std::size_t{5}; }).size() == 3);
  CHECK_FALSE(b.rx.closed_cleanly());
  CHECK_FALSE(b.rx.finish());
  CHECK(b.rx.error() == fault::truncated);
  CHECK(b.rx.reason().find("without its FINAL frame") != std::string::npos);
}

TEST_CASE("session: a frame cut short, or shorter than a seal, fails") {
  two_nodes n;
  auto [a, b] = connect(n);
  auto f = frames_of(seal_all(a.tx, {"whole"}, false)).at(0);
  std::vector<byte_span> msgs;
  SUBCASE("missing its last byte") {
    f.pop_back();
    CHECK_FALSE(b.rx.open(f, msgs));
  }
  SUBCASE("shorter than the seal overhead") {
    f.resize(seal_overhead - 1);
    CHECK_FALSE(b.rx.open(f, msgs));
  }
  SUBCASE("empty") {
    CHECK_FALSE(b.rx.open(bytes{}, msgs));
  }
  CHECK(b.rx.error() == fault::forged_frame);
}

TEST_CASE("session: nothing is accepted after the FINAL frame, and nothing sealed after close") {
  two_nodes n;
  auto [a, b] = connect(n);
  auto final_frame = frames_of(seal_all(a.tx, {"bye"}, true)).at(0);
  CHECK(a.tx.closed());
  bytes wire;
  CHECK_FALSE(a.tx.add(to_bytes("late"), wire));
  a.tx.close(wire);
  a.tx.flush(wire);
  CHECK(wire.empty());
  std::vector<byte_span> msgs;
  REQUIRE(b.rx.open(final_frame, msgs));
  CHECK(b.rx.closed_cleanly());
  CHECK_FALSE(b.rx.open(final_frame, msgs));
  CHECK(b.rx.error() == fault::frame_after_final);
}

TEST_CASE("session: garbage bytes in place of frames fail as forged") {
  two_nodes n;
  auto [a, b] = connect(n);
  std::mt19937 rng{11};
  bytes junk(300);
  for (auto& x : junk) x = static_cast<unsigned char>(rng());
  std::vector<byte_span> msgs;
  CHECK_FALSE(b.rx.open(junk, msgs));
  CHECK(b.rx.error() == fault::forged_frame);
}

TEST_CASE("session: an authenticated record with a broken inner layout is malformed") {
  std::vector<byte_span> msgs;
  SUBCASE("a message longer than the record") {
    raw_stream s;
    opener rx{std::move(s.pull)};
    CHECK_FALSE(rx.open(s.record(bytes{0, 0, 0, 9, 'a', 'b'}, tag_message), msgs));
    CHECK(rx.error() == fault::malformed_frame);
    CHECK(rx.reason().find("claims 9 bytes, 2 remain") != std::string::npos);
  }
  SUBCASE("a record ending inside a length") {
    raw_stream s;
    opener rx{std::move(s.pull)};
    CHECK_FALSE(rx.open(s.record(bytes{0, 0, 0, 1, 'a', 0, 0}, tag_message), msgs));
    CHECK(rx.error() == fault::malformed_frame);
    CHECK(msgs.empty());
  }
  SUBCASE("a tag this protocol never sends") {
    raw_stream s;
    opener rx{std::move(s.pull)};
    CHECK_FALSE(rx.open(s.record(bytes{}, crypto_secretstream_xchacha20poly1305_TAG_REKEY), msgs));
    CHECK(rx.error() == fault::malformed_frame);
  }
  SUBCASE("an empty record is an empty batch") {
    raw_stream s;
    opener rx{std::move(s.pull)};
    CHECK(rx.open(s.record(bytes{}, tag_message), msgs));
    CHECK(msgs.empty());
  }
}

TEST_CASE("session: a default opener or sealer, and moved-from ones, refuse to work") {
  std::vector<byte_span> msgs;
  opener rx;
  CHECK_FALSE(rx.open(bytes(40, 0), msgs));
  CHECK(rx.error() == fault::wrong_state);
  sealer tx;
  bytes wire;
  CHECK_FALSE(tx.add(to_bytes("x"), wire));
  two_nodes n;
  auto [a, b] = connect(n);
  sealer moved = std::move(a.tx);
  CHECK_FALSE(a.tx.add(to_bytes("x"), wire));  // NOLINT(bugprone-use-after-move)
  CHECK(moved.add(to_bytes("x"), wire));
  opener moved_rx = std::move(b.rx);
  moved.flush(wire);
  auto f = frames_of(wire).at(0);
  CHECK_FALSE(b.rx.open(f, msgs));  // NOLINT(bugprone-use-after-move)
  CHECK(moved_rx.open(f, msgs));
}
