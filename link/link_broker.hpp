#pragma once
// The link broker (docs/security.md, "Link broker"): a CAF io broker that owns ONE TCP
// connection to another node. It runs the handshake over length-prefixed frames, then seals
// what its owner sends (batched per burst) and opens what the peer sends (delivered per
// read, grouped), keeps the link alive with authenticated heartbeats and closes it on any
// fault. Its messages are the contract in link/link_protocol.hpp.
//
// Stop a link with link_close_atom or an exit message other than kill: it closes orderly
// and quits once its own pending tick is back (a killed broker with a pending self-message
// is never freed in CAF 0.17).
//
// Two ways in: a responder is forked by the listener (link/link_listener.hpp) for an
// accepted connection; an initiator adopts a socket the dialer (link/link_dialer.hpp)
// connected, or (tests) a connection handle from middleman::spawn_client.

#include "link/frames.hpp"
#include "link/handshake.hpp"
#include "link/link_context.hpp"
#include "link/link_protocol.hpp"

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/connection_handle.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fusion::link {

/// Link -> listener, once per responder: how its handshake ended ("" = established,
/// otherwise the fault name or "peer closed").
using link_handshake_done_atom = caf::atom_constant<caf::atom("lnk_hsdone")>;

/// State of one link broker. Secrets (handshake, sealer, opener) are destroyed, and so
/// wiped, as soon as the link closes.
struct link_state {
  link_state() = default;  // not an aggregate: CAF would construct it from `self` (C++20)

  /// Shared node context; declared first so that it outlives the handshake referring to it.
  std::shared_ptr<const link_context> ctx;
  caf::io::connection_handle hdl;
  caf::actor owner;
  /// Responder: the listener to tell how the handshake ended (weak).
  caf::actor_addr listener;
  link_info info;
  /// True once the owner may hear about this link: it was told link_up, or it dialled.
  bool owner_knows = false;
  std::unique_ptr<handshake> hs;  // until established or closed
  bytes hs_in;                    // handshake frames not yet complete (at most one read)
  frame_decoder decoder;          // session frames
  std::optional<sealer> tx;       // after the handshake, until closed
  std::optional<opener> rx;       // after the handshake, until closed
  std::vector<link_bytes> early;  // sent by the owner before the handshake completed
  std::size_t early_bytes = 0;    // their size; both bounded (link_settings)
  std::size_t sending = 0;        // bytes CAF took from the write buffer, not yet written
  bool refusing = false;          // an episode of refused messages is open (logged once)
  uint64_t refused_now = 0;       // messages refused in the open episode
  bool flush_pending = false;     // a flush message to self is in flight
  bool tick_armed = false;        // a delayed tick to self is in flight
  bool closing = false;
  caf::actor_clock::time_point started;
  caf::actor_clock::time_point last_rx;
  caf::actor_clock::time_point last_tx;
  link_stats stats;
  bytes out;                      // sealed frames on their way to the write buffer
  std::vector<byte_span> opened;  // views into the opener's buffer
  static inline const char* name = "fusion.link";
};

/// A broker running a link.
using link_actor = caf::io::stateful_broker<link_state>;

/// Responder behaviour, for broker::fork: the peer dialled us. Nothing reaches `owner`
/// before the handshake succeeds; `listener` (may be null) learns how it ended.
caf::behavior link_responder(link_actor* self, caf::io::connection_handle hdl, caf::actor owner,
                             std::shared_ptr<const link_context> ctx, caf::actor_addr listener);

/// Initiator behaviour over a connection handle (tests: middleman::spawn_client). `remote`
/// is "host:port" for logs and link_info; `expected_peer` pins the dialled node's key.
caf::behavior link_initiator(link_actor* self, caf::io::connection_handle hdl, caf::actor owner,
                             std::shared_ptr<const link_context> ctx, std::string remote,
                             std::optional<public_key> expected_peer);

/// Initiator behaviour adopting a connected socket (the dialer: middleman::spawn_broker).
caf::behavior link_initiator_fd(link_actor* self, int fd, caf::actor owner,
                                std::shared_ptr<const link_context> ctx, std::string remote,
                                std::optional<public_key> expected_peer);

}  // namespace fusion::link
