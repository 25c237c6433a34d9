// A Lua service evaluator in a whole domain (docs/shell.md, "Lua inside the runtime"): it
// changes where a service is placed, and a runaway one is cut off by its budget while the
// placement completes with the generic evaluator.

#include "actors/evaluator/lua_evaluator.hpp"
#include "actors/topology/topology.hpp"
#include "protocols/names.hpp"
#include "runtime/config.hpp"
#include "tests/support/det_fixture.hpp"

#include <caf/actor_cast.hpp>

using namespace fusion;
using namespace fusion::protocols;
using fusion::topology::zone_builder;

namespace {

const principal acme{"acme", role::service_provider};

// Prefers zones with a hardware video encoder, which the generic evaluator does not value
// for a service that does not require one.
const char* prefer_encoder = R"(
function evaluate(zone, request, generic)
  for _, a in ipairs(zone.accelerators) do
    if a == "h264-encoder" then return { total = 1, extra = { encoder = 1 } } end
  end
  return generic.total / 2
end)";

const char* runaway = "function evaluate() while true do end end";

struct lua_domain : test::det_fixture {
  fusion::topology::topology topo{sys, {}};

  lua_domain() {
    topo.with_domain();
    topo.with_zone(
        zone_builder{"dc-antwerp"}.region("eu-west", 51.22, 4.40).cores(128).memory_gb(512));
    topo.with_zone(zone_builder{"edge-ghent"}
                       .region("eu-west", 51.05, 3.72)
                       .cores(8)
                       .memory_gb(32)
                       .accelerator("h264-encoder"));
    run();
  }

  ~lua_domain() {
    topo.shutdown();
    run();
  }

  void with_script(const std::string& name, const std::string& source) {
    auto ev = evaluator::spawn_lua_evaluator(
        sys, evaluator::lua_evaluator_config{name, name + ".lua", source, {100'000, 2u << 20}});
    REQUIRE_MESSAGE(ev, describe(ev.error()));
    topo.with_evaluator(name, caf::actor_cast<caf::actor>(*ev));
    run();
  }

  placement_decision place(const std::string& evaluator) {
    manifest m;
    m.name = "fusion://acme/stream";
    m.hardware.cpu_cores = 2;
    m.hardware.memory_mb = 1024;
    m.evaluator = evaluator;
    auto d = ask<placement_decision>(topo.placement(), place_service{acme, m, {}, true});
    REQUIRE_MESSAGE(d, describe(d.error()));
    REQUIRE(d->chosen.size() == 1);
    return *d;
  }
};

}  // namespace

TEST_CASE_FIXTURE(lua_domain, "lua evaluator: a script changes where a service is placed") {
  with_script("prefer-encoder", prefer_encoder);
  auto generic = place("");
  CHECK(generic.chosen[0].zone_name == "dc-antwerp");
  auto scripted = place("prefer-encoder");
  CHECK(scripted.chosen[0].zone_name == "edge-ghent");
  CHECK(scripted.chosen[0].scores.total == 1);
  CHECK(scripted.chosen[0].scores.extra.at("encoder") == 1);
}

TEST_CASE_FIXTURE(lua_domain,
                  "lua evaluator: a runaway script is cut off by its budget and the "
                  "placement completes with the generic evaluator") {
  with_script("runaway", runaway);
  auto generic = place("");
  auto d = place("runaway");
  CHECK(d.satisfied);
  CHECK(d.chosen[0].zone_name == generic.chosen[0].zone_name);
  CHECK(d.chosen[0].scores == generic.chosen[0].scores);
  // The evaluator lives on and fails the same way again: it is not wedged.
  auto again = place("runaway");
  CHECK(again.chosen[0].zone_name == generic.chosen[0].zone_name);
}

TEST_CASE(
    "lua evaluator: a node config's [[evaluator_script]] serves the zones, and a broken "
    "one stops the start with its line") {
  auto cfg = runtime::load_config_string(
      "[[evaluator_script]]\nname = \"near-users\"\nscript = \"" FUSION_SOURCE_DIR
      "/configs/evaluators/near_users.lua\"\n",
      "node.toml");
  REQUIRE_MESSAGE(cfg, describe(cfg.error()));
  test::det_fixture fx;
  {
    fusion::topology::topology topo{fx.sys, {}};
    REQUIRE_FALSE(topo.with_evaluator_scripts(cfg->evaluator_scripts));
    CHECK(topo.directory()->get(names::evaluator("near-users")));
    auto broken = cfg->evaluator_scripts;
    broken[0].script = FUSION_SOURCE_DIR "/configs/embedded.toml";  // not Lua
    auto err = topo.with_evaluator_scripts(broken);
    REQUIRE(err);
    CHECK(reason_of(err).rfind(
              "evaluator 'near-users' (embedded.toml): syntax error: embedded.toml:", 0) == 0);
    topo.shutdown();
    fx.run();
  }
}
