#pragma once
// Inter-domain routing management interface (§5.5.3.1): the speaker of domain A → the
// speaker of peer domain B. BGP-like: announce, update and withdraw service routes with a
// domain path for loop prevention and best-path choice (DESIGN §4.8).

#include "protocols/service_lifecycle.hpp"

namespace fusion::protocols {

/// Route characteristics (spec "RouteInformation").
struct route_information {
  uint32_t hop_count = 0;                ///< Service-router hops to the origin.
  std::vector<std::string> domain_path;  ///< Domains crossed, nearest first, origin last.
  double latency_ms = 0;                 ///< Estimated latency from the border router.
  info_map attributes;                   ///< Further route attributes (like BGP communities).
  friend bool operator==(const route_information&, const route_information&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, route_information& x) {
  return f(caf::meta::type_name("route_information"), x.hop_count, x.domain_path, x.latency_ms,
           x.attributes);
}

/// FUSIONAnnounceServiceID: `service_id` is reachable through `border_router_id`.
/// The origin domain signs (service_id, origin_domain) so nobody else can originate it.
struct announce_service_id {
  static constexpr message_meta meta{0x0701, "announce_service_id", 1, 4};
  fusion_id service_id;
  uint32_t service_slots = 0;  ///< Available session slots behind this route.
  locator border_router_id;    ///< Next-hop border router domain B should use.
  route_information route;
  std::string origin_domain;  ///< Domain hosting the service (the last of the path).
  blob origin_signature;      ///< Origin domain's Ed25519 signature; checked by the speaker.
  friend bool operator==(const announce_service_id&, const announce_service_id&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, announce_service_id& x) {
  return f(caf::meta::type_name("announce_service_id"), x.service_id, x.service_slots,
           x.border_router_id, x.route, x.origin_domain, x.origin_signature);
}

/// FUSIONUpdateRoute: slots or route characteristics of an announced route changed.
struct update_route {
  static constexpr message_meta meta{0x0702, "update_route", 1, 4};
  fusion_id service_id;
  uint32_t service_slots = 0;
  locator border_router_id;
  route_information route;
  std::string origin_domain;
  blob origin_signature;
  friend bool operator==(const update_route&, const update_route&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, update_route& x) {
  return f(caf::meta::type_name("update_route"), x.service_id, x.service_slots, x.border_router_id,
           x.route, x.origin_domain, x.origin_signature);
}

/// FUSIONWithdrawServiceID: the route through `border_router_id` is gone.
struct withdraw_service_id {
  static constexpr message_meta meta{0x0703, "withdraw_service_id", 1, 2};
  fusion_id service_id;
  locator border_router_id;
  friend bool operator==(const withdraw_service_id&, const withdraw_service_id&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, withdraw_service_id& x) {
  return f(caf::meta::type_name("withdraw_service_id"), x.service_id, x.border_router_id);
}

/// Typed interface of a domain's inter-domain speaker (§5.5.3.1).
using inter_domain_actor =
    caf::typed_actor<caf::replies_to<announce_service_id>::with<status_reply>,
                     caf::replies_to<update_route>::with<status_reply>,
                     caf::replies_to<withdraw_service_id>::with<status_reply>>;

}  // namespace fusion::protocols
