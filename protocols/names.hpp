#pragma once
// Well-known actor names: the `actor` part of a locator. Roles register under these in
// the runtime directory and find each other through them, never through internals.

#include <string>

namespace fusion::protocols::names {

inline constexpr const char* registrar = "domain/registrar";
inline constexpr const char* zone_registry = "domain/zone_registry";
inline constexpr const char* placement = "domain/placement";
inline constexpr const char* deployment = "domain/deployment";
inline constexpr const char* scaling = "domain/scaling";
inline constexpr const char* routing_manager = "domain/routing";
inline constexpr const char* generic_evaluator = "evaluator/generic";

/// Zone manager of the zone called `zone_name`.
inline std::string zone_manager(const std::string& zone_name) {
  return "zone/" + zone_name;
}

/// DC agent of the zone called `zone_name`.
inline std::string dc_agent(const std::string& zone_name) {
  return "zone/" + zone_name + "/dc";
}

/// Service instance with id `instance_id`.
inline std::string instance(const std::string& instance_id) {
  return "instance/" + instance_id;
}

/// Gossip agent of the member `member` (a node, or in one process a zone; docs/gossip.md).
inline std::string gossip(const std::string& member) {
  return "gossip/" + member;
}

/// Service router called `name` (§4.3.2.5, §5.5.4).
inline std::string router(const std::string& name) {
  return "router/" + name;
}

/// A service-specific evaluator called `name` (manifest mapping.evaluator).
inline std::string evaluator(const std::string& name) {
  return "evaluator/" + name;
}

}  // namespace fusion::protocols::names
