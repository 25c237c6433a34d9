#include "actors/router/service_router.hpp"

#include "actors/slots/routing.hpp"
#include "actors/slots/slot_publisher.hpp"
#include "actors/slots/slot_table.hpp"
#include "protocols/errc.hpp"
#include "protocols/orchestration_management.hpp"
#include "runtime/clock.hpp"
#include "runtime/logging.hpp"
#include "runtime/request_timeout.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/logger.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

namespace fusion::router {

using namespace protocols;

namespace {

using tick_atom = caf::atom_constant<caf::atom("rt_tick")>;

/// The router's full interface: the public one plus its timer.
using router_impl = service_router_actor::extend<caf::reacts_to<tick_atom>>;

/// A service's next hops ranked, with their handles: kept until a next hop's slots or the
/// entries change, or the next tick, so that a session request between reports is a lookup.
struct ranked_route {
  route_decision decision;
  bool routed = false;  // some entry routes the service (its hops may all be full)
  std::vector<service_router_actor> handles;  // of decision.hops, null if not resolvable
  std::vector<std::string> keys;              // of decision.hops: their statistics' keys
};

using route_ptr = std::shared_ptr<const ranked_route>;

struct router_state {
  router_state() = default;
  router_config cfg;
  runtime::directory_ptr dir;
  std::map<std::string, forwarding_information> entries;  // by entry id
  std::map<std::string, next_hop> hops;                   // by origin, from every entry
  slots::slot_table table;
  std::optional<slots::slot_publisher> publisher;
  std::unordered_map<std::string, route_ptr> routes;  // by service, see ranked_route
  uint64_t unknown = 0;                               // reports of origins no entry names
  locator self_locator;                               // what it subscribes with
  // Sinks that asked for its sums (subscribe_slots), by "<node>/<actor>", until expiry.
  std::map<std::string, std::pair<locator, runtime::mono_time>> subscribers;
  runtime::mono_time subscribed_at{};  // when it last renewed its subscriptions to its hops
  // Statistics of the current window, for the routing manager (§5.5.4.2).
  struct service_stats {
    uint64_t requests = 0, rejected = 0, granted = 0;
    double setup_ms_sum = 0;
  };
  struct hop_stats {
    locator hop;
    uint64_t forwarded = 0, lost = 0, answered = 0;
    double rtt_ms_sum = 0;
  };
  std::map<std::string, service_stats> service_window;
  std::map<std::string, hop_stats> hop_window;  // by "<node>/<actor>"
  runtime::mono_time window_start{};
  protocols::timestamp_ms window_wall = 0;
  std::shared_ptr<spdlog::logger> log;
  static inline const char* name = "service_router";
};

using self_ptr = router_impl::stateful_pointer<router_state>;

caf::error bad(const std::string& what) {
  return fusion::make_error(errc::invalid_argument, what);
}

std::string key_of(const locator& where) {
  return where.node + "/" + where.actor;
}

/// Asks every next hop to publish to this router (subscribe_slots): soft state, renewed a
/// few times per validity period.
void subscribe_to_hops(self_ptr self) {
  auto& st = self->state;
  st.subscribed_at = runtime::mono_now(self);
  std::set<std::string> done;
  for (const auto& [origin, h] : st.hops)
    if (done.insert(key_of(h.hop)).second)
      if (auto next = caf::actor_cast<service_router_actor>(st.dir->resolve(h.hop)))
        self->send(next, subscribe_slots{st.self_locator});
}

/// Why a forwarding entry cannot be installed, naming the field; "" if it is sound.
std::string check_entry(const router_state& st, const fusion_id& router_id,
                        const forwarding_information& info) {
  if (!router_id.empty() && router_id != st.cfg.id)
    return "the entry is for router '" + router_id.value + "', this is '" + st.cfg.id.value + "'";
  for (const auto& s : info.service_ids)
    if (!is_valid_service_uri(s.value))
      return "service_ids: '" + s.value +
             "' is not a service name of the form fusion://<provider>/<name> (an empty list "
             "routes every service)";
  if (info.next_hops.empty()) return "next_hops: an entry needs at least one next hop";
  std::set<std::string> seen;
  for (size_t i = 0; i < info.next_hops.size(); ++i) {
    const auto& h = info.next_hops[i];
    auto at = "next_hops[" + std::to_string(i) + "]: ";
    if (h.origin.empty())
      return at + "origin is empty; give the id its slot reports carry (a ZoneID, a router's id)";
    if (!seen.insert(h.origin.value).second)
      return at + "origin '" + h.origin.value + "' is listed twice";
    if (!std::isfinite(h.metric_ms) || h.metric_ms < 0)
      return at + "metric_ms must be a finite number of milliseconds, 0 or more";
    if (!std::isfinite(h.weight) || h.weight < 0)
      return at + "weight must be a finite number, 0 or more (0 = standby)";
  }
  if (info.load_balancing != "weighted" && info.load_balancing != "slots" &&
      info.load_balancing != "latency")
    return "load_balancing: expected \"weighted\", \"slots\" or \"latency\", found \"" +
           info.load_balancing + "\"";
  return {};
}

/// Rebuilds the next hops from the entries, and forgets the rows of hops no entry names.
void reindex(self_ptr self) {
  auto& st = self->state;
  std::map<std::string, next_hop> hops;
  for (const auto& [id, e] : st.entries)
    for (const auto& h : e.next_hops) hops.emplace(h.origin.value, h);
  for (const auto& [origin, h] : st.hops)
    if (!hops.contains(origin)) st.table.forget(fusion_id{origin});
  st.hops = std::move(hops);
  st.routes.clear();
  subscribe_to_hops(self);
}

void take(self_ptr self, const slot_report& r) {
  auto& st = self->state;
  if (!st.hops.contains(r.zone_id.value)) {
    if (runtime::log_occurrence(++st.unknown))
      st.log->warn(
          "router {}: dropped a slot report ({} so far): no forwarding entry names "
          "'{}' as a next hop",
          st.cfg.name, st.unknown, r.zone_id.value);
    return;
  }
  st.routes.clear();
  if (st.table.apply(r, runtime::mono_now(self)) == slots::outcome::invalid) {
    auto n = st.table.counters().invalid;
    if (runtime::log_occurrence(n))
      st.log->warn("router {}: dropped a slot report ({} so far): {}", st.cfg.name, n,
                   slots::slot_table::check(r, st.table.settings().max_slots));
  }
}

/// The hops of `service` from every entry that routes it, with their slots, best first.
route_decision rank(self_ptr self, const service_uri& service, bool& routed) {
  auto& st = self->state;
  // Per hop, the entry's way to balance: the first entry naming the hop decides.
  std::vector<slots::hop> candidates;
  std::vector<const next_hop*> which;
  std::vector<std::string> modes;
  std::set<std::string> taken;
  for (const auto& [id, e] : st.entries) {
    bool routes = e.service_ids.empty() ||
                  std::any_of(e.service_ids.begin(), e.service_ids.end(),
                              [&](const fusion_id& s) { return s.value == service; });
    if (!routes) continue;
    for (const auto& h : e.next_hops) {
      if (!taken.insert(h.origin.value).second) continue;
      slots::hop c;
      c.id = h.origin.value;
      c.metric_ms = h.metric_ms;
      if (const auto* r = st.table.row(h.origin, service)) {
        c.slots.available = r->available;
        c.slots.max = r->max;
        c.slots.largest = r->available;
        c.slots.moving_average = r->moving_average;
        c.slots.variance = r->variance;
        c.slots.origins = 1;
      }
      candidates.push_back(std::move(c));
      which.push_back(&h);
      modes.push_back(e.load_balancing);
    }
  }
  route_decision out;
  routed = !candidates.empty();
  if (candidates.empty()) {
    out.reason = "router " + st.cfg.name + " has no forwarding entry for " + service;
    return out;
  }
  slots::route_settings rs{st.cfg.retry_ms, st.cfg.min_free_probability};
  // Hops of a "latency" entry go by their metric alone; a weight divides the cost (more
  // weight, more sessions); weight 0 is standby, tried after every other hop.
  std::vector<std::pair<std::pair<bool, double>, route_choice>> ranked;
  for (const auto& s : slots::rank_hops(candidates, rs)) {
    const auto& h = *which[s.index];
    double cost = modes[s.index] == "latency" ? h.metric_ms : s.cost;
    std::pair key{h.weight <= 0, h.weight > 0 ? cost / h.weight : cost};
    ranked.emplace_back(key,
                        route_choice{h, static_cast<uint32_t>(candidates[s.index].slots.available),
                                     candidates[s.index].slots.variance, s.p_free, s.cost});
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [key, c] : ranked) out.hops.push_back(std::move(c));
  if (out.hops.empty()) {
    uint64_t free = 0;
    for (const auto& c : candidates) free += c.slots.available;
    out.reason = "no next hop of router " + st.cfg.name + " is likely to have a free slot of " +
                 service + " (" + std::to_string(candidates.size()) + " hops, " +
                 std::to_string(free) + " free slots reported)";
  }
  return out;
}

/// The ranked hops of `service`, from the cache while nothing changed.
route_ptr route(self_ptr self, const service_uri& service) {
  auto& st = self->state;
  if (auto i = st.routes.find(service); i != st.routes.end()) return i->second;
  auto r = std::make_shared<ranked_route>();
  r->decision = rank(self, service, r->routed);
  // A zone's gateway and a router answer open_session alike.
  for (const auto& c : r->decision.hops) {
    r->handles.push_back(caf::actor_cast<service_router_actor>(st.dir->resolve(c.hop.hop)));
    r->keys.push_back(key_of(c.hop.hop));
  }
  return st.routes[service] = std::move(r);
}

/// One session request on its way: the ranked hops, the refusals so far.
struct session_ctx {
  caf::typed_response_promise<session_granted> rp;
  runtime::mono_time started;
  open_session req;  // as forwarded: hops_left already taken
  route_ptr route;
  size_t next = 0;
  std::vector<std::string> refusals;  // "<hop>: <why>"
};

/// A hop as refusals name it: "<node>/<actor>", or "<actor>" in this process.
std::string where(const route_choice& c) {
  const auto& h = c.hop.hop;
  return h.node.empty() ? h.actor : h.node + "/" + h.actor;
}

enum class answer { granted, refused, lost };

/// Counts hop `i`'s answer, or its loss (a timeout), in the statistics window; a grant also
/// counts the session's setup time.
void answered(self_ptr self, const session_ctx& ctx, size_t i, runtime::mono_time sent, answer a) {
  auto& st = self->state;
  auto now = runtime::mono_now(self);
  auto& hs = st.hop_window[ctx.route->keys[i]];
  hs.hop = ctx.route->decision.hops[i].hop.hop;
  if (a == answer::lost) {
    ++hs.lost;
  } else {
    ++hs.answered;
    hs.rtt_ms_sum += std::chrono::duration<double, std::milli>(now - sent).count();
  }
  if (a == answer::granted) {
    auto& ss = st.service_window[ctx.req.service];
    ++ss.granted;
    ss.setup_ms_sum += std::chrono::duration<double, std::milli>(now - ctx.started).count();
  }
}

/// Sends the request to the next hop; on a refusal, tries the one after, up to max_tries.
void forward(self_ptr self, std::shared_ptr<session_ctx> ctx) {
  auto& st = self->state;
  const auto& r = *ctx->route;
  while (ctx->next < r.decision.hops.size() && ctx->next < st.cfg.max_tries) {
    auto i = ctx->next++;
    const auto& next = r.handles[i];
    if (!next) {
      ctx->refusals.push_back(where(r.decision.hops[i]) + ": not reachable");
      continue;
    }
    ++st.hop_window[r.keys[i]].forwarded;
    auto sent = runtime::mono_now(self);
    self->request(next, runtime::request_timeout(self, next, st.cfg.hop_timeout_ms), ctx->req)
        .then(
            [self, ctx, i, sent](session_granted& g) {
              answered(self, *ctx, i, sent, answer::granted);
              ctx->rp.deliver(std::move(g));
            },
            [self, ctx, i, sent](caf::error& e) {
              answered(self, *ctx, i, sent,
                       e == caf::sec::request_timeout ? answer::lost : answer::refused);
              ctx->refusals.push_back(where(ctx->route->decision.hops[i]) + ": " + reason_of(e));
              forward(self, ctx);
            });
    return;
  }
  ++st.service_window[ctx->req.service].rejected;
  std::string why;
  for (const auto& refusal : ctx->refusals) why += (why.empty() ? "" : "; ") + refusal;
  ctx->rp.deliver(fusion::make_error(
      errc::no_session_slots, "no capacity for " + ctx->req.service + " through router " +
                                  st.cfg.name + ": tried " + std::to_string(ctx->refusals.size()) +
                                  " next hop(s): " + why));
}

/// On-demand deployment (SPD-4): domain scaling deploys an instance of the service, and the
/// session takes a slot on it; refused with `why` and what failed, or at the deadline.
void on_demand(self_ptr self, std::shared_ptr<session_ctx> ctx, const std::string& why) {
  auto& st = self->state;
  auto refuse = [self, ctx, why](const std::string& what) {
    ++self->state.service_window[ctx->req.service].rejected;
    ctx->rp.deliver(fusion::make_error(
        errc::no_session_slots, "no capacity for " + ctx->req.service + ": " + why + "; " + what));
  };
  auto scaling = caf::actor_cast<scaling_actor>(st.dir->resolve(st.cfg.scaling));
  if (!scaling) {
    refuse("no domain scaling to deploy one on demand");
    return;
  }
  st.log->info("router {}: no free slot of {} anywhere: deploying one on demand", st.cfg.name,
               ctx->req.service);
  // A deadline, not a liveness check: the client waits this long at most.
  self->request(scaling, std::chrono::milliseconds(st.cfg.on_demand_timeout_ms),
                scale_service{ctx->req.service, 1, "router " + st.cfg.name, "on demand: " + why})
      .then(
          [self, ctx, refuse](const deploy_service_reply& r) {
            auto& s = self->state;
            auto inst =
                r.instances.empty()
                    ? service_lifecycle_actor{}
                    : caf::actor_cast<service_lifecycle_actor>(s.dir->resolve(r.instances[0]));
            if (!inst) {
              refuse("the instance deployed on demand is not reachable");
              return;
            }
            self->request(inst, runtime::request_timeout(self, inst, s.cfg.hop_timeout_ms),
                          acquire_session{ctx->req.client})
                .then(
                    [self, ctx](session_granted& g) {
                      auto& ss = self->state.service_window[ctx->req.service];
                      ++ss.granted;
                      ss.setup_ms_sum += std::chrono::duration<double, std::milli>(
                                             runtime::mono_now(self) - ctx->started)
                                             .count();
                      ctx->rp.deliver(std::move(g));
                    },
                    [refuse](caf::error& e) {
                      refuse("the instance deployed on demand refused: " + reason_of(e));
                    });
          },
          [refuse](caf::error& e) { refuse("on-demand deployment failed: " + reason_of(e)); });
}

/// Sends the statistics window to the routing manager, if one is configured, and opens the
/// next window.
void report_statistics(self_ptr self, runtime::mono_time now) {
  auto& st = self->state;
  if (st.cfg.manager.actor.empty() ||
      runtime::millis_between(st.window_start, now) < st.cfg.statistics_ms)
    return;
  provide_routing_information info;
  info.router_id = st.cfg.id;
  auto& stats = info.information;
  stats.window_start = st.window_wall;
  stats.window_ms = runtime::millis_between(st.window_start, now);
  for (const auto& [service, x] : st.service_window)
    stats.services.push_back(service_request_stats{
        fusion_id{service}, x.requests, x.rejected,
        x.granted == 0 ? 0 : x.setup_ms_sum / static_cast<double>(x.granted)});
  for (const auto& [key, x] : st.hop_window) {
    auto sent = static_cast<double>(x.answered + x.lost);
    stats.next_hops.push_back(
        next_hop_stats{x.hop, x.answered == 0 ? 0 : x.rtt_ms_sum / static_cast<double>(x.answered),
                       sent == 0 ? 0 : static_cast<double>(x.lost) / sent, x.forwarded});
  }
  st.service_window.clear();
  st.hop_window.clear();
  st.window_start = now;
  st.window_wall = runtime::wall_now(self);
  if (auto m = caf::actor_cast<routing_manager_actor>(st.dir->resolve(st.cfg.manager)))
    self->request(m, runtime::request_timeout(self, m, st.cfg.hop_timeout_ms), std::move(info))
        .then([](const status_reply&) {},
              [self](const caf::error& e) {
                self->state.log->warn(
                    "router {}: the routing manager did not take its "
                    "statistics: {}",
                    self->state.cfg.name, describe(e));
              });
}

void tick(self_ptr self) {
  auto& st = self->state;
  auto now = runtime::mono_now(self);
  st.routes.clear();  // handles are resolved afresh at least once an interval
  if (auto n = st.table.expire(now); n > 0)
    st.log->warn("router {}: {} next-hop slot report(s) expired: silent for {} ms", st.cfg.name, n,
                 st.cfg.slots.validity_ms);
  // Renewed three times per validity period, so one lost renewal costs nothing.
  if (runtime::millis_between(st.subscribed_at, now) >= st.cfg.slots.validity_ms / 3)
    subscribe_to_hops(self);
  std::erase_if(st.subscribers, [&](const auto& kv) { return kv.second.second <= now; });
  if (!st.cfg.upstream.empty() || !st.subscribers.empty()) {
    st.publisher->mirror(st.table);
    if (auto pub = st.publisher->tick(now, runtime::wall_now(self))) {
      std::set<std::string> seen;
      auto send_to = [&](const locator& where) {
        if (seen.insert(key_of(where)).second)
          if (auto up = caf::actor_cast<slot_sink_actor>(st.dir->resolve(where)))
            slots::deliver(*pub, up);
      };
      for (const auto& where : st.cfg.upstream) send_to(where);
      for (const auto& [key, sub] : st.subscribers) send_to(sub.first);
    }
  }
  report_statistics(self, now);
  self->delayed_send(self, std::chrono::milliseconds(st.cfg.slots.interval_ms), tick_atom::value);
}

router_impl::behavior_type service_router(self_ptr self, router_config cfg,
                                          runtime::directory_ptr dir) {
  auto& st = self->state;
  if (cfg.id.empty()) cfg.id = fusion_id{names::router(cfg.name)};
  st.table = slots::slot_table{slots::table_settings_of(cfg.slots)};
  // Its epoch is its start time: a restarted router replaces its rows upstream.
  st.publisher.emplace(cfg.id, static_cast<uint64_t>(std::max<int64_t>(1, runtime::wall_now(self))),
                       slots::publish_settings_of(cfg.slots));
  st.cfg = std::move(cfg);
  st.dir = std::move(dir);
  st.log = runtime::logger("router");
  st.self_locator = st.dir->here(names::router(st.cfg.name));
  st.window_start = runtime::mono_now(self);
  st.window_wall = runtime::wall_now(self);
  self->delayed_send(self, std::chrono::milliseconds(st.cfg.slots.interval_ms), tick_atom::value);
  return {
      [=](create_forwarding_entry& req) -> caf::result<status_reply> {
        auto& s = self->state;
        if (req.entry_id.empty()) return bad("create_forwarding_entry: entry_id is empty");
        if (s.entries.contains(req.entry_id.value))
          return bad("router " + s.cfg.name + " already has entry '" + req.entry_id.value +
                     "'; update or delete it");
        if (auto why = check_entry(s, req.router_id, req.information); !why.empty())
          return bad("create_forwarding_entry '" + req.entry_id.value + "': " + why);
        s.entries.emplace(req.entry_id.value, std::move(req.information));
        reindex(self);
        return status_reply{status::ok, "entry " + req.entry_id.value + " created"};
      },
      [=](update_forwarding_entry& req) -> caf::result<status_reply> {
        auto& s = self->state;
        auto i = s.entries.find(req.entry_id.value);
        if (i == s.entries.end())
          return bad("router " + s.cfg.name + " has no entry '" + req.entry_id.value + "'");
        if (auto why = check_entry(s, req.router_id, req.information); !why.empty())
          return bad("update_forwarding_entry '" + req.entry_id.value + "': " + why);
        i->second = std::move(req.information);
        reindex(self);
        return status_reply{status::ok, "entry " + req.entry_id.value + " updated"};
      },
      [=](const delete_forwarding_entry& req) -> caf::result<status_reply> {
        auto& s = self->state;
        if (!req.router_id.empty() && req.router_id != s.cfg.id)
          return bad("the entry is for router '" + req.router_id.value + "', this is '" +
                     s.cfg.id.value + "'");
        if (s.entries.erase(req.entry_id.value) == 0)
          return bad("router " + s.cfg.name + " has no entry '" + req.entry_id.value + "'");
        reindex(self);
        return status_reply{status::ok, "entry " + req.entry_id.value + " deleted"};
      },
      [=](const slot_report& r) { take(self, r); },
      [=](const slot_report_batch& b) {
        for (const auto& r : b.reports) take(self, r);
      },
      [=](const slot_withdraw& w) {
        // A withdraw can only remove slots: one of a hop no entry names is ignored.
        if (self->state.hops.contains(w.zone_id.value)) {
          self->state.routes.clear();
          self->state.table.withdraw(w, runtime::mono_now(self));
        }
      },
      [=](const route_session& req) -> caf::result<route_decision> {
        if (!is_valid_service_uri(req.service))
          return bad("route_session: '" + req.service +
                     "' is not a service name of the form fusion://<provider>/<name>");
        return route(self, req.service)->decision;
      },
      [=](const open_session& req) -> caf::result<session_granted> {
        auto& s = self->state;
        if (!is_valid_service_uri(req.service))
          return bad("open_session: '" + req.service +
                     "' is not a service name of the form fusion://<provider>/<name>");
        if (req.hops_left == 0)
          return fusion::make_error(errc::no_session_slots,
                                    "open_session for " + req.service + " reached router " +
                                        s.cfg.name + " with no hops left (a forwarding loop?)");
        auto& stats = s.service_window[req.service];
        ++stats.requests;
        auto r = route(self, req.service);
        // On demand only for a new session: a new instance holds no client's state.
        if (r->decision.hops.empty() &&
            !(r->routed && s.cfg.on_demand && req.instance_id.empty())) {
          ++stats.rejected;
          return fusion::make_error(errc::no_session_slots,
                                    "no capacity for " + req.service + ": " + r->decision.reason);
        }
        auto ctx = std::make_shared<session_ctx>();
        ctx->started = runtime::mono_now(self);
        ctx->req = req;
        --ctx->req.hops_left;
        ctx->route = std::move(r);
        ctx->rp = self->make_response_promise<session_granted>();
        if (ctx->route->decision.hops.empty())
          on_demand(self, ctx, ctx->route->decision.reason);
        else
          forward(self, ctx);
        return ctx->rp;
      },
      [=](const list_slots& req) {
        auto& s = self->state;
        auto now = runtime::mono_now(self);
        if (s.table.expire(now) > 0) s.routes.clear();
        slot_list out;
        out.rows = s.table.list(req.service, now);
        for (auto& row : out.rows)
          if (auto h = s.hops.find(row.origin.value); h != s.hops.end())
            row.name = h->second.hop.actor;
        out.counters = s.table.wire_counters();
        out.counters.unknown = s.unknown;
        return out;
      },
      [=](const subscribe_slots& req) {
        auto& s = self->state;
        if (req.sink.actor.empty()) return;
        auto until = runtime::after(runtime::mono_now(self), s.cfg.slots.validity_ms);
        auto [i, fresh] =
            s.subscribers.insert_or_assign(key_of(req.sink), std::pair{req.sink, until});
        // A new subscriber catches up at once instead of waiting for the next refresh.
        if (fresh)
          if (auto h = caf::actor_cast<slot_sink_actor>(s.dir->resolve(req.sink)))
            slots::deliver(s.publisher->snapshot(), h);
      },
      [=](tick_atom) { tick(self); },
  };
}

}  // namespace

service_router_actor spawn_service_router(caf::actor_system& sys, router_config cfg,
                                          runtime::directory_ptr dir) {
  auto name = names::router(cfg.name);
  auto d = dir;
  service_router_actor h = sys.spawn(service_router, std::move(cfg), std::move(dir));
  d->put(name, caf::actor_cast<caf::actor>(h));
  return h;
}

}  // namespace fusion::router
