#include "actors/service/instance.hpp"

#include "protocols/errc.hpp"
#include "protocols/names.hpp"
#include "runtime/clock.hpp"
#include "runtime/logging.hpp"

#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <spdlog/logger.h>

#include <algorithm>
#include <chrono>
#include <unordered_map>

namespace fusion::service {

using namespace protocols;

const char* to_string(instance_phase x) {
  switch (x) {
    case instance_phase::created:
      return "created";
    case instance_phase::running:
      return "running";
    case instance_phase::stopping:
      return "stopping";
    case instance_phase::stopped:
      return "stopped";
  }
  return "created";
}

namespace {

using stop_deadline_atom = caf::atom_constant<caf::atom("stopdead")>;
using report_atom = caf::atom_constant<caf::atom("slotrep")>;
using sweep_atom = caf::atom_constant<caf::atom("sessweep")>;

/// The instance's full interface: the public one plus its timers (a report timer carries
/// the token it was armed with; only the newest one acts).
using instance_impl = service_lifecycle_actor::extend<caf::reacts_to<stop_deadline_atom>,
                                                      caf::reacts_to<report_atom, uint64_t>,
                                                      caf::reacts_to<sweep_atom>>;

/// Where and how the instance reports its free slots.
struct slot_reporting {
  slot_sink_actor sink;  // the zone manager (instance_config::report_to); null: nowhere
  uint64_t epoch = 0;
  uint64_t sequence = 0;
  runtime::mono_time last_sent{};
  uint64_t token = 0;        // of the one report timer that acts
  bool early_armed = false;  // a timer for a change is pending
};

struct instance_state {
  instance_state() = default;
  instance_config cfg;
  instance_phase phase = instance_phase::created;
  uint32_t max_sessions = 0;
  struct session {
    std::string client;
    runtime::mono_time last_seen;  // grant or keepalive
  };
  std::unordered_map<std::string, session> sessions;  // by session id
  uint64_t granted = 0;
  uint64_t released = 0;
  uint64_t forced = 0;
  uint64_t refused = 0;  // acquire_session without a free slot
  uint64_t expired = 0;  // ended by the session timeout: their clients went silent
  uint64_t unknown = 0;  // releases and keepalives of sessions it does not hold
  std::shared_ptr<spdlog::logger> log;
  runtime::id_generator session_ids{"sess"};
  slot_reporting slots;
  caf::typed_response_promise<status_reply> stop_promise;
  static inline const char* name = "service_instance";

