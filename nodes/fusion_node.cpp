// fusion-node: hosts the FUSION roles named in a node config (DESIGN §5). Thin main:
// parses the command line, loads the config, hands over to runtime::run_node().

#include "actors/topology/demo.hpp"
#include "fusion_node_embedded.hpp"
#include "link/identity.hpp"
#include "protocols/errc.hpp"
#include "runtime/cli.hpp"
#include "runtime/config.hpp"
#include "runtime/system.hpp"
#include "runtime/text.hpp"

#include <caf/config.hpp>

#include <boost/program_options.hpp>

#include <iostream>
#include <string>
#include <vector>

namespace po = boost::program_options;

namespace {

/// Exit codes, documented in --help and docs/operations.md.
enum exit_code : int { ok = 0, runtime_failure = 1, usage_error = 2, invalid_config = 3 };

constexpr const char* usage = R"(Usage:
  fusion-node [--config FILE] [--run-for SECONDS]   run a node (no --config: embedded demo)
  fusion-node check-config FILE                     validate FILE, print the effective config
  fusion-node plan --config TOPOLOGY.toml --manifest SERVICE.yaml [--instances N] [--json]
                                                    dry-run placement: print the decision
  fusion-node keygen FILE                           make a node identity in FILE (mode 0600),
                                                    print its public key
  fusion-node --help | --version

Exit codes: 0 ok, 1 runtime failure (plan: not placeable; keygen: FILE exists or
cannot be written), 2 usage error, 3 invalid config or manifest.
Config reference: configs/reference.toml, docs/operations.md.

Options)";

int fail(int code, const std::string& msg) {
  std::cerr << "fusion-node: " << msg << "\n";
  if (code == usage_error) std::cerr << "Try 'fusion-node --help'.\n";
  return code;
}

/// keygen FILE: a fresh identity saved in FILE (never overwritten); prints the public key
/// line of the file, for other nodes' trust configurations.
int keygen(const std::string& path) {
  auto id = fusion::link::identity::generate();
  if (!id) return fail(runtime_failure, fusion::describe(id.error()));
  if (auto err = id->save(path)) return fail(runtime_failure, fusion::describe(err));
  std::cout << "public = " << id->public_key_text() << "\n";
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description visible{usage};
  visible.add_options()("help,h", "print this help and exit")(
      "version", "print the version and exit")("config,c", po::value<std::string>(),
                                               "node config file (TOML)")(
      "run-for", po::value<double>(), "stop after SECONDS (overrides node.run_for_s)")(
      "manifest,m", po::value<std::string>(), "plan: the service manifest (YAML) to place")(
      "instances,n", fusion::cli::unsigned_value<uint32_t>()->default_value(1),
      "plan: instances to place")("json", "plan: print the decision as JSON");
  po::options_description all;
  all.add(visible).add_options()("args", po::value<std::vector<std::string>>());
  po::positional_options_description pos;
  pos.add("args", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    // Boost's messages quote the offending word; a huge one is cut.
    std::string what = e.what();
    return fail(usage_error, what.size() > 10 * fusion::runtime::max_echoed_chars
                                 ? fusion::runtime::echoed(what)
                                 : what);
  }
  if (vm.count("help")) {
    std::cout << visible << "\n";
    return ok;
  }
  if (vm.count("version")) {
    std::cout << "fusion-node " << FUSION_VERSION << " (CAF " << CAF_VERSION / 10000 << '.'
              << CAF_VERSION / 100 % 100 << '.' << CAF_VERSION % 100 << ")\n";
    return ok;
  }
  auto args =
      vm.count("args") ? vm["args"].as<std::vector<std::string>>() : std::vector<std::string>{};
  if (!args.empty() && args[0] == "plan") {
    if (args.size() != 1 || !vm.count("config") || !vm.count("manifest") || vm.count("run-for"))
      return fail(usage_error, "plan takes --config TOPOLOGY.toml and --manifest SERVICE.yaml");
    auto n = vm["instances"].as<uint32_t>();
    if (n == 0) return fail(usage_error, "--instances: expected at least 1");
    auto cfg = fusion::runtime::load_config(vm["config"].as<std::string>());
    if (!cfg) return fail(invalid_config, fusion::describe(cfg.error()));
    return fusion::topology::run_plan(*cfg, vm["manifest"].as<std::string>(), n,
                                      vm.count("json") > 0, std::cout, std::cerr);
  }
  if (vm.count("manifest") || vm.count("json") || !vm["instances"].defaulted())
    return fail(usage_error, "--manifest, --instances and --json belong to 'plan'");
  if (!args.empty()) {
    if (args[0] == "keygen") {
      if (args.size() != 2 || vm.count("config") || vm.count("run-for"))
        return fail(usage_error, "keygen takes exactly one FILE and no options");
      return keygen(args[1]);
    }
    if (args[0] != "check-config")
      return fail(usage_error, "unknown command '" + fusion::runtime::echoed(args[0]) + "'");
    if (args.size() != 2 || vm.count("config") || vm.count("run-for"))
      return fail(usage_error, "check-config takes exactly one FILE and no options");
    auto cfg = fusion::runtime::load_config(args[1]);
    if (!cfg) return fail(invalid_config, fusion::describe(cfg.error()));
    std::cout << fusion::runtime::to_toml(*cfg);
    return ok;
  }
  auto cfg = vm.count("config") ? fusion::runtime::load_config(vm["config"].as<std::string>())
                                : fusion::runtime::load_config_string(
                                      fusion_node_embedded_toml, "<embedded>", FUSION_CONFIG_DIR);
  if (!cfg) return fail(invalid_config, fusion::describe(cfg.error()));
  if (vm.count("run-for")) {
    auto s = vm["run-for"].as<double>();
    if (!(s >= 0 && s <= 1e9))
      return fail(usage_error, "--run-for: expected seconds >= 0, found " + std::to_string(s));
    cfg->node.run_for_s = s;
  }
  if (auto err = fusion::runtime::run_node(*cfg))
    return fail(fusion::is(err, fusion::errc::invalid_config) ||
                        fusion::is(err, fusion::errc::invalid_manifest)
                    ? invalid_config
                    : runtime_failure,
                fusion::describe(err));
  return ok;
}
