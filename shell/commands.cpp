#include "shell/commands.hpp"

#include "protocols/errc.hpp"
#include "shell/schema.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <map>
#include <set>

namespace fusion::shell {

namespace {

caf::error bad(std::string text) {
  return make_error(errc::invalid_argument, std::move(text));
}

struct command_doc {
  const char* usage;
  const char* what;
};

// One line of usage and one of meaning per command; `help CMD` shows both.
const std::map<std::string, command_doc>& docs() {
  static const std::map<std::string, command_doc> d{
      {"actors",
       {"actors",
        "the actors of the node asked (embedded: every one), each with a summary of its state "
        "where it has one"}},
      {"deploy", {"deploy SERVICE [N]", "deploy N (1) more instances of SERVICE (id or name)"}},
      {"exit", {"exit", "leave the shell"}},
      {"explain", {"explain DECISION", "show a recorded placement decision again"}},
      {"help", {"help [COMMAND]", "list the commands, or explain one"}},
      {"instances", {"instances SERVICE", "the instances of SERVICE and where they run"}},
      {"kill",
       {"kill ACTOR | kill zone NAME",
        "crash an actor of this process, or a whole zone (its instances, DC and gossip agents "
        "and manager), for failure scenarios (--embedded only)"}},
      {"members", {"members [MEMBER]", "the gossip membership as a member's agent sees it"}},
      {"messages", {"messages [MESSAGE]", "every message name, or the fields of MESSAGE"}},
      {"node", {"node [NAME]", "show or set the node asked when an actor has no @NODE"}},
      {"plan", {"plan MANIFEST [N]", "dry-run placement of the manifest file for N (1) instances"}},
      {"quit", {"quit", "leave the shell"}},
      {"register", {"register FILE", "register the service manifest (YAML) in FILE"}},
      {"routes",
       {"routes SERVICE [--via router/NAME[@NODE]]",
        "where service routers would send a session of SERVICE, best next hop first"}},
      {"request",
       {"request ACTOR MESSAGE [FIELD=VALUE...]",
        "send any request to ACTOR and print the typed reply or error; a dotted FIELD sets a "
        "nested field (deploy.instances=2), lists are comma-separated"}},
      {"send",
       {"send ACTOR MESSAGE [FIELD=VALUE...]", "send a one-way message to ACTOR (no reply)"}},
      {"services", {"services", "names of every registered service"}},
      {"session",
       {"session open SERVICE|instance/ID [--client NAME] [--via ACTOR] | session close ID "
        "[--at ACTOR]",
        "open a session through a router or zone gateway (or at an instance), or release one"}},
      {"slots", {"slots [SERVICE]", "the live session-slot rows at the zone registry"}},
      {"timeout", {"timeout [MS]", "show or set the request timeout"}},
      {"watch",
       {"watch ACTOR [--interval MS] [--count N] [--for SECONDS]",
        "poll what ACTOR shows (zone/NAME, domain/zone_registry, gossip/MEMBER, instance/ID, "
        "domain/routing) and print each change as it happens, until Ctrl-C, N polls or "
        "SECONDS"}},
      {"zones", {"zones", "every registered zone: name, region, manager"}},
  };
  return d;
}

caf::expected<uint32_t> count_arg(const std::string& s, const char* what) {
  uint32_t n = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), n);
  if (r.ec != std::errc{} || r.ptr != s.data() + s.size() || n == 0)
    return bad(std::string{what} + ": expected a whole number >= 1, found '" + s + "'");
  return n;
}

// Removes "--name VALUE" from `args`; "" if absent. Errors if VALUE is missing.
caf::expected<std::string> take_option(std::vector<std::string>& args, const std::string& name) {
  auto i = std::find(args.begin(), args.end(), name);
  if (i == args.end()) return std::string{};
  if (i + 1 == args.end()) return bad(name + ": expected a value");
  std::string v = *(i + 1);
  args.erase(i, i + 2);
  return v;
}

