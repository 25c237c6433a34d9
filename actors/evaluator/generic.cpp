#include "actors/evaluator/generic.hpp"

#include "runtime/clock.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace fusion::evaluator {

using namespace protocols;

// --- evaluator actor ---

namespace {

struct generic_state {
  generic_state() = default;
  evaluation_cache cache{0, 0};
  static inline const char* name = "generic_evaluator";
};

evaluator_actor::behavior_type generic(evaluator_actor::stateful_pointer<generic_state> self,
                                       size_t entries, duration_ms ttl_ms) {
  self->state.cache = evaluation_cache{entries, ttl_ms};
  return {
      [=](const evaluate& req) -> evaluation {
        auto now = runtime::mono_now(self);
        auto hash =
            req.cache_key.empty() ? request_hash(req.zone, req.free, req.service, req.deploy) : 0;
        if (const auto* hit = self->state.cache.find(req.cache_key, hash, now)) {
          auto res = *hit;
          res.cached = true;
          return res;
        }
        auto res = score_zone(req);
        self->state.cache.insert(req.cache_key, hash, res, now);
        return res;
      },
  };
}

}  // namespace

evaluator_actor spawn_generic_evaluator(caf::actor_system& sys, size_t cache_entries,
                                        duration_ms cache_ttl_ms) {
  return sys.spawn(generic, cache_entries, cache_ttl_ms);
}

}  // namespace fusion::evaluator
