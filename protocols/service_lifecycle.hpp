#pragma once
// Service lifecycle management interface (§4.5.1): zone manager → service instance.

#include "protocols/common.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace fusion::protocols {

/// Generic reply carrying the spec's "Status Int" plus an explanation.
struct status_reply {
  static constexpr message_meta meta{0x0101, "status_reply", 1, 1};
  status code = status::ok;
  std::string detail;
  friend bool operator==(const status_reply&, const status_reply&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_reply& x) {
  return f(caf::meta::type_name("status_reply"), x.code, x.detail);
}

/// FUSIONServiceStart: start accepting sessions with `max_sessions` slots.
struct service_start {
  static constexpr message_meta meta{0x0201, "service_start", 1, 1};
  blob service_parameters;
  uint32_t max_sessions = 0;
  friend bool operator==(const service_start&, const service_start&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, service_start& x) {
  return f(caf::meta::type_name("service_start"), x.service_parameters, x.max_sessions);
}

/// FUSIONServiceStop: stop all sessions within `timeout_ms`, then shut down.
struct service_stop {
  static constexpr message_meta meta{0x0202, "service_stop", 1, 0};
  duration_ms timeout_ms = 0;
  friend bool operator==(const service_stop&, const service_stop&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, service_stop& x) {
  return f(caf::meta::type_name("service_stop"), x.timeout_ms);
}

/// FUSIONServiceGetAvailableSessions.
struct get_available_sessions {
  static constexpr message_meta meta{0x0203, "get_available_sessions", 1, 0};
  friend bool operator==(const get_available_sessions&, const get_available_sessions&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_available_sessions&) {
  return f(caf::meta::type_name("get_available_sessions"));
}

/// Reply to get_available_sessions.
struct available_sessions {
  static constexpr message_meta meta{0x0204, "available_sessions", 1, 1};
  uint32_t available = 0;  ///< Free session slots now.
  uint32_t max_sessions = 0;
  friend bool operator==(const available_sessions&, const available_sessions&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, available_sessions& x) {
  return f(caf::meta::type_name("available_sessions"), x.available, x.max_sessions);
}

/// FUSIONServiceModifySessions: change the maximum number of session slots.
struct modify_sessions {
  static constexpr message_meta meta{0x0205, "modify_sessions", 1, 1};
  uint32_t max_sessions = 0;
  friend bool operator==(const modify_sessions&, const modify_sessions&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, modify_sessions& x) {
  return f(caf::meta::type_name("modify_sessions"), x.max_sessions);
}

/// Information categories of get_information / get_service_information / get_zone_information.
enum class info_category : uint8_t {
  summary = 0,    ///< State, slots, identity.
  sessions = 1,   ///< Session counts and history.
  resources = 2,  ///< Resource use and capacity.
  health = 3,     ///< Liveness and error counts.
};

/// FUSIONServiceGetInformation: health or monitoring information of one category.
struct get_information {
  static constexpr message_meta meta{0x0206, "get_information", 1, 0};
  info_category category = info_category::summary;
  friend bool operator==(const get_information&, const get_information&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_information& x) {
  return f(caf::meta::type_name("get_information"), x.category);
}

/// Reply to every get_*information request: structured key → value text.
struct information {
  static constexpr message_meta meta{0x0207, "information", 1, 1};
  info_category category = info_category::summary;
  info_map values;
  friend bool operator==(const information&, const information&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, information& x) {
  return f(caf::meta::type_name("information"), x.category, x.values);
}

/// Session family (§4.3, DESIGN flow 5): take one session slot of an instance.
struct acquire_session {
  static constexpr message_meta meta{0x0E01, "acquire_session", 1, 0};
  std::string client;  ///< Who the session is for (for accounting).
  friend bool operator==(const acquire_session&, const acquire_session&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, acquire_session& x) {
  return f(caf::meta::type_name("acquire_session"), x.client);
}

/// Reply to acquire_session: the granted session.
struct session_granted {
  static constexpr message_meta meta{0x0E02, "session_granted", 1, 2};
  fusion_id session_id;
  fusion_id instance_id;
  locator instance;
  friend bool operator==(const session_granted&, const session_granted&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_granted& x) {
  return f(caf::meta::type_name("session_granted"), x.session_id, x.instance_id, x.instance);
}

/// End a session and free its slot.
struct release_session {
  static constexpr message_meta meta{0x0E03, "release_session", 1, 1};
  fusion_id session_id;
  friend bool operator==(const release_session&, const release_session&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, release_session& x) {
  return f(caf::meta::type_name("release_session"), x.session_id);
}

/// A session request routed toward a free slot (§2.6, DESIGN §4 flow 5): a client sends it
/// to a service router, a router to its next hop (another router or a zone manager, the
/// zone's service gateway, §6.3.6). Answered with the granted session; a hop without a free
/// slot refuses with no_session_slots, saying why.
struct open_session {
  static constexpr message_meta meta{0x0E04, "open_session", 2, 1};
  service_uri service;
  std::string client;
  /// Routers the request may still pass; each router takes one, 0 is refused (a guard
  /// against forwarding loops between routers).
  uint32_t hops_left = 8;
  /// Version 2. A stateful service's session goes back to the instance holding the
  /// client's state: only the zone running this instance grants it, on that instance;
  /// "" = any instance with a free slot.
  fusion_id instance_id = {};
  friend bool operator==(const open_session&, const open_session&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, open_session& x) {
  return f(caf::meta::type_name("open_session"), x.service, x.client, x.hops_left, x.instance_id);
}

/// The client of a session is still there: the instance frees the slot of a session whose
/// client has sent nothing (no keepalive) for its session timeout ([instance]
/// session_timeout_ms). Answered with ok, or an error if the session is unknown (expired).
struct session_keepalive {
  static constexpr message_meta meta{0x0E05, "session_keepalive", 1, 1};
  fusion_id session_id;
  friend bool operator==(const session_keepalive&, const session_keepalive&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_keepalive& x) {
  return f(caf::meta::type_name("session_keepalive"), x.session_id);
}

/// Typed interface of a service instance (§4.5.1 plus session slots).
using service_lifecycle_actor =
    caf::typed_actor<caf::replies_to<service_start>::with<status_reply>,
                     caf::replies_to<service_stop>::with<status_reply>,
                     caf::replies_to<get_available_sessions>::with<available_sessions>,
                     caf::replies_to<modify_sessions>::with<status_reply>,
                     caf::replies_to<get_information>::with<information>,
                     caf::replies_to<acquire_session>::with<session_granted>,
                     caf::replies_to<release_session>::with<status_reply>,
                     caf::replies_to<session_keepalive>::with<status_reply>>;

}  // namespace fusion::protocols
