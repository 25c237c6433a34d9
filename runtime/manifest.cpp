#include "runtime/manifest.hpp"

#include "protocols/errc.hpp"
#include "runtime/names.hpp"
#include "runtime/text.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

namespace fusion::runtime {

namespace {

using protocols::manifest;

constexpr double inf = std::numeric_limits<double>::infinity();

/// Internal: carries a finished error sentence out of the recursive parser.
struct manifest_error {
  std::string what;
};

const char* kind_of(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    default:
      return "nothing";
  }
}

// A value as an error echoes it: quoted, cut after max_echoed_chars with its length.
std::string quote(const std::string& s) {
  if (s.size() <= max_echoed_chars) return "'" + s + "'";
  return "'" + std::string{echoed_head(s)} + "'... (" + std::to_string(s.size()) + " bytes)";
}

std::string num(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", x);
  return buf;
}

/// A key's value with where it was written, as handed to section handlers.
struct field {
  const YAML::Node& value;
  YAML::Mark mark;      ///< Of the value, or of the key if the value has none.
  std::string path;     ///< Dotted key path, e.g. "deployment.hardware.gpus".
  YAML::Mark key_mark;  ///< Of the key (of the item, for list items).
};

using handler = std::function<void(const std::string& key, const field& f)>;

class parser {
 public:
  explicit parser(const std::string& source) : source_(source) {}

  [[noreturn]] void fail(const YAML::Mark& mark, const std::string& path,
                         const std::string& what) const {
    std::string out = source_;
    out += ":" + std::to_string(mark.is_null() ? 1 : mark.line + 1) + ": ";
    if (!path.empty()) out += echoed(path) + ": ";
    out += what;
    throw manifest_error{std::move(out)};
  }

  [[noreturn]] void fail(const field& f, const std::string& what) const {
    fail(f.mark, f.path, what);
  }

  /// Visits every key of a map node, rejecting non-maps, unknown and duplicate keys.
  void for_each_key(const field& f, std::initializer_list<std::string_view> allowed,
                    const handler& fn) {
    if (f.value.IsNull()) return;  // An empty section is the same as an absent one.
    if (!f.value.IsMap()) fail(f, std::string{"expected a map, found "} + kind_of(f.value));
    std::set<std::string> seen;
    for (auto it = f.value.begin(); it != f.value.end(); ++it) {
      const YAML::Node key_node = it->first;
      auto path_of = [&](const std::string& k) { return f.path.empty() ? k : f.path + "." + k; };
      if (!key_node.IsScalar())
        fail(key_node.Mark(), f.path,
             "keys must be plain names, found " + std::string{kind_of(key_node)});
      const std::string& key = key_node.Scalar();
      bool known = false;
      for (auto a : allowed) known = known || key == a;
      if (!known) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string{a};
        fail(key_node.Mark(), path_of(key), "unknown key; expected one of " + list);
      }
      if (!seen.insert(key).second) fail(key_node.Mark(), path_of(key), "duplicate key");
      const YAML::Node value = it->second;
      auto mark = value.Mark().is_null() ? key_node.Mark() : value.Mark();
      field sub{value, mark, path_of(key), key_node.Mark()};
      marks_[sub.path] = mark;
      fn(key, sub);
    }
  }

  std::string scalar(const field& f, const char* expected) {
    if (!f.value.IsScalar())
      fail(f, std::string{"expected "} + expected + ", found " + kind_of(f.value));
    return f.value.Scalar();
  }

  std::string str(const field& f) { return scalar(f, "a string"); }

  std::string nonempty_str(const field& f) {
    auto s = scalar(f, "a non-empty string");
    if (s.empty()) fail(f, "expected a non-empty string, found ''");
    return s;
  }

  uint64_t uint_in(const field& f, uint64_t lo, uint64_t hi) {
    auto s = scalar(f, "a non-negative integer");
    uint64_t x = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
    if (ec == std::errc::result_out_of_range)
      fail(f, "expected an integer between " + std::to_string(lo) + " and " + std::to_string(hi) +
                  ", found " + quote(s));
    if (ec != std::errc{} || p != s.data() + s.size() || s.empty())
      fail(f, "expected a non-negative integer, found " + quote(s));
    if (x < lo || x > hi)
      fail(f, "expected an integer between " + std::to_string(lo) + " and " + std::to_string(hi) +
                  ", found " + echoed(s));
    return x;
  }

