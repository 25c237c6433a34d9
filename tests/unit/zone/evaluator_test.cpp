// Tests of the generic evaluator (actors/evaluator/generic.hpp): scoring per dimension,
// hard constraints with reasons, the evaluation cache and the evaluator actor.

#include "actors/evaluator/generic.hpp"
#include "tests/support/det_fixture.hpp"
#include "tests/unit/protocols/test_messages.hpp"

#include <doctest/doctest.h>

using namespace fusion;
using namespace fusion::protocols;
using namespace std::chrono_literals;

namespace {

evaluate base_request() {
  evaluate req;
  req.zone.name = "edge-1";
  req.zone.location = {"eu-west", 48.8566, 2.3522};  // Paris
  req.zone.cpu_cores = 16;
  req.zone.memory_mb = 32768;
  req.zone.cost_per_instance_hour = 0.10;
  req.zone.cost_per_core_hour = 0.05;
  req.zone.cost_per_gpu_hour = 1.0;
  req.free.free_cpu_cores = 16;
  req.free.free_memory_mb = 32768;
  req.service.name = "fusion://acme/game";
  req.service.hardware.cpu_cores = 2;
  req.service.hardware.memory_mb = 1024;
  req.deploy.instances = 2;
  return req;
}

}  // namespace

TEST_CASE("evaluator: a zone without a GPU of the required shader model is infeasible") {
  auto req = base_request();
  req.service.hardware.gpus = 1;
  req.service.hardware.min_shader_model = 5.0;
  req.zone.gpus = {{"nvidia-t4", 16384, 4.0, 4}};
  req.free.free_gpus = 4;
  auto ev = evaluator::score_zone(req);
  CHECK_FALSE(ev.feasible);
  CHECK(ev.scores.total == 0);
  CHECK(ev.details.find("shader model >= 5") != std::string::npos);
  CHECK(ev.code == protocols::refusal_code::infeasible);
  // Details complete the code; the zone is named at the edge, where it is not named already.
  CHECK(ev.details.find("edge-1") == std::string::npos);
  req.zone.gpus.push_back({"nvidia-a100", 40960, 8.0, 2});
  req.free.free_gpus = 6;
  ev = evaluator::score_zone(req);
  CHECK(ev.feasible);
  CHECK(ev.instances == 2);
  CHECK(ev.details.empty());
  CHECK(ev.code == protocols::refusal_code::none);
}

TEST_CASE("evaluator: hard constraints name what is missing") {
  auto req = base_request();
  req.service.hardware.accelerators = {"h264-encoder"};
  auto ev = evaluator::score_zone(req);
  CHECK_FALSE(ev.feasible);
  CHECK(ev.details.find("accelerator 'h264-encoder'") != std::string::npos);

  req = base_request();
  req.service.hardware.os = "windows";
  CHECK(evaluator::score_zone(req).details.find("needs windows") != std::string::npos);

  req = base_request();
  req.deploy.region = "us-east";
  CHECK(evaluator::score_zone(req).details.find("'us-east'") != std::string::npos);

  req = base_request();
  req.service.denied_regions = {"eu-west"};
  CHECK(evaluator::score_zone(req).details.find("denies") != std::string::npos);

  req = base_request();
  req.service.isolation = "vm";
  CHECK(evaluator::score_zone(req).details.find("'vm' isolation") != std::string::npos);

  req = base_request();
  req.service.hardware.cpu_cores = 64;
  auto big = evaluator::score_zone(req);
  CHECK_FALSE(big.feasible);
  CHECK(big.details.find("one instance needs 64 cores") != std::string::npos);
}

TEST_CASE("evaluator: capacity is the share of requested instances the free resources host") {
  auto req = base_request();
  req.free.free_cpu_cores = 4;
  req.deploy.instances = 4;
  auto ev = evaluator::score_zone(req);
  REQUIRE(ev.feasible);
  CHECK(ev.instances == 2);
  CHECK(ev.scores.capacity == doctest::Approx(0.5));
  req.free.free_memory_mb = 1024;  // memory now limits to one
  ev = evaluator::score_zone(req);
  CHECK(ev.instances == 1);
  CHECK(ev.scores.capacity == doctest::Approx(0.25));
  req.free.free_cpu_cores = 1;  // not even one instance
  ev = evaluator::score_zone(req);
  CHECK_FALSE(ev.feasible);
  CHECK(ev.details.find("no room for one instance") != std::string::npos);
  CHECK(ev.details.find("free are 1 cores") != std::string::npos);
}

