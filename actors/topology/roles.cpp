// The roles a fusion-node config can name (node.roles), registered with runtime/roles.hpp:
//   links     the node's links to its peers ([link], [[peer]]): started first, without
//             being named, whenever link.identity is set (runtime/roles.cpp)
//   domain    registrar, zone registry, placement and deployment functions
//   zones     one zone manager (with its in-process DC backend) per [[zone]]
//   services  registers the [[service]] manifests, deploys them and prints what happened
// Started in the order the config lists them.

#include "runtime/roles.hpp"
#include "actors/topology/demo.hpp"
#include "actors/topology/topology.hpp"
#include "link/node_links.hpp"
#include "runtime/store.hpp"

#include <iostream>
#include <memory>

namespace fusion::topology {

namespace {

// Keeps `topo` alive until the node stops, then shuts its roles down.
void keep(runtime::role_context& ctx, std::shared_ptr<topology> topo) {
  ctx.on_stop.push_back([topo] { topo->shutdown(); });
}

caf::error start_links(caf::actor_system& sys, const runtime::node_config& nc,
                       runtime::role_context& ctx) {
  auto links = link::start_node_links(sys, nc, ctx.directory);
  if (!links) return std::move(links.error());
  std::shared_ptr<link::node_links> running{std::move(*links)};
  ctx.on_stop.push_back([running] { running->stop(); });
  return caf::none;
}

caf::error start_domain(caf::actor_system& sys, const runtime::node_config& nc,
                        runtime::role_context& ctx) {
  // The domain's stores live in data_dir: a folder that cannot hold them stops the node
  // here, instead of a domain that runs with every store unusable.
  if (auto err = runtime::prepare_data_dir(nc.node.data_dir)) return err;
  auto topo = std::make_shared<topology>(sys, options_from(nc), ctx.directory);
  topo->with_domain();
  keep(ctx, topo);
  return caf::none;
}

caf::error start_zones(caf::actor_system& sys, const runtime::node_config& nc,
                       runtime::role_context& ctx) {
  auto opts = options_from(nc);
  auto topo = std::make_shared<topology>(sys, opts, ctx.directory);
  keep(ctx, topo);
  if (auto err = topo->with_evaluator_scripts(nc.evaluator_scripts)) return err;
  if (auto err = topo->with_monitoring_script()) return err;
  return topo->with_zones(nc.zones, opts.deployment.step_timeout_ms);
}

caf::error start_services(caf::actor_system& sys, const runtime::node_config& nc,
                          runtime::role_context& ctx) {
  return bootstrap_services(sys, nc, ctx.directory, std::cout);
}

}  // namespace

FUSION_REGISTER_ROLE(links, "links", start_links);
FUSION_REGISTER_ROLE(domain, "domain", start_domain);
FUSION_REGISTER_ROLE(zones, "zones", start_zones);
FUSION_REGISTER_ROLE(services, "services", start_services);

}  // namespace fusion::topology
