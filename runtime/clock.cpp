#include "runtime/clock.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/scheduler/test_coordinator.hpp>

namespace fusion::runtime {

bool simulated_time(const caf::actor_system& sys) {
  auto& scheduler = const_cast<caf::actor_system&>(sys).scheduler();
  return dynamic_cast<caf::scheduler::test_coordinator*>(&scheduler) != nullptr;
}

protocols::timestamp_ms wall_now(const caf::actor_system& sys) {
  using namespace std::chrono;
  if (!simulated_time(sys))
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  auto base = caf::get_or(sys.config(), simulated_wall_clock_key, protocols::timestamp_ms{0});
  return base + duration_cast<milliseconds>(mono_now(sys).time_since_epoch()).count();
}

}  // namespace fusion::runtime
