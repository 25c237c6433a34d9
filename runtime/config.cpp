#include "runtime/config.hpp"

#include "protocols/errc.hpp"
#include "runtime/defaults.hpp"
#include "runtime/files.hpp"
#include "runtime/text.hpp"
#include "runtime/zone_check.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

namespace fusion::runtime {

namespace {

namespace fs = std::filesystem;

// Keys of the sections that are arrays of tables; the flat sections' keys are their
// tables' (runtime/config_options.cpp).
const std::vector<std::string_view> zone_keys = {"name",
                                                 "region",
                                                 "latitude",
                                                 "longitude",
                                                 "os",
                                                 "cpu_cores",
                                                 "memory_mb",
                                                 "accelerators",
                                                 "isolation",
                                                 "max_instances",
                                                 "cost_per_instance_hour",
                                                 "cost_per_core_hour",
                                                 "cost_per_gpu_hour",
                                                 "evaluators",
                                                 "gpu",
                                                 "latency_ms"};
const std::vector<std::string_view> gpu_keys = {"model", "memory_mb", "shader_model", "count"};
const std::vector<std::string_view> service_keys = {"manifest", "provider", "deploy"};
const std::vector<std::string_view> peer_keys = {"name", "address", "public_key", "role"};
const std::vector<std::string_view> evaluator_script_keys = {"name", "script", "instructions",
                                                             "memory_kb"};

const std::vector<std::string_view> peer_roles(defaults::peer::roles.begin(),
                                               defaults::peer::roles.end());

const std::vector<std::string_view> isolation_names = {"container", "vm", "bare-metal"};

template <class S>
std::vector<std::string_view> keys_of(const option_table<S>& table) {
  std::vector<std::string_view> out;
  for (const auto& opt : table) out.push_back(opt.key);
  return out;
}

// The top-level keys: one per flat section, then the arrays of tables.
const std::vector<std::string_view>& top_keys() {
  static const auto keys = [] {
    std::vector<std::string_view> out;
    for_each_section([&](std::string_view name, auto, const auto&) { out.push_back(name); });
    out.insert(out.end(), {"zone", "service", "peer", "evaluator_script"});
    return out;
  }();
  return keys;
}

constexpr int64_t max_u32 = std::numeric_limits<uint32_t>::max();
// Integers above 2^53 lose precision in JSON and in the shell; nobody has that much memory.
constexpr int64_t max_exact = int64_t{1} << 53;
constexpr double max_cost = 1e9;
constexpr double max_latency_ms = 1e6;

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string join(const std::vector<std::string_view>& xs, std::string_view sep = ", ") {
  std::string out;
  for (auto x : xs) {
    if (!out.empty()) out += sep;
    out += x;
  }
  return out;
}

// "a", "b" or "c"
std::string one_of(const std::vector<std::string_view>& xs) {
  std::string out;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i > 0) out += (i + 1 == xs.size()) ? " or " : ", ";
    out += '"';
    out += xs[i];
    out += '"';
  }
  return out;
}

std::string toml_quote(std::string_view s) {
  // toml++ writes a valid TOML basic string ("…", escapes included); no literal '…' strings.
  std::ostringstream out;
  toml::value<std::string> v{std::string{s}};
  out << toml::toml_formatter{v, toml::format_flags::none};
  return out.str();
}

// A string value as an error message echoes it: quoted, cut after max_echoed_chars.
std::string shown_string(std::string_view s) {
  if (s.size() <= max_echoed_chars) return toml_quote(s);
  return toml_quote(echoed_head(s)) + "... (" + std::to_string(s.size()) + " bytes)";
}

// Describes a value as found in the file: numbers as written, strings quoted.
std::string render(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::integer:
      return std::to_string(n.as_integer()->get());
    case toml::node_type::floating_point:
      return fmt::format("{}", n.as_floating_point()->get());
    case toml::node_type::string:
      return "the string " + shown_string(n.as_string()->get());
    case toml::node_type::boolean:
      return n.as_boolean()->get() ? "true" : "false";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date/time";
  }
}

// Validates one TOML document into a node_config; stops at the first error.
class parser {
 public:
  parser(std::string source, std::string base_dir)
      : source_(std::move(source)), base_dir_(std::move(base_dir)) {}

  caf::error parse(const toml::table& root, node_config& cfg) {
    if (auto err = check_keys(root, "", top_keys())) return err;
    caf::error err;
    for_each_section([&](std::string_view name, auto member, const auto& table) {
      if (!err)
        err = section(root, name, keys_of(table), [&](const toml::table& t) {
          return parse_options(t, name, table, cfg.*member);
        });
    });
    if (err) return err;
    if (auto err = check_link_timers(root, cfg.link)) return err;
    if (auto err = check_slot_timers(root, cfg.slots)) return err;
    if (auto err = parse_zones(root, cfg)) return err;
    if (auto err = parse_services(root, cfg)) return err;
    if (auto err = parse_evaluator_scripts(root, cfg)) return err;
    if (auto err = check_monitoring(root, cfg)) return err;
    if (auto err = parse_peers(root, cfg)) return err;
    if (auto err = check_gossip(root, cfg)) return err;
    return check_link_needs(root, cfg);
  }

 private:
  std::string at(const toml::source_region& src) const {
    return source_ + ":" + std::to_string(src.begin.line) + ": ";
  }

  caf::error fail(const toml::source_region& src, const std::string& what) const {
    return make_error(errc::invalid_config, at(src) + what);
  }

