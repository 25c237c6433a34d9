#include "actors/domain/placement.hpp"

#include "actors/domain/select.hpp"
#include "protocols/names.hpp"
#include "protocols/zone_management.hpp"
#include "runtime/clock.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_pool.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <unordered_map>

namespace fusion::domain {

using namespace protocols;

namespace {

using flush_atom = caf::atom_constant<caf::atom("flush")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;

// One placement request waiting in a cohort.
struct member {
  caf::typed_response_promise<placement_decision> rp;
  fusion_id decision_id;
  bool dry_run = false;
};

// A preselected zone of a cohort: its verdict as the zone answered it, and the offers it
// made, handed to the members in arrival order.
struct candidate {
  zone_manager_actor zone;        // invalid if unreachable (the verdict says so)
  zone_verdict verdict;           // offered: the terms every offer in `offers` shares
  std::vector<fusion_id> offers;  // one reservation each
  size_t next = 0;                // offers[next..] are not taken by a member yet
  runtime::mono_time received;    // when the offers arrived: their TTL counts from here
};

// Identical placement requests in flight together (same manifest, same deployment
// parameters) are placed as one equivalence class, as Borg does: one preselection, and
// one evaluation per zone that asks for an offer per member. Step 4 then runs for each
// member in arrival order over the offers not yet taken, so every member still gets its
// own binding offers, its own decision and its own explain record. The cohort accepts
// members until its preselection is answered.
struct cohort {
  shared<manifest> service;  // one copy for all its evaluations
  deploy_parameters deploy;
  placement_policy policy = placement_policy::best_total;
  std::vector<member> members;
  uint64_t seq = 0;
  runtime::mono_time started;
  bool open = true;          // accepting members
  bool preselected = false;  // the zone registry answered step 1
  bool decided = false;      // answered; late replies are ignored (their offers released)
  size_t outstanding = 0;    // evaluations not yet answered
  uint32_t zones_known = 0;
  std::vector<zone_verdict> excluded;  // failed step 1
  std::vector<candidate> candidates;   // passed step 1
};

using cohort_ptr = std::shared_ptr<cohort>;

// Evaluations bound for one zone, waiting for the next flush.
struct zone_batch {
  zone_manager_actor zone;
  std::vector<zone_evaluate> requests;
  std::vector<std::pair<cohort_ptr, size_t>> waiters;  // cohort and candidate index
};

// Offers to give back to one zone: they travel with the next evaluation batch to it, or
// at the next tick, whichever comes first.
struct zone_releases {
  zone_manager_actor zone;
  std::vector<fusion_id> ids;
};

// The decisions of all workers of one placement function. Ids come from one counter, so
// they read as a sequence in the order the requests arrived whichever worker placed them;
// any worker answers explain from the one record. Recent decisions are kept as the messages
// that answered them: explain and the caller share one copy.
class decision_log {
 public:
  explicit decision_log(size_t kept) : kept_(kept) {}

  fusion_id make_id() { return {"decision-" + std::to_string(next_.fetch_add(1))}; }

  void add(caf::message msg) {
    std::lock_guard<std::mutex> guard{mtx_};
    recent_.push_back(std::move(msg));
    while (recent_.size() > kept_) recent_.pop_front();
  }

  std::optional<placement_decision> find(const fusion_id& id) {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& msg : recent_)
      if (const auto& d = msg.get_as<placement_decision>(0); d.decision_id == id) return d;
    return std::nullopt;
  }

