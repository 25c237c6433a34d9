#include "link/peers.hpp"

#include "link/rpc.hpp"
#include "protocols/all_messages.hpp"
#include "protocols/errc.hpp"
#include "protocols/registry.hpp"
#include "runtime/logging.hpp"

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/message_view.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

#include <fmt/format.h>
#include <spdlog/logger.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <typeindex>
#include <unordered_map>
#include <utility>

namespace fusion::link {

namespace {

using proxy_send_atom = caf::atom_constant<caf::atom("px_send")>;
using proxy_reply_atom = caf::atom_constant<caf::atom("px_reply")>;
using proxy_failure_atom = caf::atom_constant<caf::atom("px_fail")>;
using redial_atom = caf::atom_constant<caf::atom("redial")>;
using dial_check_atom = caf::atom_constant<caf::atom("dial_chk")>;

constexpr std::chrono::milliseconds first_redial{100};

const protocols::message_registry& registry() {
  return protocols::message_registry::instance();
}

/// The registered message type held by a one-element message, or nullptr.
const protocols::message_entry* entry_of(const caf::message& msg) {
  if (msg.size() != 1) return nullptr;
  const auto* info = msg.type(0).second;
  return info ? registry().find(std::type_index{*info}) : nullptr;
}

// ---- proxy --------------------------------------------------------------------------------

struct proxy_state {
  proxy_state() = default;
  struct parked {
    caf::response_promise rp;
    uint16_t reply_type = 0;
  };
  std::string node;   // the peer node
  std::string actor;  // the actor's name there
  caf::actor router;
  std::unordered_map<uint64_t, parked> pending;
  static inline const char* name = "proxy";
};

using proxy_actor = caf::stateful_actor<proxy_state>;

void fail_all(proxy_actor* self, const std::string& why) {
  for (auto& [rid, p] : self->state.pending)
    p.rp.deliver(make_error(errc::peer_unreachable, "node '" + self->state.node + "': " + why));
  self->state.pending.clear();
}

/// Request ids: unique in the process, so one router can tell every answer's proxy.
uint64_t next_rid() {
  static std::atomic<uint64_t> rid{0};
  return ++rid;
}

caf::behavior proxy(proxy_actor* self, std::string node, std::string actor, caf::actor router) {
  auto& st = self->state;
  st.node = std::move(node);
  st.actor = std::move(actor);
  st.router = std::move(router);
  self->set_default_handler([self](caf::scheduled_actor*,
                                   caf::message_view& mv) -> caf::result<caf::message> {
    auto& st = self->state;
    auto msg = mv.move_content_to_message();
    const auto* entry = entry_of(msg);
    const auto* rpc = entry ? find_rpc(entry->meta.type_id) : nullptr;
    if (!rpc)
      return make_error(errc::invalid_argument,
                        fmt::format("'{}' cannot be sent to node '{}': no protocol "
                                    "interface accepts it",
                                    registry().print(msg), st.node));
    auto envelope = registry().encode(msg);
    if (!envelope) return envelope.error();
    rpc_frame f;
    f.kind = rpc->reply_type == 0 ? rpc_kind::tell : rpc_kind::request;
    f.rid = f.kind == rpc_kind::request ? next_rid() : 0;
    f.target = st.actor;
    f.envelope = std::move(*envelope);
    self->send(st.router, proxy_send_atom::value, st.node, f.rid, encode_rpc(f));
    if (f.kind == rpc_kind::tell) return caf::message{};
    st.pending.emplace(f.rid, proxy_state::parked{self->make_response_promise(), rpc->reply_type});
    return caf::delegated<caf::message>{};
  });
  return {
      [=](proxy_reply_atom, uint64_t rid, const link_bytes& envelope) {
        auto i = self->state.pending.find(rid);
        if (i == self->state.pending.end()) return;
        auto p = std::move(i->second);
        self->state.pending.erase(i);
        auto msg = registry().decode(envelope.data(), envelope.size());
        if (!msg) {
          p.rp.deliver(std::move(msg.error()));
          return;
        }
        const auto* entry = entry_of(*msg);
        if (!entry || entry->meta.type_id != p.reply_type) {
          p.rp.deliver(make_error(errc::malformed_frame,
                                  "node '" + self->state.node + "' answered with " +
                                      registry().print(*msg) + ", not the reply type"));
          return;
        }
        p.rp.deliver(std::move(*msg));
      },
      [=](proxy_failure_atom, uint64_t rid, caf::error& err) {
        auto i = self->state.pending.find(rid);
        if (i == self->state.pending.end()) return;
        i->second.rp.deliver(std::move(err));
        self->state.pending.erase(i);
      },
      [=](link_down_atom, const std::string& why) {
        fail_all(self, why);
        self->quit(caf::exit_reason::remote_link_unreachable);  // like a CAF remote proxy
      },
  };
}

// ---- router -------------------------------------------------------------------------------

struct router_state {
  router_state() = default;
  runtime::directory_ptr dir;
  peer_table_ptr table;
  peers_config cfg;
  std::map<caf::actor_addr, link_info> links;  // links up, by address
  struct waiting {
    caf::actor proxy;
    caf::actor_addr link;
  };
  std::unordered_map<uint64_t, waiting> waiting;  // requests sent, by rid
  struct dial_plan {
    std::chrono::milliseconds backoff = first_redial;  // wait before the next dial
    caf::actor_addr dialer;                            // the dial in progress, if any
    bool up = false;                                   // a link to the peer is up
    uint64_t attempt = 0;  // numbers dials and redials: older deadline checks are stale
  };
  std::map<std::string, dial_plan> dials;  // peers this node dials, by name
  peers_stats stats;
  std::shared_ptr<spdlog::logger> log;
  static inline const char* name = "peers";
};

using router_actor = caf::stateful_actor<router_state>;

void send_frame(router_actor* self, const caf::actor& link, const rpc_frame& f) {
  self->send(link, link_send_atom::value, encode_rpc(f));
}

void reject(router_actor* self, const link_info& from, const std::string& why) {
  ++self->state.stats.rejected;
  self->state.log->warn("refused a message from node '{}' ({}): {}", from.peer_name, from.remote,
                        why);
}

/// The role a trust configuration's role name stands for ("node" has none: it is a peer).
std::optional<protocols::role> principal_role(const std::string& name) {
  using protocols::role;
  for (auto r : {role::service_provider, role::zone_admin, role::domain_admin})
    if (name == to_string(r)) return r;
  return std::nullopt;
}

/// Requests without a caller that only read state: a domain admin's key may send them too,
/// so an operator's shell can look at zones, slots, decisions and routes over a link.
bool admin_may_ask(uint16_t type_id) {
  using namespace protocols;
  constexpr uint16_t queries[] = {
      list_zones::meta.type_id,
      list_slots::meta.type_id,
      get_zone_information::meta.type_id,
      get_service_information::meta.type_id,
      get_zone_registration::meta.type_id,
      list_hosted_instances::meta.type_id,
      explain_placement::meta.type_id,
      get_routing_information::meta.type_id,
      get_information::meta.type_id,
      get_available_sessions::meta.type_id,
      dc_get_information::meta.type_id,
  };
  return std::find(std::begin(queries), std::end(queries), type_id) != std::end(queries);
}

// A request or tell from a peer: decode, find the local target, forward, answer.
void serve(router_actor* self, const caf::actor& link, const link_info& from, rpc_frame& f) {
  auto answer_error = [&](caf::error err) {
    if (f.kind == rpc_kind::tell) return;
    rpc_frame out;
    out.kind = rpc_kind::failure;
    out.rid = f.rid;
    out.error = std::move(err);
    send_frame(self, link, out);
  };
  auto msg = registry().decode(f.envelope.data(), f.envelope.size());
  if (!msg) {
    reject(self, from, describe(msg.error()));
    answer_error(std::move(msg.error()));
    return;
  }
  const auto* entry = entry_of(*msg);
  const auto* rpc = entry ? find_rpc(entry->meta.type_id) : nullptr;
  if (!rpc || (rpc->reply_type == 0) != (f.kind == rpc_kind::tell)) {
    auto why = registry().print(*msg) +
               (rpc ? " is sent the wrong way (request vs one-way)" : " is not a request");
    reject(self, from, why);
    answer_error(make_error(errc::invalid_argument, why));
    return;
  }
  // A node of this domain speaks for the principals it serves; any other key acts only as
  // its own principal, and only through requests that name their caller (so the target's
  // role checks apply): a provider's key can touch only its own services. A domain admin's
  // key may also read (admin_may_ask).
  if (from.peer_role != "node") {
    auto* caller = rpc->caller ? rpc->caller(*msg) : nullptr;
    auto kind = principal_role(from.peer_role);
    bool admin_query =
        !caller && kind == protocols::role::domain_admin && admin_may_ask(entry->meta.type_id);
    if (!admin_query && (!caller || !kind)) {
      auto why = "principal '" + from.peer_name + "' (" + from.peer_role + ") may not send " +
                 registry().print(*msg) + ": only requests made on its own behalf (with a " +
                 "caller) are accepted from a key that is not a node's";
      reject(self, from, why);
      answer_error(make_error(errc::not_authorized, why));
      return;
    }
    if (caller) *caller = protocols::principal{from.peer_name, *kind};
  }
  auto target = self->state.dir->get(f.target);
  if (!target) {
    auto why = "node '" + self->state.dir->node() + "' has no actor '" + f.target + "'";
    reject(self, from, why);
    answer_error(make_error(errc::unknown_actor, why));
    return;
  }
  if (f.kind == rpc_kind::tell) {
    ++self->state.stats.tells_delivered;
    rpc->forward(self, target, std::move(*msg), self->state.cfg.request_timeout, nullptr);
    return;
  }
  auto rid = f.rid;
  rpc->forward(self, target, std::move(*msg), self->state.cfg.request_timeout,
               [self, link, rid](caf::expected<caf::message> r) {
                 ++self->state.stats.requests_served;
                 rpc_frame out;
                 out.rid = rid;
                 if (r) {
                   auto envelope = registry().encode(*r);
                   if (envelope) {
                     out.kind = rpc_kind::reply;
                     out.envelope = std::move(*envelope);
                   } else {
                     out.kind = rpc_kind::failure;
                     out.error = std::move(envelope.error());
                   }
                 } else {
                   out.kind = rpc_kind::failure;
                   out.error = std::move(r.error());
                 }
                 send_frame(self, link, out);
               });
}

// A reply or failure from a peer: hand it to the proxy waiting for it.
void route_answer(router_actor* self, const caf::actor& link, const link_info& from, rpc_frame& f) {
  auto i = self->state.waiting.find(f.rid);
  if (i == self->state.waiting.end() || i->second.link != link.address()) {
    reject(self, from, "an answer to request " + std::to_string(f.rid) + ", which it was not sent");
    return;
  }
  auto proxy = std::move(i->second.proxy);
  self->state.waiting.erase(i);
  ++self->state.stats.replies_routed;
  if (f.kind == rpc_kind::reply)
    self->send(proxy, proxy_reply_atom::value, f.rid, std::move(f.envelope));
  else
    self->send(proxy, proxy_failure_atom::value, f.rid, std::move(f.error));
}

// Dials `node`; if no link to it is up by the dial deadline (the connection or the
// handshake failed in any way), the deadline check dials again.
void start_dial(router_actor* self, const std::string& node) {
  auto& plan = self->state.dials[node];
  ++self->state.stats.dials;
  plan.dialer = self->state.cfg.dial(self, node).address();
  self->delayed_send(self, self->state.cfg.dial_deadline, dial_check_atom::value, node,
                     ++plan.attempt);
}

// A dialled peer is down or could not be reached: dial again after the backoff.
void schedule_redial(router_actor* self, const std::string& node) {
  auto& plan = self->state.dials[node];
  plan.up = false;
  plan.dialer = nullptr;
  ++plan.attempt;
  self->delayed_send(self, plan.backoff, redial_atom::value, node);
  plan.backoff = std::min(plan.backoff * 2, self->state.cfg.reconnect_max);
}

void on_link_down(router_actor* self, const caf::actor_addr& link, const std::string& why) {
  auto& st = self->state;
  for (auto& [node, plan] : st.dials)
    if (plan.dialer && plan.dialer == link) {  // a dial that did not get a link up
      ++st.stats.dial_failures;
      st.log->warn("cannot link to node '{}': {} (next try in {} ms)", node, why,
                   plan.backoff.count());
      schedule_redial(self, node);
      return;
    }
  auto i = st.links.find(link);
  if (i == st.links.end()) return;
  if (auto d = st.dials.find(i->second.peer_name); d != st.dials.end() && d->second.up)
    schedule_redial(self, d->first);
  st.log->info("link to node '{}' ({}) is down: {}", i->second.peer_name, i->second.remote, why);
  st.links.erase(i);
  ++st.stats.links_down;
  auto handle = caf::actor_cast<caf::actor>(link);
  for (auto& p : st.table->link_down(handle)) self->send(p, link_down_atom::value, why);
  // Answers can no longer come over this link; the proxies have failed their requests.
  for (auto w = st.waiting.begin(); w != st.waiting.end();)
    w = w->second.link == link ? st.waiting.erase(w) : std::next(w);
}

// Of two links between the same two nodes, both keep the one dialled by the node whose
// public key sorts lower, whatever order they came up in; a link replacing one of the same
// direction (a reconnection) is simply newer.
bool preferred(const link_info& candidate, const link_info& current) {
  if (candidate.initiator == current.initiator || candidate.local_key.empty() ||
      candidate.peer_key.empty() || candidate.local_key == candidate.peer_key)
    return true;
  bool my_dial_wins = candidate.local_key < candidate.peer_key;
  return candidate.initiator == my_dial_wins;
}

// A link came up to a node that has one: keeps one of the two and closes the other
// (orderly: not a fault). Returns false if `link` was closed.
bool resolve_duplicate(router_actor* self, const caf::actor& link, const link_info& info) {
  auto& st = self->state;
  auto old = st.table->link_of(info.peer_name);
  if (!old) return true;
  auto i = st.links.find(old.address());
  if (i == st.links.end() || i->second.initiator == info.initiator) {
    self->send(old, link_close_atom::value);  // a reconnection: the newer one serves
    on_link_down(self, old.address(), "replaced by a newer link");
    return true;
  }
  bool keep_new = preferred(info, i->second);
  ++st.stats.duplicate_links;
  const auto& lose = keep_new ? i->second : info;
  st.log->info("two links to node '{}': keeping the one {} dialled, closing the one {} dialled",
               info.peer_name, lose.initiator ? "it" : "this node",
               lose.initiator ? "this node" : "it");
  if (!keep_new) {
    self->send(link, link_close_atom::value);
    return false;
  }
  self->send(old, link_close_atom::value);
  on_link_down(self, old.address(), "a second link to the node is kept instead");
  return true;
}

// A link refused messages (too many bytes wait to be sent): requests fail at once at their
// caller with the link's reason; tells and answers are dropped (counted; the link logged).
void on_refused(router_actor* self, std::vector<link_bytes>& messages, const std::string& why) {
  auto& st = self->state;
  st.stats.send_refused += messages.size();
  for (auto& bytes : messages) {
    auto f = decode_rpc(bytes);
    if (!f || f->kind != rpc_kind::request) continue;
    auto w = st.waiting.find(f->rid);
    if (w == st.waiting.end()) continue;
    auto proxy = std::move(w->second.proxy);
    st.waiting.erase(w);
    self->send(proxy, proxy_failure_atom::value, f->rid, make_error(errc::peer_unreachable, why));
  }
}

caf::behavior router(router_actor* self, runtime::directory_ptr dir, peer_table_ptr table,
                     peers_config cfg) {
  auto& st = self->state;
  st.dir = std::move(dir);
  st.table = std::move(table);
  st.cfg = cfg;
  st.log = runtime::logger("peers");
  if (st.cfg.dial)
    for (const auto& node : st.cfg.dial_peers) start_dial(self, node);
  self->set_down_handler([self](const caf::down_msg& dm) {
    on_link_down(self, dm.source, "the link actor ended (" + caf::to_string(dm.reason) + ")");
  });
  return {
      [=](link_up_atom, link_info& info) {
        auto link = caf::actor_cast<caf::actor>(self->current_sender());
        if (!link) return;
        auto& st = self->state;
        if (!resolve_duplicate(self, link, info)) return;
        st.log->info("link to node '{}' ({}, {}) is up", info.peer_name, info.remote,
                     info.peer_role);
        self->monitor(link);
        ++st.stats.links_up;
        st.table->link_up(info.peer_name, link);
        if (auto d = st.dials.find(info.peer_name); d != st.dials.end())
          d->second = {first_redial, nullptr, true, d->second.attempt + 1};
        st.links[link.address()] = std::move(info);
      },
      [=](link_recv_atom, const link_batch& messages) {
        auto link = caf::actor_cast<caf::actor>(self->current_sender());
        if (!link) return;
        auto i = self->state.links.find(link.address());
        if (i == self->state.links.end()) return;  // not a link of ours (or gone)
        auto from = i->second;
        for (std::size_t k = 0; k < messages.size(); ++k) {
          auto f = decode_rpc(messages[k]);
          if (!f) {
            reject(self, from, describe(f.error()));
            continue;
          }
          if (f->kind == rpc_kind::request || f->kind == rpc_kind::tell)
            serve(self, link, from, *f);
          else
            route_answer(self, link, from, *f);
        }
      },
      [=](link_down_atom, const std::string& why) {
        on_link_down(self, caf::actor_cast<caf::actor_addr>(self->current_sender()), why);
      },
      [=](proxy_send_atom, const std::string& node, uint64_t rid, link_bytes& frame) {
        auto proxy = caf::actor_cast<caf::actor>(self->current_sender());
        auto link = self->state.table->link_of(node);
        if (!link) {
          if (rid != 0)
            self->send(proxy, proxy_failure_atom::value, rid,
                       make_error(errc::peer_unreachable, "no link to node '" + node + "' is up"));
          return;
        }
        if (rid != 0) self->state.waiting[rid] = {proxy, link.address()};
        self->send(link, link_send_atom::value, std::move(frame));
      },
      [=](link_refused_atom, std::vector<link_bytes>& messages, const std::string& why) {
        on_refused(self, messages, why);
      },
      [=](redial_atom, const std::string& node) {
        auto d = self->state.dials.find(node);
        if (d != self->state.dials.end() && !d->second.up && !d->second.dialer)
          start_dial(self, node);
      },
      [=](dial_check_atom, const std::string& node, uint64_t attempt) {
        auto d = self->state.dials.find(node);
        if (d == self->state.dials.end() || d->second.attempt != attempt) return;  // stale
        ++self->state.stats.dial_failures;
        self->state.log->warn("no link to node '{}' within {} ms (next try in {} ms)", node,
                              self->state.cfg.dial_deadline.count(), d->second.backoff.count());
        schedule_redial(self, node);
      },
      [=](peers_stats_atom) { return self->state.stats; },
      [=](link_close_atom) {  // the node stops: close every link (orderly), then quit
        for (const auto& [addr, info] : self->state.links)
          if (auto link = caf::actor_cast<caf::actor>(addr))
            self->send(link, link_close_atom::value);
        self->quit();
      },
  };
}

}  // namespace

caf::actor peer_table::resolve(const protocols::locator& loc) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = peers_.find(loc.node);
  if (i == peers_.end() || !router_) return {};
  auto& p = i->second.proxies[loc.actor];
  if (!p) p = sys_.spawn(proxy, loc.node, loc.actor, router_);
  return p;
}

