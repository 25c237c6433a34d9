#pragma once
// One table per config section (CAF's opt_group: one line per option). A line names the
// key, the member of the section struct that holds it, its default, what it accepts and
// one line of documentation; the parser, the range checks, "did you mean", to_toml,
// default_config() and the reference.toml test all read the same table
// (runtime/config_options.cpp holds the tables, docs/operations.md "Adding an option").

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace fusion::runtime {

/// A value as TOML writes it: an integer, a number, a string or an array of strings.
using option_value = std::variant<int64_t, double, std::string, std::vector<std::string>>;

/// What an option accepts, and so how it is read and written.
enum class option_kind {
  integer,  ///< An integer from `min` to `max`.
  number,   ///< A number (integer or float) from `fmin` to `fmax`.
  text,     ///< Any string, or one `valid` accepts.
  choice,   ///< One of `choices`.
  strings,  ///< An array of strings; with `choices`, each one of them, none twice.
};

/// The part of an option that does not depend on its section's struct.
struct option_spec {
  std::string_view key;  ///< Key inside the section ("deadline_ms").
  std::string_view doc;  ///< One line for people (to_toml prints it, then what the key accepts).
  option_kind kind = option_kind::integer;
  option_value def;                             ///< The default.
  int64_t min = 0;                              ///< integer: lowest accepted value.
  int64_t max = 0;                              ///< integer: highest accepted value.
  double fmin = 0;                              ///< number: lowest accepted value.
  double fmax = 0;                              ///< number: highest accepted value.
  std::vector<std::string_view> choices;        ///< choice, strings: accepted words.
  bool (*valid)(const std::string&) = nullptr;  ///< text: extra check, if any.
  std::string_view valid_expected;              ///< text: what `valid` wants, for errors.
  bool path = false;  ///< text: a path, resolved against the config file's folder.
};

/// One line of a section's table: the spec plus access to the member of `S` holding it.
template <class S>
struct option : option_spec {
  std::function<option_value(const S&)> get;         ///< Reads the member.
  std::function<void(S&, const option_value&)> set;  ///< Writes the member (value accepted).

  /// Marks a text option as a path (resolved against the config file's folder).
  option&& as_path() && {
    path = true;
    return std::move(*this);
  }

  /// Adds a check to a text option; `expected` is what an error says it wants.
  option&& must(bool (*check)(const std::string&), std::string_view expected) && {
    valid = check;
    valid_expected = expected;
    return std::move(*this);
  }
};

/// The table of section `S`, in the order the options are documented and printed.
template <class S>
using option_table = std::vector<option<S>>;

/// An integer option held in the member `m` (any integer type).
template <class S, class T>
option<S> integer(std::string_view key, T S::*m, int64_t def, int64_t min, int64_t max,
                  std::string_view doc) {
  option<S> o;
  o.key = key;
  o.doc = doc;
  o.kind = option_kind::integer;
  o.def = def;
  o.min = min;
  o.max = max;
  o.get = [m](const S& s) { return option_value{static_cast<int64_t>(s.*m)}; };
  o.set = [m](S& s, const option_value& v) { s.*m = static_cast<T>(std::get<int64_t>(v)); };
  return o;
}

/// A number option held in the double `m`.
template <class S>
option<S> number(std::string_view key, double S::*m, double def, double min, double max,
                 std::string_view doc) {
  option<S> o;
  o.key = key;
  o.doc = doc;
  o.kind = option_kind::number;
  o.def = def;
  o.fmin = min;
  o.fmax = max;
  o.get = [m](const S& s) { return option_value{s.*m}; };
  o.set = [m](S& s, const option_value& v) { s.*m = std::get<double>(v); };
  return o;
}

/// A string option held in the string `m`.
template <class S>
option<S> text(std::string_view key, std::string S::*m, std::string_view def,
               std::string_view doc) {
  option<S> o;
  o.key = key;
  o.doc = doc;
  o.kind = option_kind::text;
  o.def = std::string{def};
  o.get = [m](const S& s) { return option_value{s.*m}; };
  o.set = [m](S& s, const option_value& v) { s.*m = std::get<std::string>(v); };
  return o;
}

/// A word out of `choices`, held in the string `m`.
template <class S>
option<S> choice(std::string_view key, std::string S::*m, std::string_view def,
                 std::vector<std::string_view> choices, std::string_view doc) {
  auto o = text(key, m, def, doc);
  o.kind = option_kind::choice;
  o.choices = std::move(choices);
  return o;
}

/// A word out of `choices`, held in the enum `m` (converted with to_string / from_string).
template <class S, class E>
requires std::is_enum_v<E> option<S> choice(std::string_view key, E S::*m, std::string_view def,
                                            std::vector<std::string_view> choices,
                                            std::string_view doc) {
  option<S> o;
  o.key = key;
  o.doc = doc;
  o.kind = option_kind::choice;
  o.def = std::string{def};
  o.choices = std::move(choices);
  o.get = [m](const S& s) { return option_value{std::string{to_string(s.*m)}}; };
  o.set = [m](S& s, const option_value& v) { from_string(std::get<std::string>(v), s.*m); };
  return o;
}

/// An array of strings held in `m`; with `choices`, each element is one of them, once.
template <class S>
option<S> strings(std::string_view key, std::vector<std::string> S::*m,
                  std::vector<std::string_view> def, std::vector<std::string_view> choices,
                  std::string_view doc) {
  option<S> o;
  o.key = key;
  o.doc = doc;
  o.kind = option_kind::strings;
  o.def = std::vector<std::string>(def.begin(), def.end());
  o.choices = std::move(choices);
  o.get = [m](const S& s) { return option_value{s.*m}; };
  o.set = [m](S& s, const option_value& v) { s.*m = std::get<std::vector<std::string>>(v); };
  return o;
}

/// What `spec` accepts, as errors say it ("an integer from 1 to 1024").
std::string expected_text(const option_spec& spec);

/// Whether `v` is a value `spec` accepts (type, range, choices; not the `valid` check's
/// wording, but its verdict).
bool accepts(const option_spec& spec, const option_value& v);

/// `v` written as a TOML value.
std::string toml_value(const option_value& v);

}  // namespace fusion::runtime
