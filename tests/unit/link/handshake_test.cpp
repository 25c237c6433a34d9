// The handshake state machine: the happy path, and every bad input ends in a failed state
// with the right fault, a reason, and no key material left.

#include "link/handshake.hpp"
#include "tests/unit/link/link_test.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace fusion::link;
using fusion::link::test::make_identity;
using fusion::link::test::two_nodes;

namespace {

/// A handshake in progress between alice (initiator) and bob (responder).
struct exchange : two_nodes {
  handshake a{role::initiator, alice, alice_trusts};
  handshake b{role::responder, bob, bob_trusts};
};

/// Checks that `h` failed with `f`, gave a reason and holds no secrets.
void check_failed(const handshake& h, fault f) {
  CHECK(h.failed());
  CHECK(h.error() == f);
  CHECK_FALSE(h.reason().empty());
  CHECK_FALSE(h.holds_secrets());
}

}  // namespace

TEST_CASE("handshake: two trusting nodes authenticate each other in three messages") {
  exchange x;
  auto m1 = x.a.start();
  CHECK(m1.size() == m1_size);
  CHECK(x.a.state() == handshake_state::awaiting_m2);
  CHECK(x.a.holds_secrets());  // the ephemeral kx secret, until M2
  auto m2 = x.b.on_message(m1);
  CHECK(m2.size() == m2_size);
  CHECK(x.b.state() == handshake_state::awaiting_m3);
  auto m3 = x.a.on_message(m2);
  CHECK(m3.size() == m3_size);
  CHECK(x.a.established());
  CHECK(x.b.on_message(m3).empty());
  CHECK(x.b.established());
  REQUIRE(x.a.peer());
  REQUIRE(x.b.peer());
  CHECK(*x.a.peer() == x.bob.pk());
  CHECK(*x.b.peer() == x.alice.pk());
  auto sa = x.a.take_session();
  auto sb = x.b.take_session();
  REQUIRE(sa);
  REQUIRE(sb);
  CHECK(sa->peer_principal.name == "bob");
  CHECK(sb->peer_principal.name == "alice");
  CHECK(sb->peer_principal.role == "zone_admin");
  CHECK_FALSE(x.a.holds_secrets());  // everything moved into the sessions
  CHECK_FALSE(x.b.holds_secrets());
  CHECK_FALSE(x.a.take_session());  // only once
}

TEST_CASE("handshake: every connection uses fresh ephemeral keys") {
  exchange x, y;
  auto m1x = x.a.start(), m1y = y.a.start();
  CHECK(bytes(m1x.begin() + 8, m1x.begin() + 40) != bytes(m1y.begin() + 8, m1y.begin() + 40));
  auto m2x = x.b.on_message(m1x), m2y = y.b.on_message(m1y);
  CHECK(bytes(m2x.begin(), m2x.begin() + 32) != bytes(m2y.begin(), m2y.begin() + 32));
}

TEST_CASE("handshake: the responder refuses an untrusted initiator at message 1") {
  two_nodes n;
  auto mallory = make_identity();
  trust mallory_trusts;
  mallory_trusts.add(n.bob.pk(), {"bob", "node"});
  handshake m{role::initiator, mallory, mallory_trusts};
  handshake b{role::responder, n.bob, n.bob_trusts};
  CHECK(b.on_message(m.start()).empty());
  check_failed(b, fault::untrusted_peer);
  CHECK(b.reason().find(mallory.public_key_text()) != std::string::npos);
}

TEST_CASE("handshake: the initiator refuses an untrusted responder at message 2") {
  two_nodes n;
  auto mallory = make_identity();
  trust mallory_trusts;
  mallory_trusts.add(n.alice.pk(), {"alice", "node"});
  handshake a{role::initiator, n.alice, n.alice_trusts};
  handshake m{role::responder, mallory, mallory_trusts};
  auto m2 = m.on_message(a.start());
  REQUIRE(m2.size() == m2_size);
  CHECK(a.on_message(m2).empty());
  check_failed(a, fault::untrusted_peer);
}

TEST_CASE("handshake: the initiator refuses a trusted responder that is not the one dialled") {
  two_nodes n;
  auto carol = make_identity();
  n.alice_trusts.add(carol.pk(), {"carol", "node"});
  handshake_config cfg;
  cfg.expected_peer = carol.pk();
  handshake a{role::initiator, n.alice, n.alice_trusts, cfg};
  handshake b{role::responder, n.bob, n.bob_trusts};
  CHECK(a.on_message(b.on_message(a.start())).empty());
  check_failed(a, fault::untrusted_peer);
  CHECK(a.reason().find("not the expected") != std::string::npos);
}

