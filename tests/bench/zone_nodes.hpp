#pragma once
// The cross-process setup of `fusion-bench placement --zone-nodes N`: the domain roles run in
// this process behind its links (listening on 127.0.0.1, a port the OS picks), and the zones
// run in N `fusion-node` child processes that dial it and register their zones with its
// zone registry — the layout of configs/cluster, made in a temporary folder (keys, configs,
// logs) that is removed again.

#include "actors/topology/topology.hpp"
#include "protocols/orchestration_management.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace fusion::link {
class node_links;
}

namespace fusion::bench {

class child_process;

/// What zone_nodes::start sets up.
struct zone_nodes_settings {
  std::string fusion_node;                        ///< The fusion-node executable.
  size_t nodes = 2;                               ///< Zone node processes.
  std::vector<protocols::zone_parameters> zones;  ///< Zone i runs on node i % nodes.
  /// The domain's settings; the zone nodes get the same sections.
  topology::options roles;
  size_t threads = 2;              ///< Scheduler threads of every process (node default).
  std::string policy = "sharing";  ///< Scheduler policy of every process (node default).
  /// Time the zone nodes get to start and register every zone.
  std::chrono::seconds startup_timeout{120};
};

/// A domain in this process whose zones run in child fusion-node processes. Destruction
/// stops the domain and the links, stops every child by its pid and removes the folder.
class zone_nodes {
 public:
  /// Starts the domain and its links, then the zone nodes, and returns once every zone is
  /// registered; nullptr and `error` set (what failed, with the end of a child's log) when
  /// something cannot start, a child ends, or the deadline passes first.
  static std::unique_ptr<zone_nodes> start(const zone_nodes_settings& s, std::string& error);

  ~zone_nodes();
  zone_nodes(const zone_nodes&) = delete;
  zone_nodes& operator=(const zone_nodes&) = delete;

  /// The actor system the domain runs in.
  caf::actor_system& system() { return *sys_; }

  /// The domain's placement function.
  protocols::placement_actor placement() const;

  /// CPU seconds (user + system) the zone node processes have used so far.
  double children_cpu_seconds() const;

  /// "" while every zone node runs; otherwise which one ended, how and `when` ("during the
  /// measurement"), with the end of its log.
  std::string check_children(const std::string& when);

 private:
  zone_nodes() = default;
  bool launch(const zone_nodes_settings& s, std::string& error);
  bool await_zones(const zone_nodes_settings& s, std::string& error);

  std::string dir_;  // the temporary folder
  std::unique_ptr<caf::actor_system_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<link::node_links> links_;
  std::unique_ptr<topology::topology> topo_;
  std::vector<std::string> names_;  // of the zone nodes, as children_
  std::vector<std::unique_ptr<child_process>> children_;
};

}  // namespace fusion::bench
