#pragma once
// Role composition: each FUSION role ("domain", "zones") registers a starter under its
// name; fusion-node starts the roles its config lists, in order, without knowing them.
// A role folder registers itself with FUSION_REGISTER_ROLE in one of its .cpp files
// (fusion-node links fusion_topology whole, so such registrations are never dropped).

#include "runtime/config.hpp"
#include "runtime/directory.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/error.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace fusion::runtime {

/// What a starting role gets from the node and leaves behind for shutdown.
struct role_context {
  /// Name → handle map shared by every role of this process.
  directory_ptr directory = std::make_shared<runtime::directory>();
  /// Actors told to quit (exit_reason::user_shutdown) when the node stops.
  std::vector<caf::actor> actors;
  /// Run at shutdown in reverse order of registration, before the actors are told to quit.
  std::vector<std::function<void()>> on_stop;
};

/// Starts one role: spawns its actors (keeping their handles in `ctx`) and returns an error
/// that explains what to fix if it cannot start.
using role_starter =
    std::function<caf::error(caf::actor_system&, const node_config&, role_context&)>;

/// Named role starters. The process has one (roles()); tests make their own.
class role_registry {
 public:
  /// Registers `fn` as role `name`; returns false (and keeps the old one) if taken.
  bool add(std::string name, role_starter fn);

  /// Names of the registered roles, sorted.
  std::vector<std::string> names() const;

  /// Starts every role of `nc.node.roles` in order; stops at the first failure, telling
  /// the actors started so far to quit. A role nobody registered is an error.
  caf::error start(caf::actor_system& sys, const node_config& nc, role_context& ctx) const;

 private:
  std::map<std::string, role_starter> starters_;
};

/// The process-wide role registry, filled by FUSION_REGISTER_ROLE at static-init time.
role_registry& roles();

/// Registers `fn` as role `name` in roles(); the result feeds a static initializer.
bool register_role(std::string name, role_starter fn);

/// Runs ctx.on_stop hooks, tells ctx.actors to quit and clears the directory, so the actor
/// system can shut down. Idempotent.
void stop_roles(role_context& ctx);

}  // namespace fusion::runtime

/// Registers `starter` as role `name` when the program starts (use once per role, at
/// namespace scope in the role's .cpp).
#define FUSION_REGISTER_ROLE(ident, name, starter)                    \
  [[maybe_unused]] static const bool fusion_role_registered_##ident = \
      ::fusion::runtime::register_role(name, starter)