TEST_CASE("handshake: garbage, truncated and oversized messages are malformed") {
  SUBCASE("message 1") {
    for (std::size_t size :
         {std::size_t{0}, std::size_t{1}, m1_size - 1, m1_size + 1, std::size_t{1} << 16}) {
      CAPTURE(size);
      exchange x;
      CHECK(x.b.on_message(bytes(size, 0xAB)).empty());
      check_failed(x.b, fault::malformed_message);
    }
    exchange x;
    CHECK(x.b.on_message(bytes(m1_size, 0xAB)).empty());  // right size, not our protocol
    check_failed(x.b, fault::malformed_message);
  }
  SUBCASE("message 2") {
    for (std::size_t size : {std::size_t{0}, m2_size - 1, m2_size + 1}) {
      CAPTURE(size);
      exchange x;
      auto m2 = x.b.on_message(x.a.start());
      m2.resize(size);
      CHECK(x.a.on_message(m2).empty());
      check_failed(x.a, fault::malformed_message);
    }
  }
  SUBCASE("message 3") {
    for (std::size_t size : {std::size_t{0}, m3_size - 1, m3_size + 1}) {
      CAPTURE(size);
      exchange x;
      auto m3 = x.a.on_message(x.b.on_message(x.a.start()));
      m3.resize(size);
      CHECK(x.b.on_message(m3).empty());
      check_failed(x.b, fault::malformed_message);
    }
  }
  SUBCASE("random bytes of the right sizes") {
    exchange x;
    bytes junk(m2_size);
    randombytes_buf(junk.data(), junk.size());
    x.a.start();
    CHECK(x.a.on_message(junk).empty());
    CHECK(x.a.failed());  // a random key is untrusted
    CHECK_FALSE(x.a.holds_secrets());
    exchange y;
    y.b.on_message(y.a.start());
    junk.resize(m3_size);
    randombytes_buf(junk.data(), junk.size());
    CHECK(y.b.on_message(junk).empty());
    check_failed(y.b, fault::bad_signature);
  }
}

TEST_CASE("handshake: message 1 of another protocol version is refused with the versions") {
  exchange x;
  auto m1 = x.a.start();
  m1[7] = 2;
  CHECK(x.b.on_message(m1).empty());
  check_failed(x.b, fault::malformed_message);
  CHECK(x.b.reason().find("version 2; this node speaks 1") != std::string::npos);
}

TEST_CASE("handshake: a message in the wrong state fails the handshake") {
  SUBCASE("initiator receives before it started") {
    exchange x;
    CHECK(x.a.on_message(bytes(m2_size, 0)).empty());
    check_failed(x.a, fault::wrong_state);
  }
  SUBCASE("responder asked to start") {
    exchange x;
    CHECK(x.b.start().empty());
    check_failed(x.b, fault::wrong_state);
  }
  SUBCASE("initiator started twice") {
    exchange x;
    x.a.start();
    CHECK(x.a.start().empty());
    check_failed(x.a, fault::wrong_state);
  }
  SUBCASE("initiator receives message 2 again after it is established") {
    exchange x;
    auto m2 = x.b.on_message(x.a.start());
    x.a.on_message(m2);
    REQUIRE(x.a.established());
    CHECK(x.a.on_message(m2).empty());
    check_failed(x.a, fault::wrong_state);
    CHECK_FALSE(x.a.take_session());
  }
  SUBCASE("responder receives message 3 again after it is established") {
    exchange x;
    auto m3 = x.a.on_message(x.b.on_message(x.a.start()));
    x.b.on_message(m3);
    REQUIRE(x.b.established());
    CHECK(x.b.on_message(m3).empty());
    check_failed(x.b, fault::wrong_state);
  }
  SUBCASE("a failed handshake stays failed with its first fault") {
    exchange x;
    x.b.on_message(bytes(3, 0));
    check_failed(x.b, fault::malformed_message);
    x.b.on_message(x.a.start());
    check_failed(x.b, fault::malformed_message);
  }
}

TEST_CASE("handshake: a flipped bit anywhere in message 2 or 3 fails it") {
  // Every byte of both authenticated messages: covered by the signature (keys, headers),
  // checked by the signature, or by the key confirmation record.
  for (std::size_t i = 0; i < m2_size; ++i) {
    CAPTURE(i);
    exchange x;
    auto m2 = x.b.on_message(x.a.start());
    m2[i] ^= 0x01;
    CHECK(x.a.on_message(m2).empty());
    REQUIRE(x.a.failed());
    CHECK_FALSE(x.a.holds_secrets());
  }
  for (std::size_t i = 0; i < m3_size; ++i) {
    CAPTURE(i);
    exchange x;
    auto m3 = x.a.on_message(x.b.on_message(x.a.start()));
    m3[i] ^= 0x80;
    CHECK(x.b.on_message(m3).empty());
    REQUIRE(x.b.failed());
    CHECK_FALSE(x.b.holds_secrets());
  }
}

