#include "link/link_listener.hpp"

#include "link/link_broker.hpp"

#include <caf/actor_cast.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/system_messages.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>

#include <spdlog/logger.h>

#include <set>

namespace fusion::link {

namespace {

namespace io = caf::io;

struct listener_state {
  listener_state() = default;  // not an aggregate: CAF would construct it from `self` (C++20)
  std::shared_ptr<const link_context> ctx;
  caf::actor owner;
  std::string where;                  // "host:port", for logs
  std::set<caf::actor_addr> pending;  // responders whose handshake has not ended
  bool overloaded = false;            // refusing since the last accepted connection
  listener_stats stats;
  static inline const char* name = "fusion.link_listener";
};

using listener_actor = io::stateful_broker<listener_state>;

caf::behavior link_listener(listener_actor* self, std::string host, uint16_t port, caf::actor owner,
                            std::shared_ptr<const link_context> ctx, caf::actor reply_to) {
  auto res = self->add_tcp_doorman(port, host.empty() ? nullptr : host.c_str(), true);
  if (!res) {
    self->send(reply_to, res.error());
    self->quit(res.error());
    return {};
  }
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.owner = std::move(owner);
  st.where = host + ":" + std::to_string(res->second);
  if (st.ctx->log) st.ctx->log->info("link listener on {}", st.where);
  self->send(reply_to, link_listening_atom::value, res->second);
  self->set_down_handler([=](caf::down_msg& dm) {
    // A responder that died without reporting (killed): its handshake is over.
    if (self->state.pending.erase(dm.source) > 0) ++self->state.stats.failed["killed"];
  });
  return {
      [=](const io::new_connection_msg& m) {
        auto& st = self->state;
        if (st.pending.size() >= st.ctx->settings.max_pending_handshakes) {
          self->close(m.handle);
          ++st.stats.refused_overload;
          if (!st.overloaded && st.ctx->log)
            st.ctx->log->warn(
                "link listener on {}: {} handshakes in progress, refusing connections "
                "({} refused so far)",
                st.where, st.pending.size(), st.stats.refused_overload);
          st.overloaded = true;
          return;
        }
        st.overloaded = false;
        ++st.stats.accepted;
        auto lnk = self->fork(link_responder, m.handle, st.owner, st.ctx, self->address());
        st.pending.insert(lnk.address());
        self->monitor(lnk);
      },
      [=](link_handshake_done_atom, const std::string& outcome) {
        auto& st = self->state;
        auto src = caf::actor_cast<caf::actor_addr>(self->current_sender());
        if (st.pending.erase(src) == 0) return;
        self->demonitor(src);
        if (outcome.empty())
          ++st.stats.established;
        else
          ++st.stats.failed[outcome];
      },
      [=](link_stats_atom) {
        auto s = self->state.stats;
        s.pending = self->state.pending.size();
        return s;
      },
      // Connections refused above were closed by us: CAF reports nothing for them, but an
      // unhandled system message would be printed as unexpected.
      [=](const io::connection_closed_msg&) {},
      [=](const io::acceptor_closed_msg&) {
        if (self->state.ctx->log)
          self->state.ctx->log->error("link listener on {}: the acceptor closed",
                                      self->state.where);
        self->quit();
      },
  };
}

}  // namespace

caf::actor spawn_listener(caf::actor_system& sys, const std::string& host, uint16_t port,
                          caf::actor owner, std::shared_ptr<const link_context> ctx,
                          caf::actor reply_to) {
  return sys.middleman().spawn_broker(link_listener, host, port, std::move(owner), std::move(ctx),
                                      std::move(reply_to));
}

caf::expected<std::pair<caf::actor, uint16_t>> listen(caf::actor_system& sys,
                                                      const std::string& host, uint16_t port,
                                                      caf::actor owner,
                                                      std::shared_ptr<const link_context> ctx,
                                                      std::chrono::milliseconds timeout) {
  caf::scoped_actor self{sys};
  auto lst = spawn_listener(sys, host, port, std::move(owner), std::move(ctx), self);
  caf::expected<std::pair<caf::actor, uint16_t>> result{caf::sec::request_timeout};
  self->receive([&](link_listening_atom, uint16_t bound) { result = std::make_pair(lst, bound); },
                [&](caf::error& e) { result = std::move(e); }, caf::after(timeout) >> [&] {});
  if (!result) self->send_exit(lst, caf::exit_reason::user_shutdown);
  return result;
}

}  // namespace fusion::link
