#pragma once
// Durable writes from an actor without blocking its scheduler thread: the actor queues a
// batch on its store_writer and keeps serving; the writer commits (grouped with other
// batches) on its own thread and sends the actor (committed_atom, token, error); the actor
// then runs the batch's continuation, which answers the request. Durable before
// acknowledged, on the actor's own thread. docs/registrar.md.

#include "runtime/store.hpp"

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_control_block.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/send.hpp>
#include <caf/weak_intrusive_ptr.hpp>

#include <cstdint>
#include <functional>
#include <unordered_map>
#include <utility>

namespace fusion::runtime {

/// Sent by the writer thread to the actor whose batch committed: (token, result).
using committed_atom = caf::atom_constant<caf::atom("committed")>;

/// The continuations of one actor's batches that wait for their commit. Lives in the
/// actor's state; the actor's behavior forwards (committed_atom, token, error) to done().
class commits {
 public:
  /// Runs on the actor's thread after the batch committed, with its result.
  using continuation = std::function<void(caf::error)>;

  /// Queues `batch` on `writer`; `then` runs when `self` receives the commit. An empty
  /// batch is a barrier: `then` runs after every batch queued before it.
  template <class Self>
  void submit(Self* self, store_writer& writer, write_batch batch, continuation then) {
    auto token = next_++;
    waiting_.emplace(token, std::move(then));
    // Weak: a writer that outlives the actor must not keep it alive.
    caf::weak_actor_ptr weak{self->ctrl()};
    writer.submit(std::move(batch), [weak, token](caf::error err) {
      if (auto strong = weak.lock())
        caf::anon_send(caf::actor_cast<caf::actor>(strong), committed_atom::value, token,
                       std::move(err));
    });
  }

  /// Runs the continuation of `token` (unknown tokens are ignored).
  void done(uint64_t token, caf::error err) {
    auto i = waiting_.find(token);
    if (i == waiting_.end()) return;
    auto fn = std::move(i->second);
    waiting_.erase(i);
    fn(std::move(err));
  }

  /// Batches queued and not yet answered.
  size_t in_flight() const { return waiting_.size(); }

 private:
  uint64_t next_ = 1;
  std::unordered_map<uint64_t, continuation> waiting_;
};

/// Commits `batch` through the actor's `commits`, then runs `then` on its thread, fail-stop:
/// a failed commit leaves memory ahead of the disk, so the first failure is kept in the
/// state's `db_error` (which makes the actor refuse every request from then on) and logged
/// once, ending with `consequence`. For actors whose state has `commits`, `db`, `db_error`
/// and `log` (the registrar and the zone registry).
template <class Self>
void commit_fail_stop(Self* self, write_batch batch, commits::continuation then,
                      const char* consequence) {
  auto& st = self->state;
  st.commits.submit(self, *st.db, std::move(batch),
                    [self, then = std::move(then), consequence](caf::error err) {
                      auto& s = self->state;
                      if (err && !s.db_error) {
                        s.db_error = err;
                        s.log->error("{}; {}", describe(err), consequence);
                      }
                      then(std::move(err));
                    });
}

}  // namespace fusion::runtime
