// Remote actors that look local: rpc frames, the peer router and its proxies, between two
// nodes of one deterministic actor system joined by an in-memory link pair.

#include "link/peers.hpp"
#include "link/rpc.hpp"
#include "protocols/errc.hpp"
#include "protocols/names.hpp"
#include "protocols/orchestration_management.hpp"
#include "protocols/registry.hpp"
#include "protocols/zone_management.hpp"
#include "protocols/zone_orchestration.hpp"
#include "runtime/config.hpp"
#include "tests/support/det_fixture.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

#include <doctest/doctest.h>

using namespace fusion;
using namespace fusion::protocols;
using namespace fusion::link;

namespace {

using fake_peer_atom = caf::atom_constant<caf::atom("fk_peer")>;
using fake_wire_atom = caf::atom_constant<caf::atom("fk_wire")>;
using fake_cut_atom = caf::atom_constant<caf::atom("fk_cut")>;
using fake_congest_atom = caf::atom_constant<caf::atom("fk_congest")>;

struct fake_link_state {
  fake_link_state() = default;
  caf::actor owner;
  caf::actor other;  // the other end
  std::vector<link_bytes> sent;
  bool congested = false;  // refuses what it is asked to send, as a full link does
  static inline const char* name = "fake_link";
};

// One end of an in-memory link, speaking link_protocol.hpp to its owner: what the owner
// sends goes to the other end's owner, with the other end as sender.
caf::behavior fake_link(caf::stateful_actor<fake_link_state>* self, caf::actor owner) {
  self->state.owner = std::move(owner);
  auto down = [self](const std::string& why) {
    self->send(self->state.owner, link_down_atom::value, why);
    self->quit();
  };
  return {
      [=](fake_peer_atom, caf::actor other, link_info info) {
        self->state.other = std::move(other);
        self->send(self->state.owner, link_up_atom::value, std::move(info));
      },
      [=](fake_congest_atom, bool on) { self->state.congested = on; },
      [=](link_send_atom, link_bytes& b) {
        if (self->state.congested) {
          self->send(caf::actor_cast<caf::actor>(self->current_sender()), link_refused_atom::value,
                     std::vector<link_bytes>{std::move(b)},
                     std::string{"link to node 'b' has 9 bytes waiting to be sent "
                                 "(link.max_send_buffer_bytes = 8): the peer reads too slowly"});
          return;
        }
        self->state.sent.push_back(b);
        self->send(self->state.other, fake_wire_atom::value, std::vector<link_bytes>{b});
      },
      [=](fake_wire_atom, std::vector<link_bytes>& bs) {
        self->send(self->state.owner, link_recv_atom::value, link_batch::of(bs));
      },
      [=](link_close_atom) {
        self->send(self->state.other, fake_cut_atom::value);
        down("closed");
      },
      [=](fake_cut_atom) { down("peer closed"); },
  };
}

// Node b's deployment function, as a peer would see it.
protocols::deployment_actor::behavior_type fake_deployment(
    protocols::deployment_actor::pointer self) {
  return {
      [=](deploy_service& req) -> caf::result<deploy_service_reply> {
        return make_error(errc::no_feasible_zone,
                          "no zone can host it for " + req.caller.name + " (" +
                              std::string{to_string(req.caller.kind)} + ")");
      },
      [=](stop_service_instances&) -> caf::result<status_reply> {
        return self->make_response_promise<status_reply>();  // never answers
      },
      [=](reconcile_instances& r) {
        instances_reconciled out;
        out.confirmed = 3;
        out.removed_ids.push_back(fusion_id{"asked for " + r.zone_name});
        return out;
      },
      [=](zone_instances_changed&) {
        return status_reply{status::ok, "recorded"};
      },
      [=](const zone_availability&) {},
  };
}

struct node {
  runtime::directory_ptr dir = std::make_shared<runtime::directory>();
  peer_table_ptr table;
  caf::actor router;
  caf::actor link;  // this node's end of the link
};

struct two_nodes : test::det_fixture {
  node a;
  node b;

  two_nodes() {
    for (auto* n : {&a, &b}) {
      n->table = std::make_shared<peer_table>(sys);
      peers_config cfg;
      cfg.request_timeout = caf::duration{std::chrono::milliseconds{500}};
      n->router = spawn_peers(sys, n->dir, n->table, cfg);
      n->link = sys.spawn(fake_link, n->router);
    }
    a.dir->set_node("a");
    b.dir->set_node("b");
    b.dir->put(names::deployment, caf::actor_cast<caf::actor>(sys.spawn(fake_deployment)));
    connect();
  }

