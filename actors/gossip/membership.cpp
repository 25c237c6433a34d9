#include "actors/gossip/membership.hpp"

#include <algorithm>
#include <cmath>

namespace fusion::gossip {

using namespace protocols;

namespace {

// At equal incarnation a worse status wins: dead and left over suspect over alive.
int rank(member_status s) {
  switch (s) {
    case member_status::alive:
      return 0;
    case member_status::suspect:
      return 1;
    case member_status::dead:
    case member_status::left:
      return 2;
  }
  return 0;
}

bool gone(member_status s) {
  return s == member_status::dead || s == member_status::left;
}

}  // namespace

params::params() : params(runtime::default_config().gossip) {}

params::params(const runtime::gossip_config& g)
    : interval_ms(g.interval_ms),
      probe_timeout_ms(g.probe_timeout_ms),
      indirect_probes(g.indirect_probes),
      suspicion_mult(g.suspicion_mult),
      suspicion_max_mult(g.suspicion_max_mult),
      retransmit_mult(g.retransmit_mult),
      push_pull_ms(g.push_pull_ms),
      updates_per_s(g.updates_per_s) {}

membership::membership(member_state self, params p, uint64_t seed, ad_verifier verify,
                       reachability reachable)
    : self_(std::move(self)),
      p_(p),
      rng_(seed),
      verify_(std::move(verify)),
      reachable_(std::move(reachable)) {
  self_.status = member_status::alive;
  broadcast(self_);  // the first pings introduce us
}

// --- Piggyback queues ----------------------------------------------------------------------

uint32_t membership::retransmit_limit() const {
  auto n = static_cast<double>(members_.size() + 1);
  return p_.retransmit_mult * static_cast<uint32_t>(std::ceil(std::log10(n + 1)));
}

void membership::transmit_queue::push(const std::string& key) {
  if (auto it = queued_.find(key); it != queued_.end()) {
    queue_.erase(it->second);
    queued_.erase(it);
  }
  rank_t r{0, age_++};
  queue_.emplace(r, key);
  queued_.emplace(key, r);
}

void membership::broadcast(const member_state& st) {
  member_tx_.push(st.node_id);
}

void membership::broadcast(const domain_advertisement& ad) {
  domain_tx_.push(ad.domain);
}

std::vector<member_state> membership::piggyback() {
  std::vector<member_state> out;
  member_tx_.take(p_.max_piggyback, retransmit_limit(), [&](const std::string& id) {
    if (id == self_.node_id) {
      out.push_back(self_);
      return true;
    }
    auto m = members_.find(id);
    if (m == members_.end()) return false;
    out.push_back(m->second.state);
    return true;
  });
  return out;
}

std::vector<domain_advertisement> membership::piggyback_domains() {
  std::vector<domain_advertisement> out;
  domain_tx_.take(p_.max_domains, retransmit_limit(), [&](const std::string& name) {
    auto d = domains_.find(name);
    if (d == domains_.end()) return false;
    out.push_back(d->second);
    return true;
  });
  return out;
}

// --- Sending --------------------------------------------------------------------------------

void membership::send(const member_state& to, decltype(outgoing::msg) msg) {
  outbox_.push_back(outgoing{to.node_id, to.address, std::move(msg)});
}

bool membership::is_reachable(const member_state& m) const {
  return !reachable_ || reachable_(m);
}

bool membership::live(const member_state& m) const {
  return !gone(m.status);
}

std::vector<const membership::member*> membership::pick(size_t k, const std::string& except,
                                                        bool reachable_only) {
  std::vector<const member*> all;
  for (auto& [id, m] : members_)
    if (id != except && m.state.status == member_status::alive &&
        (!reachable_only || is_reachable(m.state)))
      all.push_back(&m);
  if (all.size() > k) {
    // Partial Fisher-Yates: the first k are a uniform sample.
    for (size_t i = 0; i < k; ++i) {
      std::uniform_int_distribution<size_t> d(i, all.size() - 1);
      std::swap(all[i], all[d(rng_)]);
    }
    all.resize(k);
  }
  return all;
}

// --- The protocol period ----------------------------------------------------------------------

void membership::tick(time_ms now) {
  if (gone(self_.status)) return;
  if (next_probe_ == 0) {
    // Spread members' periods so that they do not all probe in the same millisecond.
    std::uniform_int_distribution<time_ms> d(0, p_.interval_ms);
    next_probe_ = now + d(rng_);
    // Over a whole push-pull period: all members share that period, so a narrower spread
    // would have them all exchange their whole views at once, period after period.
    next_push_pull_ = now + std::uniform_int_distribution<time_ms>(0, p_.push_pull_ms)(rng_);
  }
  // Probes: escalate after the probe timeout, fail after three.
  for (auto it = probes_.begin(); it != probes_.end();) {
    auto& pr = it->second;
    if (!pr.escalated && now >= pr.sent + scaled(p_.probe_timeout_ms)) escalate(now, it->first, pr);
    if (now >= pr.sent + 3 * scaled(p_.probe_timeout_ms)) {
      auto done = pr;
      it = probes_.erase(it);
      fail_probe(now, done);
    } else {
      ++it;
    }
  }
  for (auto it = relays_.begin(); it != relays_.end();)
    it = now >= it->second.sent + 3 * scaled(p_.probe_timeout_ms) ? relays_.erase(it)
                                                                  : std::next(it);
  // Suspicions that ran out: dead.
  std::vector<std::string> expired;
  for (auto& id : suspects_) {
    auto& m = members_[id];
    if (m.suspect && now >= m.suspect->started + suspicion_timeout(*m.suspect))
      expired.push_back(id);
  }
  for (auto& id : expired) {
    auto& m = members_[id];
    auto next = m.state;
    next.status = member_status::dead;
    next.accuser = self_.node_id;
    ++stats_.deaths;
    change(now, m, next);
  }
  // Forget long-gone members (a grave is stale if the member came back since).
  while (!graves_.empty() && graves_.begin()->first <= now) {
    auto it = members_.find(graves_.begin()->second);
    if (it != members_.end() && gone(it->second.state.status) &&
        now >= it->second.changed_at + p_.dead_retention_ms)
      members_.erase(it);
    graves_.erase(graves_.begin());
  }
  if (now >= next_probe_) {
    next_probe_ = now + scaled(p_.interval_ms);
    start_probe(now);
  }
  if (now >= next_push_pull_) {
    // Whole views grow with the membership: exchange them less often in big ones
    // (memberlist's push-pull scale: x1 up to 32 members, +1 per doubling beyond).
    auto n = static_cast<double>(members_.size() + 1);
    auto scale = n <= 32 ? 1.0 : std::ceil(std::log2(n) - std::log2(32.0)) + 1;
    next_push_pull_ = now + static_cast<time_ms>(static_cast<double>(p_.push_pull_ms) * scale);
    if (auto peer = pick(1, "", true); !peer.empty()) send(peer[0]->state, digest());
    // Members we think dead are never probed; one of them is asked too, so that two sides
    // of a healed partition find each other again (Serf's reconnect).
    std::vector<const member*> dead;
    for (auto& [id, m] : members_)
      if (m.state.status == member_status::dead && is_reachable(m.state)) dead.push_back(&m);
    if (!dead.empty()) {
      std::uniform_int_distribution<size_t> d(0, dead.size() - 1);
      send(dead[d(rng_)]->state, digest());
    }
  }
}

void membership::start_probe(time_ms now) {
  // Shuffled round-robin: every member is probed once per round, in an order that changes.
  for (size_t tries = 0; tries <= order_.size(); ++tries) {
    if (order_pos_ >= order_.size()) {
      order_.clear();
      for (auto& [id, m] : members_)
        if (live(m.state)) order_.push_back(id);
      std::shuffle(order_.begin(), order_.end(), rng_);
      order_pos_ = 0;
      if (order_.empty()) return;
    }
    auto it = members_.find(order_[order_pos_++]);
    if (it == members_.end() || !live(it->second.state)) continue;
    auto seq = ++sequence_;
    auto& pr = probes_[seq];
    pr = probe{it->first, now, false};
    if (is_reachable(it->second.state)) {
      ++stats_.probes;
      send(it->second.state, gossip_ping{self_.node_id, seq, piggyback(), piggyback_domains()});
    } else {
      escalate(now, seq, pr);  // no direct way: only others can probe it
    }
    return;
  }
}

void membership::escalate(time_ms, uint64_t seq, probe& pr) {
  pr.escalated = true;
  auto target = members_.find(pr.target);
  if (target == members_.end()) return;
  for (auto* helper : pick(p_.indirect_probes, pr.target, true)) {
    ++stats_.indirect;
    send(helper->state, gossip_ping_req{self_.node_id, seq, target->second.state});
  }
}

void membership::fail_probe(time_ms now, const probe& pr) {
  health_ = std::min(health_ + 1, p_.max_health);
  auto it = members_.find(pr.target);
  if (it == members_.end()) return;
  auto& m = it->second;
  if (m.state.status == member_status::suspect && m.suspect) {
    // Our own probe of a suspect failed too: an independent confirmation, for others too.
    if (m.suspect->confirmers.insert(self_.node_id).second) {
      m.state.accuser = self_.node_id;
      broadcast(m.state);
    }
    return;
  }
  if (m.state.status != member_status::alive) return;
  auto next = m.state;
  next.status = member_status::suspect;
  next.accuser = self_.node_id;
  ++stats_.suspicions;
  change(now, it->second, next);
  it->second.suspect->confirmers.insert(self_.node_id);
}

// --- Receiving ------------------------------------------------------------------------------

void membership::on_ping(time_ms now, const gossip_ping& p) {
  if (p.updates.size() > p_.max_records || p.domains.size() > p_.max_records) {
    ++stats_.dropped;
    return;
  }
  merge(now, p.sender, p.updates, false);
  merge_domains(now, p.domains);
  if (gone(self_.status)) return;
  auto from = members_.find(p.sender);
  if (from == members_.end()) return;  // an unknown prober: we cannot address the answer
  send(from->second.state, gossip_ack{self_.node_id, p.sequence, piggyback(), piggyback_domains()});
}

void membership::on_ack(time_ms now, const gossip_ack& a) {
  if (a.updates.size() > p_.max_records || a.domains.size() > p_.max_records) {
    ++stats_.dropped;
    return;
  }
  merge(now, a.sender, a.updates, false);
  merge_domains(now, a.domains);
  if (auto r = relays_.find(a.sequence); r != relays_.end()) {
    // The target answered our relay ping: tell the requester, under its sequence.
    outbox_.push_back(outgoing{r->second.requester, r->second.requester_address,
                               gossip_ack{a.sender, r->second.sequence, {}, {}}});
    relays_.erase(r);
    return;
  }
  if (auto pr = probes_.find(a.sequence); pr != probes_.end() && pr->second.target == a.sender) {
    ++stats_.acks;
    if (health_ > 0) --health_;
    probes_.erase(pr);
  }
}

void membership::on_ping_req(time_ms now, const gossip_ping_req& r) {
  if (gone(self_.status) || r.target.node_id == self_.node_id) return;
  auto from = members_.find(r.sender);
  if (from == members_.end()) return;
  auto target = r.target;
  if (auto known = members_.find(target.node_id); known != members_.end())
    target.address = known->second.state.address;  // our own view of where it lives
  if (!is_reachable(target)) return;
  auto seq = ++sequence_;
  relays_[seq] = relay{r.sender, from->second.state.address, r.sequence, now};
  send(target, gossip_ping{self_.node_id, seq, piggyback(), piggyback_domains()});
}

void membership::on_digest(time_ms now, const membership_digest& d) {
  if (d.members.size() > p_.max_records || d.domains.size() > p_.max_records) {
    ++stats_.dropped;
    return;
  }
  merge(now, d.sender, d.members, true);
  merge_domains(now, d.domains);
}

bool membership::admit(time_ms now, const std::string& from, size_t n) {
  if (n == 0 || p_.updates_per_s <= 0) return true;
  auto& b = buckets_[from];
  auto burst = std::max(p_.updates_per_s * 2, static_cast<double>(p_.max_piggyback) * 4);
  if (b.at == 0) b.tokens = burst;
  b.tokens =
      std::min(burst, b.tokens + p_.updates_per_s * static_cast<double>(now - b.at) / 1000.0);
  b.at = now;
  if (b.tokens < static_cast<double>(n)) {
    stats_.rate_limited += n;
    return false;
  }
  b.tokens -= static_cast<double>(n);
  return true;
}

void membership::merge(time_ms now, const std::string& from, const std::vector<member_state>& ups,
                       bool from_digest) {
  // Digests are whole views, paced by push_pull_ms; pings and acks carry a few changes each.
  if (!from_digest && !admit(now, from, ups.size())) return;
  for (auto& up : ups) apply(now, from, up);
}

void membership::apply(time_ms now, const std::string&, const member_state& up) {
  if (up.node_id.empty()) {
    ++stats_.dropped;
    return;
  }
  if (up.node_id == self_.node_id) {
    if (up.incarnation > self_.incarnation ||
        (up.incarnation == self_.incarnation && up.status != member_status::alive))
      refute(up.incarnation, up.status);
    return;
  }
  auto claimed = up;
  // Another member's "dead" is only a suspicion here: every member concludes a death by its
  // own suspicion timer, which the suspect can still refute. So a partitioned minority
  // that declared the majority dead, once healed, makes nobody dead: its claims are refuted.
  if (claimed.status == member_status::dead) claimed.status = member_status::suspect;
  auto it = members_.find(up.node_id);
  if (it == members_.end()) {
    member m;
    m.state = claimed;
    m.changed_at = now;
    auto& stored = members_.emplace(up.node_id, std::move(m)).first->second;
    if (claimed.status == member_status::suspect) {
      stored.suspect = suspicion{now, {}};
      if (!claimed.accuser.empty()) stored.suspect->confirmers.insert(claimed.accuser);
      suspects_.insert(up.node_id);
    }
    if (live(claimed))
      ++live_;
    else
      graves_.emplace(now + p_.dead_retention_ms, up.node_id);
    // Newly known: reported with `previous` equal to its status (a join, when alive).
    changes_.push_back(member_change{claimed, claimed.status, false});
    broadcast(claimed);
    if (live(claimed)) {
      // At a random place among those not probed yet this round (memberlist does the same):
      // appended in the order a digest lists them, every member would probe the newcomers
      // in the same order at the same time.
      order_.push_back(up.node_id);
      std::uniform_int_distribution<size_t> at(std::min(order_pos_, order_.size() - 1),
                                               order_.size() - 1);
      std::swap(order_.back(), order_[at(rng_)]);
    }
    return;
  }
  auto& m = it->second;
  auto& cur = m.state;
  bool newer = claimed.incarnation > cur.incarnation ||
               (claimed.incarnation == cur.incarnation && rank(claimed.status) > rank(cur.status));
  if (!newer) {
    // The same suspicion from another member: an independent confirmation (Lifeguard).
    if (claimed.status == member_status::suspect && cur.status == member_status::suspect &&
        claimed.incarnation == cur.incarnation && m.suspect && !claimed.accuser.empty()) {
      // Counted once per accuser (whose own probe failed), however many members relay it;
      // a new accuser is passed on for others to count too.
      if (m.suspect->confirmers.insert(claimed.accuser).second) {
        cur.accuser = claimed.accuser;
        broadcast(cur);
      }
    } else if (claimed != cur) {
      ++stats_.stale;
    }
    return;
  }
  change(now, m, claimed);
  if (m.suspect && !claimed.accuser.empty()) m.suspect->confirmers.insert(claimed.accuser);
}

void membership::change(time_ms now, member& m, member_state next) {
  auto previous = m.state.status;
  m.state = std::move(next);
  m.changed_at = now;
  if (m.state.status == member_status::suspect) {
    m.suspect = suspicion{now, {}};
    suspects_.insert(m.state.node_id);
  } else {
    m.suspect.reset();
    suspects_.erase(m.state.node_id);
  }
  if (gone(previous) != gone(m.state.status)) {
    if (gone(m.state.status)) {
      --live_;
      graves_.emplace(now + p_.dead_retention_ms, m.state.node_id);
    } else {
      ++live_;
    }
  }
  if (previous != m.state.status) changes_.push_back(member_change{m.state, previous, false});
  broadcast(m.state);
}

void membership::refute(uint64_t seen_incarnation, member_status claimed) {
  if (self_.status == member_status::left) return;
  self_.incarnation = std::max(self_.incarnation, seen_incarnation) + 1;
  self_.status = member_status::alive;
  if (claimed != member_status::alive) {
    ++stats_.refutations;
    health_ = std::min(health_ + 1, p_.max_health);  // others could not reach us: slow down
    auto mine = self_;
    mine.status = claimed;
    changes_.push_back(member_change{mine, claimed, true});
  }
  broadcast(self_);
}

void membership::merge_domains(time_ms, const std::vector<domain_advertisement>& ads) {
  for (auto& ad : ads) {
    if (ad.domain.empty() || ad.version == 0) {
      ++stats_.dropped;
      continue;
    }
    auto it = domains_.find(ad.domain);
    if (it != domains_.end() && it->second.version >= ad.version) {
      if (it->second.version < ad.version || it->second != ad) ++stats_.stale;
      continue;
    }
    if (verify_) {
      if (auto why = verify_(ad); !why.empty()) {
        ++stats_.untrusted;
        continue;
      }
    }
    domains_[ad.domain] = ad;
    new_domains_.push_back(ad);
    broadcast(ad);
  }
}

bool membership::advertise(time_ms now, const domain_advertisement& ad, std::string* why) {
  auto before = stats_.untrusted + stats_.dropped;
  auto known = domains_.find(ad.domain);
  if (known != domains_.end() && known->second.version >= ad.version) {
    if (why)
      *why = "an advertisement of domain " + ad.domain +
             " with version >= " + std::to_string(ad.version) + " is already known";
    return false;
  }
  merge_domains(now, {ad});
  if (stats_.untrusted + stats_.dropped != before) {
    if (why) *why = verify_ ? verify_(ad) : "no domain name or version 0";
    if (why && why->empty()) *why = "no domain name or version 0";
    return false;
  }
  return true;
}

void membership::leave(time_ms) {
  if (self_.status == member_status::left) return;
  self_.status = member_status::left;
  --live_;
  broadcast(self_);
  for (auto* peer : pick(p_.indirect_probes + 1, "", true))
    send(peer->state, gossip_ping{self_.node_id, ++sequence_, {self_}, {}});
}

void membership::set_domain(time_ms, const std::string& domain) {
  if (self_.domain == domain) return;
  self_.domain = domain;
  refute(self_.incarnation, member_status::alive);  // a new incarnation carries it
}

// --- Output and view --------------------------------------------------------------------------

std::vector<outgoing> membership::take_outbox() {
  return std::exchange(outbox_, {});
}

std::vector<member_change> membership::take_changes() {
  return std::exchange(changes_, {});
}

std::vector<domain_advertisement> membership::take_new_domains() {
  return std::exchange(new_domains_, {});
}

membership_digest membership::digest() const {
  membership_digest d;
  d.sender = self_.node_id;
  d.members.reserve(members_.size() + 1);
  d.members.push_back(self_);
  for (auto& [id, m] : members_) d.members.push_back(m.state);
  for (auto& [name, ad] : domains_) d.domains.push_back(ad);
  return d;
}

const member_state* membership::find(const std::string& id) const {
  if (id == self_.node_id) return &self_;
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second.state;
}

std::pair<time_ms, time_ms> membership::suspicion_bounds(size_t n) const {
  auto scale = std::max(1.0, std::log10(static_cast<double>(std::max<size_t>(n, 1))));
  auto min = static_cast<time_ms>(p_.suspicion_mult * scale * static_cast<double>(p_.interval_ms));
  return {min, static_cast<time_ms>(p_.suspicion_max_mult * static_cast<double>(min))};
}

time_ms membership::suspicion_timeout(const suspicion& s) const {
  auto [min, max] = suspicion_bounds(live_members());
  // Lifeguard: expect up to k independent confirmations; each one shortens the wait,
  // logarithmically, from max down to min.
  auto n = live_members();
  auto k = static_cast<double>(std::min<size_t>(p_.indirect_probes, n > 2 ? n - 2 : 0));
  if (k < 1) return min;
  // The first suspecter is not a confirmation; every other one is.
  auto c = static_cast<double>(s.confirmers.empty() ? 0 : s.confirmers.size() - 1);
  auto frac = std::log(c + 1) / std::log(k + 1);
  auto t = static_cast<double>(max) - (static_cast<double>(max - min)) * std::min(1.0, frac);
  return static_cast<time_ms>(std::max(static_cast<double>(min), t));
}

}  // namespace fusion::gossip
