#pragma once
// Inter-service interface (§4.5.2): service instance → service instance. Late binding of
// an optimised data-plane link between two services that already found each other.

#include "protocols/service_lifecycle.hpp"

namespace fusion::protocols {

/// Communication protocol of a late binding (spec "BindType").
enum class bind_type : uint8_t {
  automatic = 0,      ///< Let the callee's zone choose the best protocol it supports.
  tcp = 1,            ///< Plain TCP stream.
  udp = 2,            ///< Datagrams.
  shared_memory = 3,  ///< Shared memory (same host, possibly across VMs).
  rdma = 4,           ///< Remote direct memory access.
};

/// FUSIONServiceBind: ask the other service for a low-overhead link of `type`.
struct service_bind {
  static constexpr message_meta meta{0x0301, "service_bind", 1, 1};
  service_uri service_name;  ///< The service to connect to.
  bind_type type = bind_type::automatic;
  info_map bind_params;  ///< Protocol details ("bandwidth_mbps", "segment_size", ...).
  friend bool operator==(const service_bind&, const service_bind&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, service_bind& x) {
  return f(caf::meta::type_name("service_bind"), x.service_name, x.type, x.bind_params);
}

/// Reply to service_bind: where the bound link listens and which protocol was chosen.
struct service_bind_reply {
  static constexpr message_meta meta{0x0302, "service_bind_reply", 1, 1};
  status code = status::ok;
  locator socket;  ///< Endpoint of the link: node "host:port" (or path) and channel name.
  bind_type bound = bind_type::tcp;  ///< The protocol actually used (never automatic).
  std::string detail;                ///< Why the binding failed, if it did.
  friend bool operator==(const service_bind_reply&, const service_bind_reply&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, service_bind_reply& x) {
  return f(caf::meta::type_name("service_bind_reply"), x.code, x.socket, x.bound, x.detail);
}

/// Typed interface a service instance offers to other services (§4.5.2).
using inter_service_actor =
    caf::typed_actor<caf::replies_to<service_bind>::with<service_bind_reply>>;

}  // namespace fusion::protocols
