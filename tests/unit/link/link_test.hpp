#pragma once
// Helpers for the link tests: a temporary directory, identities, and a pair of connected
// sessions made by a real handshake.

#include "link/handshake.hpp"
#include "link/identity.hpp"
#include "tests/support/files.hpp"

#include <doctest/doctest.h>

#include <string>
#include <utility>

namespace fusion::link::test {

using fusion::test::temp_dir;

/// A fresh identity; fails the test if none can be made.
inline identity make_identity() {
  auto id = identity::generate();
  REQUIRE(id);
  return std::move(*id);
}

/// Two nodes that trust each other.
struct two_nodes {
  identity alice = make_identity();
  identity bob = make_identity();
  trust alice_trusts;
  trust bob_trusts;
  two_nodes() {
    alice_trusts.add(bob.pk(), {"bob", "node"});
    bob_trusts.add(alice.pk(), {"alice", "zone_admin"});
  }
};

/// Runs a full handshake in memory (alice initiates); both sides must end established.
inline std::pair<session, session> connect(two_nodes& n, handshake_config cfg = {}) {
  handshake a{role::initiator, n.alice, n.alice_trusts, cfg};
  handshake b{role::responder, n.bob, n.bob_trusts, cfg};
  auto m1 = a.start();
  auto m2 = b.on_message(m1);
  auto m3 = a.on_message(m2);
  auto none = b.on_message(m3);
  REQUIRE_MESSAGE(a.established(), a.reason());
  REQUIRE_MESSAGE(b.established(), b.reason());
  REQUIRE(none.empty());
  auto sa = a.take_session();
  auto sb = b.take_session();
  REQUIRE(sa);
  REQUIRE(sb);
  return {std::move(*sa), std::move(*sb)};
}

/// A string as bytes.
inline bytes to_bytes(const std::string& s) {
  return bytes(s.begin(), s.end());
}

/// Bytes as a string.
inline std::string to_string(byte_span b) {
  return std::string(b.begin(), b.end());
}

}  // namespace fusion::link::test
