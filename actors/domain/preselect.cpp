#include "actors/domain/preselect.hpp"

#include "runtime/names.hpp"

#include <algorithm>
#include <cstdio>

namespace fusion::domain {

namespace {

using protocols::deploy_parameters;
using protocols::gpu_spec;
using protocols::manifest;
using protocols::zone_record;
using runtime::gpu_model_matches;
using runtime::has_name;
using runtime::same_name;

std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (const auto& x : xs) out += (out.empty() ? "" : ", ") + x;
  return out.empty() ? "none" : out;
}

std::string shader(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", x);
  return buf;
}

/// Returns true if one instance fits. Builds the reason into `why` only when it does not fit
/// and `why` is given, so the feasible path and unreported rejections never allocate.
bool check(const zone_record& z, const manifest& m, const deploy_parameters& d, std::string* why) {
  const auto& p = z.parameters;
  const auto& r = z.resources;
  const auto& hw = m.hardware;
  auto no = [&](const std::string& reason) {
    if (why != nullptr) *why = reason;
    return false;
  };
  if (!m.fixed_zones.empty()) {
    bool listed = false;
    for (const auto& f : m.fixed_zones) listed = listed || f == p.name || f == z.zone_id.value;
    if (!listed) return no("not among mapping.fixed_zones (" + join(m.fixed_zones) + ")");
  }
  if (!r.healthy) return no("unhealthy according to its last resource report");
  const auto& region = p.location.region;
  if (!m.allowed_regions.empty() && !has_name(m.allowed_regions, region))
    return no("region '" + region + "' is not in security.allowed_regions (" +
              join(m.allowed_regions) + ")");
  if (has_name(m.denied_regions, region))
    return no("region '" + region + "' is in security.denied_regions");
  if (!d.region.empty() && !same_name(d.region, region))
    return no("region '" + region + "' is not the requested region '" + d.region + "'");
  if (!hw.os.empty() && !same_name(hw.os, p.os))
    return no("runs os '" + p.os + "', the service needs '" + hw.os + "'");
  if (!m.isolation.empty() && !has_name(p.isolation, m.isolation))
    return no("offers isolation " + join(p.isolation) + ", the service needs '" + m.isolation +
              "'");
  for (const auto& acc : hw.accelerators)
    if (!has_name(p.accelerators, acc))
      return no("missing accelerator '" + acc + "' (has " + join(p.accelerators) + ")");
  if (p.max_instances > 0 && r.instances + r.reservations >= p.max_instances)
    return no("at its instance cap (" + std::to_string(p.max_instances) + " running or reserved)");
  if (r.free_cpu_cores < hw.cpu_cores)
    return no("needs " + std::to_string(hw.cpu_cores) + " free CPU cores per instance, has " +
              std::to_string(r.free_cpu_cores) + " free");
  if (r.free_memory_mb < hw.memory_mb)
    return no("needs " + std::to_string(hw.memory_mb) + " MB free memory per instance, has " +
              std::to_string(r.free_memory_mb) + " MB free");
  bool needs_gpu =
      hw.gpus > 0 || !hw.gpu_model.empty() || hw.gpu_memory_mb > 0 || hw.min_shader_model > 0;
  if (!needs_gpu) return true;
  uint32_t need = std::max<uint32_t>(1, hw.gpus);
  auto model_ok = [&](const gpu_spec& g) { return gpu_model_matches(g.model, hw.gpu_model); };
  auto memory_ok = [&](const gpu_spec& g) { return g.memory_mb >= hw.gpu_memory_mb; };
  auto shader_ok = [&](const gpu_spec& g) { return g.shader_model >= hw.min_shader_model; };
  bool fits = false;
  for (const auto& g : p.gpus)
    fits = fits || (g.count >= need && model_ok(g) && memory_ok(g) && shader_ok(g));
  if (fits && r.free_gpus >= need) return true;
  if (why == nullptr) return false;
  // Explain the first requirement no GPU of the zone meets, narrowing step by step.
  uint32_t total = 0;
  for (const auto& g : p.gpus) total += g.count;
  if (total == 0) return no("has no GPU, the service needs " + std::to_string(need));
  std::vector<const gpu_spec*> left;
  for (const auto& g : p.gpus)
    if (g.count > 0 && model_ok(g)) left.push_back(&g);
  if (left.empty()) {
    std::vector<std::string> models;
    for (const auto& g : p.gpus) models.push_back(g.model);
    return no("no GPU model matching '" + hw.gpu_model + "' (has " + join(models) + ")");
  }
  uint64_t best_mem = 0;
  for (auto g : left) best_mem = std::max(best_mem, g->memory_mb);
  std::erase_if(left, [&](const gpu_spec* g) { return !memory_ok(*g); });
  if (left.empty())
    return no("no GPU with >= " + std::to_string(hw.gpu_memory_mb) + " MB memory (best has " +
              std::to_string(best_mem) + " MB)");
  double best_shader = 0;
  for (auto g : left) best_shader = std::max(best_shader, g->shader_model);
  std::erase_if(left, [&](const gpu_spec* g) { return !shader_ok(*g); });
  if (left.empty())
    return no("no GPU with shader model >= " + shader(hw.min_shader_model) + " (best has " +
              shader(best_shader) + ")");
  uint32_t most = 0;
  for (auto g : left) most = std::max(most, g->count);
  if (most < need)
    return no("needs " + std::to_string(need) + " GPUs of one matching model per instance, has " +
              std::to_string(most));
  return no("needs " + std::to_string(need) + " free GPUs per instance, has " +
            std::to_string(r.free_gpus) + " free");
}

}  // namespace

