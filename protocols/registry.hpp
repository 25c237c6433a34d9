#pragma once
// The message registry: knows every FUSION message by stable type id and name, and can
// encode, decode and print any of them. The wire, the durable store, the logs and the
// shell all go through it, so a message is described in exactly one place.

#include "protocols/codec.hpp"
#include "protocols/common.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>
#include <caf/message.hpp>

#include <string>
#include <string_view>
#include <typeindex>
#include <vector>

namespace fusion::protocols {

/// What the envelope and the parse said about a body, for the checks of read_message.
struct body_context {
  uint8_t version;           ///< The envelope's version.
  size_t frame_size;         ///< Bytes of the whole frame.
  size_t tree_bytes;         ///< Memory the parse tree took (codec::tree_cost).
  const decode_limits* lim;  ///< The limits the frame is decoded under.
};

/// One registered message type.
struct message_entry {
  message_meta meta;
  std::type_index type;
  /// Packs element 0 of `msg` (which must be of this type) as an envelope.
  void (*encode)(const caf::message& msg, msgpack::sbuffer& out);
  /// Converts an envelope body into a message holding this type (checks of `ctx` applied).
  caf::expected<caf::message> (*decode)(const msgpack::object& body, const body_context& ctx);
};

/// Registry of every message type in protocols/all_messages.hpp.
class message_registry {
 public:
  /// The process-wide registry (immutable after construction).
  static const message_registry& instance();

  /// Entry by type id, name or C++ type; nullptr if unknown.
  const message_entry* find(uint16_t type_id) const;
  const message_entry* find(std::string_view name) const;
  const message_entry* find(std::type_index type) const;

  /// All entries, ordered by type id.
  const std::vector<message_entry>& entries() const { return entries_; }

  /// Encodes a one-element message holding a registered type as an envelope.
  caf::expected<std::vector<char>> encode(const caf::message& msg) const;

  /// Decodes an untrusted envelope into a message, within `lim`. Never throws.
  caf::expected<caf::message> decode(const char* data, size_t size,
                                     const decode_limits& lim = wire_limits) const;

  /// Renders a message for logs and the shell: "register_service(...)".
  std::string print(const caf::message& msg) const;

  /// Registers every message type with CAF (names for logs and remoting) and the
  /// fusion::errc error category: the one call that sets up a CAF config for FUSION.
  void add_message_types(caf::actor_system_config& cfg) const;

 private:
  message_registry();
  std::vector<message_entry> entries_;
};

/// Encodes `x` as an envelope [type_id, version, body] into `out` (fast, typed path).
template <class T>
void encode(const T& x, msgpack::sbuffer& out) {
  msgpack::packer<msgpack::sbuffer> pk{out};
  pk.pack_array(3);
  pk.pack(T::meta.type_id);
  pk.pack(T::meta.version);
  codec::pack_body(out, x);
}

/// Checks an envelope header and returns its body; errors name what is wrong.
caf::expected<const msgpack::object*> open_envelope(const msgpack::object& env,
                                                    const message_meta* expected = nullptr);

/// The error for a body with fewer fields than `meta` requires.
caf::error too_few_fields(const message_meta& meta, size_t got);

/// The error for a body of `version` carrying more fields (`got`) than this node's version
/// of the message has (`fields`) although its version is not newer; none otherwise.
caf::error check_version(const message_meta& meta, uint8_t version, uint32_t fields, size_t got);

/// Converts an envelope body into T, checking T's required field count and, with `ctx`, the
/// envelope version against T's and the memory budget (before anything is built).
template <class T>
caf::expected<T> read_message(const msgpack::object& body, const body_context* ctx = nullptr) {
  if (body.type == msgpack::type::ARRAY && body.via.array.size < T::meta.min_fields)
    return too_few_fields(T::meta, body.via.array.size);
  if (ctx != nullptr) {
    if (body.type == msgpack::type::ARRAY)
      if (auto err =
              check_version(T::meta, ctx->version, codec::field_count<T>(), body.via.array.size))
        return err;
    const size_t needed = ctx->tree_bytes + codec::cost_of<T>(body);
    if (needed > ctx->lim->budget(ctx->frame_size))
      return codec::over_budget(ctx->frame_size, needed, *ctx->lim);
  }
  T result;
  if (auto err = codec::read_body(body, result)) return err;
  return result;
}

/// Decodes an untrusted envelope of the known type T (typed path).
template <class T>
caf::expected<T> decode(const char* data, size_t size, const decode_limits& lim = wire_limits) {
  msgpack::object obj;
  size_t tree = 0;
  if (auto err = codec::parse_bounded(data, size, codec::scratch_zone(), obj, lim, &tree))
    return err;
  auto body = open_envelope(obj, &T::meta);
  if (!body) return body.error();
  const body_context ctx{static_cast<uint8_t>(obj.via.array.ptr[1].via.u64), size, tree, &lim};
  return read_message<T>(**body, &ctx);
}

}  // namespace fusion::protocols
