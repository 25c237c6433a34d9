#include "runtime/zone_check.hpp"

#include "runtime/text.hpp"

#include <cmath>
#include <cstdio>

namespace fusion::runtime {

namespace {

std::string num(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", x);
  return buf;
}

}  // namespace

std::optional<zone_problem> check_zone_parameters(const protocols::zone_parameters& p) {
  auto bad = [](std::string field, std::string what) {
    return zone_problem{std::move(field), std::move(what)};
  };
  bool name_ok = !p.name.empty() && p.name.size() <= 64;
  for (auto c : p.name)
    name_ok = name_ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_');
  if (!name_ok)
    return bad("name",
               "must be 1-64 letters, digits, '.', '-' or '_', found '" + echoed(p.name) + "'");
  if (p.cpu_cores == 0) return bad("cpu_cores", "must be > 0 (found 0)");
  if (p.memory_mb == 0) return bad("memory_mb", "must be > 0 (found 0)");
  const auto& loc = p.location;
  if (!std::isfinite(loc.latitude) || loc.latitude < -90 || loc.latitude > 90)
    return bad("location.latitude", "must be between -90 and 90, found " + num(loc.latitude));
  if (!std::isfinite(loc.longitude) || loc.longitude < -180 || loc.longitude > 180)
    return bad("location.longitude", "must be between -180 and 180, found " + num(loc.longitude));
  for (size_t i = 0; i < p.gpus.size(); ++i) {
    const auto& g = p.gpus[i];
    auto at = "gpus[" + std::to_string(i) + "]";
    if (g.model.empty()) return bad(at + ".model", "must name the GPU model");
    if (g.count == 0) return bad(at + ".count", "must be > 0 (found 0)");
    if (!std::isfinite(g.shader_model) || g.shader_model < 0)
      return bad(at + ".shader_model", "must be >= 0, found " + num(g.shader_model));
  }
  for (const auto& iso : p.isolation)
    if (iso != "container" && iso != "vm" && iso != "bare-metal")
      return bad("isolation",
                 "must list only container, vm or bare-metal, found '" + echoed(iso) + "'");
  for (auto [field, v] : {std::pair{"cost_per_instance_hour", p.cost_per_instance_hour},
                          std::pair{"cost_per_core_hour", p.cost_per_core_hour},
                          std::pair{"cost_per_gpu_hour", p.cost_per_gpu_hour}})
    if (!std::isfinite(v) || v < 0) return bad(field, "must be >= 0, found " + num(v));
  for (const auto& [region, ms] : p.latency_ms)
    if (!std::isfinite(ms) || ms < 0)
      return bad("latency_ms." + region, "must be >= 0, found " + num(ms));
  return std::nullopt;
}

}  // namespace fusion::runtime
