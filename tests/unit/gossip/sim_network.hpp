#pragma once
// A deterministic simulated network for gossip::membership state machines (tests and
// `fusion-bench gossip`): one event queue ordered by (delivery time, insertion order), its own
// random generator, per-message loss, base delay plus jitter, a per-member extra delay on
// everything it sends ("slow member"), partitions, crashes and restarts. Time advances in
// ticks; every running member is ticked at each one and each delivery flushes the receiver's
// outbox into the queue. Every status change a member reports is recorded with its time (or
// handed to a hook when a run is too big to keep them), and bytes sent are counted per member
// at their exact msgpack size (wire_size(), the codec's envelope, without encoding).
//
// Message semantics (as the gossip agent delivers them): a gossip_ping to X is X.on_ping, an
// ack on_ack, a ping_req on_ping_req; a membership_digest sent to X is a push-pull request:
// X.on_digest, then X's digest() travels back to the sender as the answer.

#include "actors/gossip/membership.hpp"
#include "protocols/gossip.hpp"

#include <caf/meta/annotation.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace fusion::gossip::test {

// --- Wire size --------------------------------------------------------------------------------

/// Counts the bytes protocols::encode() would write for a value, field by field through the
/// same inspect() overloads, without writing them.
class size_counter {
 public:
  using result_type = void;
  static constexpr bool reads_state = true;
  static constexpr bool writes_state = false;

  size_t bytes = 0;  ///< Counted so far.

  /// A record's fields (what inspect() hands over): an array of them.
  template <class... Ts>
  void operator()(Ts&&... xs) {
    constexpr uint32_t n =
        (0u + ... + (caf::meta::is_annotation<std::decay_t<Ts>>::value ? 0u : 1u));
    bytes += header(n);
    (put(xs), ...);
  }

  /// One value, as the codec's writer packs it.
  template <class T>
  void put(const T& x) {
    if constexpr (caf::meta::is_annotation<T>::value) {
      // not on the wire
    } else if constexpr (std::is_same_v<T, bool>) {
      bytes += 1;
    } else if constexpr (std::is_enum_v<T>) {
      put(static_cast<std::underlying_type_t<T>>(x));
    } else if constexpr (std::is_floating_point_v<T>) {
      bytes += 9;  // always float64
    } else if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T>) {
      bytes += uint_size(x);
    } else if constexpr (std::is_integral_v<T>) {
      bytes += x >= 0 ? uint_size(static_cast<uint64_t>(x)) : int_size(x);
    } else if constexpr (std::is_same_v<T, std::string>) {
      auto n = x.size();
      bytes += n + (n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5);
    } else if constexpr (is_vector<T>::value) {
      bytes += header(x.size());
      for (const auto& e : x) put(e);
    } else {
      inspect(*this, const_cast<T&>(x));  // a nested record; only read
    }
  }

  /// Bytes of a msgpack array header of `n` elements.
  static size_t header(size_t n) { return n < 16 ? 1 : n < 65536 ? 3 : 5; }

 private:
  template <class T>
  struct is_vector : std::false_type {};
  template <class T, class A>
  struct is_vector<std::vector<T, A>> : std::true_type {};

  static size_t uint_size(uint64_t v) {
    return v < 128 ? 1 : v < 256 ? 2 : v < 65536 ? 3 : v <= 0xffffffffu ? 5 : 9;
  }
  static size_t int_size(int64_t v) {
    return v >= -32 ? 1 : v >= -128 ? 2 : v >= -32768 ? 3 : v >= INT32_MIN ? 5 : 9;
  }
};

/// Bytes of `x` as one envelope on the wire: [type_id, version, body] (protocols::encode).
template <class T>
size_t wire_size(const T& x) {
  size_counter c;
  c.bytes = 1;  // the envelope's array header
  c.put(T::meta.type_id);
  c.put(T::meta.version);
  c.put(x);
  return c.bytes;
}

// --- The network --------------------------------------------------------------------------------