  /// Joins the nodes; `a_as` is whom node b's trust configuration says a's key belongs to.
  void connect(link_info a_as = {"a", "node", "ka", "a:1", false, "kb"}) {
    self->send(a.link, fake_peer_atom::value, b.link,
               link_info{"b", "node", "kb", "b:1", true, "ka"});
    self->send(b.link, fake_peer_atom::value, a.link, std::move(a_as));
    run();
  }

  ~two_nodes() {
    for (auto* n : {&a, &b}) {
      stop_peers(n->dir, n->table);
      caf::anon_send_exit(n->link, caf::exit_reason::kill);
      for (const auto& name : n->dir->names())
        caf::anon_send_exit(n->dir->get(name), caf::exit_reason::kill);
      n->dir->clear();
    }
    run();
  }

  /// Closes the link and joins the nodes again, a's key now trusted as `a_as`.
  void reconnect_as(link_info a_as) {
    self->send(a.link, link_close_atom::value);
    run();
    a.link = sys.spawn(fake_link, a.router);
    b.link = sys.spawn(fake_link, b.router);
    connect(std::move(a_as));
  }

  /// A zone registry on node b that answers list_zones, as node a reaches it.
  zone_registry_actor fake_zone_registry() {
    b.dir->put(names::zone_registry, sys.spawn([]() -> caf::behavior {
      return {[](const list_zones&) { return zone_list{}; }};
    }));
    run();
    return caf::actor_cast<zone_registry_actor>(a.dir->resolve({"b", names::zone_registry}));
  }

  deployment_actor remote_deployment() {
    return caf::actor_cast<deployment_actor>(a.dir->resolve({"b", names::deployment}));
  }

  peers_stats stats(const node& n) {
    auto s = ask<peers_stats>(n.router, peers_stats_atom::value);
    REQUIRE(s);
    return *s;
  }
};

}  // namespace

TEST_CASE_FIXTURE(two_nodes,
                  "peers: a proxy answers typed requests like the actor on the other node") {
  auto dep = remote_deployment();
  REQUIRE(dep);
  auto r = ask<instances_reconciled>(dep, reconcile_instances{"z"});
  REQUIRE_MESSAGE(r, describe(r.error()));
  CHECK(r->confirmed == 3);
  REQUIRE(r->removed_ids.size() == 1);
  CHECK(r->removed_ids[0].value == "asked for z");
  // One proxy per node and actor, made once.
  CHECK(a.dir->resolve({"b", names::deployment}) == caf::actor_cast<caf::actor>(dep));
  CHECK(stats(b).requests_served == 1);
  CHECK(stats(a).replies_routed == 1);
}

TEST_CASE_FIXTURE(two_nodes, "peers: a remote error arrives as the same error with its reason") {
  deploy_service req;
  req.caller = principal{"ops", role::domain_admin};  // a node speaks for its principals
  auto r = ask<deploy_service_reply>(remote_deployment(), req);
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::no_feasible_zone));
  CHECK(reason_of(r.error()) == "no zone can host it for ops (domain_admin)");
}

TEST_CASE_FIXTURE(two_nodes, "peers: a key that is not a node's acts only as its own principal") {
  reconnect_as(link_info{"acme", "service_provider", "ka", "a:1", false, "kb"});
  deploy_service req;
  req.caller = principal{"root", role::domain_admin};  // claims more than its key may
  auto r = ask<deploy_service_reply>(remote_deployment(), req);
  REQUIRE_FALSE(r);
  CHECK(reason_of(r.error()) == "no zone can host it for acme (service_provider)");
  // A request that names no caller needs a node's key.
  auto rec = ask<instances_reconciled>(remote_deployment(), reconcile_instances{});
  REQUIRE_FALSE(rec);
  CHECK(is(rec.error(), errc::not_authorized));
  CHECK(reason_of(rec.error()).find("principal 'acme' (service_provider)") != std::string::npos);
}

