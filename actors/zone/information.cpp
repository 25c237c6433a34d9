#include "actors/zone/zone_state.hpp"

namespace fusion::zone::manager {

namespace {

struct service_info_ctx {
  caf::typed_response_promise<information> rp;
  information info;
  size_t pending = 0;
  uint64_t available = 0;
  uint64_t max_sessions = 0;
  uint64_t unreachable = 0;
};

void service_info_done(std::shared_ptr<service_info_ctx> ctx) {
  if (--ctx->pending > 0) return;
  ctx->info.values["available_sessions"] = std::to_string(ctx->available);
  ctx->info.values["max_sessions"] = std::to_string(ctx->max_sessions);
  ctx->info.values["unreachable"] = std::to_string(ctx->unreachable);
  ctx->rp.deliver(std::move(ctx->info));
}

}  // namespace

caf::result<information> service_information(self_ptr self, const get_service_information& req) {
  auto& st = self->state;
  auto ctx = std::make_shared<service_info_ctx>();
  ctx->info.category = req.category;
  auto& v = ctx->info.values;
  v["zone"] = st.zone();
  v["service"] = req.service_name;
  std::vector<service_lifecycle_actor> targets;
  size_t count = 0;
  for (const auto& i : st.instances) {
    if (i.withdrawn || i.service != req.service_name) continue;
    ++count;
    if (req.category != info_category::summary) v["instance." + i.id] = i.where.actor;
    if (auto h = caf::actor_cast<service_lifecycle_actor>(st.dir->resolve(i.where)))
      targets.push_back(h);
    else
      ++ctx->unreachable;
  }
  v["instances"] = std::to_string(count);
  if (targets.empty()) {
    ctx->pending = 1;
    ctx->rp = self->make_response_promise<information>();
    auto rp = ctx->rp;
    service_info_done(ctx);
    return rp;
  }
  ctx->pending = targets.size();
  ctx->rp = self->make_response_promise<information>();
  for (auto& h : targets)
    self->request(h, ms(st.cfg.info_timeout_ms), get_available_sessions{})
        .then(
            [=](available_sessions& a) {
              ctx->available += a.available;
              ctx->max_sessions += a.max_sessions;
              service_info_done(ctx);
            },
            [=](caf::error&) {
              ++ctx->unreachable;
              service_info_done(ctx);
            });
  return ctx->rp;
}

information zone_information(self_ptr self, const get_zone_information& req) {
  auto& st = self->state;
  const auto& p = st.cfg.parameters;
  information info;
  info.category = req.category;
  auto& v = info.values;
  auto free = st.free();
  v["zone"] = p.name;
  v["zone_id"] = st.zone_id.value;
  switch (st.registration.state) {
    case zone_registration_state::registered:
      v["registration"] = "registered";
      break;
    case zone_registration_state::failed:
      v["registration"] = "failed: " + st.registration.failure;
      break;
    default:
      v["registration"] = "not registered";
  }
  v["region"] = p.location.region;
  v["cpu_cores"] = std::to_string(p.cpu_cores);
  v["memory_mb"] = std::to_string(p.memory_mb);
  v["gpus"] = std::to_string(st.ledger.capacity().gpus);
  v["max_instances"] = std::to_string(p.max_instances);
  v["free_cpu_cores"] = std::to_string(free.free_cpu_cores);
  v["free_memory_mb"] = std::to_string(free.free_memory_mb);
  v["free_gpus"] = std::to_string(free.free_gpus);
  v["instances"] = std::to_string(free.instances);
  v["reservations"] = std::to_string(free.reservations);
  v["reserved_instances"] = std::to_string(st.ledger.held().instances);
  v["offers_made"] = std::to_string(st.offers_made);
  v["offers_declined"] = std::to_string(st.offers_declined);
  v["offers_expired"] = std::to_string(st.offers_expired);
  v["offers_released"] = std::to_string(st.offers_released);
  v["deployed"] = std::to_string(st.deployed);
  v["deploy_failures"] = std::to_string(st.deploy_failures);
  v["terminated_graceful"] = std::to_string(st.stopped_graceful);
  v["terminated_forced"] = std::to_string(st.stopped_forced);
  const auto& c = st.slot_rows.counters();
  v["slot_rows"] = std::to_string(st.slot_rows.size());
  v["slot_reports_accepted"] = std::to_string(c.accepted);
  v["slot_reports_dropped"] = std::to_string(c.duplicates + c.stale + c.invalid + st.slots_unknown);
  v["slot_reports_unknown"] = std::to_string(st.slots_unknown);
  v["slot_rows_expired"] = std::to_string(c.expired);
  v["slot_batches_published"] = std::to_string(st.slot_batches);
  v["scale_outs"] = std::to_string(st.scale_outs);
  if (!st.cfg.monitoring_source.empty()) {
    v["aggregations"] = std::to_string(st.aggregations);
    v["aggregation_failures"] = std::to_string(st.aggregation_failures);
    if (!st.aggregation_error.empty()) v["aggregation_error"] = st.aggregation_error;
    for (const auto& [name, x] : st.indicators) v["indicator." + name] = fmt::format("{}", x);
  }
  v["scale_ins"] = std::to_string(st.scale_ins);
  v["scale_overflows"] = std::to_string(st.overflows);
  std::string decisions;
  for (const auto& d : st.decisions) decisions += (decisions.empty() ? "" : "\n") + d;
  v["scaling_decisions"] = decisions;
  v["cache_hits"] = std::to_string(st.cache.hits());
  v["cache_misses"] = std::to_string(st.cache.misses());
  if (req.category != info_category::summary)
    for (const auto& i : st.instances)
      v["instance." + i.id] = i.service + (i.withdrawn ? " stopping" : " running");
  return info;
}

}  // namespace fusion::zone::manager
