#include "protocols/common.hpp"

namespace fusion::protocols {

bool is_valid_service_uri(const std::string& uri) {
  constexpr std::string_view scheme = "fusion://";
  if (uri.size() <= scheme.size() || uri.compare(0, scheme.size(), scheme) != 0) return false;
  auto rest = std::string_view{uri}.substr(scheme.size());
  auto slash = rest.find('/');
  if (slash == 0 || slash == std::string_view::npos || slash + 1 == rest.size()) return false;
  bool prev_slash = false;
  for (auto c : rest) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
              c == '_' || c == '/';
    if (!ok || (c == '/' && prev_slash)) return false;
    prev_slash = c == '/';
  }
  return !prev_slash;
}

double score::get(const std::string& key) const {
  if (key == "total") return total;
  if (key == "hardware") return hardware;
  if (key == "capacity") return capacity;
  auto i = extra.find(key);
  return i == extra.end() ? 0.0 : i->second;
}

const char* to_string(refusal_code code) {
  switch (code) {
    case refusal_code::none:
      return "none";
    case refusal_code::hard_constraint:
      return "hard_constraint";
    case refusal_code::unknown_zone:
      return "unknown_zone";
    case refusal_code::unreachable:
      return "unreachable";
    case refusal_code::no_answer:
      return "no_answer";
    case refusal_code::evaluation_failed:
      return "evaluation_failed";
    case refusal_code::infeasible:
      return "infeasible";
    case refusal_code::no_capacity:
      return "no_capacity";
    case refusal_code::no_offer:
      return "no_offer";
    case refusal_code::offer_lapsed:
      return "offer_lapsed";
    case refusal_code::offers_taken:
      return "offers_taken";
    case refusal_code::latency_over_budget:
      return "latency_over_budget";
    case refusal_code::ceiling_reached:
      return "ceiling_reached";
    case refusal_code::over_ceiling:
      return "over_ceiling";
    case refusal_code::not_needed:
      return "not_needed";
  }
  return "unknown";  // a newer peer's code: passed through as its integer
}

std::string refusal_words(refusal_code code, const std::string& details) {
  switch (code) {
    case refusal_code::none:
    case refusal_code::hard_constraint:
      return details;
    case refusal_code::unknown_zone:
      return "mapping.fixed_zones names a zone this domain does not know";
    case refusal_code::unreachable:
      return "zone manager '" + details + "' is not reachable";
    case refusal_code::no_answer:
      return "did not answer within the " + details + " deadline";
    case refusal_code::evaluation_failed:
      return "evaluation failed: " + details;
    case refusal_code::infeasible:
      return details.empty() ? "cannot host the service" : details;
    case refusal_code::no_capacity:
      return "no free capacity left for " + details;
    case refusal_code::no_offer:
      return "answered without an offer for this request";
    case refusal_code::offer_lapsed:
      return "its offer lapsed before the decision (held for " + details + ")";
    case refusal_code::offers_taken:
      return "its " + details + " offers went to identical placements decided just before";
    case refusal_code::latency_over_budget:
      return "latency " + details;
    case refusal_code::ceiling_reached:
      return "not chosen: the cost ceiling of " + details + " is reached";
    case refusal_code::over_ceiling:
      return "not chosen: with it the request would cost more than the ceiling of " + details;
    case refusal_code::not_needed:
      return "not needed: better offers cover the request";
  }
  return "refused (code " + std::to_string(static_cast<int>(code)) + ")" +
         (details.empty() ? "" : ": " + details);
}

}  // namespace fusion::protocols