TEST_CASE("evaluator: the zone's instance cap limits capacity") {
  auto req = base_request();
  req.zone.max_instances = 3;
  req.free.instances = 2;
  req.deploy.instances = 2;
  auto ev = evaluator::score_zone(req);
  REQUIRE(ev.feasible);
  CHECK(ev.instances == 1);
  req.free.instances = 3;
  CHECK_FALSE(evaluator::score_zone(req).feasible);
}

TEST_CASE("evaluator: measured latency wins over the distance estimate") {
  auto req = base_request();
  geo_location berlin{"eu-central", 52.52, 13.405};
  req.deploy.user_locations = {berlin};
  auto ev = evaluator::score_zone(req);
  REQUIRE(ev.feasible);
  auto km = evaluator::distance_km(48.8566, 2.3522, 52.52, 13.405);
  CHECK(km == doctest::Approx(878).epsilon(0.01));
  CHECK(ev.latency_ms == doctest::Approx(5.0 + km / 100.0));
  req.zone.latency_ms["eu-central"] = 42.0;
  ev = evaluator::score_zone(req);
  CHECK(ev.latency_ms == doctest::Approx(42.0));
  // The worst user decides.
  req.deploy.user_locations.push_back({"ap-south", 19.07, 72.87});
  auto far = evaluator::score_zone(req);
  CHECK(far.latency_ms > 60.0);
  CHECK(far.scores.get("network") < ev.scores.get("network"));
}

TEST_CASE("evaluator: network score decreases with latency and respects the budget") {
  auto req = base_request();
  req.deploy.user_locations = {{"r", 0, 0}};
  req.zone.latency_ms["r"] = 10;
  auto near = evaluator::score_zone(req).scores.get("network");
  req.zone.latency_ms["r"] = 80;
  auto far = evaluator::score_zone(req).scores.get("network");
  CHECK(near > far);
  req.deploy.latency_budget_ms = 40;
  auto over = evaluator::score_zone(req).scores.get("network");
  CHECK(over == doctest::Approx(0.5 * 40 / 80));
  req.zone.latency_ms["r"] = 20;
  CHECK(evaluator::score_zone(req).scores.get("network") == doctest::Approx(1.0 - 0.5 * 20 / 40));
}

TEST_CASE(
    "evaluator: cost follows the zone's model; the ceiling limits the instances offered and "
    "makes the zone infeasible only when one instance is above it") {
  auto req = base_request();
  // per instance: 0.10 + 2 cores * 0.05 = 0.20; two instances 0.40/h
  auto ev = evaluator::score_zone(req);
  REQUIRE(ev.feasible);
  CHECK(ev.cost == doctest::Approx(0.40));
  CHECK(ev.scores.get("cost") == doctest::Approx(1.0 / 1.2));
  req.service.cost_ceiling = 0.80;
  ev = evaluator::score_zone(req);
  CHECK(ev.scores.get("cost") == doctest::Approx(1.0 - 0.5 * 0.40 / 0.80));
  // The ceiling is for the whole request: under 0.30/h the zone offers the one instance that
  // fits (placement may add instances of cheaper zones), not nothing.
  req.service.cost_ceiling = 0.30;
  ev = evaluator::score_zone(req);
  REQUIRE(ev.feasible);
  CHECK(ev.instances == 1);
  CHECK(ev.cost == doctest::Approx(0.20));
  CHECK(ev.scores.capacity == doctest::Approx(0.5));
  req.service.cost_ceiling = 0.15;
  ev = evaluator::score_zone(req);
  CHECK_FALSE(ev.feasible);
  CHECK(ev.details.find("0.2/h for one instance, above the ceiling of 0.15/h") !=
        std::string::npos);
  req.deploy.max_cost = 1.0;  // the deployment's budget overrides the manifest's
  ev = evaluator::score_zone(req);
  CHECK(ev.feasible);
  CHECK(ev.instances == 2);
}

TEST_CASE("evaluator: total is the documented weighted sum and affinities raise hardware") {
  auto req = base_request();
  req.service.hardware.affinities = {"h264-encoder", "eu-west"};
  auto ev = evaluator::score_zone(req);
  REQUIRE(ev.feasible);
  CHECK(ev.scores.hardware == doctest::Approx(0.75 + 0.25 * 0.5));
  req.zone.accelerators = {"h264-encoder"};
  auto better = evaluator::score_zone(req);
  CHECK(better.scores.hardware == doctest::Approx(1.0));
  auto s = better.scores;
  CHECK(s.total == doctest::Approx(evaluator::weight_hardware * s.hardware +
                                   evaluator::weight_capacity * s.capacity +
                                   evaluator::weight_network * s.get("network") +
                                   evaluator::weight_cost * s.get("cost")));
  for (double x : {s.total, s.hardware, s.capacity, s.get("network"), s.get("cost")}) {
    CHECK(x >= 0.0);
    CHECK(x <= 1.0);
  }
  // A service without GPUs on a GPU zone wastes special hardware.
  req.zone.gpus = {{"nvidia-a100", 40960, 8.0, 2}};
  CHECK(evaluator::score_zone(req).scores.hardware == doctest::Approx(0.8));
}

