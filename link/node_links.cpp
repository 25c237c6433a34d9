#include "link/node_links.hpp"

#include "link/identity.hpp"
#include "link/link_context.hpp"
#include "link/link_dialer.hpp"
#include "link/link_listener.hpp"
#include "link/peers.hpp"
#include "protocols/errc.hpp"
#include "runtime/logging.hpp"

#include <caf/send.hpp>

#include <spdlog/logger.h>

#include <map>

namespace fusion::link {

namespace {

caf::error config_error(std::string what) {
  return make_error(errc::invalid_config, std::move(what));
}

}  // namespace

void node_links::stop() {
  if (auto f = std::exchange(stop_, nullptr)) f();
}

caf::expected<std::unique_ptr<node_links>> start_node_links(caf::actor_system& sys,
                                                            const runtime::node_config& nc,
                                                            runtime::directory_ptr dir) {
  const auto& lc = nc.link;
  auto me = identity::load(lc.identity);
  if (!me)
    return config_error("link.identity: " + describe(me.error()) +
                        " (make one with: fusion-node keygen FILE)");
  trust trusted;
  std::map<std::string, runtime::peer_address> dial_to;
  std::map<std::string, public_key> keys;
  for (size_t i = 0; i < nc.peers.size(); ++i) {
    const auto& p = nc.peers[i];
    auto pk = parse_public_key(p.public_key);
    if (!pk)
      return config_error("peer[" + std::to_string(i) + "].public_key: not a public key (copy " +
                          "the line fusion-node keygen printed)");
    trusted.add(*pk, principal{p.name, p.role});
    keys[p.name] = *pk;
    if (p.address.empty()) continue;
    auto a = runtime::parse_peer_address(p.address);
    if (!a)
      return config_error("peer[" + std::to_string(i) + "].address: expected host:port, found \"" +
                          p.address + "\"");
    dial_to[p.name] = *a;
  }
  auto log = runtime::logger("link");
  log->info("node '{}' link identity {}", nc.node.name, me->public_key_text());
  auto settings = settings_of(lc);
  auto ctx = make_link_context(std::move(*me), std::move(trusted), settings);
  dir->set_node(nc.node.name);
  auto table = std::make_shared<peer_table>(sys);
  peers_config pc;
  pc.request_timeout = caf::duration{std::chrono::milliseconds{nc.deployment.step_timeout_ms}};
  pc.reconnect_max = std::chrono::milliseconds{lc.reconnect_max_ms};
  pc.dial_deadline = settings.dial_timeout + settings.handshake_deadline;
  for (const auto& [name, a] : dial_to) pc.dial_peers.push_back(name);
  pc.dial = [&sys, ctx, dial_to, keys](caf::actor owner, const std::string& node) {
    const auto& a = dial_to.at(node);
    return dial(sys, a.host, a.port, std::move(owner), ctx, keys.at(node));
  };
  auto router = spawn_peers(sys, dir, table, std::move(pc));
  auto links = std::make_unique<node_links>();
  caf::actor listener;
  if (!lc.address.empty()) {
    auto bound = listen(sys, lc.address, static_cast<uint16_t>(lc.port), router, ctx);
    if (!bound) {
      stop_peers(dir, table);
      return config_error("link.address: cannot listen on " + lc.address + ":" +
                          std::to_string(lc.port) + ": " + describe(bound.error()));
    }
    listener = bound->first;
    links->port_ = bound->second;
    // Tests and operators read the bound port (link.port = 0) from this line.
    log->info("node '{}' listens for links on {}:{}", nc.node.name, lc.address, links->port_);
  }
  links->stop_ = [dir, table, listener] {
    if (listener) caf::anon_send_exit(listener, caf::exit_reason::user_shutdown);
    stop_peers(dir, table);
  };
  return links;
}

}  // namespace fusion::link