TEST_CASE_FIXTURE(two_nodes,
                  "peers: a domain admin's key may also read without a caller, and "
                  "only read") {
  reconnect_as(link_info{"ops", "domain_admin", "ka", "a:1", false, "kb"});
  auto registry = fake_zone_registry();
  REQUIRE(registry);
  auto zones = ask<zone_list>(registry, list_zones{});
  REQUIRE_MESSAGE(zones, describe(zones.error()));
  // A request without a caller that changes state still needs a node's key.
  auto rec = ask<instances_reconciled>(remote_deployment(), reconcile_instances{});
  REQUIRE_FALSE(rec);
  CHECK(is(rec.error(), errc::not_authorized));
  CHECK(reason_of(rec.error()).find("principal 'ops' (domain_admin)") != std::string::npos);
}

TEST_CASE_FIXTURE(two_nodes, "peers: a provider's key may not read without a caller") {
  reconnect_as(link_info{"acme", "service_provider", "ka", "a:1", false, "kb"});
  auto registry = fake_zone_registry();
  REQUIRE(registry);
  auto zones = ask<zone_list>(registry, list_zones{});
  REQUIRE_FALSE(zones);
  CHECK(is(zones.error(), errc::not_authorized));
}

TEST_CASE_FIXTURE(two_nodes,
                  "peers: locators of this node resolve here, unknown nodes to nothing") {
  auto local = b.dir->resolve({"b", names::deployment});
  CHECK(local == b.dir->get(names::deployment));
  CHECK(b.dir->resolve({"", names::deployment}) == local);
  CHECK_FALSE(a.dir->resolve({"c", names::deployment}));
  CHECK(b.dir->here("x").node == "b");
}

TEST_CASE_FIXTURE(two_nodes, "peers: an actor the peer does not have is unknown_actor") {
  auto h = caf::actor_cast<deployment_actor>(a.dir->resolve({"b", "domain/nobody"}));
  REQUIRE(h);
  auto r = ask<instances_reconciled>(h, reconcile_instances{});
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::unknown_actor));
  CHECK(reason_of(r.error()).find("domain/nobody") != std::string::npos);
  CHECK(stats(b).rejected == 1);
}

TEST_CASE_FIXTURE(two_nodes, "peers: a silent target is answered with the peer's timeout") {
  auto rh = self->request(remote_deployment(), caf::infinite, stop_service_instances{});
  run();
  CHECK(self->mailbox().empty());
  advance(std::chrono::milliseconds{500});  // node b's request_timeout
  caf::error got;
  rh.receive([](status_reply&) { FAIL("a silent target answered"); },
             [&](caf::error& e) { got = std::move(e); });
  CHECK(got == caf::sec::request_timeout);
}

TEST_CASE_FIXTURE(two_nodes, "peers: losing the link fails pending requests and ends the proxy") {
  auto dep = remote_deployment();
  REQUIRE(dep);
  self->monitor(dep);
  auto rh = self->request(dep, caf::infinite, stop_service_instances{});
  run();
  self->send(a.link, link_close_atom::value);  // the link closes while the request waits
  run();
  caf::error got;
  rh.receive([](status_reply&) { FAIL("answered over a closed link"); },
             [&](caf::error& e) { got = std::move(e); });
  CHECK(is(got, errc::peer_unreachable));
  CHECK(reason_of(got).find("node 'b'") != std::string::npos);
  bool down = false;
  self->receive(
      [&](caf::down_msg& dm) { down = dm.reason == caf::exit_reason::remote_link_unreachable; },
      caf::after(std::chrono::seconds{0}) >> [] {});
  CHECK(down);
  // Until a new link is up, node b's locators resolve to nothing.
  CHECK_FALSE(a.dir->resolve({"b", names::deployment}));
  CHECK(stats(a).links_down == 1);
  CHECK(stats(b).links_down == 1);
  // A new link serves again, with a new proxy.
  a.link = sys.spawn(fake_link, a.router);
  b.link = sys.spawn(fake_link, b.router);
  connect();
  auto again = remote_deployment();
  REQUIRE(again);
  CHECK(again != dep);
  CHECK(ask<instances_reconciled>(again, reconcile_instances{}));
}

TEST_CASE_FIXTURE(two_nodes, "peers: a message no interface accepts is refused by the proxy") {
  auto proxy = a.dir->resolve({"b", names::deployment});
  auto r = ask<std::string>(proxy, std::string{"hello"});
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::invalid_argument));
  r = ask<std::string>(proxy, instances_reconciled{});  // a reply, not a request
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::invalid_argument));
  CHECK(stats(b).requests_served == 0);
}

