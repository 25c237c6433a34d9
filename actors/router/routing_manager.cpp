#include "actors/router/routing_manager.hpp"

#include "actors/evaluator/scoring.hpp"
#include "protocols/errc.hpp"
#include "protocols/zone_management.hpp"
#include "runtime/logging.hpp"
#include "runtime/request_timeout.hpp"

#include <caf/actor_cast.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/logger.h>

#include <algorithm>
#include <map>
#include <optional>

namespace fusion::router {

using namespace protocols;

namespace {

using sync_atom = caf::atom_constant<caf::atom("rm_sync")>;

using manager_impl = routing_manager_actor::extend<caf::reacts_to<sync_atom>>;

struct manager_state {
  manager_state() = default;
  routing_manager_config cfg;
  runtime::directory_ptr dir;
  // Per router (by name): the entry it holds as the manager last installed it.
  std::map<std::string, std::optional<forwarding_information>> installed;
  std::map<std::string, provide_routing_information> statistics;  // by router id
  std::shared_ptr<spdlog::logger> log;
  static inline const char* name = "routing_manager";
};

using self_ptr = manager_impl::stateful_pointer<manager_state>;

/// The entry router `r` should hold: a next hop per registered zone it routes to.
forwarding_information entry_for(const managed_router& r, const zone_list& zones) {
  forwarding_information info;  // no service ids: every service
  info.load_balancing = "slots";
  for (const auto& z : zones.zones) {
    if (!r.zones.empty() &&
        std::find(r.zones.begin(), r.zones.end(), z.parameters.name) == r.zones.end())
      continue;
    next_hop h;
    h.hop = z.manager;
    h.origin = z.zone_id;
    h.metric_ms = evaluator::estimate_latency_ms(z.parameters, r.location);
    info.next_hops.push_back(std::move(h));
  }
  return info;
}

/// Creates, updates or deletes the managed entry of router `r` to hold `want`.
void install(self_ptr self, const managed_router& r, forwarding_information want) {
  auto& st = self->state;
  auto& have = st.installed[r.name];
  if (have && *have == want) return;
  auto router = caf::actor_cast<router_configuration_actor>(
      st.dir->resolve(locator{"", names::router(r.name)}));
  if (!router) return;  // not up yet: the next sync tries again
  auto timeout = runtime::request_timeout(self, router, st.cfg.interval_ms);
  auto done = [self, r, want](const status_reply&) {
    self->state.log->info("routing manager: router {} routes to {} zone(s)", r.name,
                          want.next_hops.size());
    self->state.installed[r.name] = want;
  };
  auto failed = [self, r](const caf::error& e) {
    self->state.log->warn("routing manager: router {} refused its entry: {}", r.name, describe(e));
    self->state.installed[r.name].reset();  // unknown now: created again on the next sync
  };
  fusion_id entry{managed_entry};
  if (want.next_hops.empty()) {
    if (have) self->request(router, timeout, delete_forwarding_entry{{}, entry}).then(done, failed);
    return;
  }
  if (have)
    self->request(router, timeout, update_forwarding_entry{{}, entry, want}).then(done, failed);
  else
    self->request(router, timeout, create_forwarding_entry{{}, entry, want}).then(done, failed);
}

void sync(self_ptr self) {
  auto& st = self->state;
  self->delayed_send(self, std::chrono::milliseconds(st.cfg.interval_ms), sync_atom::value);
  auto registry = caf::actor_cast<zone_registry_actor>(st.dir->resolve(st.cfg.registry));
  if (!registry) return;
  self->request(registry, runtime::request_timeout(self, registry, st.cfg.interval_ms),
                list_zones{})
      .then(
          [self](const zone_list& zones) {
            for (const auto& r : self->state.cfg.routers) install(self, r, entry_for(r, zones));
          },
          [self](const caf::error& e) {
            self->state.log->warn("routing manager: no zone list: {}", describe(e));
          });
}

}  // namespace

routing_manager_actor spawn_routing_manager(caf::actor_system& sys, routing_manager_config cfg,
                                            runtime::directory_ptr dir) {
  auto d = dir;
  auto h = sys.spawn(
      [cfg = std::move(cfg), dir = std::move(dir)](self_ptr self) -> manager_impl::behavior_type {
        self->state.cfg = cfg;
        self->state.dir = dir;
        self->state.log = runtime::logger("routing");
        sync(self);
        return {
            [=](provide_routing_information& info) -> caf::result<status_reply> {
              if (info.router_id.empty())
                return make_error(errc::invalid_argument,
                                  "provide_routing_information: router_id is empty");
              auto id = info.router_id.value;
              self->state.statistics[id] = std::move(info);
              return status_reply{status::ok, "statistics of " + id + " taken"};
            },
            [=](const get_routing_information& req) {
              routing_information out;
              for (const auto& [id, info] : self->state.statistics)
                if (req.router_id.empty() || req.router_id.value == id) out.routers.push_back(info);
              return out;
            },
            [=](const slot_withdraw& w) {
              // A zone fenced by the zone registry (docs/gossip.md): its slots leave every
              // managed router now, not when their rows expire.
              for (const auto& r : self->state.cfg.routers)
                if (auto h = self->state.dir->resolve(locator{"", names::router(r.name)}))
                  self->send(caf::actor_cast<slot_sink_actor>(h), w);
              self->state.log->info("routing manager: slots of zone {} withdrawn from {} router(s)",
                                    w.zone_id.value, self->state.cfg.routers.size());
            },
            [=](sync_atom) { sync(self); },
        };
      });
  routing_manager_actor handle = caf::actor_cast<routing_manager_actor>(h);
  d->put(names::routing_manager, caf::actor_cast<caf::actor>(handle));
  return handle;
}

}  // namespace fusion::router
