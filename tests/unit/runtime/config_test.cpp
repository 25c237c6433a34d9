// Node config: parsing, defaults, reference.toml agreement and every class of error.

#include "runtime/config.hpp"
#include "protocols/errc.hpp"
#include "runtime/defaults.hpp"
#include "runtime/zone_check.hpp"

#include <doctest/doctest.h>
#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <type_traits>

#include <unistd.h>

using namespace fusion;
using namespace fusion::runtime;
namespace fs = std::filesystem;

namespace {

// A temp folder under /tmp made for one test and removed afterwards.
struct temp_dir {
  fs::path path;
  temp_dir() {
    auto templ = (fs::temp_directory_path() / "fusion-config-test-XXXXXX").string();
    REQUIRE(mkdtemp(templ.data()) != nullptr);
    path = templ;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path write(const std::string& name, const std::string& text) const {
    auto p = path / name;
    fs::create_directories(p.parent_path());
    std::ofstream{p} << text;
    return p;
  }
};

// The message of a failed load; fails the test if the load succeeded.
std::string error_of(const std::string& text, const std::string& source = "node.toml") {
  auto res = load_config_string(text, source);
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), errc::invalid_config));
  return reason_of(res.error());
}

// A value of the TOML file as the option of `kind` holds it, read without the parser.
option_value raw_value(const toml::node& n, option_kind kind) {
  switch (kind) {
    case option_kind::integer:
      return n.value<int64_t>().value_or(-1);
    case option_kind::number:
      return n.value<double>().value_or(-1);
    case option_kind::text:
    case option_kind::choice:
      return n.value<std::string>().value_or("<not a string>");
    case option_kind::strings: {
      std::vector<std::string> out;
      if (auto* arr = n.as_array())
        for (auto& e : *arr) out.push_back(e.value<std::string>().value_or("<not a string>"));
      return out;
    }
  }
  return {};
}

std::string reference_path() {
  return FUSION_SOURCE_DIR "/configs/reference.toml";
}

}  // namespace

TEST_CASE("config: an empty file yields every default of the option tables") {
  auto cfg = load_config_string("", "empty.toml");
  REQUIRE(cfg);
  CHECK(*cfg == default_config());
  CHECK(cfg->node.name == "fusion-node");
  CHECK(cfg->node.roles == std::vector<std::string>{"domain", "zones"});
  CHECK(cfg->scheduler.threads == 2);
  CHECK(cfg->placement.k == 16);
  CHECK(cfg->placement.policy == protocols::placement_policy::best_total);
  CHECK(cfg->placement.workers == 2);
  CHECK(cfg->deployment.step_timeout_ms == 5000);
  CHECK(cfg->zones.empty());
  CHECK(cfg->services.empty());
}

TEST_CASE("config: a full file is mapped onto node_config and zone_parameters") {
  temp_dir tmp;
  tmp.write("services/video.yaml", "name: fusion://acme/video\n");
  auto path = tmp.write("node.toml", R"(
[node]
name = "edge-node-1"
roles = ["zones", "domain"]
data_dir = "state"
seed = 42
run_for_s = 2.5

[log]
level = "debug"
format = "json"
file = "logs/node.log"

[scheduler]
threads = 3
policy = "sharing"

[placement]
k = 4
deadline_ms = 150
offer_ttl_ms = 9000
policy = "lowest_latency"
workers = 3

[evaluator]
timeout_ms = 50
cache_entries = 0
cache_ttl_ms = 2000

[instance]
stop_timeout_ms = 7000
force_grace_ms = 0

[[zone]]
name = "edge-1"
region = "eu-west"
latitude = 48.1
longitude = 11
cpu_cores = 32
memory_mb = 65536
accelerators = ["h264-encoder"]
isolation = ["container", "vm"]
max_instances = 20
cost_per_instance_hour = 0.5
cost_per_core_hour = 0.02
cost_per_gpu_hour = 1.25
evaluators = ["video-eval"]
[zone.latency_ms]
eu-west = 4.5
"us east" = 90
[[zone.gpu]]
model = "nvidia-a100"
memory_mb = 40960
shader_model = 8.0
count = 2
[[zone.gpu]]
model = "nvidia-t4"

[[zone]]
name = "dc-1"
os = "freebsd"
cpu_cores = 1
memory_mb = 512

[[service]]
manifest = "services/video.yaml"
provider = "acme"
deploy = 3
)");
  auto cfg = load_config(path.string());
  REQUIRE_MESSAGE(cfg, describe(cfg.error()));
  CHECK(cfg->node.name == "edge-node-1");
  CHECK(cfg->node.roles == std::vector<std::string>{"zones", "domain"});
  CHECK(cfg->node.data_dir == (tmp.path / "state").string());
  CHECK(cfg->node.seed == 42);
  CHECK(cfg->node.run_for_s == 2.5);
  CHECK(cfg->log.level == "debug");
  CHECK(cfg->log.format == "json");
  CHECK(cfg->log.file == (tmp.path / "logs/node.log").string());
  CHECK(cfg->scheduler.threads == 3);
  CHECK(cfg->scheduler.policy == "sharing");
  CHECK(cfg->placement.k == 4);
  CHECK(cfg->placement.deadline_ms == 150);
  CHECK(cfg->placement.offer_ttl_ms == 9000);
  CHECK(cfg->placement.workers == 3);
  CHECK(cfg->placement.policy == protocols::placement_policy::lowest_latency);
  CHECK(cfg->evaluator.timeout_ms == 50);
  CHECK(cfg->evaluator.cache_entries == 0);
  CHECK(cfg->evaluator.cache_ttl_ms == 2000);
  CHECK(cfg->instance.stop_timeout_ms == 7000);
  CHECK(cfg->instance.force_grace_ms == 0);
  REQUIRE(cfg->zones.size() == 2);
  const auto& z = cfg->zones[0];
  CHECK(z.name == "edge-1");
  CHECK(z.location.region == "eu-west");
  CHECK(z.location.latitude == 48.1);
  CHECK(z.location.longitude == 11.0);
  CHECK(z.os == "linux");
  CHECK(z.cpu_cores == 32);
  CHECK(z.memory_mb == 65536);
  CHECK(z.accelerators == std::vector<std::string>{"h264-encoder"});
  CHECK(z.isolation == std::vector<std::string>{"container", "vm"});
  CHECK(z.max_instances == 20);
  CHECK(z.cost_per_instance_hour == 0.5);
  CHECK(z.cost_per_core_hour == 0.02);
  CHECK(z.cost_per_gpu_hour == 1.25);
  CHECK(z.evaluators == std::vector<std::string>{"video-eval"});
  CHECK(z.latency_ms == std::map<std::string, double>{{"eu-west", 4.5}, {"us east", 90.0}});
  REQUIRE(z.gpus.size() == 2);
  CHECK(z.gpus[0] == protocols::gpu_spec{"nvidia-a100", 40960, 8.0, 2});
  CHECK(z.gpus[1] == protocols::gpu_spec{"nvidia-t4", 0, 0.0, 1});
  const auto& d = cfg->zones[1];
  CHECK(d.name == "dc-1");
  CHECK(d.os == "freebsd");
  CHECK(d.isolation == std::vector<std::string>{"container"});
  REQUIRE(cfg->services.size() == 1);
  CHECK(cfg->services[0].manifest == (tmp.path / "services/video.yaml").string());
  CHECK(cfg->services[0].provider == "acme");
  CHECK(cfg->services[0].deploy == 3);

  SUBCASE("to_toml prints a config that loads back to the same values") {
    auto printed = to_toml(*cfg);
    auto again = load_config_string(printed, "printed.toml");
    REQUIRE_MESSAGE(again, describe(again.error()));
    CHECK(*again == *cfg);
  }
}