TEST_CASE("handshake: a flipped signature byte is a bad signature, a flipped seal unconfirmed") {
  SUBCASE("message 2 signature") {
    exchange x;
    auto m2 = x.b.on_message(x.a.start());
    m2[88 + 10] ^= 0x04;
    x.a.on_message(m2);
    check_failed(x.a, fault::bad_signature);
  }
  SUBCASE("message 3 signature") {
    exchange x;
    auto m3 = x.a.on_message(x.b.on_message(x.a.start()));
    m3[24 + 63] ^= 0x04;
    x.b.on_message(m3);
    check_failed(x.b, fault::bad_signature);
  }
  SUBCASE("message 2 key confirmation") {
    exchange x;
    auto m2 = x.b.on_message(x.a.start());
    m2[m2_size - 1] ^= 0x01;
    x.a.on_message(m2);
    check_failed(x.a, fault::not_confirmed);
  }
  SUBCASE("message 3 key confirmation") {
    exchange x;
    auto m3 = x.a.on_message(x.b.on_message(x.a.start()));
    m3[m3_size - 20] ^= 0x01;
    x.b.on_message(m3);
    check_failed(x.b, fault::not_confirmed);
  }
  SUBCASE("message 1 tampered in flight: the responder signs what it saw, alice refuses") {
    exchange x;
    auto m1 = x.a.start();
    m1[80] ^= 0x01;  // the nonce
    auto m2 = x.b.on_message(m1);
    REQUIRE(m2.size() == m2_size);
    x.a.on_message(m2);
    check_failed(x.a, fault::bad_signature);
  }
}

TEST_CASE("handshake: recorded messages of an earlier handshake do not authenticate") {
  two_nodes n;  // the same two nodes, so only freshness can tell the sessions apart
  handshake old_a{role::initiator, n.alice, n.alice_trusts};
  handshake old_b{role::responder, n.bob, n.bob_trusts};
  auto old_m1 = old_a.start();
  auto old_m2 = old_b.on_message(old_m1);
  auto old_m3 = old_a.on_message(old_m2);
  REQUIRE(old_a.established());
  handshake a{role::initiator, n.alice, n.alice_trusts};
  handshake b{role::responder, n.bob, n.bob_trusts};
  SUBCASE("an old message 2 replayed to a new initiator") {
    a.start();
    CHECK(a.on_message(old_m2).empty());
    check_failed(a, fault::bad_signature);
  }
  SUBCASE("an old message 1 and 3 replayed to a new responder") {
    REQUIRE(b.on_message(old_m1).size() == m2_size);  // answered with a fresh key
    CHECK(b.on_message(old_m3).empty());
    check_failed(b, fault::bad_signature);
  }
}

TEST_CASE("handshake: an all-zero ephemeral key is refused") {
  exchange x;
  auto m1 = x.a.start();
  std::fill(m1.begin() + 8, m1.begin() + 40, 0);
  CHECK(x.b.on_message(m1).empty());
  check_failed(x.b, fault::bad_key_exchange);
}

TEST_CASE("handshake: the caller's deadline fails an unfinished handshake, not a done one") {
  handshake_config cfg;
  cfg.deadline = std::chrono::milliseconds{1500};
  two_nodes n;
  handshake a{role::initiator, n.alice, n.alice_trusts, cfg};
  handshake b{role::responder, n.bob, n.bob_trusts, cfg};
  CHECK(a.deadline() == std::chrono::milliseconds{1500});
  auto m2 = b.on_message(a.start());
  b.expire();
  check_failed(b, fault::deadline_exceeded);
  CHECK(b.reason().find("1500 ms") != std::string::npos);
  a.on_message(m2);
  REQUIRE(a.established());
  a.expire();
  CHECK(a.established());
  CHECK(a.take_session());
}

TEST_CASE("handshake: a node that trusts nobody accepts nobody") {
  two_nodes n;
  trust nobody;
  handshake a{role::initiator, n.alice, n.alice_trusts};
  handshake b{role::responder, n.bob, nobody};
  b.on_message(a.start());
  check_failed(b, fault::untrusted_peer);
}
