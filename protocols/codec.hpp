#pragma once
// The msgpack codec of FUSION messages, driven by the same inspect() overloads CAF uses,
// so a message's field list is written once. Wire and storage format:
//
//   envelope = [type_id: uint16, version: uint8, body: [field0, field1, ...]]
//
// Scalars are written as docs/protocols.md "Scalars" says (a double is always msgpack
// float64, whole numbers included). Fields are positional and append-only: a reader fills the
// fields present and leaves later ones at their defaults (older writer), and ignores extra
// trailing fields (newer writer). Decoding untrusted bytes is bounded before anything is
// allocated: the frame size is checked first, a pre-pass rejects any container that claims
// more elements than bytes remain, and msgpack's unpack_limit caps array/map/str/bin sizes and
// nesting depth. Memory is bounded per frame by decode_limits::budget(): the parse tree is
// charged as it is built, and the message it becomes is charged by codec::cost_of<T>()
// before it is built.

#include "protocols/errc.hpp"
#include "protocols/shared.hpp"

#include <caf/expected.hpp>
#include <caf/meta/annotation.hpp>
#include <caf/meta/type_name.hpp>

#include <msgpack.hpp>

#include <algorithm>
#include <bit>
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
  /// Memory budget of one frame: decoding n bytes may request at most
  /// budget_per_byte * n + budget_base bytes (msgpack parse tree plus the decoded message,
  /// as modelled by codec::tree_cost and codec::cost_of; docs/protocols.md).
  size_t budget_per_byte = 64;
  size_t budget_base = 1 << 20;  ///< Covers small frames' fixed costs.

  /// The memory budget of a frame of `frame_size` bytes.
  constexpr size_t budget(size_t frame_size) const {
    return budget_per_byte * frame_size + budget_base;
  }
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

/// Number of data fields (inspect() arguments that are not annotations) of T.
struct field_counter {
  using result_type = void;
  static constexpr bool reads_state = true;
  static constexpr bool writes_state = false;
  uint32_t fields = 0;
  template <class... Ts>
  void operator()(Ts&&...) {
    fields += (0u + ... + (is_annotation_v<Ts> ? 0u : 1u));
  }
};

/// One default-constructed T per type, for inspecting its field types. Never destroyed:
/// GCC 12 at -O3 misreads the inlined destructor of a value-initialized aggregate holding
/// strings as reading uninitialized memory (a false -Wmaybe-uninitialized).
template <class T>
const T& default_value() {
  static const T* x = new T{};
  return *x;
}

template <class T>
uint32_t field_count() {
  static const uint32_t n = [] {
    field_counter c;
    inspect(c, const_cast<T&>(default_value<T>()));
    return c.fields;
  }();
  return n;
}

// ---- Memory model of decoding (docs/protocols.md, "Decode memory budget") ----------------
//
// Upper bounds, in bytes requested from the allocator, of what building a value costs. They
// follow what reader::get does (libstdc++ growth rules) and are checked against a counting
// allocator by tests/unit/protocols/bad_frame_test.cpp.

/// Bytes a std::map node adds to its value (red-black tree header: colour and 3 links).
inline constexpr size_t map_node_overhead = 32;
/// Bytes make_shared adds to T (reference counts and vtable pointer of the control block).
inline constexpr size_t shared_overhead = 16;

/// Heap bytes of a std::string of `len` characters assigned to a short one.
inline size_t string_cost(size_t len) {
  static const size_t local = std::string{}.capacity();
  return len > local ? std::max(len, 2 * local) + 1 : 0;
}

template <class T>
size_t heap_of(const T& x);

/// Inspector summing the heap bytes of an object's fields.
struct heap_counter {
  using result_type = void;
  static constexpr bool reads_state = true;
  static constexpr bool writes_state = false;
  size_t bytes = 0;
  template <class... Ts>
  void operator()(Ts&&... xs) {
    (add(xs), ...);
  }
  template <class T>
  void add(const T& x) {
    if constexpr (!is_annotation_v<T>) bytes += heap_of(x);
  }
};

/// Heap bytes owned by an existing value (its default heap, when default-constructed).
template <class T>
size_t heap_of(const T& x) {
  if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T>) {
    return 0;
  } else if constexpr (std::is_same_v<T, std::string>) {
    return x.capacity() > std::string{}.capacity() ? x.capacity() + 1 : 0;
  } else if constexpr (is_shared<T>::value) {
    return sizeof(typename T::value_type) + shared_overhead + heap_of(*x);
  } else if constexpr (is_vector<T>::value) {
    size_t n = x.capacity() * sizeof(typename T::value_type);
    for (const auto& e : x) n += heap_of(e);
    return n;
  } else if constexpr (is_map<T>::value) {
    size_t n = 0;
    for (const auto& [k, v] : x)
      n += map_node_overhead + sizeof(typename T::value_type) + heap_of(k) + heap_of(v);
    return n;
  } else {
    heap_counter c;
    inspect(c, const_cast<T&>(x));
    return c.bytes;
  }
}

/// Heap bytes of a default-constructed T (e.g. a shared<manifest> allocates its manifest).
template <class T>
size_t default_heap() {
  static const size_t n = heap_of(default_value<T>());
  return n;
}

template <class T>
size_t read_cost(const msgpack::object& obj);

