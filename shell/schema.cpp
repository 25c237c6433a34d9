#include "shell/schema.hpp"

#include "protocols/all_messages.hpp"
#include "protocols/errc.hpp"
#include "protocols/registry.hpp"

#include <msgpack.hpp>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <set>

namespace fusion::shell {

namespace {

#include "shell/message_fields.inc"

struct enum_info {
  std::string underlying;
  std::vector<std::pair<int64_t, std::string>> values;
};

struct schema {
  std::map<std::string, std::vector<field_info>, std::less<>> types;
  std::set<std::string, std::less<>> messages;
  std::map<std::string, enum_info, std::less<>> enums;
  std::map<std::string, std::string, std::less<>> aliases;
  std::map<std::string, value, std::less<>> defaults;  // message name -> default fields
};

value from_wire(const schema& s, const msgpack::object& obj, std::string_view type);

template <class... Ts>
void add_defaults(schema& s, protocols::type_list<Ts...>) {
  const auto& reg = protocols::message_registry::instance();
  auto one = [&](auto x) {
    using T = decltype(x);
    msgpack::sbuffer buf;
    protocols::codec::pack_body(buf, x);
    auto oh = msgpack::unpack(buf.data(), buf.size());
    s.defaults.emplace(T::meta.name, from_wire(s, oh.get(), T::meta.name));
  };
  (one(Ts{}), ...);
  (void)reg;
}

const schema& the_schema() {
  static const schema s = [] {
    schema s;
    for (const auto& t : generated_types) {
      s.types[t.name];
      if (t.is_message) s.messages.insert(t.name);
    }
    for (const auto& f : generated_fields) s.types[f.owner].push_back({f.name, f.type});
    for (const auto& e : generated_enum_values) {
      auto& info = s.enums[e.name];
      info.underlying = e.underlying;
      info.values.emplace_back(e.value, e.label);
    }
    for (const auto& a : generated_aliases) s.aliases[a.name] = a.target;
    add_defaults(s, protocols::all_messages{});
    return s;
  }();
  return s;
}

caf::error bad(std::string text) {
  return make_error(errc::invalid_argument, std::move(text));
}

std::string_view trim(std::string_view t) {
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  return t;
}

// "std::vector<T>" -> "T" (and the like for `prefix`); empty if `t` is not one.
std::string_view inner(std::string_view t, std::string_view prefix) {
  if (t.size() > prefix.size() + 1 && t.substr(0, prefix.size()) == prefix && t.back() == '>')
    return trim(t.substr(prefix.size(), t.size() - prefix.size() - 1));
  return {};
}

// "K, V" at the top level of the template arguments.
std::pair<std::string_view, std::string_view> split_map(std::string_view args) {
  int depth = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == '<') ++depth;
    if (args[i] == '>') --depth;
    if (args[i] == ',' && depth == 0) return {trim(args.substr(0, i)), trim(args.substr(i + 1))};
  }
  return {args, {}};
}

bool is_blob(std::string_view t) {
  return t == "blob" || t == "std::vector<uint8_t>";
}

// Aliases resolved, except blob (bytes on the wire).
std::string_view resolve(const schema& s, std::string_view t) {
  t = trim(t);
  for (int i = 0; i < 8 && !is_blob(t); ++i) {
    auto a = s.aliases.find(t);
    if (a == s.aliases.end()) break;
    t = a->second;
  }
  return t;
}

bool is_signed(std::string_view t) {
  return t == "int8_t" || t == "int16_t" || t == "int32_t" || t == "int64_t";
}
bool is_unsigned(std::string_view t) {
  return t == "uint8_t" || t == "uint16_t" || t == "uint32_t" || t == "uint64_t";
}
int bits_of(std::string_view t) {
  if (t.ends_with("8_t")) return 8;
  if (t.ends_with("16_t")) return 16;
  if (t.ends_with("32_t")) return 32;
  return 64;
}