  uint32_t u32_in(const field& f, uint32_t lo, uint32_t hi) {
    return static_cast<uint32_t>(uint_in(f, lo, hi));
  }

  double num_in(const field& f, double lo, double hi) {
    auto s = scalar(f, "a number");
    double x = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
    if (ec != std::errc{} || p != s.data() + s.size() || s.empty() || !std::isfinite(x))
      fail(f, "expected a number, found " + quote(s));
    if (x < lo || x > hi) {
      if (hi == inf) fail(f, "expected a number >= " + num(lo) + ", found " + echoed(s));
      fail(f, "expected a number between " + num(lo) + " and " + num(hi) + ", found " + echoed(s));
    }
    return x;
  }

  bool boolean(const field& f) {
    auto s = lower(scalar(f, "true or false"));
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
    fail(f, "expected true or false, found " + quote(f.value.Scalar()));
  }

  std::string one_of(const field& f, std::initializer_list<std::string_view> options) {
    std::string list;
    for (auto o : options) list += (list.empty() ? "" : ", ") + std::string{o};
    auto s = scalar(f, ("one of " + list).c_str());
    for (auto o : options)
      if (s == o) return s;
    fail(f, "expected one of " + list + ", found " + quote(s));
  }

  /// Visits the elements of a list node (an empty value is an empty list).
  void for_each_item(const field& f, const char* expected,
                     const std::function<void(const field&)>& fn) {
    if (f.value.IsNull()) return;
    if (!f.value.IsSequence())
      fail(f, std::string{"expected "} + expected + ", found " + kind_of(f.value));
    if (f.value.size() > max_manifest_list)
      fail(f, "expected at most " + std::to_string(max_manifest_list) + " entries, found " +
                  std::to_string(f.value.size()));
    size_t i = 0;
    for (auto it = f.value.begin(); it != f.value.end(); ++it, ++i) {
      const YAML::Node item = *it;
      auto mark = item.Mark().is_null() ? f.mark : item.Mark();
      fn(field{item, mark, f.path + "[" + std::to_string(i) + "]", mark});
    }
  }

  std::vector<std::string> str_list(const field& f) {
    std::vector<std::string> out;
    for_each_item(f, "a list of strings",
                  [&](const field& item) { out.push_back(nonempty_str(item)); });
    return out;
  }

  YAML::Mark mark_of(const std::string& path, const YAML::Mark& fallback) const {
    auto i = marks_.find(path);
    return i == marks_.end() ? fallback : i->second;
  }

  manifest parse(const YAML::Node& root) {
    manifest m;
    field top{root, root.Mark(), "", root.Mark()};
    if (!root.IsMap())
      fail(root.Mark(), "",
           std::string{"expected a map of manifest sections (general, graph, "
                       "deployment, ...), found "} +
               kind_of(root));
    bool has_name = false;
    YAML::Mark general_mark = root.Mark();
    for_each_key(top,
                 {"general", "graph", "deployment", "lifecycle", "resources", "monitoring",
                  "mapping", "policies", "security", "business"},
                 [&](const std::string& section, const field& f) {
                   if (section == "general") {
                     general_mark = f.key_mark;
                     general(f, m, has_name);
                   } else if (section == "graph") {
                     graph(f, m);
                   } else if (section == "deployment") {
                     deployment(f, m);
                   } else if (section == "lifecycle") {
                     lifecycle(f, m);
                   } else if (section == "resources") {
                     resources(f, m);
                   } else if (section == "monitoring") {
                     monitoring(f, m);
                   } else if (section == "mapping") {
                     mapping(f, m);
                   } else if (section == "policies") {
                     policies(f, m);
                   } else if (section == "security") {
                     security(f, m);
                   } else {
                     business(f, m);
                   }
                 });
    if (!has_name)
      fail(general_mark, "general.name",
           "missing; every manifest needs a name like fusion://<provider>/<service>");
    check_consistency(m, root.Mark());
    return m;
  }

