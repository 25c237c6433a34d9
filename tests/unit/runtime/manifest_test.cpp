#include "runtime/manifest.hpp"

#include "protocols/errc.hpp"
#include "tests/support/files.hpp"

#include <doctest/doctest.h>

using namespace fusion;
using namespace fusion::protocols;
using fusion::runtime::parse_manifest;

namespace {

const char* full_manifest = R"(general:
  name: fusion://acme/video-transcoder
  version: "2.1"
  description: Transcodes feeds.
  keywords: [video, live]
  categories: [media]
  type: interactive
  stateful: yes
graph:
  composite: true
  dependencies: [fusion://acme/analytics, http://cdn.example/ingest]
  channels:
    - name: feed-in
      kind: input
      peer: rtsp://camera.example/1
      protocol: rtsp
      format: mpeg-ts
      bandwidth_mbps: 20.5
      max_latency_ms: 100
    - {name: ctl, kind: control}
deployment:
  image: registry.example/transcoder:2.1
  packages: [ffmpeg]
  functions: [video-encode]
  hardware:
    os: Linux
    cpu_cores: 4
    memory_mb: 4096
    gpus: 2
    gpu_model: a100
    gpu_memory_mb: 16384
    min_shader_model: 6.5
    accelerators: [h264-encoder]
    affinities: [nvidia]
lifecycle:
  start: /bin/start
  stop: /bin/stop
  stop_timeout_ms: 5000
resources:
  profile: m1.large
  sessions_per_instance: 8
monitoring:
  thresholds:
    - {metric: fps, min: 25, action: scale_out}
    - {metric: rtt_ms, max: 40}
mapping:
  policy: lowest_latency
  latency_budget_ms: 30
  fixed_zones: [edge-1, edge-2]
  user_locations:
    - {region: eu-west, latitude: 51.05, longitude: 3.72}
  evaluator: gpu-eval
policies:
  pre_deploy_instances: 2
  min_instances: 1
security:
  allowed_regions: [eu-west]
  denied_regions: [us-east]
  isolation: vm
business:
  cost_ceiling: 12.5
  max_instances: 10
  billing: per-hour
)";

/// The error text of a manifest that must fail with invalid_manifest.
std::string error_of(const std::string& yaml, const std::string& source = "t.yaml") {
  auto m = parse_manifest(yaml, source);
  REQUIRE_FALSE(m);
  CHECK(is(m.error(), errc::invalid_manifest));
  return reason_of(m.error());
}

/// Where the demo manifests live.
const std::string demo_dir = FUSION_SOURCE_DIR "/configs/services/";

const std::string head = "general:\n  name: fusion://acme/x\n";  // lines 1-2

}  // namespace

