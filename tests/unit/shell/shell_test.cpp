// fusion-shell's library (shell/): the command line, command words, and any registered
// message built from key=value pairs through the generated field tables and the registry.

#include "protocols/errc.hpp"
#include "protocols/orchestration_management.hpp"
#include "protocols/zone_management.hpp"
#include "shell/commands.hpp"
#include "shell/options.hpp"
#include "shell/schema.hpp"

#include <doctest/doctest.h>

using namespace fusion;
using namespace fusion::shell;

namespace {

caf::expected<shell_options> parse(std::vector<std::string> args) {
  return parse_options(args);
}

caf::expected<caf::message> build(const std::string& name, std::vector<std::string> words) {
  auto fields = parse_assignments(words);
  if (!fields) return std::move(fields.error());
  return make_message(name, *fields);
}

std::string error_of(const caf::expected<caf::message>& r) {
  return r ? std::string{"(no error)"} : describe(r.error());
}

}  // namespace

TEST_CASE("shell options: --embedded alone runs the built-in demo interactively") {
  auto o = parse({"--embedded"});
  REQUIRE(o);
  CHECK(o->connect.embedded);
  CHECK(o->connect.config.empty());
  CHECK(o->mode == shell_mode::interactive);
  CHECK(o->connect.timeout == std::chrono::milliseconds{5000});
}

TEST_CASE("shell options: --embedded takes a config as the next word or after '='") {
  auto a = parse({"--embedded", "my.toml", "-e", "services"});
  REQUIRE(a);
  CHECK(a->connect.config == "my.toml");
  CHECK(a->mode == shell_mode::commands);
  auto b = parse({"--embedded=my.toml", "-f", "s.lua", "--allow-files", "--instructions", "5"});
  REQUIRE(b);
  CHECK(b->connect.config == "my.toml");
  CHECK(b->mode == shell_mode::script);
  CHECK(b->lua.allow_files);
  CHECK(b->lua.instructions == 5);
}

TEST_CASE("shell options: 'lua' after --embedded is the Lua prompt, not a config file") {
  auto o = parse({"--embedded", "lua"});
  REQUIRE(o);
  CHECK(o->mode == shell_mode::lua);
  CHECK(o->connect.config.empty());
}

TEST_CASE("shell options: --config connects as a principal to a node") {
  auto o = parse({"--config", "shell.toml", "--node", "orchestrator", "--timeout", "250"});
  REQUIRE(o);
  CHECK_FALSE(o->connect.embedded);
  CHECK(o->connect.config == "shell.toml");
  CHECK(o->connect.node == "orchestrator");
  CHECK(o->connect.timeout == std::chrono::milliseconds{250});
}

TEST_CASE("shell options: contradictions and missing choices are usage errors") {
  CHECK_FALSE(parse({}));                                           // where to connect?
  CHECK_FALSE(parse({"--embedded", "--config", "x.toml"}));         // both
  CHECK_FALSE(parse({"--embedded", "-e", "services", "-f", "x"}));  // two modes
  CHECK_FALSE(parse({"--embedded", "--allow-files"}));              // only for scripts
  CHECK_FALSE(parse({"--embedded", "--timeout", "0"}));
  CHECK_FALSE(parse({"--embedded", "--bogus"}));
  CHECK_FALSE(parse({"--embedded", "x.toml", "stray"}));
  auto h = parse({"--help"});
  REQUIRE(h);
  CHECK(h->help);
}

TEST_CASE("shell words: blanks separate, quotes and backslashes keep blanks in a word") {
  auto w = split_words(R"(request  zone/a 'x y' "a \"b\"" c\ d)");
  REQUIRE(w);
  CHECK(*w == std::vector<std::string>{"request", "zone/a", "x y", "a \"b\"", "c d"});
  CHECK_FALSE(split_words("request 'open"));
  CHECK(split_words("   ")->empty());
}

TEST_CASE("key=value: dotted keys build nested objects; bad words are refused") {
  auto v = parse_assignments({"a=1", "b.c=2", "b.d=x=y"});
  REQUIRE(v);
  CHECK(v->find("a")->text() == "1");
  CHECK((*v)["b"]["c"].text() == "2");
  CHECK((*v)["b"]["d"].text() == "x=y");
  CHECK_FALSE(parse_assignments({"novalue"}));
  CHECK_FALSE(parse_assignments({"=1"}));
  CHECK_FALSE(parse_assignments({"a=1", "a=2"}));
  CHECK_FALSE(parse_assignments({"a=1", "a.b=2"}));
  CHECK_FALSE(parse_assignments({"a..b=1"}));
}

TEST_CASE("key=value -> message: fields in wire order over the message's defaults") {
  auto m = build("deploy_service", {"service_id=fusion://acme/game", "deploy.instances=3",
                                    "caller.name=ops", "caller.kind=domain_admin"});
  REQUIRE(m);
  REQUIRE(m->match_elements<protocols::deploy_service>());
  const auto& d = m->get_as<protocols::deploy_service>(0);
  CHECK(d.service_id.value == "fusion://acme/game");
  CHECK(d.deploy.instances == 3);
  CHECK(d.caller.name == "ops");
  CHECK(d.caller.kind == protocols::role::domain_admin);
  CHECK_FALSE(d.ensure);
  CHECK(d.deploy.policy == protocols::placement_policy::best_total);  // the default
  // A message with no fields, and a list of plain values separated by commas.
  CHECK(build("list_zones", {}));
  auto q = build("query_service_by_category", {"categories=video,games"});
  REQUIRE(q);
  CHECK(q->get_as<protocols::query_service_by_category>(0).categories ==
        std::vector<std::string>{"video", "games"});
  auto e = build("query_service_by_name", {"service_id=x", "information_type=instances"});
  REQUIRE(e);
  CHECK(e->get_as<protocols::query_service_by_name>(0).information_type ==
        protocols::service_info_type::instances);
}