  static std::string dotted(const std::string& prefix, std::string_view key) {
    return prefix.empty() ? std::string{key} : prefix + "." + std::string{key};
  }

  caf::error check_keys(const toml::table& t, const std::string& prefix,
                        const std::vector<std::string_view>& allowed) const {
    for (auto&& [k, v] : t) {
      if (std::find(allowed.begin(), allowed.end(), k.str()) != allowed.end()) continue;
      std::string msg = "unknown key '" + echoed(dotted(prefix, k.str())) + "'";
      std::string_view best;
      size_t best_d = std::numeric_limits<size_t>::max();
      for (auto a : allowed) {
        auto d = edit_distance(k.str(), a);
        if (d < best_d) {
          best_d = d;
          best = a;
        }
      }
      if (best_d <= 2 && best_d < k.str().size())
        msg += " (did you mean '" + dotted(prefix, best) + "'?)";
      else
        msg += " (known keys" + (prefix.empty() ? "" : " of [" + prefix + "]") + ": " +
               join(allowed) + ")";
      return fail(k.source(), msg);
    }
    return {};
  }

  // Runs `f` on the table `key` of `root` if present, after checking its keys.
  template <class F>
  caf::error section(const toml::table& root, std::string_view key,
                     const std::vector<std::string_view>& allowed, F f) {
    auto* n = root.get(key);
    if (n == nullptr) return {};
    auto* t = n->as_table();
    if (t == nullptr)
      return fail(n->source(), std::string{key} + ": expected a table [" + std::string{key} +
                                   "], found " + render(*n));
    if (auto err = check_keys(*t, std::string{key}, allowed)) return err;
    return f(*t);
  }

  caf::error type_error(const toml::node& n, const std::string& prefix, std::string_view key,
                        const std::string& expected) const {
    return fail(n.source(),
                echoed(dotted(prefix, key)) + ": expected " + expected + ", found " + render(n));
  }

  template <class T>
  caf::error get_int(const toml::table& t, const std::string& prefix, std::string_view key,
                     int64_t lo, int64_t hi, T& out) const {
    auto* n = t.get(key);
    if (n == nullptr) return {};
    std::string expected =
        hi == std::numeric_limits<int64_t>::max()
            ? "an integer >= " + std::to_string(lo)
            : "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
    auto* v = n->as_integer();
    if (v == nullptr || v->get() < lo || v->get() > hi)
      return type_error(*n, prefix, key, expected);
    out = static_cast<T>(v->get());
    return {};
  }

  caf::error get_float(const toml::table& t, const std::string& prefix, std::string_view key,
                       double lo, double hi, double& out) const {
    auto* n = t.get(key);
    if (n == nullptr) return {};
    std::optional<double> x;
    if (auto* i = n->as_integer())
      x = static_cast<double>(i->get());
    else if (auto* f = n->as_floating_point())
      x = f->get();
    if (!x || !(*x >= lo && *x <= hi))  // also rejects nan
      return type_error(*n, prefix, key, fmt::format("a number from {} to {}", lo, hi));
    out = *x;
    return {};
  }

  // `expected` is what an error says the key wants when the value is not a string.
  caf::error get_string(const toml::table& t, const std::string& prefix, std::string_view key,
                        std::string& out, const std::string& expected = "a string") const {
    auto* n = t.get(key);
    if (n == nullptr) return {};
    auto* v = n->as_string();
    if (v == nullptr) return type_error(*n, prefix, key, expected);
    out = v->get();
    return {};
  }

  // An array of strings; with `choices`, every element must be one of them, once.
  caf::error get_strings(const toml::table& t, const std::string& prefix, std::string_view key,
                         std::vector<std::string>& out,
                         const std::vector<std::string_view>* choices = nullptr) const {
    auto* n = t.get(key);
    if (n == nullptr) return {};
    std::string expected = choices ? "an array of " + one_of(*choices) : "an array of strings";
    auto* arr = n->as_array();
    if (arr == nullptr) return type_error(*n, prefix, key, expected);
    std::vector<std::string> result;
    for (auto& elem : *arr) {
      auto* s = elem.as_string();
      if (s == nullptr) return type_error(elem, prefix, key, expected);
      if (choices) {
        if (std::find(choices->begin(), choices->end(), std::string_view{s->get()}) ==
            choices->end())
          return type_error(elem, prefix, key, expected);
        if (std::find(result.begin(), result.end(), s->get()) != result.end())
          return fail(elem.source(),
                      dotted(prefix, key) + ": " + shown_string(s->get()) + " is listed twice");
      }
      result.push_back(s->get());
    }
    out = std::move(result);
    return {};
  }

  std::string resolve(const std::string& path) const {
    if (path.empty()) return path;
    fs::path p{path};
    if (p.is_relative() && !base_dir_.empty()) p = fs::path{base_dir_} / p;
    std::error_code ec;
    auto abs = fs::absolute(p, ec);
    return (ec ? p : abs).lexically_normal().string();
  }

  // Reads the options of one flat section through its table.
  template <class S>
  caf::error parse_options(const toml::table& t, std::string_view name,
                           const option_table<S>& table, S& out) const {
    std::string prefix{name};
    for (const auto& opt : table) {
      auto* n = t.get(opt.key);
      if (n == nullptr) continue;
      option_value v;
      if (auto err = read(*n, prefix, opt, v)) return err;
      if (opt.path) v = resolve(std::get<std::string>(v));
      opt.set(out, v);
    }
    return {};
  }