void print_decision(std::ostream& out, const value& d) {
  out << "decision " << d["decision_id"].text() << " for " << d["service"].text() << " ("
      << d["policy"].text() << "): " << d["summary"].text() << "\n";
  if (auto vs = d["verdicts"].as_array())
    for (const auto& v : *vs) {
      out << "  " << v["zone_name"].text() << ": ";
      if (v["chosen"].text() == "true")
        out << "chosen";
      else if (v["offered"].text() == "true")
        out << "offered";
      else
        out << "refused";
      const auto& sc = v["zone_offer"]["scores"];
      if (v["offered"].text() == "true")
        out << ", score " << sc["total"].text() << ", cost " << v["zone_offer"]["cost"].text();
      if (v["code"].text() != "none") out << ", " << v["code"].text();
      if (!v["details"].text().empty()) out << " (" << v["details"].text() << ")";
      out << "\n";
    }
}

// Ctrl-C while a watch runs stops the watch, not the shell.
std::atomic<bool> interrupted{false};

extern "C" void on_interrupt(int) {
  interrupted = true;
}

struct interrupt_guard {
  struct sigaction previous {};
  interrupt_guard() {
    interrupted = false;
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &previous);
  }
  ~interrupt_guard() { sigaction(SIGINT, &previous, nullptr); }
  interrupt_guard(const interrupt_guard&) = delete;
  interrupt_guard& operator=(const interrupt_guard&) = delete;
};

void print_routes(std::ostream& out, const value& r) {
  for (const auto& x : *r.as_array()) {
    const auto& d = x["decision"];
    out << x["router"].text() << ":";
    const auto* hops = d["hops"].as_array();
    if (!hops || hops->empty()) {
      out << " no next hop (" << d["reason"].text() << ")\n";
      continue;
    }
    out << "\n";
    for (const auto& h : *hops)
      out << "  " << h["hop"]["name"].text() << "  available " << h["available"].text()
          << "  p_free " << h["p_free"].text() << "  cost " << h["cost_ms"].text() << " ms\n";
  }
}

void print_result(std::ostream& out, const std::string& cmd, const value& r) {
  if (cmd == "kill") {
    for (const auto& x : *r.as_array()) out << "killed " << x.text() << "\n";
    return;
  }
  if (cmd == "actors") {
    for (const auto& x : *r.as_array()) {
      out << x["actor"].text();
      if (!x["summary"].text().empty()) out << "  " << x["summary"].text();
      out << "\n";
    }
    return;
  }
  if (cmd == "services") {
    if (auto a = r.as_array()) {
      if (a->empty()) out << "(none)\n";
      for (const auto& x : *a) out << x.text() << "\n";
    }
    return;
  }
  if (cmd == "zones") {
    if (auto a = r.as_array()) {
      if (a->empty()) out << "(none)\n";
      for (const auto& z : *a) {
        const auto& p = z["parameters"];
        out << p["name"].text() << "  region " << p["location"]["region"].text() << "  id "
            << z["zone_id"].text() << "  manager " << z["manager"]["actor"].text();
        if (!z["manager"]["node"].text().empty()) out << "@" << z["manager"]["node"].text();
        out << "\n";
      }
    }
    return;
  }
  if (cmd == "plan" || cmd == "explain") return print_decision(out, r);
  if (cmd == "routes") return print_routes(out, r);
  if (cmd == "register") {
    out << "registered " << r["name"].text() << " as " << r["service_id"].text() << "\n";
    return;
  }
  if (cmd == "deploy") {
    auto ids = r["instance_ids"].as_array();
    auto at = r["instances"].as_array();
    out << "deployed " << (ids ? ids->size() : 0) << " instance(s), decision "
        << r["decision_id"].text() << "\n";
    for (size_t i = 0; ids && i < ids->size(); ++i) {
      out << "  " << (*ids)[i].text();
      if (at && i < at->size()) out << " at " << (*at)[i]["actor"].text();
      out << "\n";
    }
    return;
  }
  if (cmd == "instances") {
    const auto* ids = r["instance_ids"].as_array();
    out << r["record"]["parsed"]["name"].text() << " (" << r["record"]["service_id"].text()
        << "): " << (ids ? ids->size() : 0) << " instance(s)\n";
    for (size_t i = 0; ids && i < ids->size(); ++i) out << "  " << (*ids)[i].text() << "\n";
    if (auto d = r["details"].as_object())
      for (const auto& [k, v] : *d) out << "  " << k << ": " << v.text() << "\n";
    return;
  }
  if (cmd == "session" && r.find("session_id")) {
    out << "session " << r["session_id"].text() << " on instance " << r["instance_id"].text()
        << " (" << r["instance"]["actor"].text() << ")\n";
    return;
  }
  write_text(out, r);
}

}  // namespace

