#include "actors/domain/preselect.hpp"

#include "actors/evaluator/generic.hpp"
#include "runtime/names.hpp"

#include <doctest/doctest.h>

#include <cctype>
#include <functional>

using namespace fusion;
using namespace fusion::protocols;
using fusion::domain::check_hard_constraints;
using fusion::domain::preselect;

namespace {

zone_record make_zone(const std::string& name, const std::string& region = "eu-west",
                      uint32_t cores = 16, uint64_t memory_mb = 65536) {
  zone_record z;
  z.zone_id = {"zone-" + name};
  z.parameters.name = name;
  z.parameters.location = {region, 50, 4};
  z.parameters.cpu_cores = cores;
  z.parameters.memory_mb = memory_mb;
  z.resources = domain::full_capacity(z.parameters);
  return z;
}

zone_record gpu_zone(const std::string& name, std::vector<gpu_spec> gpus) {
  auto z = make_zone(name);
  z.parameters.gpus = std::move(gpus);
  z.resources = domain::full_capacity(z.parameters);
  return z;
}

manifest small() {
  manifest m;
  m.name = "fusion://acme/x";
  m.hardware.cpu_cores = 2;
  m.hardware.memory_mb = 1024;
  return m;
}

std::string check(const zone_record& z, const manifest& m, const deploy_parameters& d = {}) {
  return check_hard_constraints(z, m, d);
}

}  // namespace

TEST_CASE("preselect: a zone meeting every hard constraint is feasible") {
  auto m = small();
  m.hardware.accelerators = {"H264-Encoder"};
  m.isolation = "vm";
  m.allowed_regions = {"eu-west"};
  auto z = make_zone("edge-1");
  z.parameters.accelerators = {"h264-encoder"};
  z.parameters.isolation = {"container", "vm"};
  CHECK(check(z, m) == "");
}

TEST_CASE("preselect: CPU and memory are judged against free resources, else capacity") {
  auto m = small();
  m.hardware.cpu_cores = 8;
  m.hardware.memory_mb = 4096;
  auto z = make_zone("edge-1", "eu-west", 4, 65536);
  CHECK(check(z, m) == "needs 8 free CPU cores per instance, has 4 free");
  z = make_zone("edge-1", "eu-west", 16, 2048);
  CHECK(check(z, m) == "needs 4096 MB free memory per instance, has 2048 MB free");
  z = make_zone("edge-1");
  CHECK(check(z, m) == "");
  z.resources.free_cpu_cores = 3;  // a report: most cores are in use
  CHECK(check(z, m) == "needs 8 free CPU cores per instance, has 3 free");
}

TEST_CASE("preselect: GPU model, memory, shader model, count and free GPUs are explained") {
  auto m = small();
  m.hardware.min_shader_model = 6.0;
  CHECK(check(make_zone("cpu-only"), m) == "has no GPU, the service needs 1");
  auto z = gpu_zone("gpu-dc-1", {{"nvidia-t4", 16384, 5.0, 4}, {"amd-mi50", 8192, 4.0, 2}});
  CHECK(check(z, m) == "no GPU with shader model >= 6.0 (best has 5.0)");
  m.hardware.min_shader_model = 5.0;
  CHECK(check(z, m) == "");
  m.hardware.gpu_model = "A100";
  CHECK(check(z, m) == "no GPU model matching 'A100' (has nvidia-t4, amd-mi50)");
  m.hardware.gpu_model = "t4";
  m.hardware.gpu_memory_mb = 32768;
  CHECK(check(z, m) == "no GPU with >= 32768 MB memory (best has 16384 MB)");
  m.hardware.gpu_memory_mb = 8192;
  m.hardware.gpus = 8;
  CHECK(check(z, m) == "needs 8 GPUs of one matching model per instance, has 4");
  m.hardware.gpus = 2;
  CHECK(check(z, m) == "");
  z.resources.free_gpus = 1;
  CHECK(check(z, m) == "needs 2 free GPUs per instance, has 1 free");
}

TEST_CASE("preselect: os, isolation and accelerators must be offered by the zone") {
  auto m = small();
  auto z = make_zone("edge-1");
  z.parameters.os = "windows";
  CHECK(check(z, m) == "runs os 'windows', the service needs 'linux'");
  z = make_zone("edge-1");
  m.isolation = "bare-metal";
  CHECK(check(z, m) == "offers isolation container, the service needs 'bare-metal'");
  m.isolation = "";
  m.hardware.accelerators = {"h264-encoder"};
  z.parameters.accelerators = {"fpga"};
  CHECK(check(z, m) == "missing accelerator 'h264-encoder' (has fpga)");
}

