#include "link/rpc.hpp"

#include "protocols/auction.hpp"
#include "protocols/codec.hpp"
#include "protocols/dc_management.hpp"
#include "protocols/errc.hpp"
#include "protocols/gossip.hpp"
#include "protocols/inter_domain_routing.hpp"
#include "protocols/inter_service.hpp"
#include "protocols/orchestration_management.hpp"
#include "protocols/resource_management.hpp"
#include "protocols/routing_management.hpp"
#include "protocols/service_lifecycle.hpp"
#include "protocols/slots.hpp"
#include "protocols/zone_management.hpp"
#include "protocols/zone_orchestration.hpp"

#include <caf/atom.hpp>
#include <caf/replies_to.hpp>

#include <map>
#include <msgpack.hpp>

namespace fusion::link {

namespace {

// Every typed interface whose requests may cross a link.
using remote_interfaces = caf::detail::type_list<
    protocols::registrar_actor, protocols::deployment_actor, protocols::placement_actor,
    protocols::zone_registry_actor, protocols::zone_manager_actor, protocols::evaluator_actor,
    protocols::dc_management_actor, protocols::service_lifecycle_actor, protocols::gossip_actor,
    protocols::inter_domain_actor, protocols::inter_service_actor,
    protocols::resource_management_actor, protocols::router_configuration_actor,
    protocols::routing_manager_actor, protocols::slot_sink_actor, protocols::auctioneer_actor>;

template <class In, class Out>
void forward_one(caf::event_based_actor* self, const caf::actor& target, caf::message msg,
                 caf::duration timeout, reply_handler done) {
  if constexpr (std::is_void_v<Out>) {
    self->send(target, std::move(msg));
  } else {
    self->request(target, timeout, std::move(msg))
        .then([done](Out& x) { done(caf::make_message(std::move(x))); },
              [done](caf::error& e) { done(std::move(e)); });
  }
}

template <class Sig>
struct signature;

template <class In, class Out>
struct signature<caf::typed_mpi<caf::detail::type_list<In>, caf::output_tuple<Out>>> {
  static void add(std::map<uint16_t, rpc_entry>& table) {
    if constexpr (requires { In::meta; }) {
      rpc_entry e;
      e.request_type = In::meta.type_id;
      if constexpr (!std::is_void_v<Out>) e.reply_type = Out::meta.type_id;
      e.forward = &forward_one<In, Out>;
      if constexpr (requires(In & x) { x.caller; })
        e.caller = [](caf::message& msg) { return &msg.get_mutable_as<In>(0).caller; };
      table.emplace(e.request_type, e);  // one reply type per request: checked in tests
    }
  }
};

template <class... Sigs>
void add_interface(std::map<uint16_t, rpc_entry>& table, caf::typed_actor<Sigs...>*) {
  (signature<Sigs>::add(table), ...);
}

template <class... Interfaces>
std::map<uint16_t, rpc_entry> make_table(caf::detail::type_list<Interfaces...>) {
  std::map<uint16_t, rpc_entry> table;
  (add_interface(table, static_cast<Interfaces*>(nullptr)), ...);
  return table;
}

caf::error malformed(std::string what) {
  return make_error(errc::malformed_frame, "link message: " + std::move(what));
}

constexpr size_t max_failure_text = 1024;

}  // namespace

const rpc_entry* find_rpc(uint16_t request_type) {
  static const auto table = make_table(remote_interfaces{});
  auto i = table.find(request_type);
  return i == table.end() ? nullptr : &i->second;
}

link_bytes encode_rpc(const rpc_frame& f) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk{buf};
  auto bin = [&](const link_bytes& b) {
    pk.pack_bin(static_cast<uint32_t>(b.size()));
    pk.pack_bin_body(b.data(), static_cast<uint32_t>(b.size()));
  };
  switch (f.kind) {
    case rpc_kind::request:
    case rpc_kind::tell:
      pk.pack_array(4);
      pk.pack(static_cast<uint8_t>(f.kind));
      pk.pack(f.rid);
      pk.pack(f.target);
      bin(f.envelope);
      break;
    case rpc_kind::reply:
      pk.pack_array(3);
      pk.pack(static_cast<uint8_t>(f.kind));
      pk.pack(f.rid);
      bin(f.envelope);
      break;
    case rpc_kind::failure: {
      auto text = describe(f.error);
      if (text.size() > max_failure_text) text.resize(max_failure_text);
      pk.pack_array(5);
      pk.pack(static_cast<uint8_t>(f.kind));
      pk.pack(f.rid);
      pk.pack(f.error.code());
      pk.pack(caf::to_string(f.error.category()));
      auto reason = reason_of(f.error);
      pk.pack(reason.empty() ? text : reason);
      break;
    }
  }
  return link_bytes(buf.data(), buf.data() + buf.size());
}

caf::expected<rpc_frame> decode_rpc(std::span<const char> bytes) {
  msgpack::zone zone;
  msgpack::object obj;
  if (auto err = protocols::codec::parse_bounded(bytes.data(), bytes.size(), zone, obj)) return err;
  if (obj.type != msgpack::type::ARRAY || obj.via.array.size < 3)
    return malformed("expected an array [kind, rid, ...] of 3 to 5 elements");
  const auto* el = obj.via.array.ptr;
  const auto n = obj.via.array.size;
  if (el[0].type != msgpack::type::POSITIVE_INTEGER || el[0].via.u64 < 1 || el[0].via.u64 > 4)
    return malformed("kind must be 1 (request), 2 (reply), 3 (failure) or 4 (tell)");
  if (el[1].type != msgpack::type::POSITIVE_INTEGER)
    return malformed("the request id must be an unsigned integer");
  rpc_frame f;
  f.kind = static_cast<rpc_kind>(el[0].via.u64);
  f.rid = el[1].via.u64;
  auto bin = [&](const msgpack::object& o, link_bytes& out) {
    if (o.type != msgpack::type::BIN) return false;
    out.assign(o.via.bin.ptr, o.via.bin.ptr + o.via.bin.size);
    return true;
  };
  auto str = [&](const msgpack::object& o, std::string& out) {
    if (o.type != msgpack::type::STR) return false;
    out.assign(o.via.str.ptr, o.via.str.size);
    return true;
  };
  switch (f.kind) {
    case rpc_kind::request:
    case rpc_kind::tell:
      if (n != 4 || !str(el[2], f.target) || !bin(el[3], f.envelope))
        return malformed("a request or tell is [kind, rid, target: str, envelope: bin]");
      if (f.target.empty()) return malformed("the target actor name is empty");
      break;
    case rpc_kind::reply:
      if (n != 3 || !bin(el[2], f.envelope)) return malformed("a reply is [2, rid, envelope: bin]");
      break;
    case rpc_kind::failure: {
      std::string category;
      std::string text;
      if (n != 5 || el[2].type != msgpack::type::POSITIVE_INTEGER || el[2].via.u64 == 0 ||
          el[2].via.u64 > 255 || !str(el[3], category) || !str(el[4], text) || category.size() > 10)
        return malformed(
            "a failure is [3, rid, code: 1..255, category: str of at most 10, text: str]");
      if (text.size() > max_failure_text) text.resize(max_failure_text);
      f.error = caf::error{static_cast<uint8_t>(el[2].via.u64), caf::atom_from_string(category),
                           caf::make_message(std::move(text))};
      break;
    }
  }
  return f;
}

}  // namespace fusion::link
