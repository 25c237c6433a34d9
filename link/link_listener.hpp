#pragma once
// The link listener (docs/security.md, "Link broker"): a CAF io broker that accepts TCP
// connections on one address and forks a responder link (link/link_broker.hpp) for each.
// It bounds the handshakes in progress: a connection beyond max_pending_handshakes is
// closed at once and counted, so a flood of connections cannot exhaust memory.
//
//   any -> listener  (link_stats_atom) -> listener_stats

#include "link/link_context.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

namespace fusion::link {

/// Counters of one listener.
struct listener_stats {
  uint64_t accepted = 0;                   ///< Connections handed to a responder link.
  uint64_t refused_overload = 0;           ///< Connections closed at once: too many handshakes.
  uint64_t established = 0;                ///< Handshakes that completed.
  uint64_t pending = 0;                    ///< Handshakes in progress now.
  std::map<std::string, uint64_t> failed;  ///< Failed handshakes by fault name.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, listener_stats& x) {
  return f(caf::meta::type_name("listener_stats"), x.accepted, x.refused_overload, x.established,
           x.pending, x.failed);
}

/// Listener -> the actor that spawned it: (link_listening_atom, uint16_t bound_port).
using link_listening_atom = caf::atom_constant<caf::atom("lnk_lsng")>;

/// Spawns a listener broker that binds `host:port` (port 0: any free port) on the
/// multiplexer thread, then sends `reply_to` (link_listening_atom, bound port) — or a
/// caf::error and quits if it cannot bind. Responder links report to `owner`. The caller
/// stops the listener with an exit message; links it forked live on.
caf::actor spawn_listener(caf::actor_system& sys, const std::string& host, uint16_t port,
                          caf::actor owner, std::shared_ptr<const link_context> ctx,
                          caf::actor reply_to);

/// spawn_listener, waiting (at most `timeout`) for the outcome: the listener and its bound
/// port, or why it could not bind. Blocks the calling thread: not for use inside an actor.
caf::expected<std::pair<caf::actor, uint16_t>> listen(
    caf::actor_system& sys, const std::string& host, uint16_t port, caf::actor owner,
    std::shared_ptr<const link_context> ctx,
    std::chrono::milliseconds timeout = std::chrono::milliseconds{5000});

}  // namespace fusion::link
