// The frame decoder: frames cut out of chunks split anywhere, and a hostile length refused
// on its 4 bytes, before any of the body is held.

#include "link/frames.hpp"
#include "tests/unit/link/link_test.hpp"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

using namespace fusion::link;
using fusion::link::test::to_bytes;

namespace {

/// Frames of sizes 0, 1, 2, ... `count - 1` (times 7), each filled with its index.
std::vector<bytes> sample_frames(std::size_t count) {
  std::vector<bytes> frames;
  for (std::size_t i = 0; i < count; ++i) frames.emplace_back(i * 7, static_cast<unsigned char>(i));
  return frames;
}

bytes wire_of(const std::vector<bytes>& frames) {
  bytes wire;
  for (const auto& f : frames) append_frame(wire, f);
  return wire;
}

/// Feeds `wire` in chunks whose sizes `next_size` picks; returns every frame decoded.
template <class NextSize>
std::vector<bytes> decode_in_chunks(frame_decoder& d, const bytes& wire, NextSize next_size) {
  std::vector<bytes> out;
  std::size_t at = 0;
  while (at < wire.size()) {
    auto n = std::min(next_size(), wire.size() - at);
    REQUIRE(d.feed(byte_span{wire.data() + at, n}));
    at += n;
    while (auto f = d.next()) out.push_back(std::move(*f));
  }
  return out;
}

}  // namespace

TEST_CASE("frames: a frame is a 4-byte big-endian length and the body") {
  bytes wire;
  append_frame(wire, to_bytes("abc"));
  CHECK(wire == bytes{0, 0, 0, 3, 'a', 'b', 'c'});
  bytes big;
  put_be32(big, 0x01020304);
  CHECK(big == bytes{1, 2, 3, 4});
  CHECK(get_be32(big.data()) == 0x01020304);
}

TEST_CASE("frames: many frames in one chunk come out whole and in order") {
  auto frames = sample_frames(50);
  frame_decoder d;
  CHECK(d.feed(wire_of(frames)));
  std::vector<bytes> got;
  while (auto f = d.next()) got.push_back(std::move(*f));
  CHECK(got == frames);
  CHECK(d.buffered_bytes() == 0);
}

TEST_CASE("frames: a stream fed one byte at a time decodes to the same frames") {
  auto frames = sample_frames(40);
  frame_decoder d;
  CHECK(decode_in_chunks(d, wire_of(frames), [] { return std::size_t{1}; }) == frames);
}

TEST_CASE("frames: a stream fed in random chunk sizes decodes to the same frames") {
  auto frames = sample_frames(60);
  auto wire = wire_of(frames);
  for (unsigned seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    std::mt19937 rng{seed};
    std::uniform_int_distribution<std::size_t> size{1, 300};
    frame_decoder d;
    CHECK(decode_in_chunks(d, wire, [&] { return size(rng); }) == frames);
  }
}

TEST_CASE("frames: a length above the maximum is refused before any body is held") {
  frame_decoder d{1024};
  SUBCASE("the largest length") {
    CHECK_FALSE(d.feed(bytes{0xff, 0xff, 0xff, 0xff}));
  }
  SUBCASE("one above the maximum, followed by body bytes in the same chunk") {
    bytes wire;
    put_be32(wire, 1025);
    wire.resize(wire.size() + 64 * 1024, 0x55);
    CHECK_FALSE(d.feed(wire));
  }
  SUBCASE("the length split across chunks") {
    CHECK(d.feed(bytes{0x00, 0x10}));
    CHECK_FALSE(d.feed(bytes{0x00, 0x00}));
  }
  SUBCASE("after complete frames: they are dropped with the link") {
    bytes wire;
    append_frame(wire, bytes(100, 1));
    put_be32(wire, 5000);
    CHECK_FALSE(d.feed(wire));
  }
  CHECK(d.failed());
  CHECK(d.error() == fault::frame_too_large);
  CHECK(d.reason().find("maximum of 1024") != std::string::npos);
  CHECK(d.buffered_bytes() == 0);
  CHECK_FALSE(d.next());
  CHECK_FALSE(d.feed(bytes{0, 0, 0, 0}));  // failure is final
  CHECK_FALSE(d.next());
}

TEST_CASE("frames: a frame of exactly the maximum is accepted, and an empty frame too") {
  frame_decoder d{1024};
  bytes wire;
  append_frame(wire, bytes(1024, 9));
  append_frame(wire, bytes{});
  CHECK(d.feed(wire));
  auto f = d.next();
  REQUIRE(f);
  CHECK(f->size() == 1024);
  f = d.next();
  REQUIRE(f);
  CHECK(f->empty());
  CHECK_FALSE(d.failed());
}

TEST_CASE("frames: a partial frame holds at most its declared size") {
  frame_decoder d{1 << 20};
  bytes wire;
  put_be32(wire, 100);
  wire.resize(wire.size() + 10, 1);
  CHECK(d.feed(wire));
  CHECK_FALSE(d.next());
  CHECK(d.buffered_bytes() <= 100);
}

TEST_CASE("frames: random garbage either decodes to bounded frames or fails, never more") {
  for (unsigned seed = 1; seed <= 50; ++seed) {
    CAPTURE(seed);
    std::mt19937 rng{seed};
    bytes junk(4096);
    for (auto& b : junk) b = static_cast<unsigned char>(rng());
    frame_decoder d{512};
    d.feed(junk);
    while (auto f = d.next()) CHECK(f->size() <= 512);
    CHECK(d.buffered_bytes() <= 512 + 4096);
  }
}
