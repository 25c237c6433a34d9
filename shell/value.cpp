#include "shell/value.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
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

}  // namespace fusion::shell