TEST_CASE("manifest: every section of a complete manifest is parsed") {
  auto m = parse_manifest(full_manifest);
  REQUIRE_MESSAGE(m, describe(m.error()));
  CHECK(m->name == "fusion://acme/video-transcoder");
  CHECK(m->version == "2.1");
  CHECK(m->description == "Transcodes feeds.");
  CHECK(m->keywords == std::vector<std::string>{"video", "live"});
  CHECK(m->categories == std::vector<std::string>{"media"});
  CHECK(m->service_type == "interactive");
  CHECK(m->stateful);
  CHECK(m->composite);
  CHECK(m->dependencies.size() == 2);
  REQUIRE(m->channels.size() == 2);
  CHECK(m->channels[0] ==
        channel{"feed-in", "input", "rtsp://camera.example/1", "rtsp", "mpeg-ts", 20.5, 100});
  CHECK(m->channels[1].kind == "control");
  CHECK(m->image == "registry.example/transcoder:2.1");
  CHECK(m->packages == std::vector<std::string>{"ffmpeg"});
  CHECK(m->functions == std::vector<std::string>{"video-encode"});
  const auto& hw = m->hardware;
  CHECK(hw.os == "linux");
  CHECK(hw.cpu_cores == 4);
  CHECK(hw.memory_mb == 4096);
  CHECK(hw.gpus == 2);
  CHECK(hw.gpu_model == "a100");
  CHECK(hw.gpu_memory_mb == 16384);
  CHECK(hw.min_shader_model == doctest::Approx(6.5));
  CHECK(hw.accelerators == std::vector<std::string>{"h264-encoder"});
  CHECK(hw.affinities == std::vector<std::string>{"nvidia"});
  CHECK(m->start_command == "/bin/start");
  CHECK(m->stop_command == "/bin/stop");
  CHECK(m->stop_timeout_ms == 5000);
  CHECK(m->profile == "m1.large");
  CHECK(m->sessions_per_instance == 8);
  REQUIRE(m->thresholds.size() == 2);
  CHECK(m->thresholds[0].metric == "fps");
  CHECK(m->thresholds[0].min == 25);
  CHECK(m->thresholds[0].action == "scale_out");
  CHECK(m->thresholds[1].max == 40);
  CHECK(m->policy == placement_policy::lowest_latency);
  CHECK(m->latency_budget_ms == 30);
  CHECK(m->fixed_zones == std::vector<std::string>{"edge-1", "edge-2"});
  REQUIRE(m->user_locations.size() == 1);
  CHECK(m->user_locations[0] == geo_location{"eu-west", 51.05, 3.72});
  CHECK(m->evaluator == "gpu-eval");
  CHECK(m->pre_deploy_instances == 2);
  CHECK(m->min_instances == 1);
  CHECK(m->allowed_regions == std::vector<std::string>{"eu-west"});
  CHECK(m->denied_regions == std::vector<std::string>{"us-east"});
  CHECK(m->isolation == "vm");
  CHECK(m->cost_ceiling == doctest::Approx(12.5));
  CHECK(m->max_instances == 10);
  CHECK(m->billing == "per-hour");
}

TEST_CASE("manifest: a minimal manifest gets the documented defaults") {
  auto m = parse_manifest(head + "monitoring:\nsecurity:\n");
  REQUIRE(m);
  manifest expected;
  expected.name = "fusion://acme/x";
  CHECK(*m == expected);
}

TEST_CASE("manifest: the demo manifests in configs/services parse") {
  for (auto name : {"video-transcoder", "cloud-game", "ar-assistant", "analytics"}) {
    std::string path = demo_dir;
    path.append(name).append(".yaml");
    auto text = test::read_text(path);
    REQUIRE_MESSAGE(!text.empty(), path);
    auto m = parse_manifest(text, path);
    REQUIRE_MESSAGE(m, describe(m.error()));
    CHECK(m->name == std::string{"fusion://acme/"} + name);
  }
  auto game = parse_manifest(test::read_text(std::string{demo_dir}.append("cloud-game.yaml")));
  REQUIRE(game);
  CHECK(game->hardware.min_shader_model >= 5.0);
  CHECK(game->policy == placement_policy::lowest_latency);
}

TEST_CASE("manifest: a YAML syntax error names the file and line") {
  auto why = error_of(head + "graph:\n  channels: [\n", "bad.yaml");
  CHECK(why.rfind("bad.yaml:", 0) == 0);
  CHECK(why.find("YAML syntax error") != std::string::npos);
}

