// Tests of the SWIM + Lifeguard membership state machine (actors/gossip/membership.hpp) over
// a deterministic simulated network (sim_network.hpp): joins through one seed, failure
// detection, no false deaths under loss and a slow member, partitions that heal, refutation,
// restarts, leaving, digests that only raise suspicion, and bounded, authenticated input.
// Default protocol params everywhere unless a test says otherwise; fixed seeds, and the
// scenarios that depend on luck run under several.

#include "actors/gossip/membership.hpp"
#include "actors/gossip/advertisement.hpp"
#include "protocols/registry.hpp"
#include "tests/unit/gossip/sim_network.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

using namespace fusion;
using gossip::membership;
using gossip::params;
using gossip::time_ms;
using gossip::test::net_params;
using gossip::test::sim_network;
using protocols::domain_advertisement;
using protocols::gossip_ping;
using protocols::member_state;
using protocols::member_status;
using protocols::membership_digest;

namespace {

std::string name(size_t i) {
  std::string s = std::to_string(i);
  return "m" + std::string(s.size() < 2 ? 2 - s.size() : 0, '0') + s;
}

/// A domain's signing key, an advertisement it signed, and the trust that accepts it.
struct signed_domain {
  link::identity key = std::move(*link::identity::generate());
  gossip::domain_trust trust;
  domain_advertisement ad;

  explicit signed_domain(const std::string& domain = "eu", uint64_t version = 1) {
    trust.allow(domain, key.public_key_text());
    ad = make(domain, version);
  }

  domain_advertisement make(const std::string& domain, uint64_t version) const {
    domain_advertisement a;
    a.domain = domain;
    a.zone_registry = {"domain-node:7000", "zone_registry"};
    a.registrar = {"domain-node:7000", "registrar"};
    a.node_id = "m00";
    a.version = version;
    gossip::sign(a, key);
    return a;
  }