TEST_CASE("preselect: security regions, the requested region and fixed zones are enforced") {
  auto m = small();
  auto z = make_zone("us-1", "us-east");
  m.allowed_regions = {"eu-west", "eu-central"};
  CHECK(check(z, m) == "region 'us-east' is not in security.allowed_regions (eu-west, eu-central)");
  m.allowed_regions.clear();
  m.denied_regions = {"US-EAST"};
  CHECK(check(z, m) == "region 'us-east' is in security.denied_regions");
  m.denied_regions.clear();
  deploy_parameters d;
  d.region = "eu-west";
  CHECK(check(z, m, d) == "region 'us-east' is not the requested region 'eu-west'");
  m.fixed_zones = {"edge-1", "zone-edge-2"};
  CHECK(check(z, m) == "not among mapping.fixed_zones (edge-1, zone-edge-2)");
  CHECK(check(make_zone("edge-1"), m) == "");
  CHECK(check(make_zone("edge-2"), m) == "");  // listed by ZoneID
}

TEST_CASE("preselect: unhealthy zones and zones at their instance cap are excluded") {
  auto m = small();
  auto z = make_zone("edge-1");
  z.resources.healthy = false;
  CHECK(check(z, m) == "unhealthy according to its last resource report");
  z = make_zone("edge-1");
  z.parameters.max_instances = 3;
  z.resources.instances = 2;
  z.resources.reservations = 1;
  CHECK(check(z, m) == "at its instance cap (3 running or reserved)");
}

TEST_CASE("preselect: the scan stops after k feasible zones and the start rotates") {
  std::vector<zone_record> zones;
  for (int i = 0; i < 10; ++i)
    zones.push_back(make_zone("z" + std::to_string(i), i % 2 == 0 ? "eu-west" : "us-east"));
  auto m = small();
  m.allowed_regions = {"eu-west"};  // only even zones are feasible
  auto r1 = preselect(zones, m, {}, 2, 0);
  CHECK(r1.candidates == std::vector<size_t>{0, 2});
  CHECK(r1.scanned == 3);
  REQUIRE(r1.rejected.size() == 1);
  CHECK(r1.rejected[0].zone_name == "z1");
  CHECK(r1.rejected[0].zone_id.value == "zone-z1");
  CHECK(r1.next_start == 3);
  auto r2 = preselect(zones, m, {}, 2, r1.next_start);
  CHECK(r2.candidates == std::vector<size_t>{4, 6});
  auto r3 = preselect(zones, m, {}, 2, 8);
  CHECK(r3.candidates == std::vector<size_t>{8, 0});  // wraps around
  CHECK(r3.next_start == 1);
  auto all = preselect(zones, m, {}, 100, 7);
  CHECK(all.candidates.size() == 5);
  CHECK(all.scanned == 10);
  CHECK(all.rejected.size() == 5);
  CHECK(preselect({}, m, {}, 4, 3).candidates.empty());
}

TEST_CASE("preselect: at most max_reported_rejections rejections are returned") {
  std::vector<zone_record> zones;
  // Not "z" + std::to_string(i): GCC 12 at -O3 warns falsely there (stringop-overflow).
  for (int i = 0; i < 200; ++i)
    zones.push_back(make_zone(std::string{"z"}.append(std::to_string(i)), "us-east"));
  zones.push_back(make_zone("good", "eu-west"));
  auto m = small();
  m.allowed_regions = {"eu-west"};
  auto r = preselect(zones, m, {}, 4, 0);
  CHECK(r.rejected.size() == domain::max_reported_rejections);
  REQUIRE(r.candidates.size() == 1);
  CHECK(zones[r.candidates[0]].parameters.name == "good");
  CHECK(r.scanned == zones.size());
}

namespace {

// Spellings of a name as a user may write it.
std::vector<std::string> spellings(const std::string& name) {
  std::string upper = name;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string mixed = name;
  for (size_t i = 0; i < mixed.size(); i += 2)
    mixed[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(mixed[i])));
  return {name, upper, mixed};
}

// One name field: how a zone offers it and how a manifest or request asks for it.
struct name_field {
  const char* what;
  std::function<void(zone_record&, const std::string&)> offer;
  std::function<void(manifest&, deploy_parameters&, const std::string&)> ask;
};

