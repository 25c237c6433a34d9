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
  std::string address;  ///< "host:port" of its gossip endpoint; "" in-process.
  std::string domain;   ///< Home domain, once known.
  friend bool operator==(const member_state&, const member_state&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_state& x) {
  return f(caf::meta::type_name("member_state"), x.node_id, x.incarnation, x.status, x.address,
           x.domain);
}

/// A domain's advertisement: where its zones register. Newer `version` replaces older.
struct domain_advertisement {
  static constexpr message_meta meta{0x0C01, "domain_advertisement", 1, 2};
  std::string domain;
  locator zone_registry;  ///< Where zone managers send register_zone.
  locator registrar;      ///< Where providers register services.
  std::string node_id;    ///< Node that hosts the domain's orchestrator.
  uint64_t version = 0;
  friend bool operator==(const domain_advertisement&, const domain_advertisement&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, domain_advertisement& x) {
  return f(caf::meta::type_name("domain_advertisement"), x.domain, x.zone_registry, x.registrar,
           x.node_id, x.version);
}

/// Full membership view for anti-entropy (push-pull): the receiver merges it and answers
/// with its own digest.
struct membership_digest {
  static constexpr message_meta meta{0x0C02, "membership_digest", 1, 2};
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
  static constexpr message_meta meta{0x0C03, "gossip_ping", 1, 2};
  std::string sender;
  uint64_t sequence = 0;
  std::vector<member_state> updates;
  friend bool operator==(const gossip_ping&, const gossip_ping&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, gossip_ping& x) {
  return f(caf::meta::type_name("gossip_ping"), x.sender, x.sequence, x.updates);
}

/// Answer to gossip_ping or gossip_ping_req: the target is alive.
struct gossip_ack {
  static constexpr message_meta meta{0x0C04, "gossip_ack", 1, 2};
  std::string sender;
  uint64_t sequence = 0;  ///< Echoes the probe's sequence.
  std::vector<member_state> updates;
  friend bool operator==(const gossip_ack&, const gossip_ack&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, gossip_ack& x) {
  return f(caf::meta::type_name("gossip_ack"), x.sender, x.sequence, x.updates);
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

/// Typed interface of a node's gossip agent.
using gossip_actor = caf::typed_actor<caf::replies_to<gossip_ping>::with<gossip_ack>,
                                      caf::replies_to<gossip_ping_req>::with<gossip_ack>,
                                      caf::replies_to<membership_digest>::with<membership_digest>,
                                      caf::reacts_to<domain_advertisement>>;

}  // namespace fusion::protocols