TEST_CASE_FIXTURE(two_nodes,
                  "peers: bad messages from a peer are refused and counted, and the "
                  "link keeps serving") {
  auto inject = [&](link_bytes bytes) {
    self->send(b.link, fake_wire_atom::value, std::vector<link_bytes>{std::move(bytes)});
    run();
  };
  inject({'\xc1'});                                                       // not msgpack
  inject(encode_rpc(rpc_frame{rpc_kind::reply, 999, {}, {'\x90'}, {}}));  // never asked
  rpc_frame reply_as_request;  // a reply type sent as a request
  reply_as_request.rid = 5;
  reply_as_request.target = names::deployment;
  reply_as_request.envelope =
      *message_registry::instance().encode(caf::make_message(instances_reconciled{}));
  inject(encode_rpc(reply_as_request));
  rpc_frame bad_envelope = reply_as_request;
  bad_envelope.envelope = {'\x93', '\x01'};  // truncated envelope
  inject(encode_rpc(bad_envelope));
  CHECK(stats(b).rejected == 4);
  // The two requests with a request id were answered with an error; the link still serves.
  auto r = ask<instances_reconciled>(remote_deployment(), reconcile_instances{});
  CHECK(r);
}

TEST_CASE_FIXTURE(two_nodes,
                  "peers: a request a congested link refuses fails at once with the link's "
                  "reason; a refused tell is dropped and counted") {
  self->send(a.link, fake_congest_atom::value, true);
  run();
  auto r = ask<instances_reconciled>(remote_deployment(), reconcile_instances{});
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::peer_unreachable));
  CHECK(reason_of(r.error()) ==
        "link to node 'b' has 9 bytes waiting to be sent (link.max_send_buffer_bytes = 8): the "
        "peer reads too slowly");
  self->send(a.dir->resolve({"b", "zone/z"}), release_offers{});  // one-way
  run();
  auto s = stats(a);
  CHECK(s.send_refused == 2);
  CHECK(s.links_down == 0);  // the link stays up: the caller decides when to retry
  self->send(a.link, fake_congest_atom::value, false);
  run();
  CHECK(ask<instances_reconciled>(remote_deployment(), reconcile_instances{}));
}

TEST_CASE("peers: a defaulted peers_config uses the [link] table's defaults") {
  peers_config pc;
  auto lc = runtime::default_config().link;
  CHECK(pc.reconnect_max.count() == lc.reconnect_max_ms);
  CHECK(pc.dial_deadline.count() == lc.dial_timeout_ms + lc.handshake_timeout_ms);
}

TEST_CASE("rpc: frames round-trip and malformed ones are refused with what is wrong") {
  rpc_frame req{rpc_kind::request, 7, "zone/x", {'\x01', '\x02'}, {}};
  auto back = decode_rpc(encode_rpc(req));
  REQUIRE(back);
  CHECK(back->kind == rpc_kind::request);
  CHECK(back->rid == 7);
  CHECK(back->target == "zone/x");
  CHECK(back->envelope == req.envelope);
  rpc_frame fail{rpc_kind::failure, 8, {}, {}, make_error(errc::unknown_zone, "no zone 'q'")};
  back = decode_rpc(encode_rpc(fail));
  REQUIRE(back);
  CHECK(is(back->error, errc::unknown_zone));
  CHECK(reason_of(back->error) == "no zone 'q'");
  for (auto bad : std::vector<link_bytes>{
           {},                                                     // empty
           {'\x92', '\x01', '\x01'},                               // too short
           {'\x94', '\x09', '\x01', '\xa1', 'x', '\xc4', '\x00'},  // kind 9
           {'\x94', '\x01', '\x01', '\xa0', '\xc4', '\x00'},       // empty target
           {'\x93', '\x02', '\x01', '\xa1', 'x'},                  // reply without a bin envelope
           {'\x95', '\x03', '\x01', '\x00', '\xa1', 'x', '\xa0'},  // failure with code 0
       }) {
    auto r = decode_rpc(bad);
    CHECK_FALSE(r);
    if (!r) CHECK(is(r.error(), errc::malformed_frame));
  }
}