  // Reads `n` as option `opt` wants it; errors name the key, the expectation and the value.
  caf::error read(const toml::node& n, const std::string& prefix, const option_spec& opt,
                  option_value& out) const {
    auto bad = [&](const toml::node& at) {
      return type_error(at, prefix, opt.key, expected_text(opt));
    };
    switch (opt.kind) {
      case option_kind::integer: {
        auto* v = n.as_integer();
        if (v == nullptr || !accepts(opt, option_value{v->get()})) return bad(n);
        out = v->get();
        return {};
      }
      case option_kind::number: {
        std::optional<double> x;
        if (auto* i = n.as_integer())
          x = static_cast<double>(i->get());
        else if (auto* f = n.as_floating_point())
          x = f->get();
        if (!x || !accepts(opt, option_value{*x})) return bad(n);  // also rejects nan
        out = *x;
        return {};
      }
      case option_kind::text: {
        auto* v = n.as_string();
        if (v == nullptr) return bad(n);
        if (opt.valid != nullptr && !opt.valid(v->get()))
          return type_error(n, prefix, opt.key, std::string{opt.valid_expected});
        out = v->get();
        return {};
      }
      case option_kind::choice: {
        auto* v = n.as_string();
        if (v == nullptr || !accepts(opt, option_value{v->get()})) return bad(n);
        out = v->get();
        return {};
      }
      case option_kind::strings: {
        auto* arr = n.as_array();
        if (arr == nullptr) return bad(n);
        std::vector<std::string> result;
        for (auto& elem : *arr) {
          auto* v = elem.as_string();
          if (v == nullptr) return bad(elem);
          if (!opt.choices.empty()) {
            if (!accepts(opt, option_value{std::vector<std::string>{v->get()}})) return bad(elem);
            if (std::find(result.begin(), result.end(), v->get()) != result.end())
              return fail(elem.source(), dotted(prefix, opt.key) + ": " + shown_string(v->get()) +
                                             " is listed twice");
          }
          result.push_back(v->get());
        }
        out = std::move(result);
        return {};
      }
    }
    return bad(n);
  }

  // Returns the array of tables `key`, or nullptr if absent; `err` is set on a wrong type.
  // `where` names the key in messages ("zone[0].gpu"), `header` the TOML form ("zone.gpu").
  const toml::array* tables_of(const toml::table& t, std::string_view key, caf::error& err,
                               const std::string& where = "", const std::string& header = "") {
    auto* n = t.get(key);
    if (n == nullptr) return nullptr;
    auto* arr = n->as_array();
    if (arr == nullptr || !arr->is_array_of_tables()) {
      auto name = where.empty() ? std::string{key} : where;
      err = fail(n->source(), name + ": expected an array of tables [[" +
                                  (header.empty() ? std::string{key} : header) + "]], found " +
                                  render(*n));
      return nullptr;
    }
    return arr;
  }

  caf::error parse_zones(const toml::table& root, node_config& cfg) {
    caf::error err;
    auto* zones = tables_of(root, "zone", err);
    if (zones == nullptr) return err;
    std::map<std::string, uint32_t> first_line;
    for (size_t i = 0; i < zones->size(); ++i) {
      auto& t = *zones->get(i)->as_table();
      auto prefix = "zone[" + std::to_string(i) + "]";
      if (auto e = check_keys(t, prefix, zone_keys)) return e;
      protocols::zone_parameters z;
      z.os = defaults::zone::os;
      z.isolation.assign(defaults::zone::isolation.begin(), defaults::zone::isolation.end());
      z.max_instances = static_cast<uint32_t>(defaults::zone::max_instances);
      if (t.get("name") == nullptr)
        return fail(t.source(), prefix +
                                    ".name: required key is missing (expected a unique zone "
                                    "name from [A-Za-z0-9._-])");
      if (auto e = get_string(t, prefix, "name", z.name)) return e;
      if (!valid_name(z.name))
        return type_error(*t.get("name"), prefix, "name", "1 to 64 characters from [A-Za-z0-9._-]");
      auto line = t.get("name")->source().begin.line;
      if (auto [it, fresh] = first_line.emplace(z.name, line); !fresh)
        return fail(t.get("name")->source(), prefix + ".name: duplicate zone name " +
                                                 toml_quote(z.name) + " (first defined at line " +
                                                 std::to_string(it->second) + ")");
      if (auto e = parse_zone_fields(t, prefix, z)) return e;
      if (std::find(cfg.node.roles.begin(), cfg.node.roles.end(), "zones") == cfg.node.roles.end())
        return fail(t.source(), prefix +
                                    ": this node hosts zones but node.roles does not "
                                    "include \"zones\"");
      cfg.zones.push_back(std::move(z));
    }
    // Once every zone reads well: what the zone registry would refuse.
    for (size_t i = 0; i < cfg.zones.size(); ++i)
      if (auto e = check_zone(*zones->get(i)->as_table(), "zone[" + std::to_string(i) + "]",
                              cfg.zones[i]))
        return e;
    return {};
  }