TEST_CASE("config: reference.toml sets every option to its table's default") {
  auto cfg = load_config(reference_path());
  REQUIRE_MESSAGE(cfg, describe(cfg.error()));
  auto expected = default_config();
  CHECK(cfg->node == expected.node);
  CHECK(cfg->log == expected.log);
  CHECK(cfg->scheduler == expected.scheduler);
  CHECK(cfg->placement == expected.placement);
  CHECK(cfg->evaluator == expected.evaluator);
  CHECK(cfg->instance == expected.instance);
  CHECK(cfg->deployment == expected.deployment);
  CHECK(cfg->link == expected.link);
  CHECK(cfg->peers.empty());
  // The raw file against the tables, so neither side can drift through default_config().
  auto t = toml::parse_file(reference_path());
  for_each_section([&](std::string_view name, auto, const auto& table) {
    for (const auto& opt : table) {
      CAPTURE(name);
      CAPTURE(opt.key);
      auto* n = t[name][opt.key].node();
      REQUIRE(n != nullptr);
      CHECK(raw_value(*n, opt.kind) == opt.def);
    }
  });
  // The example zone spells out the zone defaults.
  auto zone = t["zone"][0];
  CHECK(zone["os"].value<std::string>() == std::string{defaults::zone::os});
  CHECK(zone["max_instances"].value<int64_t>() == defaults::zone::max_instances);
  auto* iso = zone["isolation"].as_array();
  REQUIRE(iso != nullptr);
  REQUIRE(iso->size() == defaults::zone::isolation.size());
  CHECK(iso->get(0)->value<std::string>() == std::string{defaults::zone::isolation[0]});
  CHECK(zone["gpu"][0]["count"].value<int64_t>() == defaults::zone::gpu_count);
}

TEST_CASE("config: reference.toml documents exactly the options the parser accepts") {
  std::ifstream in{reference_path()};
  REQUIRE(in);
  // The [[service]] and [[peer]] examples are commented out (a manifest must exist, a peer
  // needs link.identity): each runs from its "# [[...]]" line to the next blank line.
  // Uncomment them, leaving out their own comments ("# # ...").
  std::string line, active, examples, peer_block;
  bool in_example = false, in_peer = false;
  while (std::getline(in, line)) {
    if (line.rfind("# [[", 0) == 0) {
      in_example = true;
      in_peer = line == "# [[peer]]";
    } else if (line.empty()) {
      in_example = in_peer = false;
    }
    if (!in_example) {
      active += line + "\n";
    } else if (line.rfind("# # ", 0) != 0) {
      REQUIRE(line.rfind("# ", 0) == 0);
      examples += line.substr(2) + "\n";
      if (in_peer) peer_block += line.substr(2) + "\n";
    }
  }
  std::set<std::string> documented;
  auto collect = [&](const toml::table& t, const std::string& prefix, auto& self) -> void {
    for (auto&& [k, v] : t) {
      auto key = prefix.empty() ? std::string{k.str()} : prefix + "." + std::string{k.str()};
      if (key == "zone.latency_ms") {
        documented.insert(key);
      } else if (auto* sub = v.as_table()) {
        self(*sub, key, self);
      } else if (auto* arr = v.as_array(); arr && arr->is_array_of_tables()) {
        for (auto& elem : *arr) self(*elem.as_table(), key, self);
      } else {
        documented.insert(key);
      }
    }
  };
  collect(toml::parse(active), "", collect);
  auto uncommented = toml::parse(examples);
  collect(uncommented, "", collect);
  CHECK(uncommented["service"][0]["deploy"].value<int64_t>() == defaults::service::deploy);
  CHECK(uncommented["peer"][0]["role"].value<std::string>() == std::string{defaults::peer::role});
  CHECK(uncommented["evaluator_script"][0]["instructions"].value<int64_t>() ==
        defaults::evaluator_script::instructions);
  CHECK(uncommented["evaluator_script"][0]["memory_kb"].value<int64_t>() ==
        defaults::evaluator_script::memory_kb);
  // The peer example is a valid [[peer]] once the node has an identity.
  REQUIRE_FALSE(peer_block.empty());
  auto with_peer = load_config_string("[link]\nidentity = \"node.key\"\n" + peer_block, "p.toml");
  REQUIRE_MESSAGE(with_peer, describe(with_peer.error()));
  CHECK(with_peer->peers.size() == 1);
  auto known = known_config_keys();
  std::set<std::string> accepted(known.begin(), known.end());
  for (const auto& k : accepted)
    CHECK_MESSAGE(documented.count(k) == 1, "option missing in reference.toml: " << k);
  for (const auto& k : documented)
    CHECK_MESSAGE(accepted.count(k) == 1, "reference.toml documents an unknown option: " << k);
}

TEST_CASE("config: a syntax error names the file, line and column") {
  auto msg = error_of("[node]\nname = \"a\"\nseed = = 3\n");
  CHECK(msg.rfind("node.toml:3:", 0) == 0);
  CHECK(msg.find("syntax error") != std::string::npos);
  // Duplicate keys are TOML syntax errors too.
  auto dup = error_of("[placement]\nk = 1\nk = 2\n");
  CHECK(dup.rfind("node.toml:3:", 0) == 0);
}