caf::expected<std::vector<std::string>> split_words(const std::string& line) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quote) {
      if (c == quote)
        quote = 0;
      else if (c == '\\' && quote == '"' && i + 1 < line.size())
        cur += line[++i];
      else
        cur += c;
    } else if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      cur += line[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) words.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (quote) return bad(std::string{"unterminated "} + quote + " quote");
  if (in_word) words.push_back(std::move(cur));
  return words;
}

const std::vector<std::string>& command_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& [k, _] : docs()) out.push_back(k);
    return out;
  }();
  return names;
}

std::string help_text(const std::string& command) {
  if (command.empty()) {
    std::string out = "Commands (every one takes --json; 'help COMMAND' for one):\n";
    for (const auto& [k, d] : docs()) {
      std::string usage = d.usage;
      out += "  " + usage + "\n      " + d.what + "\n";
    }
    out +=
        "Actors are named as in protocols/names.hpp (domain/registrar, zone/NAME, "
        "instance/ID, router/NAME, gossip/MEMBER); ACTOR@NODE asks another node.\n";
    return out;
  }
  auto i = docs().find(command);
  if (i == docs().end()) return "";
  return std::string{"usage: "} + i->second.usage + "\n" + i->second.what + "\n";
}

int commands::run(const std::string& line, std::ostream& out, std::ostream& err) {
  auto words = split_words(line);
  if (!words) {
    err << "error: " << describe(words.error()) << "\n";
    return 1;
  }
  return run(*words, out, err);
}

