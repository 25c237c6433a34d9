#include "protocols/registry.hpp"

#include "protocols/all_messages.hpp"

#include <caf/deep_to_string.hpp>
#include <caf/make_message.hpp>

#include <algorithm>

namespace fusion::protocols {

namespace {

template <class T>
message_entry make_entry() {
  return message_entry{
      T::meta,
      std::type_index{typeid(T)},
      [](const caf::message& msg, msgpack::sbuffer& out) { encode(msg.get_as<T>(0), out); },
      [](const msgpack::object& body, const body_context& ctx) -> caf::expected<caf::message> {
        auto x = read_message<T>(body, &ctx);
        if (!x) return x.error();
        return caf::make_message(std::move(*x));
      },
  };
}

template <class... Ts>
std::vector<message_entry> make_entries(type_list<Ts...>) {
  return {make_entry<Ts>()...};
}

template <class... Ts>
void add_types(caf::actor_system_config& cfg, type_list<Ts...>) {
  (cfg.add_message_type<Ts>(Ts::meta.name), ...);
}

}  // namespace

message_registry::message_registry() : entries_(make_entries(all_messages{})) {
  std::sort(entries_.begin(), entries_.end(),
            [](const auto& x, const auto& y) { return x.meta.type_id < y.meta.type_id; });
}

const message_registry& message_registry::instance() {
  static const message_registry registry;
  return registry;
}

const message_entry* message_registry::find(uint16_t type_id) const {
  auto i = std::lower_bound(entries_.begin(), entries_.end(), type_id,
                            [](const auto& e, uint16_t id) { return e.meta.type_id < id; });
  return i != entries_.end() && i->meta.type_id == type_id ? &*i : nullptr;
}

const message_entry* message_registry::find(std::string_view name) const {
  for (const auto& e : entries_)
    if (name == e.meta.name) return &e;
  return nullptr;
}

const message_entry* message_registry::find(std::type_index type) const {
  for (const auto& e : entries_)
    if (e.type == type) return &e;
  return nullptr;
}

caf::expected<std::vector<char>> message_registry::encode(const caf::message& msg) const {
  if (msg.size() != 1)
    return make_error(errc::unknown_message_type,
                      "only single-element messages can be encoded, got " +
                          std::to_string(msg.size()) + " elements");
  auto rtti = msg.type(0);
  const auto* entry = rtti.second ? find(std::type_index{*rtti.second}) : nullptr;
  if (entry == nullptr)
    return make_error(errc::unknown_message_type,
                      "not a registered FUSION message: " + caf::to_string(msg));
  msgpack::sbuffer buf;
  entry->encode(msg, buf);
  return std::vector<char>(buf.data(), buf.data() + buf.size());
}

caf::error too_few_fields(const message_meta& meta, size_t got) {
  return make_error(errc::malformed_frame, std::string{meta.name} + " needs at least " +
                                               std::to_string(meta.min_fields) + " fields, got " +
                                               std::to_string(got));
}

caf::error check_version(const message_meta& meta, uint8_t version, uint32_t fields, size_t got) {
  if (version > meta.version || got <= fields) return caf::none;
  return make_error(errc::unsupported_version,
                    std::string{meta.name} + " version " + std::to_string(version) +
                        " has at most " + std::to_string(fields) +
                        " fields, but the frame carries " + std::to_string(got) +
                        " (this node reads version " + std::to_string(meta.version) +
                        "); a writer that appends fields must raise the version");
}

caf::expected<const msgpack::object*> open_envelope(const msgpack::object& env,
                                                    const message_meta* expected) {
  if (env.type != msgpack::type::ARRAY || env.via.array.size != 3)
    return make_error(errc::malformed_frame,
                      "an envelope is an array [type_id, version, body] of 3 elements");
  const auto& id = env.via.array.ptr[0];
  const auto& ver = env.via.array.ptr[1];
  const auto& body = env.via.array.ptr[2];
  if (id.type != msgpack::type::POSITIVE_INTEGER || id.via.u64 > 0xFFFF)
    return make_error(errc::malformed_frame, "envelope type_id must be an unsigned 16-bit integer");
  if (ver.type != msgpack::type::POSITIVE_INTEGER || ver.via.u64 == 0 || ver.via.u64 > 0xFF)
    return make_error(errc::unsupported_version,
                      "envelope version must be an integer from 1 to 255");
  if (body.type != msgpack::type::ARRAY)
    return make_error(errc::malformed_frame, "envelope body must be an array of fields");
  if (expected != nullptr && id.via.u64 != expected->type_id)
    return make_error(errc::unknown_message_type,
                      "expected " + std::string{expected->name} + " (type id " +
                          std::to_string(expected->type_id) + "), got type id " +
                          std::to_string(id.via.u64));
  return &body;
}

caf::expected<caf::message> message_registry::decode(const char* data, size_t size,
                                                     const decode_limits& lim) const {
  msgpack::object obj;
  size_t tree = 0;
  if (auto err = codec::parse_bounded(data, size, codec::scratch_zone(), obj, lim, &tree))
    return err;
  auto body = open_envelope(obj);
  if (!body) return body.error();
  auto id = static_cast<uint16_t>(obj.via.array.ptr[0].via.u64);
  const auto* entry = find(id);
  if (entry == nullptr)
    return make_error(errc::unknown_message_type,
                      "type id " + std::to_string(id) + " is not a known FUSION message");
  const body_context ctx{static_cast<uint8_t>(obj.via.array.ptr[1].via.u64), size, tree, &lim};
  return entry->decode(**body, ctx);
}

std::string message_registry::print(const caf::message& msg) const {
  return caf::to_string(msg);
}

void message_registry::add_message_types(caf::actor_system_config& cfg) const {
  add_types(cfg, all_messages{});
  add_error_category(cfg);
}

}  // namespace fusion::protocols
