#include "actors/zone/zone_state.hpp"

namespace fusion::zone::manager {

/// Reports resources and services to the registry once the current burst of changes is over.
void schedule_report(self_ptr self) {
  auto& st = self->state;
  if (!st.registry || st.flush_scheduled) return;
  st.flush_scheduled = true;
  self->send(self, flush_atom::value);
}

/// Reports a reservation-only change within report_interval_ms: offers come and go at the
/// placement rate, and a report for each would flood the registry with soft state that
/// placement does not need (offers are binding; a zone never over-commits).
void schedule_damped_report(self_ptr self) {
  auto& st = self->state;
  if (!st.registry || st.flush_scheduled || st.damped_flush_scheduled) return;
  st.damped_flush_scheduled = true;
  self->delayed_send(self, ms(st.cfg.report_interval_ms), damped_flush_atom::value);
}

void flush_reports(self_ptr self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (!st.registry) return;
  std::vector<service_report> services;
  for (const auto& i : st.instances) {
    if (i.withdrawn) continue;
    auto s = std::find_if(services.begin(), services.end(),
                          [&](const service_report& r) { return r.service == i.service; });
    if (s == services.end()) {
      services.push_back(service_report{i.service, 0, 0, 0});
      s = services.end() - 1;
    }
    ++s->instances;
    s->max_sessions += i.max_sessions;
    s->available_sessions += live_available(self, i);
  }
  // Fire-and-forget: reports are soft state, superseded by the next one. A request would
  // arm a timer per report (never cancelled in CAF 0.17) on the placement hot path.
  caf::anon_send(st.registry, update_resource_information{st.zone_id, st.free()});
  caf::anon_send(st.registry, update_service_information{st.zone_id, std::move(services)});
}

}  // namespace fusion::zone::manager
