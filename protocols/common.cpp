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

}  // namespace fusion::protocols