 private:
  void general(const field& f, manifest& m, bool& has_name) {
    for_each_key(f,
                 {"name", "version", "description", "keywords", "categories", "type", "stateful"},
                 [&](const std::string& k, const field& v) {
                   if (k == "name") {
                     m.name = scalar(v, "a service URI fusion://<provider>/<service>");
                     if (!protocols::is_valid_service_uri(m.name))
                       fail(v,
                            "expected a service URI fusion://<provider>/<service> made of "
                            "lowercase letters, digits, '.', '-' or '_', found " +
                                quote(m.name));
                     has_name = true;
                   } else if (k == "version") {
                     m.version = nonempty_str(v);
                   } else if (k == "description") {
                     m.description = str(v);
                   } else if (k == "keywords") {
                     m.keywords = str_list(v);
                   } else if (k == "categories") {
                     m.categories = str_list(v);
                   } else if (k == "type") {
                     m.service_type = nonempty_str(v);
                   } else {
                     m.stateful = boolean(v);
                   }
                 });
  }

  void graph(const field& f, manifest& m) {
    for_each_key(f, {"composite", "dependencies", "channels"},
                 [&](const std::string& k, const field& v) {
                   if (k == "composite") {
                     m.composite = boolean(v);
                   } else if (k == "dependencies") {
                     m.dependencies = str_list(v);
                   } else {
                     std::set<std::string> names;
                     for_each_item(v, "a list of channels", [&](const field& item) {
                       m.channels.push_back(channel(item));
                       if (!names.insert(m.channels.back().name).second)
                         fail(item, "duplicate channel name " + quote(m.channels.back().name));
                     });
                   }
                 });
  }

  protocols::channel channel(const field& f) {
    protocols::channel c;
    if (!f.value.IsMap())
      fail(f, std::string{"expected a channel map {name, kind, ...}, found "} + kind_of(f.value));
    bool has_name = false;
    bool has_kind = false;
    for_each_key(f,
                 {"name", "kind", "peer", "protocol", "format", "bandwidth_mbps", "max_latency_ms"},
                 [&](const std::string& k, const field& v) {
                   if (k == "name") {
                     c.name = nonempty_str(v);
                     has_name = true;
                   } else if (k == "kind") {
                     c.kind = one_of(v, {"input", "output", "control"});
                     has_kind = true;
                   } else if (k == "peer") {
                     c.peer = str(v);
                   } else if (k == "protocol") {
                     c.protocol = str(v);
                   } else if (k == "format") {
                     c.format = str(v);
                   } else if (k == "bandwidth_mbps") {
                     c.bandwidth_mbps = num_in(v, 0, 1e6);
                   } else {
                     c.max_latency_ms = num_in(v, 0, 1e6);
                   }
                 });
    if (!has_name) fail(f, "missing name; every channel needs a name");
    if (!has_kind) fail(f, "missing kind; expected one of input, output, control");
    return c;
  }

  void deployment(const field& f, manifest& m) {
    for_each_key(f, {"image", "packages", "functions", "hardware"},
                 [&](const std::string& k, const field& v) {
                   if (k == "image")
                     m.image = str(v);
                   else if (k == "packages")
                     m.packages = str_list(v);
                   else if (k == "functions")
                     m.functions = str_list(v);
                   else
                     hardware(v, m.hardware);
                 });
  }

  void hardware(const field& f, protocols::hardware_requirements& h) {
    for_each_key(f,
                 {"os", "cpu_cores", "memory_mb", "gpus", "gpu_model", "gpu_memory_mb",
                  "min_shader_model", "accelerators", "affinities"},
                 [&](const std::string& k, const field& v) {
                   if (k == "os")
                     h.os = lower(nonempty_str(v));
                   else if (k == "cpu_cores")
                     h.cpu_cores = u32_in(v, 1, 1024);
                   else if (k == "memory_mb")
                     h.memory_mb = uint_in(v, 1, 16ull * 1024 * 1024);
                   else if (k == "gpus")
                     h.gpus = u32_in(v, 0, 64);
                   else if (k == "gpu_model")
                     h.gpu_model = str(v);
                   else if (k == "gpu_memory_mb")
                     h.gpu_memory_mb = uint_in(v, 0, 1024ull * 1024);
                   else if (k == "min_shader_model")
                     h.min_shader_model = num_in(v, 0, 100);
                   else if (k == "accelerators")
                     h.accelerators = str_list(v);
                   else
                     h.affinities = str_list(v);
                 });
  }

