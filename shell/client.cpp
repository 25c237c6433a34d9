#include "shell/client.hpp"

#include "actors/topology/demo.hpp"
#include "link/node_links.hpp"
#include "protocols/all_messages.hpp"
#include "protocols/errc.hpp"
#include "protocols/names.hpp"
#include "protocols/registry.hpp"
#include "runtime/logging.hpp"
#include "runtime/system.hpp"

#include <caf/exit_reason.hpp>
#include <caf/replies_to.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <map>
#include <sstream>
#include <thread>

namespace fusion::shell {

namespace {

using namespace protocols;
using std::chrono::milliseconds;

using ask_fn = caf::expected<caf::message> (*)(caf::scoped_actor& self, const caf::actor& target,
                                               caf::message msg, milliseconds timeout);

struct ask_entry {
  uint16_t reply_type = 0;  // 0: one-way
  ask_fn ask = nullptr;
};

// Every typed interface of protocols/: what the shell may ask and what each answers.
using all_interfaces = caf::detail::type_list<
    registrar_actor, deployment_actor, scaling_actor, placement_actor, zone_registry_actor,
    zone_manager_actor, evaluator_actor, dc_management_actor, service_lifecycle_actor, gossip_actor,
    inter_domain_actor, inter_service_actor, resource_management_actor, router_configuration_actor,
    service_router_actor, routing_manager_actor, slot_sink_actor, auctioneer_actor>;

template <class Out>
caf::expected<caf::message> ask_one(caf::scoped_actor& self, const caf::actor& target,
                                    caf::message msg, milliseconds timeout) {
  caf::expected<caf::message> result{caf::make_error(caf::sec::request_timeout)};
  self->request(target, timeout, std::move(msg))
      .receive([&](Out& x) { result = caf::make_message(std::move(x)); },
               [&](caf::error& e) { result = std::move(e); });
  return result;
}

template <class Sig>
struct signature;

template <class In, class Out>
struct signature<caf::typed_mpi<caf::detail::type_list<In>, caf::output_tuple<Out>>> {
  static void add(std::map<uint16_t, ask_entry>& table) {
    if constexpr (requires { In::meta; }) {
      ask_entry e;
      if constexpr (!std::is_void_v<Out>) {
        e.reply_type = Out::meta.type_id;
        e.ask = &ask_one<Out>;
      }
      table.emplace(In::meta.type_id, e);
    }
  }
};

template <class... Sigs>
void add_interface(std::map<uint16_t, ask_entry>& table, caf::typed_actor<Sigs...>*) {
  (signature<Sigs>::add(table), ...);
}

template <class... Interfaces>
std::map<uint16_t, ask_entry> make_table(caf::detail::type_list<Interfaces...>) {
  std::map<uint16_t, ask_entry> table;
  (add_interface(table, static_cast<Interfaces*>(nullptr)), ...);
  return table;
}

const ask_entry* find_ask(uint16_t type_id) {
  static const auto table = make_table(all_interfaces{});
  auto i = table.find(type_id);
  return i == table.end() ? nullptr : &i->second;
}

const message_entry* entry_of(const caf::message& msg) {
  if (msg.size() != 1) return nullptr;
  auto ti = msg.type(0).second;
  return ti ? message_registry::instance().find(std::type_index{*ti}) : nullptr;
}

caf::error bad(std::string text) {
  return make_error(errc::invalid_argument, std::move(text));
}

}  // namespace

caf::expected<std::unique_ptr<client>> client::start(const client_options& opts,
                                                     std::string* startup) {
  std::unique_ptr<client> c{new client};
  c->opts_ = opts;
  caf::expected<runtime::node_config> nc{caf::error{}};
  if (opts.embedded && opts.config.empty())
    nc = runtime::load_config_string(opts.builtin_toml, "<embedded>", opts.builtin_dir);
  else
    nc = runtime::load_config(opts.config);
  if (!nc) return std::move(nc.error());
  c->nc_ = std::move(*nc);
  auto& nc_ref = c->nc_;
  if (!opts.log_level.empty()) nc_ref.log.level = opts.log_level;
  if (!opts.embedded) {
    if (nc_ref.link.identity.empty())
      return bad("shell config " + opts.config +
                 ": [link] identity is not set; the shell connects to nodes with its own key");
    if (nc_ref.peers.empty())
      return bad("shell config " + opts.config + ": no [[peer]] to connect to");
    // node.roles is not used: the shell starts links only, never roles.
  }
  if (auto err = runtime::setup_logging(nc_ref.log)) return err;
  c->cfg_ = std::make_unique<caf::actor_system_config>();
  runtime::configure_actor_system(*c->cfg_, nc_ref);
  c->sys_ = std::make_unique<caf::actor_system>(*c->cfg_);
  c->ctx_.directory->set_node(nc_ref.node.name);
  if (opts.embedded) {
    // The roles of the config, except "services", whose start-up report the shell keeps to
    // itself (and whose demo clients it never runs): the operator asks what they want.
    auto roles_nc = nc_ref;
    roles_nc.node.roles.erase(
        std::remove(roles_nc.node.roles.begin(), roles_nc.node.roles.end(), "services"),
        roles_nc.node.roles.end());
    if (auto err = runtime::roles().start(*c->sys_, roles_nc, c->ctx_)) {
      c->stop();
      return err;
    }
    const bool services = std::find(nc_ref.node.roles.begin(), nc_ref.node.roles.end(),
                                    "services") != nc_ref.node.roles.end();
    if (services && !nc_ref.services.empty()) {
      auto svc_nc = nc_ref;
      svc_nc.node.demo_sessions_s = 0;
      std::ostringstream out;
      auto err = topology::bootstrap_services(*c->sys_, svc_nc, c->ctx_.directory, out);
      if (startup) *startup = out.str();
      if (err) {
        c->stop();
        return err;
      }
    }
  } else {
    auto links = link::start_node_links(*c->sys_, nc_ref, c->ctx_.directory);
    if (!links) {
      c->stop();
      return std::move(links.error());
    }
    c->links_ = std::move(*links);
    c->node_ = opts.node;
    if (c->node_.empty()) {
      auto p = std::find_if(nc_ref.peers.begin(), nc_ref.peers.end(),
                            [](const runtime::peer_entry& e) { return e.role == "node"; });
      c->node_ = p != nc_ref.peers.end() ? p->name : nc_ref.peers.front().name;
    }
  }
  if (opts.embedded) c->node_ = opts.node;
  c->self_ = std::make_unique<caf::scoped_actor>(*c->sys_);
  return c;
}

client::~client() {
  stop();
}

void client::stop() {
  self_.reset();
  runtime::stop_roles(ctx_);
  if (links_) links_->stop();
  links_.reset();
  ctx_.directory->clear();
  sys_.reset();
  cfg_.reset();
}

std::vector<std::string> client::peers() const {
  std::vector<std::string> out;
  for (const auto& p : nc_.peers) out.push_back(p.name);
  return out;
}

caf::expected<caf::actor> client::resolve(const std::string& actor, milliseconds wait) {
  if (actor.empty()) return bad("no actor named");
  locator loc{node_, actor};
  if (auto at = actor.rfind('@'); at != std::string::npos) {
    loc.actor = actor.substr(0, at);
    loc.node = actor.substr(at + 1);
  }
  if (loc.node == nc_.node.name) loc.node.clear();
  if (!loc.node.empty()) {
    auto names = peers();
    if (std::find(names.begin(), names.end(), loc.node) == names.end())
      return make_error(errc::unknown_actor, "no node '" + loc.node +
                                                 "': the shell's config lists " +
                                                 (names.empty() ? std::string{"no peers"} : [&] {
                                                   std::string s;
                                                   for (const auto& n : names)
                                                     s += (s.empty() ? "" : ", ") + n;
                                                   return s;
                                                 }()));
  }
  // A link may still be coming up (or reconnecting): wait for it within the timeout.
  auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (auto h = ctx_.directory->resolve(loc)) return h;
    if (loc.node.empty())
      return make_error(errc::unknown_actor,
                        "no actor '" + loc.actor + "' here; 'actors' lists them");
    if (std::chrono::steady_clock::now() >= deadline)
      return make_error(errc::peer_unreachable,
                        "node '" + loc.node + "' is not connected (no link up within " +
                            std::to_string(wait.count()) + " ms); the shell keeps dialling it");
    std::this_thread::sleep_for(milliseconds{50});
  }
}

