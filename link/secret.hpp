#pragma once
// Secret values that wipe themselves: key material held by the link library lives in a
// `wiped<T>`, zeroed with sodium_memzero when it dies, is moved from, or is wiped on purpose.

#include <sodium.h>

#include <array>
#include <cstddef>
#include <type_traits>

namespace fusion::link {

/// A trivially copyable secret (a key, a secretstream state) that is zeroed on destruction,
/// on wipe(), and in the source of a move. Not copyable: a secret exists once.
template <class T>
class wiped {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  wiped() noexcept = default;
  wiped(const wiped&) = delete;
  wiped& operator=(const wiped&) = delete;
  wiped(wiped&& other) noexcept : value_(other.value_) { other.wipe(); }
  wiped& operator=(wiped&& other) noexcept {
    if (this != &other) {
      value_ = other.value_;
      other.wipe();
    }
    return *this;
  }
  ~wiped() { wipe(); }

  /// Zeroes the value now.
  void wipe() noexcept { sodium_memzero(&value_, sizeof(T)); }
  /// True if every byte is zero (tests check that secrets are gone).
  bool is_zero() const noexcept {
    return sodium_is_zero(reinterpret_cast<const unsigned char*>(&value_), sizeof(T)) == 1;
  }
  T& get() noexcept { return value_; }
  const T& get() const noexcept { return value_; }

 private:
  T value_{};
};

/// N secret bytes.
template <std::size_t N>
class secret_bytes : public wiped<std::array<unsigned char, N>> {
 public:
  unsigned char* data() noexcept { return this->get().data(); }
  const unsigned char* data() const noexcept { return this->get().data(); }
  static constexpr std::size_t size() noexcept { return N; }
};

/// Ensures libsodium is initialised (once per process; thread-safe). False if it cannot be,
/// e.g. no usable source of randomness: then nothing in the link library may be used.
bool sodium_ready() noexcept;

}  // namespace fusion::link