std::string join(const std::vector<std::string>& xs, const char* sep = ", ") {
  std::string out;
  for (const auto& x : xs) {
    if (!out.empty()) out += sep;
    out += x;
  }
  return out;
}

std::string shown(const value& v) {
  if (auto s = v.as_string()) return "'" + *s + "'";
  if (v.as_array()) return "a list";
  if (v.as_object()) return "a table";
  if (v.is_null()) return "nothing";
  return v.text();
}

std::string hex(const char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out = "0x";
  for (size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(p[i]);
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// ---- value -> msgpack ----------------------------------------------------------------------

using packer = msgpack::packer<msgpack::sbuffer>;

struct encoder {
  const schema& s;
  msgpack::sbuffer& buf;
  packer pk{buf};

  void float64(double x) {
    // Always float64 (0xcb + 8 bytes big-endian), like the codec's writer: msgpack-cxx's
    // pack_double writes whole numbers as integers (docs/protocols.md "Scalars").
    const auto bits = std::bit_cast<uint64_t>(x);
    char b[9];
    b[0] = static_cast<char>(0xcbu);
    for (int i = 0; i < 8; ++i) b[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
    buf.write(b, sizeof b);
  }

  caf::error integer(const value& in, std::string_view t, const std::string& path) {
    const bool sign = is_signed(t);
    const int bits = bits_of(t);
    int64_t i = 0;
    uint64_t u = 0;
    bool neg = false;
    if (auto p = std::get_if<int64_t>(&in.v)) {
      neg = *p < 0;
      i = *p;
      u = neg ? 0 : static_cast<uint64_t>(*p);
    } else if (auto q = std::get_if<uint64_t>(&in.v)) {
      u = *q;
      i = static_cast<int64_t>(*q);
    } else if (auto d = std::get_if<double>(&in.v);
               d && std::floor(*d) == *d && std::fabs(*d) < 9e15) {
      i = static_cast<int64_t>(*d);
      neg = i < 0;
      u = neg ? 0 : static_cast<uint64_t>(i);
    } else if (auto str = in.as_string()) {
      auto sv = trim(*str);
      const char* b = sv.data();
      const char* e = b + sv.size();
      std::from_chars_result r{};
      if (!sv.empty() && sv[0] == '-') {
        neg = true;
        r = std::from_chars(b, e, i);
      } else {
        r = std::from_chars(b, e, u);
        i = static_cast<int64_t>(u);
      }
      if (sv.empty() || r.ec != std::errc{} || r.ptr != e)
        return bad(path + ": expected " + (sign ? "an integer" : "an unsigned integer") +
                   ", found " + shown(in));
    } else {
      return bad(path + ": expected " + (sign ? "an integer" : "an unsigned integer") + ", found " +
                 shown(in));
    }
    if (sign) {
      const int64_t lo =
          bits == 64 ? std::numeric_limits<int64_t>::min() : -(int64_t{1} << (bits - 1));
      const int64_t hi =
          bits == 64 ? std::numeric_limits<int64_t>::max() : (int64_t{1} << (bits - 1)) - 1;
      if ((!neg && u > static_cast<uint64_t>(hi)) || i < lo || i > hi)
        return bad(path + ": " + in.text() + " is out of range for " + std::string{t});
      pk.pack(i);
    } else {
      const uint64_t hi =
          bits == 64 ? std::numeric_limits<uint64_t>::max() : (uint64_t{1} << bits) - 1;
      if (neg || u > hi)
        return bad(path + ": " + in.text() + " is out of range for " + std::string{t} + " (0.." +
                   std::to_string(hi) + ")");
      pk.pack(u);
    }
    return caf::none;
  }

  caf::error put(const value& in, std::string_view type, const value* defaults,
                 const std::string& path) {
    auto t = resolve(s, type);
    if (is_blob(t)) {
      std::string bytes;
      if (auto str = in.as_string())
        bytes = *str;
      else if (!in.is_null())
        return bad(path + ": expected bytes as a string, found " + shown(in));
      pk.pack_bin(static_cast<uint32_t>(bytes.size()));
      pk.pack_bin_body(bytes.data(), static_cast<uint32_t>(bytes.size()));
      return caf::none;
    }
    if (t == "bool") {
      if (auto b = std::get_if<bool>(&in.v)) {
        *b ? pk.pack_true() : pk.pack_false();
        return caf::none;
      }
      if (auto str = in.as_string()) {
        if (*str == "true" || *str == "yes" || *str == "1") return pk.pack_true(), caf::none;
        if (*str == "false" || *str == "no" || *str == "0") return pk.pack_false(), caf::none;
      }
      return bad(path + ": expected true or false, found " + shown(in));
    }
    if (is_signed(t) || is_unsigned(t)) return integer(in, t, path);
    if (t == "double") {
      if (auto d = std::get_if<double>(&in.v)) return float64(*d), caf::none;
      if (auto i = std::get_if<int64_t>(&in.v)) return float64(static_cast<double>(*i)), caf::none;
      if (auto u = std::get_if<uint64_t>(&in.v)) return float64(static_cast<double>(*u)), caf::none;
      if (auto str = in.as_string()) {
        std::string text{trim(*str)};
        char* end = nullptr;
        double d = std::strtod(text.c_str(), &end);
        if (!text.empty() && end == text.c_str() + text.size()) return float64(d), caf::none;
      }
      return bad(path + ": expected a number, found " + shown(in));
    }
    if (t == "std::string") {
      if (in.as_array() || in.as_object() || in.is_null())
        return bad(path + ": expected a string, found " + shown(in));
      auto text = in.text();
      pk.pack(text);
      return caf::none;
    }
    if (auto e = s.enums.find(t); e != s.enums.end()) {
      std::vector<std::string> labels;
      for (const auto& [n, label] : e->second.values) {
        labels.push_back(label);
        if ((in.as_string() && *in.as_string() == label) ||
            (!in.as_string() && in.integer(-1) == n) ||
            (in.as_string() && *in.as_string() == std::to_string(n))) {
          pk.pack(n);
          return caf::none;
        }
      }
      return bad(path + ": expected one of " + join(labels) + ", found " + shown(in));
    }
    if (auto el = inner(t, "shared<"); !el.empty()) return put(in, el, defaults, path);
    if (auto el = inner(t, "std::vector<"); !el.empty()) {
      value_array items;
      if (auto arr = in.as_array()) {
        items = *arr;
      } else if (auto obj = in.as_object(); obj && obj->empty()) {
        // An empty Lua table: an empty list.
      } else if (auto str = in.as_string()) {
        // key=value: a list of plain values separated by commas.
        if (s.types.count(resolve(s, el)) != 0)
          return bad(path + ": a list of " + std::string{el} +
                     " cannot be written as key=value; give it as a Lua table");
        size_t start = 0;
        while (!str->empty() && start <= str->size()) {
          auto comma = str->find(',', start);
          if (comma == std::string::npos) comma = str->size();
          items.emplace_back(str->substr(start, comma - start));
          start = comma + 1;
        }
      } else if (!in.is_null()) {
        return bad(path + ": expected a list, found " + shown(in));
      }
      pk.pack_array(static_cast<uint32_t>(items.size()));
      for (size_t i = 0; i < items.size(); ++i)
        if (auto err = put(items[i], el, nullptr, path + "[" + std::to_string(i + 1) + "]"))
          return err;
      return caf::none;
    }
    if (auto args = inner(t, "std::map<"); !args.empty()) {
      auto [kt, vt] = split_map(args);
      const value_object empty;
      const value_object* obj = in.as_object();
      if (!obj && !in.is_null() && !(in.as_array() && in.as_array()->empty()))
        return bad(path + ": expected a table of key = value, found " + shown(in) +
                   " (key=value: write " + path.substr(path.find('.') + 1) + ".KEY=VALUE)");
      if (!obj) obj = &empty;
      pk.pack_map(static_cast<uint32_t>(obj->size()));
      for (const auto& [k, v] : *obj) {
        if (auto err = put(value{k}, kt, nullptr, path + " key")) return err;
        if (auto err = put(v, vt, nullptr, path + "." + k)) return err;
      }
      return caf::none;
    }
    if (auto st = s.types.find(t); st != s.types.end()) return put_struct(in, st, defaults, path);
    return bad(path + ": the shell cannot write a value of type " + std::string{t});
  }

  caf::error put_struct(const value& in,
                        std::map<std::string, std::vector<field_info>>::const_iterator st,
                        const value* defaults, const std::string& path) {
    const auto& fields = st->second;
    // A single-field type (fusion_id) may be given as its one value.
    if (fields.size() == 1 && !in.as_object() && !in.is_null()) {
      pk.pack_array(1);
      return put(in, fields[0].type, nullptr, path);
    }
    const value_object empty;
    const value_object* obj = in.as_object();
    if (!obj && !in.is_null() && !(in.as_array() && in.as_array()->empty()))
      return bad(path + ": expected a table of the fields of " + st->first + ", found " +
                 shown(in));
    if (!obj) obj = &empty;
    for (const auto& [k, v] : *obj) {
      if (std::none_of(fields.begin(), fields.end(),
                       [&](const field_info& f) { return f.name == k; })) {
        std::vector<std::string> names;
        for (const auto& f : fields) names.push_back(f.name);
        return bad(path + " has no field '" + k +
                   "'; fields: " + (names.empty() ? std::string{"none"} : join(names)));
      }
    }
    pk.pack_array(static_cast<uint32_t>(fields.size()));
    for (const auto& f : fields) {
      const value* given = in.find(f.name);
      const value* dflt = defaults ? defaults->find(f.name) : nullptr;
      const std::string where = path + "." + f.name;
      if (given) {
        if (auto err = put(*given, f.type, dflt, where)) return err;
      } else if (dflt) {
        if (auto err = put(*dflt, f.type, nullptr, where)) return err;
      } else {
        if (auto err = zero(f.type, where)) return err;
      }
    }
    return caf::none;
  }

  // The empty value of a type (a field nobody gave, of a type without a known default).
  caf::error zero(std::string_view type, const std::string& path) {
    auto t = resolve(s, type);
    if (is_blob(t)) return put(value{std::string{}}, t, nullptr, path);
    if (t == "bool") return pk.pack_false(), caf::none;
    if (is_signed(t) || is_unsigned(t)) return pk.pack(0), caf::none;
    if (t == "double") return float64(0), caf::none;
    if (t == "std::string") return pk.pack(std::string{}), caf::none;
    if (auto e = s.enums.find(t); e != s.enums.end()) return pk.pack(0), caf::none;
    if (auto el = inner(t, "shared<"); !el.empty()) return zero(el, path);
    if (!inner(t, "std::vector<").empty()) return pk.pack_array(0), caf::none;
    if (!inner(t, "std::map<").empty()) return pk.pack_map(0), caf::none;
    if (auto st = s.types.find(t); st != s.types.end())
      return put_struct(value{}, st, nullptr, path);
    return bad(path + ": the shell cannot write a value of type " + std::string{t});
  }
};

// ---- msgpack -> value ----------------------------------------------------------------------

value scalar(const msgpack::object& obj) {
  switch (obj.type) {
    case msgpack::type::BOOLEAN:
      return value{obj.via.boolean};
    case msgpack::type::POSITIVE_INTEGER:
      if (obj.via.u64 <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return value{static_cast<int64_t>(obj.via.u64)};
      return value{obj.via.u64};
    case msgpack::type::NEGATIVE_INTEGER:
      return value{obj.via.i64};
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return value{obj.via.f64};
    case msgpack::type::STR:
      return value{std::string{obj.via.str.ptr, obj.via.str.size}};
    case msgpack::type::BIN: {
      std::string bytes{obj.via.bin.ptr, obj.via.bin.size};
      bool printable = std::all_of(bytes.begin(), bytes.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u >= 0x20 || c == '\n' || c == '\t';
      });
      return printable ? value{std::move(bytes)} : value{hex(bytes.data(), bytes.size())};
    }
    case msgpack::type::ARRAY: {
      value_array out;
      for (uint32_t i = 0; i < obj.via.array.size; ++i) out.push_back(scalar(obj.via.array.ptr[i]));
      return value{std::move(out)};
    }
    case msgpack::type::MAP: {
      value_object out;
      for (uint32_t i = 0; i < obj.via.map.size; ++i)
        out.emplace_back(scalar(obj.via.map.ptr[i].key).text(), scalar(obj.via.map.ptr[i].val));
      return value{std::move(out)};
    }
    default:
      return value{};
  }
}

value from_wire(const schema& s, const msgpack::object& obj, std::string_view type) {
  auto t = resolve(s, type);
  if (auto e = s.enums.find(t); e != s.enums.end()) {
    auto n = scalar(obj).integer(-1);
    for (const auto& [v, label] : e->second.values)
      if (v == n) return value{label};
    return scalar(obj);
  }
  if (auto el = inner(t, "shared<"); !el.empty()) return from_wire(s, obj, el);
  if (auto el = inner(t, "std::vector<"); !el.empty() && !is_blob(t)) {
    if (obj.type != msgpack::type::ARRAY) return scalar(obj);
    value_array out;
    for (uint32_t i = 0; i < obj.via.array.size; ++i)
      out.push_back(from_wire(s, obj.via.array.ptr[i], el));
    return value{std::move(out)};
  }
  if (auto args = inner(t, "std::map<"); !args.empty()) {
    if (obj.type != msgpack::type::MAP) return scalar(obj);
    auto [kt, vt] = split_map(args);
    value_object out;
    for (uint32_t i = 0; i < obj.via.map.size; ++i)
      out.emplace_back(from_wire(s, obj.via.map.ptr[i].key, kt).text(),
                       from_wire(s, obj.via.map.ptr[i].val, vt));
    return value{std::move(out)};
  }
  if (auto st = s.types.find(t); st != s.types.end() && obj.type == msgpack::type::ARRAY) {
    const auto& fields = st->second;
    if (fields.size() == 1 && fields[0].name == "value" && obj.via.array.size >= 1)
      return from_wire(s, obj.via.array.ptr[0], fields[0].type);
    value_object out;
    for (size_t i = 0; i < fields.size() && i < obj.via.array.size; ++i)
      out.emplace_back(fields[i].name, from_wire(s, obj.via.array.ptr[i], fields[i].type));
    return value{std::move(out)};
  }
  return scalar(obj);
}

// Edit distance, for "did you mean".
size_t distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t prev = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cur = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1)});
      prev = cur;
    }
  }
  return row[b.size()];
}

}  // namespace

