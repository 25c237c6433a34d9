#pragma once
// The topology builder: declares, in a few lines of C++, a whole orchestration domain in one
// process — domain functions, zones (location, capabilities, capacity, costs) and
// service-specific evaluators — for tests, `fusion-node plan` and the embedded demo.
//
//   topology::topology topo{sys};
//   topo.with_domain()
//       .with_zone(zone_builder{"edge-paris"}.region("eu-west", 48.85, 2.35).cores(32))
//       .with_zone(zone_builder{"gpu-dc"}.cores(512).gpu("nvidia-a100", 40960, 8.0, 16));
//
// Roles still talk only through protocols/: the builder spawns them and keeps handles.

#include "actors/domain/deployment.hpp"
#include "actors/domain/placement.hpp"
#include "actors/gossip/advertisement.hpp"
#include "actors/router/service_router.hpp"
#include "actors/zone/dc_inprocess.hpp"
#include "protocols/names.hpp"
#include "protocols/orchestration_management.hpp"
#include "protocols/zone_management.hpp"
#include "protocols/zone_orchestration.hpp"
#include "runtime/config.hpp"
#include "runtime/directory.hpp"

#include <caf/actor_system.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace fusion::topology {

/// Fluent description of one execution zone (protocols::zone_parameters).
class zone_builder {
 public:
  /// A Linux zone called `name` with 16 cores and 64 GiB, no GPUs, in region "default".
  explicit zone_builder(std::string name);

  zone_builder& region(std::string region, double latitude, double longitude);
  zone_builder& cores(uint32_t n);
  zone_builder& memory_gb(uint64_t gb);
  /// Adds `count` GPUs of `model`.
  zone_builder& gpu(std::string model, uint64_t memory_mb, double shader_model, uint32_t count);
  zone_builder& accelerator(std::string name);
  /// Measured latency from users in `region`; overrides distance-based estimates.
  zone_builder& latency(std::string region, double ms);
  zone_builder& cost(double per_instance_hour, double per_core_hour, double per_gpu_hour = 0);
  zone_builder& max_instances(uint32_t n);
  zone_builder& isolation(std::vector<std::string> kinds);
  /// Declares that the service-specific evaluator `name` is reachable from this zone.
  zone_builder& evaluator(std::string name);

  const protocols::zone_parameters& params() const { return p_; }
  operator const protocols::zone_parameters&() const { return p_; }

 private:
  protocols::zone_parameters p_;
};

/// Settings of every role the builder spawns: the node's config sections as they are,
/// each at its default (runtime::default_config()) unless set.
struct options {
  options();
  std::string data_dir;                   ///< Folder for SQLite files; "" = in-memory state.
  runtime::placement_config placement;    ///< [placement]: domain placement, zone offers.
  runtime::evaluator_config evaluator;    ///< [evaluator]: zone evaluators.
  runtime::instance_config instance;      ///< [instance]: stopping instances.
  runtime::deployment_config deployment;  ///< [deployment]: every deployment step.
  runtime::slots_config slots;            ///< [slots]: slot reports and their damping.
  runtime::scaling_config scaling;        ///< [scaling]: zone elasticity rules.
  /// [monitoring]: the zones' aggregation script, and its text ("" = none; filled from
  /// `monitoring.script` by topology::with_monitoring_script, or set by a test).
  runtime::monitoring_config monitoring;
  std::string monitoring_source;
  /// [gossip]: with mode "on", the domain and every zone get a gossip agent
  /// (docs/gossip.md): zones find the domain through it instead of `registry`.
  runtime::gossip_config gossip;
  /// Agents zones join through; empty = this node's seed entry (its domain's agent).
  std::vector<protocols::locator> gossip_seeds;
  /// Other domains' WAN agents this domain's WAN agent joins ([gossip] wan_seeds at their
  /// entry gossip::wan_seed_name); empty = no WAN agent.
  std::vector<protocols::locator> gossip_wan_seeds;
  gossip::domain_trust trust;  ///< Keys trusted to advertise domains (plus `identity`'s).
  /// Signs this node's domain advertisement; null = an ephemeral key made on first use.
  std::shared_ptr<const link::identity> identity;
  uint64_t seed = 1;  ///< [node] seed: of the agents' random choices.
  /// Tests only: whether a gossip message from member `from` to member `to` (or to a seed
  /// entry, "gossip") gets through: simulated loss and partitions. Null = all do.
  std::function<bool(const std::string& from, const std::string& to)> gossip_network;
  /// The zone registry zones register with: this node's, or (a zone node without the
  /// domain role) the first [[peer]] of role "node"'s.
  protocols::locator registry{"", protocols::names::zone_registry};
};