TEST_CASE("rpc: every request an interface accepts has one reply type, a registered message") {
  const auto& reg = message_registry::instance();
  size_t requests = 0;
  for (const auto& e : reg.entries()) {
    const auto* rpc = find_rpc(e.meta.type_id);
    if (!rpc) continue;
    ++requests;
    CAPTURE(e.meta.name);
    CHECK(static_cast<bool>(rpc->forward));
    if (rpc->reply_type != 0) CHECK(reg.find(rpc->reply_type) != nullptr);
  }
  CHECK(requests > 20);
  CHECK(find_rpc(zone_evaluate::meta.type_id)->reply_type == zone_offer::meta.type_id);
  CHECK(find_rpc(release_offers::meta.type_id)->reply_type == 0);  // one-way
  CHECK(find_rpc(zone_offer::meta.type_id) == nullptr);            // a reply
}

namespace {

enum class dial_outcome { refused, silent, connects };

// Node a dials node b through a scripted dial function: refused (the dialer reports it),
// silent (nothing ever happens) or connects (a fake link pair comes up).
struct dialling : test::det_fixture {
  node a;
  node b;
  dial_outcome outcome = dial_outcome::refused;
  int attempts = 0;

  dialling() {
    b.table = std::make_shared<peer_table>(sys);
    b.router = spawn_peers(sys, b.dir, b.table);
    b.dir->set_node("b");
    b.dir->put(names::deployment, caf::actor_cast<caf::actor>(sys.spawn(fake_deployment)));
    peers_config cfg;
    cfg.dial_peers = {"b"};
    cfg.reconnect_max = std::chrono::milliseconds{400};
    cfg.dial_deadline = std::chrono::milliseconds{1000};
    cfg.dial = [this](caf::actor owner, const std::string&) {
      ++attempts;
      auto dialer = sys.spawn([](caf::event_based_actor*) { return caf::behavior{}; });
      if (outcome == dial_outcome::refused) {
        caf::send_as(dialer, owner, link_down_atom::value, std::string{"connection refused"});
      } else if (outcome == dial_outcome::connects) {
        a.link = sys.spawn(fake_link, owner);
        b.link = sys.spawn(fake_link, b.router);
        caf::anon_send(a.link, fake_peer_atom::value, b.link,
                       link_info{"b", "node", "kb", "b:1", true, "ka"});
        caf::anon_send(b.link, fake_peer_atom::value, a.link,
                       link_info{"a", "node", "ka", "a:1", false, "kb"});
      }
      return dialer;
    };
    a.table = std::make_shared<peer_table>(sys);
    a.dir->set_node("a");
    a.router = spawn_peers(sys, a.dir, a.table, cfg);
    run();
  }

  ~dialling() {
    for (auto* n : {&a, &b}) {
      stop_peers(n->dir, n->table);
      if (n->link) caf::anon_send_exit(n->link, caf::exit_reason::kill);
      for (const auto& name : n->dir->names())
        caf::anon_send_exit(n->dir->get(name), caf::exit_reason::kill);
      n->dir->clear();
    }
    run();
  }

  bool linked() { return static_cast<bool>(a.dir->resolve({"b", names::deployment})); }

  deployment_actor remote_deployment_of(node& n) {
    return caf::actor_cast<deployment_actor>(n.dir->resolve({"b", names::deployment}));
  }
};

}  // namespace

TEST_CASE_FIXTURE(dialling,
                  "peers: a peer that cannot be reached is dialled again with "
                  "growing waits, and a lost link is dialled again at once") {
  using std::chrono::milliseconds;
  CHECK(attempts == 1);
  advance(milliseconds{100});  // first wait: 100 ms
  CHECK(attempts == 2);
  advance(milliseconds{100});  // second wait: 200 ms
  CHECK(attempts == 2);
  advance(milliseconds{100});
  CHECK(attempts == 3);
  advance(milliseconds{400});  // third wait: 400 ms, the cap
  CHECK(attempts == 4);
  outcome = dial_outcome::connects;
  advance(milliseconds{400});
  CHECK(attempts == 5);
  REQUIRE(linked());
  CHECK(ask<instances_reconciled>(remote_deployment_of(a), reconcile_instances{}));
  // The peer closes: after the first wait (reset to 100 ms) a new link is up.
  self->send(b.link, link_close_atom::value);
  run();
  CHECK_FALSE(linked());
  advance(milliseconds{100});
  CHECK(attempts == 6);
  CHECK(linked());
  auto s = ask<peers_stats>(a.router, peers_stats_atom::value);
  REQUIRE(s);
  CHECK(s->dials == 6);
  CHECK(s->dial_failures == 4);
  CHECK(s->links_up == 2);
}