  caf::error parse_zone_fields(const toml::table& t, const std::string& prefix,
                               protocols::zone_parameters& z) {
    if (auto e = get_string(t, prefix, "region", z.location.region)) return e;
    if (auto e = get_float(t, prefix, "latitude", -90, 90, z.location.latitude)) return e;
    if (auto e = get_float(t, prefix, "longitude", -180, 180, z.location.longitude)) return e;
    if (auto e = get_string(t, prefix, "os", z.os)) return e;
    if (z.os.empty()) return type_error(*t.get("os"), prefix, "os", "a non-empty string");
    if (auto e = get_int(t, prefix, "cpu_cores", 0, max_u32, z.cpu_cores)) return e;
    if (auto e = get_int(t, prefix, "memory_mb", 0, max_exact, z.memory_mb)) return e;
    if (auto e = get_strings(t, prefix, "accelerators", z.accelerators)) return e;
    if (auto e = get_strings(t, prefix, "isolation", z.isolation, &isolation_names)) return e;
    if (auto e = get_int(t, prefix, "max_instances", 0, max_u32, z.max_instances)) return e;
    if (auto e =
            get_float(t, prefix, "cost_per_instance_hour", 0, max_cost, z.cost_per_instance_hour))
      return e;
    if (auto e = get_float(t, prefix, "cost_per_core_hour", 0, max_cost, z.cost_per_core_hour))
      return e;
    if (auto e = get_float(t, prefix, "cost_per_gpu_hour", 0, max_cost, z.cost_per_gpu_hour))
      return e;
    if (auto e = get_strings(t, prefix, "evaluators", z.evaluators)) return e;
    caf::error err;
    if (auto* gpus = tables_of(t, "gpu", err, prefix + ".gpu", "zone.gpu")) {
      for (size_t i = 0; i < gpus->size(); ++i) {
        auto& g = *gpus->get(i)->as_table();
        auto gp = prefix + ".gpu[" + std::to_string(i) + "]";
        if (auto e = check_keys(g, gp, gpu_keys)) return e;
        protocols::gpu_spec spec;
        spec.count = static_cast<uint32_t>(defaults::zone::gpu_count);
        if (g.get("model") == nullptr)
          return fail(g.source(), gp + ".model: required key is missing (expected a GPU model "
                                       "name such as \"nvidia-a100\")");
        if (auto e = get_string(g, gp, "model", spec.model)) return e;
        if (auto e = get_int(g, gp, "memory_mb", 0, max_exact, spec.memory_mb)) return e;
        if (auto e = get_float(g, gp, "shader_model", 0, 100, spec.shader_model)) return e;
        if (auto e = get_int(g, gp, "count", 1, max_u32, spec.count)) return e;
        z.gpus.push_back(std::move(spec));
      }
    } else if (err) {
      return err;
    }
    if (auto* n = t.get("latency_ms")) {
      auto* lat = n->as_table();
      if (lat == nullptr)
        return type_error(*n, prefix, "latency_ms", "a table of region = milliseconds");
      for (auto&& [region, v] : *lat) {
        double ms = 0;
        if (auto e = get_float(*lat, prefix + ".latency_ms", region.str(), 0, max_latency_ms, ms))
          return e;
        z.latency_ms.emplace(std::string{region.str()}, ms);
      }
    }
    return {};
  }

  // What the zone registry would refuse at run time (runtime::check_zone_parameters), refused
  // here with the line of the key, or of the [[zone]] header when the key is missing.
  caf::error check_zone(const toml::table& t, const std::string& prefix,
                        const protocols::zone_parameters& z) const {
    auto problem = check_zone_parameters(z);
    if (!problem) return {};
    std::string key = problem->field;
    const toml::table* table = &t;
    std::string where = prefix;
    if (key.rfind("location.", 0) == 0) {
      key = key.substr(9);
    } else if (key.rfind("gpus[", 0) == 0) {
      auto close = key.find(']');
      auto i = std::stoul(key.substr(5, close - 5));
      where = prefix + ".gpu[" + std::to_string(i) + "]";
      table = t.get("gpu")->as_array()->get(i)->as_table();
      key = key.substr(close + 2);
    } else if (key.rfind("latency_ms.", 0) == 0) {
      table = t.get("latency_ms")->as_table();
      where = prefix + ".latency_ms";
      key = key.substr(11);
    }
    auto* n = table->get(key);
    return fail(n ? n->source() : table->source(),
                where + "." + echoed(key) + ": " + problem->what +
                    (n ? "" : "; the key is missing (its default does not make a usable zone)"));
  }

  caf::error parse_services(const toml::table& root, node_config& cfg) {
    caf::error err;
    auto* services = tables_of(root, "service", err);
    if (services == nullptr) return err;
    for (size_t i = 0; i < services->size(); ++i) {
      auto& t = *services->get(i)->as_table();
      auto prefix = "service[" + std::to_string(i) + "]";
      if (auto e = check_keys(t, prefix, service_keys)) return e;
      service_entry s;
      s.deploy = static_cast<uint32_t>(defaults::service::deploy);
      for (auto key : {"manifest", "provider"})
        if (t.get(key) == nullptr)
          return fail(t.source(), prefix + "." + key + ": required key is missing");
      if (auto e = get_string(t, prefix, "manifest", s.manifest)) return e;
      if (auto e = get_string(t, prefix, "provider", s.provider)) return e;
      if (s.provider.empty())
        return type_error(*t.get("provider"), prefix, "provider", "a non-empty provider name");
      if (auto e = get_int(t, prefix, "deploy", 0, defaults::service::max_deploy, s.deploy))
        return e;
      auto path = resolve(s.manifest);
      std::error_code ec;
      if (s.manifest.empty() || !fs::is_regular_file(path, ec))
        return fail(t.get("manifest")->source(),
                    prefix + ".manifest: expected a readable manifest file, found " +
                        shown_string(s.manifest) + " (no such file: " + echoed(path) +
                        "; relative paths start at the config file's folder)");
      s.manifest = path;
      auto has_role = [&](const char* r) {
        return std::find(cfg.node.roles.begin(), cfg.node.roles.end(), r) != cfg.node.roles.end();
      };
      if (!has_role("domain") && !has_role("services"))
        return fail(t.source(), prefix +
                                    ": services are registered by the domain or services "
                                    "role, but node.roles includes neither");
      cfg.services.push_back(std::move(s));
    }
    return {};
  }