std::vector<name_field> name_fields() {
  return {
      {"gpu model",
       [](zone_record& z, const std::string& x) {
         z.parameters.gpus = {{x + "-a100", 40960, 8.0, 4}};
       },
       [](manifest& m, deploy_parameters&, const std::string& x) {
         m.hardware.gpus = 1;
         m.hardware.gpu_model = x;
       }},
      {"accelerator",
       [](zone_record& z, const std::string& x) {
         z.parameters.accelerators = {"fpga", x};
       },
       [](manifest& m, deploy_parameters&, const std::string& x) {
         m.hardware.accelerators = {x};
       }},
      {"os", [](zone_record& z, const std::string& x) { z.parameters.os = x; },
       [](manifest& m, deploy_parameters&, const std::string& x) { m.hardware.os = x; }},
      {"isolation",
       [](zone_record& z, const std::string& x) {
         z.parameters.isolation = {"container", x};
       },
       [](manifest& m, deploy_parameters&, const std::string& x) { m.isolation = x; }},
      {"allowed region",
       [](zone_record& z, const std::string& x) { z.parameters.location.region = x; },
       [](manifest& m, deploy_parameters&, const std::string& x) {
         m.allowed_regions = {"ap-south", x};
       }},
      {"requested region",
       [](zone_record& z, const std::string& x) { z.parameters.location.region = x; },
       [](manifest&, deploy_parameters& d, const std::string& x) { d.region = x; }},
  };
}

// Scores the zone as its zone manager would after preselection.
evaluation score_as_zone(const zone_record& z, const manifest& m, const deploy_parameters& d) {
  evaluate req;
  req.zone = z.parameters;
  req.free = z.resources;
  req.service = m;
  req.deploy = d;
  return evaluator::score_zone(req);
}

}  // namespace

TEST_CASE("matching: preselection and scoring agree on every name, in any case") {
  // The rule (docs/placement.md, "Matching names"): a zone that passes preselection is never
  // refused by scoring for a name, and names match whatever their ASCII case.
  for (const auto& field : name_fields()) {
    for (const auto& offered : spellings("nvidia")) {
      for (const auto& asked : spellings("nvidia")) {
        CAPTURE(field.what);
        CAPTURE(offered);
        CAPTURE(asked);
        auto z = make_zone("edge-1");
        field.offer(z, offered);
        z.resources = domain::full_capacity(z.parameters);
        auto m = small();
        deploy_parameters d;
        d.instances = 1;
        field.ask(m, d, asked);
        CHECK(check(z, m, d) == "");
        auto ev = score_as_zone(z, m, d);
        CHECK_MESSAGE(ev.feasible, ev.details);
        // A different name is refused by both.
        field.ask(m, d, "amd");
        CHECK(check(z, m, d) != "");
        CHECK_FALSE(score_as_zone(z, m, d).feasible);
      }
    }
  }
}

TEST_CASE("matching: one name function, ASCII case-insensitive") {
  CHECK(runtime::same_name("Linux", "LINUX"));
  CHECK_FALSE(runtime::same_name("linux", "linux2"));
  CHECK(runtime::has_name({"vm", "Container"}, "CONTAINER"));
  CHECK_FALSE(runtime::has_name({}, "vm"));
  CHECK(runtime::gpu_model_matches("NVIDIA-A100", "a100"));
  CHECK(runtime::gpu_model_matches("nvidia-a100", ""));
  CHECK_FALSE(runtime::gpu_model_matches("nvidia-t4", "a100"));
  CHECK(runtime::lower("Eu-West-1") == "eu-west-1");
}

TEST_CASE("preselect: every mapping.fixed_zones entry the domain does not know is reported") {
  std::vector<zone_record> zones{make_zone("edge-1"), make_zone("edge-2")};
  auto m = small();
  m.fixed_zones = {"edge-1", "edge-9", "zone-edge-2", "Edge-3"};
  auto res = preselect(zones, m, {}, 16, 0);
  CHECK(res.candidates == std::vector<size_t>{0, 1});  // by name and by id
  std::vector<std::string> unknown;
  for (const auto& r : res.rejected)
    if (r.code == protocols::refusal_code::unknown_zone) unknown.push_back(r.zone_name);
  CHECK(unknown == std::vector<std::string>{"edge-9", "Edge-3"});
  // Also when no zone is known at all.
  CHECK(preselect({}, m, {}, 16, 0).rejected.size() == 4);
}
