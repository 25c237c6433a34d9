#pragma once
// Step 4 of the four-step placement (§5.4.2.1) as a pure function: which offers a decision
// takes, and how many instances from each. docs/placement.md ("Step 4") states the rules and
// why the lowest_cost choice is optimal.

#include "protocols/orchestration_management.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fusion::domain {

/// What a decision takes from one offer. An offer's price is per hour for all its instances;
/// a zone prices each instance alike and gives back the instances a deployment does not use,
/// so `instances` of an offer cost its price per instance times `instances`.
struct offer_take {
  size_t verdict = 0;      ///< Index of the offer's verdict.
  uint32_t instances = 0;  ///< Instances taken, 1..the offer's instances.
  double cost = 0;         ///< Their price per hour.
};

/// The offers step 4 chose.
struct offer_selection {
  std::vector<offer_take> chosen;  ///< Best first by the policy.
  uint32_t covered = 0;            ///< Instances taken in all, at most those requested.
  double total_cost = 0;           ///< Price per hour of everything taken.
  bool ceiling_bound = false;      ///< The cost ceiling, not the offers, kept covered short.
};

/// Price per hour of one instance of an offer (its price / its instances).
double price_per_instance(const protocols::offer& o);

/// Step 4: chooses among the offered verdicts which offers to take, and how many instances
/// from each, to cover `instances`:
/// - the total price per hour of the choice stays within `max_cost` (0 = no ceiling);
/// - lowest_cost: the cheapest choice (by price per instance served; exactly optimal);
/// - best_total / lowest_latency: as much as possible from each offer in the policy's order
///   (highest total score / lowest latency first), as long as the rest of the request can
///   still be covered within the ceiling; lowest_latency skips offers above
///   `latency_budget_ms` (0 = no budget).
/// If no choice covers the request within the ceiling, the most instances that fit are taken.
/// Verdicts not taken get a reason.
offer_selection select_offers(std::vector<protocols::zone_verdict>& verdicts,
                              protocols::placement_policy policy, uint32_t instances,
                              double latency_budget_ms, double max_cost);

/// A number for people: at most 6 significant digits, no trailing zeros ("12", "1.44").
std::string for_people(double x);

/// The policy in words, e.g. "lowest_cost: the cheapest set of offers that covers the
/// request (by price per instance served)".
std::string explain_policy(protocols::placement_policy policy);

}  // namespace fusion::domain
