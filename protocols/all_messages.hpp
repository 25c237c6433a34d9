#pragma once
// Every FUSION message type, by family. The message registry is built from this list:
// adding a message means adding its struct to its family header and its name here.

#include "protocols/dc_management.hpp"
#include "protocols/orchestration_management.hpp"
#include "protocols/service_lifecycle.hpp"
#include "protocols/zone_management.hpp"
#include "protocols/zone_orchestration.hpp"

namespace fusion::protocols {

/// A compile-time list of types.
template <class... Ts>
struct type_list {};

/// All message types, grouped by interface family.
using all_messages = type_list<
  // common replies
  status_reply,
  // service_lifecycle (§4.5.1) + session
  service_start, service_stop, get_available_sessions, available_sessions, modify_sessions,
  get_information, information, acquire_session, session_granted, release_session,
  // orchestration_management (§5.5.1) + placement
  register_service, register_service_reply, unregister_service, update_service,
  query_service_by_name, service_description, query_service_by_category, service_list,
  deploy_service, deploy_service_reply, place_service, placement_decision, explain_placement,
  stop_service_instances,
  // zone_management (§5.5.2)
  register_zone, register_zone_reply, update_zone, unregister_zone, update_service_information,
  update_resource_information, preselect_zones, preselection, list_zones, zone_list,
  // zone_orchestration (§6.4.1) + evaluators (§5.4.2.2)
  zone_evaluate, zone_offer, release_offer, zone_deploy_service, terminate_service_instance,
  get_service_information, get_zone_information, evaluate, evaluation, zone_evaluate_batch,
  zone_offer_batch, release_offers,
  // dc_management (§6.4.4)
  prepare_service_environment, environment_reply, reset_service_environment,
  terminate_service_environment, dc_get_information, get_environment_information, enable_probe,
  probe_reply, disable_probe, launch_instance, instance_launched,
  // durable records
  service_record, zone_record>;

}  // namespace fusion::protocols
