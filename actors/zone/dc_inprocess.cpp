#include "actors/zone/dc_inprocess.hpp"

#include "protocols/errc.hpp"
#include "protocols/names.hpp"
#include "runtime/clock.hpp"

#include <caf/actor_cast.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <map>

namespace fusion::zone {

using namespace protocols;

namespace {

/// A probe attached to an environment.
struct probe_record {
  std::string id;
  std::string kind;
  info_map parameters;
};

/// An execution environment of the in-process backend.
struct environment {
  std::string id;
  service_uri service;
  env_parameters params;
  std::string state = "prepared";  // "prepared", "running"
  std::string instance_id;         // "" until launch_instance
  service_lifecycle_actor instance;
  std::vector<probe_record> probes;
};

struct dc_state {
  dc_state() = default;
  std::string zone;
  runtime::directory_ptr dir;
  instance_launcher launch;
  std::map<std::string, environment> envs;
  runtime::id_generator env_ids{"env"};
  runtime::id_generator probe_ids{"probe"};
  uint64_t launched = 0;
  uint64_t terminated = 0;
  static inline const char* name = "dc_inprocess";
};

using self_ptr = dc_management_actor::stateful_pointer<dc_state>;

caf::error unknown_env(self_ptr self, const fusion_id& id) {
  return fusion::make_error(errc::invalid_argument,
                            "zone " + self->state.zone + " has no environment '" + id.value + "'");
}

// Ends the environment's instance (if any) and forgets its directory entry.
void stop_instance(self_ptr self, environment& env) {
  if (env.instance) self->send_exit(env.instance, caf::exit_reason::kill);
  if (!env.instance_id.empty()) self->state.dir->erase(names::instance(env.instance_id));
  env.instance = nullptr;
  env.instance_id.clear();
  env.state = "prepared";
}

dc_management_actor::behavior_type dc(self_ptr self, std::string zone, runtime::directory_ptr dir,
                                      instance_launcher launch) {
  self->state.env_ids = runtime::id_generator{"env-" + zone};
  self->state.zone = std::move(zone);
  self->state.dir = std::move(dir);
  self->state.launch = std::move(launch);
  return {
      [=](prepare_service_environment& req) {
        auto& st = self->state;
        auto id = st.env_ids.make();
        environment env;
        env.id = id.value;
        env.service = std::move(req.service_name);
        env.params = std::move(req.env);
        st.envs.emplace(id.value, std::move(env));
        return environment_reply{id};
      },
      [=](const reset_service_environment& req) -> caf::result<status_reply> {
        auto& st = self->state;
        auto i = st.envs.find(req.environment_id.value);
        if (i == st.envs.end()) return unknown_env(self, req.environment_id);
        stop_instance(self, i->second);
        return status_reply{status::ok, "environment " + i->first + " reset"};
      },
      [=](const terminate_service_environment& req) -> caf::result<status_reply> {
        auto& st = self->state;
        auto i = st.envs.find(req.environment_id.value);
        if (i == st.envs.end()) return unknown_env(self, req.environment_id);
        stop_instance(self, i->second);
        st.envs.erase(i);
        ++st.terminated;
        return status_reply{status::ok, "environment " + req.environment_id.value + " terminated"};
      },
      [=](const dc_get_information& req) {
        auto& st = self->state;
        information info;
        info.category = req.category;
        auto& v = info.values;
        size_t running = 0;
        size_t probes = 0;
        for (const auto& [id, env] : st.envs) {
          running += env.instance ? 1 : 0;
          probes += env.probes.size();
        }
        v["zone"] = st.zone;
        v["backend"] = "inprocess";
        v["environments"] = std::to_string(st.envs.size());
        v["instances"] = std::to_string(running);
        v["probes"] = std::to_string(probes);
        v["launched_total"] = std::to_string(st.launched);
        v["terminated_total"] = std::to_string(st.terminated);
        if (req.category != info_category::summary)
          for (const auto& [id, env] : st.envs) v["env." + id] = env.service + " " + env.state;
        return info;
      },
      [=](const get_environment_information& req) -> caf::result<information> {
        auto& st = self->state;
        auto i = st.envs.find(req.environment_id.value);
        if (i == st.envs.end()) return unknown_env(self, req.environment_id);
        const auto& env = i->second;
        information info;
        info.category = req.category;
        auto& v = info.values;
        v["environment"] = env.id;
        v["service"] = env.service;
        v["state"] = env.state;
        v["type"] = env.params.type;
        v["cpu_cores"] = std::to_string(env.params.cpu_cores);
        v["memory_mb"] = std::to_string(env.params.memory_mb);
        v["gpus"] = std::to_string(env.params.gpus);
        v["instance"] = env.instance_id;
        v["probes"] = std::to_string(env.probes.size());
        for (const auto& p : env.probes) v["probe." + p.id] = p.kind;
        return info;
      },
      [=](enable_probe& req) -> caf::result<probe_reply> {
        auto& st = self->state;
        auto i = st.envs.find(req.environment_id.value);
        if (i == st.envs.end()) return unknown_env(self, req.environment_id);
        if (req.probe.empty())
          return fusion::make_error(errc::invalid_argument,
                                    "enable_probe needs a probe kind such as 'cpu' or 'sessions'");
        auto id = st.probe_ids.make();
        i->second.probes.push_back(
            {id.value, std::move(req.probe), std::move(req.probe_parameters)});
        return probe_reply{id};
      },
      [=](const disable_probe& req) -> caf::result<status_reply> {
        auto& st = self->state;
        auto i = st.envs.find(req.environment_id.value);
        if (i == st.envs.end()) return unknown_env(self, req.environment_id);
        auto& probes = i->second.probes;
        auto p = std::find_if(probes.begin(), probes.end(),
                              [&](const probe_record& x) { return x.id == req.probe_id.value; });
        if (p == probes.end())
          return fusion::make_error(
              errc::invalid_argument,
              "environment " + i->first + " has no probe '" + req.probe_id.value + "'");
        probes.erase(p);
        return status_reply{status::ok, "probe " + req.probe_id.value + " disabled"};
      },
      [=](const launch_instance& req) -> caf::result<instance_launched> {
        auto& st = self->state;
        auto i = st.envs.find(req.environment_id.value);
        if (i == st.envs.end()) return unknown_env(self, req.environment_id);
        auto& env = i->second;
        if (env.instance)
          return fusion::make_error(errc::invalid_state, "environment " + env.id +
                                                             " already runs instance " +
                                                             env.instance_id + "; reset it first");
        if (req.instance_id.empty())
          return fusion::make_error(errc::invalid_argument, "launch_instance needs an instance id");
        if (!st.launch)
          return fusion::make_error(errc::invalid_state,
                                    "zone " + st.zone + " was given no instance launcher");
        launch_spec spec{req.instance_id, req.service_name.empty() ? env.service : req.service_name,
                         st.zone, st.dir->get_as<slot_sink_actor>(names::zone_manager(st.zone))};
        env.instance = st.launch(self->system(), spec);
        env.instance_id = req.instance_id.value;
        env.state = "running";
        ++st.launched;
        auto name = names::instance(req.instance_id.value);
        st.dir->put(name, caf::actor_cast<caf::actor>(env.instance));
        return instance_launched{req.instance_id, st.dir->here(name)};
      },
  };
}

}  // namespace

dc_management_actor spawn_inprocess_dc(caf::actor_system& sys, std::string zone_name,
                                       runtime::directory_ptr dir, instance_launcher launch) {
  auto name = names::dc_agent(zone_name);
  auto d = dir;
  auto h = sys.spawn(dc, std::move(zone_name), std::move(dir), std::move(launch));
  d->put(name, caf::actor_cast<caf::actor>(h));
  return h;
}

}  // namespace fusion::zone