 private:
  size_t kept_;
  std::atomic<uint64_t> next_{1};
  std::mutex mtx_;
  std::deque<caf::message> recent_;
};

using decision_log_ptr = std::shared_ptr<decision_log>;

struct placement_state {
  placement_state() = default;
  runtime::placement_config cfg;
  runtime::directory_ptr dir;
  decision_log_ptr log;  // shared by the workers
  // Cohorts still accepting members, by service name.
  std::unordered_map<std::string, std::vector<cohort_ptr>> open;
  std::unordered_map<caf::actor_id, zone_batch> outgoing;     // by zone manager
  std::unordered_map<caf::actor_id, zone_releases> releases;  // by zone manager
  bool flush_pending = false;
  // Deadlines and give-backs: one periodic tick, armed while cohorts are in flight or
  // offers wait to go back, instead of a timer per request (CAF 0.17 never cancels request
  // timers: each one costs a wakeup of the clock thread and lingers until it fires).
  std::map<uint64_t, cohort_ptr> inflight;
  uint64_t next_seq = 1;
  bool tick_armed = false;
  static inline const char* name = "placement";
};

using self_ptr = caf::stateful_actor<placement_state>*;

double cost_limit(const manifest& m, const deploy_parameters& d) {
  return d.max_cost > 0 ? d.max_cost : m.cost_ceiling;
}

double latency_budget(const manifest& m, const deploy_parameters& d) {
  return d.latency_budget_ms > 0 ? d.latency_budget_ms : m.latency_budget_ms;
}

// The cohort stops accepting members: its zones are asked for one offer per member.
void close(self_ptr self, const cohort_ptr& c) {
  if (!c->open) return;
  c->open = false;
  auto i = self->state.open.find(c->service->name);
  if (i == self->state.open.end()) return;
  auto& list = i->second;
  list.erase(std::remove(list.begin(), list.end(), c), list.end());
  if (list.empty()) self->state.open.erase(i);
}

void arm_tick(self_ptr self);

// Queues offers to give back to `zone` (see zone_releases).
template <class Iterator>
void give_back(self_ptr self, const zone_manager_actor& zone, Iterator first, Iterator last) {
  if (first == last || !zone) return;
  auto& r = self->state.releases[zone.id()];
  r.zone = zone;
  r.ids.insert(r.ids.end(), first, last);
  arm_tick(self);
}

void give_back(self_ptr self, const zone_manager_actor& zone, const fusion_id& offer) {
  give_back(self, zone, &offer, &offer + 1);
}

void send_releases(self_ptr self) {
  for (auto& [id, r] : self->state.releases) self->send(r.zone, release_offers{std::move(r.ids)});
  self->state.releases.clear();
}

void fail(self_ptr self, const cohort_ptr& c, const caf::error& e) {
  close(self, c);
  c->decided = true;
  self->state.inflight.erase(c->seq);
  for (auto& m : c->members) m.rp.deliver(e);
}

std::string summary(const placement_decision& d, const manifest& service, uint32_t instances,
                    const offer_selection& sel, double ceiling) {
  size_t asked = 0;
  size_t offered = 0;
  for (const auto& v : d.verdicts) {
    asked += v.preselected ? 1 : 0;
    offered += v.offered ? 1 : 0;
  }
  auto out = service.name + ": " + (d.satisfied ? "placed" : "not placed") + ", " +
             std::to_string(d.zones_known) + " zones known, " + std::to_string(asked) + " asked, " +
             std::to_string(offered) + " offered, " + std::to_string(sel.chosen.size()) +
             " chosen (" + std::string{to_string(d.policy)} + ")";
  if (d.satisfied)
    out +=
        ": " + std::to_string(sel.covered) + " instances for " + for_people(sel.total_cost) + "/h";
  else if (sel.covered > 0)
    out += "; offers cover " + std::to_string(sel.covered) + " of " + std::to_string(instances) +
           " instances" +
           (sel.ceiling_bound ? " within the cost ceiling of " + for_people(ceiling) + "/h" : "");
  else if (sel.ceiling_bound)
    out += "; no offer fits the cost ceiling of " + for_people(ceiling) + "/h";
  return out;
}

// Step 4 and the record, for each member in arrival order: choose among the offers not
// taken by earlier members, remember, answer; then give back every offer left over.
void decide(self_ptr self, const cohort_ptr& c) {
  auto& st = self->state;
  c->decided = true;
  st.inflight.erase(c->seq);
  const auto budget = latency_budget(*c->service, c->deploy);
  const auto ceiling = cost_limit(*c->service, c->deploy);
  const auto first = c->excluded.size();  // verdict index of candidate 0
  // Offers are binding only while their zone holds them: one whose TTL (counted on this
  // clock from its arrival) has run out is no longer an offer.
  const auto now = runtime::mono_now(self);
  for (auto& cd : c->candidates) {
    auto& v = cd.verdict;
    if (!v.offered || runtime::after(cd.received, v.zone_offer.ttl_ms) > now) continue;
    v.offered = false;
    v.code = refusal_code::offer_lapsed;
    v.details = std::to_string(v.zone_offer.ttl_ms) + " ms";
  }
  const auto decided_at = runtime::wall_now(self);
  for (auto& m : c->members) {
    const bool last = &m == &c->members.back();  // may take the cohort's verdicts
    placement_decision d;
    d.decision_id = std::move(m.decision_id);
    d.service = c->service->name;
    d.policy = c->policy;
    d.zones_known = c->zones_known;
    if (last)
      d.verdicts = std::move(c->excluded);
    else
      d.verdicts = c->excluded;
    d.verdicts.reserve(first + c->candidates.size());
    for (auto& cd : c->candidates) {
      auto& v = d.verdicts.emplace_back(last ? std::move(cd.verdict) : cd.verdict);
      if (!v.offered) continue;
      if (cd.next < cd.offers.size()) {
        v.zone_offer.offer_id = cd.offers[cd.next];
      } else {
        v.offered = false;
        v.code = refusal_code::offers_taken;
        v.details = std::to_string(cd.offers.size());
      }
    }
    auto sel = select_offers(d.verdicts, d.policy, c->deploy.instances, budget, ceiling);
    for (const auto& take : sel.chosen) {
      auto& v = d.verdicts[take.verdict];
      v.chosen = true;
      // The decision's copy says what it takes; the verdict keeps the zone's whole offer.
      auto& o = d.chosen.emplace_back(v.zone_offer);
      o.instances = take.instances;
      o.cost = take.cost;
      auto& cd = c->candidates[take.verdict - first];
      ++cd.next;  // taken by this member
      if (m.dry_run) give_back(self, cd.zone, v.zone_offer.offer_id);
    }
    d.satisfied = sel.covered >= c->deploy.instances && !sel.chosen.empty();
    d.summary = summary(d, *c->service, c->deploy.instances, sel, ceiling);
    d.decided_at = decided_at;
    auto msg = caf::make_message(std::move(d));
    st.log->add(msg);
    static_cast<caf::response_promise&>(m.rp).deliver(std::move(msg));
  }
  // Reservations no member chose go back to their zones.
  for (auto& cd : c->candidates)
    give_back(self, cd.zone,
              std::make_move_iterator(cd.offers.begin() + static_cast<std::ptrdiff_t>(cd.next)),
              std::make_move_iterator(cd.offers.end()));
}

// The tick runs while placements are in flight or offers wait to be given back.
void arm_tick(self_ptr self) {
  auto& st = self->state;
  if (st.tick_armed || (st.inflight.empty() && st.releases.empty())) return;
  self->state.tick_armed = true;
  auto interval = std::max<duration_ms>(1, self->state.cfg.deadline_ms / 10);
  self->delayed_send(self, std::chrono::milliseconds{interval}, tick_atom::value);
}

// Decides every cohort whose deadline has passed, with whatever offers arrived.
void on_tick(self_ptr self) {
  auto& st = self->state;
  st.tick_armed = false;
  auto now = runtime::mono_now(self);
  std::vector<cohort_ptr> due;
  for (auto& [seq, c] : st.inflight)
    if (runtime::after(c->started, st.cfg.deadline_ms) <= now) due.push_back(c);
  for (auto& c : due) {
    if (!c->preselected) {
      fail(self, c,
           make_error(errc::deadline_exceeded,
                      "the zone registry did not preselect zones within the " +
                          std::to_string(st.cfg.deadline_ms) + " ms deadline"));
      continue;
    }
    for (auto& cd : c->candidates)
      if (cd.zone && !cd.verdict.answered && cd.verdict.code == refusal_code::none) {
        cd.verdict.code = refusal_code::no_answer;
        cd.verdict.details = std::to_string(st.cfg.deadline_ms) + " ms";
      }
    decide(self, c);
  }
  send_releases(self);
  arm_tick(self);
}

// The answer of one zone to a cohort's evaluation.
void answered(self_ptr self, const cohort_ptr& c, size_t idx, zone_offer* o, refusal_code failure,
              const std::string& details) {
  auto& cd = c->candidates[idx];
  if (c->decided) {  // decided without this zone: give its offers back
    if (o != nullptr && o->accepted) {
      auto& ids = o->more_offer_ids;
      ids.insert(ids.begin(), std::move(o->proposal.offer_id));
      give_back(self, cd.zone, std::make_move_iterator(ids.begin()),
                std::make_move_iterator(ids.end()));
    }
    return;
  }
  auto& v = cd.verdict;
  v.answered = true;
  if (o == nullptr) {
    v.code = failure;
    v.details = details;
  } else if (o->accepted) {
    v.offered = true;
    cd.received = runtime::mono_now(self);
    cd.offers.reserve(1 + o->more_offer_ids.size());
    cd.offers.push_back(o->proposal.offer_id);
    std::move(o->more_offer_ids.begin(), o->more_offer_ids.end(), std::back_inserter(cd.offers));
    v.zone_offer = std::move(o->proposal);
  } else {
    // An older zone (zone_offer version 1) sends words only: code none shows them as they are.
    v.code = o->code;
    v.details = std::move(o->details);
  }
  if (--c->outstanding == 0) decide(self, c);
}

void flush(self_ptr self) {
  self->state.flush_pending = false;
  auto batches = std::move(self->state.outgoing);
  self->state.outgoing.clear();
  for (auto& [id, b] : batches) {
    auto waiters =
        std::make_shared<std::vector<std::pair<cohort_ptr, size_t>>>(std::move(b.waiters));
    zone_evaluate_batch msg{std::move(b.requests), {}};
    if (auto r = self->state.releases.find(id); r != self->state.releases.end()) {
      msg.release = std::move(r->second.ids);
      self->state.releases.erase(r);
    }
    // No request timeout: the deadline tick decides without late zones (see state).
    self->request(b.zone, caf::infinite, std::move(msg))
        .then(
            [=](zone_offer_batch& reply) {
              for (size_t i = 0; i < waiters->size(); ++i) {
                auto& [c, idx] = (*waiters)[i];
                answered(self, c, idx, i < reply.offers.size() ? &reply.offers[i] : nullptr,
                         refusal_code::no_offer, {});
              }
            },
            [=](caf::error& e) {
              auto why = describe(e);
              for (auto& [c, idx] : *waiters)
                answered(self, c, idx, nullptr, refusal_code::evaluation_failed, why);
            });
  }
}

// Steps 2 and 3 for a cohort: queue an evaluation per candidate zone, asking each for one
// offer per member.
void ask_zones(self_ptr self, const cohort_ptr& c, preselection& pre) {
  close(self, c);
  if (c->decided) return;
  c->preselected = true;
  c->zones_known = pre.zones_known;
  for (auto& r : pre.rejected) {
    auto& v = c->excluded.emplace_back();
    v.zone_id = std::move(r.zone_id);
    v.zone_name = std::move(r.zone_name);
    v.code = r.code;
    v.details = std::move(r.details);
  }
  auto& st = self->state;
  auto copies = static_cast<uint32_t>(c->members.size());
  auto timeout = std::max<duration_ms>(
      1, st.cfg.deadline_ms - runtime::millis_between(c->started, runtime::mono_now(self)));
  c->candidates.resize(pre.candidates.size());
  for (size_t i = 0; i < pre.candidates.size(); ++i) {
    auto& z = pre.candidates[i];
    auto& cd = c->candidates[i];
    cd.verdict.zone_id = z.zone_id;
    cd.verdict.zone_name = z.parameters.name;
    cd.verdict.preselected = true;
    cd.zone = caf::actor_cast<zone_manager_actor>(st.dir->resolve(z.manager));
    if (!cd.zone) {
      cd.verdict.code = refusal_code::unreachable;
      cd.verdict.details = z.manager.actor;
      continue;
    }
    auto& b = st.outgoing[cd.zone.id()];
    b.zone = cd.zone;
    auto& ev = b.requests.emplace_back();
    ev.service_name = c->service->name;
    ev.deploy = c->deploy;
    ev.timeout_ms = timeout;
    ev.service = c->service;
    ev.copies = copies;
    b.waiters.emplace_back(c, i);
    ++c->outstanding;
  }
  if (c->outstanding == 0) {
    decide(self, c);
    return;
  }
  if (!st.flush_pending) {
    st.flush_pending = true;
    self->send(self, flush_atom::value);  // after everything already queued: batches fill up
  }
}

// The open cohort an identical request would join, or a new one (with its preselection
// under way).
cohort_ptr cohort_for(self_ptr self, place_service& req, const zone_registry_actor& registry) {
  auto& st = self->state;
  auto& list = st.open[req.service.name];
  for (auto& c : list)
    if (c->deploy == req.deploy && *c->service == req.service) return c;
  auto c = std::make_shared<cohort>();
  c->started = runtime::mono_now(self);
  c->seq = st.next_seq++;
  c->policy = effective_policy(req.service, req.deploy, st.cfg.policy);
  c->service = std::move(req.service);
  c->deploy = std::move(req.deploy);
  list.push_back(c);
  st.inflight.emplace(c->seq, c);
  arm_tick(self);
  self->request(registry, caf::infinite, preselect_zones{*c->service, c->deploy, st.cfg.k})
      .then([=](preselection& pre) { ask_zones(self, c, pre); },
            [=](caf::error& e) {
              if (!c->decided)
                fail(self, c,
                     make_error(errc::no_feasible_zone,
                                "zone registry did not preselect: " + describe(e)));
            });
  return c;
}

caf::behavior placement_impl(self_ptr self, runtime::placement_config cfg,
                             runtime::directory_ptr dir, decision_log_ptr log) {
  self->state.cfg = cfg;
  self->state.dir = std::move(dir);
  self->state.log = std::move(log);
  return {
      [=](place_service& req) -> caf::result<placement_decision> {
        if (req.deploy.instances == 0)
          return make_error(errc::invalid_argument, "deploy.instances must be at least 1");
        auto registry = self->state.dir->get_as<zone_registry_actor>(names::zone_registry);
        if (!registry)
          return make_error(errc::no_feasible_zone, "this domain has no zone registry");
        auto c = cohort_for(self, req, registry);
        auto& m = c->members.emplace_back();
        m.rp = self->make_response_promise<placement_decision>();
        m.decision_id = self->state.log->make_id();
        m.dry_run = req.dry_run;
        if (c->members.size() >= self->state.cfg.max_cohort) close(self, c);
        return m.rp;
      },
      [=](explain_placement& req) -> caf::result<placement_decision> {
        if (auto d = self->state.log->find(req.decision_id)) return std::move(*d);
        return make_error(errc::invalid_argument,
                          "no recorded placement decision '" + req.decision_id.value +
                              "' (the last " + std::to_string(self->state.cfg.decisions_kept) +
                              " are kept)");
      },
      [=](flush_atom) { flush(self); },
      [=](tick_atom) { on_tick(self); },
  };
}

}  // namespace