/// The network's own settings (the protocol's are gossip::params).
struct net_params {
  uint64_t seed = 1;      ///< Seeds the network's generator and, mixed, each member's.
  double loss = 0;        ///< Probability that one message (one hop) is lost.
  time_ms delay_ms = 2;   ///< One-way delay of every message...
  time_ms jitter_ms = 3;  ///< ...plus a uniform 0..jitter.
  time_ms tick_ms = 20;   ///< Every running member is ticked this often.
  bool keep_log = true;   ///< Records every change (tests); off for big benches (use hooks).
};

class sim_network {
 public:
  using index = uint32_t;
  using message = decltype(outgoing::msg);

  /// One status change, as member `observer` reported it at `at`.
  struct change_record {
    time_ms at = 0;
    index observer = 0;
    index subject = 0;  ///< The member the change is about; `nobody` if not in the network.
    protocols::member_status status = protocols::member_status::alive;
    protocols::member_status previous = protocols::member_status::alive;
    uint64_t incarnation = 0;
    bool self = false;  ///< About the observer itself (subject == observer).
    friend bool operator==(const change_record&, const change_record&) = default;
  };

  /// The subject of a change about an id the network does not know.
  static constexpr index nobody = UINT32_MAX;

  /// An advertisement member `observer` accepted at `at`.
  struct domain_record {
    time_ms at = 0;
    index observer = 0;
    std::string domain;
    uint64_t version = 0;
  };

  /// What one member sent (lost messages included: they were sent).
  struct traffic {
    uint64_t messages = 0;
    uint64_t bytes = 0;
  };

  /// Totals over the whole network.
  struct totals {
    uint64_t pings = 0, acks = 0, ping_reqs = 0, digests = 0;  ///< Messages sent, by kind.
    uint64_t updates = 0;      ///< Member records piggybacked on pings and acks.
    uint64_t ads = 0;          ///< Advertisements piggybacked on pings and acks.
    uint64_t lost = 0;         ///< Dropped by `loss`.
    uint64_t partitioned = 0;  ///< Dropped between groups of a partition.
    uint64_t to_down = 0;      ///< Addressed to a crashed member (or an unknown id).
  };

  /// Members will run with `p`; the network behaves as `n` says.
  sim_network(params p, net_params n) : p_(p), n_(n), rng_(n.seed) {}

  // --- Members -------------------------------------------------------------------------------

  /// Adds a running member `id` (address "<id>:7946") that knows nobody yet.
  index add(const std::string& id, uint64_t incarnation = 0, ad_verifier verify = {}) {
    auto i = static_cast<index>(nodes_.size());
    nodes_.emplace_back();
    auto& n = nodes_.back();
    n.id = id;
    n.verify = std::move(verify);
    ids_.emplace(id, i);
    start(i, incarnation);
    return i;
  }

  /// `joiner` contacts `seed` now, as the agent does with its configured seed: a push-pull.
  void join(index joiner, index seed) {
    auto& j = *nodes_[joiner].m;
    auto& s = *nodes_[seed].m;
    s.on_digest(now_, j.digest());
    flush(seed);
    j.on_digest(now_, s.digest());
    flush(joiner);
  }

  /// Gives every running member a digest of every running member's own state at once: a
  /// converged view without the joins (big benchmarks). With `spend`, each member then
  /// spends the news that merge queued for piggybacking (spend_news()): the quiet state a
  /// cluster reaches once its joins have been gossiped, without simulating that long.
  void preseed(bool spend = true) {
    protocols::membership_digest d;
    d.members.reserve(running_.size());
    for (auto i : running_) d.members.push_back(nodes_[i].m->self());
    for (auto i : running_) {
      nodes_[i].m->on_digest(now_, d);
      flush(i);
      if (spend) spend_news(i);
    }
  }

