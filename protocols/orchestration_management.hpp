#pragma once
// Orchestration management interface (§5.5.1): service provider → domain orchestration.
// Registration, querying and deployment, plus the placement function's own messages
// (§5.4.2.1), which the deployment function and `fusion-node plan` use.

#include "protocols/manifest.hpp"
#include "protocols/records.hpp"
#include "protocols/service_lifecycle.hpp"

namespace fusion::protocols {

/// What query_service_by_name returns (§5.5.1.2 InformationType).
enum class service_info_type : uint8_t {
  summary = 0,    ///< Identity, owner, revision.
  manifest = 1,   ///< The manifest as registered (YAML text).
  instances = 2,  ///< Deployed instances and where they run.
};

/// FUSIONRegisterService: register a new service type from a YAML manifest.
struct register_service {
  static constexpr message_meta meta{0x0501, "register_service", 1, 2};
  principal caller;
  std::string service_manifest;  ///< YAML text (docs/manifests.md).
  friend bool operator==(const register_service&, const register_service&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, register_service& x) {
  return f(caf::meta::type_name("register_service"), x.caller, x.service_manifest);
}

/// Reply to register_service: the durable ServiceID and pre-deployed instances.
struct register_service_reply {
  static constexpr message_meta meta{0x0502, "register_service_reply", 2, 1};
  fusion_id service_id;
  service_uri name;
  std::vector<fusion_id> pre_deployed;   ///< Instances started by pre-deployment (SR-4).
  std::vector<locator> pre_deployed_at;  ///< Where each of them can be reached.
  friend bool operator==(const register_service_reply&, const register_service_reply&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, register_service_reply& x) {
  return f(caf::meta::type_name("register_service_reply"), x.service_id, x.name, x.pre_deployed,
           x.pre_deployed_at);
}

/// FUSIONUnregisterService: remove a service type, optionally stopping its instances first.
struct unregister_service {
  static constexpr message_meta meta{0x0503, "unregister_service", 1, 2};
  principal caller;
  fusion_id service_id;
  bool stop_services = false;
  friend bool operator==(const unregister_service&, const unregister_service&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unregister_service& x) {
  return f(caf::meta::type_name("unregister_service"), x.caller, x.service_id, x.stop_services);
}

/// FUSIONUpdateService: replace a service's manifest (same name, new revision).
struct update_service {
  static constexpr message_meta meta{0x0504, "update_service", 1, 3};
  principal caller;
  service_uri service_name;
  std::string manifest;  ///< YAML text.
  friend bool operator==(const update_service&, const update_service&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, update_service& x) {
  return f(caf::meta::type_name("update_service"), x.caller, x.service_name, x.manifest);
}

/// FUSIONQueryServiceByName: information about one service (by ServiceID or name).
struct query_service_by_name {
  static constexpr message_meta meta{0x0505, "query_service_by_name", 1, 2};
  principal caller;
  fusion_id service_id;  ///< A ServiceID, or the service's URI.
  service_info_type information_type = service_info_type::summary;
  friend bool operator==(const query_service_by_name&, const query_service_by_name&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, query_service_by_name& x) {
  return f(caf::meta::type_name("query_service_by_name"), x.caller, x.service_id,
           x.information_type);
}

/// A registered service as the registrar stores it.
struct service_record {
  static constexpr message_meta meta{0x0F01, "service_record", 1, 4};
  fusion_id service_id;
  principal owner;
  uint32_t revision = 1;
  std::string manifest_yaml;
  manifest parsed;
  timestamp_ms registered_at = 0;
  friend bool operator==(const service_record&, const service_record&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, service_record& x) {
  return f(caf::meta::type_name("service_record"), x.service_id, x.owner, x.revision,
           x.manifest_yaml, x.parsed, x.registered_at);
}

/// Reply to query_service_by_name: the description requested.
struct service_description {
  static constexpr message_meta meta{0x0506, "service_description", 1, 1};
  service_record record;
  std::vector<fusion_id> instance_ids;  ///< Filled for service_info_type::instances.
  info_map details;
  friend bool operator==(const service_description&, const service_description&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, service_description& x) {
  return f(caf::meta::type_name("service_description"), x.record, x.instance_ids, x.details);
}

/// FUSIONQueryServiceByCategory: services matching all the given categories or keywords.
struct query_service_by_category {
  static constexpr message_meta meta{0x0507, "query_service_by_category", 1, 2};
  principal caller;
  std::vector<std::string> categories;
  friend bool operator==(const query_service_by_category&,
                         const query_service_by_category&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, query_service_by_category& x) {
  return f(caf::meta::type_name("query_service_by_category"), x.caller, x.categories);
}

/// Reply to query_service_by_category.
struct service_list {
  static constexpr message_meta meta{0x0508, "service_list", 1, 1};
  std::vector<service_uri> service_names;
  friend bool operator==(const service_list&, const service_list&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, service_list& x) {
  return f(caf::meta::type_name("service_list"), x.service_names);
}

/// FUSIONDeployService (domain): deploy extra instances of a registered service, or, with
/// `ensure`, as many as it takes for the service to have `deploy.instances` on record.
struct deploy_service {
  static constexpr message_meta meta{0x0509, "deploy_service", 2, 2};
  principal caller;
  fusion_id service_id;
  blob service_parameters;  ///< Opaque to FUSION, handed to service_start.
  deploy_parameters deploy;
  /// Version 2. `deploy.instances` is the total wanted: instances on record (and being
  /// deployed) count toward it, only the missing ones are deployed, none if enough run. A
  /// node restarting with its config asks this way, so nothing is deployed twice. Ensuring
  /// 0 instances deploys nothing and lists those on record (`existing_ids`).
  bool ensure = false;
  friend bool operator==(const deploy_service&, const deploy_service&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, deploy_service& x) {
  return f(caf::meta::type_name("deploy_service"), x.caller, x.service_id, x.service_parameters,
           x.deploy, x.ensure);
}

/// Reply to deploy_service (domain or zone): the instances created.
struct deploy_service_reply {
  static constexpr message_meta meta{0x050A, "deploy_service_reply", 2, 1};
  std::vector<fusion_id> instance_ids;
  std::vector<locator> instances;  ///< Where each instance can be reached.
  fusion_id decision_id;           ///< Placement decision that chose the zones (domain only).
  /// Version 2, with `ensure`: the instances already on record that counted toward the
  /// total (not deployed by this request), and where they are.
  std::vector<fusion_id> existing_ids;
  std::vector<locator> existing;
  friend bool operator==(const deploy_service_reply&, const deploy_service_reply&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, deploy_service_reply& x) {
  return f(caf::meta::type_name("deploy_service_reply"), x.instance_ids, x.instances, x.decision_id,
           x.existing_ids, x.existing);
}

/// How one zone fared in a placement: its scores and offer, or why it was not chosen.
struct zone_verdict {
  fusion_id zone_id;
  std::string zone_name;
  bool preselected = false;  ///< Passed step 1 (hard constraints).
  bool answered = false;     ///< Replied before the deadline.
  bool offered = false;      ///< Made an offer.
  bool chosen = false;       ///< Offer accepted by step 4.
  offer zone_offer;          ///< Valid if offered.
  std::string details;       ///< Completes `code` (refusal_words), without the zone's name.
  refusal_code code = refusal_code::none;  ///< Why not offered or not chosen; none if chosen.
  friend bool operator==(const zone_verdict&, const zone_verdict&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, zone_verdict& x) {
  return f(caf::meta::type_name("zone_verdict"), x.zone_id, x.zone_name, x.preselected, x.answered,
           x.offered, x.chosen, x.zone_offer, x.details, x.code);
}

/// Ask the placement function to choose zones for a service (§5.4.2.1). With `dry_run`
/// every reservation is released after the decision.
struct place_service {
  static constexpr message_meta meta{0x050B, "place_service", 1, 2};
  principal caller;
  manifest service;
  deploy_parameters deploy;
  bool dry_run = false;
  friend bool operator==(const place_service&, const place_service&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, place_service& x) {
  return f(caf::meta::type_name("place_service"), x.caller, x.service, x.deploy, x.dry_run);
}

/// A recorded placement decision: chosen offers and every zone's verdict.
struct placement_decision {
  static constexpr message_meta meta{0x050C, "placement_decision", 2, 2};
  fusion_id decision_id;
  service_uri service;
  placement_policy policy = placement_policy::best_total;
  uint32_t zones_known = 0;  ///< Zones in the registry at step 1.
  std::vector<zone_verdict> verdicts;
  std::vector<offer> chosen;  ///< Accepted offers, best first.
  bool satisfied = false;     ///< Chosen offers cover the requested instances.
  std::string summary;        ///< One line for people.
  timestamp_ms decided_at = 0;
  friend bool operator==(const placement_decision&, const placement_decision&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, placement_decision& x) {
  return f(caf::meta::type_name("placement_decision"), x.decision_id, x.service, x.policy,
           x.zones_known, x.verdicts, x.chosen, x.satisfied, x.summary, x.decided_at);
}

/// Show a recorded decision again (`explain`).
struct explain_placement {
  static constexpr message_meta meta{0x050D, "explain_placement", 1, 1};
  fusion_id decision_id;
  friend bool operator==(const explain_placement&, const explain_placement&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, explain_placement& x) {
  return f(caf::meta::type_name("explain_placement"), x.decision_id);
}

/// Stop every instance of a service (sent by the registrar on unregister with StopServices).
struct stop_service_instances {
  static constexpr message_meta meta{0x050E, "stop_service_instances", 1, 1};
  fusion_id service_id;
  duration_ms timeout_ms = 0;  ///< Graceful period per instance; 0 = the manifest's.
  friend bool operator==(const stop_service_instances&, const stop_service_instances&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stop_service_instances& x) {
  return f(caf::meta::type_name("stop_service_instances"), x.service_id, x.timeout_ms);
}

/// Reconcile the deployment's durable instance records with what the zones host: a record
/// whose zone answers without it (the instance died with an earlier start of its zone) is
/// removed; a record whose zone does not answer is kept (what cannot be confirmed is never
/// deleted). Sent at node start, and by the zone registry when a zone registers again.
struct reconcile_instances {
  static constexpr message_meta meta{0x050F, "reconcile_instances", 1, 0};
  std::string zone_name;  ///< Only the records of this zone; "" = every zone.
  friend bool operator==(const reconcile_instances&, const reconcile_instances&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reconcile_instances& x) {
  return f(caf::meta::type_name("reconcile_instances"), x.zone_name);
}

/// Reply to reconcile_instances.
struct instances_reconciled {
  static constexpr message_meta meta{0x0510, "instances_reconciled", 1, 3};
  uint32_t confirmed = 0;    ///< Records whose zone hosts the instance.
  uint32_t removed = 0;      ///< Records whose zone answered without the instance: deleted.
  uint32_t unconfirmed = 0;  ///< Records whose zone did not answer: kept.
  std::vector<fusion_id> removed_ids;
  friend bool operator==(const instances_reconciled&, const instances_reconciled&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, instances_reconciled& x) {
  return f(caf::meta::type_name("instances_reconciled"), x.confirmed, x.removed, x.unconfirmed,
           x.removed_ids);
}

/// FUSIONScaleService (domain scaling, §5.4.3, §4.3.2.6): place and deploy `instances` more
/// instances of a registered service through four-step placement, within its manifest's
/// max_instances. Asked by a zone whose elasticity rule wants an instance it has no room
/// for (overflow), and by a router that finds no free slot anywhere (on-demand, SPD-4).
/// Answered with the deployed instances; requests for a service already being scaled wait
/// for that deployment instead of starting another.
struct scale_service {
  static constexpr message_meta meta{0x0511, "scale_service", 1, 1};
  service_uri service;
  uint32_t instances = 1;
  std::string requester;  ///< Who asks, for the log and errors: "zone z1", "router edge".
  std::string reason;     ///< Why, for the log: "slot utilisation 0.95 > 0.80, no room".
  friend bool operator==(const scale_service&, const scale_service&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scale_service& x) {
  return f(caf::meta::type_name("scale_service"), x.service, x.instances, x.requester, x.reason);
}

/// A zone started or stopped instances on its own (its elasticity rules, §6.3.3): the
/// deployment function records the started ones and forgets the stopped ones, so that the
/// domain's instance records stay what the zones host.
struct zone_instances_changed {
  static constexpr message_meta meta{0x0512, "zone_instances_changed", 1, 1};
  std::string zone_name;
  std::vector<instance_record> started;
  std::vector<fusion_id> stopped;
  std::string reason;  ///< For the log: the rule that acted.
  friend bool operator==(const zone_instances_changed&, const zone_instances_changed&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, zone_instances_changed& x) {
  return f(caf::meta::type_name("zone_instances_changed"), x.zone_name, x.started, x.stopped,
           x.reason);
}

/// The zone registry tells the deployment function that a zone failed or came back (§6.2,
/// docs/gossip.md "Failure handling"). Down: gossip declared the zone's node dead, the zone
/// is fenced; its instance records go and the instances are placed again elsewhere. Up: the
/// zone registered again (start `start`); instances it still hosts that were placed again
/// meanwhile are stopped there, so no instance runs twice.
struct zone_availability {
  static constexpr message_meta meta{0x0513, "zone_availability", 1, 1};
  fusion_id zone_id;
  std::string zone_name;
  bool up = false;
  uint32_t start = 0;
  locator manager = {};  ///< Where the zone's manager listens (up only).
  friend bool operator==(const zone_availability&, const zone_availability&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, zone_availability& x) {
  return f(caf::meta::type_name("zone_availability"), x.zone_id, x.zone_name, x.up, x.start,
           x.manager);
}

/// Typed interface of the registrar (§5.5.1.1, §5.5.1.2).
using registrar_actor =
    caf::typed_actor<caf::replies_to<register_service>::with<register_service_reply>,
                     caf::replies_to<unregister_service>::with<status_reply>,
                     caf::replies_to<update_service>::with<status_reply>,
                     caf::replies_to<query_service_by_name>::with<service_description>,
                     caf::replies_to<query_service_by_category>::with<service_list>>;

/// Typed interface of the domain deployment function (§5.5.1.3, §5.4.4).
using deployment_actor =
    caf::typed_actor<caf::replies_to<deploy_service>::with<deploy_service_reply>,
                     caf::replies_to<stop_service_instances>::with<status_reply>,
                     caf::replies_to<reconcile_instances>::with<instances_reconciled>,
                     caf::replies_to<zone_instances_changed>::with<status_reply>,
                     caf::reacts_to<zone_availability>>;

/// Typed interface of the domain scaling function (§5.4.3).
using scaling_actor = caf::typed_actor<caf::replies_to<scale_service>::with<deploy_service_reply>>;

/// Typed interface of the placement function (§5.4.2.1).
using placement_actor =
    caf::typed_actor<caf::replies_to<place_service>::with<placement_decision>,
                     caf::replies_to<explain_placement>::with<placement_decision>>;

}  // namespace fusion::protocols