int commands::run(const std::vector<std::string>& input, std::ostream& out, std::ostream& err) {
  if (input.empty() || input[0].starts_with("#")) return 0;
  std::vector<std::string> args(input.begin() + 1, input.end());
  const std::string cmd = input[0];
  bool json = false;
  if (auto j = std::find(args.begin(), args.end(), "--json"); j != args.end()) {
    json = true;
    args.erase(j);
  }
  auto fail = [&](const caf::error& e) {
    auto text = describe(e);
    err << "error: " << text << "\n";
    if (json) out << to_json(value{value_object{{"error", value{text}}}}) << "\n";
    return 1;
  };
  auto usage = [&](const std::string& why) {
    return fail(bad(why + "; usage: " + docs().at(cmd).usage));
  };
  auto done = [&](caf::expected<value> r) {
    if (!r) return fail(r.error());
    if (json)
      out << to_json(*r) << "\n";
    else
      print_result(out, cmd, *r);
    return 0;
  };
  if (!docs().count(cmd)) {
    std::string best;
    for (const auto& n : command_names())
      if (n.starts_with(cmd.substr(0, 2)) && best.empty()) best = n;
    return fail(bad("unknown command '" + cmd + "'" +
                    (best.empty() ? "" : " (did you mean '" + best + "'?)") +
                    "; 'help' lists the commands"));
  }
  if (cmd == "help") {
    if (args.size() > 1) return usage("one command at most");
    auto text = help_text(args.empty() ? "" : args[0]);
    if (text.empty()) return fail(bad("no command '" + args[0] + "'; 'help' lists them"));
    out << text;
    return 0;
  }
  if (cmd == "quit" || cmd == "exit") {
    quit_ = true;
    return 0;
  }
  auto& c = ops_.connection();
  if (cmd == "node") {
    if (args.size() > 1) return usage("one node at most");
    if (args.size() == 1) {
      auto peers = c.peers();
      if (args[0] != "-" && std::find(peers.begin(), peers.end(), args[0]) == peers.end())
        return fail(bad("no node '" + args[0] + "' among the shell's peers"));
      c.set_node(args[0] == "-" ? "" : args[0]);
    }
    return done(value{c.node().empty() ? std::string{"(this process)"} : c.node()});
  }
  if (cmd == "timeout") {
    if (args.size() > 1) return usage("one value at most");
    if (args.size() == 1) {
      auto n = count_arg(args[0], "timeout");
      if (!n) return fail(n.error());
      c.set_timeout(std::chrono::milliseconds{*n});
    }
    return done(value{static_cast<int64_t>(c.timeout().count())});
  }
  if (cmd == "messages") {
    if (args.empty()) {
      value_array names;
      for (auto& n : message_names()) names.emplace_back(std::move(n));
      if (json) return done(value{std::move(names)});
      for (const auto& n : names) {
        auto reply = client::reply_name(n.text());
        out << n.text() << (reply.empty() ? "" : " -> " + reply) << "\n";
      }
      return 0;
    }
    if (args.size() != 1) return usage("one message at most");
    auto fields = fields_of(args[0]);
    if (!fields) return fail(bad("no message or type '" + args[0] + "'"));
    value_object r;
    for (const auto& f : *fields) r.emplace_back(f.name, value{f.type});
    return done(value{std::move(r)});
  }
  if (cmd == "services") {
    if (!args.empty()) return usage("no arguments");
    auto r = ops_.services();
    if (r) service_cache_.clear();
    if (r)
      if (auto a = r->as_array())
        for (const auto& s : *a) service_cache_.push_back(s.text());
    return done(std::move(r));
  }
  if (cmd == "actors") {
    if (!args.empty()) return usage("no arguments");
    value_array rows;
    auto names = ops_.actors();
    for (const auto& a : *names.as_array())
      rows.emplace_back(value_object{{"actor", a}, {"summary", value{ops_.summary(a.text())}}});
    return done(value{std::move(rows)});
  }
  if (cmd == "zones") {
    if (!args.empty()) return usage("no arguments");
    return done(ops_.zones());
  }
  if (cmd == "register") {
    if (args.size() != 1) return usage("one FILE");
    return done(ops_.register_file(args[0]));
  }
  if (cmd == "deploy" || cmd == "plan") {
    if (args.empty() || args.size() > 2) return usage("expected 1 or 2 arguments");
    uint32_t n = 1;
    if (args.size() == 2) {
      auto k = count_arg(args[1], "N");
      if (!k) return fail(k.error());
      n = *k;
    }
    return done(cmd == "deploy" ? ops_.deploy(args[0], n) : ops_.plan(args[0], n));
  }
  if (cmd == "explain") {
    if (args.size() != 1) return usage("one DECISION");
    return done(ops_.explain(args[0]));
  }
  if (cmd == "instances") {
    if (args.size() != 1) return usage("one SERVICE");
    return done(ops_.instances(args[0]));
  }
  if (cmd == "slots") {
    if (args.size() > 1) return usage("one SERVICE at most");
    return done(ops_.slots(args.empty() ? "" : args[0]));
  }
  if (cmd == "members") {
    if (args.size() > 1) return usage("one MEMBER at most");
    return done(ops_.members(args.empty() ? "" : args[0]));
  }
  if (cmd == "routes") {
    auto via = take_option(args, "--via");
    if (!via) return fail(via.error());
    if (args.size() != 1) return usage("one SERVICE");
    return done(ops_.routes(args[0], *via));
  }
  if (cmd == "watch") return watch(args, json, out, err);
  if (cmd == "kill") {
    if (args.size() == 2 && args[0] == "zone") return done(ops_.kill_zone(args[1]));
    if (args.size() != 1) return usage("one ACTOR, or 'zone NAME'");
    if (auto e = c.kill(args[0])) return fail(e);
    return done(value{value_array{value{args[0]}}});
  }
  if (cmd == "session") {
    if (args.empty() || (args[0] != "open" && args[0] != "close"))
      return usage("expected 'open' or 'close'");
    const std::string sub = args[0];
    args.erase(args.begin());
    if (sub == "open") {
      auto client_name = take_option(args, "--client");
      if (!client_name) return fail(client_name.error());
      auto via = take_option(args, "--via");
      if (!via) return fail(via.error());
      if (args.size() != 1) return usage("session open takes one SERVICE or instance/ID");
      return done(
          ops_.session_open(args[0], client_name->empty() ? "fusion-shell" : *client_name, *via));
    }
    auto at = take_option(args, "--at");
    if (!at) return fail(at.error());
    if (args.size() != 1) return usage("session close takes one session ID");
    return done(ops_.session_close(args[0], *at));
  }
  if (cmd == "request" || cmd == "send") {
    if (args.size() < 2) return usage("expected ACTOR and MESSAGE");
    auto fields = parse_assignments(std::vector<std::string>(args.begin() + 2, args.end()));
    if (!fields) return fail(fields.error());
    if (cmd == "send") {
      if (auto e = ops_.send(args[0], args[1], *fields)) return fail(e);
      if (json)
        out << to_json(value{value_object{{"sent", value{args[1]}}}}) << "\n";
      else
        out << "sent " << args[1] << " to " << args[0] << "\n";
      return 0;
    }
    auto r = ops_.request(args[0], args[1], *fields);
    if (r && !json) {
      out << client::reply_name(args[1]) << ":\n";
      write_text(out, *r, 2);
      return 0;
    }
    return done(std::move(r));
  }
  // Every command of docs() is handled above; one documented without a handler is a bug of
  // this file, said as such rather than ignored.
  return fail(make_error(errc::invalid_state,
                         "internal error: command '" + cmd + "' has help but no handler"));
}

