#include "actors/domain/placement.hpp"

#include "protocols/names.hpp"
#include "protocols/zone_management.hpp"
#include "runtime/clock.hpp"

#include <caf/actor_cast.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <sstream>
#include <unordered_map>

namespace fusion::domain {

using namespace protocols;

namespace {

using flush_atom = caf::atom_constant<caf::atom("flush")>;

// One placement in progress: the promise to answer and the decision being built.
struct pending_placement {
  caf::typed_response_promise<placement_decision> rp;
  place_service request;
  placement_decision decision;
  uint64_t seq = 0;
  timestamp_ms started = 0;
  bool preselected = false;  // the zone registry answered step 1
  bool decided = false;      // answered; late replies are ignored (their offers released)
  size_t outstanding = 0;    // evaluations not yet answered
};

using pending_ptr = std::shared_ptr<pending_placement>;

// Evaluations bound for one zone, waiting for the next flush.
struct zone_batch {
  zone_manager_actor zone;
  std::vector<zone_evaluate> requests;
  std::vector<std::pair<pending_ptr, size_t>> waiters;  // placement and verdict index
};

struct placement_state {
  placement_state() = default;
  placement_config cfg;
  runtime::directory_ptr dir;
  runtime::id_generator decision_ids{"decision"};
  std::deque<placement_decision> recent;
  std::unordered_map<std::string, zone_batch> outgoing;  // by zone actor name
  bool flush_pending = false;
  // Deadlines: one periodic tick, armed while placements are in flight, instead of a
  // timer per request (CAF 0.17 never cancels request timers: each one costs a wakeup of
  // the clock thread and lingers until it fires).
  std::map<uint64_t, pending_ptr> inflight;
  uint64_t next_seq = 1;
  bool tick_armed = false;
  static inline const char* name = "placement";
};

using tick_atom = caf::atom_constant<caf::atom("tick")>;

using self_ptr = caf::stateful_actor<placement_state>*;

double cost_limit(const manifest& m, const deploy_parameters& d) {
  return d.max_cost > 0 ? d.max_cost : m.cost_ceiling;
}

double latency_budget(const manifest& m, const deploy_parameters& d) {
  return d.latency_budget_ms > 0 ? d.latency_budget_ms : m.latency_budget_ms;
}

// Step 4 and the record: choose, release what was not chosen, remember, answer.
void decide(self_ptr self, const pending_ptr& p) {
  p->decided = true;
  self->state.inflight.erase(p->seq);
  auto& d = p->decision;
  auto& req = p->request;
  auto chosen =
      select_offers(d.verdicts, d.policy, req.deploy.instances,
                    latency_budget(req.service, req.deploy), cost_limit(req.service, req.deploy));
  uint32_t covered = 0;
  for (auto i : chosen) {
    d.verdicts[i].chosen = true;
    covered += d.verdicts[i].zone_offer.instances;
    d.chosen.push_back(d.verdicts[i].zone_offer);
  }
  d.satisfied = covered >= req.deploy.instances && !chosen.empty();
  // Reservations not chosen (all of them in a dry run) go back to their zones now.
  std::unordered_map<std::string, std::vector<fusion_id>> releases;
  for (const auto& v : d.verdicts)
    if (v.offered && (!v.chosen || req.dry_run))
      releases[names::zone_manager(v.zone_name)].push_back(v.zone_offer.offer_id);
  for (auto& [zone, ids] : releases)
    if (auto zm = self->state.dir->get_as<zone_manager_actor>(zone))
      self->send(zm, release_offers{std::move(ids)});
  size_t offered =
      std::count_if(d.verdicts.begin(), d.verdicts.end(), [](const auto& v) { return v.offered; });
  std::ostringstream sum;
  sum << req.service.name << ": " << (d.satisfied ? "placed" : "not placed") << ", "
      << d.zones_known << " zones known, "
      << std::count_if(d.verdicts.begin(), d.verdicts.end(),
                       [](const auto& v) { return v.preselected; })
      << " asked, " << offered << " offered, " << chosen.size() << " chosen ("
      << to_string(d.policy) << ")";
  if (!d.satisfied && covered > 0)
    sum << "; offers cover " << covered << " of " << req.deploy.instances << " instances";
  d.summary = sum.str();
  d.decided_at = runtime::now_ms(self);
  auto& recent = self->state.recent;
  recent.push_back(d);
  while (recent.size() > self->state.cfg.decisions_kept) recent.pop_front();
  p->rp.deliver(std::move(d));
}

void answered(self_ptr self, const pending_ptr& p) {
  if (--p->outstanding == 0) decide(self, p);
}

void arm_tick(self_ptr self) {
  if (self->state.tick_armed || self->state.inflight.empty()) return;
  self->state.tick_armed = true;
  auto interval = std::max<duration_ms>(1, self->state.cfg.deadline_ms / 10);
  self->delayed_send(self, std::chrono::milliseconds{interval}, tick_atom::value);
}

// Decides every placement whose deadline has passed, with whatever offers arrived.
void on_tick(self_ptr self) {
  auto& st = self->state;
  st.tick_armed = false;
  auto now = runtime::now_ms(self);
  std::vector<pending_ptr> due;
  for (auto& [seq, p] : st.inflight)
    if (p->started + st.cfg.deadline_ms <= now) due.push_back(p);
  for (auto& p : due) {
    if (!p->preselected) {
      p->decided = true;
      st.inflight.erase(p->seq);
      p->rp.deliver(make_error(errc::deadline_exceeded,
                               "the zone registry did not preselect zones within the " +
                                   std::to_string(st.cfg.deadline_ms) + " ms deadline"));
      continue;
    }
    for (auto& v : p->decision.verdicts)
      if (v.preselected && !v.answered && v.reason.empty())
        v.reason =
            "did not answer within the " + std::to_string(st.cfg.deadline_ms) + " ms deadline";
    decide(self, p);
  }
  arm_tick(self);
}

void flush(self_ptr self) {
  self->state.flush_pending = false;
  auto batches = std::move(self->state.outgoing);
  self->state.outgoing.clear();
  for (auto& [name, b] : batches) {
    auto waiters =
        std::make_shared<std::vector<std::pair<pending_ptr, size_t>>>(std::move(b.waiters));
    auto zone = b.zone;
    // No request timeout: the deadline tick decides without late zones (see state).
    self->request(b.zone, caf::infinite, zone_evaluate_batch{std::move(b.requests)})
        .then(
            [=](zone_offer_batch& reply) {
              std::vector<fusion_id> late;
              for (size_t i = 0; i < waiters->size(); ++i) {
                auto& [p, idx] = (*waiters)[i];
                bool has_offer = i < reply.offers.size();
                if (p->decided) {
                  if (has_offer && reply.offers[i].accepted)
                    late.push_back(std::move(reply.offers[i].proposal.offer_id));
                  continue;
                }
                auto& v = p->decision.verdicts[idx];
                v.answered = true;
                if (!has_offer) {
                  v.reason = "zone answered without an offer for this request";
                } else if (auto& o = reply.offers[i]; o.accepted) {
                  v.offered = true;
                  v.zone_offer = std::move(o.proposal);
                } else {
                  v.reason = std::move(o.reason);
                }
                answered(self, p);
              }
              if (!late.empty())  // the placement was decided without them: give them back
                self->send(zone, release_offers{std::move(late)});
            },
            [=](caf::error& e) {
              for (auto& [p, idx] : *waiters) {
                if (p->decided) continue;
                auto& v = p->decision.verdicts[idx];
                v.answered = true;
                v.reason = "evaluation failed: " + describe(e);
                answered(self, p);
              }
            });
  }
}

// Steps 2 and 3 for one placement: queue an evaluation per candidate zone.
void ask_zones(self_ptr self, const pending_ptr& p, preselection& pre) {
  if (p->decided) return;
  p->preselected = true;
  auto& d = p->decision;
  d.zones_known = pre.zones_known;
  for (auto& r : pre.rejected) {
    zone_verdict v;
    v.zone_id = std::move(r.zone_id);
    v.zone_name = std::move(r.zone_name);
    v.reason = std::move(r.reason);
    // The registry's reasons stand alone ("zone a: …"); in a verdict the zone is named already.
    if (auto prefix = "zone " + v.zone_name + ": "; v.reason.rfind(prefix, 0) == 0)
      v.reason.erase(0, prefix.size());
    d.verdicts.push_back(std::move(v));
  }
  for (auto& z : pre.candidates) {
    zone_verdict v;
    v.zone_id = z.zone_id;
    v.zone_name = z.parameters.name;
    v.preselected = true;
    auto name = z.manager.actor.empty() ? names::zone_manager(z.parameters.name) : z.manager.actor;
    auto zm = caf::actor_cast<zone_manager_actor>(self->state.dir->resolve({z.manager.node, name}));
    if (!zm) {
      v.reason = "zone manager '" + name + "' is not reachable";
      d.verdicts.push_back(std::move(v));
      continue;
    }
    d.verdicts.push_back(std::move(v));
    auto& b = self->state.outgoing[name];
    b.zone = zm;
    zone_evaluate ev;
    ev.service_name = p->request.service.name;
    ev.deploy = p->request.deploy;
    ev.timeout_ms =
        std::max<duration_ms>(1, p->started + self->state.cfg.deadline_ms - runtime::now_ms(self));
    ev.service = p->request.service;
    b.requests.push_back(std::move(ev));
    b.waiters.emplace_back(p, d.verdicts.size() - 1);
    ++p->outstanding;
  }
  if (p->outstanding == 0) {
    decide(self, p);
    return;
  }
  if (!self->state.flush_pending) {
    self->state.flush_pending = true;
    self->send(self, flush_atom::value);  // after everything already queued: batches fill up
  }
}

caf::behavior placement_impl(self_ptr self, placement_config cfg, runtime::directory_ptr dir) {
  self->state.cfg = cfg;
  self->state.dir = std::move(dir);
  return {
      [=](place_service& req) -> caf::result<placement_decision> {
        if (req.deploy.instances == 0)
          return make_error(errc::invalid_argument, "deploy.instances must be at least 1");
        auto registry = self->state.dir->get_as<zone_registry_actor>(names::zone_registry);
        if (!registry)
          return make_error(errc::no_feasible_zone, "this domain has no zone registry");
        auto p = std::make_shared<pending_placement>();
        p->rp = self->make_response_promise<placement_decision>();
        p->started = runtime::now_ms(self);
        p->seq = self->state.next_seq++;
        self->state.inflight.emplace(p->seq, p);
        arm_tick(self);
        p->decision.decision_id = self->state.decision_ids.make();
        p->decision.service = req.service.name;
        p->decision.policy =
            effective_policy(req.service, req.deploy, self->state.cfg.default_policy);
        p->request = std::move(req);
        auto k = self->state.cfg.k;
        self->request(registry, caf::infinite,
                      preselect_zones{p->request.service, p->request.deploy, k})
            .then([=](preselection& pre) { ask_zones(self, p, pre); },
                  [=](caf::error& e) {
                    if (p->decided) return;
                    p->decided = true;
                    self->state.inflight.erase(p->seq);
                    p->rp.deliver(make_error(errc::no_feasible_zone,
                                             "zone registry did not preselect: " + describe(e)));
                  });
        return p->rp;
      },
      [=](explain_placement& req) -> caf::result<placement_decision> {
        for (auto& d : self->state.recent)
          if (d.decision_id == req.decision_id) return d;
        return make_error(errc::invalid_argument,
                          "no recorded placement decision '" + req.decision_id.value +
                              "' (the last " + std::to_string(self->state.cfg.decisions_kept) +
                              " are kept)");
      },
      [=](flush_atom) { flush(self); },
      [=](tick_atom) { on_tick(self); },
  };
}

bool better(const zone_verdict& x, const zone_verdict& y, placement_policy policy) {
  const auto& a = x.zone_offer;
  const auto& b = y.zone_offer;
  switch (policy) {
    case placement_policy::lowest_cost:
      if (a.cost != b.cost) return a.cost < b.cost;
      break;
    case placement_policy::lowest_latency:
      if (a.latency_ms != b.latency_ms) return a.latency_ms < b.latency_ms;
      break;
    case placement_policy::best_total:
      break;
  }
  if (a.scores.total != b.scores.total) return a.scores.total > b.scores.total;
  return x.zone_name < y.zone_name;  // deterministic tie-break
}

}  // namespace

placement_policy effective_policy(const manifest& m, const deploy_parameters& d,
                                  placement_policy fallback) {
  return d.has_policy ? d.policy : m.policy_set ? m.policy : fallback;
}

std::vector<size_t> select_offers(std::vector<zone_verdict>& verdicts, placement_policy policy,
                                  uint32_t instances, double latency_budget_ms, double max_cost) {
  std::vector<size_t> eligible;
  for (size_t i = 0; i < verdicts.size(); ++i) {
    auto& v = verdicts[i];
    if (!v.offered) continue;
    if (max_cost > 0 && v.zone_offer.cost > max_cost) {
      v.reason = "offer costs " + std::to_string(v.zone_offer.cost) + "/h, above the ceiling " +
                 std::to_string(max_cost) + "/h";
      continue;
    }
    if (policy == placement_policy::lowest_latency && latency_budget_ms > 0 &&
        v.zone_offer.latency_ms > latency_budget_ms) {
      v.reason = "latency " + std::to_string(v.zone_offer.latency_ms) +
                 " ms is above the budget of " + std::to_string(latency_budget_ms) + " ms";
      continue;
    }
    eligible.push_back(i);
  }
  std::sort(eligible.begin(), eligible.end(),
            [&](size_t x, size_t y) { return better(verdicts[x], verdicts[y], policy); });
  std::vector<size_t> chosen;
  uint32_t covered = 0;
  for (auto i : eligible) {
    if (covered >= instances) {
      verdicts[i].reason = "not needed: better offers cover the request";
      continue;
    }
    chosen.push_back(i);
    covered += verdicts[i].zone_offer.instances;
  }
  return chosen;
}

std::string render_decision(const placement_decision& d) {
  std::ostringstream out;
  out << "decision " << d.decision_id.value << ": " << d.summary << "\n";
  for (const auto& v : d.verdicts) {
    out << "  " << (v.chosen ? "* " : "  ") << v.zone_name << ": ";
    const auto& reason = v.reason;
    if (v.offered) {
      const auto& o = v.zone_offer;
      out << "scores[total=" << o.scores.total << " hardware=" << o.scores.hardware
          << " capacity=" << o.scores.capacity;
      for (const auto& [k, x] : o.scores.extra) out << " " << k << "=" << x;
      out << "] price=" << o.cost << "/h latency=" << o.latency_ms
          << "ms instances=" << o.instances;
      if (!v.chosen && !reason.empty()) out << " — " << reason;
    } else {
      out << (v.preselected ? "refused: " : "excluded: ") << reason;
    }
    out << "\n";
  }
  return out.str();
}

placement_actor spawn_placement(caf::actor_system& sys, placement_config cfg,
                                runtime::directory_ptr dir) {
  auto d = dir;
  auto handle = caf::actor_cast<placement_actor>(sys.spawn(placement_impl, cfg, std::move(d)));
  dir->put(names::placement, caf::actor_cast<caf::actor>(handle));
  return handle;
}

}  // namespace fusion::domain
