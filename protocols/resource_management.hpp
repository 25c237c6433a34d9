#pragma once
// Resource management interface (§4.5.3): service or evaluator → zone manager / DC
// management. Query for specific hardware and bind it dynamically to a service.

#include "protocols/service_lifecycle.hpp"

namespace fusion::protocols {

/// FUSIONServiceQueryResources: how well could this zone serve `service_name`?
struct query_resources {
  static constexpr message_meta meta{0x0401, "query_resources", 1, 1};
  service_uri service_name;
  blob deploy_parameters;      ///< Service-specific deployment parameters, opaque here.
  duration_ms timeout_ms = 0;  ///< Time the zone has for the evaluation.
  friend bool operator==(const query_resources&, const query_resources&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, query_resources& x) {
  return f(caf::meta::type_name("query_resources"), x.service_name, x.deploy_parameters,
           x.timeout_ms);
}

/// Reply to query_resources: the multidimensional score (§5.4.2.2.1).
struct resource_score {
  static constexpr message_meta meta{0x0402, "resource_score", 1, 1};
  score scores;
  friend bool operator==(const resource_score&, const resource_score&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, resource_score& x) {
  return f(caf::meta::type_name("resource_score"), x.scores);
}

/// FUSIONServiceRequestResource: allocate a resource or accelerator and bind it.
struct request_resource {
  static constexpr message_meta meta{0x0403, "request_resource", 1, 1};
  std::string resource_type;  ///< Name of the resource: "gpu", "h264-encoder", ...
  info_map resource_params;   ///< How much is requested ("count", "memory_mb", ...).
  fusion_id instance_id;      ///< Instance to bind the resource to; empty = the caller.
  friend bool operator==(const request_resource&, const request_resource&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, request_resource& x) {
  return f(caf::meta::type_name("request_resource"), x.resource_type, x.resource_params,
           x.instance_id);
}

/// Reply to request_resource: a handle to the allocated resource.
struct resource_handle {
  static constexpr message_meta meta{0x0404, "resource_handle", 1, 2};
  status code = status::ok;
  fusion_id handle;    ///< Quote it in release_resource.
  std::string detail;  ///< What was bound, or why nothing was.
  friend bool operator==(const resource_handle&, const resource_handle&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, resource_handle& x) {
  return f(caf::meta::type_name("resource_handle"), x.code, x.handle, x.detail);
}

/// Give back a resource obtained with request_resource.
struct release_resource {
  static constexpr message_meta meta{0x0405, "release_resource", 1, 1};
  fusion_id handle;
  friend bool operator==(const release_resource&, const release_resource&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, release_resource& x) {
  return f(caf::meta::type_name("release_resource"), x.handle);
}

/// Typed interface of a zone's resource manager (§4.5.3); optional per zone.
using resource_management_actor =
    caf::typed_actor<caf::replies_to<query_resources>::with<resource_score>,
                     caf::replies_to<request_resource>::with<resource_handle>,
                     caf::replies_to<release_resource>::with<status_reply>>;

}  // namespace fusion::protocols
