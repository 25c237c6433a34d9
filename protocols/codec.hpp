#pragma once
// The msgpack codec of FUSION messages, driven by the same inspect() overloads CAF uses,
// so a message's field list is written once. Wire and storage format:
//
//   envelope = [type_id: uint16, version: uint8, body: [field0, field1, ...]]
//
// Fields are positional and append-only: a reader fills the fields present and leaves
// later ones at their defaults (older writer), and ignores extra trailing fields (newer
// writer). Decoding untrusted bytes is bounded before anything is allocated: the frame size
// is checked first, a pre-pass rejects any container that claims more elements than bytes
// remain, and msgpack's unpack_limit caps array/map/str/bin sizes and nesting depth.

#include "protocols/errc.hpp"
#include "protocols/shared.hpp"

#include <caf/expected.hpp>
#include <caf/meta/annotation.hpp>
#include <caf/meta/type_name.hpp>

#include <msgpack.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace fusion::protocols {

/// Opaque bytes (the spec's "Blob"): service parameters, signatures, keys.
using blob = std::vector<uint8_t>;

/// Bounds applied to untrusted input before and while it is parsed.
struct decode_limits {
  size_t max_frame = 1 << 20;      ///< Largest accepted frame, in bytes.
  uint32_t max_array = 16 * 1024;  ///< Largest array element count.
  uint32_t max_map = 1024;         ///< Largest map pair count.
  uint32_t max_str = 256 * 1024;   ///< Longest string, in bytes (manifests travel as text).
  uint32_t max_bin = 1 << 20;      ///< Longest binary blob, in bytes.
  uint32_t max_depth = 12;         ///< Deepest container nesting.
};

/// Limits for frames from peers and records from disk.
inline constexpr decode_limits wire_limits{};

namespace codec {

/// Thrown inside the decoder only; decode() turns it into a caf::error.
struct shape_error {
  std::string what;
};

template <class T>
inline constexpr bool is_annotation_v = caf::meta::is_annotation<std::decay_t<T>>::value;

template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};

template <class T>
struct is_map : std::false_type {};
template <class K, class V, class C, class A>
struct is_map<std::map<K, V, C, A>> : std::true_type {};
template <class K, class V, class H, class E, class A>
struct is_map<std::unordered_map<K, V, H, E, A>> : std::true_type {};

/// CAF-style inspector that packs an object's fields as a msgpack array.
class writer {
 public:
  using result_type = void;
  static constexpr bool reads_state = true;
  static constexpr bool writes_state = false;

  explicit writer(msgpack::packer<msgpack::sbuffer>& pk) : pk_(pk) {}

  template <class... Ts>
  void operator()(Ts&&... xs) {
    constexpr uint32_t n = (0u + ... + (is_annotation_v<Ts> ? 0u : 1u));
    pk_.pack_array(n);
    (put(xs), ...);
  }

  /// Packs one value (a field, an element, a whole message body).
  template <class T>
  void put(const T& x) {
    if constexpr (is_annotation_v<T>) {
      // type names and other CAF annotations are not on the wire
    } else if constexpr (std::is_same_v<T, bool>) {
      x ? pk_.pack_true() : pk_.pack_false();
    } else if constexpr (std::is_enum_v<T>) {
      pk_.pack(static_cast<std::underlying_type_t<T>>(x));
    } else if constexpr (std::is_arithmetic_v<T> || std::is_same_v<T, std::string>) {
      pk_.pack(x);
    } else if constexpr (std::is_same_v<T, blob>) {
      pk_.pack_bin(static_cast<uint32_t>(x.size()));
      pk_.pack_bin_body(reinterpret_cast<const char*>(x.data()), static_cast<uint32_t>(x.size()));
    } else if constexpr (is_shared<T>::value) {
      put(*x);  // on the wire, the value itself
    } else if constexpr (is_vector<T>::value) {
      pk_.pack_array(static_cast<uint32_t>(x.size()));
      for (const auto& e : x) put(e);
    } else if constexpr (is_map<T>::value) {
      pk_.pack_map(static_cast<uint32_t>(x.size()));
      for (const auto& [k, v] : x) {
        put(k);
        put(v);
      }
    } else {
      inspect(*this, const_cast<T&>(x));  // nested message type; the writer only reads
    }
  }

 private:
  msgpack::packer<msgpack::sbuffer>& pk_;
};

/// CAF-style inspector that fills an object's fields from a msgpack array.
class reader {
 public:
  using result_type = void;
  static constexpr bool reads_state = false;
  static constexpr bool writes_state = true;

  explicit reader(const msgpack::object& obj) : cur_(&obj) {}

  template <class... Ts>
  void operator()(Ts&&... xs) {
    if (cur_->type != msgpack::type::ARRAY) fail("expected an array of fields", *cur_);
    const auto arr = cur_->via.array;
    uint32_t idx = 0;
    (get_field(arr, idx, xs), ...);
  }