// A point on a monotonic clock, `ms` milliseconds after its origin.
runtime::mono_time at(int64_t ms) {
  return runtime::mono_time{} + std::chrono::milliseconds{ms};
}

TEST_CASE("evaluator cache: hit, miss, TTL expiry and least-recently-used eviction") {
  evaluator::evaluation_cache cache{2, 1000};
  evaluation a;
  a.feasible = true;
  a.instances = 1;
  evaluation b = a;
  b.instances = 2;
  evaluation c = a;
  c.instances = 3;
  CHECK(cache.find("", 1, at(0)) == nullptr);
  cache.insert("", 1, a, at(0));
  cache.insert("", 2, b, at(0));
  REQUIRE(cache.find("", 1, at(10)) != nullptr);  // 1 is now most recent
  CHECK(cache.find("", 1, at(10))->instances == 1);
  cache.insert("", 3, c, at(20));  // evicts 2, the least recently used
  CHECK(cache.evictions() == 1);
  CHECK(cache.find("", 2, at(30)) == nullptr);
  CHECK(cache.find("", 3, at(30))->instances == 3);
  CHECK(cache.find("", 1, at(999)) != nullptr);
  CHECK(cache.find("", 1, at(1000)) == nullptr);  // inserted at 0, ttl 1000
  CHECK(cache.size() == 1);
  // Caller keys are separate from request hashes.
  cache.insert("player-set-7", 0, b, at(2000));
  CHECK(cache.find("player-set-7", 0, at(2001))->instances == 2);
  CHECK(cache.find("player-set-8", 0, at(2001)) == nullptr);
  CHECK(cache.hits() == 5);
  CHECK(cache.misses() == 4);
}

TEST_CASE("evaluator cache: a zero-sized cache never answers") {
  evaluator::evaluation_cache cache{0, 1000};
  cache.insert("", 1, evaluation{}, at(0));
  CHECK(cache.find("", 1, at(0)) == nullptr);
  CHECK(cache.size() == 0);
}

// Changes the n-th field of a value (fields counted depth-first through inspect(); a vector
// or map counts as one field, changed by growing it), or nothing if it has fewer fields.
struct nth_field_changer {
  using result_type = void;
  static constexpr bool reads_state = true;
  static constexpr bool writes_state = true;
  size_t target;
  size_t seen = 0;
  bool changed = false;

  template <class... Ts>
  void operator()(Ts&&... xs) {
    (visit(xs), ...);
  }

  template <class T>
  void visit(T& x) {
    using protocols::codec::is_map;
    using protocols::codec::is_vector;
    if constexpr (protocols::codec::is_annotation_v<T>) {
      return;
    } else if constexpr (std::is_same_v<T, bool>) {
      if (hit()) x = !x;
    } else if constexpr (std::is_enum_v<T>) {
      if (hit()) x = static_cast<T>(static_cast<std::underlying_type_t<T>>(x) + 1);
    } else if constexpr (std::is_arithmetic_v<T>) {
      if (hit()) x = static_cast<T>(x + 1);
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (hit()) x += "~";
    } else if constexpr (is_vector<T>::value) {
      if (hit()) x.emplace_back();
      for (auto& e : x) visit(e);
    } else if constexpr (is_map<T>::value) {
      if (hit()) x.emplace("~", typename T::mapped_type{});
      for (auto& kv : x) visit(kv.second);
    } else {
      inspect(*this, x);
    }
  }

 private:
  bool hit() {
    if (seen++ != target) return false;
    changed = true;
    return true;
  }
};

// Calls `check` with copies of `base` that differ from it in one field each, every field in
// turn; returns how many fields there were.
template <class T, class Check>
size_t for_each_changed_field(const T& base, Check check) {
  for (size_t n = 0;; ++n) {
    T copy = base;
    nth_field_changer c{n};
    inspect(c, copy);
    if (!c.changed) return n;
    CAPTURE(n);
    check(copy);
  }
}