TEST_CASE("key=value -> message: mistakes say where, what was expected and what is there") {
  CHECK(error_of(build("deploy_service", {"instnces=2"}))
            .find("deploy_service has no field 'instnces'; fields: caller, service_id, "
                  "service_parameters, deploy, ensure") != std::string::npos);
  CHECK(error_of(build("deploy_service", {"deploy.instances=x"}))
            .find("deploy_service.deploy.instances: expected an unsigned integer, found 'x'") !=
        std::string::npos);
  CHECK(error_of(build("deploy_service", {"deploy.instances=-1"})).find("out of range") !=
        std::string::npos);
  CHECK(error_of(build("deploy_service", {"ensure=maybe"})).find("expected true or false") !=
        std::string::npos);
  CHECK(error_of(build("query_service_by_name", {"information_type=all"}))
            .find("expected one of summary, manifest, instances") != std::string::npos);
  CHECK(error_of(build("deploy_servce", {})).find("did you mean 'deploy_service'") !=
        std::string::npos);
  // A list of structures cannot be written as key=value.
  CHECK(error_of(build("zone_list", {"zones=a"})).find("give it as a Lua table") !=
        std::string::npos);
}

TEST_CASE("replies as values: field names, enums by name, ids as text") {
  protocols::deploy_service_reply r;
  r.instance_ids = {{"inst-1"}, {"inst-2"}};
  r.instances = {{"n1", "instance/inst-1"}, {"", "instance/inst-2"}};
  r.decision_id = {"decision-7"};
  auto v = to_value(caf::make_message(r));
  REQUIRE(v["instance_ids"].as_array());
  CHECK(v["instance_ids"].as_array()->size() == 2);
  CHECK((*v["instance_ids"].as_array())[1].text() == "inst-2");
  CHECK((*v["instances"].as_array())[0]["node"].text() == "n1");
  CHECK(v["decision_id"].text() == "decision-7");
  CHECK(type_name(caf::make_message(r)) == "deploy_service_reply");
  CHECK(to_json(v).find(R"("decision_id":"decision-7")") != std::string::npos);
}

TEST_CASE("the generated field tables cover every registered message") {
  auto names = message_names();
  CHECK(names.size() > 80);
  for (const auto& n : names) {
    CAPTURE(n);
    CHECK(fields_of(n) != nullptr);
    // Every message can be built from its defaults alone.
    CHECK(make_message(n, value{value_object{}}));
  }
}

TEST_CASE("help: every command has a usage line") {
  for (const auto& c : command_names()) {
    CAPTURE(c);
    CHECK(help_text(c).find("usage: ") == 0);
  }
  CHECK(help_text("nosuch").empty());
}

TEST_CASE("watch: changes are leaves by path, list elements by their name, ages left out") {
  auto member = [](const char* id, const char* status, int64_t age) {
    return value{
        value_object{{"node_id", value{id}}, {"status", value{status}}, {"age_ms", value{age}}}};
  };
  value before{value_object{
      {"members", value{value_array{member("a", "alive", 1), member("b", "alive", 2)}}},
      {"count", value{int64_t{2}}}}};
  value after{value_object{
      {"members", value{value_array{member("b", "suspect", 9), member("c", "alive", 3)}}},
      {"count", value{int64_t{2}}}}};
  auto d = diff(before, after);
  REQUIRE(d.size() == 5);
  CHECK(d[0].path == "members[a].node_id");
  CHECK(d[0].before == "a");
  CHECK_FALSE(d[0].after);
  CHECK(d[1].path == "members[a].status");
  CHECK(d[2].path == "members[b].status");
  CHECK(d[2].before == "alive");
  CHECK(d[2].after == "suspect");
  CHECK(d[3].path == "members[c].node_id");
  CHECK_FALSE(d[3].before);
  CHECK(d[4].path == "members[c].status");
  // Nothing before: every leaf is new; the same value twice: nothing changed.
  CHECK(diff(value{}, after).size() == 5);
  CHECK(diff(after, after).empty());
  // Elements without a distinct name are told apart by position.
  value list{value_array{value{"x"}, value{"y"}}};
  value list2{value_array{value{"x"}, value{"z"}}};
  auto p = diff(list, list2);
  REQUIRE(p.size() == 1);
  CHECK(p[0].path == "1");
}

TEST_CASE("help: watch and routes show their options") {
  CHECK(help_text("watch").find("watch ACTOR [--interval MS] [--count N] [--for SECONDS]") !=
        std::string::npos);
  CHECK(help_text("routes").find("routes SERVICE [--via router/NAME[@NODE]]") != std::string::npos);
}
