#pragma once
// SWIM membership with Lifeguard's refinements (docs/gossip.md), as a plain state machine:
// no actors, no clock, no network. Time comes in as milliseconds, messages come in as calls
// and go out through an outbox, so the same code runs in a node's gossip agent
// (actors/gossip/agent.hpp), in deterministic tests over a simulated lossy network, and in
// `fusion-bench gossip` with 10,000 members in one process.
//
// One protocol period: probe the next member of a shuffled round-robin order; without an
// ack within the probe timeout ask `indirect_probes` other members to probe it; without any
// ack by three probe timeouts, suspect it. A suspect that does not refute (a higher
// incarnation, only it can make) within the suspicion timeout is declared dead; the timeout
// starts long and shrinks as other members independently suspect it too (Lifeguard). A
// member that keeps failing its probes slows itself down (local health). Changes ride on
// pings and acks, each sent a bounded number of times; a periodic push-pull of the whole
// view lets a member that missed them (or rejoins) catch up.

#include "protocols/gossip.hpp"
#include "runtime/config.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace fusion::gossip {

using time_ms = uint64_t;

/// Protocol parameters. Those an operator sets come from [gossip] (their defaults are
/// written once, in runtime/config_options.cpp); the rest are the protocol's own limits.
struct params {
  /// [gossip]'s defaults.
  params();
  /// The keys of a node's [gossip].
  explicit params(const runtime::gossip_config& g);

  time_ms interval_ms = 0;              ///< Protocol period: one probe per period.
  time_ms probe_timeout_ms = 0;         ///< Wait for a direct ack before asking others.
  uint32_t indirect_probes = 0;         ///< Members asked to probe on our behalf (k).
  double suspicion_mult = 0;            ///< Min suspicion = mult x max(1, log10 N) x interval.
  double suspicion_max_mult = 0;        ///< Max suspicion = this x min (no confirmations yet).
  uint32_t retransmit_mult = 0;         ///< Each change is sent mult x ceil(log10(N + 1)) times.
  time_ms push_pull_ms = 0;             ///< Whole-view exchange with one random member.
  double updates_per_s = 0;             ///< Changes accepted per second from one sender.
  uint32_t max_piggyback = 12;          ///< Member changes per ping or ack.
  uint32_t max_domains = 2;             ///< Advertisements per ping or ack.
  uint32_t max_records = 100'000;       ///< Records one message may carry; more = dropped.
  time_ms dead_retention_ms = 600'000;  ///< Dead members are forgotten after this.
  uint32_t max_health = 8;              ///< Local health multiplier cap (Lifeguard LHM).
};

/// A message for another member: `to` is its id, `address` the node hosting its agent.
struct outgoing {
  std::string to;
  std::string address;
  std::variant<protocols::gossip_ping, protocols::gossip_ack, protocols::gossip_ping_req,
               protocols::membership_digest>
      msg;
};

/// Counters, for logs, tests and the benchmark.
struct counters {
  uint64_t probes = 0;        ///< Direct probes sent.
  uint64_t indirect = 0;      ///< Indirect probe requests sent.
  uint64_t acks = 0;          ///< Acks received for our probes.
  uint64_t suspicions = 0;    ///< Members this member suspected itself.
  uint64_t deaths = 0;        ///< Members this member declared dead itself.
  uint64_t refutations = 0;   ///< Suspicions or deaths of itself it refuted.
  uint64_t dropped = 0;       ///< Messages dropped: oversized or malformed.
  uint64_t rate_limited = 0;  ///< Changes dropped: their sender sent too many.
  uint64_t untrusted = 0;     ///< Advertisements refused: bad signature or key.
  uint64_t stale = 0;         ///< Records older than what is known (normal; not an error).
};

/// Says whether an advertisement is genuine (signature and trusted key); "" = yes, else why
/// not. Called once per (domain, version) received.
using ad_verifier = std::function<std::string(const protocols::domain_advertisement&)>;
/// Whether a member can be sent messages directly (a node with a link to it). Members that
/// cannot are probed only through others, and never asked to probe.
using reachability = std::function<bool(const protocols::member_state&)>;

class membership {
 public:
  /// `self` as it starts (its incarnation: 0, or something that grows across restarts, so
  /// a restarted member overrides what others remember of its previous life).
  membership(protocols::member_state self, params p, uint64_t seed, ad_verifier verify = {},
             reachability reachable = {});

  // --- Input -------------------------------------------------------------------------------

  /// Runs the protocol up to `now`: starts probes, escalates and fails them, ends
  /// suspicions, starts push-pulls. Call at least every interval / 4.
  void tick(time_ms now);
  void on_ping(time_ms now, const protocols::gossip_ping& p);
  void on_ack(time_ms now, const protocols::gossip_ack& a);
  void on_ping_req(time_ms now, const protocols::gossip_ping_req& r);
  /// Merges a digest (push or pull answer). Like every record from another member, a death
  /// counts here only as a suspicion, which this member's own timer turns into a death
  /// unless the member refutes it in time.
  void on_digest(time_ms now, const protocols::membership_digest& d);
  /// Adds an advertisement (ours, or one a local actor gave); false with `why` if refused.
  bool advertise(time_ms now, const protocols::domain_advertisement& ad,
                 std::string* why = nullptr);
  /// Leaves voluntarily: every member learns it as "left", not dead.
  void leave(time_ms now);
  /// Changes the home domain this member announces about itself.
  void set_domain(time_ms now, const std::string& domain);

  // --- Output ------------------------------------------------------------------------------