TEST_CASE("config: an unknown key is reported with its line and a suggestion") {
  CHECK(error_of("[node]\nname = \"a\"\n[placment]\nk = 3\n") ==
        "node.toml:3: unknown key 'placment' (did you mean 'placement'?)");
  CHECK(error_of("\n[placement]\nkk = 3\n") ==
        "node.toml:3: unknown key 'placement.kk' (did you mean 'placement.k'?)");
  CHECK(error_of("[[zone]]\nname = \"z\"\nlatitud = 3\n") ==
        "node.toml:3: unknown key 'zone[0].latitud' (did you mean 'zone[0].latitude'?)");
  auto far = error_of("[log]\ncolour = \"red\"\n");
  CHECK(far == "node.toml:2: unknown key 'log.colour' (known keys of [log]: level, format, file)");
}

TEST_CASE("config: a value of the wrong type names the key, the expectation and the value") {
  CHECK(error_of("[node]\nseed = \"abc\"\n") ==
        "node.toml:2: node.seed: expected an integer >= 0, found the string \"abc\"");
  CHECK(error_of("[placement]\nk = 2.5\n") ==
        "node.toml:2: placement.k: expected an integer from 1 to 1024, found 2.5");
  CHECK(error_of("node = 3\n") == "node.toml:1: node: expected a table [node], found 3");
  CHECK(error_of("[zone]\nname = \"z\"\n") ==
        "node.toml:1: zone: expected an array of tables [[zone]], found a table");
  CHECK(error_of("[[zone]]\nname = \"z\"\n[zone.gpu]\nmodel = \"t4\"\n") ==
        "node.toml:3: zone[0].gpu: expected an array of tables [[zone.gpu]], found a table");
  CHECK(error_of("[node]\nroles = \"domain\"\n") ==
        "node.toml:2: node.roles: expected an array of \"domain\", \"zones\" or \"services\", "
        "found the string \"domain\"");
  CHECK(error_of("[log]\nlevel = \"loud\"\n") ==
        "node.toml:2: log.level: expected \"trace\", \"debug\", \"info\", \"warn\", \"error\" or "
        "\"off\", found the string \"loud\"");
  CHECK(error_of("[[zone]]\nname = \"z\"\n[zone.latency_ms]\neu = \"fast\"\n") ==
        "node.toml:4: zone[0].latency_ms.eu: expected a number from 0 to 1000000, found the "
        "string \"fast\"");
}

TEST_CASE("config: an out-of-range value names the file, line and key") {
  CHECK(error_of("[node]\nname = \"n\"\n\n[log]\nlevel = \"info\"\n[placement]\nk = 0\n") ==
        "node.toml:7: placement.k: expected an integer from 1 to 1024, found 0");
  CHECK(error_of("[scheduler]\nthreads = 257\n") ==
        "node.toml:2: scheduler.threads: expected an integer from 1 to 256, found 257");
  CHECK(error_of("[node]\nrun_for_s = -1\n") ==
        "node.toml:2: node.run_for_s: expected a number from 0 to 1000000000, found -1");
  CHECK(error_of("[[zone]]\nname = \"z\"\nlatitude = 91\n") ==
        "node.toml:3: zone[0].latitude: expected a number from -90 to 90, found 91");
  CHECK(error_of("[evaluator]\ncache_entries = 10000001\n") ==
        "node.toml:2: evaluator.cache_entries: expected an integer from 0 to 10000000, found "
        "10000001");
  CHECK(error_of("[node]\nroles = [\"domain\", \"domain\"]\n") ==
        "node.toml:2: node.roles: \"domain\" is listed twice");
  CHECK(error_of("[node]\nname = \"has space\"\n") ==
        "node.toml:2: node.name: expected 1 to 64 characters from [A-Za-z0-9._-], found the "
        "string \"has space\"");
}

TEST_CASE("config: a zone without a name is rejected at its [[zone]] line") {
  CHECK(error_of("[[zone]]\nname = \"a\"\n\n[[zone]]\nregion = \"eu\"\n") ==
        "node.toml:4: zone[1].name: required key is missing (expected a unique zone name from "
        "[A-Za-z0-9._-])");
  CHECK(error_of("[[zone]]\nname = \"a\"\n[[zone.gpu]]\ncount = 2\n") ==
        "node.toml:3: zone[0].gpu[0].model: required key is missing (expected a GPU model name "
        "such as \"nvidia-a100\")");
}

TEST_CASE("config: two zones with the same name are rejected at the second one") {
  CHECK(error_of("[[zone]]\nname = \"edge-1\"\n[[zone]]\nname = \"edge-2\"\n[[zone]]\n"
                 "name = \"edge-1\"\n") ==
        "node.toml:6: zone[2].name: duplicate zone name \"edge-1\" (first defined at line 2)");
}

TEST_CASE("config: zones and services need the role that hosts them") {
  CHECK(error_of("[node]\nroles = [\"domain\"]\n[[zone]]\nname = \"z\"\n") ==
        "node.toml:3: zone[0]: this node hosts zones but node.roles does not include \"zones\"");
  temp_dir tmp;
  auto manifest = tmp.write("m.yaml", "name: x\n").string();
  CHECK(error_of("[node]\nroles = [\"zones\"]\n[[service]]\nmanifest = \"" + manifest +
                 "\"\nprovider = \"acme\"\n") ==
        "node.toml:3: service[0]: services are registered by the domain or services role, but "
        "node.roles includes neither");
}

TEST_CASE("config: a service needs a provider and an existing manifest") {
  CHECK(error_of("[[service]]\nprovider = \"acme\"\n") ==
        "node.toml:1: service[0].manifest: required key is missing");
  auto msg = error_of("[[service]]\nmanifest = \"nope.yaml\"\nprovider = \"acme\"\n");
  CHECK(msg.rfind("node.toml:2: service[0].manifest: expected a readable manifest file, found "
                  "\"nope.yaml\" (no such file: ",
                  0) == 0);
  temp_dir tmp;
  auto manifest = tmp.write("m.yaml", "name: x\n").string();
  CHECK(error_of("[[service]]\nmanifest = \"" + manifest + "\"\nprovider = \"\"\n") ==
        "node.toml:3: service[0].provider: expected a non-empty provider name, found the string "
        "\"\"");
  CHECK(error_of("[[service]]\nmanifest = \"" + manifest + "\"\nprovider = \"a\"\ndeploy = -1\n") ==
        "node.toml:4: service[0].deploy: expected an integer from 0 to 10000, found -1");
}

