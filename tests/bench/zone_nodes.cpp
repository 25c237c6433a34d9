#include "tests/bench/zone_nodes.hpp"

#include "link/identity.hpp"
#include "link/node_links.hpp"
#include "protocols/errc.hpp"
#include "protocols/zone_management.hpp"
#include "runtime/config.hpp"
#include "runtime/logging.hpp"
#include "runtime/system.hpp"
#include "tests/bench/child_process.hpp"

#include <caf/atom.hpp>
#include <caf/scoped_actor.hpp>

#include <stdlib.h>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <thread>

namespace fusion::bench {

namespace {

// The domain's node name, as the zone nodes' [[peer]] names it.
constexpr const char* domain_node = "bench-domain";

// Lines of a failed child's log shown on stderr.
constexpr size_t log_lines_shown = 15;

// A fresh identity saved as `path`; its public key, or "" and `error` set.
std::string make_identity(const std::string& path, std::string& error) {
  auto id = link::identity::generate();
  if (!id) {
    error = "cannot make an identity: " + describe(id.error());
    return {};
  }
  if (auto err = id->save(path)) {
    error = "cannot save an identity: " + describe(err);
    return {};
  }
  return id->public_key_text();
}

bool write_file(const std::string& path, const std::string& text, std::string& error) {
  std::ofstream out{path};
  out << text;
  out.close();
  if (!out) error = "cannot write " + path;
  return static_cast<bool>(out);
}

// The config sections every role of the benchmark shares, from the bench's settings.
void copy_sections(runtime::node_config& nc, const topology::options& o) {
  nc.placement = o.placement;
  nc.evaluator = o.evaluator;
  nc.instance = o.instance;
  nc.deployment = o.deployment;
}

}  // namespace

std::unique_ptr<zone_nodes> zone_nodes::start(const zone_nodes_settings& s, std::string& error) {
  std::unique_ptr<zone_nodes> self{new zone_nodes};
  if (::access(s.fusion_node.c_str(), X_OK) != 0) {
    error = "no fusion-node at " + s.fusion_node + " (build it, or give --fusion-node PATH)";
    return nullptr;
  }
  char tmpl[] = "/tmp/fusion-bench-zone-nodes-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    error = "cannot make a temporary folder in /tmp";
    return nullptr;
  }
  self->dir_ = tmpl;
  if (!self->launch(s, error) || !self->await_zones(s, error)) return nullptr;
  return self;
}

bool zone_nodes::launch(const zone_nodes_settings& s, std::string& error) {
  // The bench's own log: warnings only (a line per zone would drown the figures).
  runtime::log_config quiet;
  quiet.level = "warn";
  quiet.format = "text";
  if (auto err = runtime::setup_logging(quiet)) {
    error = describe(err);
    return false;
  }
  auto domain_key = make_identity(dir_ + "/" + domain_node + ".key", error);
  if (domain_key.empty()) return false;
  std::vector<std::string> keys;
  for (size_t n = 0; n < s.nodes; ++n) {
    names_.push_back("zone-node-" + std::to_string(n + 1));
    keys.push_back(make_identity(dir_ + "/" + names_.back() + ".key", error));
    if (keys.back().empty()) return false;
  }
  // The domain: links listening on loopback (the OS picks the port), then the roles.
  auto nc = runtime::default_config();
  nc.node.name = domain_node;
  nc.node.roles = {"domain"};
  nc.scheduler.threads = static_cast<uint32_t>(s.threads);
  nc.scheduler.policy = s.policy;
  copy_sections(nc, s.roles);
  nc.link.address = "127.0.0.1";
  nc.link.port = 0;
  nc.link.identity = dir_ + "/" + domain_node + ".key";
  for (size_t n = 0; n < s.nodes; ++n) nc.peers.push_back({names_[n], "", keys[n], "node"});
  cfg_ = std::make_unique<caf::actor_system_config>();
  runtime::configure_actor_system(*cfg_, nc);
  cfg_->set("logger.verbosity", caf::atom("quiet"));
  sys_ = std::make_unique<caf::actor_system>(*cfg_);
  auto directory = std::make_shared<runtime::directory>();
  auto links = link::start_node_links(*sys_, nc, directory);
  if (!links) {
    error = describe(links.error());
    return false;
  }
  links_ = std::move(*links);
  topo_ = std::make_unique<topology::topology>(*sys_, s.roles, directory);
  topo_->with_domain();
  // The zone nodes: a config each, dialling the domain, then the processes.
  const auto address = "127.0.0.1:" + std::to_string(links_->port());
  for (size_t n = 0; n < s.nodes; ++n) {
    auto zc = runtime::default_config();
    zc.node.name = names_[n];
    zc.node.roles = {"zones"};
    zc.log.level = "warn";
    zc.scheduler = nc.scheduler;
    copy_sections(zc, s.roles);
    zc.link.identity = dir_ + "/" + names_[n] + ".key";
    zc.peers.push_back({domain_node, address, domain_key, "node"});
    for (size_t i = n; i < s.zones.size(); i += s.nodes) zc.zones.push_back(s.zones[i]);
    const auto config = dir_ + "/" + names_[n] + ".toml";
    if (!write_file(config, runtime::to_toml(zc), error)) return false;
    auto child = child_process::start({s.fusion_node, "--config", config},
                                      dir_ + "/" + names_[n] + ".log", error);
    if (!child) return false;
    children_.push_back(std::move(child));
  }
  return true;
}

bool zone_nodes::await_zones(const zone_nodes_settings& s, std::string& error) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + s.startup_timeout;
  caf::scoped_actor self{*sys_};
  size_t registered = 0;
  for (;;) {
    self->request(topo_->zone_registry(), std::chrono::seconds{5}, protocols::list_zones{})
        .receive([&](const protocols::zone_list& l) { registered = l.zones.size(); },
                 [](caf::error&) {});
    if (registered >= s.zones.size()) return true;
    if (error = check_children("before its zones registered"); !error.empty()) return false;
    if (clock::now() >= deadline) {
      error = "only " + std::to_string(registered) + " of " + std::to_string(s.zones.size()) +
              " zones registered within " + std::to_string(s.startup_timeout.count()) +
              " s; the zone nodes' logs end:\n";
      for (size_t n = 0; n < children_.size(); ++n)
        error += names_[n] + ":\n" + children_[n]->log_tail(log_lines_shown);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
}

std::string zone_nodes::check_children(const std::string& when) {
  for (size_t n = 0; n < children_.size(); ++n) {
    if (children_[n]->running()) continue;
    auto tail = children_[n]->log_tail(log_lines_shown);
    return "zone node " + names_[n] + " (pid " + std::to_string(children_[n]->pid()) + ") " +
           children_[n]->how() + " " + when +
           (tail.empty() ? "; its log is empty" : "; its log ends:\n" + tail);
  }
  return {};
}

protocols::placement_actor zone_nodes::placement() const {
  return topo_->placement();
}

double zone_nodes::children_cpu_seconds() const {
  double sum = 0;
  for (const auto& c : children_) sum += c->cpu_seconds();
  return sum;
}

zone_nodes::~zone_nodes() {
  // The domain and the links first (orderly closes), then the zone nodes, then this
  // process's actor system, which waits for its actors.
  if (topo_) topo_->shutdown();
  if (links_) links_->stop();
  for (auto& c : children_) c->stop();
  children_.clear();
  topo_.reset();
  links_.reset();
  sys_.reset();
  cfg_.reset();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

}  // namespace fusion::bench