  uint32_t in_use() const { return static_cast<uint32_t>(sessions.size()); }
  uint32_t available() const { return max_sessions > in_use() ? max_sessions - in_use() : 0; }
};

using self_ptr = instance_impl::stateful_pointer<instance_state>;

caf::error wrong_state(self_ptr self, const char* what) {
  auto& st = self->state;
  return fusion::make_error(
      errc::invalid_state,
      "instance " + st.cfg.instance_id.value + " cannot " + what + " while " + to_string(st.phase));
}

// Sends the free slots now and arms the refresh timer (the one timer that acts).
void report_now(self_ptr self) {
  auto& st = self->state;
  auto& r = st.slots;
  slot_report rep;
  rep.zone_id = st.cfg.instance_id;
  rep.service = st.cfg.service;
  rep.available = st.available();
  rep.max = st.max_sessions;
  rep.moving_average = rep.available;  // the zone smooths its sums over time
  rep.sequence = ++r.sequence;
  rep.epoch = r.epoch;
  rep.sent_at = runtime::wall_now(self);
  caf::anon_send(r.sink, std::move(rep));
  r.last_sent = runtime::mono_now(self);
  r.early_armed = false;
  self->delayed_send(self, std::chrono::milliseconds(std::max<duration_ms>(1, st.cfg.refresh_ms)),
                     report_atom::value, ++r.token);
}

// The free slots changed: report now, or once report_ms has passed since the last report.
void slots_changed(self_ptr self) {
  auto& st = self->state;
  auto& r = st.slots;
  if (!r.sink || st.phase != instance_phase::running || r.early_armed) return;
  auto due = runtime::after(r.last_sent, st.cfg.report_ms);
  auto now = runtime::mono_now(self);
  if (due <= now) {
    report_now(self);
    return;
  }
  r.early_armed = true;
  self->delayed_send(self, std::chrono::milliseconds(runtime::millis_between(now, due)),
                     report_atom::value, ++r.token);
}

// Arms the next sweep for silent clients: a session ends between one and one and a quarter
// session timeouts after its client's last word.
void arm_sweep(self_ptr self) {
  if (auto t = self->state.cfg.session_timeout_ms; t > 0)
    self->delayed_send(self, std::chrono::milliseconds(std::max<duration_ms>(1, t / 4)),
                       sweep_atom::value);
}

void finish_stop(self_ptr self, std::string detail);

// Ends the sessions whose clients have been silent for the session timeout.
void sweep(self_ptr self) {
  auto& st = self->state;
  auto now = runtime::mono_now(self);
  auto before = st.sessions.size();
  std::erase_if(st.sessions, [&](const auto& kv) {
    return runtime::after(kv.second.last_seen, st.cfg.session_timeout_ms) <= now;
  });
  auto n = before - st.sessions.size();
  st.expired += n;
  if (n > 0) slots_changed(self);
  if (st.phase == instance_phase::stopping && st.sessions.empty()) {
    finish_stop(self, "drained");
    return;
  }
  arm_sweep(self);
}

// A release or keepalive of a session the instance does not hold: counted, logged (the first,
// then every 1,000th), refused with why.
caf::error unknown_session(self_ptr self, const char* what, const fusion_id& session) {
  auto& st = self->state;
  auto why = "instance " + st.cfg.instance_id.value + " has no session '" + session.value +
             "' (it was released, or it expired after " +
             std::to_string(st.cfg.session_timeout_ms) + " ms without a keepalive)";
  if (runtime::log_occurrence(++st.unknown))
    st.log->warn("dropped a {} ({} so far): {}", what, st.unknown, why);
  return fusion::make_error(errc::invalid_argument, std::move(why));
}

// Answers the pending service_stop and ends the actor.
void finish_stop(self_ptr self, std::string detail) {
  auto& st = self->state;
  st.phase = instance_phase::stopped;
  st.stop_promise.deliver(status_reply{status::ok, std::move(detail)});
  self->quit();
}

instance_impl::behavior_type instance(self_ptr self, instance_config cfg) {
  self->state.session_ids = runtime::id_generator{"sess-" + cfg.instance_id.value};
  self->state.log = runtime::logger("instance");
  self->state.slots.sink = cfg.report_to;
  self->state.slots.epoch =
      cfg.epoch > 0 ? cfg.epoch
                    : static_cast<uint64_t>(std::max<int64_t>(1, runtime::wall_now(self)));
  self->state.cfg = std::move(cfg);
  return {
      [=](service_start& req) -> caf::result<status_reply> {
        auto& st = self->state;
        if (st.phase != instance_phase::created) return wrong_state(self, "start");
        st.phase = instance_phase::running;
        st.max_sessions = req.max_sessions;
        if (st.slots.sink) report_now(self);
        arm_sweep(self);
        return status_reply{status::ok,
                            "running with " + std::to_string(req.max_sessions) + " session slots"};
      },
      [=](const service_stop& req) -> caf::result<status_reply> {
        auto& st = self->state;
        if (st.phase == instance_phase::stopping || st.phase == instance_phase::stopped)
          return wrong_state(self, "stop");
        st.stop_promise = self->make_response_promise<status_reply>();
        auto rp = st.stop_promise;
        // Its slots are no longer on offer, whatever sessions still drain.
        if (st.slots.sink)
          caf::anon_send(st.slots.sink, slot_withdraw{st.cfg.instance_id, "", ++st.slots.sequence,
                                                      st.slots.epoch});
        if (st.sessions.empty()) {
          finish_stop(self, "stopped");
          return rp;
        }
        st.phase = instance_phase::stopping;
        self->delayed_send(self,
                           std::chrono::milliseconds(std::max<duration_ms>(0, req.timeout_ms)),
                           stop_deadline_atom::value);
        return rp;
      },
      [=](stop_deadline_atom) {
        auto& st = self->state;
        if (st.phase != instance_phase::stopping) return;
        auto n = st.sessions.size();
        st.forced += n;
        st.sessions.clear();
        finish_stop(self, "forced " + std::to_string(n) + " sessions");
      },
      [=](report_atom, uint64_t token) {
        auto& st = self->state;
        if (token == st.slots.token && st.phase == instance_phase::running) report_now(self);
      },
      [=](get_available_sessions) {
        auto& st = self->state;
        auto avail = st.phase == instance_phase::running ? st.available() : 0u;
        return available_sessions{avail, st.max_sessions};
      },
      [=](const modify_sessions& req) -> caf::result<status_reply> {
        auto& st = self->state;
        if (st.phase == instance_phase::stopping || st.phase == instance_phase::stopped)
          return wrong_state(self, "modify sessions");
        // In-use sessions are never cut: availability is clamped at zero instead.
        st.max_sessions = req.max_sessions;
        slots_changed(self);
        return status_reply{status::ok, "max " + std::to_string(st.max_sessions) + ", in use " +
                                            std::to_string(st.in_use()) + ", available " +
                                            std::to_string(st.available())};
      },
      [=](const get_information& req) {
        auto& st = self->state;
        information info;
        info.category = req.category;
        auto& v = info.values;
        switch (req.category) {
          case info_category::summary:
            v["instance"] = st.cfg.instance_id.value;
            v["state"] = to_string(st.phase);
            v["service"] = st.cfg.service;
            v["zone"] = st.cfg.zone_name;
            v["max_sessions"] = std::to_string(st.max_sessions);
            v["in_use"] = std::to_string(st.in_use());
            v["available"] = std::to_string(st.available());
            break;
          case info_category::sessions:
            v["granted"] = std::to_string(st.granted);
            v["released"] = std::to_string(st.released);
            v["forced"] = std::to_string(st.forced);
            v["refused"] = std::to_string(st.refused);
            v["expired"] = std::to_string(st.expired);
            v["unknown_sessions"] = std::to_string(st.unknown);
            v["in_use"] = std::to_string(st.in_use());
            break;
          case info_category::resources:
            v["max_sessions"] = std::to_string(st.max_sessions);
            v["in_use"] = std::to_string(st.in_use());
            v["utilisation"] = st.max_sessions == 0
                                   ? "0"
                                   : std::to_string(100 * st.in_use() / st.max_sessions) + "%";
            break;
          case info_category::health:
            v["state"] = to_string(st.phase);
            v["healthy"] = st.phase == instance_phase::running ? "true" : "false";
            break;
        }
        return info;
      },
      [=](acquire_session& req) -> caf::result<session_granted> {
        auto& st = self->state;
        if (st.phase != instance_phase::running) return wrong_state(self, "grant sessions");
        if (st.available() == 0) {
          ++st.refused;
          return fusion::make_error(errc::no_session_slots,
                                    "instance " + st.cfg.instance_id.value + " has all " +
                                        std::to_string(st.max_sessions) +
                                        " session slots in use; try another instance");
        }
        auto id = st.session_ids.make();
        st.sessions.emplace(
            id.value, instance_state::session{std::move(req.client), runtime::mono_now(self)});
        ++st.granted;
        slots_changed(self);
        return session_granted{id, st.cfg.instance_id,
                               locator{"", names::instance(st.cfg.instance_id.value)}};
      },
      [=](const session_keepalive& req) -> caf::result<status_reply> {
        auto& st = self->state;
        auto i = st.sessions.find(req.session_id.value);
        if (i == st.sessions.end()) return unknown_session(self, "keepalive", req.session_id);
        i->second.last_seen = runtime::mono_now(self);
        return status_reply{status::ok, "alive"};
      },
      [=](sweep_atom) { sweep(self); },
      [=](const release_session& req) -> caf::result<status_reply> {
        auto& st = self->state;
        auto i = st.sessions.find(req.session_id.value);
        if (i == st.sessions.end()) return unknown_session(self, "release", req.session_id);
        st.sessions.erase(i);
        ++st.released;
        slots_changed(self);
        if (st.phase == instance_phase::stopping && st.sessions.empty())
          finish_stop(self, "drained");
        return status_reply{status::ok, "released"};
      },
  };
}

}  // namespace

service_lifecycle_actor spawn_instance(caf::actor_system& sys, instance_config cfg) {
  return sys.spawn(instance, std::move(cfg));
}

}  // namespace fusion::service
