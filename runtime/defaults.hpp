#pragma once
// Every tunable of a FUSION node, with its default and its accepted range (CAF's
// defaults.hpp style). configs/reference.toml lists the same options with the same values;
// tests/unit/runtime/config_test.cpp checks that the two agree.

#include <array>
#include <cstdint>
#include <string_view>

namespace fusion::defaults {

/// [node]: identity and lifetime of the process.
namespace node {
/// Name of the node, used in logs and as the prefix of the ids it makes.
inline constexpr std::string_view name = "fusion-node";
/// Roles hosted by default: a complete domain with its zones in one process (the
/// "services" role, which registers [[service]] entries, is opt-in).
inline constexpr std::array<std::string_view, 2> roles = {"domain", "zones"};
/// Folder of the SQLite files; "" keeps all state in memory.
inline constexpr std::string_view data_dir = "";
/// Seed of the node's random generators (runs are reproducible for a given seed).
inline constexpr int64_t seed = 1;
/// Seconds to run before stopping; 0 runs until SIGINT or SIGTERM.
inline constexpr double run_for_s = 0.0;
}  // namespace node

/// [log]: where and how much the node logs.
namespace log {
/// Lowest level written: trace, debug, info, warn, error or off.
inline constexpr std::string_view level = "info";
/// Line format: "text" for people, "json" for one JSON object per line.
inline constexpr std::string_view format = "text";
/// Log file; "" writes to stderr.
inline constexpr std::string_view file = "";
}  // namespace log

/// [scheduler]: CAF's worker threads.
namespace scheduler {
/// Worker threads; CAF 0.17 would start max(4, cores), oversubscribing small machines.
inline constexpr int64_t threads = 2;
/// Upper bound of scheduler.threads.
inline constexpr int64_t max_threads = 256;
/// Work distribution: "stealing" or "sharing".
inline constexpr std::string_view policy = "stealing";
}  // namespace scheduler

/// [placement]: the domain's four-step placement (§5.4.2.1).
namespace placement {
/// Zones asked to evaluate in parallel per placement.
inline constexpr int64_t k = 16;
/// Upper bound of placement.k.
inline constexpr int64_t max_k = 1024;
/// Deadline for zone offers; late zones are ignored, never waited for.
inline constexpr int64_t deadline_ms = 200;
/// Upper bound of placement.deadline_ms (one minute).
inline constexpr int64_t max_deadline_ms = 60'000;
/// Lifetime of an offer's reservation in the zone.
inline constexpr int64_t offer_ttl_ms = 5'000;
/// Upper bound of placement.offer_ttl_ms (one hour).
inline constexpr int64_t max_offer_ttl_ms = 3'600'000;
/// Policy used when a manifest sets none: best_total, lowest_cost or lowest_latency.
inline constexpr std::string_view policy = "best_total";
/// Placement actors sharing the work; requests for one service always meet in one of them.
inline constexpr int64_t workers = 2;
/// Upper bound of placement.workers.
inline constexpr int64_t max_workers = 64;
}  // namespace placement

/// [evaluator]: zone evaluators (§5.4.2.2).
namespace evaluator {
/// Time an evaluator may take to score a request.
inline constexpr int64_t timeout_ms = 100;
/// Upper bound of evaluator.timeout_ms (one minute).
inline constexpr int64_t max_timeout_ms = 60'000;
/// Evaluations kept in a zone's cache; 0 disables caching.
inline constexpr int64_t cache_entries = 10'000;
/// Upper bound of evaluator.cache_entries.
inline constexpr int64_t max_cache_entries = 10'000'000;
/// Age after which a cached evaluation is recomputed.
inline constexpr int64_t cache_ttl_ms = 10'000;
/// Upper bound of evaluator.cache_ttl_ms (one day).
inline constexpr int64_t max_cache_ttl_ms = 86'400'000;
}  // namespace evaluator

/// [instance]: service instance termination (§6.3.3.2).
namespace instance {
/// Time a graceful stop may take before the instance is forced down.
inline constexpr int64_t stop_timeout_ms = 5'000;
/// Upper bound of instance.stop_timeout_ms (one hour).
inline constexpr int64_t max_stop_timeout_ms = 3'600'000;
/// Time between the forced stop and declaring the instance gone.
inline constexpr int64_t force_grace_ms = 1'000;
/// Upper bound of instance.force_grace_ms (ten minutes).
inline constexpr int64_t max_force_grace_ms = 600'000;
}  // namespace instance

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

}  // namespace fusion::defaults