  gossip::ad_verifier verifier() const {
    return [t = trust](const domain_advertisement& a) { return gossip::verify(a, t); };
  }
};

/// Runs in steps of `step` until every running member sees every other alive at its current
/// incarnation and `also()` holds, at most until `limit`; the time it took, or nullopt.
template <class Also>
std::optional<time_ms> run_until_converged(sim_network& net, time_ms limit, Also also,
                                           time_ms step = 50) {
  auto from = net.now();
  while (net.now() < limit) {
    net.run_for(step);
    if (net.view_problems(1).empty() && also()) return net.now() - from;
  }
  return std::nullopt;
}

std::optional<time_ms> run_until_converged(sim_network& net, time_ms limit) {
  return run_until_converged(net, limit, [] { return true; });
}

/// `n` members m00..m(n-1), each joining m00 (a staggered 20 ms apart), run until they
/// agree (REQUIREd within 10 s) and then for `settle` more so that the join news is spent.
sim_network converged_cluster(size_t n, net_params np = {}, params p = {},
                              time_ms settle = 10'000) {
  sim_network net{p, np};
  for (size_t i = 0; i < n; ++i) net.add(name(i));
  for (sim_network::index i = 1; i < n; ++i) {
    net.run_for(20);
    net.join(i, 0);
  }
  auto took = run_until_converged(net, net.now() + 10'000);
  INFO(net.view_problems());
  REQUIRE(took.has_value());
  net.run_for(settle);
  REQUIRE(net.view_problems() == "");
  return net;
}

std::string describe(const std::vector<sim_network::change_record>& rs, const sim_network& net) {
  std::string out;
  for (auto& r : rs)
    out += net.id(r.observer) + " saw " + net.id(r.subject) + " " +
           sim_network::status_name(r.status) + " at " + std::to_string(r.at) + "ms; ";
  return out;
}

member_state state(const std::string& id, uint64_t incarnation = 0,
                   member_status status = member_status::alive) {
  member_state s;
  s.node_id = id;
  s.incarnation = incarnation;
  s.status = status;
  s.address = id + ":7946";
  return s;
}

}  // namespace

TEST_CASE("gossip sim: byte counts are the exact msgpack envelope sizes") {
  signed_domain dom;
  member_state long_one = state(std::string(40, 'x'), 1'000'000'000'000ull);
  long_one.zones = {"zone-a", std::string(300, 'z')};
  long_one.domain = "eu";
  std::vector<member_state> many;
  for (size_t i = 0; i < 20; ++i) many.push_back(state(name(i), i * 100));
  gossip_ping ping{"m01", 70'000, many, {dom.ad}};
  protocols::gossip_ack ack{"m02", 5, {long_one, state("m03", 0, member_status::dead)}, {}};
  protocols::gossip_ping_req req{"m01", 300, long_one};
  membership_digest digest{"m04", many, {dom.ad, dom.make("us", 1u << 20)}};
  auto encoded = [](const auto& x) {
    msgpack::sbuffer buf;
    protocols::encode(x, buf);
    return buf.size();
  };
  CHECK(gossip::test::wire_size(ping) == encoded(ping));
  CHECK(gossip::test::wire_size(ack) == encoded(ack));
  CHECK(gossip::test::wire_size(req) == encoded(req));
  CHECK(gossip::test::wire_size(digest) == encoded(digest));
  CHECK(gossip::test::wire_size(dom.ad) == encoded(dom.ad));
}

TEST_CASE("gossip sim: the same seed replays the same run") {
  auto run = [] {
    net_params np;
    np.seed = 7;
    np.loss = 0.05;
    auto net = converged_cluster(8, np, {}, 1'000);
    net.crash(3);
    net.run_for(5'000);
    return net.log();
  };
  auto a = run();
  auto b = run();
  CHECK(a.size() > 8 * 7);
  CHECK(a == b);
}

TEST_CASE(
    "membership: 20 zones that know only the domain member converge on 21 alive members "
    "and the domain's signed advertisement") {
  for (uint64_t seed : {1, 2, 3}) {
    CAPTURE(seed);
    signed_domain dom;
    net_params np;
    np.seed = seed;
    sim_network net{{}, np};
    auto domain = net.add("domain", 0, dom.verifier());
    std::string why;
    REQUIRE(net.at(domain).advertise(net.now(), dom.ad, &why));
    CHECK(why == "");
    for (size_t i = 1; i <= 20; ++i) {
      auto z = net.add("zone-" + name(i), 0, dom.verifier());
      net.run_for(10);
      net.join(z, domain);
    }
    auto everyone_has_ad = [&] {
      for (auto i : net.running()) {
        auto& ds = net.at(i).domains();
        auto it = ds.find("eu");
        if (it == ds.end() || it->second != dom.ad) return false;
      }
      return true;
    };
    auto took = run_until_converged(net, net.now() + 10'000, everyone_has_ad, 10);
    INFO(net.view_problems());
    REQUIRE(took.has_value());
    MESSAGE("seed " << seed << ": 21 members converged " << *took << " ms after the last join");
    for (auto i : net.running()) {
      CHECK(net.at(i).live_members() == 21);
      CHECK(net.at(i).stats().untrusted == 0);
    }
    // Each member reported the advertisement once.
    CHECK(net.domain_log().size() == 21);
  }
}

TEST_CASE(
    "membership: a crashed member is declared dead by every live member within 3 s, "
    "and no other member is") {
  time_ms worst = 0;
  for (uint64_t seed : {1, 2, 3, 4, 5, 6}) {
    CAPTURE(seed);
    net_params np;
    np.seed = seed;
    auto net = converged_cluster(21, np);
    auto victim = static_cast<sim_network::index>(seed * 3 % 21);
    auto t0 = net.now();
    net.crash(victim);
    net.run_for(6'000);
    auto seen = net.all_saw(victim, member_status::dead, t0);
    REQUIRE(seen.has_value());
    CHECK(*seen - t0 <= 3'000);
    worst = std::max(worst, *seen - t0);
    auto false_deaths = net.reports_about_running(member_status::dead);
    INFO(describe(false_deaths, net));
    CHECK(false_deaths.empty());
  }
  MESSAGE("detection of a crash among 21 members, worst of 6 seeds: " << worst << " ms");
}

TEST_CASE(
    "membership: with 1% loss and a slow member, no live member is declared dead over "
    "a simulated hour") {
  net_params np;
  np.seed = 11;
  auto net = converged_cluster(21, np);
  // 120 ms on everything it sends: its direct acks come ~125 ms after a ping, past the
  // 100 ms probe timeout, so its probers go indirect every time.
  const sim_network::index slow = 5;
  net.set_extra_delay(slow, 120);
  net.set_loss(0.01);
  auto t0 = net.now();
  net.run_for(3'600'000);
  auto false_deaths = net.reports_about_running(member_status::dead, t0);
  INFO(describe(false_deaths, net));
  CHECK(false_deaths.empty());
  uint64_t suspicions = 0, refutations = 0;
  for (auto i : net.running()) {
    suspicions += net.at(i).stats().suspicions;
    refutations += net.at(i).stats().refutations;
  }
  MESSAGE("an hour at 1% loss with a slow member: " << suspicions << " suspicions, " << refutations
                                                    << " refutations, "
                                                    << net.reports(slow, member_status::suspect, t0)
                                                    << " reports of the slow member as suspect");
  net.set_loss(0);
  net.run_for(10'000);
  CHECK(net.view_problems() == "");
}

TEST_CASE(
    "membership: after a 30 s partition of 7 from 14 heals, every member sees every "
    "other alive again within 30 s") {
  time_ms worst = 0;
  for (uint64_t seed : {1, 2, 3}) {
    CAPTURE(seed);
    net_params np;
    np.seed = seed;
    auto net = converged_cluster(21, np);
    for (sim_network::index i = 0; i < 7; ++i) net.set_group(i, 1);
    auto t0 = net.now();
    net.run_for(30'000);
    // Each side has declared the other dead meanwhile (the timeouts are far shorter), and
    // nobody a member of its own side.
    auto side = [](sim_network::index i) { return i < 7; };
    size_t across = 0, within = 0;
    for (auto& r : net.log())
      if (r.at >= t0 && r.status == member_status::dead)
        ++(side(r.observer) == side(r.subject) ? within : across);
    CHECK(across == 7 * 14 * 2);
    CHECK(within == 0);
    net.heal();
    auto took = run_until_converged(net, net.now() + 30'000);
    INFO(net.view_problems());
    REQUIRE(took.has_value());
    worst = std::max(worst, *took);
  }
  MESSAGE("a 7/14 partition healed in at most " << worst << " ms (3 seeds)");
}

TEST_CASE(
    "membership: a member told it is suspect refutes with a higher incarnation that "
    "every member then sees") {
  auto net = converged_cluster(21, {});
  const sim_network::index x = 3;
  auto inc = net.at(x).self().incarnation;
  auto before = net.log().size();
  net.call(x, [&](membership& m, time_ms now) {
    m.on_ping(now, gossip_ping{name(1), 1, {state(name(x), inc, member_status::suspect)}, {}});
  });
  CHECK(net.at(x).self().incarnation > inc);
  CHECK(net.at(x).self().status == member_status::alive);
  CHECK(net.at(x).stats().refutations == 1);
  // It reported the claim about itself.
  REQUIRE(net.log().size() == before + 1);
  auto& r = net.log().back();
  CHECK(r.self);
  CHECK(r.observer == x);
  CHECK(r.subject == x);
  CHECK(r.status == member_status::suspect);
  auto took = run_until_converged(net, net.now() + 5'000);
  INFO(net.view_problems());
  REQUIRE(took.has_value());
  for (auto i : net.running())
    if (i != x) CHECK(net.at(i).find(name(x))->incarnation == net.at(x).self().incarnation);
  CHECK(net.reports(x, member_status::dead) == 0);
}

TEST_CASE(
    "membership: a restarted member with a higher incarnation is seen alive again by "
    "all") {
  auto net = converged_cluster(21, {});
  const sim_network::index x = 9;
  auto t0 = net.now();
  net.crash(x);
  net.run_for(5'000);
  REQUIRE(net.all_saw(x, member_status::dead, t0).has_value());
  auto life = net.now();  // the restart time, in ms: grows across restarts
  net.restart(x, life);
  net.join(x, 0);
  auto took = run_until_converged(net, net.now() + 20'000);
  INFO(net.view_problems());
  REQUIRE(took.has_value());
  MESSAGE("a restarted member was seen alive by all " << *took << " ms after it joined");
  for (auto i : net.running()) {
    CHECK(net.at(i).find(name(x))->incarnation == life);
    CHECK(net.at(i).live_members() == 21);
  }
}

TEST_CASE("membership: a member that leaves is seen as left by all, never dead") {
  for (uint64_t seed : {1, 2, 3}) {
    CAPTURE(seed);
    net_params np;
    np.seed = seed;
    auto net = converged_cluster(21, np);
    const sim_network::index x = 12;
    auto t0 = net.now();
    net.leave(x);
    net.run_for(2'000);
    net.crash(x);  // then it shuts down
    net.run_for(30'000);
    auto left = net.all_saw(x, member_status::left, t0);
    REQUIRE(left.has_value());
    CHECK(*left - t0 <= 2'000);
    CHECK(net.reports(x, member_status::dead, t0) == 0);
    for (auto i : net.running()) {
      CHECK(net.at(i).find(name(x))->status == member_status::left);
      CHECK(net.at(i).live_members() == 20);
    }
    CHECK(net.reports_about_running(member_status::dead).empty());
  }
}

TEST_CASE(
    "membership: a death in a digest makes the receiver suspect the member, which "
    "refutes it") {
  auto net = converged_cluster(21, {});
  const sim_network::index receiver = 2, x = 7;
  auto inc = net.at(x).self().incarnation;
  auto t0 = net.now();
  // m01's view (a stale one, say) says x is dead.
  auto d = net.at(1).digest();
  for (auto& s : d.members)
    if (s.node_id == name(x)) s.status = member_status::dead;
  net.call(receiver, [&](membership& m, time_ms now) { m.on_digest(now, d); });
  CHECK(net.at(receiver).find(name(x))->status == member_status::suspect);
  CHECK(net.reports(x, member_status::suspect, t0) == 1);
  auto took = run_until_converged(net, net.now() + 10'000);
  INFO(net.view_problems());
  REQUIRE(took.has_value());
  CHECK(net.at(x).self().incarnation > inc);
  CHECK(net.at(x).stats().refutations >= 1);
  CHECK(net.reports(x, member_status::dead, t0) == 0);
  CHECK(net.reports_about_running(member_status::dead).empty());
}

TEST_CASE("membership: a ping with more than max_records updates is dropped and counted") {
  params p;
  p.max_records = 10;
  membership m{state("me"), p, 1};
  std::vector<member_state> ups;
  for (size_t i = 0; i < 11; ++i) ups.push_back(state(name(i)));
  m.on_ping(1'000, gossip_ping{"m00", 1, ups, {}});
  CHECK(m.stats().dropped == 1);
  CHECK(m.known_members() == 1);
  CHECK(m.take_outbox().empty());  // not even acked
  ups.pop_back();
  m.on_ping(1'000, gossip_ping{"m00", 2, ups, {}});
  CHECK(m.stats().dropped == 1);
  CHECK(m.known_members() == 11);
}

TEST_CASE(
    "membership: a sender flooding updates beyond updates_per_s is rate-limited and its "
    "excess records are not applied") {
  params p;  // 200 updates/s: a burst of 400
  membership m{state("me"), p, 1};
  size_t next = 0;
  auto batch = [&] {
    std::vector<member_state> ups;
    for (size_t i = 0; i < 50; ++i) ups.push_back(state("fake-" + std::to_string(next++)));
    return ups;
  };
  for (uint64_t seq = 1; seq <= 20; ++seq)
    m.on_ping(1'000, gossip_ping{"flooder", seq, batch(), {}});
  CHECK(m.stats().rate_limited == 12 * 50);
  CHECK(m.known_members() == 1 + 8 * 50);
  CHECK(m.find("fake-399") != nullptr);
  CHECK(m.find("fake-400") == nullptr);
  CHECK(m.find("fake-999") == nullptr);
  // The bucket refills at updates_per_s: 1 s later, 200 more are taken.
  m.on_ping(2'000, gossip_ping{"flooder", 21, batch(), {}});
  CHECK(m.find("fake-1049") != nullptr);
  // Another sender has its own budget.
  m.on_ping(2'000, gossip_ping{"other", 1, {state("fake-x")}, {}});
  CHECK(m.find("fake-x") != nullptr);
}

TEST_CASE(
    "membership: unsigned, untrusted and tampered advertisements are refused and "
    "counted") {
  signed_domain dom;
  signed_domain stranger;  // a key nobody trusts
  membership m{state("me"), {}, 1, dom.verifier()};
  auto unsigned_ad = dom.ad;
  unsigned_ad.signature.clear();
  auto untrusted = stranger.make("eu", 1);
  auto tampered = dom.ad;
  tampered.zone_registry.node = "attacker:7000";
  m.on_ping(1'000, gossip_ping{"m01", 1, {}, {unsigned_ad, untrusted}});
  std::string why;
  CHECK_FALSE(m.advertise(1'000, tampered, &why));
  CHECK(why.find("signature does not match") != std::string::npos);
  CHECK(m.stats().untrusted == 3);
  CHECK(m.domains().empty());
  CHECK(m.take_new_domains().empty());
  // The genuine one is accepted.
  m.on_ping(1'000, gossip_ping{"m01", 2, {}, {dom.ad}});
  REQUIRE(m.domains().count("eu") == 1);
  CHECK(m.domains().at("eu") == dom.ad);
}

TEST_CASE("membership: an advertisement with version 0 or no domain is dropped") {
  signed_domain dom;
  membership m{state("me"), {}, 1, dom.verifier()};
  auto v0 = dom.make("eu", 0);
  auto nameless = dom.make("", 1);
  m.on_ping(1'000, gossip_ping{"m01", 1, {}, {v0, nameless}});
  CHECK(m.stats().dropped == 2);
  CHECK(m.stats().untrusted == 0);
  CHECK(m.domains().empty());
  std::string why;
  CHECK_FALSE(m.advertise(1'000, v0, &why));
  CHECK(why != "");
}

TEST_CASE("membership: a newer version of a trusted advertisement replaces the older one") {
  signed_domain dom;
  membership m{state("me"), {}, 1, dom.verifier()};
  auto v2 = dom.make("eu", 2);
  m.on_ping(1'000, gossip_ping{"m01", 1, {}, {dom.ad}});
  m.on_ping(1'100, gossip_ping{"m01", 2, {}, {v2}});
  REQUIRE(m.domains().count("eu") == 1);
  CHECK(m.domains().at("eu").version == 2);
  // An older one arriving late changes nothing.
  m.on_ping(1'200, gossip_ping{"m01", 3, {}, {dom.ad}});
  CHECK(m.domains().at("eu").version == 2);
  auto news = m.take_new_domains();
  REQUIRE(news.size() == 2);
  CHECK(news[0].version == 1);
  CHECK(news[1].version == 2);
  CHECK(m.stats().untrusted == 0);
}
