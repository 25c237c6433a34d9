#pragma once
// Execution zone management interface (§5.5.2): zone administrator / zone manager → domain.
// The zone registry keeps every registered zone durably and answers the placement
// function's preselection queries.

#include "protocols/gossip.hpp"
#include "protocols/manifest.hpp"
#include "protocols/service_lifecycle.hpp"
#include "protocols/slots.hpp"

namespace fusion::protocols {

/// FUSIONRegisterZone: announce a zone. `manager` is where its zone manager listens.
struct register_zone {
  static constexpr message_meta meta{0x0601, "register_zone", 1, 2};
  principal caller;
  zone_parameters parameters;
  locator manager;
  friend bool operator==(const register_zone&, const register_zone&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, register_zone& x) {
  return f(caf::meta::type_name("register_zone"), x.caller, x.parameters, x.manager);
}

/// Reply to register_zone.
struct register_zone_reply {
  static constexpr message_meta meta{0x0602, "register_zone_reply", 2, 1};
  fusion_id zone_id;
  /// Which registration of this zone by its owner this is: 1 the first, then one more each
  /// time its manager starts again (version 2; 0 from an older registry). Durable: the zone
  /// numbers its instances from it, so instance ids never repeat across restarts.
  uint32_t start = 0;
  friend bool operator==(const register_zone_reply&, const register_zone_reply&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, register_zone_reply& x) {
  return f(caf::meta::type_name("register_zone_reply"), x.zone_id, x.start);
}

/// FUSIONUpdateZone: replace a zone's parameters.
struct update_zone {
  static constexpr message_meta meta{0x0603, "update_zone", 1, 3};
  principal caller;
  fusion_id zone_id;
  zone_parameters parameters;
  friend bool operator==(const update_zone&, const update_zone&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, update_zone& x) {
  return f(caf::meta::type_name("update_zone"), x.caller, x.zone_id, x.parameters);
}

/// FUSIONUnregisterZone.
struct unregister_zone {
  static constexpr message_meta meta{0x0604, "unregister_zone", 1, 2};
  principal caller;
  fusion_id zone_id;
  bool stop_services = false;
  friend bool operator==(const unregister_zone&, const unregister_zone&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unregister_zone& x) {
  return f(caf::meta::type_name("unregister_zone"), x.caller, x.zone_id, x.stop_services);
}

/// Per-service state a zone reports (§5.5.2.2).
struct service_report {
  service_uri service;
  uint32_t instances = 0;
  uint32_t available_sessions = 0;
  uint32_t max_sessions = 0;
  friend bool operator==(const service_report&, const service_report&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, service_report& x) {
  return f(caf::meta::type_name("service_report"), x.service, x.instances, x.available_sessions,
           x.max_sessions);
}

/// FUSIONUpdateServiceInformation: a zone's view of the services it runs.
struct update_service_information {
  static constexpr message_meta meta{0x0605, "update_service_information", 1, 2};
  fusion_id zone_id;
  std::vector<service_report> information;
  friend bool operator==(const update_service_information&,
                         const update_service_information&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, update_service_information& x) {
  return f(caf::meta::type_name("update_service_information"), x.zone_id, x.information);
}

/// Free resources of a zone after running instances and held reservations.
struct resource_report {
  uint32_t free_cpu_cores = 0;
  uint64_t free_memory_mb = 0;
  uint32_t free_gpus = 0;
  uint32_t instances = 0;     ///< Running instances.
  uint32_t reservations = 0;  ///< Open offers holding capacity.
  bool healthy = true;
  friend bool operator==(const resource_report&, const resource_report&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, resource_report& x) {
  return f(caf::meta::type_name("resource_report"), x.free_cpu_cores, x.free_memory_mb, x.free_gpus,
           x.instances, x.reservations, x.healthy);
}

/// FUSIONUpdateResourceInformation.
struct update_resource_information {
  static constexpr message_meta meta{0x0606, "update_resource_information", 1, 2};
  fusion_id zone_id;
  resource_report information;
  friend bool operator==(const update_resource_information&,
                         const update_resource_information&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, update_resource_information& x) {
  return f(caf::meta::type_name("update_resource_information"), x.zone_id, x.information);
}

/// A zone as the registry knows it.
struct zone_record {
  static constexpr message_meta meta{0x0F02, "zone_record", 2, 3};
  fusion_id zone_id;
  principal owner;
  zone_parameters parameters;
  locator manager;
  resource_report resources;  ///< Last reported; soft state.
  timestamp_ms registered_at = 0;
  uint32_t starts = 1;  ///< Registrations by its owner so far (version 2; 1 in version 1).
  friend bool operator==(const zone_record&, const zone_record&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, zone_record& x) {
  return f(caf::meta::type_name("zone_record"), x.zone_id, x.owner, x.parameters, x.manager,
           x.resources, x.registered_at, x.starts);
}

/// Step 1 of placement: zones that meet the manifest's hard constraints, at most `k`.
struct preselect_zones {
  static constexpr message_meta meta{0x0607, "preselect_zones", 1, 1};
  manifest service;
  deploy_parameters deploy;
  uint32_t k = 16;
  friend bool operator==(const preselect_zones&, const preselect_zones&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, preselect_zones& x) {
  return f(caf::meta::type_name("preselect_zones"), x.service, x.deploy, x.k);
}

/// A zone's exclusion at preselection: `code` hard_constraint (details say which) or
/// unknown_zone.
struct zone_rejection {
  fusion_id zone_id;
  std::string zone_name;
  std::string details;  ///< Completes `code` (refusal_words), without the zone's name.
  refusal_code code = refusal_code::hard_constraint;
  friend bool operator==(const zone_rejection&, const zone_rejection&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, zone_rejection& x) {
  return f(caf::meta::type_name("zone_rejection"), x.zone_id, x.zone_name, x.details, x.code);
}

/// Reply to preselect_zones.
struct preselection {
  static constexpr message_meta meta{0x0608, "preselection", 2, 1};
  std::vector<zone_record> candidates;   ///< Best candidates first, at most k.
  std::vector<zone_rejection> rejected;  ///< Zones failing hard constraints.
  uint32_t zones_known = 0;
  friend bool operator==(const preselection&, const preselection&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, preselection& x) {
  return f(caf::meta::type_name("preselection"), x.candidates, x.rejected, x.zones_known);
}

/// List every registered zone.
struct list_zones {
  static constexpr message_meta meta{0x0609, "list_zones", 1, 0};
  friend bool operator==(const list_zones&, const list_zones&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, list_zones&) {
  return f(caf::meta::type_name("list_zones"));
}

/// Reply to list_zones.
struct zone_list {
  static constexpr message_meta meta{0x060A, "zone_list", 1, 1};
  std::vector<zone_record> zones;
  friend bool operator==(const zone_list&, const zone_list&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, zone_list& x) {
  return f(caf::meta::type_name("zone_list"), x.zones);
}

/// Typed interface of the zone registry (§5.5.2). It is also the domain's slot sink: zones
/// publish their slots to it (slot_sink_actor), and list_slots shows what it holds.
using zone_registry_actor =
    caf::typed_actor<caf::replies_to<register_zone>::with<register_zone_reply>,
                     caf::replies_to<update_zone>::with<status_reply>,
                     caf::replies_to<unregister_zone>::with<status_reply>,
                     caf::replies_to<update_service_information>::with<status_reply>,
                     caf::replies_to<update_resource_information>::with<status_reply>,
                     caf::replies_to<preselect_zones>::with<preselection>,
                     caf::replies_to<list_zones>::with<zone_list>, caf::reacts_to<slot_report>,
                     caf::reacts_to<slot_withdraw>, caf::reacts_to<slot_report_batch>,
                     caf::replies_to<list_slots>::with<slot_list>, caf::reacts_to<member_change>>;

}  // namespace fusion::protocols