TEST_CASE(
    "config: an evaluator script needs a unique name and an existing file, and survives "
    "to_toml") {
  CHECK(error_of("[[evaluator_script]]\nname = \"x\"\n") ==
        "node.toml:1: evaluator_script[0].script: required key is missing");
  auto msg = error_of("[[evaluator_script]]\nname = \"x\"\nscript = \"nope.lua\"\n");
  CHECK(msg.rfind("node.toml:3: evaluator_script[0].script: expected a readable Lua file, found "
                  "\"nope.lua\" (no such file: ",
                  0) == 0);
  temp_dir tmp;
  auto lua = tmp.write("near.lua", "function evaluate() return 1 end\n").string();
  auto entry = "[[evaluator_script]]\nname = \"near\"\nscript = \"" + lua + "\"\n";
  CHECK(error_of(entry + entry) ==
        "node.toml:5: evaluator_script[1].name: duplicate evaluator name \"near\"");
  CHECK(error_of(entry + "memory_kb = 1\n") ==
        "node.toml:4: evaluator_script[0].memory_kb: expected an integer from 256 to 1048576, "
        "found 1");
  CHECK(error_of("[[evaluator_script]]\nname = \"a b\"\nscript = \"" + lua + "\"\n") ==
        "node.toml:2: evaluator_script[0].name: expected an evaluator name of 1 to 64 characters "
        "from [A-Za-z0-9._-], found the string \"a b\"");
  CHECK(error_of(entry + "instrucions = 5\n") ==
        "node.toml:4: unknown key 'evaluator_script[0].instrucions' (did you mean "
        "'evaluator_script[0].instructions'?)");
  auto cfg = load_config_string(entry + "instructions = 5000\n", "node.toml");
  REQUIRE_MESSAGE(cfg, describe(cfg.error()));
  REQUIRE(cfg->evaluator_scripts.size() == 1);
  CHECK(cfg->evaluator_scripts[0].instructions == 5000);
  CHECK(cfg->evaluator_scripts[0].memory_kb == defaults::evaluator_script::memory_kb);
  auto again = load_config_string(to_toml(*cfg), "printed.toml");
  REQUIRE_MESSAGE(again, describe(again.error()));
  CHECK(*again == *cfg);
}

TEST_CASE("config: a monitoring script must exist") {
  auto msg = error_of("[monitoring]\nscript = \"/nonexistent/agg.lua\"\n");
  CHECK(msg ==
        "node.toml:2: monitoring.script: expected a readable Lua file, found "
        "\"/nonexistent/agg.lua\" (no such file; relative paths start at the config "
        "file's folder)");
}

TEST_CASE("config: a missing file is an invalid_config error naming the path") {
  auto res = load_config("/nonexistent/fusion/node.toml");
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), errc::invalid_config));
  CHECK(reason_of(res.error()) ==
        "/nonexistent/fusion/node.toml: no such config file (check the path)");
}

TEST_CASE("config: a path that is not a regular file is an error, never an empty config") {
  temp_dir tmp;
  auto dir = load_config(tmp.path.string());
  REQUIRE_FALSE(dir);
  CHECK(is(dir.error(), errc::invalid_config));
  CHECK(reason_of(dir.error()) ==
        tmp.path.string() + ": is a directory; expected a config file (a regular file)");
  auto dev = load_config("/dev/null");
  REQUIRE_FALSE(dev);
  CHECK(reason_of(dev.error()) == "/dev/null: is not a regular file; expected a config file");
  if (getuid() != 0) {  // root reads any file
    auto path = tmp.write("locked.toml", "[node]\n");
    fs::permissions(path, fs::perms::none);
    auto locked = load_config(path.string());
    REQUIRE_FALSE(locked);
    CHECK(reason_of(locked.error()).find("cannot open the config file") != std::string::npos);
  }
}

TEST_CASE("config: every zone the zone registry refuses is refused first, with its line") {
  // Each case breaks one rule of runtime::check_zone_parameters (the registry's check) in a
  // zone that the TOML schema alone accepts; the config must name the key and its line.
  struct bad_zone {
    std::string body;      // lines after [[zone]] (line 1)
    std::string expected;  // the whole message
  };
  const std::string ok = "name = \"z\"\ncpu_cores = 4\nmemory_mb = 1024\n";
  std::vector<bad_zone> cases = {
      {"name = \"z\"\nmemory_mb = 1024\n",
       "node.toml:1: zone[0].cpu_cores: must be > 0 (found 0); the key is missing (its default "
       "does not make a usable zone)"},
      {"name = \"z\"\ncpu_cores = 0\nmemory_mb = 1024\n",
       "node.toml:3: zone[0].cpu_cores: must be > 0 (found 0)"},
      {"name = \"z\"\ncpu_cores = 4\n",
       "node.toml:1: zone[0].memory_mb: must be > 0 (found 0); the key is missing (its default "
       "does not make a usable zone)"},
      {"name = \"z\"\ncpu_cores = 4\nmemory_mb = 0\n",
       "node.toml:4: zone[0].memory_mb: must be > 0 (found 0)"},
      {ok + "[[zone.gpu]]\nmodel = \"\"\n",
       "node.toml:6: zone[0].gpu[0].model: must name the GPU model"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.body);
    CHECK(error_of("[[zone]]\n" + c.body) == c.expected);
  }
  // And the other way round: what the config accepts, the registry's check accepts.
  auto cfg = load_config_string("[[zone]]\n" + ok + "[[zone.gpu]]\nmodel = \"t4\"\n", "n.toml");
  REQUIRE_MESSAGE(cfg, describe(cfg.error()));
  CHECK_FALSE(check_zone_parameters(cfg->zones.at(0)));
}

