#include "protocols/codec.hpp"

namespace fusion::protocols::codec {

namespace {

const char* type_text(msgpack::type::object_type t) {
  switch (t) {
    case msgpack::type::NIL:
      return "nil";
    case msgpack::type::BOOLEAN:
      return "a boolean";
    case msgpack::type::POSITIVE_INTEGER:
    case msgpack::type::NEGATIVE_INTEGER:
      return "an integer";
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return "a float";
    case msgpack::type::STR:
      return "a string";
    case msgpack::type::BIN:
      return "binary data";
    case msgpack::type::ARRAY:
      return "an array";
    case msgpack::type::MAP:
      return "a map";
    case msgpack::type::EXT:
      return "an extension";
  }
  return "an unknown type";
}

// Builds the msgpack object tree in one pass, but checks every container before msgpack
// reserves memory for it: nesting depth, the count limits, and that it does not claim more
// elements than bytes remain (each element needs at least one byte). So 5 bytes claiming
// 2^32 elements are refused before anything is allocated.
struct bounded_builder : msgpack::detail::create_object_visitor {
  using base = msgpack::detail::create_object_visitor;

  bounded_builder(size_t len, const decode_limits& lim, const msgpack::unpack_limit& ul)
      : base(nullptr, nullptr, ul), budget(len), lim(lim), memory(lim.budget(len)) {}

  // Charges `bytes` more of the parse tree against the memory budget, before msgpack
  // allocates them in the zone.
  bool charge(uint64_t bytes) {
    raw += bytes;
    if (tree_cost(raw) > memory) {
      why = "the parse tree needs more than " + std::to_string(memory) + " bytes";
      over_budget = true;
      return false;
    }
    return true;
  }

  bool claim(uint64_t n) {
    if (n > budget) {
      why = "a container claims " + std::to_string(n) + " elements but only " +
            std::to_string(budget) + " bytes remain";
      return false;
    }
    budget -= n;
    return true;
  }
  bool enter() {
    if (++depth > lim.max_depth) {
      why = "nesting deeper than " + std::to_string(lim.max_depth);
      too_large = true;
      return false;
    }
    return true;
  }
  bool start_array(uint32_t n) {
    if (n > lim.max_array) {
      why = "array of " + std::to_string(n) + " elements exceeds the limit " +
            std::to_string(lim.max_array);
      too_large = true;
      return false;
    }
    return enter() && claim(n) && charge(uint64_t{n} * sizeof(msgpack::object)) &&
           base::start_array(n);
  }
  bool end_array() {
    --depth;
    return base::end_array();
  }
  bool start_map(uint32_t n) {
    if (n > lim.max_map) {
      why =
          "map of " + std::to_string(n) + " pairs exceeds the limit " + std::to_string(lim.max_map);
      too_large = true;
      return false;
    }
    return enter() && claim(uint64_t{n} * 2) && charge(uint64_t{n} * sizeof(msgpack::object_kv)) &&
           base::start_map(n);
  }
  bool end_map() {
    --depth;
    return base::end_map();
  }
  bool visit_str(const char* v, uint32_t size) { return charge(size) && base::visit_str(v, size); }
  bool visit_bin(const char* v, uint32_t size) { return charge(size) && base::visit_bin(v, size); }
  bool visit_ext(const char*, uint32_t) {
    why = "msgpack extension types are not allowed";
    return false;
  }
  void parse_error(size_t, size_t) { why = "not valid msgpack"; }
  void insufficient_bytes(size_t, size_t) { why = "truncated frame"; }

  size_t budget;
  const decode_limits& lim;
  size_t memory;
  uint64_t raw = 0;  // bytes of msgpack objects and copied strings requested so far
  uint32_t depth = 0;
  bool too_large = false;
  bool over_budget = false;
  std::string why;
};

}  // namespace

void reader::fail(std::string what, const msgpack::object& obj) {
  throw shape_error{std::string{type_name_} + " field #" + std::to_string(field_) + ": " + what +
                    ", found " + type_text(obj.type)};
}

caf::error over_budget(size_t size, size_t needed, const decode_limits& lim) {
  return make_error(errc::decode_budget_exceeded,
                    "decoding this " + std::to_string(size) + "-byte frame needs " +
                        std::to_string(needed) + " bytes, over its budget of " +
                        std::to_string(lim.budget(size)) + " (" +
                        std::to_string(lim.budget_per_byte) + " x frame size + " +
                        std::to_string(lim.budget_base) + "); send fewer or fuller elements");
}

caf::error parse_bounded(const char* data, size_t size, msgpack::zone& zone, msgpack::object& out,
                         const decode_limits& lim, size_t* tree_bytes) {
  if (size > lim.max_frame)
    return make_error(errc::frame_too_large, "frame of " + std::to_string(size) +
                                                 " bytes exceeds the limit of " +
                                                 std::to_string(lim.max_frame));
  if (size == 0) return make_error(errc::malformed_frame, "empty frame");
  const msgpack::unpack_limit limit(lim.max_array, lim.max_map, lim.max_str, lim.max_bin, 0,
                                    lim.max_depth);
  bounded_builder builder{size, lim, limit};
  builder.set_zone(zone);
  bool referenced = false;
  builder.set_referenced(referenced);
  size_t off = 0;
  bool parsed = false;
  try {
    parsed = msgpack::parse(data, size, off, builder);
  } catch (const msgpack::depth_size_overflow&) {
    return make_error(errc::frame_too_large,
                      "nesting deeper than " + std::to_string(lim.max_depth));
  } catch (const msgpack::str_size_overflow&) {
    return make_error(errc::frame_too_large,
                      "string longer than " + std::to_string(lim.max_str) + " bytes");
  } catch (const msgpack::bin_size_overflow&) {
    return make_error(errc::frame_too_large,
                      "binary field longer than " + std::to_string(lim.max_bin) + " bytes");
  } catch (const msgpack::size_overflow& e) {
    return make_error(errc::frame_too_large, std::string{"container too large: "} + e.what());
  } catch (const std::bad_alloc&) {
    return make_error(errc::frame_too_large, "frame needs more memory than is available");
  } catch (const std::exception& e) {
    return make_error(errc::malformed_frame, std::string{"not valid msgpack: "} + e.what());
  }
  if (!parsed && builder.over_budget) return over_budget(size, tree_cost(builder.raw), lim);
  if (!parsed)
    return make_error(builder.too_large ? errc::frame_too_large : errc::malformed_frame,
                      builder.why.empty() ? "not valid msgpack" : builder.why);
  if (off != size)
    return make_error(errc::malformed_frame,
                      std::to_string(size - off) + " trailing bytes after the message");
  out = builder.data();
  if (tree_bytes != nullptr) *tree_bytes = tree_cost(builder.raw);
  return caf::none;
}

caf::error unpack_bounded(const char* data, size_t size, msgpack::object_handle& out,
                          const decode_limits& lim) {
  auto zone = std::make_unique<msgpack::zone>();
  msgpack::object obj;
  if (auto err = parse_bounded(data, size, *zone, obj, lim)) return err;
  out = msgpack::object_handle{obj, std::move(zone)};
  return caf::none;
}

msgpack::zone& scratch_zone() {
  thread_local msgpack::zone zone;
  zone.clear();
  return zone;
}

}  // namespace fusion::protocols::codec
