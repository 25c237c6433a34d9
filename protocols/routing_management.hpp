#pragma once
// Routing and networking management interface (§5.5.4): the domain's routing manager →
// service routers (forwarding table configuration, §5.5.4.1) and service routers → routing
// manager (monitoring, §5.5.4.2).

#include "protocols/service_lifecycle.hpp"
#include "protocols/slots.hpp"

namespace fusion::protocols {

/// One next hop of a forwarding entry with its load-balancing weight.
struct next_hop {
  locator hop;        ///< Next service router, zone gateway or border router.
  double weight = 1;  ///< Relative share of new sessions; 0 = standby only.
  /// Network metric through this hop to the service (latency, ms; §4.3.2.5). Appended.
  double metric_ms = 0;
  /// The origin its slot reports carry (a zone's ZoneID, a router's id): how the router
  /// matches the slots it hears of to this hop. Appended.
  fusion_id origin;
  friend bool operator==(const next_hop&, const next_hop&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, next_hop& x) {
  return f(caf::meta::type_name("next_hop"), x.hop, x.weight, x.metric_ms, x.origin);
}

/// A forwarding entry (spec "Information"): ServiceIDs, load balancing, next hops.
struct forwarding_information {
  std::vector<fusion_id> service_ids;
  std::vector<next_hop> next_hops;
  std::string load_balancing = "weighted";  ///< "weighted", "slots" or "latency".
  friend bool operator==(const forwarding_information&, const forwarding_information&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, forwarding_information& x) {
  return f(caf::meta::type_name("forwarding_information"), x.service_ids, x.next_hops,
           x.load_balancing);
}

/// FUSIONCreateForwardingEntry.
struct create_forwarding_entry {
  static constexpr message_meta meta{0x0801, "create_forwarding_entry", 1, 3};
  fusion_id router_id;
  fusion_id entry_id;
  forwarding_information information;
  friend bool operator==(const create_forwarding_entry&, const create_forwarding_entry&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, create_forwarding_entry& x) {
  return f(caf::meta::type_name("create_forwarding_entry"), x.router_id, x.entry_id, x.information);
}

/// FUSIONUpdateForwardingEntry: replace the ServiceIDs, weights or next hops of an entry.
struct update_forwarding_entry {
  static constexpr message_meta meta{0x0802, "update_forwarding_entry", 1, 3};
  fusion_id router_id;
  fusion_id entry_id;
  forwarding_information information;
  friend bool operator==(const update_forwarding_entry&, const update_forwarding_entry&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, update_forwarding_entry& x) {
  return f(caf::meta::type_name("update_forwarding_entry"), x.router_id, x.entry_id, x.information);
}

/// FUSIONDeleteForwardingEntry.
struct delete_forwarding_entry {
  static constexpr message_meta meta{0x0803, "delete_forwarding_entry", 1, 2};
  fusion_id router_id;
  fusion_id entry_id;
  friend bool operator==(const delete_forwarding_entry&, const delete_forwarding_entry&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, delete_forwarding_entry& x) {
  return f(caf::meta::type_name("delete_forwarding_entry"), x.router_id, x.entry_id);
}

/// Service requests one router saw for one service during a report window.
struct service_request_stats {
  fusion_id service_id;
  uint64_t requests = 0;     ///< Session requests received.
  uint64_t rejected = 0;     ///< Requests no next hop could take.
  double mean_setup_ms = 0;  ///< Mean time to a granted session.
  friend bool operator==(const service_request_stats&, const service_request_stats&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, service_request_stats& x) {
  return f(caf::meta::type_name("service_request_stats"), x.service_id, x.requests, x.rejected,
           x.mean_setup_ms);
}

/// Network performance toward one next hop during a report window.
struct next_hop_stats {
  locator hop;
  double rtt_ms = 0;
  double loss = 0;  ///< Fraction of requests lost or timed out, in [0, 1].
  uint64_t forwarded = 0;
  friend bool operator==(const next_hop_stats&, const next_hop_stats&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, next_hop_stats& x) {
  return f(caf::meta::type_name("next_hop_stats"), x.hop, x.rtt_ms, x.loss, x.forwarded);
}

/// Request and network monitoring information of one router (spec "Information").
struct routing_statistics {
  timestamp_ms window_start = 0;
  duration_ms window_ms = 0;
  std::vector<service_request_stats> services;
  std::vector<next_hop_stats> next_hops;
  friend bool operator==(const routing_statistics&, const routing_statistics&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, routing_statistics& x) {
  return f(caf::meta::type_name("routing_statistics"), x.window_start, x.window_ms, x.services,
           x.next_hops);
}

/// FUSIONProvideRoutingInformation: a router's statistics for the routing manager.
struct provide_routing_information {
  static constexpr message_meta meta{0x0804, "provide_routing_information", 1, 2};
  fusion_id router_id;
  routing_statistics information;
  friend bool operator==(const provide_routing_information&,
                         const provide_routing_information&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, provide_routing_information& x) {
  return f(caf::meta::type_name("provide_routing_information"), x.router_id, x.information);
}

/// Which next hops a router would send a session request for `service` to, best first
/// (§4.3.2.5, docs/slots.md "Choosing a next hop"). `client` is for accounting.
struct route_session {
  static constexpr message_meta meta{0x0805, "route_session", 1, 1};
  service_uri service;
  std::string client;
  friend bool operator==(const route_session&, const route_session&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, route_session& x) {
  return f(caf::meta::type_name("route_session"), x.service, x.client);
}

/// One next hop a router would try, with what it thinks of it.
struct route_choice {
  next_hop hop;
  uint32_t available = 0;  ///< Free slots the router's table holds for it.
  double variance = 0;     ///< Their variance, as reported.
  double p_free = 0;       ///< Probability that a slot is still free on arrival.
  double cost_ms = 0;      ///< metric + (1 − p_free) × retry: lower is better.
  friend bool operator==(const route_choice&, const route_choice&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, route_choice& x) {
  return f(caf::meta::type_name("route_choice"), x.hop, x.available, x.variance, x.p_free,
           x.cost_ms);
}

/// Reply to route_session: the hops worth trying, best first; empty with `reason` when no
/// hop is likely to have a free slot.
struct route_decision {
  static constexpr message_meta meta{0x0806, "route_decision", 1, 1};
  std::vector<route_choice> hops;
  std::string reason;  ///< Why no hop is offered ("" when some are).
  friend bool operator==(const route_decision&, const route_decision&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, route_decision& x) {
  return f(caf::meta::type_name("route_decision"), x.hops, x.reason);
}

/// Ask the routing manager for the statistics its routers last provided.
struct get_routing_information {
  static constexpr message_meta meta{0x0807, "get_routing_information", 1, 0};
  fusion_id router_id;  ///< "" = every router.
  friend bool operator==(const get_routing_information&, const get_routing_information&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_routing_information& x) {
  return f(caf::meta::type_name("get_routing_information"), x.router_id);
}

/// Reply to get_routing_information: each router's last statistics, by router id.
struct routing_information {
  static constexpr message_meta meta{0x0808, "routing_information", 1, 1};
  std::vector<provide_routing_information> routers;
  friend bool operator==(const routing_information&, const routing_information&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, routing_information& x) {
  return f(caf::meta::type_name("routing_information"), x.routers);
}

/// Typed interface of a service router's configuration side (§5.5.4.1).
using router_configuration_actor =
    caf::typed_actor<caf::replies_to<create_forwarding_entry>::with<status_reply>,
                     caf::replies_to<update_forwarding_entry>::with<status_reply>,
                     caf::replies_to<delete_forwarding_entry>::with<status_reply>>;

/// Typed interface of a service router (§4.3.2.3, §4.3.2.5, §5.5.4.1): configured by
/// forwarding entries, a slot sink for its next hops' reports, it ranks next hops for
/// session requests, forwards open_session along them and shows its slot rows.
using service_router_actor = router_configuration_actor::extend<
    caf::reacts_to<slot_report>, caf::reacts_to<slot_withdraw>, caf::reacts_to<slot_report_batch>,
    caf::replies_to<route_session>::with<route_decision>,
    caf::replies_to<list_slots>::with<slot_list>,
    caf::replies_to<open_session>::with<session_granted>, caf::reacts_to<subscribe_slots>>;

/// Typed interface of the domain's routing manager (§5.5.4.2).
using routing_manager_actor =
    caf::typed_actor<caf::replies_to<provide_routing_information>::with<status_reply>,
                     caf::replies_to<get_routing_information>::with<routing_information>,
                     caf::reacts_to<slot_withdraw>>;

}  // namespace fusion::protocols
