#include "shell/operations.hpp"

#include "protocols/errc.hpp"
#include "protocols/names.hpp"
#include "runtime/manifest.hpp"
#include "shell/schema.hpp"

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

namespace fusion::shell {

namespace {

namespace names = protocols::names;

caf::error bad(std::string text) {
  return make_error(errc::invalid_argument, std::move(text));
}

caf::expected<std::string> read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in) return bad("cannot read '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// "actor" on the node `node` of a locator, as the shell names it.
std::string address(const value& loc) {
  auto node = loc["node"].text();
  auto actor = loc["actor"].text();
  return node.empty() ? actor : actor + "@" + node;
}

bool starts_with(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

}  // namespace

value operations::caller() const {
  const auto& p = c_.caller();
  const char* kind = p.kind == protocols::role::domain_admin ? "domain_admin"
                     : p.kind == protocols::role::zone_admin ? "zone_admin"
                                                             : "service_provider";
  return value{value_object{{"name", value{p.name}}, {"kind", value{kind}}}};
}

caf::expected<value> operations::ask(const std::string& actor, const std::string& message,
                                     value fields) {
  auto msg = make_message(message, fields);
  if (!msg) return std::move(msg.error());
  auto reply = c_.request(actor, std::move(*msg));
  if (!reply) return std::move(reply.error());
  return to_value(*reply);
}

caf::expected<value> operations::request(const std::string& actor, const std::string& message,
                                         const value& fields) {
  return ask(actor, message, fields);
}

caf::error operations::send(const std::string& actor, const std::string& message,
                            const value& fields) {
  auto msg = make_message(message, fields);
  if (!msg) return std::move(msg.error());
  if (client::is_request(*msg))
    return bad(message + " is a request (answered with " + client::reply_name(message) +
               "): use 'request'");
  return c_.send(actor, std::move(*msg));
}

caf::expected<value> operations::services() {
  auto r = ask(names::registrar, "query_service_by_category", value_object{{"caller", caller()}});
  if (!r) return r;
  return (*r)["service_names"];
}

caf::expected<value> operations::register_file(const std::string& path) {
  auto text = read_file(path);
  if (!text) return std::move(text.error());
  return register_text(*text, path);
}

caf::expected<value> operations::register_text(const std::string& yaml, const std::string&) {
  return ask(names::registrar, "register_service",
             value_object{{"caller", caller()}, {"service_manifest", value{yaml}}});
}

caf::expected<value> operations::deploy(const std::string& service, uint32_t instances) {
  return ask(names::deployment, "deploy_service",
             value_object{{"caller", caller()},
                          {"service_id", value{service}},
                          {"deploy", value_object{{"instances", value{uint64_t{instances}}}}}});
}

caf::expected<value> operations::plan(const std::string& path, uint32_t instances) {
  auto text = read_file(path);
  if (!text) return std::move(text.error());
  return plan_text(*text, path, instances);
}

caf::expected<value> operations::plan_text(const std::string& yaml, const std::string& source,
                                           uint32_t instances) {
  // place_service carries the manifest parsed (runtime/manifest, as the registrar parses it).
  auto m = runtime::parse_manifest(yaml, source);
  if (!m) return std::move(m.error());
  msgpack::sbuffer body;
  protocols::codec::pack_body(body, *m);
  auto parsed = from_body(body.data(), body.size(), "manifest");
  if (!parsed) return std::move(parsed.error());
  return ask(names::placement, "place_service",
             value_object{{"caller", caller()},
                          {"service", std::move(*parsed)},
                          {"deploy", value_object{{"instances", value{uint64_t{instances}}}}},
                          {"dry_run", value{true}}});
}

caf::expected<value> operations::explain(const std::string& decision_id) {
  return ask(names::placement, "explain_placement",
             value_object{{"decision_id", value{decision_id}}});
}

caf::expected<value> operations::zones() {
  auto r = ask(names::zone_registry, "list_zones", value_object{});
  if (!r) return r;
  return (*r)["zones"];
}

caf::expected<value> operations::instances(const std::string& service) {
  return ask(names::registrar, "query_service_by_name",
             value_object{{"caller", caller()},
                          {"service_id", value{service}},
                          {"information_type", value{"instances"}}});
}

caf::expected<value> operations::slots(const std::string& service) {
  return ask(names::zone_registry, "list_slots", value_object{{"service", value{service}}});
}

caf::expected<value> operations::members(const std::string& member) {
  std::string agent =
      member.empty() ? "" : (starts_with(member, "gossip/") ? member : names::gossip(member));
  if (agent.empty()) {
    for (const auto& a : c_.actors())
      if (starts_with(a, "gossip/")) {
        agent = a;
        break;
      }
    if (agent.empty() && !c_.node().empty()) agent = names::gossip(c_.node());
    if (agent.empty()) return bad("no gossip agent here ([gossip] mode is off?); name a member");
  }
  return ask(agent, "membership_digest", value_object{});
}

caf::expected<value> operations::session_open(const std::string& target,
                                              const std::string& client_name,
                                              const std::string& via) {
  if (target.empty()) return bad("session open: name a service or an instance (instance/ID)");
  caf::expected<value> granted{caf::error{}};
  if (starts_with(target, "instance/")) {
    granted = ask(target, "acquire_session", value_object{{"client", value{client_name}}});
  } else {
    std::vector<std::string> hops;
    if (!via.empty()) {
      hops.push_back(via);
    } else {
      auto all = c_.actors();
      for (const auto& a : all)
        if (starts_with(a, "router/")) hops.push_back(a);
      for (const auto& a : all)
        if (starts_with(a, "zone/") && a.find('/', 5) == std::string::npos) hops.push_back(a);
    }
    if (hops.empty()) return bad("session open: no service router or zone gateway is known");
    std::string why;
    std::optional<caf::error> same;  // the one error every hop gave, if they agree
    for (const auto& hop : hops) {
      granted = ask(hop, "open_session",
                    value_object{{"service", value{target}}, {"client", value{client_name}}});
      if (granted) break;
      why += (why.empty() ? "" : "; ") + hop + ": " + describe(granted.error());
      const auto& e = granted.error();
      if (!same)
        same = e;
      else if (same->code() != e.code() || same->category() != e.category())
        same = caf::error{};
    }
    // Every hop refusing the same way (not_authorized, say) keeps that code.
    if (!granted)
      return same && *same
                 ? caf::error{same->code(), same->category(),
                              caf::make_message("session open " + target + ": " + why)}
                 : make_error(errc::no_session_slots, "session open " + target + ": " + why);
  }
  if (!granted) return granted;
  auto sid = (*granted)["session_id"].text();
  auto at = address((*granted)["instance"]);
  if (at.empty() && starts_with(target, "instance/")) at = target;
  if (!sid.empty()) sessions_[sid] = at;
  return granted;
}

caf::expected<value> operations::session_close(const std::string& session_id,
                                               const std::string& at) {
  std::string where = at;
  if (where.empty()) {
    auto i = sessions_.find(session_id);
    if (i == sessions_.end())
      return bad("session close: this shell did not open '" + session_id +
                 "'; name its instance with --at instance/ID");
    where = i->second;
  }
  auto r = ask(where, "release_session", value_object{{"session_id", value{session_id}}});
  if (r) sessions_.erase(session_id);
  return r;
}

value operations::actors() {
  value_array out;
  for (auto& a : c_.actors()) out.emplace_back(std::move(a));
  return value{std::move(out)};
}

const char* operations::state_query(const std::string& actor) {
  // The actor's name without "@NODE" says its kind.
  auto name = actor.substr(0, actor.find('@'));
  if (starts_with(name, "zone/") && name.find('/', 5) == std::string::npos)
    return "get_zone_information";
  if (name == names::zone_registry) return "list_slots";
  if (starts_with(name, "gossip/")) return "membership_digest";
  if (starts_with(name, "instance/")) return "get_available_sessions";
  if (name == names::routing_manager) return "get_routing_information";
  return nullptr;
}

std::string operations::summary(const std::string& actor) {
  const auto* query = state_query(actor);
  if (query == nullptr || std::string_view{query} == "get_routing_information") return {};
  auto s = state_of(actor);
  if (!s) return "(" + describe(s.error()) + ")";
  const auto& x = *s;
  const std::string_view q{query};
  if (q == "get_zone_information") {
    const auto& v = x["values"];
    return v["free_cpu_cores"].text() + "/" + v["cpu_cores"].text() + " cores free, " +
           v["instances"].text() + " instance(s), " + v["reservations"].text() +
           " reservation(s), " + v["registration"].text();
  }
  if (q == "get_available_sessions")
    return x["available"].text() + "/" + x["max_sessions"].text() + " sessions free";
  if (q == "membership_digest") {
    std::map<std::string, int> by_status;
    const auto* members = x["members"].as_array();
    for (size_t i = 0; members && i < members->size(); ++i)
      ++by_status[(*members)[i]["status"].text()];
    std::string out = std::to_string(members ? members->size() : 0) + " member(s)";
    for (const auto& [status, n] : by_status) out += ", " + std::to_string(n) + " " + status;
    return out;
  }
  const auto* rows = x["rows"].as_array();
  return std::to_string(rows ? rows->size() : 0) + " slot row(s)";
}

caf::expected<value> operations::state_of(const std::string& target) {
  const auto* query = state_query(target);
  if (query == nullptr)
    return bad("cannot watch '" + target + "': watchable are zone/NAME, " +
               std::string{names::zone_registry} + ", gossip/MEMBER, instance/ID and " +
               names::routing_manager);
  value_object fields;
  if (std::string_view{query} == "list_slots") fields.emplace_back("service", value{""});
  return ask(target, query, value{std::move(fields)});
}

caf::expected<value> operations::routes(const std::string& service, const std::string& via) {
  if (service.empty()) return bad("routes: name a service");
  std::vector<std::string> routers;
  if (!via.empty())
    routers.push_back(via);
  else
    for (const auto& a : c_.actors())
      if (starts_with(a, "router/")) routers.push_back(a);
  if (routers.empty())
    return make_error(errc::unknown_actor,
                      "routes " + service +
                          ": no service router here (name one with --via router/NAME[@NODE]); "
                          "zones route sessions through their gateways: 'slots " +
                          service + "' shows their free slots");
  value_array out;
  for (const auto& r : routers) {
    auto d = ask(r, "route_session",
                 value_object{{"service", value{service}}, {"client", value{"fusion-shell"}}});
    if (!d) return std::move(d.error());
    out.emplace_back(value_object{{"router", value{r}}, {"decision", std::move(*d)}});
  }
  return value{std::move(out)};
}

caf::error operations::watch(
    const std::string& actor, std::chrono::milliseconds interval,
    const std::function<bool()>& keep_going,
    const std::function<void(double, const std::vector<change>&)>& on_change,
    const std::function<void(double, const caf::error&)>& on_error) {
  const auto start = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  value last;
  bool first = true;
  while (keep_going()) {
    auto now = state_of(actor);
    if (!now && is(now.error(), errc::invalid_argument) && first) return std::move(now.error());
    if (!now) {
      on_error(seconds(), now.error());
    } else {
      auto changes = diff(last, *now);
      if (!changes.empty() || first) on_change(seconds(), changes);
      last = std::move(*now);
      first = false;
    }
    // Sleeps in short steps, so a stop (Ctrl-C) is seen at once.
    const auto next = std::chrono::steady_clock::now() + interval;
    while (keep_going() && std::chrono::steady_clock::now() < next)
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          std::chrono::milliseconds{20}, next - std::chrono::steady_clock::now()));
  }
  return {};
}

caf::expected<value> operations::kill_zone(const std::string& zone) {
  auto manager = names::zone_manager(zone);
  auto hosted = ask(manager, "list_hosted_instances", value_object{});
  if (!hosted) return std::move(hosted.error());
  std::vector<std::string> victims;
  if (const auto* ids = (*hosted)["instance_ids"].as_array())
    for (const auto& id : *ids) victims.push_back(names::instance(id.text()));
  victims.push_back(names::dc_agent(zone));
  victims.push_back(names::gossip("zone/" + zone));
  victims.push_back(manager);
  value_array killed;
  for (const auto& v : victims) {
    // A zone without gossip has no agent; anything else missing is an error.
    auto err = c_.kill(v);
    if (err && !(is(err, errc::unknown_actor) && starts_with(v, "gossip/"))) return err;
    if (!err) killed.emplace_back(v);
  }
  return value{std::move(killed)};
}

}  // namespace fusion::shell
