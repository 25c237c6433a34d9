#pragma once
// The node configuration: a TOML file (configs/reference.toml lists every option) parsed and
// validated into plain structs. Every error names the file, the line, the key, what was
// expected and what was found, so an operator can fix the file without reading code.

#include "protocols/common.hpp"
#include "protocols/manifest.hpp"
#include "runtime/options.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fusion::runtime {

// The section structs hold no defaults of their own: default_config() fills them from the
// tables in runtime/config_options.cpp (runtime/options.hpp), the only place a default,
// range or key is written. A member missing from its table fails config_test.

/// [node]: identity and lifetime of the process.
struct node_section {
  std::string name;                ///< Node name (logs, id prefixes).
  std::vector<std::string> roles;  ///< Roles to start, in order: "domain", "zones", "services".
  std::string data_dir;            ///< SQLite folder (absolute); "" = in-memory state.
  uint64_t seed = 0;               ///< Seed of the node's random generators.
  double run_for_s = 0;            ///< Seconds to run; 0 = until SIGINT/SIGTERM.
  uint32_t await_zones = 0;        ///< Zones the services role waits for; 0 = this node's.
  double demo_sessions_s = 0;      ///< Seconds of demo clients (services role); 0 = none.
  uint32_t demo_clients = 0;       ///< Demo clients at the peak.
  friend bool operator==(const node_section&, const node_section&) = default;
};

/// [log]: logging setup, applied by setup_logging().
struct log_config {
  std::string level;   ///< trace, debug, info, warn, error or off.
  std::string format;  ///< "text" or "json" (one JSON object per line).
  std::string file;    ///< Log file (absolute); "" = stderr.
  friend bool operator==(const log_config&, const log_config&) = default;
};

/// [scheduler]: CAF's worker pool, applied by configure_actor_system().
struct scheduler_config {
  uint32_t threads = 0;  ///< Worker threads.
  std::string policy;    ///< "stealing" or "sharing".
  friend bool operator==(const scheduler_config&, const scheduler_config&) = default;
};

/// [placement]: the domain's four-step placement (§5.4.2.1). The placement function
/// (actors/domain/placement.hpp) takes this struct as it is.
struct placement_config {
  uint32_t k = 0;                           ///< Zones asked per placement.
  protocols::duration_ms deadline_ms = 0;   ///< Deadline for offers.
  protocols::duration_ms offer_ttl_ms = 0;  ///< Lifetime of an offer's reservation.
  protocols::placement_policy policy = protocols::placement_policy::best_total;  ///< Default.
  uint32_t workers = 0;         ///< Placement actors sharing the work.
  uint32_t max_cohort = 0;      ///< Most identical requests placed as one cohort.
  uint32_t decisions_kept = 0;  ///< Recent decisions kept for explain_placement.
  friend bool operator==(const placement_config&, const placement_config&) = default;
};

/// [evaluator]: zone evaluators (§5.4.2.2).
struct evaluator_config {
  protocols::duration_ms timeout_ms = 0;    ///< Time an evaluation may take.
  uint64_t cache_entries = 0;               ///< Cached evaluations per zone; 0 = no cache.
  protocols::duration_ms cache_ttl_ms = 0;  ///< Age limit of a cached evaluation.
  /// When a service-specific evaluator fails or does not answer: "generic" (the zone
  /// scores with the generic evaluator) or "decline" (the zone declines the request).
  std::string fallback;
  friend bool operator==(const evaluator_config&, const evaluator_config&) = default;
};

/// [instance]: termination of service instances (§6.3.3.2).
struct instance_config {
  protocols::duration_ms stop_timeout_ms = 0;     ///< Graceful stop budget.
  protocols::duration_ms force_grace_ms = 0;      ///< Wait after a forced stop.
  protocols::duration_ms session_timeout_ms = 0;  ///< A silent client's session ends.
  friend bool operator==(const instance_config&, const instance_config&) = default;
};

/// [slots]: session slot aggregation (§4.3, docs/slots.md): how instances report to their
/// zone and how a zone publishes to the domain and to service routers.
struct slots_config {
  protocols::duration_ms interval_ms = 0;         ///< A zone publishes at most once per interval.
  protocols::duration_ms refresh_ms = 0;          ///< Unchanged slots are re-published this often.
  protocols::duration_ms validity_ms = 0;         ///< A row not refreshed for this long expires.
  uint32_t band_slots = 0;                        ///< A change is published once it is this many...
  double band_fraction = 0;                       ///< ... or this fraction of the maximum.
  double alpha = 0;                               ///< Weight of a sample in the moving average.
  double share = 0;                               ///< Fraction of its slots a zone publishes.
  protocols::duration_ms instance_report_ms = 0;  ///< An instance reports at most this often.
  friend bool operator==(const slots_config&, const slots_config&) = default;
};