TEST_CASE_FIXTURE(dialling, "peers: a dial that never answers fails at the dial deadline") {
  using std::chrono::milliseconds;
  outcome = dial_outcome::silent;
  advance(milliseconds{100});  // the refused first dial is retried: silent now
  CHECK(attempts == 2);
  advance(milliseconds{999});
  CHECK(attempts == 2);
  advance(milliseconds{1});  // its deadline: counted as failed, next try after 200 ms
  advance(milliseconds{200});
  CHECK(attempts == 3);
  auto s = ask<peers_stats>(a.router, peers_stats_atom::value);
  REQUIRE(s);
  CHECK(s->dial_failures == 2);
}

namespace {

// Both nodes list each other with an address and dial at once: two links come up, pair x
// (a dialled) and pair y (b dialled). a's key sorts lower, so both keep x.
struct both_dial : test::det_fixture {
  node a;
  node b;
  caf::actor ax, bx, ay, by;  // a's and b's ends of the two links

  both_dial() {
    for (auto* n : {&a, &b}) {
      n->table = std::make_shared<peer_table>(sys);
      n->router = spawn_peers(sys, n->dir, n->table);
    }
    a.dir->set_node("a");
    b.dir->set_node("b");
    b.dir->put(names::deployment, caf::actor_cast<caf::actor>(sys.spawn(fake_deployment)));
    ax = sys.spawn(fake_link, a.router);
    bx = sys.spawn(fake_link, b.router);
    ay = sys.spawn(fake_link, a.router);
    by = sys.spawn(fake_link, b.router);
  }

  ~both_dial() {
    for (auto* n : {&a, &b}) {
      stop_peers(n->dir, n->table);
      for (const auto& name : n->dir->names())
        caf::anon_send_exit(n->dir->get(name), caf::exit_reason::kill);
      n->dir->clear();
    }
    for (auto& l : {ax, bx, ay, by}) caf::anon_send_exit(l, caf::exit_reason::kill);
    run();
  }

  // Brings up one end of a link: its owner hears link_up (once the test runs).
  void up(const caf::actor& end, const caf::actor& other, link_info info) {
    self->send(end, fake_peer_atom::value, other, std::move(info));
  }
  void up_ax() { up(ax, bx, link_info{"b", "node", "kb", "b:1", true, "ka"}); }
  void up_bx() { up(bx, ax, link_info{"a", "node", "ka", "a:1", false, "kb"}); }
  void up_ay() { up(ay, by, link_info{"b", "node", "kb", "b:1", false, "ka"}); }
  void up_by() { up(by, ay, link_info{"a", "node", "ka", "a:1", true, "kb"}); }

  void check_x_serves() {
    CHECK(a.table->link_of("b") == ax);
    CHECK(b.table->link_of("a") == bx);
    auto dep = caf::actor_cast<deployment_actor>(a.dir->resolve({"b", names::deployment}));
    REQUIRE(dep);
    CHECK(ask<instances_reconciled>(dep, reconcile_instances{}));
    for (auto* n : {&a, &b}) {
      auto s = ask<peers_stats>(n->router, peers_stats_atom::value);
      REQUIRE(s);
      CHECK(s->duplicate_links == 1);
    }
  }
};

}  // namespace

TEST_CASE_FIXTURE(both_dial,
                  "peers: when both nodes dial each other, both keep the link dialled by the "
                  "node whose key sorts lower, whichever came up first") {
  // Both routers hear both link_ups before either closes a link.
  SUBCASE("a sees y first, b sees x first") {
    up_ay();
    up_bx();
    up_ax();
    up_by();
  }
  SUBCASE("a sees x first, b sees y first") {
    up_ax();
    up_by();
    up_ay();
    up_bx();
  }
  run();
  check_x_serves();
  // The closed link was no fault: a router that had it up counts it down, nothing else.
  auto sa = ask<peers_stats>(a.router, peers_stats_atom::value);
  REQUIRE(sa);
  CHECK(sa->rejected == 0);
}