TEST_CASE("config: errors echo at most 80 characters of a value, and its length") {
  const std::string big(1'000'000, 'x');
  auto why = error_of("[node]\nname = \"" + big + "\"\n");
  CHECK(why ==
        "node.toml:2: node.name: expected 1 to 64 characters from [A-Za-z0-9._-], found "
        "the string \"" +
            big.substr(0, 80) + "\"... (1000000 bytes)");
  why = error_of("[node]\n" + big + " = 1\n");
  CHECK(why.size() < 400);
  CHECK(why.find("(1000005 bytes)") != std::string::npos);  // the dotted key, node.<big>
  why = error_of("[placement]\nk = \"" + big + "\"\n");
  CHECK(why.size() < 400);
  why = error_of("[[zone]]\nname = \"z\"\nisolation = [\"" + big + "\"]\n");
  CHECK(why.size() < 400);
  why = error_of("[[service]]\nmanifest = \"" + big + "\"\nprovider = \"p\"\n");
  CHECK(why.size() < 400);
  why = error_of("[[zone]]\nname = \"z\"\ncpu_cores = 1\nmemory_mb = 1\n[zone.latency_ms]\n\"" +
                 big + "\" = -1\n");
  CHECK(why.size() < 400);
}

TEST_CASE("config: relative paths start at the config file's folder, not the working dir") {
  temp_dir tmp;
  tmp.write("conf/svc/a.yaml", "name: a\n");
  auto path = tmp.write("conf/node.toml",
                        "[node]\ndata_dir = \"../data\"\n[[service]]\nmanifest = \"svc/a.yaml\"\n"
                        "provider = \"p\"\n");
  auto cfg = load_config(path.string());
  REQUIRE_MESSAGE(cfg, describe(cfg.error()));
  CHECK(cfg->node.data_dir == (tmp.path / "data").string());
  CHECK(cfg->services.at(0).manifest == (tmp.path / "conf/svc/a.yaml").string());
}

TEST_CASE("config: keys and strings that need quoting survive to_toml") {
  auto cfg = default_config();
  cfg.node.roles = {"zones"};
  protocols::zone_parameters z;
  z.name = "z1";
  z.cpu_cores = 1;
  z.memory_mb = 1;
  z.location.region = "quote\"back\\slash\nnewline";
  z.latency_ms["region with space"] = 1.5;
  cfg.zones.push_back(z);
  auto again = load_config_string(to_toml(cfg), "printed.toml");
  REQUIRE_MESSAGE(again, describe(again.error()));
  CHECK(*again == cfg);
}

namespace {

// Converts to any member type; only used unevaluated, to count an aggregate's members.
struct any_member {
  template <class T>
  operator T() const;  // NOLINT: implicit on purpose
};

// The number of members of the aggregate S: the most initializers S{...} accepts.
template <class S, class... Init>
constexpr size_t member_count() {
  if constexpr (requires { S{Init{}..., any_member{}}; })
    return member_count<S, Init..., any_member>();
  else
    return sizeof...(Init);
}

// A value `opt` accepts that is not its default.
option_value other_value(const option_spec& opt) {
  switch (opt.kind) {
    case option_kind::integer:
      return opt.def == option_value{opt.max} ? opt.min : opt.max;
    case option_kind::number:
      return opt.def == option_value{opt.fmax} ? opt.fmin : opt.fmax;
    case option_kind::text:
      return opt.path ? "/fusion-test/" + std::string{opt.key} : std::string{"not-the-default"};
    case option_kind::choice:
      for (auto c : opt.choices)
        if (option_value{std::string{c}} != opt.def) return std::string{c};
      return {};
    case option_kind::strings: {
      if (opt.choices.empty()) return std::vector<std::string>{"a", "b"};
      std::vector<std::string> all(opt.choices.rbegin(), opt.choices.rend());
      if (option_value{all} != opt.def) return all;
      return std::vector<std::string>{std::string{opt.choices.front()}};
    }
  }
  return {};
}

}  // namespace

TEST_CASE("config: every option's default is one its own table line accepts") {
  for_each_section([&](std::string_view name, auto member, const auto& table) {
    auto defaults = default_config().*member;
    for (const auto& opt : table) {
      CAPTURE(name);
      CAPTURE(opt.key);
      CHECK(accepts(opt, opt.def));
      CHECK(opt.get(defaults) == opt.def);
      CHECK_FALSE(opt.doc.empty());
    }
  });
}

TEST_CASE("config: to_toml of the defaults loads back to the defaults") {
  auto printed = to_toml(default_config());
  auto again = load_config_string(printed, "printed.toml");
  REQUIRE_MESSAGE(again, describe(again.error()));
  CHECK(*again == default_config());
}

TEST_CASE("config: every member of a section struct is one line of its table") {
  for_each_section([&](std::string_view name, auto member, const auto& table) {
    CAPTURE(name);
    using section = std::remove_cvref_t<decltype(default_config().*member)>;
    // Each line reaches its own member (setting one leaves every other line's value), and
    // there are as many lines as members: so no member is without a line.
    CHECK(member_count<section>() == table.size());
    std::set<std::string_view> keys;
    for (const auto& opt : table) {
      CAPTURE(opt.key);
      CHECK(keys.insert(opt.key).second);
      auto other = other_value(opt);
      REQUIRE(accepts(opt, other));
      REQUIRE(other != opt.def);
      auto s = default_config().*member;
      opt.set(s, other);
      for (const auto& peer : table) CHECK(peer.get(s) == (peer.key == opt.key ? other : peer.def));
    }
  });
}

TEST_CASE("config: a config with every option off its default survives to_toml") {
  auto cfg = default_config();
  for_each_section([&](std::string_view, auto member, const auto& table) {
    for (const auto& opt : table) opt.set(cfg.*member, other_value(opt));
  });
  // [gossip] refers to peers: its (WAN) seeds ("a", "b") must be peers this node dials, and its
  // trusted keys must be keys.
  const std::string key_1 = "GuMLMFdaGaExipWcQPM27wuZJDoWNTCFmfbZz2K7MVI=";
  const std::string key_2 = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
  cfg.peers = {peer_entry{"a", "127.0.0.1:7400", key_1, "node"},
               peer_entry{"b", "127.0.0.1:7401", key_2, "node"}};
  cfg.gossip.trusted_keys = {key_1};
  // [monitoring] script names a file that must exist.
  temp_dir tmp;
  cfg.monitoring.script =
      tmp.write("aggregate.lua", "function aggregate() return {} end\n").string();
  auto again = load_config_string(to_toml(cfg), "printed.toml");
  REQUIRE_MESSAGE(again, describe(again.error()));
  for_each_section([&](std::string_view name, auto member, const auto& table) {
    CAPTURE(name);
    CHECK((*again).*member == cfg.*member);
    CHECK_FALSE((*again).*member == default_config().*member);
    for (const auto& opt : table) {
      CAPTURE(opt.key);
      CHECK(opt.get((*again).*member) == opt.get(cfg.*member));
    }
  });
  CHECK(*again == cfg);
}

