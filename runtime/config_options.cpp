// The option tables: one line per option of each flat config section. Adding an option is
// one line here and one in configs/reference.toml (docs/operations.md, "Adding an option").

#include "runtime/config.hpp"
#include "runtime/defaults.hpp"

#include <limits>

namespace fusion::runtime {

namespace {

constexpr int64_t no_max = std::numeric_limits<int64_t>::max();

}  // namespace

const option_table<node_section>& node_options() {
  using s = node_section;
  static const option_table<s> t = {
      text("name", &s::name, "fusion-node", "Node name, in logs and as the prefix of its ids.")
          .must(valid_name, "1 to 64 characters from [A-Za-z0-9._-]"),
      strings("roles", &s::roles, {"domain", "zones"}, {"domain", "zones", "services"},
              "Roles this process hosts, started in this order."),
      text("data_dir", &s::data_dir, "", "Folder of the SQLite state; \"\" keeps it in memory.")
          .as_path(),
      integer("seed", &s::seed, 1, 0, no_max, "Seed of the node's random generators."),
      number("run_for_s", &s::run_for_s, 0.0, 0, 1e9, "Seconds to run; 0 runs until a signal."),
      integer("await_zones", &s::await_zones, 0, 0, 1'000'000,
              "Zones the services role waits for; 0 = this node's [[zone]]s."),
      number("demo_sessions_s", &s::demo_sessions_s, 0.0, 0, 600,
             "Seconds demo clients open and close sessions after deployment (services role, "
             "zones in this node); 0 = no demo clients."),
      integer("demo_clients", &s::demo_clients, 12, 1, 10'000,
              "Demo clients at the peak; after 60% of demo_sessions_s a sixth of them go on."),
  };
  return t;
}

const option_table<log_config>& log_options() {
  using s = log_config;
  static const option_table<s> t = {
      choice("level", &s::level, "info", {"trace", "debug", "info", "warn", "error", "off"},
             "Lowest level written."),
      choice("format", &s::format, "text", {"text", "json"},
             "\"text\" for people, \"json\" for one JSON object per line."),
      text("file", &s::file, "", "File the log is appended to; \"\" writes to stderr.").as_path(),
  };
  return t;
}

const option_table<scheduler_config>& scheduler_options() {
  using s = scheduler_config;
  static const option_table<s> t = {
      integer("threads", &s::threads, 2, 1, 256,
              "CAF worker threads; CAF alone would start max(4, cores)."),
      choice("policy", &s::policy, "sharing", {"stealing", "sharing"},
             "How workers share jobs; sharing (idle workers sleep) suits nodes that share a "
             "machine or have few cores, stealing (idle workers poll) one busy node on many."),
  };
  return t;
}

const option_table<placement_config>& placement_options() {
  using s = placement_config;
  static const option_table<s> t = {
      integer("k", &s::k, 16, 1, 1024, "Zones asked to evaluate a request in parallel."),
      integer("deadline_ms", &s::deadline_ms, 200, 1, 60'000,
              "Milliseconds to wait for zone offers; late zones are ignored."),
      integer("offer_ttl_ms", &s::offer_ttl_ms, 5'000, 1, 3'600'000,
              "Milliseconds a zone holds an offer's reservation."),
      choice("policy", &s::policy, "best_total", {"best_total", "lowest_cost", "lowest_latency"},
             "Policy when the manifest and the request set none."),
      integer("workers", &s::workers, 2, 1, 64,
              "Placement actors sharing the work; one service always meets in one of them."),
      integer("max_cohort", &s::max_cohort, 256, 1, 65'536,
              "Most identical requests in flight placed together as one cohort."),
      integer("decisions_kept", &s::decisions_kept, 1'024, 1, 1'000'000,
              "Recent decisions kept for explain_placement."),
  };
  return t;
}

const option_table<evaluator_config>& evaluator_options() {
  using s = evaluator_config;
  static const option_table<s> t = {
      integer("timeout_ms", &s::timeout_ms, 100, 1, 60'000,
              "Milliseconds an evaluator may take to score a request."),
      integer("cache_entries", &s::cache_entries, 10'000, 0, 10'000'000,
              "Evaluations cached per zone; 0 disables the cache."),
      integer("cache_ttl_ms", &s::cache_ttl_ms, 10'000, 0, 86'400'000,
              "Milliseconds a cached evaluation stays valid."),
      choice("fallback", &s::fallback, "generic", {"generic", "decline"},
             "When a service's own evaluator fails or does not answer in time: \"generic\" "
             "scores with the generic evaluator, \"decline\" declines the request."),
  };
  return t;
}

const option_table<instance_config>& instance_options() {
  using s = instance_config;
  static const option_table<s> t = {
      integer("stop_timeout_ms", &s::stop_timeout_ms, 5'000, 1, 3'600'000,
              "Milliseconds a graceful stop may take before it is forced."),
      integer("force_grace_ms", &s::force_grace_ms, 1'000, 0, 600'000,
              "Milliseconds after a forced stop before the instance counts as gone."),
      integer("session_timeout_ms", &s::session_timeout_ms, 60'000, 0, 86'400'000,
              "Milliseconds without a keepalive after which an instance ends a session and "
              "frees its slot; 0 = never."),
  };
  return t;
}

const option_table<deployment_config>& deployment_options() {
  using s = deployment_config;
  static const option_table<s> t = {
      integer("step_timeout_ms", &s::step_timeout_ms, 5'000, 1, 3'600'000,
              "Milliseconds one deployment step may take (registrar, placement, zone, DC)."),
  };
  return t;
}

const option_table<slots_config>& slots_options() {
  using s = slots_config;
  static const option_table<s> t = {
      integer("interval_ms", &s::interval_ms, 1'000, 10, 600'000,
              "A zone publishes its slots to the domain and routers at most once per interval."),
      integer("refresh_ms", &s::refresh_ms, 1'000, 10, 3'600'000,
              "Unchanged slots are published again this often; at least interval_ms."),
      integer("validity_ms", &s::validity_ms, 3'000, 20, 86'400'000,
              "A slot report not refreshed for this long expires; more than refresh_ms."),
      integer("band_slots", &s::band_slots, 1, 1, 1'000'000,
              "A change of free slots is published once it reaches this many slots..."),
      number("band_fraction", &s::band_fraction, 0.0, 0, 1,
             "... or this fraction of the service's maximum slots, whichever is larger."),
      number("alpha", &s::alpha, 0.2, 0.001, 1,
             "Weight of a new sample in the moving average and variance of free slots."),
      number("share", &s::share, 1.0, 0, 1,
             "Fraction of its free slots a zone publishes (spec 4.3.2.8: it may offer fewer)."),
      integer("instance_report_ms", &s::instance_report_ms, 100, 1, 600'000,
              "An instance reports a change of its free slots to its zone at most this often."),
  };
  return t;
}

const option_table<scaling_config>& scaling_options() {
  using s = scaling_config;
  static const option_table<s> t = {
      integer("interval_ms", &s::interval_ms, 1'000, 10, 600'000,
              "A zone checks its services' slot utilisation against their scaling rules this "
              "often."),
      integer("cooldown_ms", &s::cooldown_ms, 10'000, 0, 86'400'000,
              "After starting or stopping an instance of a service, a zone leaves that service "
              "alone this long."),
  };
  return t;
}

const option_table<link_config>& link_options() {
  using s = link_config;
  static const option_table<s> t = {
      text("address", &s::address, "",
           "Address links are accepted on, e.g. \"127.0.0.1\" or \"0.0.0.0\"; \"\" only dials.")
          .must(valid_listen_address,
                "\"\" or a host name or IP address without a port (\"127.0.0.1\", \"::1\"; the "
                "port is link.port)"),
      integer("port", &s::port, 0, 0, 65'535,
              "Port links are accepted on; 0 lets the OS pick a free one (written to the log)."),
      text("identity", &s::identity, "",
           "This node's key file, made by `fusion-node keygen FILE`; needed to listen or dial.")
          .as_path(),
      integer("heartbeat_ms", &s::heartbeat_ms, defaults::link::heartbeat_ms, 50, 60'000,
              "Milliseconds between heartbeats on a link with nothing else to send."),
      integer("dead_after_ms", &s::dead_after_ms, defaults::link::dead_after_ms, 100, 600'000,
              "Milliseconds of silence after which a link is dead; more than heartbeat_ms."),
      integer("dial_timeout_ms", &s::dial_timeout_ms, defaults::link::dial_timeout_ms, 50, 600'000,
              "Milliseconds a connection attempt to a peer may take."),
      integer("handshake_timeout_ms", &s::handshake_timeout_ms,
              defaults::link::handshake_timeout_ms, 50, 600'000,
              "Milliseconds the handshake of a new connection may take."),
      integer("reconnect_max_ms", &s::reconnect_max_ms, defaults::link::reconnect_max_ms, 100,
              3'600'000,
              "Longest wait between reconnection attempts; the wait doubles from 100 ms."),
      integer("max_frame_bytes", &s::max_frame_bytes, defaults::link::max_frame_bytes, 1'024,
              67'108'864, "Largest frame sent or accepted on a link, in bytes."),
      integer("max_send_buffer_bytes", &s::max_send_buffer_bytes,
              defaults::link::max_send_buffer_bytes, 65'536, 1'073'741'824,
              "Bytes that may wait to be sent on one link; beyond, messages to it are refused."),
  };
  return t;
}

const option_table<gossip_config>& gossip_options() {
  using s = gossip_config;
  static const option_table<s> t = {
      choice("mode", &s::mode, "off", {"off", "on"},
             "\"on\": members gossip, zones find their domain by it and dead zones are fenced; "
             "\"off\": zones register with the configured zone registry."),
      integer("interval_ms", &s::interval_ms, 200, 10, 60'000,
              "Protocol period: each member probes one other member this often."),
      integer("probe_timeout_ms", &s::probe_timeout_ms, 100, 5, 30'000,
              "Wait for a probe's ack before asking other members to probe; less than "
              "interval_ms."),
      integer("indirect_probes", &s::indirect_probes, 3, 0, 16,
              "Members asked to probe a member that did not answer (k)."),
      number("suspicion_mult", &s::suspicion_mult, 3.0, 0.5, 100,
             "Shortest suspicion before death: this x max(1, log10 members) x interval_ms."),
      number("suspicion_max_mult", &s::suspicion_max_mult, 3.0, 1, 100,
             "Longest suspicion (no other member confirms it): this x the shortest."),
      integer("retransmit_mult", &s::retransmit_mult, 4, 1, 64,
              "Each change rides on this x ceil(log10(members + 1)) messages."),
      integer("push_pull_ms", &s::push_pull_ms, 5'000, 100, 3'600'000,
              "Whole-view exchange with a random member this often (more rarely beyond 32 "
              "members)."),
      number("updates_per_s", &s::updates_per_s, 200.0, 1, 1e6,
             "Changes accepted per second from one member; more are dropped and counted."),
      strings("seeds", &s::seeds, {}, {},
              "Peers (by name) whose agents this node joins through; [] = every peer with an "
              "address."),
      strings("wan_seeds", &s::wan_seeds, {}, {},
              "Orchestrator nodes of other domains (peers, by name) whose WAN agents this "
              "domain's node joins, to learn their advertisements; [] = no WAN pool."),
      choice("policy", &s::policy, "first", {"first", "named", "nearest"},
             "How a zone picks its home domain among those advertised."),
      text("domain", &s::domain, "",
           "The domain to join (policy \"named\"), or the name of the domain this node "
           "hosts; \"\" = the node name."),
      integer("bootstrap_after_ms", &s::bootstrap_after_ms, 0, 0, 86'400'000,
              "A zone node that found no domain this long starts one itself; 0 never does."),
      strings("trusted_keys", &s::trusted_keys, {}, {},
              "Public keys trusted to advertise domains; [] = the keys of this node's peers and "
              "its own."),
      number("latitude", &s::latitude, 0.0, -90, 90,
             "Where this node's orchestrator is (\"domain\" role), for zones that pick the "
             "nearest domain."),
      number("longitude", &s::longitude, 0.0, -180, 180, "Its longitude."),
  };
  return t;
}

const option_table<monitoring_config>& monitoring_options() {
  using s = monitoring_config;
  namespace d = defaults::evaluator_script;
  static const option_table<s> t = {
      text("script", &s::script, "",
           "Lua file defining aggregate(samples, indicators), run by every zone of this node; "
           "\"\" aggregates nothing.")
          .as_path(),
      integer("interval_ms", &s::interval_ms, 1'000, 10, 3'600'000,
              "Milliseconds between two aggregations."),
      integer("instructions", &s::instructions, d::instructions, 1, d::max_instructions,
              "Lua VM instructions one aggregation may run."),
      integer("memory_kb", &s::memory_kb, d::memory_kb, d::min_memory_kb, d::max_memory_kb,
              "Kilobytes the script's state may hold."),
  };
  return t;
}

}  // namespace fusion::runtime
