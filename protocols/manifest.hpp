#pragma once
// The service manifest (§4.2) as plain data, and the zone description of register_zone
// (§5.5.2.1). The YAML form of manifests is parsed by runtime/manifest; this is what travels
// and is stored.

#include "protocols/common.hpp"

#include <limits>

namespace fusion::protocols {

/// How placement chooses among offers (§4.2.7, §5.4.2.1 step 4).
enum class placement_policy : uint8_t {
  best_total = 0,      ///< Highest total score.
  lowest_cost = 1,     ///< Cheapest offer.
  lowest_latency = 2,  ///< Lowest latency among offers within the cost budget.
};

/// Principal roles (§5.2).
enum class role : uint8_t {
  service_provider = 0,  ///< Registers and manages its own services.
  zone_admin = 1,        ///< Registers and manages zones.
  domain_admin = 2,      ///< May do everything in the domain.
};

/// Who is asking. Authenticated by the node link layer; trusted in-process.
struct principal {
  std::string name;  ///< e.g. "acme"
  role kind = role::service_provider;
  friend bool operator==(const principal&, const principal&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, principal& x) {
  return f(caf::meta::type_name("principal"), x.name, x.kind);
}

/// One input, output or control channel of a service graph (§4.2.2).
struct channel {
  std::string name;
  std::string kind;      ///< "input", "output" or "control".
  std::string peer;      ///< Service URI or URL at the other end.
  std::string protocol;  ///< "fusion", "rtsp", "http", ...
  std::string format;    ///< Data format, e.g. "mpeg-ts".
  double bandwidth_mbps = 0;
  double max_latency_ms = 0;
  friend bool operator==(const channel&, const channel&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, channel& x) {
  return f(caf::meta::type_name("channel"), x.name, x.kind, x.peer, x.protocol, x.format,
           x.bandwidth_mbps, x.max_latency_ms);
}

/// Hardware an instance needs (hard constraints) or prefers (affinities), §4.2.3.
struct hardware_requirements {
  std::string os = "linux";
  uint32_t cpu_cores = 1;                 ///< Per instance.
  uint64_t memory_mb = 512;               ///< Per instance.
  uint32_t gpus = 0;                      ///< GPUs per instance; 0 = none needed.
  std::string gpu_model;                  ///< Required GPU model substring; "" = any.
  uint64_t gpu_memory_mb = 0;             ///< Minimum GPU memory.
  double min_shader_model = 0;            ///< Minimum shader model, e.g. 5.0.
  std::vector<std::string> accelerators;  ///< Required accelerators ("h264-encoder").
  std::vector<std::string> affinities;    ///< Preferred, not required (scored, not filtered).
  friend bool operator==(const hardware_requirements&, const hardware_requirements&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hardware_requirements& x) {
  return f(caf::meta::type_name("hardware_requirements"), x.os, x.cpu_cores, x.memory_mb, x.gpus,
           x.gpu_model, x.gpu_memory_mb, x.min_shader_model, x.accelerators, x.affinities);
}

/// A monitored parameter and the bounds the service must stay within (§4.2.6).
struct monitoring_threshold {
  std::string metric;  ///< e.g. "fps"
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  std::string action;  ///< What to do when crossed: "scale_out", "alert", ...
  friend bool operator==(const monitoring_threshold&, const monitoring_threshold&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, monitoring_threshold& x) {
  return f(caf::meta::type_name("monitoring_threshold"), x.metric, x.min, x.max, x.action);
}

/// A service manifest (§4.2), all sections. Field meanings: docs/manifests.md.
struct manifest {
  // general (§4.2.1)
  service_uri name;
  std::string version = "1";
  std::string description;
  std::vector<std::string> keywords;
  std::vector<std::string> categories;
  std::string service_type;  ///< e.g. "interactive", "batch"
  bool stateful = false;
  // graph (§4.2.2)
  bool composite = false;
  std::vector<std::string> dependencies;  ///< Service URIs this one needs.
  std::vector<channel> channels;
  // deployment and platform dependencies (§4.2.3)
  std::string image;  ///< Software image or package location.
  std::vector<std::string> packages;
  hardware_requirements hardware;
  std::vector<std::string> functions;  ///< High-level functions used ("video-encode").
  // lifecycle (§4.2.4)
  std::string start_command;
  std::string stop_command;
  duration_ms stop_timeout_ms = 30'000;
  // resource usage (§4.2.5)
  std::string profile;                 ///< Label like "m1.large".
  uint32_t sessions_per_instance = 1;  ///< Session slots one instance offers.
  // monitoring (§4.2.6)
  std::vector<monitoring_threshold> thresholds;
  // mapping (§4.2.7)
  placement_policy policy = placement_policy::best_total;
  double latency_budget_ms = 0;              ///< For lowest_latency: acceptable latency; 0 = none.
  std::vector<std::string> fixed_zones;      ///< If set, only these zones are considered.
  std::vector<geo_location> user_locations;  ///< Where users are expected.
  std::string evaluator;                     ///< Service-specific evaluator name; "" = generic.
  // policies (§4.2.8)
  uint32_t pre_deploy_instances = 0;  ///< Instances to deploy at registration (SR-4).
  uint32_t min_instances = 0;
  // security and privacy (§4.2.9)
  std::vector<std::string> allowed_regions;  ///< If set, only these regions.
  std::vector<std::string> denied_regions;
  std::string isolation;  ///< "container", "vm", "bare-metal" or "".
  // business (§4.2.10)
  double cost_ceiling = 0;     ///< Max cost per hour for all instances; 0 = none.
  uint32_t max_instances = 0;  ///< 0 = unlimited.
  std::string billing;         ///< "per-session", "per-hour", ...
  // appended in version 1 of the encoding: fields are append-only
  bool policy_set = false;  ///< mapping.policy was given; else the domain's default applies.
  friend bool operator==(const manifest&, const manifest&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, manifest& x) {
  return f(caf::meta::type_name("manifest"), x.name, x.version, x.description, x.keywords,
           x.categories, x.service_type, x.stateful, x.composite, x.dependencies, x.channels,
           x.image, x.packages, x.hardware, x.functions, x.start_command, x.stop_command,
           x.stop_timeout_ms, x.profile, x.sessions_per_instance, x.thresholds, x.policy,
           x.latency_budget_ms, x.fixed_zones, x.user_locations, x.evaluator,
           x.pre_deploy_instances, x.min_instances, x.allowed_regions, x.denied_regions,
           x.isolation, x.cost_ceiling, x.max_instances, x.billing, x.policy_set);
}

/// A GPU model present in a zone.
struct gpu_spec {
  std::string model;  ///< e.g. "nvidia-a100"
  uint64_t memory_mb = 0;
  double shader_model = 0;
  uint32_t count = 0;  ///< GPUs of this model in the zone.
  friend bool operator==(const gpu_spec&, const gpu_spec&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, gpu_spec& x) {
  return f(caf::meta::type_name("gpu_spec"), x.model, x.memory_mb, x.shader_model, x.count);
}

/// What a zone has in total (capabilities) and sells (cost model), §5.5.2.1.
struct zone_parameters {
  std::string name;  ///< Unique within the domain.
  geo_location location;
  std::map<std::string, double> latency_ms;  ///< Region → measured latency; overrides distance.
  std::string os = "linux";
  uint32_t cpu_cores = 0;  ///< Total cores available to FUSION.
  uint64_t memory_mb = 0;  ///< Total memory available to FUSION.
  std::vector<gpu_spec> gpus;
  std::vector<std::string> accelerators;
  std::vector<std::string> isolation = {"container"};  ///< Isolation techniques offered.
  uint32_t max_instances = 0;  ///< Instance cap; 0 = bounded by resources only.
  double cost_per_instance_hour = 0;
  double cost_per_core_hour = 0;
  double cost_per_gpu_hour = 0;
  std::vector<std::string> evaluators;  ///< Service-specific evaluators reachable here.
  friend bool operator==(const zone_parameters&, const zone_parameters&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, zone_parameters& x) {
  return f(caf::meta::type_name("zone_parameters"), x.name, x.location, x.latency_ms, x.os,
           x.cpu_cores, x.memory_mb, x.gpus, x.accelerators, x.isolation, x.max_instances,
           x.cost_per_instance_hour, x.cost_per_core_hour, x.cost_per_gpu_hour, x.evaluators);
}

/// FUSION-specific deployment parameters (§5.5.1.3 DeployParameters).
struct deploy_parameters {
  uint32_t instances = 1;
  uint32_t sessions_per_instance = 0;        ///< 0 = the manifest's value.
  std::vector<geo_location> user_locations;  ///< Overrides the manifest's when non-empty.
  std::string region;                        ///< Restrict to this region; "" = anywhere allowed.
  double max_cost = 0;                       ///< Per hour; 0 = the manifest's ceiling.
  bool has_policy = false;                   ///< Whether `policy` overrides the manifest's.
  placement_policy policy = placement_policy::best_total;
  double latency_budget_ms = 0;  ///< 0 = the manifest's.
  friend bool operator==(const deploy_parameters&, const deploy_parameters&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, deploy_parameters& x) {
  return f(caf::meta::type_name("deploy_parameters"), x.instances, x.sessions_per_instance,
           x.user_locations, x.region, x.max_cost, x.has_policy, x.policy, x.latency_budget_ms);
}

/// Stable name of a policy: "best_total", "lowest_cost", "lowest_latency".
std::string_view to_string(placement_policy x);

/// Parses a policy name; false if unknown.
bool from_string(std::string_view s, placement_policy& out);

/// Stable name of a role.
std::string_view to_string(role x);

}  // namespace fusion::protocols
