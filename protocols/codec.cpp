#include "protocols/codec.hpp"

namespace fusion::protocols::codec {

namespace {

const char* type_text(msgpack::type::object_type t) {
  switch (t) {
    case msgpack::type::NIL: return "nil";
    case msgpack::type::BOOLEAN: return "a boolean";
    case msgpack::type::POSITIVE_INTEGER:
    case msgpack::type::NEGATIVE_INTEGER: return "an integer";
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: return "a float";
    case msgpack::type::STR: return "a string";
    case msgpack::type::BIN: return "binary data";
    case msgpack::type::ARRAY: return "an array";
    case msgpack::type::MAP: return "a map";
    case msgpack::type::EXT: return "an extension";
  }
  return "an unknown type";
}

// Walks the frame without building objects and rejects any container that claims more
// elements than bytes remain (each element needs at least one byte), before msgpack's
// object builder would reserve memory for it.
struct claim_check : msgpack::null_visitor {
  claim_check(size_t len, const decode_limits& lim) : budget(len), lim(lim) {}
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
    return enter() && claim(n);
  }
  bool end_array() {
    --depth;
    return true;
  }
  bool start_map(uint32_t n) {
    if (n > lim.max_map) {
      why = "map of " + std::to_string(n) + " pairs exceeds the limit " +
            std::to_string(lim.max_map);
      too_large = true;
      return false;
    }
    return enter() && claim(uint64_t{n} * 2);
  }
  bool end_map() {
    --depth;
    return true;
  }
  bool visit_ext(const char*, uint32_t) {
    why = "msgpack extension types are not allowed";
    return false;
  }
  void parse_error(size_t, size_t) { why = "not valid msgpack"; }
  void insufficient_bytes(size_t, size_t) { why = "truncated frame"; }

  size_t budget;
  const decode_limits& lim;
  uint32_t depth = 0;
  bool too_large = false;
  std::string why;
};

}  // namespace

void reader::fail(std::string what, const msgpack::object& obj) {
  throw shape_error{std::string{type_name_} + " field #" + std::to_string(field_) + ": " + what +
                    ", found " + type_text(obj.type)};
}

caf::error unpack_bounded(const char* data, size_t size, msgpack::object_handle& out,
                          const decode_limits& lim) {
  if (size > lim.max_frame)
    return make_error(errc::frame_too_large, "frame of " + std::to_string(size) +
                                                 " bytes exceeds the limit of " +
                                                 std::to_string(lim.max_frame));
  if (size == 0)
    return make_error(errc::malformed_frame, "empty frame");
  claim_check check{size, lim};
  size_t off = 0;
  bool parsed = false;
  try {
    parsed = msgpack::parse(data, size, off, check);
  } catch (const std::exception& e) {
    // msgpack's parser reports str/bin lengths above its own limits by throwing
    return make_error(errc::malformed_frame, std::string{"not valid msgpack: "} + e.what());
  }
  if (!parsed)
    return make_error(check.too_large ? errc::frame_too_large : errc::malformed_frame,
                      check.why.empty() ? "not valid msgpack" : check.why);
  if (off != size)
    return make_error(errc::malformed_frame,
                      std::to_string(size - off) + " trailing bytes after the message");
  const msgpack::unpack_limit limit(lim.max_array, lim.max_map, lim.max_str, lim.max_bin, 0,
                                    lim.max_depth);
  off = 0;
  try {
    out = msgpack::unpack(data, size, off, nullptr, nullptr, limit);
  } catch (const msgpack::depth_size_overflow&) {
    return make_error(errc::frame_too_large, "nesting deeper than " + std::to_string(lim.max_depth));
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
  return caf::none;
}

}  // namespace fusion::protocols::codec
