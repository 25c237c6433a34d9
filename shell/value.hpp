#pragma once
// A dynamically typed value: what the shell shows of a message and what it builds one from
// (key=value pairs, a Lua table). Objects keep their keys in order (a message's fields in
// wire order). Written out as JSON (write_json) or as indented text for people (write_text).

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace fusion::shell {

struct value;

/// A list of values.
using value_array = std::vector<value>;
/// Keyed values in order (struct fields, map entries).
using value_object = std::vector<std::pair<std::string, value>>;

/// One value: nothing, a boolean, an integer, a number, a string, a list or an object.
struct value {
  std::variant<std::monostate, bool, int64_t, uint64_t, double, std::string, value_array,
               value_object>
      v;

  value() = default;
  value(bool x) : v(x) {}                       // NOLINT: values read like literals
  value(int64_t x) : v(x) {}                    // NOLINT
  value(uint64_t x) : v(x) {}                   // NOLINT
  value(int x) : v(static_cast<int64_t>(x)) {}  // NOLINT
  value(double x) : v(x) {}                     // NOLINT
  value(std::string x) : v(std::move(x)) {}     // NOLINT
  value(const char* x) : v(std::string{x}) {}   // NOLINT
  value(value_array x) : v(std::move(x)) {}     // NOLINT
  value(value_object x) : v(std::move(x)) {}    // NOLINT

  bool is_null() const { return std::holds_alternative<std::monostate>(v); }
  const std::string* as_string() const { return std::get_if<std::string>(&v); }
  const value_array* as_array() const { return std::get_if<value_array>(&v); }
  const value_object* as_object() const { return std::get_if<value_object>(&v); }
  value_object* as_object() { return std::get_if<value_object>(&v); }

  /// The member `key` of an object; nullptr if this is no object or has no such key.
  const value* find(const std::string& key) const;
  /// The member `key` of an object, or null.
  const value& operator[](const std::string& key) const;
  /// The text of a string, or the printed scalar ("" for null, lists and objects).
  std::string text() const;
  /// The integer of an integer (or whole number); `fallback` otherwise.
  int64_t integer(int64_t fallback = 0) const;
};

/// Writes `x` as JSON on one line (strings escaped; non-finite numbers as null).
void write_json(std::ostream& out, const value& x);

/// `x` as JSON text.
std::string to_json(const value& x);

/// One leaf that differs between two values (flattened to dotted paths: "values.free_gpus",
/// "members.2.status"); `before` or `after` is empty when the leaf is new or gone.
struct change {
  std::string path;
  std::optional<std::string> before;
  std::optional<std::string> after;
};

/// The leaves that differ between `before` and `after`, by path. Ages (leaves named
/// "age_ms") are left out: they change at every look.
std::vector<change> diff(const value& before, const value& after);

/// Writes `x` for people: scalars as they are, objects as "key: value" lines indented by
/// `indent` spaces, lists as "- item" lines.
void write_text(std::ostream& out, const value& x, int indent = 0);

}  // namespace fusion::shell
