#include "actors/domain/scaling.hpp"

#include "protocols/errc.hpp"
#include "protocols/names.hpp"
#include "runtime/logging.hpp"
#include "runtime/request_timeout.hpp"

#include <caf/actor_cast.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/logger.h>

#include <map>
#include <vector>

namespace fusion::domain {

using namespace protocols;

namespace {

using promise = caf::typed_response_promise<deploy_service_reply>;

struct scaling_state {
  scaling_state() = default;
  runtime::deployment_config deployment;
  runtime::directory_ptr dir;
  std::map<service_uri, std::vector<promise>> waiting;  // by service being scaled
  std::shared_ptr<spdlog::logger> log;
  static inline const char* name = "scaling";
};

using self_ptr = scaling_actor::stateful_pointer<scaling_state>;

/// Answers every request waiting on `service` alike.
template <class T>
void answer(self_ptr self, const service_uri& service, const T& x) {
  auto i = self->state.waiting.find(service);
  if (i == self->state.waiting.end()) return;
  auto waiters = std::move(i->second);
  self->state.waiting.erase(i);
  for (auto& rp : waiters) rp.deliver(x);
}

void refuse(self_ptr self, const scale_service& req, const caf::error& e) {
  self->state.log->warn("scaling: no more instances of {} for {} ({}): {}", req.service,
                        req.requester, req.reason, describe(e));
  answer(self, req.service, e);
}

/// Deploys for `req` on behalf of the service's owner.
void deploy(self_ptr self, const scale_service& req, const service_record& service) {
  auto& st = self->state;
  auto deployment = st.dir->get_as<deployment_actor>(names::deployment);
  if (!deployment) {
    refuse(self, req, make_error(errc::unknown_service, "this domain has no deployment function"));
    return;
  }
  deploy_service d;
  d.caller = service.owner;
  d.service_id = service.service_id;
  d.deploy.instances = req.instances;
  auto timeout = runtime::request_timeout(self, deployment, 4 * st.deployment.step_timeout_ms);
  self->request(deployment, timeout, std::move(d))
      .then(
          [=](deploy_service_reply& r) {
            std::string ids;
            for (const auto& id : r.instance_ids) ids += (ids.empty() ? "" : ", ") + id.value;
            self->state.log->info("scaling: {} more instance(s) of {} for {} ({}): {}",
                                  r.instance_ids.size(), req.service, req.requester, req.reason,
                                  ids);
            answer(self, req.service, r);
          },
          [=](caf::error& e) { refuse(self, req, e); });
}

caf::result<deploy_service_reply> on_scale(self_ptr self, const scale_service& req) {
  auto& st = self->state;
  if (!is_valid_service_uri(req.service))
    return make_error(errc::invalid_argument,
                      "scale_service: '" + req.service +
                          "' is not a service name of the form fusion://<provider>/<name>");
  if (req.instances == 0 || req.instances > max_scale_step)
    return make_error(errc::invalid_argument, "scale_service: instances must be 1 to " +
                                                  std::to_string(max_scale_step) + ", found " +
                                                  std::to_string(req.instances));
  auto rp = self->make_response_promise<deploy_service_reply>();
  auto& waiters = st.waiting[req.service];
  waiters.push_back(rp);
  if (waiters.size() > 1) {
    st.log->info("scaling: {} asks for {} while it is being scaled: it waits for that ({})",
                 req.requester, req.service, req.reason);
    return rp;
  }
  st.log->info("scaling: {} asks for {} more instance(s) of {}: {}", req.requester, req.instances,
               req.service, req.reason);
  auto registrar = st.dir->get_as<registrar_actor>(names::registrar);
  if (!registrar) {
    refuse(self, req, make_error(errc::unknown_service, "this domain has no registrar"));
    return rp;
  }
  // The domain asks as its administrator; it deploys as the owner.
  query_service_by_name q{principal{"domain/scaling", role::domain_admin}, fusion_id{req.service},
                          service_info_type::summary};
  self->request(registrar, runtime::request_timeout(self, registrar, st.deployment.step_timeout_ms),
                std::move(q))
      .then([=](service_description& desc) { deploy(self, req, desc.record); },
            [=](caf::error& e) { refuse(self, req, e); });
  return rp;
}

}  // namespace

scaling_actor spawn_scaling(caf::actor_system& sys, runtime::deployment_config deployment,
                            runtime::directory_ptr dir) {
  auto handle = sys.spawn([deployment, dir](self_ptr self) -> scaling_actor::behavior_type {
    self->state.deployment = deployment;
    self->state.dir = dir;
    self->state.log = runtime::logger("scaling");
    return {[=](const scale_service& req) { return on_scale(self, req); }};
  });
  dir->put(names::scaling, caf::actor_cast<caf::actor>(handle));
  return handle;
}

}  // namespace fusion::domain
