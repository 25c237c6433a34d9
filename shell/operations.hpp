#pragma once
// The operations of fusion-shell, shared by its commands and its Lua API (`fusion.*`): each
// is one or a few protocol requests to well-known actors (protocols/names.hpp), built through
// the message registry like any message the shell sends, and returns the reply as a value.

#include "shell/client.hpp"
#include "shell/value.hpp"

#include <caf/expected.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace fusion::shell {

/// Operator-level operations over one client.
class operations {
 public:
  explicit operations(client& c) : c_(c) {}

  /// Asks `actor` the request `message` built from `fields` (an object); the reply's fields.
  caf::expected<value> request(const std::string& actor, const std::string& message,
                               const value& fields);
  /// Sends `message` built from `fields` one way to `actor`.
  caf::error send(const std::string& actor, const std::string& message, const value& fields);

  /// Names of every registered service (query_service_by_category, no categories).
  caf::expected<value> services();
  /// Registers the manifest in the file at `path` (register_service).
  caf::expected<value> register_file(const std::string& path);
  /// Registers the manifest `yaml` (`source` names it in errors).
  caf::expected<value> register_text(const std::string& yaml, const std::string& source);
  /// Dry-run placement of the manifest `yaml` for `instances`.
  caf::expected<value> plan_text(const std::string& yaml, const std::string& source,
                                 uint32_t instances);
  /// Deploys `instances` more instances of `service` (ServiceID or name; deploy_service).
  caf::expected<value> deploy(const std::string& service, uint32_t instances);
  /// Dry-run placement of the manifest at `path` for `instances` (place_service).
  caf::expected<value> plan(const std::string& path, uint32_t instances);
  /// A recorded placement decision (explain_placement).
  caf::expected<value> explain(const std::string& decision_id);
  /// Every registered zone (list_zones).
  caf::expected<value> zones();
  /// The instances of `service` (query_service_by_name, information "instances").
  caf::expected<value> instances(const std::string& service);
  /// The live slot rows of `service` at the zone registry ("" = every service; list_slots).
  caf::expected<value> slots(const std::string& service);
  /// The membership digest of gossip agent `member` ("" = this node's first agent).
  caf::expected<value> members(const std::string& member);
  /// Opens a session: at an instance ("instance/ID": acquire_session), or of a service
  /// through `via` or the routers and zone gateways known (open_session).
  caf::expected<value> session_open(const std::string& target, const std::string& client_name,
                                    const std::string& via);
  /// Releases a session at the instance that granted it (or `at`).
  caf::expected<value> session_close(const std::string& session_id, const std::string& at);
  /// Actor names (client::actors).
  value actors();
  /// One line on the state of `actor` from state_of ("38/48 cores free, 2 instances,
  /// registered"); "" for an actor that has no state query, the error's text if it fails.
  std::string summary(const std::string& actor);

  /// Crashes zone `zone` of this process (--embedded): its instances (list_hosted_instances),
  /// its DC agent, its gossip agent and its manager are killed. The names killed.
  caf::expected<value> kill_zone(const std::string& zone);

  /// What `actor` shows of its state, by the query its kind answers: zone/NAME
  /// (get_zone_information), domain/zone_registry (list_slots), gossip/MEMBER
  /// (membership_digest), instance/ID (get_available_sessions), domain/routing
  /// (get_routing_information); what `watch` compares from one poll to the next.
  caf::expected<value> state_of(const std::string& actor);
  /// The query state_of asks `actor` ("get_zone_information", ...), or nullptr if its kind
  /// has none.
  static const char* state_query(const std::string& actor);
  /// Where service routers would send a session of `service`, best first (route_session):
  /// at `via`, or at every router this node knows.
  caf::expected<value> routes(const std::string& service, const std::string& via);

  /// Polls state_of(`actor`) every `interval` while `keep_going()`, calling `on_change` with
  /// the seconds since the start and what changed (at the first poll: every leaf, as new),
  /// and `on_error` when a poll fails (polling goes on). Errors only for an actor that cannot
  /// be watched.
  caf::error watch(const std::string& actor, std::chrono::milliseconds interval,
                   const std::function<bool()>& keep_going,
                   const std::function<void(double, const std::vector<change>&)>& on_change,
                   const std::function<void(double, const caf::error&)>& on_error);

  client& connection() { return c_; }

 private:
  value caller() const;
  caf::expected<value> ask(const std::string& actor, const std::string& message, value fields);

  client& c_;
  std::map<std::string, std::string> sessions_;  // session id -> instance actor
};

}  // namespace fusion::shell
