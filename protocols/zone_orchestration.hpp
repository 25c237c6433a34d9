#pragma once
// Zone orchestration interface (§6.4.1): domain orchestration → zone manager. Zone
// selection (zone_evaluate answered by a binding offer), lifecycle and monitoring.

#include "protocols/manifest.hpp"
#include "protocols/orchestration_management.hpp"
#include "protocols/service_lifecycle.hpp"
#include "protocols/zone_management.hpp"

namespace fusion::protocols {

/// FUSIONZoneEvaluate: evaluate hosting `deploy.instances` instances; answer with an offer.
struct zone_evaluate {
  static constexpr message_meta meta{0x0901, "zone_evaluate", 1, 1};
  service_uri service_name;
  blob service_parameters;
  deploy_parameters deploy;
  duration_ms timeout_ms = 0;  ///< Time the zone has to answer.
  /// The manifest, so the zone needs no registrar round trip (shared by the evaluations of
  /// one placement, not copied into each).
  shared<manifest> service;
  /// The same request for this many concurrent placements: the zone evaluates once and
  /// answers with up to `copies` identical offers, each its own reservation.
  uint32_t copies = 1;
  friend bool operator==(const zone_evaluate&, const zone_evaluate&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, zone_evaluate& x) {
  return f(caf::meta::type_name("zone_evaluate"), x.service_name, x.service_parameters, x.deploy,
           x.timeout_ms, x.service, x.copies);
}

/// Reply to zone_evaluate: an offer (a reservation until it expires) or a refusal.
struct zone_offer {
  static constexpr message_meta meta{0x0902, "zone_offer", 2, 1};
  bool accepted = false;
  offer proposal;       ///< Valid if accepted.
  std::string details;  ///< Completes `code` (refusal_words), if not accepted.
  /// Ids of further offers on the same terms as `proposal`, each its own reservation
  /// (zone_evaluate.copies > 1); fewer than asked when capacity ran out.
  std::vector<fusion_id> more_offer_ids;
  refusal_code code = refusal_code::none;  ///< Why the zone declined, if not accepted.
  friend bool operator==(const zone_offer&, const zone_offer&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, zone_offer& x) {
  return f(caf::meta::type_name("zone_offer"), x.accepted, x.proposal, x.details, x.more_offer_ids,
           x.code);
}

/// Give back an offer's reservation before it expires (placement did not choose it).
struct release_offer {
  static constexpr message_meta meta{0x0903, "release_offer", 1, 1};
  fusion_id offer_id;
  friend bool operator==(const release_offer&, const release_offer&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, release_offer& x) {
  return f(caf::meta::type_name("release_offer"), x.offer_id);
}

/// FUSIONDeployService (zone): deploy instances, using the reservation of `offer_id` if set.
struct zone_deploy_service {
  static constexpr message_meta meta{0x0904, "zone_deploy_service", 1, 1};
  service_uri service_name;
  blob service_parameters;
  deploy_parameters deploy;
  duration_ms timeout_ms = 0;
  fusion_id offer_id;  ///< Reservation to consume; empty = deploy if capacity allows.
  fusion_id service_id;
  manifest service;
  friend bool operator==(const zone_deploy_service&, const zone_deploy_service&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, zone_deploy_service& x) {
  return f(caf::meta::type_name("zone_deploy_service"), x.service_name, x.service_parameters,
           x.deploy, x.timeout_ms, x.offer_id, x.service_id, x.service);
}

/// FUSIONTerminateServiceInstance: graceful stop within `timeout_ms`, then forced.
struct terminate_service_instance {
  static constexpr message_meta meta{0x0905, "terminate_service_instance", 1, 1};
  fusion_id instance_id;
  duration_ms timeout_ms = 0;
  friend bool operator==(const terminate_service_instance&,
                         const terminate_service_instance&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, terminate_service_instance& x) {
  return f(caf::meta::type_name("terminate_service_instance"), x.instance_id, x.timeout_ms);
}

/// FUSIONGetServiceInformation: aggregated information about one service type in the zone.
struct get_service_information {
  static constexpr message_meta meta{0x0906, "get_service_information", 1, 1};
  service_uri service_name;
  info_category category = info_category::summary;
  friend bool operator==(const get_service_information&, const get_service_information&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_service_information& x) {
  return f(caf::meta::type_name("get_service_information"), x.service_name, x.category);
}

/// FUSIONGetZoneInformation: aggregated information about the zone.
struct get_zone_information {
  static constexpr message_meta meta{0x0907, "get_zone_information", 1, 0};
  info_category category = info_category::summary;
  friend bool operator==(const get_zone_information&, const get_zone_information&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_zone_information& x) {
  return f(caf::meta::type_name("get_zone_information"), x.category);
}

/// Many zone_evaluate requests in one message (placement batches concurrent placements
/// per zone: one round trip instead of one per placement). Answered in the same order.
struct zone_evaluate_batch {
  static constexpr message_meta meta{0x0908, "zone_evaluate_batch", 1, 1};
  std::vector<zone_evaluate> requests;
  /// Offers to give back before evaluating: placement sends the offers it did not choose
  /// with its next batch to the zone instead of a release_offers message of their own.
  std::vector<fusion_id> release;
  friend bool operator==(const zone_evaluate_batch&, const zone_evaluate_batch&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, zone_evaluate_batch& x) {
  return f(caf::meta::type_name("zone_evaluate_batch"), x.requests, x.release);
}

/// Reply to zone_evaluate_batch: offers[i] answers requests[i].
struct zone_offer_batch {
  static constexpr message_meta meta{0x0909, "zone_offer_batch", 2, 1};
  std::vector<zone_offer> offers;
  friend bool operator==(const zone_offer_batch&, const zone_offer_batch&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, zone_offer_batch& x) {
  return f(caf::meta::type_name("zone_offer_batch"), x.offers);
}

/// Give back many reservations at once; fire-and-forget (no reply), unknown ids ignored.
struct release_offers {
  static constexpr message_meta meta{0x090A, "release_offers", 1, 1};
  std::vector<fusion_id> offer_ids;
  friend bool operator==(const release_offers&, const release_offers&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, release_offers& x) {
  return f(caf::meta::type_name("release_offers"), x.offer_ids);
}

/// Where a zone manager stands with its domain's zone registry.
enum class zone_registration_state : uint8_t {
  pending = 0,      ///< Asked, no answer yet.
  registered = 1,   ///< Registered: `zone_id` and `start` are valid.
  failed = 2,       ///< The registry refused or did not answer; `failure` says why.
  no_registry = 3,  ///< The node runs no zone registry to register with: the zone works alone.
};

/// Ask a zone manager where it stands with the zone registry (node start waits on it).
struct get_zone_registration {
  static constexpr message_meta meta{0x090B, "get_zone_registration", 1, 0};
  friend bool operator==(const get_zone_registration&, const get_zone_registration&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_zone_registration&) {
  return f(caf::meta::type_name("get_zone_registration"));
}

/// Reply to get_zone_registration.
struct zone_registration {
  static constexpr message_meta meta{0x090C, "zone_registration", 1, 1};
  zone_registration_state state = zone_registration_state::pending;
  fusion_id zone_id;    ///< The id the registry gave, if registered.
  uint32_t start = 0;   ///< The zone's durable start count (register_zone_reply.start).
  std::string failure;  ///< Why registration failed, if it did.
  friend bool operator==(const zone_registration&, const zone_registration&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, zone_registration& x) {
  return f(caf::meta::type_name("zone_registration"), x.state, x.zone_id, x.start, x.failure);
}

/// Ask a zone manager which instances it hosts now (the domain's deployment reconciles its
/// durable instance records against the answer after a restart).
struct list_hosted_instances {
  static constexpr message_meta meta{0x090D, "list_hosted_instances", 1, 0};
  friend bool operator==(const list_hosted_instances&, const list_hosted_instances&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, list_hosted_instances&) {
  return f(caf::meta::type_name("list_hosted_instances"));
}

/// Reply to list_hosted_instances: every instance the zone hosts, stopping ones included.
struct hosted_instances {
  static constexpr message_meta meta{0x090E, "hosted_instances", 1, 2};
  std::string zone_name;
  std::vector<fusion_id> instance_ids;
  friend bool operator==(const hosted_instances&, const hosted_instances&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hosted_instances& x) {
  return f(caf::meta::type_name("hosted_instances"), x.zone_name, x.instance_ids);
}

/// Typed interface of a zone manager toward its domain (§6.4.1).
using zone_manager_actor = caf::typed_actor<
    caf::replies_to<zone_evaluate>::with<zone_offer>,
    caf::replies_to<zone_evaluate_batch>::with<zone_offer_batch>, caf::reacts_to<release_offers>,
    caf::replies_to<release_offer>::with<status_reply>,
    caf::replies_to<zone_deploy_service>::with<deploy_service_reply>,
    caf::replies_to<terminate_service_instance>::with<status_reply>,
    caf::replies_to<get_service_information>::with<information>,
    caf::replies_to<get_zone_information>::with<information>,
    caf::replies_to<get_zone_registration>::with<zone_registration>,
    caf::replies_to<list_hosted_instances>::with<hosted_instances>, caf::reacts_to<slot_report>,
    caf::reacts_to<slot_withdraw>, caf::reacts_to<slot_report_batch>,
    caf::replies_to<list_slots>::with<slot_list>,
    caf::replies_to<open_session>::with<session_granted>, caf::reacts_to<subscribe_slots>,
    caf::reacts_to<domain_advertisement>, caf::reacts_to<member_change>>;

// --- Evaluators (§5.4.2.2) ---

/// Ask an evaluator to score a zone for a service. `cache_key` (caller-given, §5.4.2.2.3)
/// lets the evaluator answer repeated questions from its cache; "" = derive from the request.
struct evaluate {
  static constexpr message_meta meta{0x1001, "evaluate", 1, 3};
  std::string cache_key;
  zone_parameters zone;
  resource_report free;
  manifest service;
  deploy_parameters deploy;
  friend bool operator==(const evaluate&, const evaluate&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, evaluate& x) {
  return f(caf::meta::type_name("evaluate"), x.cache_key, x.zone, x.free, x.service, x.deploy);
}

/// An evaluator's answer.
struct evaluation {
  static constexpr message_meta meta{0x1002, "evaluation", 2, 1};
  bool feasible = false;
  score scores;
  double cost = 0;         ///< Per hour for the requested instances.
  double latency_ms = 0;   ///< Estimated latency to the users (worst of the given locations).
  uint32_t instances = 0;  ///< Instances the zone can host of those requested.
  std::string details;     ///< Why infeasible (code infeasible), without the zone's name.
  bool cached = false;     ///< Answered from the cache.
  refusal_code code = refusal_code::none;  ///< infeasible, or none.
  friend bool operator==(const evaluation&, const evaluation&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, evaluation& x) {
  return f(caf::meta::type_name("evaluation"), x.feasible, x.scores, x.cost, x.latency_ms,
           x.instances, x.details, x.cached, x.code);
}

/// Typed interface of an evaluator.
using evaluator_actor = caf::typed_actor<caf::replies_to<evaluate>::with<evaluation>>;

}  // namespace fusion::protocols