  void lifecycle(const field& f, manifest& m) {
    for_each_key(
        f, {"start", "stop", "stop_timeout_ms"}, [&](const std::string& k, const field& v) {
          if (k == "start")
            m.start_command = str(v);
          else if (k == "stop")
            m.stop_command = str(v);
          else
            m.stop_timeout_ms = static_cast<protocols::duration_ms>(uint_in(v, 0, 3'600'000));
        });
  }

  void resources(const field& f, manifest& m) {
    for_each_key(f, {"profile", "sessions_per_instance"},
                 [&](const std::string& k, const field& v) {
                   if (k == "profile")
                     m.profile = str(v);
                   else
                     m.sessions_per_instance = u32_in(v, 1, 1'000'000);
                 });
  }

  void monitoring(const field& f, manifest& m) {
    for_each_key(f, {"thresholds"}, [&](const std::string&, const field& v) {
      std::optional<double> out, in;
      for_each_item(v, "a list of thresholds", [&](const field& item) {
        m.thresholds.push_back(threshold(item));
        if (m.thresholds.back().metric == slot_utilisation)
          scaling_rule(item, m.thresholds.back(), out, in);
      });
      if (out && in && *in >= *out)
        fail(v, "the scale_in bound of slot_utilisation (min " + num(*in) +
                    ") must be below its scale_out bound (max " + num(*out) +
                    "): the band between them keeps the zone from flapping");
    });
  }

  // A zone elasticity rule (docs/slots.md "Scaling"): scale_out with a max, scale_in with a
  // min, each at most once, within 0 to 1.
  void scaling_rule(const field& f, const protocols::monitoring_threshold& t,
                    std::optional<double>& out, std::optional<double>& in) {
    auto what = quote(std::string{slot_utilisation});
    bool has_min = std::isfinite(t.min), has_max = std::isfinite(t.max);
    if (t.action == "scale_out") {
      if (!has_max || has_min)
        fail(f, "a scale_out rule on " + what + " takes a max (scale out above it) and no min");
      if (out) fail(f, "a second scale_out rule on " + what + "; give one");
      out = t.max;
    } else if (t.action == "scale_in") {
      if (!has_min || has_max)
        fail(f, "a scale_in rule on " + what + " takes a min (scale in below it) and no max");
      if (in) fail(f, "a second scale_in rule on " + what + "; give one");
      in = t.min;
    } else {
      fail(f, "the action of a rule on " + what + " is scale_out or scale_in, found " +
                  quote(t.action.empty() ? std::string{"none"} : t.action));
    }
    auto bound = has_max ? t.max : t.min;
    if (bound < 0 || bound > 1)
      fail(f, what + " is a share of slots in use: its bound must be 0 to 1, found " + num(bound));
  }

  protocols::monitoring_threshold threshold(const field& f) {
    protocols::monitoring_threshold t;
    if (!f.value.IsMap())
      fail(f, std::string{"expected a threshold map {metric, min, max, action}, found "} +
                  kind_of(f.value));
    bool has_metric = false;
    bool has_bound = false;
    for_each_key(f, {"metric", "min", "max", "action"}, [&](const std::string& k, const field& v) {
      if (k == "metric") {
        t.metric = nonempty_str(v);
        has_metric = true;
      } else if (k == "min") {
        t.min = num_in(v, -1e15, 1e15);
        has_bound = true;
      } else if (k == "max") {
        t.max = num_in(v, -1e15, 1e15);
        has_bound = true;
      } else {
        t.action = nonempty_str(v);
      }
    });
    if (!has_metric) fail(f, "missing metric; every threshold names the metric it bounds");
    if (!has_bound) fail(f, "threshold for " + quote(t.metric) + " needs min, max or both");
    if (t.min > t.max)
      fail(mark_of(f.path + ".min", f.mark), f.path + ".min",
           "must not exceed max (" + num(t.max) + "), found " + num(t.min));
    return t;
  }

