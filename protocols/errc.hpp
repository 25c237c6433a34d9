#pragma once
// fusion::errc: the one error enum of FUSION runtime, registered with CAF under the
// category atom "fusion". Every value exists because some caller reacts to it; the
// error's context carries a sentence that tells a user what to fix.

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>

#include <caf/fwd.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace fusion {

/// Error codes of FUSION runtime. Stable numbers: they cross the wire.
enum class errc : uint8_t {
  /// A frame or stored record is not valid msgpack, or its shape does not match its type.
  malformed_frame = 1,
  /// A frame is larger than the configured maximum, or claims more elements than allowed.
  frame_too_large = 2,
  /// A frame names a message type id this node does not know.
  unknown_message_type = 3,
  /// A frame's envelope version is outside 1..255, or its body carries more fields than
  /// the version it claims defines (a writer appended fields without bumping the version).
  unsupported_version = 4,
  /// A node config file is invalid (syntax, unknown key, wrong type, out of range).
  invalid_config = 5,
  /// A service manifest is invalid (syntax, missing or wrong field).
  invalid_manifest = 6,
  /// No registered service has the given ServiceID or name.
  unknown_service = 7,
  /// A service with that name is already registered.
  duplicate_service = 8,
  /// The principal may not perform the operation (e.g. a provider touching another's service).
  not_authorized = 9,
  /// No registered zone has the given ZoneID.
  unknown_zone = 10,
  /// A zone with that name is already registered.
  duplicate_zone = 11,
  /// Placement found no zone able to host the request; the context lists each zone's reason.
  no_feasible_zone = 12,
  /// A zone declined to make an offer (policy, capacity, missing evaluator); context says why.
  offer_declined = 13,
  /// An offer or its reservation is unknown or has expired.
  offer_expired = 14,
  /// The zone or instance has too little free capacity for the request.
  insufficient_capacity = 15,
  /// An evaluator did not answer, failed or is not configured.
  evaluator_unavailable = 16,
  /// An operation did not complete before its deadline.
  deadline_exceeded = 17,
  /// No instance has the given InstanceID.
  unknown_instance = 18,
  /// The instance is not in a state that allows the operation (e.g. stopping).
  invalid_state = 19,
  /// No free session slot is available.
  no_session_slots = 20,
  /// The durable store failed to read or write; the operation was not acknowledged.
  storage_failure = 21,
  /// A request argument is out of range or inconsistent; context names the argument.
  invalid_argument = 22,
  /// Decoding a frame would take more memory than its budget (decode_limits::budget: a
  /// multiple of the frame size plus a constant); refused before the message is built.
  decode_budget_exceeded = 23,
  /// A deployment step failed for a cause outside the codes above (an agent or instance
  /// that went away, an unexpected error); context names the zone, the step and the cause.
  deployment_failed = 24,
  /// No authenticated link to the node a locator names is up (never connected, closed or
  /// lost); context names the node. The caller decides whether to retry.
  peer_unreachable = 25,
  /// A request over a link names an actor its node does not have; context names both.
  unknown_actor = 26,
};

/// CAF category atom under which fusion::errc values travel.
inline constexpr caf::atom_value errc_category = caf::atom("fusion");

/// Stable name of an error code, e.g. "unknown_service".
std::string_view to_string(errc x);

/// Builds a caf::error of category "fusion" without further explanation.
inline caf::error make_error(errc x) {
  return caf::error{static_cast<uint8_t>(x), errc_category};
}

/// Builds a caf::error whose context is a sentence for the user ("zone z3: no GPU").
inline caf::error make_error(errc x, std::string why) {
  return caf::error{static_cast<uint8_t>(x), errc_category, caf::make_message(std::move(why))};
}

/// True if `e` is the fusion error `x`.
inline bool is(const caf::error& e, errc x) {
  return e && e.category() == errc_category && e.code() == static_cast<uint8_t>(x);
}

/// The explanation carried by a fusion error, or "" if it has none.
std::string reason_of(const caf::error& e);

/// Registers fusion::errc with CAF, so actor_system::render() and CAF's logs print
/// "fusion::<name>: <reason>". message_registry::add_message_types calls it.
void add_error_category(caf::actor_system_config& cfg);

/// Human-readable text of any error: "unknown_service: no service 'x'" for fusion errors,
/// CAF's own rendering for others.
std::string describe(const caf::error& e);

}  // namespace fusion
