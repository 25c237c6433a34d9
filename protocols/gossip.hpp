#pragma once
// Gossip membership and domain discovery (§6.2, DESIGN §4.7): SWIM-style failure detection
// (ping, indirect ping, ack) with membership updates piggybacked, periodic digests for
// anti-entropy, and domain advertisements so zones find their home domain without a
// central directory.

#include "protocols/common.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace fusion::protocols {

/// Liveness of a member as the sender believes it.
enum class member_status : uint8_t {
  alive = 0,    ///< Answers pings.
  suspect = 1,  ///< Missed a ping; declared dead unless it refutes in time.
  dead = 2,     ///< Confirmed failed; its slots are withdrawn.
  left = 3,     ///< Left voluntarily.
};

/// One member's state. A higher incarnation (bumped only by the member itself to refute
/// suspicion) overrides; at equal incarnation dead > suspect > alive.
struct member_state {
  std::string node_id;
  uint64_t incarnation = 0;
  member_status status = member_status::alive;
  std::string address;  ///< Node that hosts its gossip agent (a link peer's name); "" = the
                        ///< reader's own process (in-process topologies).
  std::string domain;   ///< Home domain, once known.
  std::vector<std::string> zones = {};  ///< Zones the member hosts (what its death fences).
  std::string accuser = {};             ///< Suspect or dead: the member whose failed probe says so.
  friend bool operator==(const member_state&, const member_state&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_state& x) {
  return f(caf::meta::type_name("member_state"), x.node_id, x.incarnation, x.status, x.address,
           x.domain, x.zones, x.accuser);
}

/// A domain's advertisement: where its zones register. Newer `version` replaces older.
/// Signed (version 2): members accept it only with a valid Ed25519 signature, by
/// `public_key`, of every other field (actors/gossip/advertisement.hpp), and only if they
/// trust that key for `domain`.
struct domain_advertisement {
  static constexpr message_meta meta{0x0C01, "domain_advertisement", 2, 2};
  std::string domain;
  locator zone_registry;  ///< Where zone managers send register_zone.
  locator registrar;      ///< Where providers register services.
  std::string node_id;    ///< Node that hosts the domain's orchestrator.
  uint64_t version = 0;
  locator routing_manager = {};  ///< The domain's routing manager: its routing domain.
  double latitude = 0;           ///< Where the orchestrator is, for the "nearest" policy.
  double longitude = 0;
  std::string public_key = {};  ///< Signer's Ed25519 key, base64 (`fusion-node keygen`).
  std::string signature = {};   ///< Ed25519 signature, base64.
  friend bool operator==(const domain_advertisement&, const domain_advertisement&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, domain_advertisement& x) {
  return f(caf::meta::type_name("domain_advertisement"), x.domain, x.zone_registry, x.registrar,
           x.node_id, x.version, x.routing_manager, x.latitude, x.longitude, x.public_key,
           x.signature);
}

/// Full membership view for anti-entropy (push-pull): the receiver merges it and answers
/// with its own digest.
struct membership_digest {
  static constexpr message_meta meta{0x0C02, "membership_digest", 2, 2};
  std::string sender;
  std::vector<member_state> members;
  std::vector<domain_advertisement> domains;
  friend bool operator==(const membership_digest&, const membership_digest&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, membership_digest& x) {
  return f(caf::meta::type_name("membership_digest"), x.sender, x.members, x.domains);
}

/// Direct probe of a member, carrying recent membership changes.
struct gossip_ping {
  static constexpr message_meta meta{0x0C03, "gossip_ping", 2, 2};
  std::string sender;
  uint64_t sequence = 0;
  std::vector<member_state> updates;
  std::vector<domain_advertisement> domains = {};  ///< Advertisements piggybacked (version 2).
  friend bool operator==(const gossip_ping&, const gossip_ping&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, gossip_ping& x) {
  return f(caf::meta::type_name("gossip_ping"), x.sender, x.sequence, x.updates, x.domains);
}

/// Answer to gossip_ping, sent back to the prober; a helper of a gossip_ping_req forwards the
/// target's answer to the requester with the requester's sequence. Either way `sender` is
/// the member that answered the probe.
struct gossip_ack {
  static constexpr message_meta meta{0x0C04, "gossip_ack", 2, 2};
  std::string sender;
  uint64_t sequence = 0;  ///< Echoes the probe's sequence.
  std::vector<member_state> updates;
  std::vector<domain_advertisement> domains = {};  ///< Advertisements piggybacked (version 2).
  friend bool operator==(const gossip_ack&, const gossip_ack&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, gossip_ack& x) {
  return f(caf::meta::type_name("gossip_ack"), x.sender, x.sequence, x.updates, x.domains);
}

/// Indirect probe: ask a member to ping `target` on the sender's behalf.
struct gossip_ping_req {
  static constexpr message_meta meta{0x0C05, "gossip_ping_req", 1, 3};
  std::string sender;
  uint64_t sequence = 0;
  member_state target;
  friend bool operator==(const gossip_ping_req&, const gossip_ping_req&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, gossip_ping_req& x) {
  return f(caf::meta::type_name("gossip_ping_req"), x.sender, x.sequence, x.target);
}

/// What a gossip agent tells the actors that watch it (its observers: the zone registry on a
/// domain's node, the zone managers on a zone's node): a member joined, became suspect, was
/// declared dead, refuted, or left; `member` is its state now, `previous` its status before
/// (the same as its status for a member newly known: a join).
struct member_change {
  static constexpr message_meta meta{0x0C06, "member_change", 1, 2};
  member_state member;
  member_status previous = member_status::alive;
  bool self = false;  ///< The member is the observer's own node (it was declared dead: rejoin).
  friend bool operator==(const member_change&, const member_change&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_change& x) {
  return f(caf::meta::type_name("member_change"), x.member, x.previous, x.self);
}

/// Typed interface of a gossip agent (actors/gossip/agent.hpp). Probes and their answers are
/// one-way messages, so no request timeout is ever left pending: the agent's own clock
/// decides when a probe failed. A digest is a request (push-pull); an empty digest from
/// sender "" merges nothing and returns the agent's whole view (tests, tools). A
/// domain_advertisement from a local actor is one to originate (the domain role's own).
using gossip_actor = caf::typed_actor<caf::reacts_to<gossip_ping>, caf::reacts_to<gossip_ack>,
                                      caf::reacts_to<gossip_ping_req>,
                                      caf::replies_to<membership_digest>::with<membership_digest>,
                                      caf::reacts_to<domain_advertisement>>;

}  // namespace fusion::protocols