  // [[evaluator_script]]: a unique name and a readable script. Whether the script compiles
  // is checked when the zones role loads it (the config reader knows no Lua).
  caf::error parse_evaluator_scripts(const toml::table& root, node_config& cfg) {
    caf::error err;
    auto* scripts = tables_of(root, "evaluator_script", err);
    if (scripts == nullptr) return err;
    namespace d = defaults::evaluator_script;
    for (size_t i = 0; i < scripts->size(); ++i) {
      auto& t = *scripts->get(i)->as_table();
      auto prefix = "evaluator_script[" + std::to_string(i) + "]";
      if (auto e = check_keys(t, prefix, evaluator_script_keys)) return e;
      evaluator_script e;
      e.instructions = d::instructions;
      e.memory_kb = d::memory_kb;
      for (auto key : {"name", "script"})
        if (t.get(key) == nullptr)
          return fail(t.source(), prefix + "." + key + ": required key is missing");
      if (auto x = get_string(t, prefix, "name", e.name)) return x;
      if (!valid_name(e.name))
        return type_error(*t.get("name"), prefix, "name",
                          "an evaluator name of 1 to 64 characters from [A-Za-z0-9._-]");
      for (const auto& other : cfg.evaluator_scripts)
        if (other.name == e.name)
          return fail(t.get("name")->source(),
                      prefix + ".name: duplicate evaluator name " + toml_quote(e.name));
      if (auto x = get_string(t, prefix, "script", e.script)) return x;
      if (auto x = get_int(t, prefix, "instructions", 1, d::max_instructions, e.instructions))
        return x;
      if (auto x = get_int(t, prefix, "memory_kb", d::min_memory_kb, d::max_memory_kb, e.memory_kb))
        return x;
      auto path = resolve(e.script);
      std::error_code ec;
      if (e.script.empty() || !fs::is_regular_file(path, ec))
        return fail(t.get("script")->source(),
                    prefix + ".script: expected a readable Lua file, found " +
                        shown_string(e.script) + " (no such file: " + echoed(path) +
                        "; relative paths start at the config file's folder)");
      e.script = path;
      cfg.evaluator_scripts.push_back(std::move(e));
    }
    return {};
  }