caf::expected<caf::message> client::request(const std::string& actor, caf::message msg) {
  return request(actor, std::move(msg), opts_.timeout);
}

caf::expected<caf::message> client::request(const std::string& actor, caf::message msg,
                                            milliseconds timeout) {
  auto e = entry_of(msg);
  if (!e) return bad("not a registered message");
  auto a = find_ask(e->meta.type_id);
  if (!a) return bad(std::string{e->meta.name} + " is not handled by any actor interface");
  if (!a->ask)
    return bad(std::string{e->meta.name} + " is a one-way message (no reply): use 'send'");
  auto target = resolve(actor, timeout);
  if (!target) return std::move(target.error());
  return a->ask(*self_, *target, std::move(msg), timeout);
}

caf::error client::send(const std::string& actor, caf::message msg) {
  auto e = entry_of(msg);
  if (!e) return bad("not a registered message");
  auto target = resolve(actor, opts_.timeout);
  if (!target) return std::move(target.error());
  (*self_)->send(*target, std::move(msg));
  return caf::none;
}

caf::error client::kill(const std::string& actor) {
  if (!opts_.embedded || actor.find('@') != std::string::npos)
    return make_error(errc::not_authorized,
                      "kill " + actor + ": only actors of this process (--embedded) can be killed");
  auto h = ctx_.directory->get(actor);
  if (!h)
    return make_error(errc::unknown_actor, "no actor '" + actor + "' here; 'actors' lists them");
  caf::anon_send_exit(h, caf::exit_reason::kill);
  return caf::none;
}

bool client::is_request(const caf::message& msg) {
  auto e = entry_of(msg);
  auto a = e ? find_ask(e->meta.type_id) : nullptr;
  return a && a->ask;
}

std::string client::reply_name(const std::string& name) {
  auto e = message_registry::instance().find(name);
  auto a = e ? find_ask(e->meta.type_id) : nullptr;
  if (!a || !a->reply_type) return {};
  auto r = message_registry::instance().find(a->reply_type);
  return r ? r->meta.name : std::string{};
}

std::vector<std::string> client::actors() {
  if (node_.empty()) return ctx_.directory->names();
  std::vector<std::string> out{
      names::registrar, names::zone_registry,   names::placement,        names::deployment,
      names::scaling,   names::routing_manager, names::generic_evaluator};
  auto reply = request(names::zone_registry, caf::make_message(list_zones{}));
  if (reply && reply->match_elements<zone_list>())
    for (const auto& z : reply->get_as<zone_list>(0).zones) {
      // A zone manager on another node than the one asked is named with its node.
      auto actor =
          z.manager.actor.empty() ? names::zone_manager(z.parameters.name) : z.manager.actor;
      if (!z.manager.node.empty() && z.manager.node != node_) actor += "@" + z.manager.node;
      out.push_back(std::move(actor));
    }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace fusion::shell
