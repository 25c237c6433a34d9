#pragma once
// Monitoring aggregation (§6.3.4.2; docs/shell.md, "Lua inside the runtime"): a Lua script
// that turns a zone's probe samples into higher-level indicators. The node's [monitoring]
// script defines
//
//   function aggregate(samples) ... return { name = number, ... } end
//
// and every zone of the node runs it each [monitoring] interval_ms in its own sandbox, whose
// globals persist between runs (so a script can smooth, count or remember). `samples` holds
// the zone's capacity and free resources, each hosted instance with its slots, and each
// service's slot totals. The indicators it returns are the zone's until the next run: shown
// by get_zone_information as "indicator.<name>". A run that fails or exceeds its budget keeps
// the previous indicators and is counted, with its error shown as "aggregation_error".

#include "actors/zone/zone_state.hpp"
#include "scripting/sandbox.hpp"

#include <caf/expected.hpp>

#include <map>
#include <memory>
#include <string>

namespace fusion::zone::manager {

/// A loaded aggregation script.
class aggregator {
 public:
  /// Loads `source` (chunk `name`) under `limits` and checks it defines `aggregate`, or
  /// says what is wrong with it (errc::invalid_config).
  static caf::expected<std::unique_ptr<aggregator>> load(const std::string& name,
                                                         const std::string& source,
                                                         scripting::budget limits);

  /// Runs aggregate(samples) over the zone's state: the indicators, or why it failed.
  caf::expected<std::map<std::string, double>> run(const zm_state& st, int64_t now_ms);

 private:
  explicit aggregator(std::unique_ptr<scripting::sandbox> sb) : sb_(std::move(sb)) {}
  std::unique_ptr<scripting::sandbox> sb_;
};

/// Loads the zone's aggregation script (if the config has one) and starts its timer; a
/// script that does not load is logged and shown as "aggregation_error".
void start_monitoring(self_ptr self);

/// One aggregation run, then the next one scheduled.
void monitor_tick(self_ptr self);

}  // namespace fusion::zone::manager
