#pragma once
// The domain registrar (§5.4.1, §5.5.1.1, §5.5.1.2): accepts service manifests from
// providers, validates them, stores them durably before answering with a ServiceID, and
// optionally pre-deploys instances through the deployment function. docs/registrar.md.

#include "protocols/orchestration_management.hpp"
#include "runtime/config.hpp"
#include "runtime/directory.hpp"

#include <caf/actor_system.hpp>

#include <string>

namespace fusion::domain {

/// Settings of one registrar.
struct registrar_config {
  /// SQLite database file; "" or ":memory:" keeps registrations in memory only.
  std::string db_path;
  /// [deployment]: step_timeout_ms, how long registration waits for pre-deployment (and
  /// unregistration for stopping instances) before answering without it.
  runtime::deployment_config deployment = runtime::default_config().deployment;
  registrar_config() = default;
};

/// Name of the store table that holds service_record entries, keyed by ServiceID.
inline constexpr const char* services_table = "services";

/// Spawns a registrar that loads every stored registration, and registers it in `dir` under
/// protocols::names::registrar (replacing a previous one).
protocols::registrar_actor spawn_registrar(caf::actor_system& sys, registrar_config cfg,
                                           runtime::directory_ptr dir);

}  // namespace fusion::domain
