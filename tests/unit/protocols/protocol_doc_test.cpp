// docs/protocols.md against the compiled code: what the Python generator (gen_protocol_doc.py)
// reads from the header text, checked here against what the compiler and the codec do.

#include "protocols/all_messages.hpp"
#include "protocols/registry.hpp"
#include "tests/unit/protocols/test_messages.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

using namespace fusion;
using namespace fusion::protocols;

namespace {

std::string read_doc() {
  std::ifstream in{FUSION_SOURCE_DIR "/docs/protocols.md"};
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The part of `doc` from the line `heading` to the next heading of the same level.
std::string section(const std::string& doc, const std::string& heading) {
  auto begin = doc.find("\n" + heading + "\n");
  REQUIRE_MESSAGE(begin != std::string::npos, heading);
  begin += 1;
  auto end = doc.find("\n## ", begin + heading.size());
  return doc.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

/// Headings in `text` that start with `prefix` + "`": the names between the backquotes.
std::set<std::string> headings(const std::string& text, const std::string& prefix) {
  std::set<std::string> out;
  const auto start = "\n" + prefix + "`";
  for (auto pos = text.find(start); pos != std::string::npos; pos = text.find(start, pos + 1)) {
    auto name_begin = pos + start.size();
    out.insert(text.substr(name_begin, text.find('`', name_begin) - name_begin));
  }
  return out;
}

/// The data rows (cells without the surrounding backquotes) of the first table after the
/// heading line that starts with `heading`; nullopt if there is no such heading. A heading
/// followed by another heading or by "No fields." has an empty table.
std::optional<std::vector<std::vector<std::string>>> table_after(const std::string& text,
                                                                 const std::string& heading) {
  auto pos = text.find("\n" + heading);
  if (pos == std::string::npos) return std::nullopt;
  std::istringstream in{text.substr(text.find('\n', pos + 1) + 1)};
  std::vector<std::vector<std::string>> rows;
  std::string line;
  bool in_table = false;
  int header_lines = 0;
  while (std::getline(in, line)) {
    if (line.rfind('#', 0) == 0) break;  // the next heading: no (more) table
    if (line.rfind('|', 0) != 0) {
      if (in_table) break;
      continue;
    }
    in_table = true;
    if (header_lines < 2) {  // column names and the |---| line
      ++header_lines;
      continue;
    }
    std::vector<std::string> cells;
    std::istringstream cols{line.substr(1)};
    std::string cell;
    while (std::getline(cols, cell, '|')) {
      auto b = cell.find_first_not_of(" `");
      auto e = cell.find_last_not_of(" `");
      cells.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
    }
    rows.push_back(std::move(cells));
  }
  return rows;
}

// ---- enums ----------------------------------------------------------------------------------

struct enum_values {
  std::string underlying;                         ///< "uint8_t", ...
  std::vector<std::pair<std::string, int>> list;  ///< name → static_cast<int>(enumerator)
};

template <class E>
std::string underlying_name() {
  using U = std::underlying_type_t<E>;
  return std::string{std::is_signed_v<U> ? "int" : "uint"} + std::to_string(8 * sizeof(U)) + "_t";
}

template <class E>
std::pair<std::string, enum_values> values(const char* name,
                                           std::initializer_list<std::pair<const char*, E>> xs) {
  enum_values out{underlying_name<E>(), {}};
  for (const auto& [n, x] : xs) out.list.emplace_back(n, static_cast<int>(x));
  return {name, out};
}

/// Every enum that travels in a message, with every enumerator: the compiler's values.
std::map<std::string, enum_values> cpp_enums() {
  using st = status;
  using pp = placement_policy;
  using ic = info_category;
  using bt = bind_type;
  using si = service_info_type;
  using ms = member_status;
  using rc = refusal_code;
  using zr = zone_registration_state;
  return {
      values<st>("status", {{"ok", st::ok}, {"pending", st::pending}, {"failed", st::failed}}),
      values<pp>("placement_policy", {{"best_total", pp::best_total},
                                      {"lowest_cost", pp::lowest_cost},
                                      {"lowest_latency", pp::lowest_latency}}),
      values<role>("role", {{"service_provider", role::service_provider},
                            {"zone_admin", role::zone_admin},
                            {"domain_admin", role::domain_admin}}),
      values<ic>("info_category", {{"summary", ic::summary},
                                   {"sessions", ic::sessions},
                                   {"resources", ic::resources},
                                   {"health", ic::health}}),
      values<bt>("bind_type", {{"automatic", bt::automatic},
                               {"tcp", bt::tcp},
                               {"udp", bt::udp},
                               {"shared_memory", bt::shared_memory},
                               {"rdma", bt::rdma}}),
      values<si>(
          "service_info_type",
          {{"summary", si::summary}, {"manifest", si::manifest}, {"instances", si::instances}}),
      values<ms>(
          "member_status",
          {{"alive", ms::alive}, {"suspect", ms::suspect}, {"dead", ms::dead}, {"left", ms::left}}),
      values<rc>("refusal_code", {{"none", rc::none},
                                  {"hard_constraint", rc::hard_constraint},
                                  {"unknown_zone", rc::unknown_zone},
                                  {"unreachable", rc::unreachable},
                                  {"no_answer", rc::no_answer},
                                  {"evaluation_failed", rc::evaluation_failed},
                                  {"infeasible", rc::infeasible},
                                  {"no_capacity", rc::no_capacity},
                                  {"no_offer", rc::no_offer},
                                  {"offer_lapsed", rc::offer_lapsed},
                                  {"offers_taken", rc::offers_taken},
                                  {"latency_over_budget", rc::latency_over_budget},
                                  {"ceiling_reached", rc::ceiling_reached},
                                  {"over_ceiling", rc::over_ceiling},
                                  {"not_needed", rc::not_needed}}),
      values<zr>("zone_registration_state", {{"pending", zr::pending},
                                             {"registered", zr::registered},
                                             {"failed", zr::failed},
                                             {"no_registry", zr::no_registry}}),
  };
}

// ---- what the codec writes ----------------------------------------------------------------

/// A struct type found in a message, and how many fields the codec writes for it.
struct wire_shape {
  bool message = false;
  size_t written = 0;   ///< Length of the msgpack array the codec writes for T{}.
  size_t declared = 0;  ///< Data fields of its inspect().
};

template <class T>
size_t written_fields() {
  msgpack::sbuffer buf;
  codec::pack_body(buf, codec::default_value<T>());  // not T{}: a false GCC 12 -O3 warning
  auto oh = msgpack::unpack(buf.data(), buf.size());
  REQUIRE(oh.get().type == msgpack::type::ARRAY);
  return oh.get().via.array.size;
}

template <class T>
concept has_meta = requires {
  T::meta;
};

/// Walks every type reachable from the fields of a message (through vectors, maps and
/// shared<T>) and records each struct's wire shape under its inspect() type name.
class shape_collector {
 public:
  std::map<std::string, wire_shape> found;

  template <class T>
  void walk();
};

/// Inspector that hands each field type of a struct to the collector.
struct field_walker {
  using result_type = void;
  static constexpr bool reads_state = true;
  static constexpr bool writes_state = false;
  shape_collector& c;
  template <class... Ts>
  void operator()(Ts&&...) {
    (visit<std::decay_t<Ts>>(), ...);
  }
  template <class T>
  void visit() {
    if constexpr (!codec::is_annotation_v<T>) c.walk<T>();
  }
};

template <class T>
void shape_collector::walk() {
  if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T> || std::is_same_v<T, std::string> ||
                std::is_same_v<T, blob>) {
    // scalars: the "Scalars" and "Enums" sections
  } else if constexpr (is_shared<T>::value || codec::is_vector<T>::value) {
    walk<typename T::value_type>();
  } else if constexpr (codec::is_map<T>::value) {
    walk<typename T::key_type>();
    walk<typename T::mapped_type>();
  } else {
    auto probe = test::probe<T>();
    if (found.count(probe.name) != 0) return;
    found[probe.name] = wire_shape{has_meta<T>, written_fields<T>(), probe.fields};
    field_walker w{*this};
    inspect(w, const_cast<T&>(codec::default_value<T>()));
  }
}

}  // namespace

TEST_CASE("protocol doc: every enum's documented values are the compiled enumerators' values") {
  const auto doc = read_doc();
  const auto enums = section(doc, "## Enums");
  const auto cpp = cpp_enums();
  std::set<std::string> names;
  for (const auto& [name, e] : cpp) names.insert(name);
  // an enum the generator documents but this test does not know must be added here
  CHECK(headings(enums, "### ") == names);
  for (const auto& [name, e] : cpp) {
    CAPTURE(name);
    auto rows = table_after(enums, "### `" + name + "` — " + e.underlying + ",");
    REQUIRE_MESSAGE(rows, "no '### `" << name << "` — " << e.underlying << "' table");
    REQUIRE(rows->size() == e.list.size());
    for (size_t i = 0; i < e.list.size(); ++i) {
      CAPTURE(e.list[i].first);
      REQUIRE((*rows)[i].size() >= 2);
      CHECK((*rows)[i][1] == e.list[i].first);
      CHECK((*rows)[i][0] == std::to_string(e.list[i].second));
    }
  }
  // the names in the doc are the ones configs and logs use
  for (auto p : {placement_policy::best_total, placement_policy::lowest_cost,
                 placement_policy::lowest_latency})
    CHECK(enums.find("| " + std::to_string(static_cast<int>(p)) + " | `" +
                     std::string{to_string(p)} + "` |") != std::string::npos);
  for (auto r : {role::service_provider, role::zone_admin, role::domain_admin})
    CHECK(enums.find("| " + std::to_string(static_cast<int>(r)) + " | `" +
                     std::string{to_string(r)} + "` |") != std::string::npos);
}

TEST_CASE(
    "protocol doc: every struct inside a message has a table with as many fields as the codec "
    "writes") {
  const auto doc = read_doc();
  const auto nested = section(doc, "## Nested types");
  const auto messages = section(doc, "## Messages by family");
  shape_collector c;
  test::for_each_message(all_messages{}, [&]<class T>() { c.walk<T>(); });
  std::set<std::string> reachable;
  for (const auto& [name, shape] : c.found) {
    CAPTURE(name);
    CHECK(shape.written == shape.declared);
    std::optional<std::vector<std::vector<std::string>>> rows;
    if (shape.message) {
      rows = table_after(messages, "#### `" + name + "` — ");
    } else {
      reachable.insert(name);
      rows = table_after(nested, "### `" + name + "` — ");
      CHECK_MESSAGE(nested.find("### `" + name + "` — ") != std::string::npos,
                    "docs/protocols.md has no nested type table for " << name);
    }
    REQUIRE_MESSAGE(rows, "docs/protocols.md has no table for " << name);
    CHECK(rows->size() == shape.written);
    for (size_t i = 0; i < rows->size(); ++i) CHECK((*rows)[i][0] == std::to_string(i));
  }
  // no documented nested type that no message carries (stale or misnamed)
  CHECK(headings(nested, "### ") == reachable);
  // the walk saw the types issue 8 named, so it does look inside messages
  for (const char* name :
       {"principal", "manifest", "zone_parameters", "deploy_parameters", "offer", "geo_location",
        "channel", "gpu_spec", "hardware_requirements", "monitoring_threshold"})
    CHECK_MESSAGE(reachable.count(name) == 1, name);
}
