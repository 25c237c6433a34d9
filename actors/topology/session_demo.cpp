#include "actors/topology/session_demo.hpp"

#include "actors/router/routing_manager.hpp"
#include "actors/router/service_router.hpp"
#include "protocols/names.hpp"
#include "protocols/zone_orchestration.hpp"
#include "runtime/clock.hpp"
#include "runtime/manifest.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <chrono>
#include <iomanip>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

namespace fusion::topology {

using namespace protocols;

namespace {

using std::chrono::milliseconds;
using open_atom = caf::atom_constant<caf::atom("dm_open")>;
using close_atom = caf::atom_constant<caf::atom("dm_close")>;

constexpr const char* demo_router = "demo-edge";

/// What the clients did, shared with the printing thread.
struct demo_run {
  service_router_actor router;
  runtime::directory_ptr dir;
  service_uri service;
  size_t clients = 0;
  std::mutex mu;
  size_t active = 0;  // clients that keep opening sessions; the others stop
  uint64_t opened = 0, refused = 0, open_now = 0;
  std::map<std::string, uint64_t> by_instance;  // sessions granted, by instance id
  std::string last_refusal;
};

/// The demo's clients in one actor: client i opens a session through the router, holds it
/// 0.2–0.8 s, releases it at its instance, thinks 0.1–0.4 s, and starts again while
/// i < active.
caf::behavior clients(caf::event_based_actor* self, std::shared_ptr<demo_run> run, uint64_t seed) {
  auto rng = std::make_shared<runtime::rng>(seed);
  auto pause = [rng](int from, int span) {
    return milliseconds{from + static_cast<int>(rng->next() % static_cast<uint64_t>(span))};
  };
  for (size_t i = 0; i < run->clients; ++i)
    self->delayed_send(self, pause(0, 300), open_atom::value, i);
  return {
      [=](open_atom, size_t i) {
        {
          std::lock_guard<std::mutex> lock{run->mu};
          if (i >= run->active) return;
        }
        self->request(run->router, caf::infinite,
                      open_session{run->service, "demo-client-" + std::to_string(i)})
            .then(
                [=](session_granted& g) {
                  {
                    std::lock_guard<std::mutex> lock{run->mu};
                    ++run->opened;
                    ++run->open_now;
                    ++run->by_instance[g.instance_id.value];
                  }
                  // Closed where the grant says the instance is, whatever node that is.
                  self->delayed_send(self, pause(200, 600), close_atom::value, i,
                                     caf::actor_cast<caf::actor>(run->dir->resolve(g.instance)),
                                     g.session_id.value);
                },
                [=](caf::error& e) {
                  {
                    std::lock_guard<std::mutex> lock{run->mu};
                    ++run->refused;
                    run->last_refusal = reason_of(e);
                  }
                  self->delayed_send(self, pause(100, 300), open_atom::value, i);
                });
      },
      [=](close_atom, size_t i, const caf::actor& instance, const std::string& session) {
        if (auto inst = caf::actor_cast<service_lifecycle_actor>(instance))
          self->request(inst, caf::infinite, release_session{fusion_id{session}})
              .then([](const status_reply&) {}, [](const caf::error&) {});
        {
          std::lock_guard<std::mutex> lock{run->mu};
          --run->open_now;
        }
        self->delayed_send(self, pause(100, 300), open_atom::value, i);
      },
  };
}

template <class Reply, class Handle, class Request>
caf::expected<Reply> ask(caf::scoped_actor& self, const Handle& dst, Request req) {
  caf::expected<Reply> res{caf::sec::request_timeout};
  self->request(dst, milliseconds{5'000}, std::move(req))
      .receive([&](Reply& x) { res = std::move(x); }, [&](caf::error& e) { res = std::move(e); });
  return res;
}

/// The zone hosting each instance, by instance id.
std::map<std::string, std::string> zones_of_instances(caf::scoped_actor& self,
                                                      const runtime::directory_ptr& dir,
                                                      const zone_list& zones) {
  std::map<std::string, std::string> out;
  for (const auto& z : zones.zones)
    if (auto zm = caf::actor_cast<zone_manager_actor>(dir->resolve(z.manager)))
      if (auto h = ask<hosted_instances>(self, zm, list_hosted_instances{}))
        for (const auto& id : h->instance_ids) out[id.value] = z.parameters.name;
  return out;
}

/// "zone free/max" for every zone the router has a row of.
std::string router_view(caf::scoped_actor& self, const service_router_actor& router,
                        const service_uri& service, const zone_list& zones) {
  auto rows = ask<slot_list>(self, router, list_slots{service});
  if (!rows) return "(router: " + describe(rows.error()) + ")";
  std::ostringstream s;
  for (const auto& r : rows->rows) {
    auto name = r.name;
    for (const auto& z : zones.zones)
      if (z.zone_id == r.origin) name = z.parameters.name;
    s << name << " " << r.available << "/" << r.max << "  ";
  }
  auto text = s.str();
  return text.empty() ? "(no zone reports yet)" : text;
}

}  // namespace

void run_session_demo(caf::actor_system& sys, const runtime::node_config& nc,
                      const runtime::directory_ptr& dir, const zone_list& zones,
                      const manifest& service, std::ostream& out) {
  caf::scoped_actor self{sys};
  auto rules = runtime::scaling_rules_of(service);
  // The router sits where the service's users are (or at the first zone).
  geo_location where = !service.user_locations.empty() ? service.user_locations.front()
                       : zones.zones.empty()           ? geo_location{}
                                                       : zones.zones.front().parameters.location;
  router::routing_manager_config mc;
  router::managed_router r;
  r.name = demo_router;
  r.location = where;
  mc.routers = {r};
  mc.interval_ms = nc.slots.interval_ms;
  auto manager = router::spawn_routing_manager(sys, mc, dir);
  router::router_config rc;
  rc.name = demo_router;
  rc.slots = nc.slots;
  // The zones' own rules do the scaling here (on-demand deployment would add instances at
  // the first refusal, before any rule could act).
  rc.manager = locator{"", names::routing_manager};
  rc.statistics_ms = 1'000;
  auto router = router::spawn_service_router(sys, rc, dir);
  // Until the router has heard of the zones' slots.
  for (int i = 0; i < 100; ++i) {
    auto d = ask<route_decision>(self, router, route_session{service.name, "demo"});
    if (d && !d->hops.empty()) break;
    std::this_thread::sleep_for(milliseconds{50});
  }
  auto run = std::make_shared<demo_run>();
  run->router = router;
  run->dir = dir;
  run->service = service.name;
  run->clients = nc.node.demo_clients;
  run->active = run->clients;
  const size_t keep = std::max<size_t>(1, run->clients / 6);
  out << "\nsessions: " << run->clients << " demo clients open and close sessions of "
      << service.name << " through service router " << demo_router << " for "
      << nc.node.demo_sessions_s << " s; after 60% of it, " << keep << " keep going.\n";
  if (rules.scale_out || rules.scale_in) {
    out << "  elasticity rules of its zones: ";
    if (rules.scale_out) out << "scale out above " << *rules.scale_out * 100 << "% of slots in use";
    if (rules.scale_out && rules.scale_in) out << ", ";
    if (rules.scale_in) out << "scale in below " << *rules.scale_in * 100 << "%";
    out << " ([scaling] interval " << nc.scaling.interval_ms << " ms, cooldown "
        << nc.scaling.cooldown_ms << " ms)\n";
  }
  out << "  time  in use  opened  refused  free/total slots per zone (the router's view)\n";
  std::map<std::string, std::string> hosts;  // instance id -> zone, as seen during the run
  auto driver = sys.spawn(clients, run, nc.node.seed);
  const auto total = milliseconds{static_cast<int64_t>(nc.node.demo_sessions_s * 1000)};
  const auto step = milliseconds{500};
  // The router's statistics windows, as its routing manager holds them, by window start.
  std::map<timestamp_ms, routing_statistics> windows;
  auto collect = [&] {
    if (auto info = ask<routing_information>(self, manager, get_routing_information{}))
      for (const auto& rs : info->routers) windows[rs.information.window_start] = rs.information;
  };
  auto start = std::chrono::steady_clock::now();
  bool peak = true;
  for (auto t = step; t <= total; t += step) {
    std::this_thread::sleep_until(start + t);
    if (peak && t >= total * 6 / 10) {
      std::lock_guard<std::mutex> lock{run->mu};
      run->active = keep;
      peak = false;
    }
    uint64_t open_now, opened, refused;
    {
      std::lock_guard<std::mutex> lock{run->mu};
      open_now = run->open_now;
      opened = run->opened;
      refused = run->refused;
    }
    out << "  " << std::right << std::fixed << std::setprecision(1) << std::setw(4)
        << std::chrono::duration<double>(t).count() << "s" << std::setw(8) << open_now
        << std::setw(8) << opened << std::setw(9) << refused << "  "
        << router_view(self, router, service.name, zones) << "\n";
    out.flush();
    collect();
    hosts.merge(zones_of_instances(self, dir, zones));
  }
  {
    std::lock_guard<std::mutex> lock{run->mu};
    run->active = 0;
  }
  std::this_thread::sleep_for(milliseconds{900});  // the last sessions close
  caf::anon_send_exit(driver, caf::exit_reason::user_shutdown);
  // Where the router sent them.
  std::map<std::string, uint64_t> by_zone;
  {
    std::lock_guard<std::mutex> lock{run->mu};
    for (const auto& [id, n] : run->by_instance)
      by_zone[hosts.contains(id) ? hosts[id]
                                 : "instances started and reclaimed between two lines"] += n;
    out << "  routed: ";
    bool first = true;
    for (const auto& [zone, n] : by_zone) {
      out << (first ? "" : ", ") << n << " to " << zone;
      first = false;
    }
    out << "\n";
    if (run->refused > 0) out << "  a refusal: " << run->last_refusal << "\n";
  }
  out << "\nscaling decisions (zone elasticity rules, domain scaling):\n";
  size_t decisions = 0;
  for (const auto& z : zones.zones) {
    auto zm = caf::actor_cast<zone_manager_actor>(dir->resolve(z.manager));
    if (!zm) continue;
    auto info = ask<information>(self, zm, get_zone_information{});
    if (!info) continue;
    std::istringstream lines{info->values["scaling_decisions"]};
    for (std::string line; std::getline(lines, line);) {
      out << "  " << line << "\n";
      ++decisions;
    }
  }
  if (decisions == 0) out << "  none: utilisation stayed inside every rule's band\n";
  // The router's last windows reach its routing manager within a statistics period.
  std::this_thread::sleep_for(milliseconds{rc.statistics_ms + nc.slots.interval_ms});
  collect();
  uint64_t requests = 0, rejected = 0, granted = 0;
  double setup_sum = 0;
  std::map<std::string, uint64_t> forwarded;
  for (const auto& [start_ms, w] : windows) {
    for (const auto& s : w.services) {
      requests += s.requests;
      rejected += s.rejected;
      auto ok = s.requests - std::min(s.requests, s.rejected);
      granted += ok;
      setup_sum += s.mean_setup_ms * static_cast<double>(ok);
    }
    for (const auto& h : w.next_hops) forwarded[h.hop.actor] += h.forwarded;
  }
  out << "\nrouter " << demo_router << " statistics (" << windows.size()
      << " windows, as its routing manager holds them): " << requests << " requests, " << rejected
      << " rejected, mean setup " << std::setprecision(2)
      << (granted == 0 ? 0.0 : setup_sum / static_cast<double>(granted)) << " ms; forwarded:";
  for (const auto& [hop, n] : forwarded) out << " " << hop << " " << n;
  out << "\n";
  caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
  out.flush();
}

}  // namespace fusion::topology