TEST_CASE(
    "evaluator: the request hash changes with every field of the zone, its free "
    "resources, the manifest and the deployment") {
  // Filled values: every vector and map has elements, so nested fields are reached too.
  const auto zone = test::filled<zone_parameters>(1);
  const auto free = test::filled<resource_report>(100);
  const manifest service = test::filled<manifest>(200);
  const auto deploy = test::filled<deploy_parameters>(300);
  const auto base = evaluator::request_hash(zone, free, service, deploy);
  size_t fields = 0;
  fields += for_each_changed_field(zone, [&](const zone_parameters& z) {
    CHECK(evaluator::request_hash(z, free, service, deploy) != base);
  });
  fields += for_each_changed_field(free, [&](const resource_report& f) {
    CHECK(evaluator::request_hash(zone, f, service, deploy) != base);
  });
  fields += for_each_changed_field(service, [&](const manifest& m) {
    CHECK(evaluator::request_hash(zone, free, m, deploy) != base);
  });
  fields += for_each_changed_field(deploy, [&](const deploy_parameters& d) {
    CHECK(evaluator::request_hash(zone, free, service, d) != base);
  });
  CHECK(fields > 60);  // the walk reached the nested fields
}

TEST_CASE("evaluator: the request hash changes with free resources and deployment") {
  auto req = base_request();
  auto h = evaluator::request_hash(req.zone, req.free, req.service, req.deploy);
  CHECK(h == evaluator::request_hash(req.zone, req.free, req.service, req.deploy));
  auto r2 = req;
  r2.free.free_cpu_cores -= 2;
  CHECK(h != evaluator::request_hash(r2.zone, r2.free, r2.service, r2.deploy));
  r2 = req;
  r2.deploy.user_locations = {{"x", 1, 2}};
  CHECK(h != evaluator::request_hash(r2.zone, r2.free, r2.service, r2.deploy));
  r2 = req;
  r2.service.version = std::string{"2"};  // not = "2": a false GCC 12 -O3 warning
  CHECK(h != evaluator::request_hash(r2.zone, r2.free, r2.service, r2.deploy));
}

TEST_CASE(
    "evaluator: an updated manifest with the same name and version is never answered "
    "from the cache") {
  auto req = base_request();
  auto h = evaluator::request_hash(req.zone, req.free, req.service, req.deploy);
  auto changed = [&](auto edit) {
    auto r2 = req;
    edit(r2.service);
    return h != evaluator::request_hash(r2.zone, r2.free, r2.service, r2.deploy);
  };
  CHECK(changed([](manifest& m) { m.hardware.cpu_cores += 1; }));
  CHECK(changed([](manifest& m) { m.hardware.gpus += 1; }));
  CHECK(changed([](manifest& m) { m.hardware.min_shader_model += 1; }));
  CHECK(changed([](manifest& m) { m.hardware.accelerators.push_back("fpga"); }));
  CHECK(changed([](manifest& m) { m.denied_regions.push_back("eu-west"); }));
  CHECK(changed([](manifest& m) { m.cost_ceiling += 1; }));
  CHECK(changed([](manifest& m) { m.user_locations.push_back({"x", 1, 2}); }));
  CHECK(changed([](manifest& m) { m.isolation = "vm"; }));
}

TEST_CASE_FIXTURE(test::det_fixture,
                  "evaluator actor: answers repeated questions from its cache until the TTL") {
  auto ev = evaluator::spawn_generic_evaluator(sys, 16, 500);
  run();
  auto req = base_request();
  auto first = ask<evaluation>(ev, req);
  REQUIRE(first);
  CHECK(first->feasible);
  CHECK_FALSE(first->cached);
  auto second = ask<evaluation>(ev, req);
  REQUIRE(second);
  CHECK(second->cached);
  CHECK(second->scores == first->scores);
  req.cache_key = std::string{"k"};  // not = "k": a false GCC 12 -O3 warning
  CHECK_FALSE(ask<evaluation>(ev, req)->cached);
  CHECK(ask<evaluation>(ev, req)->cached);
  advance(500ms);
  CHECK_FALSE(ask<evaluation>(ev, req)->cached);
  auto bad = base_request();
  bad.service.hardware.gpus = 2;
  auto no = ask<evaluation>(ev, bad);
  REQUIRE(no);
  CHECK_FALSE(no->feasible);
  CHECK(no->code == refusal_code::infeasible);
  CHECK(no->details.find("2 GPU") != std::string::npos);
  caf::anon_send_exit(ev, caf::exit_reason::kill);
  run();
}
