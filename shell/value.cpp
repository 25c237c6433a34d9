#include "shell/value.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>

namespace fusion::shell {

namespace {

const value null_value;

void write_json_string(std::ostream& out, const std::string& s) {
  out << '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out << "\\\"";
        break;
      case '\\':
        out << "\\\\";
        break;
      case '\n':
        out << "\\n";
        break;
      case '\r':
        out << "\\r";
        break;
      case '\t':
        out << "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out << buf;
        } else {
          out << static_cast<char>(c);
        }
    }
  }
  out << '"';
}

std::string number_text(double d) {
  if (!std::isfinite(d)) return std::isnan(d) ? "nan" : (d > 0 ? "inf" : "-inf");
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  // Shortest text that reads back the same.
  for (int prec = 1; prec < 17; ++prec) {
    char shorter[32];
    std::snprintf(shorter, sizeof shorter, "%.*g", prec, d);
    if (std::strtod(shorter, nullptr) == d) return shorter;
  }
  return buf;
}

bool is_scalar(const value& x) {
  return !x.as_array() && !x.as_object();
}

}  // namespace

const value* value::find(const std::string& key) const {
  if (auto obj = as_object())
    for (const auto& [k, v] : *obj)
      if (k == key) return &v;
  return nullptr;
}

const value& value::operator[](const std::string& key) const {
  auto p = find(key);
  return p ? *p : null_value;
}

std::string value::text() const {
  struct visitor {
    std::string operator()(std::monostate) const { return ""; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(uint64_t u) const { return std::to_string(u); }
    std::string operator()(double d) const { return number_text(d); }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(const value_array&) const { return ""; }
    std::string operator()(const value_object&) const { return ""; }
  };
  return std::visit(visitor{}, v);
}

int64_t value::integer(int64_t fallback) const {
  if (auto i = std::get_if<int64_t>(&v)) return *i;
  if (auto u = std::get_if<uint64_t>(&v)) return static_cast<int64_t>(*u);
  if (auto d = std::get_if<double>(&v); d && std::floor(*d) == *d) return static_cast<int64_t>(*d);
  return fallback;
}

void write_json(std::ostream& out, const value& x) {
  struct visitor {
    std::ostream& out;
    void operator()(std::monostate) const { out << "null"; }
    void operator()(bool b) const { out << (b ? "true" : "false"); }
    void operator()(int64_t i) const { out << i; }
    void operator()(uint64_t u) const { out << u; }
    void operator()(double d) const {
      if (std::isfinite(d))
        out << number_text(d);
      else
        out << "null";
    }
    void operator()(const std::string& s) const { write_json_string(out, s); }
    void operator()(const value_array& a) const {
      out << '[';
      for (size_t i = 0; i < a.size(); ++i) {
        if (i) out << ',';
        write_json(out, a[i]);
      }
      out << ']';
    }
    void operator()(const value_object& o) const {
      out << '{';
      for (size_t i = 0; i < o.size(); ++i) {
        if (i) out << ',';
        write_json_string(out, o[i].first);
        out << ':';
        write_json(out, o[i].second);
      }
      out << '}';
    }
  };
  std::visit(visitor{out}, x.v);
}

std::string to_json(const value& x) {
  std::ostringstream out;
  write_json(out, x);
  return out.str();
}

void write_text(std::ostream& out, const value& x, int indent) {
  const std::string pad(static_cast<size_t>(indent), ' ');
  if (auto arr = x.as_array()) {
    if (arr->empty()) {
      out << pad << "(none)\n";
      return;
    }
    for (const auto& e : *arr) {
      if (is_scalar(e)) {
        out << pad << "- " << e.text() << "\n";
      } else {
        out << pad << "-\n";
        write_text(out, e, indent + 2);
      }
    }
    return;
  }
  if (auto obj = x.as_object()) {
    for (const auto& [k, v] : *obj) {
      bool empty_container =
          (v.as_array() && v.as_array()->empty()) || (v.as_object() && v.as_object()->empty());
      if (is_scalar(v) || empty_container) {
        out << pad << k << ": " << (empty_container ? (v.as_array() ? "[]" : "{}") : v.text())
            << "\n";
      } else {
        out << pad << k << ":\n";
        write_text(out, v, indent + 2);
      }
    }
    return;
  }
  out << pad << x.text() << "\n";
}

namespace {

/// Names for the elements of a list of objects, so a change is shown under the element it
/// belongs to ("members[zone/edge-1].status"), not under a position that shifts when an
/// element comes or goes: the first of these fields every element has, distinct, with the
/// service prepended when elements carry one (slot rows); none if there is no such field.
std::vector<std::string> element_keys(const value_array& a) {
  for (const char* field : {"node_id", "zone_name", "instance_id", "origin", "name", "id"}) {
    std::vector<std::string> keys;
    std::set<std::string> seen;
    for (const auto& e : a) {
      const auto* k = e.find(field);
      if (!k || k->text().empty()) break;
      const auto* service = e.find("service");
      auto key = service && std::string_view{field} != "name" && !service->text().empty()
                     ? service->text() + "@" + k->text()
                     : k->text();
      if (!seen.insert(key).second) break;
      keys.push_back(std::move(key));
    }
    if (!a.empty() && keys.size() == a.size()) return keys;
  }
  return {};
}

void flatten(const value& x, const std::string& path, std::map<std::string, std::string>& out) {
  auto at = [&](const std::string& key) { return path.empty() ? key : path + "." + key; };
  if (const auto* o = x.as_object()) {
    for (const auto& [k, v] : *o) flatten(v, at(k), out);
  } else if (const auto* a = x.as_array()) {
    auto keys = element_keys(*a);
    for (size_t i = 0; i < a->size(); ++i)
      flatten((*a)[i], keys.empty() ? at(std::to_string(i)) : path + "[" + keys[i] + "]", out);
  } else if (!path.empty() && !path.ends_with("age_ms")) {
    out[path] = x.text();
  }
}

}  // namespace

std::vector<change> diff(const value& before, const value& after) {
  std::map<std::string, std::string> a, b;
  flatten(before, "", a);
  flatten(after, "", b);
  std::vector<change> out;
  for (const auto& [path, text] : a) {
    auto i = b.find(path);
    if (i == b.end())
      out.push_back({path, text, std::nullopt});
    else if (i->second != text)
      out.push_back({path, text, i->second});
  }
  for (const auto& [path, text] : b)
    if (!a.count(path)) out.push_back({path, std::nullopt, text});
  std::sort(out.begin(), out.end(),
            [](const change& x, const change& y) { return x.path < y.path; });
  return out;
}

}  // namespace fusion::shell