placement_policy effective_policy(const manifest& m, const deploy_parameters& d,
                                  placement_policy fallback) {
  return d.has_policy ? d.policy : m.policy_set ? m.policy : fallback;
}

std::string render_decision(const placement_decision& d, bool legend) {
  std::ostringstream out;
  out << "decision " << d.decision_id.value << ": " << d.summary << "\n";
  if (legend) {
    out << "  policy " << explain_policy(d.policy) << "\n";
    out << "  (* = chosen, listed first, with the instances taken from its offer)\n";
  }
  auto line = [&](const zone_verdict& v, const offer* taken) {
    out << "  " << (v.chosen ? "* " : "  ") << v.zone_name << ": ";
    if (!v.offered) {
      out << (v.preselected ? "refused: " : "excluded: ") << refusal_words(v.code, v.details)
          << "\n";
      return;
    }
    const auto& o = v.zone_offer;
    if (taken != nullptr)
      out << "takes " << taken->instances << " of " << o.instances << " instances for "
          << for_people(taken->cost) << "/h; ";
    out << "offer " << o.instances << " instances for " << for_people(o.cost) << "/h, latency "
        << (o.latency_ms > 0 ? for_people(o.latency_ms) + " ms" : "n/a") << ", scores total "
        << for_people(o.scores.total) << " (hardware " << for_people(o.scores.hardware)
        << ", capacity " << for_people(o.scores.capacity);
    for (const auto& [k, x] : o.scores.extra) out << ", " << k << " " << for_people(x);
    out << ")";
    if (!v.chosen && v.code != refusal_code::none) out << " — " << refusal_words(v.code, v.details);
    out << "\n";
  };
  // Chosen zones first, in the order they were chosen; then every other zone as recorded.
  for (const auto& o : d.chosen)
    for (const auto& v : d.verdicts)
      if (v.chosen && v.zone_offer.offer_id == o.offer_id) line(v, &o);
  for (const auto& v : d.verdicts)
    if (!v.chosen) line(v, nullptr);
  return out.str();
}