  /// Spends every change member `i` has queued for piggybacking, as if it had sent them all
  /// (on acks to pings from a member it knows; the acks are not sent). Its outbox is emptied.
  void spend_news(index i) {
    auto& m = *nodes_[i].m;
    const auto& peer = nodes_[i == running_.front() ? running_.back() : running_.front()].id;
    for (bool more = true; more;) {
      m.on_ping(now_, protocols::gossip_ping{peer, 0, {}, {}});
      more = false;
      for (auto& o : m.take_outbox())
        if (auto a = std::get_if<protocols::gossip_ack>(&o.msg))
          more = more || !a->updates.empty() || !a->domains.empty();
    }
    flush(i);
  }

  /// Stops `i`: it is no longer ticked and everything to it is dropped.
  void crash(index i) {
    auto& n = nodes_[i];
    if (!n.up) return;
    n.up = false;
    running_.erase(std::find(running_.begin(), running_.end(), i));
  }

  /// Restarts a crashed `i` as a new member object with `incarnation` (one that grows across
  /// restarts) that knows nobody; then join() it to a seed.
  void restart(index i, uint64_t incarnation) {
    crash(i);
    start(i, incarnation);
  }

  /// `i` leaves voluntarily (and keeps running until crash()ed).
  void leave(index i) {
    nodes_[i].m->leave(now_);
    flush(i);
  }

  /// Runs `f(member, now)` on member `i`, then sends what it queued (tests that feed a member
  /// a crafted message).
  template <class F>
  void call(index i, F&& f) {
    f(*nodes_[i].m, now_);
    flush(i);
  }

  // --- Faults --------------------------------------------------------------------------------

  /// Loses each message from now on with probability `p`.
  void set_loss(double p) { n_.loss = p; }
  /// Adds `ms` to every message `i` sends.
  void set_extra_delay(index i, time_ms ms) { nodes_[i].extra_delay = ms; }
  /// Puts `i` in partition group `g` (all start in 0); messages across groups are dropped.
  void set_group(index i, int g) { nodes_[i].group = g; }
  /// Ends every partition.
  void heal() {
    for (auto& n : nodes_) n.group = 0;
  }

  // --- Time ----------------------------------------------------------------------------------

  /// Simulated time, ms.
  time_ms now() const { return now_; }

  /// Delivers every message due and ticks every running member, tick by tick, up to `t`.
  void run_until(time_ms t) {
    for (;;) {
      time_ms next_tick = last_tick_ + n_.tick_ms;
      time_ms horizon = std::min(next_tick, t + 1);
      while (!queue_.empty() && queue_.front().at < horizon) {
        std::pop_heap(queue_.begin(), queue_.end(), later);
        auto e = std::move(queue_.back());
        queue_.pop_back();
        now_ = std::max(now_, e.at);
        deliver(e);
      }
      if (next_tick > t) {
        now_ = std::max(now_, t);
        return;
      }
      now_ = last_tick_ = next_tick;
      for (size_t k = 0; k < running_.size(); ++k) {
        auto i = running_[k];
        nodes_[i].m->tick(now_);
        flush(i);
      }
    }
  }
  /// run_until(now() + d).
  void run_for(time_ms d) { run_until(now_ + d); }

  // --- Observation ---------------------------------------------------------------------------

  /// Members ever added, crashed ones included.
  size_t size() const { return nodes_.size(); }
  /// Member `i`'s node id.
  const std::string& id(index i) const { return nodes_[i].id; }
  /// The index of the member with node id `id` (which must exist).
  index find(const std::string& id) const { return ids_.at(id); }
  /// Whether `i` is running (not crashed).
  bool up(index i) const { return nodes_[i].up; }
  /// The running members, in tick order.
  const std::vector<index>& running() const { return running_; }
  /// Member `i`'s state machine (its current life).
  membership& at(index i) { return *nodes_[i].m; }
  const membership& at(index i) const { return *nodes_[i].m; }
  /// What member `i` sent, over all its lives.
  const traffic& sent(index i) const { return nodes_[i].sent; }
  /// Totals over the network.
  const totals& total() const { return totals_; }
  /// Every change reported, in order (with keep_log).
  const std::vector<change_record>& log() const { return log_; }
  /// Every advertisement accepted, in order (with keep_log).
  const std::vector<domain_record>& domain_log() const { return domain_log_; }
  /// Called for every change, kept or not.
  std::function<void(const change_record&)> on_change;
  /// Called for every advertisement accepted.
  std::function<void(const domain_record&)> on_domain;
  /// Called for every message sent (before loss), with its sender and addressee.
  std::function<void(index from, index to, const message&)> on_send;

