#pragma once
// fusion-shell's way into a FUSION deployment: an actor system of its own, and either the
// roles of a node config started in this process (--embedded) or links to other nodes as a
// principal (--config SHELL.toml: [link] identity and [[peer]]s, no roles). Everything the
// shell does goes through protocol messages sent by a scoped actor, with a timeout, to actors
// found by name in the runtime directory (protocols/names.hpp) — never through role internals.

#include "protocols/manifest.hpp"
#include "runtime/config.hpp"
#include "runtime/directory.hpp"
#include "runtime/roles.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>
#include <caf/message.hpp>
#include <caf/scoped_actor.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace fusion::link {
class node_links;
}

namespace fusion::shell {

/// How to connect.
struct client_options {
  bool embedded = false;     ///< Start a node config's roles in this process.
  std::string config;        ///< Node config (embedded) or shell config (links); "" = built-in.
  std::string builtin_toml;  ///< The built-in embedded config (configs/embedded.toml).
  std::string builtin_dir;   ///< Folder relative paths of the built-in config start at.
  std::string node;          ///< Node asked by default; "" = this process or the first peer.
  std::chrono::milliseconds timeout{5000};  ///< Per request (and per wait for a link).
  std::string log_level;                    ///< Overrides [log] level when set.
  /// Who the shell acts as in-process (over a link, the remote node replaces it with the
  /// principal its trust entry gives the shell's key).
  protocols::principal caller{"operator", protocols::role::domain_admin};
};

/// A running connection. Not thread-safe: the shell's thread owns it.
class client {
 public:
  /// Starts the actor system and the roles or links; says what to fix if it cannot.
  /// `startup` receives what starting the embedded services printed.
  static caf::expected<std::unique_ptr<client>> start(const client_options& opts,
                                                      std::string* startup = nullptr);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Sends `msg` (a registered request) to `actor` ("domain/registrar", or
  /// "domain/registrar@NODE") and waits for the typed reply or error, at most the timeout.
  caf::expected<caf::message> request(const std::string& actor, caf::message msg);
  caf::expected<caf::message> request(const std::string& actor, caf::message msg,
                                      std::chrono::milliseconds timeout);

  /// Sends `msg` one way (no reply) to `actor`.
  caf::error send(const std::string& actor, caf::message msg);

  /// Ends the actor `actor` of this process at once, as a crash would (exit reason kill):
  /// for failure scenarios with --embedded. Actors of other nodes cannot be killed.
  caf::error kill(const std::string& actor);

  /// Actor names this node's directory knows (embedded), or the well-known names of the
  /// default node and its zone managers (over a link: nodes do not list their actors).
  std::vector<std::string> actors();

  /// Whether `msg`'s type is a request that some interface answers (false: one-way).
  static bool is_request(const caf::message& msg);
  /// The reply type's name of the request message `name` ("" if one-way or unknown).
  static std::string reply_name(const std::string& name);

  /// Node asked when an actor name carries no "@NODE".
  const std::string& node() const { return node_; }
  void set_node(std::string node) { node_ = std::move(node); }
  /// Peer node names of the config.
  std::vector<std::string> peers() const;
  bool embedded() const { return opts_.embedded; }
  const protocols::principal& caller() const { return opts_.caller; }
  std::chrono::milliseconds timeout() const { return opts_.timeout; }
  void set_timeout(std::chrono::milliseconds t) { opts_.timeout = t; }
  caf::actor_system& system() { return *sys_; }
  const runtime::node_config& config() const { return nc_; }

  /// Stops roles, links and the actor system. Idempotent.
  void stop();

 private:
  client() = default;
  caf::expected<caf::actor> resolve(const std::string& actor, std::chrono::milliseconds wait);

  client_options opts_;
  runtime::node_config nc_;
  std::string node_;
  std::unique_ptr<caf::actor_system_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  runtime::role_context ctx_;
  std::unique_ptr<link::node_links> links_;
  std::unique_ptr<caf::scoped_actor> self_;
};

}  // namespace fusion::shell