TEST_CASE("config: the deployment step timeout is an option with a range") {
  auto cfg = load_config_string("[deployment]\nstep_timeout_ms = 750\n", "node.toml");
  REQUIRE_MESSAGE(cfg, describe(cfg.error()));
  CHECK(cfg->deployment.step_timeout_ms == 750);
  CHECK(error_of("[deployment]\nstep_timeout_ms = 0\n") ==
        "node.toml:2: deployment.step_timeout_ms: expected an integer from 1 to 3600000, found 0");
  CHECK(error_of("[deployment]\nstep_timout_ms = 3\n") ==
        "node.toml:2: unknown key 'deployment.step_timout_ms' (did you mean "
        "'deployment.step_timeout_ms'?)");
}

// ---- [link] and [[peer]] -------------------------------------------------------------

namespace {

// Two Ed25519 public keys as `fusion-node keygen` prints them (the second is RFC 8032's
// first test vector).
const std::string key_a = "GuMLMFdaGaExipWcQPM27wuZJDoWNTCFmfbZz2K7MVI=";
const std::string key_b = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

// A node that listens, with an identity: lines 1-4. A [[peer]] appended starts at line 5.
const std::string listening =
    "[link]\naddress = \"127.0.0.1\"\nport = 7400\nidentity = \"/etc/fusion/node.key\"\n";

// A [[peer]] block with the given lines after its name and key.
std::string peer(const std::string& name, const std::string& key, const std::string& more = "") {
  return "[[peer]]\nname = \"" + name + "\"\npublic_key = \"" + key + "\"\n" + more;
}

}  // namespace

TEST_CASE("config: without [link] a node neither listens nor dials, with the link defaults") {
  auto cfg = load_config_string("", "empty.toml");
  REQUIRE(cfg);
  CHECK(cfg->link.address == "");
  CHECK(cfg->link.port == 0);
  CHECK(cfg->link.identity == "");
  CHECK(cfg->link.heartbeat_ms == 500);
  CHECK(cfg->link.dead_after_ms == 2000);
  CHECK(cfg->link.dial_timeout_ms == 2000);
  CHECK(cfg->link.handshake_timeout_ms == 5000);
  CHECK(cfg->link.reconnect_max_ms == 5000);
  CHECK(cfg->link.max_frame_bytes == 1048576);
  CHECK(cfg->link.max_send_buffer_bytes == 8388608);
  CHECK(cfg->peers.empty());
  // An omitted peer address and role take their defaults.
  auto one = load_config_string(listening + peer("zone-1", key_a), "node.toml");
  REQUIRE_MESSAGE(one, describe(one.error()));
  REQUIRE(one->peers.size() == 1);
  CHECK(one->peers[0] == peer_entry{"zone-1", "", key_a, "node"});
}

TEST_CASE("config: [link] and two [[peer]]s are read and survive to_toml") {
  temp_dir tmp;
  auto path = tmp.write("conf/node.toml", R"([node]
name = "orchestrator"

[link]
address = "::1"
port = 7400
identity = "keys/orchestrator.key"
heartbeat_ms = 250
dead_after_ms = 1000
dial_timeout_ms = 1500
handshake_timeout_ms = 3000
reconnect_max_ms = 8000
max_frame_bytes = 65536
max_send_buffer_bytes = 1048576

[[peer]]
name = "zone-1"
public_key = "GuMLMFdaGaExipWcQPM27wuZJDoWNTCFmfbZz2K7MVI="
role = "zone_admin"

[[peer]]
name = "admin.host"
address = "[::1]:7401"
public_key = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
role = "domain_admin"
)");
  auto cfg = load_config(path.string());
  REQUIRE_MESSAGE(cfg, describe(cfg.error()));
  const auto& l = cfg->link;
  CHECK(l.address == "::1");
  CHECK(l.port == 7400);
  CHECK(l.identity == (tmp.path / "conf/keys/orchestrator.key").string());
  CHECK(l.heartbeat_ms == 250);
  CHECK(l.dead_after_ms == 1000);
  CHECK(l.dial_timeout_ms == 1500);
  CHECK(l.handshake_timeout_ms == 3000);
  CHECK(l.reconnect_max_ms == 8000);
  CHECK(l.max_frame_bytes == 65536);
  CHECK(l.max_send_buffer_bytes == 1048576);
  REQUIRE(cfg->peers.size() == 2);
  CHECK(cfg->peers[0] == peer_entry{"zone-1", "", key_a, "zone_admin"});
  CHECK(cfg->peers[1] == peer_entry{"admin.host", "[::1]:7401", key_b, "domain_admin"});

  auto printed = to_toml(*cfg);
  CHECK(printed.find("\n[link]\n") != std::string::npos);
  auto peers_printed = 0;
  for (auto at = printed.find("[[peer]]"); at != std::string::npos;
       at = printed.find("[[peer]]", at + 1))
    ++peers_printed;
  CHECK(peers_printed == 2);
  auto again = load_config_string(printed, "printed.toml");
  REQUIRE_MESSAGE(again, describe(again.error()));
  CHECK(*again == *cfg);
}

TEST_CASE("config: link.identity is required to listen or to dial, at the [link] line") {
  const std::string why =
      " (expected the path of this node's key file, made by `fusion-node keygen FILE`)";
  CHECK(error_of("[node]\nname = \"n\"\n[link]\naddress = \"127.0.0.1\"\nport = 7400\n") ==
        "node.toml:3: link.identity: required because link.address is set" + why);
  // No [link] at all: the first [[peer]] is where the need comes from.
  CHECK(error_of("[node]\nname = \"n\"\n\n" + peer("o", key_a, "address = \"127.0.0.1:7400\"\n")) ==
        "node.toml:4: link.identity: required because [[peer]] entries are listed" + why);
  CHECK(error_of("[link]\nport = 7400\n" + peer("o", key_a, "address = \"h:1\"\n")) ==
        "node.toml:1: link.identity: required because [[peer]] entries are listed" + why);
  // An explicit "" is pointed at.
  CHECK(error_of("[link]\naddress = \"0.0.0.0\"\nidentity = \"\"\n") ==
        "node.toml:3: link.identity: required because link.address is set" + why);
  // Neither listening nor dialling needs no identity.
  CHECK(load_config_string("[link]\nport = 7400\nheartbeat_ms = 100\n", "node.toml"));
}

