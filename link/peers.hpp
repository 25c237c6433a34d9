#pragma once
// Remote actors that look local (docs/security.md, "Remote actors"). One peer router per
// node owns the node's authenticated links (link_protocol.hpp): it answers requests that
// arrive over a link by asking the named local actor, and routes replies back to the proxy
// that asked. runtime::directory::resolve(locator) with another node's name returns a proxy
// for the named actor on that node: an ordinary local actor that turns every protocol
// request it gets into a request frame on the link, and the answer into the caller's reply.
// To callers it is a local handle: typed requests, replies, errors and timeouts work as
// usual; when the link goes, pending requests fail with errc::peer_unreachable and the
// proxy quits with exit_reason::remote_link_unreachable, so monitors get a down message.
// While no link to a node is up, its locators resolve to nothing (callers already treat an
// invalid handle as "not reachable").

#include "link/link_protocol.hpp"
#include "runtime/defaults.hpp"
#include "runtime/directory.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/duration.hpp>

#include <chrono>
#include <functional>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace fusion::link {

/// Starts one dial to the peer `node` whose links report to `owner`; returns the dialer,
/// which sends `owner` (link_down_atom, why) if it cannot connect (link/link_dialer.hpp).
using dial_function = std::function<caf::actor(caf::actor owner, const std::string& node)>;

/// Settings of a node's peer router.
struct peers_config {
  /// How long a request arriving over a link may take at its local target; the peer always
  /// gets an answer (the reply, the target's error, or request_timeout).
  caf::duration request_timeout{std::chrono::milliseconds{5000}};
  /// Peers this node dials (the rest dial it), kept connected: after a failed dial or a
  /// lost link the router dials again after a wait that doubles from 100 ms up to
  /// `reconnect_max`, and starts over at 100 ms once a link is up.
  std::vector<std::string> dial_peers;
  dial_function dial;
  std::chrono::milliseconds reconnect_max{defaults::link::reconnect_max_ms};
  /// A dial whose link is not up this long after it started (connect plus handshake)
  /// failed, however it failed.
  std::chrono::milliseconds dial_deadline{defaults::link::dial_timeout_ms +
                                          defaults::link::handshake_timeout_ms};
};

/// Counters of a peer router, for logs and tests.
struct peers_stats {
  uint64_t requests_served = 0;  ///< Requests from peers answered (replies and errors).
  uint64_t tells_delivered = 0;  ///< One-way messages from peers delivered.
  uint64_t rejected = 0;         ///< Messages from peers refused (see the log for why).
  uint64_t replies_routed = 0;   ///< Replies and failures handed to local proxies.
  uint64_t links_up = 0;         ///< Links that came up.
  uint64_t links_down = 0;       ///< Links that went down.
  uint64_t dials = 0;            ///< Dials started.
  uint64_t dial_failures = 0;    ///< Dials that got no link up (refused, silent, bad handshake).
  uint64_t send_refused = 0;     ///< Messages a congested link refused: requests among them
                                 ///< failed at once at their caller, the rest were dropped.
  uint64_t duplicate_links = 0;  ///< Second links to a node, closed (both nodes dialled).
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peers_stats& x) {
  return f(caf::meta::type_name("peers_stats"), x.requests_served, x.tells_delivered, x.rejected,
           x.replies_routed, x.links_up, x.links_down, x.dials, x.dial_failures, x.send_refused,
           x.duplicate_links);
}

using peers_stats_atom = caf::atom_constant<caf::atom("peers_st")>;

/// The node's view of its peers, shared by the router, its proxies and the directory:
/// which link serves which node, and the proxies made for it. Thread-safe.
class peer_table {
 public:
  explicit peer_table(caf::actor_system& sys) : sys_(sys) {}

  /// A proxy for `loc.actor` on node `loc.node`, or an invalid handle if no link to that
  /// node is up. Proxies are made once per link and actor name.
  caf::actor resolve(const protocols::locator& loc);
  /// The link serving `node`, or an invalid handle.
  caf::actor link_of(const std::string& node) const;
  /// Nodes with a link up, sorted.
  std::vector<std::string> nodes() const;

  // Used by the router.
  void set_router(caf::actor router);
  void link_up(const std::string& node, caf::actor link);
  /// Forgets `link` (if it still serves its node) and returns the proxies made for it.
  std::vector<caf::actor> link_down(const caf::actor& link);
  /// Forgets every link, proxy and the router (node shutdown); returns the proxies and the
  /// router, to be stopped.
  std::pair<std::vector<caf::actor>, caf::actor> clear();

 private:
  struct peer {
    caf::actor link;
    std::map<std::string, caf::actor> proxies;  // by actor name
  };
  caf::actor_system& sys_;
  mutable std::mutex mtx_;
  caf::actor router_;
  std::map<std::string, peer> peers_;  // by node name
};

using peer_table_ptr = std::shared_ptr<peer_table>;

/// Spawns the node's peer router: the owner to give every link of this node. Requests
/// from peers go to the actors `dir` holds; `dir` resolves other nodes' locators through
/// `table` from now on (until stop_peers).
caf::actor spawn_peers(caf::actor_system& sys, runtime::directory_ptr dir, peer_table_ptr table,
                       peers_config cfg = {});

/// Stops resolving remote locators, fails every proxy's pending requests and stops the
/// router (node shutdown).
void stop_peers(const runtime::directory_ptr& dir, const peer_table_ptr& table);

}  // namespace fusion::link