  /// When every running member but `subject` had first reported `subject` as `status` at or
  /// after `since` (the latest of those first reports); nullopt if one has not.
  std::optional<time_ms> all_saw(index subject, protocols::member_status status,
                                 time_ms since = 0) const {
    std::vector<std::optional<time_ms>> first(nodes_.size());
    for (auto& r : log_)
      if (r.subject == subject && r.status == status && r.at >= since && !r.self &&
          !first[r.observer])
        first[r.observer] = r.at;
    time_ms last = since;
    for (auto i : running_) {
      if (i == subject) continue;
      if (!first[i]) return std::nullopt;
      last = std::max(last, *first[i]);
    }
    return last;
  }

  /// Reports by any member but `subject` itself of `subject` as `status` at or after `since`.
  size_t reports(index subject, protocols::member_status status, time_ms since = 0) const {
    size_t n = 0;
    for (auto& r : log_)
      n += r.subject == subject && r.status == status && r.at >= since && !r.self ? 1 : 0;
    return n;
  }

  /// Reports of `status` about members running now, by anyone but the member itself, at or
  /// after `since`.
  std::vector<change_record> reports_about_running(protocols::member_status status,
                                                   time_ms since = 0) const {
    std::vector<change_record> out;
    for (auto& r : log_)
      if (r.status == status && r.at >= since && !r.self && r.subject != nobody &&
          nodes_[r.subject].up)
        out.push_back(r);
    return out;
  }

  /// "" if every running member sees every other running member alive at its current
  /// incarnation; else the first few disagreements, for a failure message.
  std::string view_problems(size_t max = 5) const {
    std::string out;
    size_t found = 0;
    for (auto i : running_)
      for (auto j : running_) {
        if (i == j) continue;
        const auto& truth = nodes_[j].m->self();
        const auto* seen = nodes_[i].m->find(truth.node_id);
        if (seen && seen->status == protocols::member_status::alive &&
            seen->incarnation == truth.incarnation)
          continue;
        if (found++ < max) {
          out += nodes_[i].id + " sees " + truth.node_id + " as ";
          out += seen ? status_name(seen->status) + "@" + std::to_string(seen->incarnation)
                      : std::string{"unknown"};
          out += " (is @" + std::to_string(truth.incarnation) + "); ";
        }
      }
    if (found > max) out += std::to_string(found - max) + " more";
    return out;
  }

  /// A status as a word, for messages.
  static std::string status_name(protocols::member_status s) {
    switch (s) {
      case protocols::member_status::alive:
        return "alive";
      case protocols::member_status::suspect:
        return "suspect";
      case protocols::member_status::dead:
        return "dead";
      case protocols::member_status::left:
        return "left";
    }
    return "?";
  }

 private:
  struct node {
    std::string id;
    ad_verifier verify;
    std::unique_ptr<membership> m;
    bool up = false;
    int group = 0;
    time_ms extra_delay = 0;
    traffic sent;
  };

  struct event {
    time_ms at = 0;
    uint64_t seq = 0;
    index from = 0;
    index to = 0;
    bool answer = false;  // a digest answering a push-pull
    message msg;
  };

  // Heap order: the earliest (then first inserted) on top.
  static bool later(const event& a, const event& b) {
    return a.at != b.at ? a.at > b.at : a.seq > b.seq;
  }