  void mapping(const field& f, manifest& m) {
    for_each_key(f, {"policy", "latency_budget_ms", "fixed_zones", "user_locations", "evaluator"},
                 [&](const std::string& k, const field& v) {
                   if (k == "policy") {
                     auto s = one_of(v, {"best_total", "lowest_cost", "lowest_latency"});
                     protocols::from_string(s, m.policy);
                     m.policy_set = true;
                   } else if (k == "latency_budget_ms") {
                     m.latency_budget_ms = num_in(v, 0, 1e6);
                   } else if (k == "fixed_zones") {
                     m.fixed_zones = str_list(v);
                   } else if (k == "user_locations") {
                     for_each_item(v, "a list of locations", [&](const field& item) {
                       m.user_locations.push_back(location(item));
                     });
                   } else {
                     m.evaluator = nonempty_str(v);
                   }
                 });
  }

  protocols::geo_location location(const field& f) {
    protocols::geo_location g;
    if (!f.value.IsMap())
      fail(f, std::string{"expected a location map {region, latitude, longitude}, found "} +
                  kind_of(f.value));
    bool has_lat = false;
    bool has_lon = false;
    for_each_key(f, {"region", "latitude", "longitude"}, [&](const std::string& k, const field& v) {
      if (k == "region") {
        g.region = nonempty_str(v);
      } else if (k == "latitude") {
        g.latitude = num_in(v, -90, 90);
        has_lat = true;
      } else {
        g.longitude = num_in(v, -180, 180);
        has_lon = true;
      }
    });
    if (g.region.empty() && !(has_lat && has_lon))
      fail(f, "a user location needs a region, or both latitude and longitude");
    if (has_lat != has_lon)
      fail(f, has_lat ? "latitude given without longitude" : "longitude given without latitude");
    return g;
  }