  // [monitoring]: a script, if named, is a readable file (whether it compiles is checked
  // when the zones role loads it).
  caf::error check_monitoring(const toml::table& root, const node_config& cfg) const {
    const auto& path = cfg.monitoring.script;
    if (path.empty()) return {};
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) return {};
    const auto& t = *root.get("monitoring")->as_table();
    return fail(t.get("script")->source(),
                "monitoring.script: expected a readable Lua file, found " + toml_quote(path) +
                    " (no such file; relative paths start at the config file's folder)");
  }

  // [link]: a link is declared dead only after a heartbeat had the time to arrive.
  caf::error check_link_timers(const toml::table& root, const link_config& l) const {
    if (l.dead_after_ms > l.heartbeat_ms) return {};
    // The defaults pass, so [link] sets one of the two keys.
    const auto& t = *root.get("link")->as_table();
    auto* n = t.get("dead_after_ms") ? t.get("dead_after_ms") : t.get("heartbeat_ms");
    return fail(n->source(), "link.dead_after_ms: must be greater than link.heartbeat_ms (found " +
                                 std::to_string(l.dead_after_ms) +
                                 " <= " + std::to_string(l.heartbeat_ms) + ")");
  }

  // [gossip]: probes time out within their period, seeds are peers this node can dial, keys
  // parse, and the named policy names a domain.
  caf::error check_gossip(const toml::table& root, const node_config& cfg) const {
    const auto& g = cfg.gossip;
    const auto* node = root.get("gossip");
    if (node == nullptr) return {};
    const auto& t = *node->as_table();
    auto at_key = [&](const char* key) -> const toml::source_region& {
      return t.get(key) ? t.get(key)->source() : t.source();
    };
    if (g.probe_timeout_ms >= g.interval_ms)
      return fail(at_key("probe_timeout_ms"),
                  "gossip.probe_timeout_ms: must be less than gossip.interval_ms (found " +
                      std::to_string(g.probe_timeout_ms) + " >= " + std::to_string(g.interval_ms) +
                      ")");
    for (const char* key : {"seeds", "wan_seeds"})
      for (const auto& seed : std::string_view{key} == "seeds" ? g.seeds : g.wan_seeds) {
        auto it = std::find_if(cfg.peers.begin(), cfg.peers.end(),
                               [&](const peer_entry& p) { return p.name == seed; });
        if (it == cfg.peers.end() || it->address.empty())
          return fail(at_key(key), "gossip." + std::string{key} + ": " + toml_quote(seed) +
                                       " is not a [[peer]] with an address; a seed is a peer "
                                       "this node dials (add it as [[peer]] with address and "
                                       "public_key)");
      }
    for (const auto& key : g.trusted_keys)
      if (!valid_public_key(key))
        return fail(at_key("trusted_keys"),
                    "gossip.trusted_keys: " + toml_quote(key) +
                        " is not a public key: standard base64 of 32 bytes, 44 characters "
                        "ending in '=' (what `fusion-node keygen` prints)");
    if (g.policy == "named" && g.domain.empty())
      return fail(at_key("policy"),
                  "gossip.policy: \"named\" needs gossip.domain, the domain to join");
    return {};
  }

  // [slots]: unchanged slots are re-published no faster than the interval allows, and
  // before the receivers' rows expire.
  caf::error check_slot_timers(const toml::table& root, const slots_config& s) const {
    std::string problem;
    const char* key = nullptr;
    if (s.refresh_ms < s.interval_ms) {
      key = "refresh_ms";
      problem = "slots.refresh_ms: must be at least slots.interval_ms (found " +
                std::to_string(s.refresh_ms) + " < " + std::to_string(s.interval_ms) + ")";
    } else if (s.validity_ms <= s.refresh_ms) {
      key = "validity_ms";
      problem =
          "slots.validity_ms: must be greater than slots.refresh_ms, or rows expire "
          "between refreshes (found " +
          std::to_string(s.validity_ms) + " <= " + std::to_string(s.refresh_ms) + ")";
    }
    if (key == nullptr) return {};
    // The defaults pass, so [slots] sets one of the keys.
    const auto& t = *root.get("slots")->as_table();
    const toml::node* at = t.get(key) ? t.get(key) : &t;
    return fail(at->source(), problem);
  }

  // What links need once [link] and the peers are read: an identity to prove in handshakes,
  // and for each peer someone who dials.
  caf::error check_link_needs(const toml::table& root, const node_config& cfg) const {
    const auto* link = root.get("link") ? root.get("link")->as_table() : nullptr;
    const auto* peers = root.get("peer") ? root.get("peer")->as_array() : nullptr;
    bool listens = !cfg.link.address.empty();
    if (cfg.link.identity.empty() && (listens || !cfg.peers.empty())) {
      const toml::node* at = link;
      if (link != nullptr && link->get("identity") != nullptr) at = link->get("identity");
      if (at == nullptr) at = peers->get(0);
      return fail(at->source(),
                  std::string{"link.identity: required because "} +
                      (listens ? "link.address is set" : "[[peer]] entries are listed") +
                      " (expected the path of this node's key file, made by `fusion-node "
                      "keygen FILE`)");
    }
    if (listens) return {};
    for (size_t i = 0; i < cfg.peers.size(); ++i) {
      if (!cfg.peers[i].address.empty()) continue;
      const auto& t = *peers->get(i)->as_table();
      return fail(t.get("address") ? t.get("address")->source() : t.source(),
                  "peer[" + std::to_string(i) +
                      "].address: \"\" waits for the peer to dial this node, but link.address is "
                      "\"\" (this node does not listen): give the peer's \"host:port\" or set "
                      "link.address");
    }
    return {};
  }

  caf::error parse_peers(const toml::table& root, node_config& cfg) {
    caf::error err;
    auto* peers = tables_of(root, "peer", err);
    if (peers == nullptr) return err;
    // Name or key -> where it was first given ("peer[0]", its line).
    std::map<std::string, std::pair<std::string, uint32_t>> names, keys;
    for (size_t i = 0; i < peers->size(); ++i) {
      auto& t = *peers->get(i)->as_table();
      auto prefix = "peer[" + std::to_string(i) + "]";
      if (auto e = check_keys(t, prefix, peer_keys)) return e;
      peer_entry p;
      p.address = defaults::peer::address;
      p.role = defaults::peer::role;
      if (t.get("name") == nullptr)
        return fail(t.source(), prefix +
                                    ".name: required key is missing (expected the peer's "
                                    "node.name, from [A-Za-z0-9._-])");
      if (t.get("public_key") == nullptr)
        return fail(t.source(), prefix +
                                    ".public_key: required key is missing (expected the peer's "
                                    "public key: copy the line `public = ...` that `fusion-node "
                                    "keygen` printed for it)");
      const std::string name_expected = "1 to 64 characters from [A-Za-z0-9._-]";
      if (auto e = get_string(t, prefix, "name", p.name, name_expected)) return e;
      auto& name = *t.get("name");
      if (!valid_name(p.name)) return type_error(name, prefix, "name", name_expected);
      if (p.name == cfg.node.name)
        return fail(name.source(), prefix + ".name: " + toml_quote(p.name) +
                                       " is this node's own node.name; a peer is another node");
      auto line = name.source().begin.line;
      if (auto [it, fresh] = names.emplace(p.name, std::pair{prefix, line}); !fresh)
        return fail(name.source(), prefix + ".name: duplicate peer name " + toml_quote(p.name) +
                                       " (first defined at line " +
                                       std::to_string(it->second.second) + ")");
      const std::string address_expected =
          "\"\" or \"host:port\" with a port from 1 to 65535 (IPv6 in brackets: \"[::1]:7400\")";
      if (auto e = get_string(t, prefix, "address", p.address, address_expected)) return e;
      if (!valid_peer_address(p.address))
        return type_error(*t.get("address"), prefix, "address", address_expected);
      const std::string key_expected =
          "standard base64 of a 32-byte Ed25519 key, 44 characters of [A-Za-z0-9+/] ending in "
          "'=' (copy the line `public = ...` that `fusion-node keygen` printed for this peer)";
      if (auto e = get_string(t, prefix, "public_key", p.public_key, key_expected)) return e;
      auto& key = *t.get("public_key");
      if (!valid_public_key(p.public_key))
        return type_error(key, prefix, "public_key", key_expected);
      line = key.source().begin.line;
      if (auto [it, fresh] = keys.emplace(p.public_key, std::pair{prefix, line}); !fresh)
        return fail(key.source(), prefix + ".public_key: the same key as " + it->second.first +
                                      " (line " + std::to_string(it->second.second) +
                                      "); each node has its own key");
      if (auto e = get_string(t, prefix, "role", p.role, one_of(peer_roles))) return e;
      if (std::find(peer_roles.begin(), peer_roles.end(), p.role) == peer_roles.end())
        return type_error(*t.get("role"), prefix, "role", one_of(peer_roles));
      cfg.peers.push_back(std::move(p));
    }
    return {};
  }

  std::string source_;
  std::string base_dir_;
};

