#include "runtime/roles.hpp"

#include "protocols/errc.hpp"

#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace fusion::runtime {

bool role_registry::add(std::string name, role_starter fn) {
  return starters_.emplace(std::move(name), std::move(fn)).second;
}

std::vector<std::string> role_registry::names() const {
  std::vector<std::string> out;
  for (const auto& kv : starters_) out.push_back(kv.first);
  return out;
}

caf::error role_registry::start(caf::actor_system& sys, const node_config& nc,
                                role_context& ctx) const {
  ctx.directory->set_node(nc.node.name);
  // A node with an identity starts its links first: its roles may need its peers' actors.
  auto order = nc.node.roles;
  if (!nc.link.identity.empty()) order.insert(order.begin(), "links");
  for (const auto& name : order) {
    auto i = starters_.find(name);
    caf::error err;
    if (i == starters_.end())
      err = make_error(
          errc::invalid_config,
          fmt::format("role \"{}\" is not built into this fusion-node (available: "
                      "{}); remove it from node.roles",
                      name,
                      names().empty() ? "none" : fmt::format("{}", fmt::join(names(), ", "))));
    else
      err = i->second(sys, nc, ctx);
    if (err) {
      stop_roles(ctx);
      return err;
    }
  }
  return {};
}

role_registry& roles() {
  static role_registry instance;
  return instance;
}

bool register_role(std::string name, role_starter fn) {
  return roles().add(std::move(name), std::move(fn));
}

void stop_roles(role_context& ctx) {
  while (!ctx.on_stop.empty()) {
    auto fn = std::move(ctx.on_stop.back());
    ctx.on_stop.pop_back();
    fn();
  }
  for (auto& a : ctx.actors) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  ctx.actors.clear();
  ctx.directory->clear();
}

}  // namespace fusion::runtime
