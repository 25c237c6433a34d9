#include "tests/bench/bench_zones.hpp"

#include <chrono>
#include <iostream>

namespace fusion::bench {

using namespace protocols;

fusion_id registered_zone_id(caf::scoped_actor& self, const zone_manager_actor& zm,
                             const std::string& name) {
  zone_registration reg;
  self->request(zm, std::chrono::seconds(10), get_zone_registration{})
      .receive([&](zone_registration& r) { reg = std::move(r); },
               [&](caf::error& e) { std::cerr << "zone " << name << ": " << describe(e) << "\n"; });
  if (reg.zone_id.empty()) std::cerr << "zone " << name << " did not register\n";
  return reg.zone_id;
}

bool deploy_bench_service(caf::scoped_actor& self, const zone_manager_actor& zm,
                          const service_uri& service, size_t instances, size_t slots) {
  zone_deploy_service d;
  d.service_name = service;
  d.deploy.instances = static_cast<uint32_t>(instances);
  d.service.name = service;
  d.service.hardware.cpu_cores = 1;
  d.service.hardware.memory_mb = 64;
  d.service.sessions_per_instance = static_cast<uint32_t>(slots);
  bool deployed = false;
  self->request(zm, std::chrono::seconds(60), std::move(d))
      .receive([&](deploy_service_reply&) { deployed = true; },
               [&](caf::error& e) { std::cerr << describe(e) << "\n"; });
  return deployed;
}

}  // namespace fusion::bench
