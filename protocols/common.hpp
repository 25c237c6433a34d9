#pragma once
// Common FUSION types shared by every interface family (DESIGN §3): identifiers, service
// URIs, multidimensional scores, offers, locators and status codes.

#include "protocols/codec.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace fusion::protocols {

/// Identity of a message type on the wire and in the store: stable forever.
struct message_meta {
  uint16_t type_id;    ///< Stable id: high byte = family, low byte = message.
  const char* name;    ///< Stable snake_case name, as in the spec's tables.
  uint8_t version;     ///< Current encoding version (fields are append-only).
  uint8_t min_fields;  ///< Fields a frame must carry to be accepted.
};

/// Wall time: milliseconds since the Unix epoch (runtime::wall_now). Durable records and
/// messages carry it; deadlines inside one process use runtime::mono_time instead.
using timestamp_ms = int64_t;

/// A duration in milliseconds (the spec's "Time" parameters).
using duration_ms = int64_t;

/// FUSIONID: a unique identifier of a service, zone, instance, offer or environment.
/// Printable ("svc-3f2a…"); compared and hashed by value.
struct fusion_id {
  std::string value;
  bool empty() const { return value.empty(); }
  friend bool operator==(const fusion_id&, const fusion_id&) = default;
  friend auto operator<=>(const fusion_id&, const fusion_id&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fusion_id& x) {
  return f(caf::meta::type_name("fusion_id"), x.value);
}

/// A service name as a URI, e.g. "fusion://acme/video-transcoder".
using service_uri = std::string;

/// True if `uri` is "fusion://<provider>/<name>" with [a-z0-9.-] segments (RFC 3986 subset).
bool is_valid_service_uri(const std::string& uri);

/// Return status of lifecycle calls that may complete later (spec "Status Int").
enum class status : uint8_t {
  ok = 0,       ///< Done.
  pending = 1,  ///< Accepted; completes asynchronously.
  failed = 2,   ///< Did not succeed; an error explains why.
};

/// Why a zone takes no part, or no further part, in a placement. Programs read the code;
/// the `details` sent beside it complete it (a constraint, a deadline, an error), without
/// the zone's name; words for people are made once, at the edge, by refusal_words().
enum class refusal_code : uint8_t {
  none = 0,                  ///< Nothing refused: an offer, or a chosen zone.
  hard_constraint = 1,       ///< Fails a hard constraint at preselection; details: which.
  unknown_zone = 2,          ///< mapping.fixed_zones names a zone the domain does not know.
  unreachable = 3,           ///< Its zone manager cannot be reached; details: the actor.
  no_answer = 4,             ///< No answer within the deadline; details: the deadline.
  evaluation_failed = 5,     ///< The evaluation failed; details: the error.
  infeasible = 6,            ///< The zone's evaluator finds it cannot host; details: why.
  no_capacity = 7,           ///< Feasible, but its capacity was taken; details: the service.
  no_offer = 8,              ///< Answered without an offer for this request.
  offer_lapsed = 9,          ///< Its offer lapsed before the decision; details: its TTL.
  offers_taken = 10,         ///< Its offers went to identical placements decided just before.
  latency_over_budget = 11,  ///< Its latency is above the budget; details: both.
  ceiling_reached = 12,      ///< Not chosen: the cost ceiling is reached; details: the ceiling.
  over_ceiling = 13,         ///< Not chosen: it would exceed the ceiling; details: the ceiling.
  not_needed = 14,           ///< Not chosen: better offers cover the request.
};

/// The stable name of a code ("no_answer"), as `--json` prints it.
const char* to_string(refusal_code code);

/// The words for people: `code` completed by `details` ("did not answer within the 100 ms
/// deadline"). Zone names are added by the caller where the zone is not named already.
std::string refusal_words(refusal_code code, const std::string& details);

/// A multidimensional score (§5.4.2.2.1). The standard keys are fields; evaluators may add
/// more under `extra`. Every value lies in [0, 1], higher is better.
struct score {
  double total = 0;                     ///< Overall suitability of the location.
  double hardware = 0;                  ///< How well the hardware matches the requirements.
  double capacity = 0;                  ///< Share of the requested capacity the zone can host.
  std::map<std::string, double> extra;  ///< Further dimensions ("network", "cost", ...).

  /// Value of any key, standard or extra; 0 if absent.
  double get(const std::string& key) const;
  friend bool operator==(const score&, const score&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, score& x) {
  return f(caf::meta::type_name("score"), x.total, x.hardware, x.capacity, x.extra);
}

/// Where to reach an actor: the node that hosts it and its registered name there.
/// An empty node means "this process".
struct locator {
  std::string node;   ///< Node address "host:port", or "" for local.
  std::string actor;  ///< Registered name of the actor on that node.
  friend bool operator==(const locator&, const locator&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, locator& x) {
  return f(caf::meta::type_name("locator"), x.node, x.actor);
}

/// A zone's answer to zone_evaluate: a binding contract (§5.4.2.1). The zone holds the
/// reserved capacity for `ttl_ms` after sending the offer, or until the offer is used by
/// deploy_service at `manager`. A TTL, not a time: the receiver counts it on its own clock
/// from when the offer arrived (the holder's clock means nothing on another node).
struct offer {
  fusion_id offer_id;                   ///< Reservation handle to quote in deploy_service.
  fusion_id zone_id;                    ///< Offering zone.
  std::string zone_name;                ///< Offering zone's name, for people.
  service_uri service;                  ///< Service the offer is for.
  score scores;                         ///< The zone's evaluation.
  double cost = 0;                      ///< Price of the whole offer, in cost units per hour.
  uint32_t instances = 0;               ///< Instances the zone commits to host.
  uint32_t sessions_per_instance = 0;   ///< Session slots per instance.
  double latency_ms = 0;                ///< Estimated latency to the requested users.
  timestamp_ms retired_expires_at = 0;  ///< Retired, always 0: was the holder's clock reading.
  duration_ms ttl_ms = 0;               ///< The reservation lapses this long after sending.
  locator manager;                      ///< The zone manager that holds the reservation.
  friend bool operator==(const offer&, const offer&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, offer& x) {
  return f(caf::meta::type_name("offer"), x.offer_id, x.zone_id, x.zone_name, x.service, x.scores,
           x.cost, x.instances, x.sessions_per_instance, x.latency_ms, x.retired_expires_at,
           x.ttl_ms, x.manager);
}

/// A point on the map: region name and WGS84 coordinates.
struct geo_location {
  std::string region;  ///< Named region, e.g. "eu-west".
  double latitude = 0;
  double longitude = 0;
  friend bool operator==(const geo_location&, const geo_location&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, geo_location& x) {
  return f(caf::meta::type_name("geo_location"), x.region, x.latitude, x.longitude);
}

/// Free-form structured information (spec "Structured"): key → printable value.
using info_map = std::map<std::string, std::string>;

}  // namespace fusion::protocols

template <>
struct std::hash<fusion::protocols::fusion_id> {
  size_t operator()(const fusion::protocols::fusion_id& x) const noexcept {
    return std::hash<std::string>{}(x.value);
  }
};
