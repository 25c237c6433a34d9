#include "runtime/names.hpp"

#include <algorithm>

namespace fusion::runtime {

namespace {

char lower_char(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

std::string lower(std::string s) {
  for (auto& c : s) c = lower_char(c);
  return s;
}

bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower_char(a[i]) != lower_char(b[i])) return false;
  return true;
}

bool has_name(const std::vector<std::string>& names, std::string_view x) {
  return std::any_of(names.begin(), names.end(),
                     [&](const std::string& y) { return same_name(y, x); });
}

bool gpu_model_matches(std::string_view model, std::string_view wanted) {
  if (wanted.size() > model.size()) return false;
  for (size_t i = 0; i + wanted.size() <= model.size(); ++i)
    if (same_name(model.substr(i, wanted.size()), wanted)) return true;
  return false;
}

}  // namespace fusion::runtime
