#include "protocols/manifest.hpp"

namespace fusion::protocols {

std::string_view to_string(placement_policy x) {
  switch (x) {
    case placement_policy::best_total:
      return "best_total";
    case placement_policy::lowest_cost:
      return "lowest_cost";
    case placement_policy::lowest_latency:
      return "lowest_latency";
  }
  return "best_total";
}

bool from_string(std::string_view s, placement_policy& out) {
  for (auto p : {placement_policy::best_total, placement_policy::lowest_cost,
                 placement_policy::lowest_latency})
    if (s == to_string(p)) {
      out = p;
      return true;
    }
  return false;
}

std::string_view to_string(role x) {
  switch (x) {
    case role::service_provider:
      return "service_provider";
    case role::zone_admin:
      return "zone_admin";
    case role::domain_admin:
      return "domain_admin";
  }
  return "service_provider";
}

}  // namespace fusion::protocols
