#pragma once
// Data centre management interface (§6.4.4): zone manager → DC abstraction layer (agent).

#include "protocols/manifest.hpp"
#include "protocols/service_lifecycle.hpp"

namespace fusion::protocols {

/// Resources and kind of an environment to prepare.
struct env_parameters {
  std::string type = "container";  ///< Isolation: "container", "vm", "process", "actor".
  uint32_t cpu_cores = 0;
  uint64_t memory_mb = 0;
  uint32_t gpus = 0;
  std::string image;
  friend bool operator==(const env_parameters&, const env_parameters&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, env_parameters& x) {
  return f(caf::meta::type_name("env_parameters"), x.type, x.cpu_cores, x.memory_mb, x.gpus,
           x.image);
}

/// FUSIONDCPrepareServiceEnvironment.
struct prepare_service_environment {
  static constexpr message_meta meta{0x0A01, "prepare_service_environment", 1, 2};
  service_uri service_name;
  env_parameters env;
  friend bool operator==(const prepare_service_environment&,
                         const prepare_service_environment&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, prepare_service_environment& x) {
  return f(caf::meta::type_name("prepare_service_environment"), x.service_name, x.env);
}

/// Reply to prepare_service_environment.
struct environment_reply {
  static constexpr message_meta meta{0x0A02, "environment_reply", 1, 1};
  fusion_id environment_id;
  friend bool operator==(const environment_reply&, const environment_reply&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, environment_reply& x) {
  return f(caf::meta::type_name("environment_reply"), x.environment_id);
}

/// FUSIONDCResetServiceEnvironment.
struct reset_service_environment {
  static constexpr message_meta meta{0x0A03, "reset_service_environment", 1, 1};
  fusion_id environment_id;
  friend bool operator==(const reset_service_environment&,
                         const reset_service_environment&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reset_service_environment& x) {
  return f(caf::meta::type_name("reset_service_environment"), x.environment_id);
}

/// FUSIONDCTerminateServiceEnvironment (the service was stopped before).
struct terminate_service_environment {
  static constexpr message_meta meta{0x0A04, "terminate_service_environment", 1, 1};
  fusion_id environment_id;
  friend bool operator==(const terminate_service_environment&,
                         const terminate_service_environment&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, terminate_service_environment& x) {
  return f(caf::meta::type_name("terminate_service_environment"), x.environment_id);
}

/// FUSIONDCGetInformation.
struct dc_get_information {
  static constexpr message_meta meta{0x0A05, "dc_get_information", 1, 0};
  info_category category = info_category::summary;
  friend bool operator==(const dc_get_information&, const dc_get_information&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dc_get_information& x) {
  return f(caf::meta::type_name("dc_get_information"), x.category);
}

/// FUSIONDCGetEnvironmentInformation.
struct get_environment_information {
  static constexpr message_meta meta{0x0A06, "get_environment_information", 1, 1};
  fusion_id environment_id;
  info_category category = info_category::summary;
  friend bool operator==(const get_environment_information&,
                         const get_environment_information&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_environment_information& x) {
  return f(caf::meta::type_name("get_environment_information"), x.environment_id, x.category);
}

/// FUSIONDCEnvironmentEnableProbe.
struct enable_probe {
  static constexpr message_meta meta{0x0A07, "enable_probe", 1, 2};
  fusion_id environment_id;
  std::string probe;  ///< Probe kind: "cpu", "memory", "sessions", ...
  info_map probe_parameters;
  friend bool operator==(const enable_probe&, const enable_probe&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, enable_probe& x) {
  return f(caf::meta::type_name("enable_probe"), x.environment_id, x.probe, x.probe_parameters);
}

/// Reply to enable_probe.
struct probe_reply {
  static constexpr message_meta meta{0x0A08, "probe_reply", 1, 1};
  fusion_id probe_id;
  friend bool operator==(const probe_reply&, const probe_reply&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, probe_reply& x) {
  return f(caf::meta::type_name("probe_reply"), x.probe_id);
}

/// FUSIONDCEnvironmentDisableProbe.
struct disable_probe {
  static constexpr message_meta meta{0x0A09, "disable_probe", 1, 2};
  fusion_id environment_id;
  fusion_id probe_id;
  friend bool operator==(const disable_probe&, const disable_probe&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, disable_probe& x) {
  return f(caf::meta::type_name("disable_probe"), x.environment_id, x.probe_id);
}

/// Start the service instance inside a prepared environment (§6.3.3 step "instantiate").
/// The DC layer answers with where the instance listens; the zone then sends service_start.
struct launch_instance {
  static constexpr message_meta meta{0x0A0A, "launch_instance", 1, 3};
  fusion_id environment_id;
  fusion_id instance_id;
  service_uri service_name;
  friend bool operator==(const launch_instance&, const launch_instance&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, launch_instance& x) {
  return f(caf::meta::type_name("launch_instance"), x.environment_id, x.instance_id,
           x.service_name);
}

/// Reply to launch_instance.
struct instance_launched {
  static constexpr message_meta meta{0x0A0B, "instance_launched", 1, 2};
  fusion_id instance_id;
  locator instance;
  friend bool operator==(const instance_launched&, const instance_launched&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, instance_launched& x) {
  return f(caf::meta::type_name("instance_launched"), x.instance_id, x.instance);
}

/// Typed interface of a DC agent (§6.4.4).
using dc_management_actor =
    caf::typed_actor<caf::replies_to<prepare_service_environment>::with<environment_reply>,
                     caf::replies_to<reset_service_environment>::with<status_reply>,
                     caf::replies_to<terminate_service_environment>::with<status_reply>,
                     caf::replies_to<dc_get_information>::with<information>,
                     caf::replies_to<get_environment_information>::with<information>,
                     caf::replies_to<enable_probe>::with<probe_reply>,
                     caf::replies_to<disable_probe>::with<status_reply>,
                     caf::replies_to<launch_instance>::with<instance_launched>>;

}  // namespace fusion::protocols
