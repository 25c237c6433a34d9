#pragma once
// Durable records of the domain deployment function (DESIGN §7): instance records survive a
// crash of the process that holds them.

#include "protocols/common.hpp"

namespace fusion::protocols {

/// A deployed service instance as the domain deployment function stores it.
struct instance_record {
  static constexpr message_meta meta{0x0F03, "instance_record", 2, 4};
  fusion_id instance_id;
  fusion_id service_id;
  service_uri service;
  std::string zone_name;
  fusion_id zone_id;
  locator instance;       ///< Where the instance can be reached.
  fusion_id decision_id;  ///< The placement decision that chose its zone.
  timestamp_ms deployed_at = 0;
  locator zone_manager;  ///< The zone manager that hosts it (version 2; empty in version 1).
  friend bool operator==(const instance_record&, const instance_record&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, instance_record& x) {
  return f(caf::meta::type_name("instance_record"), x.instance_id, x.service_id, x.service,
           x.zone_name, x.zone_id, x.instance, x.decision_id, x.deployed_at, x.zone_manager);
}

}  // namespace fusion::protocols
