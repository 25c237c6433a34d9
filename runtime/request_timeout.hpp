#pragma once
// How long a request may wait for its answer, by where its receiver lives.

#include "protocols/common.hpp"

#include <caf/duration.hpp>
#include <caf/local_actor.hpp>

#include <chrono>

namespace fusion::runtime {

/// The timeout of a request from `self` to `dest`: none when `dest` lives in this process,
/// `ms` when it is a proxy of a remote actor. A local receiver that dies (or is already
/// gone) bounces the request with an error at once, so only a remote one, whose node can
/// vanish without a word, needs a deadline. Sparing the timeout matters on hot paths: CAF
/// 0.17 never cancels one, and each costs the clock thread an event (docs/slots.md,
/// "Sessions"; caf-0.17 pitfall 7).
template <class Handle>
caf::duration request_timeout(const caf::local_actor* self, const Handle& dest,
                              protocols::duration_ms ms) {
  if (dest && dest->node() == self->node()) return caf::infinite;
  return caf::duration{std::chrono::milliseconds{ms}};
}

}  // namespace fusion::runtime
