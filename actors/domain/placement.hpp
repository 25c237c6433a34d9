#pragma once
// The placement function of a domain (§5.4.2.1): four-step placement.
//   1. preselect feasible zones from the zone registry (hard constraints, at most k);
//   2. ask them in parallel to evaluate, with a deadline;
//   3. zones score through their evaluators and answer with binding offers;
//   4. pick offers by the manifest's or the request's policy (select_offers, select.hpp).
// Late or failing zones never block the decision. Identical requests in flight together
// are placed as one cohort (one preselection, one evaluation per zone asking for an offer
// per member); evaluations bound for the same zone travel in one zone_evaluate_batch, with
// the offers to give back to it. Every decision is recorded with each zone's verdict and
// can be shown again (explain_placement). docs/placement.md has the details.

#include "protocols/orchestration_management.hpp"
#include "protocols/zone_orchestration.hpp"
#include "runtime/config.hpp"
#include "runtime/directory.hpp"

#include <caf/actor_system.hpp>

#include <vector>

namespace fusion::domain {

/// The policy a placement uses: the request's if it sets one, else the manifest's if it
/// sets one, else the domain's `fallback` ([placement] policy).
protocols::placement_policy effective_policy(const protocols::manifest& m,
                                             const protocols::deploy_parameters& d,
                                             protocols::placement_policy fallback);

/// Renders a decision for people: its summary, then one line per zone, chosen zones first
/// (marked `*`, with the instances and price taken), then the others with their offer or
/// the refusal reason. With `legend`, the policy in words and what `*` means come first.
std::string render_decision(const protocols::placement_decision& d, bool legend = true);

/// Spawns the placement function (one actor, or a pool of `cfg.workers` behind one handle)
/// and registers it as protocols::names::placement. It takes the node's [placement] section
/// as it is: k, deadline_ms, policy (the fallback of effective_policy), workers (requests
/// for one service always go to the same worker, so identical requests still form
/// cohorts), max_cohort and decisions_kept (one record of recent decisions shared by the
/// workers, for explain_placement); offer_ttl_ms is the zones' business.
protocols::placement_actor spawn_placement(caf::actor_system& sys, runtime::placement_config cfg,
                                           runtime::directory_ptr dir);

}  // namespace fusion::domain