TEST_CASE("manifest: wrong scalar values name line, key path, expectation and the value") {
  CHECK(error_of(head + "deployment:\n  hardware:\n    gpus: two\n", "transcoder.yaml") ==
        "transcoder.yaml:5: deployment.hardware.gpus: expected a non-negative integer, found "
        "'two'");
  CHECK(error_of(head + "deployment:\n  hardware:\n    gpus: -1\n") ==
        "t.yaml:5: deployment.hardware.gpus: expected a non-negative integer, found '-1'");
  CHECK(error_of(head + "resources:\n  sessions_per_instance: 0\n") ==
        "t.yaml:4: resources.sessions_per_instance: expected an integer between 1 and 1000000, "
        "found 0");
  CHECK(error_of(head + "deployment:\n  hardware:\n    cpu_cores: 99999999999999999999999\n") ==
        "t.yaml:5: deployment.hardware.cpu_cores: expected an integer between 1 and 1024, found "
        "'99999999999999999999999'");
  CHECK(error_of(head + "business:\n  cost_ceiling: -1\n") ==
        "t.yaml:4: business.cost_ceiling: expected a number >= 0, found -1");
  CHECK(error_of(head + "business:\n  cost_ceiling: cheap\n") ==
        "t.yaml:4: business.cost_ceiling: expected a number, found 'cheap'");
  CHECK(error_of(head + "  stateful: maybe\n") ==
        "t.yaml:3: general.stateful: expected true or false, found 'maybe'");
  CHECK(error_of(head + "mapping:\n  policy: fastest\n") ==
        "t.yaml:4: mapping.policy: expected one of best_total, lowest_cost, lowest_latency, "
        "found 'fastest'");
  CHECK(error_of(head + "security:\n  isolation: jail\n") ==
        "t.yaml:4: security.isolation: expected one of container, vm, bare-metal, found 'jail'");
  CHECK(error_of(head + "mapping:\n  user_locations:\n    - {region: x, latitude: 91, longitude: "
                        "0}\n") ==
        "t.yaml:5: mapping.user_locations[0].latitude: expected a number between -90 and 90, "
        "found 91");
  CHECK(error_of(head + "mapping:\n  user_locations:\n    - region: x\n      latitude: 10\n     "
                        " longitude: -181\n") ==
        "t.yaml:7: mapping.user_locations[0].longitude: expected a number between -180 and 180, "
        "found -181");
}

TEST_CASE("manifest: unknown and duplicate keys are rejected with their line") {
  CHECK(error_of(head + "deployment:\n  hardware:\n    gpu_count: 1\n") ==
        "t.yaml:5: deployment.hardware.gpu_count: unknown key; expected one of os, cpu_cores, "
        "memory_mb, gpus, gpu_model, gpu_memory_mb, min_shader_model, accelerators, affinities");
  auto why = error_of(head + "pricing:\n  x: 1\n");
  CHECK(why.rfind("t.yaml:3: pricing: unknown key; expected one of general, graph", 0) == 0);
  CHECK(error_of(head + "  name: fusion://acme/y\n") == "t.yaml:3: general.name: duplicate key");
}

TEST_CASE("manifest: a missing or malformed name is rejected") {
  CHECK(error_of("general:\n  version: '1'\n") ==
        "t.yaml:1: general.name: missing; every manifest needs a name like "
        "fusion://<provider>/<service>");
  CHECK(error_of("business:\n  billing: x\n").find("general.name: missing") != std::string::npos);
  auto why = error_of("general:\n  name: http://acme/x\n");
  CHECK(why.rfind("t.yaml:2: general.name: expected a service URI", 0) == 0);
  CHECK(why.find("found 'http://acme/x'") != std::string::npos);
  CHECK(error_of("general:\n  name: fusion://Acme/X\n").find("found 'fusion://Acme/X'") !=
        std::string::npos);
  CHECK(error_of("general:\n  name: fusion://acme\n").find("general.name") != std::string::npos);
}

TEST_CASE("manifest: maps, lists and scalars in the wrong place are rejected") {
  CHECK(error_of(head + "  keywords: {a: b}\n") ==
        "t.yaml:3: general.keywords: expected a list of strings, found a map");
  CHECK(error_of(head + "  keywords: [a, [b]]\n") ==
        "t.yaml:3: general.keywords[1]: expected a non-empty string, found a list");
  CHECK(error_of(head + "deployment:\n  hardware: [1, 2]\n") ==
        "t.yaml:4: deployment.hardware: expected a map, found a list");
  CHECK(error_of("general:\n  name: [fusion://acme/x]\n") ==
        "t.yaml:2: general.name: expected a service URI fusion://<provider>/<service>, found a "
        "list");
  CHECK(error_of(head + "graph:\n  channels: [feed]\n") ==
        "t.yaml:4: graph.channels[0]: expected a channel map {name, kind, ...}, found a scalar");
  CHECK(error_of("- general\n- graph\n") ==
        "t.yaml:1: expected a map of manifest sections (general, graph, deployment, ...), found "
        "a list");
  CHECK(error_of("").find("found nothing") != std::string::npos);
}

