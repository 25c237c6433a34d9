#include "actors/zone/zone_state.hpp"

namespace fusion::zone::manager {

namespace {

/// Frees a terminated instance's resources and environment, then answers.
void finish_termination(self_ptr self, std::string instance_id, bool forced, std::string detail,
                        caf::typed_response_promise<status_reply> rp) {
  auto& st = self->state;
  auto i = st.find_instance(instance_id);
  if (i == st.instances.end()) {
    rp.deliver(fusion::make_error(errc::unknown_instance,
                                  "instance " + instance_id + " vanished during termination"));
    return;
  }
  auto env = i->environment;
  st.ledger.unuse(i->use());
  st.instances.erase(i);
  ++(forced ? st.stopped_forced : st.stopped_graceful);
  schedule_report(self);
  auto text = std::string{forced ? "forced: " : "graceful: "} + detail;
  self->request(st.dc, ms(st.cfg.deployment.step_timeout_ms), terminate_service_environment{env})
      .then(
          [=](status_reply&) mutable {
            rp.deliver(status_reply{status::ok, text});
          },
          [=](caf::error& e) mutable {
            rp.deliver(
                status_reply{status::ok, text + "; environment cleanup failed: " + describe(e)});
          });
}

}  // namespace

caf::result<status_reply> terminate(self_ptr self, const terminate_service_instance& req) {
  auto& st = self->state;
  auto i = st.find_instance(req.instance_id.value);
  if (i == st.instances.end())
    return fusion::make_error(errc::unknown_instance, "zone " + st.zone() + " has no instance '" +
                                                          req.instance_id.value + "'");
  if (i->withdrawn)
    return fusion::make_error(errc::invalid_state,
                              "instance " + i->id + " is already being terminated");
  // Withdraw its slots first: it no longer counts in reports while it stops.
  i->withdrawn = true;
  stop_counting(self, i->id);
  schedule_report(self);
  auto rp = self->make_response_promise<status_reply>();
  auto timeout = req.timeout_ms > 0 ? req.timeout_ms : st.cfg.instance.stop_timeout_ms;
  auto id = i->id;
  auto inst = caf::actor_cast<service_lifecycle_actor>(st.dir->resolve(i->where));
  if (!inst) {
    finish_termination(self, id, true, "instance was not reachable", rp);
    return rp;
  }
  self->request(inst, ms(timeout + st.cfg.instance.force_grace_ms), service_stop{timeout})
      .then([=](status_reply& r) { finish_termination(self, id, false, r.detail, rp); },
            [=](caf::error& e) {
              self->send_exit(inst, caf::exit_reason::kill);
              finish_termination(
                  self, id, true,
                  "instance did not stop within " +
                      std::to_string(timeout + self->state.cfg.instance.force_grace_ms) + " ms (" +
                      describe(e) + ")",
                  rp);
            });
  return rp;
}

}  // namespace fusion::zone::manager
