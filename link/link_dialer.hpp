#pragma once
// The link dialer (docs/security.md, "Link broker"): connects to another node without ever
// blocking the multiplexer. A detached actor (its own thread) resolves the address and
// connects non-blocking with poll() and the context's dial_timeout, then spawns an initiator
// link broker (link/link_broker.hpp) that adopts the connected socket.

#include "link/identity.hpp"
#include "link/link_context.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace fusion::link {

/// Dials `host:port` for `owner`. On success the new link talks to `owner` (link_up_atom,
/// ...; link_down_atom if the handshake fails). On failure `owner` gets (link_down_atom,
/// "cannot connect to host:port: <why>") from the returned dialer, which then quits.
/// `expected_peer` pins the key the dialled node must have. Returns the dialer (detached,
/// short-lived) at once.
caf::actor dial(caf::actor_system& sys, const std::string& host, uint16_t port, caf::actor owner,
                std::shared_ptr<const link_context> ctx,
                std::optional<public_key> expected_peer = {});

}  // namespace fusion::link
