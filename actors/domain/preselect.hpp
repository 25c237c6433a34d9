#pragma once
// Step 1 of the four-step placement (§5.4.2.1) as pure functions: which zones can host one
// instance of a service at all, judged only by hard constraints. Fast on the feasible path
// (no allocation); a reason in words is built only for zones that fail.

#include "protocols/manifest.hpp"
#include "protocols/zone_management.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace fusion::domain {

/// At most this many rejections are returned by one preselection; the rest are only counted
/// (`zones_known - candidates - rejected` tells how many were not listed or not scanned).
inline constexpr size_t max_reported_rejections = 64;

/// Checks the manifest's and the request's hard constraints against a zone's capabilities and
/// free resources (`zone.resources`). Returns "" if one instance fits, else why not (the
/// details of a hard_constraint refusal: the zone is named by the caller), e.g.
/// "no GPU with shader model >= 6.0 (best has 5.0)".
std::string check_hard_constraints(const protocols::zone_record& zone,
                                   const protocols::manifest& service,
                                   const protocols::deploy_parameters& deploy);

/// Outcome of one preselection scan over a zone vector.
struct preselect_result {
  std::vector<size_t> candidates;  ///< Indices of feasible zones, in scan order, at most k.
  std::vector<protocols::zone_rejection> rejected;  ///< First max_reported_rejections failures.
  size_t scanned = 0;                               ///< Zones examined before the scan stopped.
  size_t next_start = 0;  ///< Where the next scan should start (rotation).
};

/// Scans `zones` from `start` (wrapping around), stopping after `k` feasible zones, like
/// Kubernetes' percentageOfNodesToScore: the start offset rotates so load spreads. Zones
/// whose ZoneID is in `fenced` (declared dead by gossip) are refused as unreachable.
preselect_result preselect(const std::vector<protocols::zone_record>& zones,
                           const protocols::manifest& service,
                           const protocols::deploy_parameters& deploy, size_t k, size_t start,
                           const std::map<std::string, uint32_t>* fenced = nullptr);

/// Free resources of a zone that has not reported yet: its total capacity, healthy.
protocols::resource_report full_capacity(const protocols::zone_parameters& params);

}  // namespace fusion::domain
