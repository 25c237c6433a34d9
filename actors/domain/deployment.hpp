#pragma once
// The domain deployment function (§5.4.4, §5.5.1.3): deploys instances of a registered
// service. It checks the caller owns the service, asks the placement function for zones,
// deploys in each chosen zone using that zone's offer (a binding reservation), and stores
// an instance record before answering. All or nothing: if any zone fails, the instances
// already started are terminated and the error is returned.

#include "protocols/orchestration_management.hpp"
#include "runtime/config.hpp"
#include "runtime/directory.hpp"

#include <caf/actor_system.hpp>

#include <string>

namespace fusion::domain {

/// Settings of the deployment function: its store and the node's config sections it uses.
struct deployment_settings {
  /// SQLite database file for instance records; "" keeps them in memory only.
  std::string db_path;
  /// [deployment]: step_timeout_ms, the time each step (registrar query, placement, a
  /// zone's deployment) may take.
  runtime::deployment_config deployment = runtime::default_config().deployment;
  /// [instance]: stop_timeout_ms, the graceful stop period when stop_service_instances
  /// gives none.
  runtime::instance_config instance = runtime::default_config().instance;
};

/// Name of the store table holding instance_record entries, keyed by InstanceID.
inline constexpr const char* instances_table = "instances";

/// Spawns the deployment function, loads stored instance records, and registers it in
/// `dir` as protocols::names::deployment.
protocols::deployment_actor spawn_deployment(caf::actor_system& sys, deployment_settings cfg,
                                             runtime::directory_ptr dir);

}  // namespace fusion::domain