/// Role settings from a node config: its sections and node.data_dir.
options options_from(const runtime::node_config& nc);

/// The key every role of this process signs with and trusts when the node has no
/// [link] identity: made once per process.
std::shared_ptr<const link::identity> ephemeral_identity();

/// The launcher of in-process DCs: a service instance actor (actors/service) per launch,
/// reporting its slots as `slots` says (instance_report_ms, refresh_ms) and ending sessions
/// silent for `session_timeout_ms` ([instance]). The zone role gets it from here, so it never
/// depends on the service role.
zone::instance_launcher in_process_instances(
    const runtime::slots_config& slots = runtime::default_config().slots,
    protocols::duration_ms session_timeout_ms =
        runtime::default_config().instance.session_timeout_ms);

/// A domain with zones in one actor system. Shuts every role down when destroyed.
class topology {
 public:
  explicit topology(caf::actor_system& sys, options opts = {});

  /// A topology whose roles register in an existing directory (a node's shared one).
  topology(caf::actor_system& sys, options opts, runtime::directory_ptr dir);
  ~topology();
  topology(const topology&) = delete;
  topology& operator=(const topology&) = delete;

  /// Spawns the domain functions: registrar, zone registry, placement, deployment.
  topology& with_domain();

  /// Spawns a zone manager; it registers with the zone registry once it runs.
  topology& with_zone(const protocols::zone_parameters& zone);

  /// Spawns a zone manager that also publishes its slots to `slot_sinks` (service routers).
  topology& with_zone(const protocols::zone_parameters& zone,
                      std::vector<protocols::locator> slot_sinks);

  /// Spawns a service router (names::router(cfg.name)) with the topology's [slots].
  topology& with_router(router::router_config cfg);

  /// Registers `evaluator` as the service-specific evaluator `name`.
  topology& with_evaluator(const std::string& name, caf::actor evaluator);

  /// Loads every [[evaluator_script]] and registers it as a Lua evaluator
  /// (actors/evaluator/lua_evaluator.hpp), or says which script cannot serve and why.
  caf::error with_evaluator_scripts(const std::vector<runtime::evaluator_script>& scripts);

  /// Reads and checks the [monitoring] script the zones spawned from now on run, or says
  /// why it cannot serve. No-op without one.
  caf::error with_monitoring_script();

  protocols::registrar_actor registrar() const;
  protocols::zone_registry_actor zone_registry() const;
  protocols::placement_actor placement() const;
  protocols::deployment_actor deployment() const;
  /// The zone manager of `zone_name`; invalid if there is none.
  protocols::zone_manager_actor zone(const std::string& zone_name) const;
  /// The service router called `name`; invalid if there is none.
  protocols::service_router_actor router(const std::string& name) const;
  /// Names of the zones spawned, in order.
  const std::vector<std::string>& zone_names() const { return zones_; }
  const runtime::directory_ptr& directory() const { return dir_; }
  const options& settings() const { return opts_; }

  /// Spawns a zone manager per zone in waves of `wave`, each wave registered before the next
  /// starts (a registry flooded with 100,000 registrations at once times most of them out),
  /// then returns as await_registrations() does for the zones of the wave that failed.
  caf::error with_zones(const std::vector<protocols::zone_parameters>& zones,
                        protocols::duration_ms timeout_ms, size_t wave = 2'000);

  /// With a zone registry in the directory: waits until the registry has answered every
  /// zone's registration. A zone it refused, or whose registration got no answer within
  /// 2 x `timeout_ms`, is an error naming the zone (a node then exits non-zero instead of
  /// running without it). Without a registry: nothing to wait for.
  caf::error await_registrations(protocols::duration_ms timeout_ms) const {
    return await_registrations(timeout_ms, zones_);
  }

  /// await_registrations() for the zones named in `names` only.
  caf::error await_registrations(protocols::duration_ms timeout_ms,
                                 std::vector<std::string> names) const;

  /// Stops every actor the builder spawned and clears the directory. Idempotent.
  void shutdown();

  /// The signed advertisement of this topology's domain (with_domain with gossip on).
  std::optional<protocols::domain_advertisement> advertisement() const;

 private:
  void with_domain_agent();
  void with_zone_agent(const protocols::zone_parameters& zone);
  const link::identity& identity();

  caf::actor_system& sys_;
  options opts_;
  runtime::directory_ptr dir_;
  std::vector<std::string> zones_;
  std::vector<caf::actor> spawned_;
  std::optional<protocols::domain_advertisement> advertisement_;
  mutable std::mutex mtx_;  // a zone's agent may bootstrap the domain from its own thread
};

}  // namespace fusion::topology