std::string toml_float(double x) {
  auto s = fmt::format("{}", x);
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

std::string toml_strings(const std::vector<std::string>& xs) {
  std::string out = "[";
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i > 0) out += ", ";
    out += toml_quote(xs[i]);
  }
  return out + "]";
}

// A bare key if TOML allows it, else a quoted one.
std::string toml_key(const std::string& k) {
  bool bare = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
  return bare ? k : toml_quote(k);
}

}  // namespace

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_alnum(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_ipv4(const std::string& s) {
  in_addr a{};
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& s) {
  in6_addr a{};
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

// A host name (labels of [A-Za-z0-9-], not starting or ending with '-') or an IPv4 address.
bool is_host(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  if (std::all_of(s.begin(), s.end(), [](char c) { return is_digit(c) || c == '.'; }))
    return is_ipv4(s);
  size_t start = 0;
  while (start <= s.size()) {
    auto end = std::min(s.find('.', start), s.size());
    auto label = std::string_view{s}.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-' ||
        !std::all_of(label.begin(), label.end(), [](char c) { return is_alnum(c) || c == '-'; }))
      return false;
    start = end + 1;
  }
  return true;
}

// Decimal digits only (no sign, no spaces), 1 to 65535.
bool is_port(std::string_view s) {
  if (s.empty() || s.size() > 5 || !std::all_of(s.begin(), s.end(), is_digit)) return false;
  auto n = std::stoul(std::string{s});
  return n >= 1 && n <= 65'535;
}

// Value of a standard base64 character, or -1.
int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (is_digit(c)) return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

bool valid_listen_address(const std::string& s) {
  return s.empty() || is_host(s) || is_ipv6(s);
}

std::optional<peer_address> parse_peer_address(const std::string& s) {
  std::string host;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return std::nullopt;
    host = s.substr(1, close - 1);
    if (!is_ipv6(host)) return std::nullopt;
    port = std::string_view{s}.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    host = s.substr(0, colon);
    if (!is_host(host)) return std::nullopt;
    port = std::string_view{s}.substr(colon + 1);
  }
  if (!is_port(port)) return std::nullopt;
  return peer_address{std::move(host), static_cast<uint16_t>(std::stoi(std::string{port}))};
}

bool valid_peer_address(const std::string& s) {
  return s.empty() || parse_peer_address(s).has_value();
}

bool valid_public_key(const std::string& s) {
  // 32 bytes are 256 bits: 42 characters of 6 bits, a 43rd whose last 2 bits are 0, '='.
  if (s.size() != 44 || s[43] != '=') return false;
  for (size_t i = 0; i < 43; ++i)
    if (base64_value(s[i]) < 0) return false;
  return (base64_value(s[42]) & 3) == 0;
}

std::string expected_text(const option_spec& spec) {
  switch (spec.kind) {
    case option_kind::integer:
      return spec.max == std::numeric_limits<int64_t>::max()
                 ? "an integer >= " + std::to_string(spec.min)
                 : "an integer from " + std::to_string(spec.min) + " to " +
                       std::to_string(spec.max);
    case option_kind::number:
      return fmt::format("a number from {} to {}", spec.fmin, spec.fmax);
    case option_kind::text:
      return "a string";
    case option_kind::choice:
      return one_of(spec.choices);
    case option_kind::strings:
      return spec.choices.empty() ? "an array of strings" : "an array of " + one_of(spec.choices);
  }
  return {};
}

bool accepts(const option_spec& spec, const option_value& v) {
  auto chosen = [&](const std::string& x) {
    return std::find(spec.choices.begin(), spec.choices.end(), std::string_view{x}) !=
           spec.choices.end();
  };
  switch (spec.kind) {
    case option_kind::integer: {
      auto* x = std::get_if<int64_t>(&v);
      return x != nullptr && *x >= spec.min && *x <= spec.max;
    }
    case option_kind::number: {
      auto* x = std::get_if<double>(&v);
      return x != nullptr && *x >= spec.fmin && *x <= spec.fmax;  // false for nan
    }
    case option_kind::text: {
      auto* x = std::get_if<std::string>(&v);
      return x != nullptr && (spec.valid == nullptr || spec.valid(*x));
    }
    case option_kind::choice: {
      auto* x = std::get_if<std::string>(&v);
      return x != nullptr && chosen(*x);
    }
    case option_kind::strings: {
      auto* xs = std::get_if<std::vector<std::string>>(&v);
      if (xs == nullptr) return false;
      if (spec.choices.empty()) return true;
      for (size_t i = 0; i < xs->size(); ++i)
        if (!chosen((*xs)[i]) ||
            std::find(xs->begin(), xs->begin() + i, (*xs)[i]) != xs->begin() + i)
          return false;
      return true;
    }
  }
  return false;
}

