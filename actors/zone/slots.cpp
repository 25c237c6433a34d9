// The zone's session slots (spec §4.3.2.3, DESIGN §4 flow 4, docs/slots.md): its instances
// report their free slots; the zone keeps one row per instance in a slot table and, on its
// timer, publishes the sums per service through a damped publisher to the zone registry and
// its other slot sinks (service routers).

#include "actors/zone/zone_state.hpp"
#include "runtime/request_timeout.hpp"

#include <set>

namespace fusion::zone::manager {

namespace {

/// Logs a dropped report: the first of a kind, then every 1,000th, so that a misbehaving
/// sender cannot flood the log.
void log_dropped(self_ptr self, uint64_t count, const std::string& why) {
  if (runtime::log_occurrence(count))
    self->state.log->warn("zone {}: dropped a slot report ({} so far): {}", self->state.zone(),
                          count, why);
}

/// Whether `origin` is an instance this zone runs or starts, with service `service`.
/// Counts and logs the report otherwise.
bool known(self_ptr self, const fusion_id& origin, const service_uri& service) {
  auto& st = self->state;
  auto i = st.reporters.find(origin.value);
  if (i != st.reporters.end() && service == i->second) return true;
  ++st.slots_unknown;
  log_dropped(self, st.slots_unknown,
              i == st.reporters.end()
                  ? "'" + origin.value + "' is not an instance this zone runs"
                  : "instance '" + origin.value + "' runs " + i->second + ", not " + service);
  return false;
}

std::string key_of(const locator& where) {
  return where.node + "/" + where.actor;
}

void send_publication(self_ptr self, const slots::publication& pub) {
  auto& st = self->state;
  std::vector<slot_sink_actor> sinks;
  if (st.registry) sinks.push_back(caf::actor_cast<slot_sink_actor>(st.registry));
  // The configured sinks and the live subscribers, each once.
  auto now = runtime::mono_now(self);
  std::erase_if(st.subscribers, [&](const auto& kv) { return kv.second.second <= now; });
  std::set<std::string> seen;
  auto add = [&](const locator& where) {
    if (!seen.insert(key_of(where)).second) return;
    if (auto h = caf::actor_cast<slot_sink_actor>(st.dir->resolve(where))) sinks.push_back(h);
  };
  for (const auto& where : st.cfg.slot_sinks) add(where);
  for (const auto& [key, sub] : st.subscribers) add(sub.first);
  ++st.slot_batches;
  for (const auto& s : sinks) slots::deliver(pub, s);
}

}  // namespace

void start_slots(self_ptr self) {
  auto& st = self->state;
  st.slot_rows = slots::slot_table{slots::table_settings_of(st.cfg.slots)};
  // Without a registry the zone is known by its name; its epoch is its start time.
  if (st.registration.state == zone_registration_state::no_registry)
    st.publisher.emplace(fusion_id{st.zone()},
                         static_cast<uint64_t>(std::max<int64_t>(1, runtime::wall_now(self))),
                         slots::publish_settings_of(st.cfg.slots));
  self->delayed_send(self, ms(st.cfg.slots.interval_ms), slot_tick_atom::value);
}

void publish_as(self_ptr self, const fusion_id& zone_id, uint32_t start) {
  auto& st = self->state;
  // A registry older than version 2 gives no start: the wall clock then grows instead.
  auto epoch = start > 0 ? uint64_t{start}
                         : static_cast<uint64_t>(std::max<int64_t>(1, runtime::wall_now(self)));
  st.publisher.emplace(zone_id, epoch, slots::publish_settings_of(st.cfg.slots));
}

void expect_reports(self_ptr self, const std::string& id, const service_uri& service) {
  self->state.reporters[id] = service;
}

void stop_counting(self_ptr self, const std::string& id) {
  auto& st = self->state;
  st.reporters.erase(id);
  st.slot_rows.forget(fusion_id{id});
  forget_gateway_orders(self);
}

uint32_t live_available(self_ptr self, const hosted_instance& i) {
  const auto* r = self->state.slot_rows.row(fusion_id{i.id}, i.service);
  return r == nullptr ? i.max_sessions : r->available;
}

void take_report(self_ptr self, const slot_report& r) {
  auto& st = self->state;
  if (!known(self, r.zone_id, r.service)) return;
  forget_gateway_orders(self);
  if (st.slot_rows.apply(r, runtime::mono_now(self)) == slots::outcome::invalid)
    log_dropped(self, st.slot_rows.counters().invalid,
                slots::slot_table::check(r, st.slot_rows.settings().max_slots));
}

void take_subscription(self_ptr self, const subscribe_slots& req) {
  auto& st = self->state;
  if (req.sink.actor.empty()) return;
  auto until = runtime::after(runtime::mono_now(self), st.cfg.slots.validity_ms);
  auto [i, fresh] = st.subscribers.insert_or_assign(key_of(req.sink), std::pair{req.sink, until});
  // A new subscriber catches up at once instead of waiting for the next refresh.
  if (fresh && st.publisher)
    if (auto h = caf::actor_cast<slot_sink_actor>(st.dir->resolve(req.sink)))
      slots::deliver(st.publisher->snapshot(), h);
}

void take_withdraw(self_ptr self, const slot_withdraw& w) {
  // A withdraw can only remove slots: one of an instance the zone no longer counts (it
  // withdraws as it stops, after the zone stopped counting it) is ignored, not counted.
  if (self->state.reporters.contains(w.zone_id.value)) {
    forget_gateway_orders(self);
    self->state.slot_rows.withdraw(w, runtime::mono_now(self));
  }
}

void slot_tick(self_ptr self) {
  auto& st = self->state;
  auto now = runtime::mono_now(self);
  forget_gateway_orders(self);  // handles are resolved afresh at least once an interval
  if (auto n = st.slot_rows.expire(now); n > 0)
    st.log->warn("zone {}: {} instance slot report(s) expired: silent for {} ms", st.zone(), n,
                 st.cfg.slots.validity_ms);
  if (st.publisher) {
    st.publisher->mirror(st.slot_rows);
    if (auto pub = st.publisher->tick(now, runtime::wall_now(self))) send_publication(self, *pub);
  }
  self->delayed_send(self, ms(st.cfg.slots.interval_ms), slot_tick_atom::value);
}

slot_list list_instance_slots(self_ptr self, const list_slots& req) {
  auto& st = self->state;
  auto now = runtime::mono_now(self);
  if (st.slot_rows.expire(now) > 0) forget_gateway_orders(self);
  slot_list out;
  out.rows = st.slot_rows.list(req.service, now);
  out.counters = st.slot_rows.wire_counters();
  out.counters.unknown = st.slots_unknown;
  return out;
}

namespace {

/// One session request at the gateway: the instances to try, most free slots first.
struct gateway_ctx {
  caf::typed_response_promise<session_granted> rp;
  acquire_session req;
  std::shared_ptr<const gateway_order> order;
  size_t next = 0;
};

void gateway_try(self_ptr self, std::shared_ptr<gateway_ctx> ctx, const service_uri& service) {
  auto& st = self->state;
  const auto& candidates = ctx->order->instances;
  while (ctx->next < candidates.size()) {
    const auto& inst = candidates[ctx->next++];
    if (!inst) continue;
    self->request(inst, runtime::request_timeout(self, inst, st.cfg.info_timeout_ms), ctx->req)
        .then([ctx](session_granted& g) { ctx->rp.deliver(std::move(g)); },
              [self, ctx, service](caf::error&) { gateway_try(self, ctx, service); });
    return;
  }
  ctx->rp.deliver(fusion::make_error(
      errc::no_session_slots,
      "zone " + st.zone() + " has no free slot of " + service + ": " +
          std::to_string(candidates.size()) +
          " instance(s) reported free slots, and all refused (their slots were taken "
          "meanwhile, or they are stopping)"));
}

/// The order of `service`'s instances at the gateway, from the cache while nothing changed.
std::shared_ptr<const gateway_order> order_of(self_ptr self, const service_uri& service) {
  auto& st = self->state;
  if (auto i = st.gateway_orders.find(service); i != st.gateway_orders.end()) return i->second;
  // Running instances of the service with free slots by their last report (one not heard
  // of yet counts as all free), most first: the least loaded takes the session.
  std::vector<std::pair<uint32_t, const hosted_instance*>> free;
  auto order = std::make_shared<gateway_order>();
  for (const auto& i : st.instances) {
    if (i.withdrawn || i.service != service) continue;
    ++order->running;
    if (i.draining) continue;
    if (auto n = live_available(self, i); n > 0) free.emplace_back(n, &i);
  }
  std::stable_sort(free.begin(), free.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [n, i] : free)
    order->instances.push_back(caf::actor_cast<service_lifecycle_actor>(st.dir->resolve(i->where)));
  return st.gateway_orders[service] = std::move(order);
}

/// A stateful session's way back to its instance: that instance only, draining or not.
std::shared_ptr<const gateway_order> order_by_id(self_ptr self, const open_session& req) {
  auto& st = self->state;
  auto order = std::make_shared<gateway_order>();
  auto i = st.find_instance(req.instance_id.value);
  if (i != st.instances.end() && !i->withdrawn && i->service == req.service) {
    order->running = 1;
    order->instances.push_back(caf::actor_cast<service_lifecycle_actor>(st.dir->resolve(i->where)));
  }
  return order;
}

}  // namespace

caf::result<session_granted> open_session_here(self_ptr self, const open_session& req) {
  auto& st = self->state;
  auto order = req.instance_id.empty() ? order_of(self, req.service) : order_by_id(self, req);
  if (order->instances.empty() && !req.instance_id.empty())
    return fusion::make_error(errc::no_session_slots, "zone " + st.zone() + " runs no instance '" +
                                                          req.instance_id.value + "' of " +
                                                          req.service);
  if (order->instances.empty())
    return fusion::make_error(errc::no_session_slots, "zone " + st.zone() +
                                                          " has no free slot of " + req.service +
                                                          " (" + std::to_string(order->running) +
                                                          " running instance(s), all full)");
  auto ctx = std::make_shared<gateway_ctx>();
  ctx->req = acquire_session{req.client};
  ctx->order = std::move(order);
  ctx->rp = self->make_response_promise<session_granted>();
  gateway_try(self, ctx, req.service);
  return ctx->rp;
}

}  // namespace fusion::zone::manager
