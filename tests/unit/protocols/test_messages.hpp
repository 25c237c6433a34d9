#pragma once
// Test helpers for the protocol tests: iterate every registered message type, fill any
// message with non-default values through its inspect(), and read its inspect type name.

#include "protocols/all_messages.hpp"

#include <string>
#include <type_traits>

namespace fusion::test {

/// Calls `f.template operator()<T>()` for every message type T of protocols::all_messages.
template <class F, class... Ts>
void for_each_message(protocols::type_list<Ts...>, F&& f) {
  (f.template operator()<Ts>(), ...);
}

/// Inspector that sets every field (recursively) to a non-default value derived from a
/// counter, so a round trip that drops or reorders a field shows up as inequality.
class filler {
 public:
  using result_type = void;
  static constexpr bool reads_state = false;
  static constexpr bool writes_state = true;

  explicit filler(uint64_t seed = 1) : n_(seed) {}

  template <class... Ts>
  void operator()(Ts&&... xs) {
    (fill(xs), ...);
  }

  /// Fills one value of any supported field type.
  template <class T>
  void fill(T& x) {
    using protocols::codec::is_map;
    using protocols::codec::is_vector;
    if constexpr (protocols::codec::is_annotation_v<T>) {
      // CAF annotations carry no data
    } else if constexpr (std::is_same_v<T, bool>) {
      x = true;
    } else if constexpr (std::is_enum_v<T>) {
      x = static_cast<T>(1);  // every FUSION enum has a value 1 that is not its default
    } else if constexpr (std::is_integral_v<T>) {
      x = static_cast<T>(next() % 100 + 1);
    } else if constexpr (std::is_floating_point_v<T>) {
      x = static_cast<T>(next()) + 0.25;
    } else if constexpr (std::is_same_v<T, std::string>) {
      // Not "v" + std::to_string(…): GCC 12 at -O3 warns falsely there (stringop-overflow).
      x = std::string{"v"}.append(std::to_string(next()));
    } else if constexpr (std::is_same_v<T, protocols::blob>) {
      x = {0x00, 0xFF, static_cast<uint8_t>(next())};
    } else if constexpr (is_vector<T>::value) {
      x.resize(2);
      for (auto& e : x) fill(e);
    } else if constexpr (is_map<T>::value) {
      x.clear();
      for (int i = 0; i < 2; ++i) {
        typename T::key_type k{};
        typename T::mapped_type v{};
        fill(k);
        fill(v);
        x.emplace(std::move(k), std::move(v));
      }
    } else {
      inspect(*this, x);
    }
  }

 private:
  uint64_t next() { return n_++; }
  uint64_t n_;
};

/// A message of type T with every field set to a non-default value.
template <class T>
T filled(uint64_t seed = 1) {
  T x;
  filler f{seed};
  f.fill(x);
  return x;
}

/// Inspector that reads the caf::meta::type_name annotation and counts data fields.
struct type_name_probe {
  using result_type = void;
  static constexpr bool reads_state = true;
  static constexpr bool writes_state = false;
  std::string name;
  size_t fields = 0;

  template <class... Ts>
  void operator()(Ts&&... xs) {
    (grab(xs), ...);
  }

  template <class T>
  void grab(T& x) {
    if constexpr (std::is_same_v<std::decay_t<T>, caf::meta::type_name_t>)
      name = x.value;
    else if constexpr (!protocols::codec::is_annotation_v<T>)
      ++fields;
  }
};

/// The inspect() type name and data field count of T.
template <class T>
type_name_probe probe() {
  T x;
  type_name_probe p;
  inspect(p, x);
  return p;
}

}  // namespace fusion::test