  /// Reads one value from `obj` into `x`.
  template <class T>
  void get(const msgpack::object& obj, T& x) {
    if constexpr (std::is_same_v<T, bool>) {
      if (obj.type != msgpack::type::BOOLEAN) fail("expected a boolean", obj);
      x = obj.via.boolean;
    } else if constexpr (std::is_enum_v<T>) {
      x = static_cast<T>(as<std::underlying_type_t<T>>(obj, "an enum value"));
    } else if constexpr (std::is_arithmetic_v<T>) {
      x = as<T>(obj, std::is_floating_point_v<T> ? "a number" : "an integer in range");
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (obj.type != msgpack::type::STR) fail("expected a string", obj);
      x.assign(obj.via.str.ptr, obj.via.str.size);
    } else if constexpr (std::is_same_v<T, blob>) {
      if (obj.type != msgpack::type::BIN) fail("expected binary data", obj);
      auto p = reinterpret_cast<const uint8_t*>(obj.via.bin.ptr);
      x.assign(p, p + obj.via.bin.size);
    } else if constexpr (is_shared<T>::value) {
      typename T::value_type value{};
      get(obj, value);
      x = T{std::move(value)};
    } else if constexpr (is_vector<T>::value) {
      if (obj.type != msgpack::type::ARRAY) fail("expected an array", obj);
      x.clear();
      x.resize(obj.via.array.size);
      for (uint32_t i = 0; i < obj.via.array.size; ++i) get(obj.via.array.ptr[i], x[i]);
    } else if constexpr (is_map<T>::value) {
      if (obj.type != msgpack::type::MAP) fail("expected a map", obj);
      x.clear();
      for (uint32_t i = 0; i < obj.via.map.size; ++i) {
        typename T::key_type k{};
        typename T::mapped_type v{};
        get(obj.via.map.ptr[i].key, k);
        get(obj.via.map.ptr[i].val, v);
        x.emplace(std::move(k), std::move(v));
      }
    } else {
      // nested struct: errors inside it are prefixed with where it sits in the outer one
      if (obj.type != msgpack::type::ARRAY) fail("expected an array of fields", obj);
      const auto saved = cur_;
      const auto saved_name = type_name_;
      const auto saved_field = field_;
      cur_ = &obj;
      try {
        inspect(*this, x);
      } catch (shape_error& e) {
        e.what = std::string{saved_name} + " field #" + std::to_string(saved_field) + ": " + e.what;
        throw;
      }
      cur_ = saved;
      type_name_ = saved_name;
      field_ = saved_field;
    }
  }

 private:
  template <class T>
  void get_field(const msgpack::object_array& arr, uint32_t& idx, T& x) {
    if constexpr (is_annotation_v<T>) {
      if constexpr (std::is_same_v<std::decay_t<T>, caf::meta::type_name_t>) type_name_ = x.value;
    } else if (idx < arr.size) {
      // absent trailing fields keep their defaults (frame from an older writer)
      field_ = idx;
      get(arr.ptr[idx++], x);
    }
  }

  template <class T>
  T as(const msgpack::object& obj, const char* expected) {
    try {
      return obj.as<T>();
    } catch (const msgpack::type_error&) {
      fail(std::string{"expected "} + expected, obj);
    }
  }

  [[noreturn]] void fail(std::string what, const msgpack::object& obj);

  const msgpack::object* cur_;
  const char* type_name_ = "message";
  uint32_t field_ = 0;
};

/// Packs `body` as a bare array of fields (no envelope).
template <class T>
void pack_body(msgpack::packer<msgpack::sbuffer>& pk, const T& body) {
  writer w{pk};
  w.put(body);
}

/// Parses `size` untrusted bytes into `out`, allocating in `zone`, enforcing `lim`: frame
/// size, container counts (against the limits and the bytes that remain), nesting depth,
/// string/binary lengths. Rejects trailing bytes. One pass; never throws.
caf::error parse_bounded(const char* data, size_t size, msgpack::zone& zone, msgpack::object& out,
                         const decode_limits& lim = wire_limits);

/// This thread's reusable zone for decoding, emptied: objects parsed into it live until the
/// next call on this thread (decode paths copy them out at once).
msgpack::zone& scratch_zone();

/// Parses `size` untrusted bytes into `out` (which owns its memory), enforcing `lim`.
/// Rejects trailing bytes.
caf::error unpack_bounded(const char* data, size_t size, msgpack::object_handle& out,
                          const decode_limits& lim = wire_limits);

/// Fills `x` from an already parsed msgpack object; shape errors become malformed_frame.
template <class T>
caf::error read_body(const msgpack::object& obj, T& x) {
  try {
    reader r{obj};
    inspect(r, x);
    return caf::none;
  } catch (const shape_error& e) {
    return make_error(errc::malformed_frame, e.what);
  }
}

}  // namespace codec
}  // namespace fusion::protocols