TEST_CASE("config: link.dead_after_ms must be greater than link.heartbeat_ms") {
  CHECK(error_of("[link]\nheartbeat_ms = 1000\ndead_after_ms = 1000\n") ==
        "node.toml:3: link.dead_after_ms: must be greater than link.heartbeat_ms (found 1000 <= "
        "1000)");
  // Against the other key's default, at the line of the key that is set.
  CHECK(error_of("[link]\n\nheartbeat_ms = 3000\n") ==
        "node.toml:3: link.dead_after_ms: must be greater than link.heartbeat_ms (found 2000 <= "
        "3000)");
  CHECK(error_of("[link]\ndead_after_ms = 400\n") ==
        "node.toml:2: link.dead_after_ms: must be greater than link.heartbeat_ms (found 400 <= "
        "500)");
  auto ok = load_config_string("[link]\nheartbeat_ms = 1000\ndead_after_ms = 1001\n", "node.toml");
  REQUIRE_MESSAGE(ok, describe(ok.error()));
  CHECK(ok->link.dead_after_ms == 1001);
}

TEST_CASE("config: [slots] refreshes come no faster than the interval and before rows expire") {
  CHECK(error_of("[slots]\ninterval_ms = 500\nrefresh_ms = 200\n") ==
        "node.toml:3: slots.refresh_ms: must be at least slots.interval_ms (found 200 < 500)");
  // A key left at its default is blamed where the table is, the key set at its line.
  CHECK(error_of("[slots]\ninterval_ms = 2000\n") ==
        "node.toml:1: slots.refresh_ms: must be at least slots.interval_ms (found 1000 < 2000)");
  CHECK(error_of("[slots]\nvalidity_ms = 1000\n") ==
        "node.toml:2: slots.validity_ms: must be greater than slots.refresh_ms, or rows expire "
        "between refreshes (found 1000 <= 1000)");
  CHECK(error_of("[slots]\nshare = 1.5\n").find("slots.share") != std::string::npos);
  auto ok = load_config_string(
      "[slots]\ninterval_ms = 100\nrefresh_ms = 300\nvalidity_ms = 1000\nshare = 0.5\n",
      "node.toml");
  REQUIRE_MESSAGE(ok, describe(ok.error()));
  CHECK(ok->slots.refresh_ms == 300);
  CHECK(ok->slots.share == 0.5);
}

TEST_CASE("config: [link] values out of range name the line, the key and the range") {
  CHECK(error_of("[link]\nport = 65536\n") ==
        "node.toml:2: link.port: expected an integer from 0 to 65535, found 65536");
  CHECK(error_of("[link]\nport = -1\n") ==
        "node.toml:2: link.port: expected an integer from 0 to 65535, found -1");
  CHECK(error_of("[link]\nheartbeat_ms = 49\n") ==
        "node.toml:2: link.heartbeat_ms: expected an integer from 50 to 60000, found 49");
  CHECK(error_of("[link]\nreconnect_max_ms = 99\n") ==
        "node.toml:2: link.reconnect_max_ms: expected an integer from 100 to 3600000, found 99");
  CHECK(error_of("[link]\nmax_frame_bytes = 67108865\n") ==
        "node.toml:2: link.max_frame_bytes: expected an integer from 1024 to 67108864, found "
        "67108865");
  CHECK(error_of("[link]\ndial_timeout_ms = 600001\n") ==
        "node.toml:2: link.dial_timeout_ms: expected an integer from 50 to 600000, found 600001");
  CHECK(error_of("[link]\nhandshake_timeout_ms = 0\n") ==
        "node.toml:2: link.handshake_timeout_ms: expected an integer from 50 to 600000, found 0");
}

TEST_CASE("config: link.address is a host or IP address without a port") {
  for (std::string good : {"127.0.0.1", "0.0.0.0", "::", "::1", "localhost", "node-1.example"}) {
    CAPTURE(good);
    auto cfg = load_config_string("[link]\nidentity = \"/k\"\naddress = \"" + good + "\"\n", "n");
    REQUIRE_MESSAGE(cfg, describe(cfg.error()));
    CHECK(cfg->link.address == good);
  }
  for (std::string bad :
       {"127.0.0.1:7400", "[::1]", "256.0.0.1", "has space", "-node", "node.", "[::1]:7400"}) {
    CAPTURE(bad);
    CHECK(error_of("[link]\nidentity = \"/k\"\naddress = \"" + bad + "\"\n") ==
          "node.toml:3: link.address: expected \"\" or a host name or IP address without a port "
          "(\"127.0.0.1\", \"::1\"; the port is link.port), found the string \"" +
              bad + "\"");
  }
}

TEST_CASE("config: a peer's address is \"\" or host:port with a port from 1 to 65535") {
  for (std::string good :
       {"127.0.0.1:7400", "[::1]:7400", "orchestrator.example:65535", "h:1", "[2001:db8::7]:80"}) {
    CAPTURE(good);
    auto cfg =
        load_config_string(listening + peer("o", key_a, "address = \"" + good + "\"\n"), "n");
    REQUIRE_MESSAGE(cfg, describe(cfg.error()));
    CHECK(cfg->peers.at(0).address == good);
  }
  for (std::string bad : {"127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:", ":7400",
                          "::1:7400", "[::1]7400", "[::1", "[host]:7400", "h:+80", "h: 80",
                          "h:0x10", "-bad:7400", "300.1.1.1:7400", "a b:1"}) {
    CAPTURE(bad);
    CHECK(error_of(listening + peer("o", key_a, "address = \"" + bad + "\"\n")) ==
          "node.toml:8: peer[0].address: expected \"\" or \"host:port\" with a port from 1 to "
          "65535 (IPv6 in brackets: \"[::1]:7400\"), found the string \"" +
              bad + "\"");
  }
  CHECK(error_of(listening + peer("o", key_a, "address = 7400\n")) ==
        "node.toml:8: peer[0].address: expected \"\" or \"host:port\" with a port from 1 to "
        "65535 (IPv6 in brackets: \"[::1]:7400\"), found 7400");
}

