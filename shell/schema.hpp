#pragma once
// What fusion-shell knows about messages: the field names and types of every message and
// nested type, in wire order (generated into shell/message_fields.inc from protocols/*.hpp by
// tests/unit/protocols/gen_protocol_doc.py), used to build any registered message from
// key=value pairs or a Lua table and to show any reply with its field names. Messages are
// made only through the message registry (protocols/registry.hpp): the shell builds the
// msgpack body a peer would send and has the registry decode it, so it can send nothing a
// node would not accept from the wire.

#include "shell/value.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/message.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fusion::shell {

/// Rows of shell/message_fields.inc.
struct generated_type {
  const char* name;
  bool is_message;
};
struct generated_field {
  const char* owner;
  const char* name;
  const char* type;
};
struct generated_enum_value {
  const char* name;
  const char* underlying;
  int64_t value;
  const char* label;
};
struct generated_alias {
  const char* name;
  const char* target;
};

/// One field of a message or nested type.
struct field_info {
  std::string name;
  std::string type;  ///< As written in the header: "uint32_t", "std::vector<locator>".
};

/// Field names and types of the message or nested type `type`, in wire order; nullptr if
/// `type` is neither.
const std::vector<field_info>* fields_of(std::string_view type);

/// Names of every registered message, sorted.
std::vector<std::string> message_names();

/// Names of the values of the enum `type` (empty if it is no enum).
std::vector<std::string> enum_labels(std::string_view type);

/// Splits "key=value" words into an object; a dotted key ("deploy.instances=2") sets a
/// member of a nested object. Errors name the word that is wrong.
caf::expected<value> parse_assignments(const std::vector<std::string>& words);

/// Builds message `name` from `fields` (an object of field name → value, values as text or
/// typed; nested types as objects) over the message's defaults, and decodes it through the
/// message registry. Errors say what is wrong: "deploy_service has no field 'instnces';
/// fields: caller, service_id, ...", "deploy_service.deploy.instances: expected an unsigned
/// integer, found 'x'".
caf::expected<caf::message> make_message(std::string_view name, const value& fields);

/// The type name and fields of a registered message (the reply of a request), for JSON,
/// text and Lua; the message's printed form if it is not registered.
value to_value(const caf::message& msg);

/// The msgpack body (bare array of fields, no envelope) of a value of `type`, as a value.
caf::expected<value> from_body(const char* data, size_t size, std::string_view type);

/// The registered type name of `msg` ("" if none).
std::string type_name(const caf::message& msg);

}  // namespace fusion::shell