int commands::watch(std::vector<std::string> args, bool json, std::ostream& out,
                    std::ostream& err) {
  auto fail = [&](const std::string& why) {
    err << "error: " << why << "\n";
    if (json) out << to_json(value{value_object{{"error", value{why}}}}) << "\n";
    return 1;
  };
  uint32_t interval_ms = 500, count = 0, for_s = 0;
  for (auto [name, target] : {std::pair{"--interval", &interval_ms}, std::pair{"--count", &count},
                              std::pair{"--for", &for_s}}) {
    auto v = take_option(args, name);
    if (!v) return fail(describe(v.error()));
    if (v->empty()) continue;
    auto n = count_arg(*v, name);
    if (!n) return fail(describe(n.error()));
    *target = *n;
  }
  if (args.size() != 1)
    return fail(describe(bad(std::string{"one ACTOR; usage: "} + docs().at("watch").usage)));
  const auto& actor = args[0];
  interrupt_guard guard;
  uint32_t polls = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds{for_s};
  auto keep_going = [&] {
    if (interrupted || (count > 0 && polls >= count)) return false;
    return for_s == 0 || std::chrono::steady_clock::now() < until;
  };
  if (!json)
    out << "watching " << actor << " every " << interval_ms << " ms"
        << (count > 0 ? ", " + std::to_string(count) + " polls" : "")
        << (for_s > 0 ? ", " + std::to_string(for_s) + " s" : "") << " (Ctrl-C stops)\n"
        << std::flush;
  std::string last_error;
  auto stamp = [](double t) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%7.1fs", t);
    return std::string{buf};
  };
  auto on_change = [&](double t, const std::vector<change>& changes) {
    ++polls;
    last_error.clear();
    for (const auto& c : changes) {
      if (json) {
        out << to_json(value{value_object{{"t_s", value{t}},
                                          {"path", value{c.path}},
                                          {"before", c.before ? value{*c.before} : value{}},
                                          {"after", c.after ? value{*c.after} : value{}}}})
            << "\n";
        continue;
      }
      auto shown = [](const std::string& x) { return x.empty() ? std::string{"\"\""} : x; };
      out << stamp(t) << "  " << c.path << ": ";
      if (!c.before)
        out << shown(*c.after);
      else
        out << shown(*c.before) << " -> " << (c.after ? shown(*c.after) : "(gone)");
      out << "\n";
    }
    out << std::flush;
  };
  auto on_error = [&](double t, const caf::error& e) {
    ++polls;
    auto text = describe(e);
    if (text == last_error) return;  // said once until it changes or the actor answers
    last_error = text;
    err << stamp(t) << "  error: " << text << "\n" << std::flush;
  };
  if (auto e = ops_.watch(actor, std::chrono::milliseconds{interval_ms}, keep_going, on_change,
                          on_error))
    return fail(describe(e));
  if (!json)
    out << "watch ended after " << polls << " poll(s)" << (interrupted ? " (Ctrl-C)" : "") << "\n";
  return last_error.empty() ? 0 : 1;
}

