#pragma once
// A node's links as its config describes them ([link], [[peer]]; docs/operations.md, "Links
// and peers"): its identity, the trust allowlist made of its peers' keys, a listener if
// link.address is set, the peer router (link/peers.hpp) and a kept-up link to every peer
// that has an address. Started before the node's roles, so roles on this node reach actors
// on its peers through runtime::directory::resolve; stopped after them.

#include "runtime/config.hpp"
#include "runtime/directory.hpp"

#include <caf/actor_system.hpp>
#include <caf/error.hpp>

#include <functional>
#include <memory>

namespace fusion::link {

/// What start_node_links leaves running; stop() ends it (also on destruction).
class node_links {
 public:
  node_links() = default;
  node_links(const node_links&) = delete;
  node_links& operator=(const node_links&) = delete;
  ~node_links() { stop(); }

  /// The port the listener is bound to (0 if this node does not listen).
  uint16_t port() const { return port_; }
  /// Closes every link (orderly), stops the listener and the router, and stops resolving
  /// other nodes' locators. Idempotent.
  void stop();

 private:
  friend caf::expected<std::unique_ptr<node_links>> start_node_links(caf::actor_system& sys,
                                                                     const runtime::node_config& nc,
                                                                     runtime::directory_ptr dir);
  std::function<void()> stop_;
  uint16_t port_ = 0;
};

/// Starts the links `nc` describes, or says what to fix: an identity file that cannot be
/// read or is too open, a peer key that does not parse, an address that cannot be bound.
caf::expected<std::unique_ptr<node_links>> start_node_links(caf::actor_system& sys,
                                                            const runtime::node_config& nc,
                                                            runtime::directory_ptr dir);

}  // namespace fusion::link
