#pragma once
// Command-line numbers for Boost.program_options. Boost reads "-1" into an unsigned option
// as 4294967295 (it wraps, as strtoul does); cli::unsigned_value<T>() accepts only decimal
// digits whose value fits T, so a negative or too large number is a usage error. The value
// is still read as a T:
//
//   ("instances", cli::unsigned_value<uint32_t>()->default_value(1), "instances to place")
//   auto n = vm["instances"].as<uint32_t>();

#include "runtime/text.hpp"

#include <boost/any.hpp>
#include <boost/program_options.hpp>

#include <charconv>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace fusion::cli {

/// Parses `s` as a decimal number from 0 to T's maximum; nothing else (no sign, no
/// spaces, no hex) is accepted.
template <class T>
bool parse_unsigned(const std::string& s, T& out) {
  static_assert(std::is_unsigned_v<T>);
  if (s.empty() || s.size() > 40) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size();
}

/// A typed_value<T> whose parsing refuses signs and wrapped values.
template <class T>
class strict_unsigned_value : public boost::program_options::typed_value<T> {
 public:
  strict_unsigned_value() : boost::program_options::typed_value<T>(nullptr) {}

  void xparse(boost::any& store, const std::vector<std::string>& tokens) const override {
    namespace po = boost::program_options;
    po::validators::check_first_occurrence(store);
    const auto& s = po::validators::get_single_string(tokens);
    T x{};
    if (!parse_unsigned(s, x)) {
      po::error_with_option_name e{
          "the argument ('%value%') for option '%canonical_option%' is invalid: expected a "
          "whole number from 0 to " +
          std::to_string(std::numeric_limits<T>::max())};
      e.set_substitute("value", runtime::echoed(s));
      throw e;
    }
    store = boost::any(x);
  }
};

/// An unsigned option value of type T for options_description::add_options().
template <class T>
boost::program_options::typed_value<T>* unsigned_value() {
  return new strict_unsigned_value<T>();
}

}  // namespace fusion::cli
