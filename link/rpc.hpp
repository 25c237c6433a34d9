#pragma once
// Remote calls over a link (docs/security.md, "Remote actors"). An application message on a
// link is a msgpack array, one of:
//
//   request  [1, rid, target, envelope]       ask the actor named `target` on the peer
//   reply    [2, rid, envelope]               its answer to request `rid`
//   failure  [3, rid, code, category, text]   its error for request `rid`
//   tell     [4, 0, target, envelope]         a one-way message to `target`
//
// `envelope` is a msgpack bin holding one protocol envelope [type_id, version, body]
// (protocols/registry.hpp), decoded with the wire limits like any frame from another node.
// Which requests may cross, and what each answers, comes from the typed actor interfaces
// in protocols/ (rpc_table): the interfaces are the API.

#include "link/link_protocol.hpp"
#include "protocols/manifest.hpp"

#include <caf/actor.hpp>
#include <caf/duration.hpp>
#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/message.hpp>

#include <cstdint>
#include <functional>
#include <span>
#include <string>

namespace fusion::link {

/// What an application message on a link is.
enum class rpc_kind : uint8_t { request = 1, reply = 2, failure = 3, tell = 4 };

/// One application message, decoded.
struct rpc_frame {
  rpc_kind kind = rpc_kind::request;
  uint64_t rid = 0;     ///< Request id (request, reply, failure); 0 for tell.
  std::string target;   ///< Actor name on the receiving node (request, tell).
  link_bytes envelope;  ///< A protocol envelope (request, reply, tell).
  caf::error error;     ///< The remote error (failure).
};

/// Encodes a frame. A failure's text is cut to 1,024 bytes.
link_bytes encode_rpc(const rpc_frame& f);

/// Decodes an untrusted application message; errors name what is wrong (malformed_frame).
caf::expected<rpc_frame> decode_rpc(std::span<const char> bytes);

/// Called with a forwarded request's reply (as a message) or error.
using reply_handler = std::function<void(caf::expected<caf::message>)>;

/// A request type that may cross a link, and how to forward it to a local actor.
struct rpc_entry {
  uint16_t request_type = 0;  ///< Type id of the request message.
  uint16_t reply_type = 0;    ///< Type id of its reply; 0 for a one-way message.
  /// Sends `msg` (holding the request) from `self` to `target` and calls `done` with the
  /// typed reply or the error (one-way: sends and calls nothing).
  void (*forward)(caf::event_based_actor* self, const caf::actor& target, caf::message msg,
                  caf::duration timeout, reply_handler done) = nullptr;
  /// The request's `caller` field (the principal it acts for), or nullptr if it has none.
  protocols::principal* (*caller)(caf::message& msg) = nullptr;
};

/// The entry of a request type id, or nullptr if no interface in protocols/ accepts it.
const rpc_entry* find_rpc(uint16_t request_type);

}  // namespace fusion::link