TEST_CASE("config: a peer nobody dials is refused") {
  // Neither side would open the link: the peer waits to be dialled, this node does not listen.
  CHECK(error_of("[link]\nidentity = \"/k\"\n" + peer("o", key_a)) ==
        "node.toml:3: peer[0].address: \"\" waits for the peer to dial this node, but "
        "link.address is \"\" (this node does not listen): give the peer's \"host:port\" or set "
        "link.address");
  CHECK(error_of("[link]\nidentity = \"/k\"\n" + peer("o", key_a, "address = \"h:1\"\n") +
                 peer("p", key_b, "address = \"\"\n")) ==
        "node.toml:10: peer[1].address: \"\" waits for the peer to dial this node, but "
        "link.address is \"\" (this node does not listen): give the peer's \"host:port\" or set "
        "link.address");
}

TEST_CASE("config: a peer's public key is standard base64 of 32 bytes, as keygen prints it") {
  const std::string expected =
      "expected standard base64 of a 32-byte Ed25519 key, 44 characters of [A-Za-z0-9+/] "
      "ending in '=' (copy the line `public = ...` that `fusion-node keygen` printed for this "
      "peer), found ";
  const std::string b42(42, 'A');
  for (const std::string& bad : std::vector<std::string>{
           key_a.substr(0, 43),                             // one character short
           key_a + "=",                                     // one too many
           b42 + "AA",                                      // no '='
           b42 + "==",                                      // two '=': not 32 bytes
           b42 + "B=",                                      // bits after the 256th are set
           "GuMLMFdaGaExipWcQPM27wuZJDoWNTCFmfbZz2K7MV-=",  // URL-safe alphabet
           "GuMLMFdaGaExipWcQPM27wuZJDoWNTCFmfbZz2K7M I=",  // a space
           std::string(64, 'a'),                            // hex, not base64
           "",
       }) {
    CAPTURE(bad);
    CHECK(error_of(listening + peer("o", bad)) ==
          "node.toml:7: peer[0].public_key: " + expected + "the string \"" + bad + "\"");
  }
  CHECK(error_of(listening + "[[peer]]\nname = \"o\"\npublic_key = 32\n") ==
        "node.toml:7: peer[0].public_key: " + expected + "32");
  CHECK(error_of(listening + "[[peer]]\nname = \"o\"\n") ==
        "node.toml:5: peer[0].public_key: required key is missing (expected the peer's public "
        "key: copy the line `public = ...` that `fusion-node keygen` printed for it)");
  CHECK(load_config_string(listening + peer("o", b42 + "A="), "node.toml"));
}

TEST_CASE("config: a peer needs a valid name, other than this node's") {
  CHECK(error_of(listening + "[[peer]]\npublic_key = \"" + key_a + "\"\n") ==
        "node.toml:5: peer[0].name: required key is missing (expected the peer's node.name, from "
        "[A-Za-z0-9._-])");
  CHECK(error_of(listening + peer("has space", key_a)) ==
        "node.toml:6: peer[0].name: expected 1 to 64 characters from [A-Za-z0-9._-], found the "
        "string \"has space\"");
  CHECK(error_of("[node]\nname = \"orchestrator\"\n" + listening + peer("zone-1", key_a) +
                 peer("orchestrator", key_b)) ==
        "node.toml:11: peer[1].name: \"orchestrator\" is this node's own node.name; a peer is "
        "another node");
  // The default node.name counts too.
  CHECK(error_of(listening + peer("fusion-node", key_a)) ==
        "node.toml:6: peer[0].name: \"fusion-node\" is this node's own node.name; a peer is "
        "another node");
}

TEST_CASE("config: two peers with the same name or the same key are refused at the second") {
  CHECK(error_of(listening + peer("zone-1", key_a) + peer("zone-1", key_b)) ==
        "node.toml:9: peer[1].name: duplicate peer name \"zone-1\" (first defined at line 6)");
  CHECK(error_of(listening + peer("zone-1", key_a) + peer("zone-2", key_a)) ==
        "node.toml:10: peer[1].public_key: the same key as peer[0] (line 7); each node has its "
        "own key");
}

TEST_CASE("config: a peer's role is one of the four principal roles") {
  for (auto role : defaults::peer::roles) {
    CAPTURE(role);
    auto cfg = load_config_string(
        listening + peer("o", key_a, "role = \"" + std::string{role} + "\"\n"), "node.toml");
    REQUIRE_MESSAGE(cfg, describe(cfg.error()));
    CHECK(cfg->peers.at(0).role == role);
  }
  CHECK(error_of(listening + peer("o", key_a, "role = \"admin\"\n")) ==
        "node.toml:8: peer[0].role: expected \"node\", \"domain_admin\", \"zone_admin\" or "
        "\"service_provider\", found the string \"admin\"");
}

TEST_CASE("config: mistyped [link] and [[peer]] keys get a suggestion") {
  CHECK(error_of("[lnk]\nport = 1\n") == "node.toml:1: unknown key 'lnk' (did you mean 'link'?)");
  CHECK(error_of("[link]\nhearbeat_ms = 100\n") ==
        "node.toml:2: unknown key 'link.hearbeat_ms' (did you mean 'link.heartbeat_ms'?)");
  CHECK(error_of("[[peers]]\nname = \"o\"\n") ==
        "node.toml:1: unknown key 'peers' (did you mean 'peer'?)");
  CHECK(error_of(listening + peer("o", key_a, "adress = \"h:1\"\n")) ==
        "node.toml:8: unknown key 'peer[0].adress' (did you mean 'peer[0].address'?)");
  CHECK(error_of(listening + peer("o", key_a, "colour = \"red\"\n")) ==
        "node.toml:8: unknown key 'peer[0].colour' (known keys of [peer[0]]: name, address, "
        "public_key, role)");
  CHECK(error_of("[peer]\nname = \"o\"\n") ==
        "node.toml:1: peer: expected an array of tables [[peer]], found a table");
}

TEST_CASE("config: known_config_keys lists [link] and [[peer]]") {
  auto keys = known_config_keys();
  for (auto k : {"link.address", "link.port", "link.identity", "link.heartbeat_ms",
                 "link.dead_after_ms", "link.dial_timeout_ms", "link.handshake_timeout_ms",
                 "link.reconnect_max_ms", "link.max_frame_bytes", "link.max_send_buffer_bytes",
                 "peer.name", "peer.address", "peer.public_key", "peer.role"}) {
    CAPTURE(k);
    CHECK(std::find(keys.begin(), keys.end(), k) != keys.end());
  }
}
