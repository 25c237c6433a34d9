#pragma once
// Defaults of the config's arrays of tables ([[zone]], [[service]], [[peer]]), with their
// ranges.
// The flat sections ([node], [placement], ...) keep key, default, range and doc together
// in one table each (runtime/config_options.cpp). configs/reference.toml lists the same
// options with the same values; tests/unit/runtime/config_test.cpp checks that they agree.

#include <array>
#include <cstdint>
#include <string_view>

namespace fusion::defaults {

/// [[zone]]: defaults of the zones a node hosts (fields without one are required or 0).
namespace zone {
/// Operating system offered by the zone's hosts.
inline constexpr std::string_view os = "linux";
/// Isolation techniques offered: "container", "vm" or "bare-metal".
inline constexpr std::array<std::string_view, 1> isolation = {"container"};
/// Instance cap; 0 means bounded by resources only.
inline constexpr int64_t max_instances = 0;
/// GPUs of one [[zone.gpu]] model when `count` is not given.
inline constexpr int64_t gpu_count = 1;
}  // namespace zone

/// [[service]]: services registered at start by the domain role.
namespace service {
/// Instances deployed right after registration.
inline constexpr int64_t deploy = 0;
/// Upper bound of service.deploy.
inline constexpr int64_t max_deploy = 10'000;
}  // namespace service

/// [[evaluator_script]]: Lua evaluators (docs/shell.md, "Lua inside the runtime").
namespace evaluator_script {
/// Lua VM instructions one evaluation may run, and the upper bound of the key.
inline constexpr int64_t instructions = 1'000'000;
inline constexpr int64_t max_instructions = 1'000'000'000;
/// Kilobytes a script's state may hold, and the bounds of the key.
inline constexpr int64_t memory_kb = 8'192;
inline constexpr int64_t min_memory_kb = 256;
inline constexpr int64_t max_memory_kb = 1'048'576;
}  // namespace evaluator_script

/// [[peer]]: the nodes a node links with.
namespace peer {
/// Address dialled; "" means the peer dials this node.
inline constexpr std::string_view address = "";
/// What the peer's principal may do.
inline constexpr std::string_view role = "node";
/// Every role a peer may have.
inline constexpr std::array<std::string_view, 4> roles = {"node", "domain_admin", "zone_admin",
                                                          "service_provider"};
}  // namespace peer

/// [link]: limits and timers of node-to-node links. The option table
/// (runtime/config_options.cpp) and the link actors' own defaults (link::link_settings,
/// link::peers_config) both read these, so a default is written once.
namespace link {
/// Milliseconds between heartbeats on an idle link.
inline constexpr int64_t heartbeat_ms = 500;
/// Milliseconds of silence after which a link is dead.
inline constexpr int64_t dead_after_ms = 2'000;
/// Milliseconds a connection attempt may take.
inline constexpr int64_t dial_timeout_ms = 2'000;
/// Milliseconds the handshake of a new connection may take.
inline constexpr int64_t handshake_timeout_ms = 5'000;
/// Longest wait between reconnection attempts.
inline constexpr int64_t reconnect_max_ms = 5'000;
/// Largest frame sent or accepted, in bytes (1 MiB).
inline constexpr int64_t max_frame_bytes = 1'048'576;
/// Bytes that may wait to be sent on one link (8 MiB); beyond, messages are refused.
inline constexpr int64_t max_send_buffer_bytes = 8 * 1'048'576;
/// Messages a link holds for its peer before its handshake completes; beyond, refused.
inline constexpr int64_t max_early_messages = 1'024;
}  // namespace link

}  // namespace fusion::defaults