std::string check_hard_constraints(const zone_record& zone, const manifest& service,
                                   const deploy_parameters& deploy) {
  std::string why;
  check(zone, service, deploy, &why);
  return why;
}

preselect_result preselect(const std::vector<zone_record>& zones, const manifest& service,
                           const deploy_parameters& deploy, size_t k, size_t start,
                           const std::map<std::string, uint32_t>* fenced) {
  preselect_result out;
  // mapping.fixed_zones naming a zone the domain does not know (by name or id) is reported,
  // not silently ignored: a misspelt name would otherwise read as "no feasible zone".
  for (const auto& f : service.fixed_zones) {
    bool known = std::any_of(zones.begin(), zones.end(), [&](const zone_record& z) {
      return z.parameters.name == f || z.zone_id.value == f;
    });
    if (!known) out.rejected.push_back({{}, f, {}, protocols::refusal_code::unknown_zone});
  }
  auto n = zones.size();
  if (n == 0 || k == 0) return out;
  start %= n;
  for (size_t i = 0; i < n; ++i) {
    auto idx = (start + i) % n;
    const auto& z = zones[idx];
    out.scanned = i + 1;
    if (fenced != nullptr && !fenced->empty() && fenced->count(z.zone_id.value) > 0) {
      if (out.rejected.size() < max_reported_rejections)
        out.rejected.push_back({z.zone_id, z.parameters.name,
                                "declared dead by gossip; fenced until it registers again",
                                protocols::refusal_code::unreachable});
      continue;
    }
    if (out.rejected.size() < max_reported_rejections) {
      std::string why;
      if (check(z, service, deploy, &why)) {
        out.candidates.push_back(idx);
      } else {
        out.rejected.push_back({z.zone_id, z.parameters.name, std::move(why),
                                protocols::refusal_code::hard_constraint});
      }
    } else if (check(z, service, deploy, nullptr)) {
      out.candidates.push_back(idx);
    }
    if (out.candidates.size() == k) break;
  }
  out.next_start = (start + out.scanned) % n;
  return out;
}

protocols::resource_report full_capacity(const protocols::zone_parameters& params) {
  protocols::resource_report r;
  r.free_cpu_cores = params.cpu_cores;
  r.free_memory_mb = params.memory_mb;
  for (const auto& g : params.gpus) r.free_gpus += g.count;
  r.healthy = true;
  return r;
}

}  // namespace fusion::domain