/// Inspector pairing an object's fields with the elements of a msgpack array.
class cost_counter {
 public:
  using result_type = void;
  static constexpr bool reads_state = true;
  static constexpr bool writes_state = false;
  explicit cost_counter(const msgpack::object_array& arr) : arr_(arr) {}
  size_t bytes = 0;
  template <class... Ts>
  void operator()(Ts&&... xs) {
    (add(xs), ...);
  }

 private:
  template <class T>
  void add(const T&) {
    if constexpr (!is_annotation_v<T>) {
      if (idx_ < arr_.size) bytes += read_cost<std::decay_t<T>>(arr_.ptr[idx_]);
      ++idx_;
    }
  }
  const msgpack::object_array& arr_;
  uint32_t idx_ = 0;
};

/// Bytes requested while reading `obj` into an existing (default) T, beyond what T{}
/// already holds. Elements of the wrong msgpack type cost nothing: reading them fails.
template <class T>
size_t read_cost(const msgpack::object& obj) {
  if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T>) {
    return 0;
  } else if constexpr (std::is_same_v<T, std::string>) {
    return obj.type == msgpack::type::STR ? string_cost(obj.via.str.size) : 0;
  } else if constexpr (std::is_same_v<T, blob>) {
    return obj.type == msgpack::type::BIN ? obj.via.bin.size : 0;
  } else if constexpr (is_shared<T>::value) {
    // a fresh value is read, then moved into a new shared block
    using V = typename T::value_type;
    return sizeof(V) + shared_overhead + default_heap<V>() + read_cost<V>(obj);
  } else if constexpr (is_vector<T>::value) {
    using E = typename T::value_type;
    if (obj.type != msgpack::type::ARRAY) return 0;
    const auto& arr = obj.via.array;
    size_t n = size_t{arr.size} * (sizeof(E) + default_heap<E>());
    for (uint32_t i = 0; i < arr.size; ++i) n += read_cost<E>(arr.ptr[i]);
    return n;
  } else if constexpr (is_map<T>::value) {
    using K = typename T::key_type;
    using V = typename T::mapped_type;
    if (obj.type != msgpack::type::MAP) return 0;
    const auto& map = obj.via.map;
    // every pair builds a key and a value, then a node (freed again if the key repeats)
    size_t n = size_t{map.size} * (map_node_overhead + sizeof(typename T::value_type) +
                                   default_heap<K>() + default_heap<V>());
    for (uint32_t i = 0; i < map.size; ++i)
      n += read_cost<K>(map.ptr[i].key) + read_cost<V>(map.ptr[i].val);
    return n;
  } else {
    if (obj.type != msgpack::type::ARRAY) return 0;
    cost_counter c{obj.via.array};  // only the fields' types are used
    inspect(c, const_cast<T&>(default_value<T>()));
    return c.bytes;
  }
}

/// Bytes decoding the body `obj` into a message T requests: the message, its default heap,
/// what reading the fields adds, and the caf::message that carries it.
template <class T>
size_t cost_of(const msgpack::object& obj) {
  return 2 * sizeof(T) + 64 + default_heap<T>() + read_cost<T>(obj);
}

/// Bytes the msgpack parse tree of a frame requests from its zone, given the bytes its
/// objects and copied strings take: chunks grow by doubling from 8 KiB, so at most twice
/// that plus one chunk.
inline size_t tree_cost(size_t raw) {
  return 2 * raw + 16 * 1024;
}

/// CAF-style inspector that packs an object's fields as a msgpack array.
class writer {
 public:
  using result_type = void;
  static constexpr bool reads_state = true;
  static constexpr bool writes_state = false;

  explicit writer(msgpack::sbuffer& out) : out_(out), pk_(out) {}

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
    } else if constexpr (std::is_floating_point_v<T>) {
      put_float64(static_cast<double>(x));
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
  // Always msgpack float64 (0xcb + 8 bytes big-endian), even for whole numbers: msgpack-cxx's
  // pack_double writes 2.0 as the integer 2 and -0.0 as 0 (docs/protocols.md, "Scalars").
  void put_float64(double x) {
    const auto bits = std::bit_cast<uint64_t>(x);
    char buf[9];
    buf[0] = static_cast<char>(0xcbu);
    for (int i = 0; i < 8; ++i) buf[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
    out_.write(buf, sizeof buf);
  }

  msgpack::sbuffer& out_;
  msgpack::packer<msgpack::sbuffer> pk_;
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

/// Packs `body` as a bare array of fields (no envelope) at the end of `out`.
template <class T>
void pack_body(msgpack::sbuffer& out, const T& body) {
  writer w{out};
  w.put(body);
}

/// Parses `size` untrusted bytes into `out`, allocating in `zone`, enforcing `lim`: frame
/// size, container counts (against the limits and the bytes that remain), nesting depth,
/// string/binary lengths, and the memory budget (the tree's cost, tree_cost(), is charged
/// before each container or string is allocated; it is stored in `*tree_bytes` if given).
/// Rejects trailing bytes. One pass; never throws.
caf::error parse_bounded(const char* data, size_t size, msgpack::zone& zone, msgpack::object& out,
                         const decode_limits& lim = wire_limits, size_t* tree_bytes = nullptr);

/// The decode_budget_exceeded error for a frame of `size` bytes needing `needed` bytes.
caf::error over_budget(size_t size, size_t needed, const decode_limits& lim);

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