std::string toml_value(const option_value& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) return toml_float(*d);
  if (auto* s = std::get_if<std::string>(&v)) return toml_quote(*s);
  return toml_strings(std::get<std::vector<std::string>>(v));
}

node_config default_config() {
  node_config c;
  for_each_section([&](std::string_view, auto member, const auto& table) {
    for (const auto& opt : table) opt.set(c.*member, opt.def);
  });
  return c;
}

caf::expected<node_config> load_config_string(const std::string& text,
                                              const std::string& source_name,
                                              const std::string& base_dir) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    const auto& pos = e.source().begin;
    return make_error(errc::invalid_config, source_name + ":" + std::to_string(pos.line) + ":" +
                                                std::to_string(pos.column) +
                                                ": syntax error: " + std::string{e.description()});
  } catch (const std::exception& e) {
    return make_error(errc::invalid_config, source_name + ": cannot parse: " + e.what());
  }
  auto cfg = default_config();
  parser p{source_name, base_dir};
  if (auto err = p.parse(root, cfg)) return err;
  return cfg;
}

caf::expected<node_config> load_config(const std::string& path) {
  auto text = read_text_file(path, "config file");
  if (!text) return text.error();
  auto base = fs::path{path}.parent_path().string();
  return load_config_string(*text, path, base);
}

std::string to_toml(const node_config& c) {
  std::string out;
  auto line = [&](std::string_view key, const std::string& value) {
    out += key;
    out += " = ";
    out += value;
    out += '\n';
  };
  bool first = true;
  for_each_section([&](std::string_view name, auto member, const auto& table) {
    out += first ? "[" : "\n[";
    first = false;
    out += name;
    out += "]\n";
    for (const auto& opt : table) {
      out += "# ";
      out += opt.doc;
      // What the key accepts, unless that is any string.
      if (opt.kind != option_kind::text)
        out += " Expected: " + expected_text(opt) + ".";
      else if (opt.valid != nullptr)
        out += " Expected: " + std::string{opt.valid_expected} + ".";
      out += '\n';
      line(opt.key, toml_value(opt.get(c.*member)));
    }
  });
  for (const auto& z : c.zones) {
    out += "\n[[zone]]\n";
    line("name", toml_quote(z.name));
    line("region", toml_quote(z.location.region));
    line("latitude", toml_float(z.location.latitude));
    line("longitude", toml_float(z.location.longitude));
    line("os", toml_quote(z.os));
    line("cpu_cores", std::to_string(z.cpu_cores));
    line("memory_mb", std::to_string(z.memory_mb));
    line("accelerators", toml_strings(z.accelerators));
    line("isolation", toml_strings(z.isolation));
    line("max_instances", std::to_string(z.max_instances));
    line("cost_per_instance_hour", toml_float(z.cost_per_instance_hour));
    line("cost_per_core_hour", toml_float(z.cost_per_core_hour));
    line("cost_per_gpu_hour", toml_float(z.cost_per_gpu_hour));
    line("evaluators", toml_strings(z.evaluators));
    if (!z.latency_ms.empty()) {
      out += "[zone.latency_ms]\n";
      for (const auto& [region, ms] : z.latency_ms) line(toml_key(region), toml_float(ms));
    }
    for (const auto& g : z.gpus) {
      out += "[[zone.gpu]]\n";
      line("model", toml_quote(g.model));
      line("memory_mb", std::to_string(g.memory_mb));
      line("shader_model", toml_float(g.shader_model));
      line("count", std::to_string(g.count));
    }
  }
  for (const auto& s : c.services) {
    out += "\n[[service]]\n";
    line("manifest", toml_quote(s.manifest));
    line("provider", toml_quote(s.provider));
    line("deploy", std::to_string(s.deploy));
  }
  for (const auto& p : c.peers) {
    out += "\n[[peer]]\n";
    line("name", toml_quote(p.name));
    line("address", toml_quote(p.address));
    line("public_key", toml_quote(p.public_key));
    line("role", toml_quote(p.role));
  }
  for (const auto& e : c.evaluator_scripts) {
    out += "\n[[evaluator_script]]\n";
    line("name", toml_quote(e.name));
    line("script", toml_quote(e.script));
    line("instructions", std::to_string(e.instructions));
    line("memory_kb", std::to_string(e.memory_kb));
  }
  return out;
}

std::vector<std::string> known_config_keys() {
  std::vector<std::string> out;
  auto add = [&](const std::string& prefix, const std::vector<std::string_view>& keys) {
    for (auto k : keys)
      if (!(prefix == "zone" && (k == "gpu" || k == "latency_ms")))
        out.push_back(prefix + "." + std::string{k});
  };
  for_each_section([&](std::string_view name, auto, const auto& table) {
    add(std::string{name}, keys_of(table));
  });
  add("zone", zone_keys);
  add("zone.gpu", gpu_keys);
  out.push_back("zone.latency_ms");
  add("service", service_keys);
  add("peer", peer_keys);
  add("evaluator_script", evaluator_script_keys);
  return out;
}

}  // namespace fusion::runtime
