#include "actors/gossip/agent.hpp"

#include "protocols/names.hpp"
#include "runtime/clock.hpp"
#include "runtime/logging.hpp"
#include "runtime/request_timeout.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/logger.h>

#include <cmath>

namespace fusion::gossip {

using namespace protocols;

namespace {

using tick_atom = caf::atom_constant<caf::atom("g_tick")>;
using agent_impl = gossip_actor::extend<caf::reacts_to<tick_atom>>;

struct agent_state {
  agent_state() = default;
  agent_config cfg;
  runtime::directory_ptr dir;
  std::optional<membership> core;
  runtime::mono_time started{};
  std::optional<domain_advertisement> home;
  time_ms first_ad_at = 0;    // when the first advertisement arrived (nearest: settle)
  std::string first_domain;   // the domain of that advertisement (policy first)
  time_ms next_seed_at = 0;   // next join attempt through the seeds while alone
  bool bootstrapped = false;  // bootstrap tried
  std::shared_ptr<spdlog::logger> log;
  static inline const char* name = "gossip";
};

using self_ptr = agent_impl::stateful_pointer<agent_state>;

time_ms now_ms(self_ptr self) {
  // 1 ms at start: the core reads 0 as "not yet".
  return static_cast<time_ms>(
             runtime::millis_between(self->state.started, runtime::mono_now(self))) +
         1;
}

double distance_km(double lat1, double lon1, double lat2, double lon2) {
  constexpr double rad = 3.14159265358979323846 / 180.0;
  auto dlat = (lat2 - lat1) * rad;
  auto dlon = (lon2 - lon1) * rad;
  auto a = std::sin(dlat / 2) * std::sin(dlat / 2) +
           std::cos(lat1 * rad) * std::cos(lat2 * rad) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 6371.0 * 2 * std::atan2(std::sqrt(a), std::sqrt(1 - a));
}

caf::actor agent_of(self_ptr self, const std::string& member, const std::string& address) {
  return self->state.dir->resolve(locator{address, names::gossip(member)});
}

void tell_observers(self_ptr self, const caf::message& msg) {
  for (const auto& loc : self->state.cfg.observers)
    if (auto h = self->state.dir->resolve(loc)) caf::anon_send(h, msg);
}

void adopt(self_ptr self, const domain_advertisement& ad, time_ms now, const char* why) {
  auto& st = self->state;
  bool moved = !st.home || st.home->domain != ad.domain;
  st.home = ad;
  st.core->set_domain(now, ad.domain);
  if (moved)
    st.log->info("member {} joined domain '{}' ({}): its zone registry is on node '{}'",
                 st.cfg.self.node_id, ad.domain, why, ad.zone_registry.node);
  // A domain's own agent needs to tell nobody where its domain is.
  if (!st.cfg.advertise) tell_observers(self, caf::make_message(ad));
}

/// Picks (or keeps) the home domain by policy among the advertisements known.
void choose_domain(self_ptr self, time_ms now) {
  auto& st = self->state;
  const auto& known = st.core->domains();
  if (known.empty()) return;
  if (st.home) {
    // A newer version of the home domain's advertisement: observers follow it.
    auto it = known.find(st.home->domain);
    if (it != known.end() && it->second.version > st.home->version)
      adopt(self, it->second, now, "newer advertisement");
    return;
  }
  switch (st.cfg.policy) {
    case domain_policy::first:
      if (auto it = known.find(st.first_domain); it != known.end())
        adopt(self, it->second, now, "first advertised");
      return;
    case domain_policy::named:
      if (auto it = known.find(st.cfg.domain); it != known.end())
        adopt(self, it->second, now, "named in the config");
      return;
    case domain_policy::nearest: {
      if (now < st.first_ad_at + st.cfg.settle_ms) return;
      const domain_advertisement* best = nullptr;
      double best_km = 0;
      for (const auto& [name, ad] : known) {
        auto km = distance_km(st.cfg.latitude, st.cfg.longitude, ad.latitude, ad.longitude);
        if (!best || km < best_km) best = &ad, best_km = km;
      }
      adopt(self, *best, now, "nearest orchestrator");
      return;
    }
  }
}

const char* describe(member_status s) {
  switch (s) {
    case member_status::alive:
      return "alive";
    case member_status::suspect:
      return "suspect";
    case member_status::dead:
      return "dead";
    case member_status::left:
      return "left";
  }
  return "?";
}

void log_change(self_ptr self, const member_change& c) {
  auto& st = self->state;
  const auto& m = c.member;
  const auto& me = st.cfg.self.node_id;
  if (c.self) {
    st.log->warn("member {} was declared {} by others (incarnation {}): refuted", me,
                 describe(c.previous), m.incarnation);
    return;
  }
  switch (m.status) {
    case member_status::alive:
      if (c.previous == member_status::suspect)
        st.log->info("member {}: {} refuted its suspicion (incarnation {})", me, m.node_id,
                     m.incarnation);
      else
        st.log->info("member {}: {} {} (incarnation {}, node '{}')", me, m.node_id,
                     c.previous == member_status::alive ? "joined" : "came back", m.incarnation,
                     m.address);
      return;
    case member_status::suspect:
      st.log->info("member {}: {} is suspect (incarnation {})", me, m.node_id, m.incarnation);
      return;
    case member_status::dead:
      st.log->warn("member {}: {} declared dead (incarnation {}, node '{}')", me, m.node_id,
                   m.incarnation, m.address);
      return;
    case member_status::left:
      st.log->info("member {}: {} left", me, m.node_id);
      return;
  }
}

void flush(self_ptr self, time_ms now);

void push_pull(self_ptr self, const caf::actor& to) {
  auto& st = self->state;
  auto timeout = runtime::request_timeout(self, to, st.cfg.protocol.push_pull_ms);
  self->request(caf::actor_cast<gossip_actor>(to), timeout, st.core->digest())
      .then(
          [self](const membership_digest& d) {
            auto now = now_ms(self);
            self->state.core->on_digest(now, d);
            flush(self, now);
          },
          [](const caf::error&) {});  // lost: gossip tries again
}

void deliver(self_ptr self, outgoing& o) {
  if (self->state.cfg.network && !self->state.cfg.network(o.to)) return;
  auto to = agent_of(self, o.to, o.address);
  if (!to) return;  // unreachable now: the protocol counts it as a lost message
  std::visit(
      [&](auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, membership_digest>)
          push_pull(self, to);
        else
          self->send(caf::actor_cast<gossip_actor>(to), std::move(msg));
      },
      o.msg);
}

void flush(self_ptr self, time_ms now) {
  auto& st = self->state;
  for (auto& o : st.core->take_outbox()) deliver(self, o);
  for (auto& c : st.core->take_changes()) {
    log_change(self, c);
    tell_observers(self, caf::make_message(c));
  }
  auto ads = st.core->take_new_domains();
  if (!ads.empty() && st.first_ad_at == 0) {
    st.first_ad_at = now;
    st.first_domain = ads.front().domain;
  }
  // A WAN agent hands every domain it learns to its domain's own (LAN) agent.
  if (!st.cfg.relay_domains.actor.empty())
    if (auto lan = st.dir->resolve(st.cfg.relay_domains))
      for (const auto& ad : ads)
        if (!st.cfg.advertise || ad.domain != st.cfg.advertise->domain) caf::anon_send(lan, ad);
  if (!ads.empty() || (!st.home && st.first_ad_at > 0)) choose_domain(self, now);
}

void tick(self_ptr self) {
  auto& st = self->state;
  auto now = now_ms(self);
  st.core->tick(now);
  // Alone (nobody else alive known): ask the seeds for their view.
  if (st.core->live_members() <= 1 && now >= st.next_seed_at) {
    st.next_seed_at = now + st.cfg.protocol.interval_ms;
    for (const auto& s : st.cfg.seeds) {
      if (st.cfg.network && !st.cfg.network(s.actor)) continue;
      if (auto h = st.dir->resolve(s); h && h != caf::actor_cast<caf::actor>(self))
        push_pull(self, h);
    }
  }
  if (!st.home && !st.bootstrapped && st.cfg.bootstrap_after_ms > 0 && st.cfg.bootstrap &&
      now >= st.cfg.bootstrap_after_ms) {
    st.bootstrapped = true;
    st.log->warn("member {}: no domain advertised after {} ms: bootstrapping one on this node",
                 st.cfg.self.node_id, st.cfg.bootstrap_after_ms);
    if (auto ad = st.cfg.bootstrap()) {
      std::string why;
      if (st.core->advertise(now, *ad, &why))
        adopt(self, *ad, now, "bootstrapped here");
      else
        st.log->error("member {}: the bootstrapped domain's advertisement was refused: {}",
                      st.cfg.self.node_id, why);
    } else {
      st.log->error("member {}: bootstrapping a domain failed", st.cfg.self.node_id);
    }
  }
  flush(self, now);
  auto period = std::max<time_ms>(5, st.cfg.protocol.probe_timeout_ms / 4);
  self->delayed_send(self, std::chrono::milliseconds(period), tick_atom::value);
}

agent_impl::behavior_type agent(self_ptr self, agent_config cfg, runtime::directory_ptr dir) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.dir = std::move(dir);
  st.log = runtime::logger("gossip");
  st.started = runtime::mono_now(self);
  auto trust = st.cfg.trust;
  ad_verifier verifier = [trust](const domain_advertisement& ad) { return verify(ad, trust); };
  auto dir_copy = st.dir;
  reachability reachable = [dir_copy](const member_state& m) {
    return static_cast<bool>(dir_copy->resolve(locator{m.address, names::gossip(m.node_id)}));
  };
  st.core.emplace(st.cfg.self, st.cfg.protocol, st.cfg.seed, verifier, reachable);
  if (st.cfg.advertise) {
    std::string why;
    if (st.core->advertise(1, *st.cfg.advertise, &why))
      adopt(self, *st.cfg.advertise, 1, "its own");
    else
      st.log->error("member {}: its own domain's advertisement is refused: {}", st.cfg.self.node_id,
                    why);
  }
  tick(self);
  return {
      [=](const gossip_ping& p) {
        auto now = now_ms(self);
        self->state.core->on_ping(now, p);
        flush(self, now);
      },
      [=](const gossip_ack& a) {
        auto now = now_ms(self);
        self->state.core->on_ack(now, a);
        flush(self, now);
      },
      [=](const gossip_ping_req& r) {
        auto now = now_ms(self);
        self->state.core->on_ping_req(now, r);
        flush(self, now);
      },
      [=](const membership_digest& d) {
        auto now = now_ms(self);
        if (!d.sender.empty()) self->state.core->on_digest(now, d);
        flush(self, now);
        return self->state.core->digest();
      },
      [=](const domain_advertisement& ad) {
        auto now = now_ms(self);
        std::string why;
        if (!self->state.core->advertise(now, ad, &why))
          self->state.log->warn("member {}: advertisement of '{}' refused: {}",
                                self->state.cfg.self.node_id, ad.domain, why);
        flush(self, now);
      },
      [=](tick_atom) { tick(self); },
  };
}

}  // namespace

std::optional<domain_policy> parse_domain_policy(const std::string& s) {
  if (s == "first") return domain_policy::first;
  if (s == "named") return domain_policy::named;
  if (s == "nearest") return domain_policy::nearest;
  return std::nullopt;
}

gossip_actor spawn_gossip_agent(caf::actor_system& sys, agent_config cfg,
                                runtime::directory_ptr dir) {
  auto name = names::gossip(cfg.self.node_id);
  auto alias = cfg.alias;
  auto d = dir;
  auto h = sys.spawn(agent, std::move(cfg), std::move(dir));
  gossip_actor handle = caf::actor_cast<gossip_actor>(h);
  d->put(name, caf::actor_cast<caf::actor>(handle));
  if (!alias.empty()) d->put(alias, caf::actor_cast<caf::actor>(handle));
  return handle;
}

}  // namespace fusion::gossip