TEST_CASE("manifest: channels and thresholds are checked entry by entry") {
  CHECK(error_of(head + "graph:\n  channels:\n    - {name: a}\n") ==
        "t.yaml:5: graph.channels[0]: missing kind; expected one of input, output, control");
  CHECK(error_of(head + "graph:\n  channels:\n    - {name: a, kind: sideways}\n") ==
        "t.yaml:5: graph.channels[0].kind: expected one of input, output, control, found "
        "'sideways'");
  CHECK(error_of(head + "graph:\n  channels:\n    - {name: a, kind: input}\n    - {name: a, "
                        "kind: output}\n") ==
        "t.yaml:6: graph.channels[1]: duplicate channel name 'a'");
  CHECK(error_of(head + "monitoring:\n  thresholds:\n    - {metric: fps, min: 30, max: 20}\n") ==
        "t.yaml:5: monitoring.thresholds[0].min: must not exceed max (20), found 30");
  CHECK(error_of(head + "monitoring:\n  thresholds:\n    - {metric: fps}\n") ==
        "t.yaml:5: monitoring.thresholds[0]: threshold for 'fps' needs min, max or both");
}

TEST_CASE("manifest: slot_utilisation rules are scale_out above a max, scale_in below a min") {
  const auto rules = head + "monitoring:\n  thresholds:\n";
  auto ok = parse_manifest(rules +
                               "    - {metric: slot_utilisation, max: 0.8, action: scale_out}\n"
                               "    - {metric: slot_utilisation, min: 0.3, action: scale_in}\n",
                           "t.yaml");
  REQUIRE_MESSAGE(ok, describe(ok.error()));
  auto r = runtime::scaling_rules_of(*ok);
  CHECK(r.scale_out == 0.8);
  CHECK(r.scale_in == 0.3);
  CHECK_FALSE(runtime::scaling_rules_of(*parse_manifest(head, "t.yaml")).scale_out);
  CHECK(error_of(rules + "    - {metric: slot_utilisation, max: 0.5, action: scale_out}\n"
                         "    - {metric: slot_utilisation, min: 0.5, action: scale_in}\n") ==
        "t.yaml:5: monitoring.thresholds: the scale_in bound of slot_utilisation (min 0.5) must "
        "be below its scale_out bound (max 0.5): the band between them keeps the zone from "
        "flapping");
  CHECK(error_of(rules + "    - {metric: slot_utilisation, max: 80, action: scale_out}\n") ==
        "t.yaml:5: monitoring.thresholds[0]: 'slot_utilisation' is a share of slots in use: its "
        "bound must be 0 to 1, found 80");
  CHECK(error_of(rules + "    - {metric: slot_utilisation, min: 0.8, action: scale_out}\n") ==
        "t.yaml:5: monitoring.thresholds[0]: a scale_out rule on 'slot_utilisation' takes a max "
        "(scale out above it) and no min");
  CHECK(error_of(rules + "    - {metric: slot_utilisation, max: 0.8, action: alert}\n") ==
        "t.yaml:5: monitoring.thresholds[0]: the action of a rule on 'slot_utilisation' is "
        "scale_out or scale_in, found 'alert'");
  CHECK(error_of(rules + "    - {metric: slot_utilisation, min: 0.1, action: scale_in}\n"
                         "    - {metric: slot_utilisation, min: 0.2, action: scale_in}\n") ==
        "t.yaml:6: monitoring.thresholds[1]: a second scale_in rule on 'slot_utilisation'; give "
        "one");
}

