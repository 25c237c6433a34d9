#pragma once
// The node configuration: a TOML file (configs/reference.toml lists every option) parsed and
// validated into plain structs. Every error names the file, the line, the key, what was
// expected and what was found, so an operator can fix the file without reading code.

#include "protocols/common.hpp"
#include "protocols/manifest.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace fusion::runtime {

/// [node]: identity and lifetime of the process.
struct node_section {
  std::string name;                ///< Node name (logs, id prefixes).
  std::vector<std::string> roles;  ///< Roles to start, in order: "domain", "zones", "services".
  std::string data_dir;            ///< SQLite folder (absolute); "" = in-memory state.
  uint64_t seed = 0;               ///< Seed of the node's random generators.
  double run_for_s = 0;            ///< Seconds to run; 0 = until SIGINT/SIGTERM.
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

/// [placement]: the domain's four-step placement (§5.4.2.1).
struct placement_config {
  uint32_t k = 0;                           ///< Zones asked per placement.
  protocols::duration_ms deadline_ms = 0;   ///< Deadline for offers.
  protocols::duration_ms offer_ttl_ms = 0;  ///< Lifetime of an offer's reservation.
  protocols::placement_policy policy = protocols::placement_policy::best_total;  ///< Default.
  uint32_t workers = 1;  ///< Placement actors sharing the work.
  friend bool operator==(const placement_config&, const placement_config&) = default;
};

/// [evaluator]: zone evaluators (§5.4.2.2).
struct evaluator_config {
  protocols::duration_ms timeout_ms = 0;    ///< Time an evaluation may take.
  uint64_t cache_entries = 0;               ///< Cached evaluations per zone; 0 = no cache.
  protocols::duration_ms cache_ttl_ms = 0;  ///< Age limit of a cached evaluation.
  friend bool operator==(const evaluator_config&, const evaluator_config&) = default;
};

/// [instance]: termination of service instances (§6.3.3.2).
struct instance_config {
  protocols::duration_ms stop_timeout_ms = 0;  ///< Graceful stop budget.
  protocols::duration_ms force_grace_ms = 0;   ///< Wait after a forced stop.
  friend bool operator==(const instance_config&, const instance_config&) = default;
};

/// [[service]]: a service registered at start (by the "domain" or "services" role).
struct service_entry {
  std::string manifest;  ///< Manifest path, absolute (resolved against the config's folder).
  std::string provider;  ///< Principal that owns the service.
  uint32_t deploy = 0;   ///< Instances to deploy after registration.
  friend bool operator==(const service_entry&, const service_entry&) = default;
};

/// The whole, validated configuration of one node. Every field holds its effective value.
struct node_config {
  node_section node;
  log_config log;
  scheduler_config scheduler;
  placement_config placement;
  evaluator_config evaluator;
  instance_config instance;
  std::vector<protocols::zone_parameters> zones;  ///< [[zone]]: zones this node hosts.
  std::vector<service_entry> services;            ///< [[service]]: services to register.
  friend bool operator==(const node_config&, const node_config&) = default;
};

/// The configuration of a node given no file: every option at its defaults.hpp value.
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