namespace {

// The worker a message belongs to: place_service by its service name (identical requests
// meet in one cohort); anything else, explain_placement included, to the first (every worker
// reads the shared decision_log).
size_t worker_for(const caf::type_erased_tuple& msg, size_t workers) {
  if (!msg.empty() && msg.match_element<place_service>(0))
    return std::hash<std::string>{}(msg.get_as<place_service>(0).service.name) % workers;
  return 0;
}

void route_placement(caf::actor_system&, caf::actor_pool::uplock& guard,
                     const caf::actor_pool::actor_vec& workers, caf::mailbox_element_ptr& ptr,
                     caf::execution_unit* host) {
  auto worker = workers[worker_for(ptr->content(), workers.size())];
  guard.unlock();
  worker->enqueue(std::move(ptr), host);
}

}  // namespace

placement_actor spawn_placement(caf::actor_system& sys, runtime::placement_config cfg,
                                runtime::directory_ptr dir) {
  cfg.workers = std::max<uint32_t>(1, cfg.workers);
  auto log = std::make_shared<decision_log>(cfg.decisions_kept);
  caf::actor handle;
  if (cfg.workers == 1) {
    handle = sys.spawn(placement_impl, cfg, dir, log);
  } else {
    auto spawn_worker = [&sys, cfg, dir, log] { return sys.spawn(placement_impl, cfg, dir, log); };
    handle = caf::actor_pool::make(sys.dummy_execution_unit(), cfg.workers, spawn_worker,
                                   route_placement);
  }
  dir->put(names::placement, handle);
  return caf::actor_cast<placement_actor>(handle);
}

}  // namespace fusion::domain