  void start(index i, uint64_t incarnation) {
    auto& n = nodes_[i];
    protocols::member_state self;
    self.node_id = n.id;
    self.incarnation = incarnation;
    self.address = n.id + ":7946";
    // Each life its own seed, derived from the network's: runs are reproducible.
    uint64_t seed = n_.seed * 0x9e3779b97f4a7c15ull + i * 0xbf58476d1ce4e5b9ull + ++lives_;
    n.m = std::make_unique<membership>(std::move(self), p_, seed, n.verify);
    n.up = true;
    running_.push_back(i);
    flush(i);
  }

  // Sends what member `i` queued and records what it reported.
  void flush(index i) {
    auto& n = nodes_[i];
    for (auto& c : n.m->take_changes()) {
      change_record r;
      r.at = now_;
      r.observer = i;
      auto it = ids_.find(c.member.node_id);
      r.subject = it == ids_.end() ? nobody : it->second;
      r.status = c.member.status;
      r.previous = c.previous;
      r.incarnation = c.member.incarnation;
      r.self = c.self;
      if (on_change) on_change(r);
      if (n_.keep_log) log_.push_back(r);
    }
    for (auto& ad : n.m->take_new_domains()) {
      domain_record r{now_, i, ad.domain, ad.version};
      if (on_domain) on_domain(r);
      if (n_.keep_log) domain_log_.push_back(std::move(r));
    }
    for (auto& o : n.m->take_outbox()) {
      auto it = ids_.find(o.to);
      if (it == ids_.end()) {
        ++totals_.to_down;
        continue;
      }
      post(i, it->second, false, std::move(o.msg));
    }
  }

  void post(index from, index to, bool answer, message msg) {
    auto& n = nodes_[from];
    if (on_send) on_send(from, to, msg);
    ++n.sent.messages;
    n.sent.bytes += std::visit([](const auto& x) { return wire_size(x); }, msg);
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, protocols::gossip_ping>) {
            ++totals_.pings;
            totals_.updates += x.updates.size();
            totals_.ads += x.domains.size();
          } else if constexpr (std::is_same_v<T, protocols::gossip_ack>) {
            ++totals_.acks;
            totals_.updates += x.updates.size();
            totals_.ads += x.domains.size();
          } else if constexpr (std::is_same_v<T, protocols::gossip_ping_req>) {
            ++totals_.ping_reqs;
          } else {
            ++totals_.digests;
          }
        },
        msg);
    if (n_.loss > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < n_.loss) {
      ++totals_.lost;
      return;
    }
    time_ms delay = n_.delay_ms + n.extra_delay;
    if (n_.jitter_ms > 0) delay += std::uniform_int_distribution<time_ms>(0, n_.jitter_ms)(rng_);
    queue_.push_back(event{now_ + delay, seq_++, from, to, answer, std::move(msg)});
    std::push_heap(queue_.begin(), queue_.end(), later);
  }

  void deliver(event& e) {
    auto& to = nodes_[e.to];
    if (!to.up) {
      ++totals_.to_down;
      return;
    }
    if (to.group != nodes_[e.from].group) {
      ++totals_.partitioned;
      return;
    }
    auto& m = *to.m;
    std::visit(
        [&](auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, protocols::gossip_ping>) {
            m.on_ping(now_, x);
          } else if constexpr (std::is_same_v<T, protocols::gossip_ack>) {
            m.on_ack(now_, x);
          } else if constexpr (std::is_same_v<T, protocols::gossip_ping_req>) {
            m.on_ping_req(now_, x);
          } else {
            m.on_digest(now_, x);
            if (!e.answer) post(e.to, e.from, true, m.digest());
          }
        },
        e.msg);
    flush(e.to);
  }

  params p_;
  net_params n_;
  std::mt19937_64 rng_;
  std::vector<node> nodes_;
  std::unordered_map<std::string, index> ids_;
  std::vector<index> running_;
  std::vector<event> queue_;  // a heap by later()
  uint64_t seq_ = 0;
  uint64_t lives_ = 0;
  time_ms now_ = 0;
  time_ms last_tick_ = 0;
  std::vector<change_record> log_;
  std::vector<domain_record> domain_log_;
  totals totals_;
};

}  // namespace fusion::gossip::test