const std::vector<field_info>* fields_of(std::string_view type) {
  const auto& s = the_schema();
  auto i = s.types.find(resolve(s, type));
  return i == s.types.end() ? nullptr : &i->second;
}

std::vector<std::string> message_names() {
  const auto& s = the_schema();
  std::vector<std::string> out;
  for (const auto& e : protocols::message_registry::instance().entries())
    if (s.messages.count(e.meta.name)) out.emplace_back(e.meta.name);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> enum_labels(std::string_view type) {
  const auto& s = the_schema();
  std::vector<std::string> out;
  if (auto e = s.enums.find(resolve(s, type)); e != s.enums.end())
    for (const auto& [n, label] : e->second.values) out.push_back(label);
  return out;
}

caf::expected<value> parse_assignments(const std::vector<std::string>& words) {
  value_object root;
  for (const auto& w : words) {
    auto eq = w.find('=');
    if (eq == std::string::npos || eq == 0)
      return bad("'" + w +
                 "': expected FIELD=VALUE (a dotted FIELD sets a nested field: "
                 "deploy.instances=2)");
    std::string key = w.substr(0, eq);
    std::string val = w.substr(eq + 1);
    value_object* obj = &root;
    size_t start = 0;
    for (;;) {
      auto dot = key.find('.', start);
      std::string part =
          key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (part.empty()) return bad("'" + w + "': empty field name in '" + key + "'");
      auto it =
          std::find_if(obj->begin(), obj->end(), [&](const auto& kv) { return kv.first == part; });
      if (dot == std::string::npos) {
        if (it != obj->end()) return bad("'" + w + "': field '" + key + "' is given twice");
        obj->emplace_back(part, value{val});
        break;
      }
      if (it == obj->end()) {
        obj->emplace_back(part, value{value_object{}});
        it = std::prev(obj->end());
      }
      obj = it->second.as_object();
      if (!obj)
        return bad("'" + w + "': field '" + key.substr(0, dot) + "' is given a value already");
      start = dot + 1;
    }
  }
  return value{std::move(root)};
}

caf::expected<caf::message> make_message(std::string_view name, const value& fields) {
  const auto& s = the_schema();
  const auto& reg = protocols::message_registry::instance();
  auto entry = reg.find(name);
  auto st = s.types.find(name);
  if (!entry || st == s.types.end() || !s.messages.count(name)) {
    std::string best;
    size_t best_d = 4;
    for (const auto& m : s.messages) {
      auto d = distance(name, m);
      if (d < best_d) best_d = d, best = m;
    }
    return bad(
        "unknown message '" + std::string{name} + "'" +
        (best.empty() ? std::string{"; 'messages' lists them"} : "; did you mean '" + best + "'?"));
  }
  auto dflt = s.defaults.find(name);
  msgpack::sbuffer buf;
  encoder enc{s, buf};
  enc.pk.pack_array(3);
  enc.pk.pack(entry->meta.type_id);
  enc.pk.pack(entry->meta.version);
  if (auto err = enc.put_struct(fields, st, dflt == s.defaults.end() ? nullptr : &dflt->second,
                                std::string{name}))
    return err;
  auto msg = reg.decode(buf.data(), buf.size());
  if (!msg) return bad(std::string{name} + ": " + describe(msg.error()));
  return msg;
}

caf::expected<value> from_body(const char* data, size_t size, std::string_view type) {
  try {
    auto oh = msgpack::unpack(data, size);
    return from_wire(the_schema(), oh.get(), type);
  } catch (const std::exception& e) {
    return bad(std::string{"cannot read a "} + std::string{type} + ": " + e.what());
  }
}

std::string type_name(const caf::message& msg) {
  const auto& reg = protocols::message_registry::instance();
  if (msg.size() != 1) return {};
  auto ti = msg.type(0).second;
  auto e = ti ? reg.find(std::type_index{*ti}) : nullptr;
  return e ? e->meta.name : std::string{};
}

value to_value(const caf::message& msg) {
  const auto& s = the_schema();
  const auto& reg = protocols::message_registry::instance();
  auto bytes = reg.encode(msg);
  if (!bytes) return value{reg.print(msg)};
  try {
    auto oh = msgpack::unpack(bytes->data(), bytes->size());
    const auto& env = oh.get();
    if (env.type != msgpack::type::ARRAY || env.via.array.size != 3) return value{reg.print(msg)};
    auto e = reg.find(static_cast<uint16_t>(env.via.array.ptr[0].via.u64));
    if (!e) return value{reg.print(msg)};
    return from_wire(s, env.via.array.ptr[2], e->meta.name);
  } catch (const std::exception&) {
    return value{reg.print(msg)};
  }
}

}  // namespace fusion::shell
