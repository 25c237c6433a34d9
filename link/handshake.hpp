#pragma once
// The link handshake (docs/security.md, "Handshake"): a pure state machine, no I/O and no
// clock. Three fixed-size messages authenticate both nodes by their Ed25519 identities
// against a trust allowlist and set up one secretstream per direction from fresh crypto_kx
// keys:
//
//   M1 I->R  "fusionL" 0x01 | eI | idI | nonceI                          104 bytes
//   M2 R->I  eR | idR | hdrR | sigR(th2) | seal_r2i(th2)                 201 bytes
//   M3 I->R  hdrI | sigI(th3) | seal_i2r(th3)                            137 bytes
//
//   th2 = BLAKE2b-256("fusion-link/1 responder" | M1 | eR | idR | hdrR)
//   th3 = BLAKE2b-256("fusion-link/1 initiator" | M1 | M2 | hdrI)
//
// The caller moves each message in a frame and enforces deadline(): when it passes before
// established(), it calls expire().

#include "link/fault.hpp"
#include "link/frames.hpp"
#include "link/identity.hpp"
#include "link/secret.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace fusion::link {

/// Who speaks first: the node that dialled is the initiator.
enum class role : uint8_t { initiator, responder };

/// Size of handshake message 1.
inline constexpr std::size_t m1_size = 104;
/// Size of handshake message 2.
inline constexpr std::size_t m2_size = 201;
/// Size of handshake message 3.
inline constexpr std::size_t m3_size = 137;
/// The protocol version this node speaks (the 8th byte of message 1).
inline constexpr uint8_t protocol_version = 1;
/// Default time a handshake may take, enforced by the caller.
inline constexpr std::chrono::milliseconds default_handshake_deadline{5000};

/// Whom a trusted key belongs to.
struct principal {
  /// Operator-given name, e.g. "zone-ghent".
  std::string name;
  /// What the principal may do (DESIGN §5: "domain_admin", "zone_admin", "provider", "node").
  std::string role;
};

/// The trust configuration: an allowlist of Ed25519 public keys, each mapped to a principal.
/// A handshake succeeds only with a peer whose key is listed.
struct trust {
  std::map<public_key, principal> members;

  /// Lists `pk` as `who` (replacing an earlier entry for the same key).
  void add(const public_key& pk, principal who) { members[pk] = std::move(who); }
  /// True if `pk` is listed.
  bool allows(const public_key& pk) const { return members.count(pk) > 0; }
  /// The principal of `pk`, or nullptr if it is not listed.
  const principal* lookup(const public_key& pk) const {
    auto i = members.find(pk);
    return i == members.end() ? nullptr : &i->second;
  }
};

/// Settings of one handshake and of the session it produces.
struct handshake_config {
  /// Time the caller allows for the whole handshake.
  std::chrono::milliseconds deadline = default_handshake_deadline;
  /// Initiator only: the key the dialled node must have (besides being trusted).
  std::optional<public_key> expected_peer;
  /// Largest frame body of the session.
  uint32_t max_frame = default_max_frame;
  /// The session's sealer batch threshold (see sealer).
  std::size_t batch_bytes = default_batch_bytes;
};

/// Where a handshake stands.
enum class handshake_state : uint8_t {
  /// Nothing sent or received.
  start,
  /// Initiator: M1 sent, waiting for M2.
  awaiting_m2,
  /// Responder: M2 sent, waiting for M3.
  awaiting_m3,
  /// Both authenticated; take_session() hands over the streams.
  established,
  /// Failed for good; every secret is wiped.
  failed,
};

/// Stable name of a handshake state.
std::string_view to_string(handshake_state x) noexcept;

/// What a completed handshake hands to the link: one stream per direction and the peer.
struct session {
  /// Seals what this node sends.
  sealer tx;
  /// Opens what the peer sends.
  opener rx;
  /// The peer's identity key.
  public_key peer{};
  /// Whom the trust configuration says the peer is.
  principal peer_principal;
};

/// One side of one handshake. Holds references to `me` and `trusted`: both must outlive it.
/// Key material (the ephemeral kx secret, session keys, stream states) is wiped as soon as
/// it is no longer needed, on failure, and on destruction.
class handshake {
 public:
  handshake(role r, const identity& me, const trust& trusted, handshake_config cfg = {});
  handshake(const handshake&) = delete;
  handshake& operator=(const handshake&) = delete;

  /// Initiator: message 1, to send. Anything else (a responder, a second call) fails the
  /// handshake with fault::wrong_state and returns nothing.
  bytes start();
  /// Consumes the peer's next message. Returns the reply to send: M2 for a responder's M1,
  /// M3 for an initiator's M2, nothing after M3 or on failure.
  bytes on_message(byte_span message);
  /// The caller's deadline passed: fails the handshake unless it is established.
  void expire();
  /// Hands over the session once established; nullopt otherwise. Afterwards the handshake
  /// holds no secrets and stays established (further messages fail it).
  std::optional<session> take_session();

  /// Where the handshake stands.
  handshake_state state() const noexcept { return state_; }
  /// True once both sides are authenticated (the initiator: once M3 is made).
  bool established() const noexcept { return state_ == handshake_state::established; }
  /// True after any failure; the handshake refuses everything from then on.
  bool failed() const noexcept { return state_ == handshake_state::failed; }
  /// Why it failed (fault::none while healthy).
  fault error() const noexcept { return fault_; }
  /// What went wrong, for a log line; "" while healthy.
  const std::string& reason() const noexcept { return reason_; }
  /// Time the caller allows for the handshake (handshake_config::deadline).
  std::chrono::milliseconds deadline() const noexcept { return cfg_.deadline; }
  /// Which side of the handshake this is.
  role side() const noexcept { return role_; }
  /// The peer's identity key, once the peer's first message named it.
  const std::optional<public_key>& peer() const noexcept { return peer_; }
  /// True while any key material is held (tests check it is gone after a failure).
  bool holds_secrets() const noexcept;

 private:
  bytes on_m1(byte_span m1);
  bytes on_m2(byte_span m2);
  bytes on_m3(byte_span m3);
  bytes fail(fault f, std::string why);
  void wipe_all() noexcept;

  role role_;
  const identity& me_;
  const trust& trust_;
  handshake_config cfg_;
  handshake_state state_ = handshake_state::start;
  fault fault_ = fault::none;
  std::string reason_;
  std::optional<public_key> peer_;
  bytes transcript_;            // M1 | M2 as sent/received
  secret_bytes<32> kx_secret_;  // initiator: eI's secret until M2
  public_key kx_public_{};      // initiator: eI
  secret_bytes<32> rx_key_;     // responder: the i2r key until M3
  stream_state push_, pull_;    // this node's send and receive streams
  bool session_taken_ = false;
};

}  // namespace fusion::link