std::vector<std::string> commands::complete(const std::vector<std::string>& before,
                                            const std::string& partial) {
  std::vector<std::string> pool;
  auto add_actors = [&] {
    for (auto& a : ops_.connection().actors()) pool.push_back(std::move(a));
  };
  auto add_services = [&] {
    if (service_cache_.empty())
      if (auto r = ops_.services())
        if (auto a = r->as_array())
          for (const auto& s : *a) service_cache_.push_back(s.text());
    pool.insert(pool.end(), service_cache_.begin(), service_cache_.end());
  };
  if (before.empty()) {
    pool = command_names();
  } else {
    const auto& cmd = before[0];
    const size_t pos = before.size();  // index of the word being typed
    if (cmd == "help" && pos == 1) {
      pool = command_names();
    } else if ((cmd == "request" || cmd == "send") && pos == 1) {
      add_actors();
    } else if ((cmd == "request" || cmd == "send") && pos == 2) {
      pool = message_names();
    } else if ((cmd == "request" || cmd == "send") && pos >= 3) {
      if (auto fields = fields_of(before[2]))
        for (const auto& f : *fields) pool.push_back(f.name + "=");
    } else if (cmd == "messages" && pos == 1) {
      pool = message_names();
    } else if (cmd == "kill" && pos == 1) {
      add_actors();
      pool.push_back("zone");
    } else if (cmd == "kill" && pos == 2 && before[1] == "zone") {
      for (auto& a : ops_.connection().actors())
        if (a.starts_with("zone/") && operations::state_query(a) != nullptr)
          pool.push_back(a.substr(5));
    } else if (cmd == "watch" && pos == 1) {
      for (auto& a : ops_.connection().actors())
        if (operations::state_query(a) != nullptr) pool.push_back(std::move(a));
    } else if ((cmd == "deploy" || cmd == "instances" || cmd == "slots" || cmd == "routes") &&
               pos == 1) {
      add_services();
    } else if (cmd == "session" && pos == 1) {
      pool = {"open", "close"};
    } else if (cmd == "session" && pos == 2 && before[1] == "open") {
      add_services();
    } else if (cmd == "members" && pos == 1) {
      for (auto& a : ops_.connection().actors())
        if (a.starts_with("gossip/")) pool.push_back(a);
    } else if (cmd == "node" && pos == 1) {
      pool = ops_.connection().peers();
    }
    pool.push_back("--json");
  }
  std::vector<std::string> out;
  for (auto& p : pool)
    if (p.starts_with(partial)) out.push_back(std::move(p));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace fusion::shell
