#pragma once
// The generic evaluator (§5.4.2.2.1) as an actor: answers `evaluate` with score_zone
// (actors/evaluator/scoring.hpp) through an evaluation_cache. Zones that score inline use
// the scoring library directly.

#include "actors/evaluator/scoring.hpp"
#include "protocols/zone_orchestration.hpp"

#include <caf/actor_system.hpp>

#include <cstddef>

namespace fusion::evaluator {

/// Spawns an evaluator actor answering `evaluate` with score_zone through an
/// evaluation_cache. It may serve many zones; the caller registers it in the directory.
protocols::evaluator_actor spawn_generic_evaluator(caf::actor_system& sys, size_t cache_entries,
                                                   protocols::duration_ms cache_ttl_ms);

}  // namespace fusion::evaluator
