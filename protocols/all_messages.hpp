#pragma once
// Every FUSION message type, by family. The message registry is built from this list:
// adding a message means adding its struct to its family header and its name here.

#include "protocols/auction.hpp"
#include "protocols/dc_management.hpp"
#include "protocols/gossip.hpp"
#include "protocols/inter_domain_routing.hpp"
#include "protocols/inter_service.hpp"
#include "protocols/orchestration_management.hpp"
#include "protocols/records.hpp"
#include "protocols/resource_management.hpp"
#include "protocols/routing_management.hpp"
#include "protocols/service_lifecycle.hpp"
#include "protocols/slots.hpp"
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
    get_information, information, acquire_session, session_granted, release_session, open_session,
    session_keepalive,
    // inter_service (§4.5.2)
    service_bind, service_bind_reply,
    // resource_management (§4.5.3)
    query_resources, resource_score, request_resource, resource_handle, release_resource,
    // orchestration_management (§5.5.1) + placement
    register_service, register_service_reply, unregister_service, update_service,
    query_service_by_name, service_description, query_service_by_category, service_list,
    deploy_service, deploy_service_reply, place_service, placement_decision, explain_placement,
    stop_service_instances, reconcile_instances, instances_reconciled, scale_service,
    zone_instances_changed, zone_availability,
    // zone_management (§5.5.2)
    register_zone, register_zone_reply, update_zone, unregister_zone, update_service_information,
    update_resource_information, preselect_zones, preselection, list_zones, zone_list,
    // zone_orchestration (§6.4.1) + evaluators (§5.4.2.2)
    zone_evaluate, zone_offer, release_offer, zone_deploy_service, terminate_service_instance,
    get_service_information, get_zone_information, evaluate, evaluation, zone_evaluate_batch,
    zone_offer_batch, release_offers, get_zone_registration, zone_registration,
    list_hosted_instances, hosted_instances,
    // dc_management (§6.4.4)
    prepare_service_environment, environment_reply, reset_service_environment,
    terminate_service_environment, dc_get_information, get_environment_information, enable_probe,
    probe_reply, disable_probe, launch_instance, instance_launched,
    // inter_domain_routing (§5.5.3.1)
    announce_service_id, update_route, withdraw_service_id,
    // routing_management (§5.5.4)
    create_forwarding_entry, update_forwarding_entry, delete_forwarding_entry,
    provide_routing_information, route_session, route_decision, get_routing_information,
    routing_information,
    // slots (§4.3)
    slot_report, slot_withdraw, slot_report_batch, list_slots, slot_list, subscribe_slots,
    // gossip (§6.2)
    domain_advertisement, membership_digest, gossip_ping, gossip_ack, gossip_ping_req,
    member_change,
    // auction (§7.2)
    bid, auction_result,
    // durable records
    service_record, zone_record, instance_record>;

}  // namespace fusion::protocols