/// [scaling]: zone elasticity rules (§6.3.3, docs/slots.md "Scaling"): how often a zone
/// checks its services' slot utilisation against their manifests' rules, and how long it
/// leaves a service alone after acting on it.
struct scaling_config {
  protocols::duration_ms interval_ms = 0;  ///< A zone checks its rules this often.
  protocols::duration_ms cooldown_ms = 0;  ///< No second action on a service for this long.
  friend bool operator==(const scaling_config&, const scaling_config&) = default;
};

/// [deployment]: deploying instances, at the domain and in the zones (§5.4.4, §6.3.2).
struct deployment_config {
  /// Time one step may take: a registrar query, a placement, a zone's deployment, a DC
  /// agent's step, a zone's registration with the zone registry.
  protocols::duration_ms step_timeout_ms = 0;
  friend bool operator==(const deployment_config&, const deployment_config&) = default;
};

/// [link]: this node's end of the node-to-node links (issue 9): where it listens, the identity
/// it proves in handshakes, and the link's timers and limits.
struct link_config {
  std::string address;                              ///< Listen address; "" = only dials its peers.
  uint16_t port = 0;                                ///< Listen port; 0 = the OS picks one (logged).
  std::string identity;                             ///< Key file (`fusion-node keygen`), absolute.
  protocols::duration_ms heartbeat_ms = 0;          ///< Interval of heartbeats on an idle link.
  protocols::duration_ms dead_after_ms = 0;         ///< Silence after which a link counts as dead.
  protocols::duration_ms dial_timeout_ms = 0;       ///< Time a TCP connect may take.
  protocols::duration_ms handshake_timeout_ms = 0;  ///< Time the handshake may take.
  protocols::duration_ms reconnect_max_ms = 0;      ///< Longest wait between reconnections.
  uint32_t max_frame_bytes = 0;                     ///< Largest frame accepted or sent.
  uint64_t max_send_buffer_bytes = 0;  ///< Bytes that may wait to be sent; more are refused.
  friend bool operator==(const link_config&, const link_config&) = default;
};

/// [monitoring]: the zones' monitoring aggregation script (§6.3.4.2; docs/shell.md, "Lua
/// inside the runtime").
struct monitoring_config {
  std::string script;                      ///< Lua file; "" = no aggregation.
  protocols::duration_ms interval_ms = 0;  ///< Time between two aggregations.
  uint64_t instructions = 0;               ///< Lua VM instructions one aggregation may run.
  uint64_t memory_kb = 0;                  ///< Memory the script's state may hold.
  friend bool operator==(const monitoring_config&, const monitoring_config&) = default;
};

/// [gossip]: membership, failure detection and domain discovery (docs/gossip.md).
struct gossip_config {
  std::string mode;                        ///< "off": zones register as configured; "on": gossip.
  protocols::duration_ms interval_ms = 0;  ///< Protocol period: one probe per period.
  protocols::duration_ms probe_timeout_ms = 0;  ///< Wait for an ack before indirect probes.
  uint32_t indirect_probes = 0;                 ///< Members asked to probe on our behalf.
  double suspicion_mult = 0;                ///< Min suspicion = mult x max(1, log10 N) x interval.
  double suspicion_max_mult = 0;            ///< Max suspicion = this x min.
  uint32_t retransmit_mult = 0;             ///< Each change is sent mult x log10(N + 1) times.
  protocols::duration_ms push_pull_ms = 0;  ///< Whole-view exchange period.
  double updates_per_s = 0;                 ///< Changes accepted per second from one sender.
  std::vector<std::string> seeds;           ///< Peers (node names) to join through.
  std::vector<std::string> wan_seeds;       ///< Other domains' orchestrators (WAN pool).
  std::string policy;                       ///< Home domain: "first", "named" or "nearest".
  std::string domain;                       ///< Domain name (named policy; a domain node's own).
  protocols::duration_ms bootstrap_after_ms = 0;  ///< No domain this long: start one; 0 = never.
  std::vector<std::string> trusted_keys;          ///< Keys trusted to advertise domains.
  double latitude = 0;  ///< Where this node's orchestrator is (policy "nearest" of zones).
  double longitude = 0;
  friend bool operator==(const gossip_config&, const gossip_config&) = default;
};

/// [[peer]]: another node this node links with, and trusts by its public key.
struct peer_entry {
  std::string name;        ///< The peer's node name, unique among peers.
  std::string address;     ///< "host:port" this node dials; "" = waits for the peer to dial.
  std::string public_key;  ///< Its Ed25519 public key, standard base64 (44 characters).
  std::string role;        ///< What its principal may do: "node", "domain_admin", ...
  friend bool operator==(const peer_entry&, const peer_entry&) = default;
};

/// [[service]]: a service registered at start (by the "domain" or "services" role).
struct service_entry {
  std::string manifest;  ///< Manifest path, absolute (resolved against the config's folder).
  std::string provider;  ///< Principal that owns the service.
  uint32_t deploy = 0;   ///< Instances to deploy after registration.
  friend bool operator==(const service_entry&, const service_entry&) = default;
};