TEST_CASE("manifest: inconsistent sections are rejected at the offending key") {
  CHECK(error_of(head + "policies:\n  min_instances: 5\nbusiness:\n  max_instances: 3\n") ==
        "t.yaml:4: policies.min_instances: must not exceed business.max_instances (3), found 5");
  CHECK(error_of(head + "policies:\n  pre_deploy_instances: 4\nbusiness:\n  max_instances: 3\n") ==
        "t.yaml:4: policies.pre_deploy_instances: must not exceed business.max_instances (3), "
        "found 4");
  CHECK(error_of(head + "security:\n  allowed_regions: [eu]\n  denied_regions: [EU]\n") ==
        "t.yaml:5: security.denied_regions: region 'EU' is also in security.allowed_regions; "
        "list it in one only");
  // max_instances 0 means unlimited: no upper bound on the others.
  CHECK(parse_manifest(head + "policies:\n  min_instances: 5\n"));
}

TEST_CASE("manifest: oversized and deeply nested input is refused without crashing") {
  std::string big = head + "  description: " + std::string(runtime::max_manifest_bytes, 'x');
  CHECK(error_of(big).find("the limit is 262144") != std::string::npos);
  std::string deep = head + "  description: " + std::string(10000, '[');
  CHECK(error_of(deep).find("t.yaml:") == 0);
  std::string list = head + "  keywords: [";
  for (size_t i = 0; i <= runtime::max_manifest_list; ++i) list += "k,";
  list += "k]\n";
  CHECK(error_of(list).find("general.keywords: expected at most 1024 entries") !=
        std::string::npos);
}

TEST_CASE("manifest: a quoted scalar without its closing quote is an error at its line") {
  // Every place a scalar can be (value, key, list item, flow list, nested map), both quote
  // styles: yaml-cpp alone accepts each of these, running the scalar to the end of the text.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"  description: \"abc\n", "t.yaml:3:"},
      {"  description: 'abc\n", "t.yaml:3:"},
      {"  description: \"abc\\\"\n", "t.yaml:3:"},  // the escaped quote does not close it
      {"  description: 'it''s\n", "t.yaml:3:"},     // '' is a quote inside the scalar
      {"  keywords:\n    - video\n    - \"live\n", "t.yaml:5:"},
      {"  keywords: [video, 'live\n", "t.yaml:3:"},
      {"deployment:\n  hardware:\n    os: \"linux\n", "t.yaml:5:"},
      {"  description: \"abc\nbusiness:\n  billing: per-hour\n", "t.yaml:3:"},
      {"  \"description: abc\n", "t.yaml:3:"},         // a key
      {"  keywords: [video, \"live]\n", "t.yaml:3:"},  // the ] is inside the scalar
  };
  for (const auto& [tail, where] : cases) {
    CAPTURE(tail);
    auto why = error_of(head + tail);
    CHECK(why.rfind(where, 0) == 0);
    CHECK(why.find("closing quote") != std::string::npos);
  }
  // Closed quotes, quotes inside plain scalars and escapes stay fine.
  auto m = parse_manifest(head + "  description: \"a \\\"b\\\" c\"\n  version: 'it''s'\n" +
                              "  keywords: [don't, \"x\"]\n",
                          "t.yaml");
  REQUIRE_MESSAGE(m, describe(m.error()));
  CHECK(m->description == "a \"b\" c");
  CHECK(m->keywords == std::vector<std::string>{"don't", "x"});
}

TEST_CASE("manifest: errors echo at most 80 characters of a value, and its length") {
  const std::string big(100'000, '7');
  auto why = error_of(head + "deployment:\n  hardware:\n    cpu_cores: x" + big + "\n");
  CHECK(why.size() < 300);
  CHECK(why.find("(100001 bytes)") != std::string::npos);
  why = error_of(head + "deployment:\n  hardware:\n    cpu_cores: " + big + "\n");
  CHECK(why.size() < 300);
  why = error_of(head + "  " + std::string(100'000, 'k') + ": 1\n");
  CHECK(why.size() < 600);
}
