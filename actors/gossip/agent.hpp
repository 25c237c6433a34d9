#pragma once
// A gossip agent (docs/gossip.md): one membership member (actors/gossip/membership.hpp)
// as an actor. It reaches other members' agents through the directory (in this process, or
// over the node's links), joins through seed agents, finds its home domain among the signed
// advertisements it learns (or, allowed to, bootstraps one), and tells its observers — the
// zone registry on a domain's node, the zone managers of a zone — what changed: members
// joining, suspected, declared dead, refuting, and its home domain.

#include "actors/gossip/advertisement.hpp"
#include "actors/gossip/membership.hpp"
#include "protocols/gossip.hpp"
#include "runtime/directory.hpp"

#include <caf/actor_system.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace fusion::gossip {

/// How a member picks its home domain among those advertised.
enum class domain_policy : uint8_t {
  first,    ///< The first advertisement it accepts.
  named,    ///< The domain called `agent_config::domain`, however long it takes.
  nearest,  ///< The nearest orchestrator (great-circle distance) after `settle_ms`.
};

/// Parses "first", "named" or "nearest".
std::optional<domain_policy> parse_domain_policy(const std::string& s);

struct agent_config {
  /// The member: `node_id` (unique: "zone/<name>" or "domain/<name>"), `address` (this
  /// node's name, "" in one process), `zones` it hosts, starting `incarnation`.
  protocols::member_state self;
  params protocol;
  uint64_t seed = 0;  ///< Of its random choices.
  /// Agents to join through (another node's over its link, or one in this process). Asked
  /// again every push-pull period while this member knows no other live member.
  std::vector<protocols::locator> seeds;
  domain_trust trust;  ///< Keys trusted to advertise domains.
  /// Its own domain's advertisement, signed (a domain's node): originated at start and
  /// its home domain.
  std::optional<protocols::domain_advertisement> advertise;
  domain_policy policy = domain_policy::first;
  std::string domain;                  ///< For domain_policy::named.
  double latitude = 0, longitude = 0;  ///< Where the member is, for domain_policy::nearest.
  time_ms settle_ms = 1'000;           ///< nearest: wait this long after the first advertisement.
  /// No home domain this long after start: bootstrap one with `bootstrap` (§6.2). 0 = never.
  time_ms bootstrap_after_ms = 0;
  /// Starts a domain on this node and returns its signed advertisement (nullopt: could not).
  std::function<std::optional<protocols::domain_advertisement>()> bootstrap;
  /// Told member_change (every change, and self = true when this member was declared dead
  /// and refuted) and the home domain's advertisement (when picked, and each newer version).
  std::vector<protocols::locator> observers;
  /// Also registered in the directory under this name ("" = not): a node's seed entry.
  std::string alias;
  /// The WAN tier (docs/gossip.md, "Two tiers"): every advertisement of another domain this
  /// agent learns is handed to the agent here (its domain's LAN agent), which spreads it
  /// to its zones. Empty = none.
  protocols::locator relay_domains;
  /// Tests only: called with the receiving member's id before each message leaves; false
  /// drops it (loss, a partition). Null = every message leaves.
  std::function<bool(const std::string& to)> network;
  agent_config() = default;
};

/// Spawns the agent and registers it in `dir` as names::gossip(cfg.self.node_id).
protocols::gossip_actor spawn_gossip_agent(caf::actor_system& sys, agent_config cfg,
                                           runtime::directory_ptr dir);

/// Name a node's first agent is also registered under: its seed entry for other nodes.
inline constexpr const char* seed_name = "gossip";
/// Name a domain node's WAN agent is also registered under: its entry for other domains.
inline constexpr const char* wan_seed_name = "gossip-wan";

}  // namespace fusion::gossip
