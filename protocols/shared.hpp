#pragma once
// shared<T>: an immutable value that the messages carrying it within one process share by
// reference instead of copying (a manifest sent to the 16 zones of a placement is built
// once). On the wire, and for CAF's inspectors, it is exactly T.

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>

#include <memory>
#include <type_traits>
#include <utility>

namespace fusion::protocols {

template <class T>
class shared {
 public:
  using value_type = T;

  shared() : ptr_(std::make_shared<const T>()) {}
  /// Implicit, so a T can be assigned where a shared<T> is expected.
  shared(T x) : ptr_(std::make_shared<const T>(std::move(x))) {}  // NOLINT

  const T& operator*() const { return *ptr_; }
  const T* operator->() const { return ptr_.get(); }

  friend bool operator==(const shared& x, const shared& y) {
    return x.ptr_ == y.ptr_ || *x.ptr_ == *y.ptr_;
  }

 private:
  std::shared_ptr<const T> ptr_;
};

template <class T>
struct is_shared : std::false_type {};
template <class T>
struct is_shared<shared<T>> : std::true_type {};

/// CAF's inspectors see the value itself: saved as T, loaded into a fresh T.
template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, shared<T>& x) {
  if constexpr (Inspector::writes_state) {
    auto value = std::make_shared<T>();
    return f(*value, caf::meta::load_callback([&]() -> caf::error {
      x = shared<T>{std::move(*value)};
      return caf::none;
    }));
  } else {
    return f(const_cast<T&>(*x));
  }
}

}  // namespace fusion::protocols