  void policies(const field& f, manifest& m) {
    for_each_key(f, {"pre_deploy_instances", "min_instances"},
                 [&](const std::string& k, const field& v) {
                   if (k == "pre_deploy_instances")
                     m.pre_deploy_instances = u32_in(v, 0, 10'000);
                   else
                     m.min_instances = u32_in(v, 0, 10'000);
                 });
  }

  void security(const field& f, manifest& m) {
    for_each_key(f, {"allowed_regions", "denied_regions", "isolation"},
                 [&](const std::string& k, const field& v) {
                   if (k == "allowed_regions")
                     m.allowed_regions = str_list(v);
                   else if (k == "denied_regions")
                     m.denied_regions = str_list(v);
                   else
                     m.isolation = one_of(v, {"container", "vm", "bare-metal"});
                 });
  }

  void business(const field& f, manifest& m) {
    for_each_key(f, {"cost_ceiling", "max_instances", "billing"},
                 [&](const std::string& k, const field& v) {
                   if (k == "cost_ceiling")
                     m.cost_ceiling = num_in(v, 0, inf);
                   else if (k == "max_instances")
                     m.max_instances = u32_in(v, 0, 1'000'000);
                   else
                     m.billing = nonempty_str(v);
                 });
  }

  void check_consistency(const manifest& m, const YAML::Mark& root) {
    if (m.max_instances > 0) {
      auto max_s = std::to_string(m.max_instances);
      if (m.min_instances > m.max_instances)
        fail(mark_of("policies.min_instances", root), "policies.min_instances",
             "must not exceed business.max_instances (" + max_s + "), found " +
                 std::to_string(m.min_instances));
      if (m.pre_deploy_instances > m.max_instances)
        fail(mark_of("policies.pre_deploy_instances", root), "policies.pre_deploy_instances",
             "must not exceed business.max_instances (" + max_s + "), found " +
                 std::to_string(m.pre_deploy_instances));
    }
    for (const auto& r : m.denied_regions)
      for (const auto& a : m.allowed_regions)
        if (same_name(r, a))
          fail(mark_of("security.denied_regions", root), "security.denied_regions",
               "region " + quote(r) + " is also in security.allowed_regions; list it in one only");
  }

  const std::string& source_;
  std::map<std::string, YAML::Mark> marks_;
};

/// Where the quoted scalar opened at `text[open]` closes, or npos if it never does.
size_t closing_quote(const std::string& text, size_t open) {
  char q = text[open];
  for (size_t i = open + 1; i < text.size(); ++i) {
    if (q == '"' && text[i] == '\\') {
      ++i;  // an escape: the next character cannot close the scalar
    } else if (text[i] == q) {
      if (q == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
        ++i;  // '' inside a single-quoted scalar is one quote
        continue;
      }
      return i;
    }
  }
  return std::string::npos;
}

/// yaml-cpp accepts a quoted scalar whose closing quote is missing (it runs to the end of
/// the text); YAML does not. Returns the quoted scalar of `root` (keys included) that has no
/// closing quote in `text` (there is at most one: it runs to the end), or nullopt.
std::optional<YAML::Mark> unterminated_quote(const YAML::Node& root, const std::string& text) {
  auto closed = [&](size_t open) { return closing_quote(text, open) != std::string::npos; };
  // Depth-first over every node, keys included, with an explicit stack: nesting depth
  // costs no C++ stack.
  std::vector<YAML::Node> todo{root};
  while (!todo.empty()) {
    YAML::Node n = todo.back();
    todo.pop_back();
    if (n.IsScalar()) {
      auto mark = n.Mark();
      auto pos = static_cast<size_t>(mark.pos);
      if (!mark.is_null() && pos < text.size() && (text[pos] == '"' || text[pos] == '\'') &&
          !closed(pos))
        return mark;
    } else if (n.IsSequence()) {
      for (auto it = n.begin(); it != n.end(); ++it) todo.push_back(*it);
    } else if (n.IsMap()) {
      for (auto it = n.begin(); it != n.end(); ++it) {
        todo.push_back(it->first);
        todo.push_back(it->second);
      }
    }
  }
  return std::nullopt;
}

/// When yaml-cpp refuses the text (an unclosed quote inside a flow list, say, leaves the list
/// unclosed too), the quote is the cause worth naming: the 1-based line of the first quoted
/// scalar that never closes, found from the text alone, or 0. A quote opens a scalar only
/// where one starts: at a line's start or after `:`, `-`, `?`, `[`, `{` or `,` and spaces.
int unterminated_quote_line(const std::string& text) {
  int line = 1;
  char before = '\n';  // the last character that was not a blank
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') {
      ++line;
      before = '\n';
    } else if (c == '#' && (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\n')) {
      while (i + 1 < text.size() && text[i + 1] != '\n') ++i;  // a comment
    } else if ((c == '"' || c == '\'') &&
               std::string_view{"\n:-?[{,"}.find(before) != std::string_view::npos) {
      auto end = closing_quote(text, i);
      if (end == std::string::npos) return line;
      line += static_cast<int>(std::count(text.begin() + static_cast<std::ptrdiff_t>(i),
                                          text.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
      i = end;
      before = c;
    } else if (c != ' ' && c != '\t') {
      before = c;
    }
  }
  return 0;
}

}  // namespace

caf::expected<protocols::manifest> parse_manifest(const std::string& yaml_text,
                                                  const std::string& source) {
  if (yaml_text.size() > max_manifest_bytes)
    return make_error(errc::invalid_manifest,
                      source + ":1: manifest is " + std::to_string(yaml_text.size()) +
                          " bytes; the limit is " + std::to_string(max_manifest_bytes));
  try {
    YAML::Node root = YAML::Load(yaml_text);
    if (auto mark = unterminated_quote(root, yaml_text))
      return make_error(errc::invalid_manifest,
                        source + ":" + std::to_string(mark->line + 1) +
                            ": YAML syntax error: quoted scalar without its closing quote");
    parser p{source};
    return p.parse(root);
  } catch (const manifest_error& e) {
    return make_error(errc::invalid_manifest, e.what);
  } catch (const YAML::Exception& e) {
    if (auto quote_line = unterminated_quote_line(yaml_text))
      return make_error(errc::invalid_manifest,
                        source + ":" + std::to_string(quote_line) +
                            ": YAML syntax error: quoted scalar without its closing quote");
    auto line = e.mark.is_null() ? 1 : e.mark.line + 1;
    return make_error(errc::invalid_manifest,
                      source + ":" + std::to_string(line) + ": YAML syntax error: " + e.msg);
  } catch (const std::exception& e) {
    return make_error(errc::invalid_manifest, source + ": cannot read manifest: " + e.what());
  }
}

scaling_rules scaling_rules_of(const protocols::manifest& m) {
  scaling_rules r;
  for (const auto& t : m.thresholds) {
    if (t.metric != slot_utilisation) continue;
    if (t.action == "scale_out") r.scale_out = t.max;
    if (t.action == "scale_in") r.scale_in = t.min;
  }
  return r;
}

}  // namespace fusion::runtime