caf::actor peer_table::link_of(const std::string& node) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = peers_.find(node);
  return i == peers_.end() ? caf::actor{} : i->second.link;
}

std::vector<std::string> peer_table::nodes() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<std::string> out;
  for (const auto& [name, p] : peers_) out.push_back(name);
  return out;
}

void peer_table::set_router(caf::actor router) {
  std::lock_guard<std::mutex> guard{mtx_};
  router_ = std::move(router);
}

void peer_table::link_up(const std::string& node, caf::actor link) {
  std::lock_guard<std::mutex> guard{mtx_};
  peers_[node] = peer{std::move(link), {}};
}

std::vector<caf::actor> peer_table::link_down(const caf::actor& link) {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<caf::actor> proxies;
  for (auto i = peers_.begin(); i != peers_.end(); ++i) {
    if (i->second.link != link) continue;
    for (auto& [name, p] : i->second.proxies) proxies.push_back(std::move(p));
    peers_.erase(i);
    break;
  }
  return proxies;
}

std::pair<std::vector<caf::actor>, caf::actor> peer_table::clear() {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<caf::actor> proxies;
  for (auto& [name, p] : peers_)
    for (auto& [actor, proxy] : p.proxies) proxies.push_back(std::move(proxy));
  peers_.clear();
  return {std::move(proxies), std::exchange(router_, caf::actor{})};
}

caf::actor spawn_peers(caf::actor_system& sys, runtime::directory_ptr dir, peer_table_ptr table,
                       peers_config cfg) {
  auto r = sys.spawn(router, dir, table, cfg);
  table->set_router(r);
  dir->set_remote_resolver([table](const protocols::locator& loc) { return table->resolve(loc); });
  return r;
}

void stop_peers(const runtime::directory_ptr& dir, const peer_table_ptr& table) {
  dir->set_remote_resolver(nullptr);
  auto [proxies, router] = table->clear();
  for (auto& p : proxies)
    caf::anon_send(p, link_down_atom::value, std::string{"this node is stopping"});
  if (router) caf::anon_send(router, link_close_atom::value);
}

}  // namespace fusion::link