/// [[evaluator_script]]: a service-specific evaluator written in Lua, served on this node
/// to its zones (actors/evaluator/lua_evaluator.hpp; docs/shell.md, "Lua inside the runtime").
struct evaluator_script {
  std::string name;           ///< What manifests name in `evaluator:`; unique on the node.
  std::string script;         ///< The Lua file, absolute (resolved against the config's folder).
  uint64_t instructions = 0;  ///< Lua VM instructions one evaluation may run.
  uint64_t memory_kb = 0;     ///< Memory the script's state may hold.
  friend bool operator==(const evaluator_script&, const evaluator_script&) = default;
};

/// The whole, validated configuration of one node. Every field holds its effective value.
struct node_config {
  node_section node;
  log_config log;
  scheduler_config scheduler;
  placement_config placement;
  evaluator_config evaluator;
  instance_config instance;
  deployment_config deployment;
  slots_config slots;
  scaling_config scaling;
  link_config link;
  gossip_config gossip;
  monitoring_config monitoring;
  std::vector<protocols::zone_parameters> zones;    ///< [[zone]]: zones this node hosts.
  std::vector<service_entry> services;              ///< [[service]]: services to register.
  std::vector<peer_entry> peers;                    ///< [[peer]]: nodes this node links with.
  std::vector<evaluator_script> evaluator_scripts;  ///< [[evaluator_script]]: Lua evaluators.
  friend bool operator==(const node_config&, const node_config&) = default;
};

/// Whether `s` can name a node or a zone: 1 to 64 characters from [A-Za-z0-9._-].
bool valid_name(const std::string& s);

/// Whether `s` can be link.address: "", a host name, an IPv4 address or a bare IPv6 address
/// ("::1"), without a port.
bool valid_listen_address(const std::string& s);

/// Whether `s` can be a peer's address: "host:port" with a port from 1 to 65535, an IPv6
/// host in brackets ("[::1]:7400").
bool valid_peer_address(const std::string& s);

/// A peer's address, parsed: the host (an IPv6 address without its brackets) and the port.
struct peer_address {
  std::string host;
  uint16_t port = 0;
};

/// Parses a peer's address as valid_peer_address accepts it; nullopt otherwise.
std::optional<peer_address> parse_peer_address(const std::string& s);

/// Whether `s` is the text form of an Ed25519 public key: standard base64 of 32 bytes,
/// 44 characters ending in one '=' (what `fusion-node keygen` prints).
bool valid_public_key(const std::string& s);

/// The table of each flat section (runtime/config_options.cpp).
const option_table<node_section>& node_options();
const option_table<log_config>& log_options();
const option_table<scheduler_config>& scheduler_options();
const option_table<placement_config>& placement_options();
const option_table<evaluator_config>& evaluator_options();
const option_table<instance_config>& instance_options();
const option_table<deployment_config>& deployment_options();
const option_table<slots_config>& slots_options();
const option_table<scaling_config>& scaling_options();
const option_table<link_config>& link_options();
const option_table<gossip_config>& gossip_options();
const option_table<monitoring_config>& monitoring_options();

/// Calls `f(name, member, table)` for each flat section of node_config, in file order:
/// `name` is the TOML table ("placement"), `member` the node_config member holding it.
template <class F>
void for_each_section(F&& f) {
  f(std::string_view{"node"}, &node_config::node, node_options());
  f(std::string_view{"log"}, &node_config::log, log_options());
  f(std::string_view{"scheduler"}, &node_config::scheduler, scheduler_options());
  f(std::string_view{"placement"}, &node_config::placement, placement_options());
  f(std::string_view{"evaluator"}, &node_config::evaluator, evaluator_options());
  f(std::string_view{"instance"}, &node_config::instance, instance_options());
  f(std::string_view{"deployment"}, &node_config::deployment, deployment_options());
  f(std::string_view{"slots"}, &node_config::slots, slots_options());
  f(std::string_view{"scaling"}, &node_config::scaling, scaling_options());
  f(std::string_view{"link"}, &node_config::link, link_options());
  f(std::string_view{"gossip"}, &node_config::gossip, gossip_options());
  f(std::string_view{"monitoring"}, &node_config::monitoring, monitoring_options());
}

/// The configuration of a node given no file: every option at its table's default.
node_config default_config();

/// Reads and validates the TOML file at `path`. Relative paths inside the file (manifests,
/// data_dir, log file) are resolved against the file's folder. Errors: errc::invalid_config.
caf::expected<node_config> load_config(const std::string& path);

/// Parses and validates TOML `text`; `source_name` prefixes error messages ("node.toml:7:
/// ...") and relative paths are resolved against `base_dir` ("" = the working directory).
caf::expected<node_config> load_config_string(const std::string& text,
                                              const std::string& source_name,
                                              const std::string& base_dir = "");

/// The effective configuration as TOML, every option spelled out (`check-config` prints it).
/// load_config_string(to_toml(c), ...) yields `c` again.
std::string to_toml(const node_config& cfg);

/// Every option key the parser accepts, dotted ("placement.k", "zone.gpu.model"), so
/// tools and tests can compare documentation against the schema.
std::vector<std::string> known_config_keys();

}  // namespace fusion::runtime