  /// Messages to send, in order. The caller delivers each (or loses it: that is gossip).
  std::vector<outgoing> take_outbox();
  /// Status changes since the last call (also of itself: `self` set).
  std::vector<protocols::member_change> take_changes();
  /// Advertisements accepted (new domains or newer versions) since the last call.
  std::vector<protocols::domain_advertisement> take_new_domains();
  /// The whole view, for push-pull and queries.
  protocols::membership_digest digest() const;

  // --- View --------------------------------------------------------------------------------

  const protocols::member_state& self() const { return self_; }
  const protocols::member_state* find(const std::string& id) const;
  /// Members not dead or left, itself included.
  size_t live_members() const { return live_; }
  size_t known_members() const { return members_.size() + 1; }
  const std::map<std::string, protocols::domain_advertisement>& domains() const { return domains_; }
  const counters& stats() const { return stats_; }
  uint32_t health() const { return health_; }
  /// Current suspicion timeout bounds for `n` members (docs/gossip.md, "Timing").
  std::pair<time_ms, time_ms> suspicion_bounds(size_t n) const;

 private:
  struct suspicion {
    time_ms started = 0;
    std::set<std::string> confirmers;
  };
  struct member {
    protocols::member_state state;
    time_ms changed_at = 0;
    std::optional<suspicion> suspect;
  };
  struct probe {
    std::string target;
    time_ms sent = 0;
    bool escalated = false;
  };
  struct relay {
    std::string requester;
    std::string requester_address;
    uint64_t sequence = 0;  // the requester's
    time_ms sent = 0;
  };
  struct bucket {
    double tokens = 0;
    time_ms at = 0;
  };
  /// Changes waiting to be piggybacked, by key (a member id, a domain name): the least sent
  /// first, then the oldest (memberlist's transmit-limited queue). Pushing a key again
  /// starts its count over.
  class transmit_queue {
   public:
    void push(const std::string& key);
    /// Offers keys to `emit` (which says false if the key's record is gone) until `max`
    /// were emitted; each emitted key counts one send, and leaves after `limit` sends.
    template <class Emit>
    void take(size_t max, uint32_t limit, Emit&& emit) {
      std::vector<std::pair<rank_t, std::string>> sent;
      for (auto it = queue_.begin(); it != queue_.end() && sent.size() < max;
           it = queue_.erase(it)) {
        if (!emit(it->second)) {
          queued_.erase(it->second);
          continue;
        }
        sent.emplace_back(rank_t{it->first.first + 1, it->first.second}, it->second);
      }
      for (auto& [r, key] : sent) {
        if (r.first >= limit) {
          queued_.erase(key);
        } else {
          queue_.emplace(r, key);
          queued_[key] = r;
        }
      }
    }

   private:
    using rank_t = std::pair<uint32_t, uint64_t>;  // times sent, age
    std::map<rank_t, std::string> queue_;
    std::map<std::string, rank_t> queued_;
    uint64_t age_ = 0;
  };

  void send(const protocols::member_state& to, decltype(outgoing::msg) msg);
  void start_probe(time_ms now);
  void escalate(time_ms now, uint64_t seq, probe& p);
  void fail_probe(time_ms now, const probe& p);
  void merge(time_ms now, const std::string& from, const std::vector<protocols::member_state>& ups,
             bool from_digest);
  void merge_domains(time_ms now, const std::vector<protocols::domain_advertisement>& ads);
  void apply(time_ms now, const std::string& from, const protocols::member_state& up);
  void refute(uint64_t seen_incarnation, protocols::member_status claimed);
  void change(time_ms now, member& m, protocols::member_state next);
  bool admit(time_ms now, const std::string& from, size_t n);
  void broadcast(const protocols::member_state& st);
  void broadcast(const protocols::domain_advertisement& ad);
  std::vector<protocols::member_state> piggyback();
  std::vector<protocols::domain_advertisement> piggyback_domains();
  time_ms suspicion_timeout(const suspicion& s) const;
  uint32_t retransmit_limit() const;
  time_ms scaled(time_ms t) const { return t * (health_ + 1); }
  std::vector<const member*> pick(size_t k, const std::string& except, bool reachable_only);
  bool is_reachable(const protocols::member_state& m) const;
  bool live(const protocols::member_state& m) const;

  protocols::member_state self_;
  params p_;
  std::mt19937_64 rng_;
  ad_verifier verify_;
  reachability reachable_;
  std::map<std::string, member> members_;       // everyone but self
  std::set<std::string> suspects_;              // members with a suspicion running
  std::multimap<time_ms, std::string> graves_;  // when gone members may be forgotten
  size_t live_ = 1;                             // members not dead or left, self included
  std::vector<std::string> order_;              // probe order
  size_t order_pos_ = 0;
  std::map<uint64_t, probe> probes_;  // by our sequence
  std::map<uint64_t, relay> relays_;  // by the sequence of our relay ping
  uint64_t sequence_ = 0;
  time_ms next_probe_ = 0;
  time_ms next_push_pull_ = 0;
  uint32_t health_ = 0;
  std::map<std::string, bucket> buckets_;
  // Piggyback queues: member changes by id, advertisements by domain.
  transmit_queue member_tx_;  // by member id
  transmit_queue domain_tx_;  // by domain name
  std::map<std::string, protocols::domain_advertisement> domains_;
  std::vector<outgoing> outbox_;
  std::vector<protocols::member_change> changes_;
  std::vector<protocols::domain_advertisement> new_domains_;
  counters stats_;
};

}  // namespace fusion::gossip
