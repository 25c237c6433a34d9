// The link broker, listener and dialer. Deterministic: each simulated node is an actor
// system on CAF's test coordinator (actors, clock) and test multiplexer (brokers, scripted
// connections); time moves only when a test advances it. Two nodes are wired with
// prepare_connection; a scripted raw peer (a real handshake and session, driven by hand)
// feeds bytes with virtual_send and reads output_buffer. One test runs over real loopback
// sockets with deadlines on every wait.

#include "link/link_broker.hpp"
#include "link/frames.hpp"
#include "link/handshake.hpp"
#include "link/link_context.hpp"
#include "link/link_dialer.hpp"
#include "link/link_listener.hpp"
#include "link/link_protocol.hpp"
#include "runtime/config.hpp"
#include "tests/unit/link/link_test.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/test_multiplexer.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>

#include <doctest/doctest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

using namespace fusion::link;
using namespace std::chrono_literals;
using fusion::link::test::make_identity;
namespace io = caf::io;

namespace {

using wire_bytes = std::vector<char>;  // CAF's buffers

link_bytes text(const std::string& s) {
  return link_bytes(s.begin(), s.end());
}

std::string str(const link_bytes& b) {
  return std::string(b.begin(), b.end());
}

wire_bytes to_wire(const bytes& b) {
  return wire_bytes(b.begin(), b.end());
}

byte_span span_of(const wire_bytes& b) {
  return byte_span{reinterpret_cast<const unsigned char*>(b.data()), b.size()};
}

// ---------------------------------------------------------------- one simulated node

struct sim_node {
  static caf::actor_system_config& init(caf::actor_system_config& cfg) {
    cfg.load<io::middleman>();
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("middleman.network-backend", caf::atom("testing"));
    cfg.set("middleman.manual-multiplexing", true);
    cfg.set("middleman.workers", size_t{0});
    cfg.set("logger.inline-output", true);
    return cfg;
  }
  caf::actor_system_config cfg;
  caf::actor_system sys{init(cfg)};
  caf::scheduler::test_coordinator& sched =
      dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  io::network::test_multiplexer& mpx =
      dynamic_cast<io::network::test_multiplexer&>(sys.middleman().backend());
  caf::scoped_actor owner{sys, true};  // the links' owner
  std::vector<caf::actor> actors;      // killed at the end, else ~actor_system waits
  std::shared_ptr<const link_context> ctx;

  sim_node() { sched.clock().current_time += std::chrono::hours(1); }
  ~sim_node() {
    // Links close on user_shutdown and quit once their last tick is back (a broker that
    // quits with a message to itself pending is never freed): deliver it.
    for (auto& a : actors) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    while (step()) {
    }
    sched.clock().advance_time(std::chrono::seconds(10));
    while (step()) {
    }
    mpx.flush_runnables();
    sched.run();
  }

  bool step() {
    return sched.try_run_once() || mpx.try_exec_runnable() || mpx.read_data() ||
           mpx.try_accept_connection();
  }

  /// The next link_up in the owner's mailbox (and its sender), without waiting.
  std::optional<std::pair<link_info, caf::actor>> next_up() {
    std::optional<std::pair<link_info, caf::actor>> res;
    owner->receive(
        [&](link_up_atom, link_info& i) {
          res.emplace(std::move(i), caf::actor_cast<caf::actor>(owner->current_sender()));
          actors.push_back(res->second);  // a responder link, forked by the listener
        },
        caf::after(0s) >> [] {});
    return res;
  }
  /// The next grouped delivery, without waiting.
  std::optional<std::vector<std::string>> next_recv() {
    std::optional<std::vector<std::string>> res;
    owner->receive(
        [&](link_recv_atom, const link_batch& ms) {
          res.emplace();
          for (auto& m : ms.copies()) res->push_back(str(m));
        },
        caf::after(0s) >> [] {});
    return res;
  }
  /// The next link_down reason, or "<none>".
  std::string next_down() {
    std::string res = "<none>";
    owner->receive([&](link_down_atom, std::string& s) { res = std::move(s); },
                   caf::after(0s) >> [] {});
    return res;
  }
  /// True if anything at all is in the owner's mailbox.
  bool owner_has_mail() { return owner->mailbox().size() > 0; }

  template <class Reply>
  Reply ask_stats(const caf::actor& whom) {
    Reply res;
    owner->send(whom, link_stats_atom::value);
    while (step()) {
    }
    bool got = false;
    owner->receive(
        [&](Reply& r) {
          res = std::move(r);
          got = true;
        },
        caf::after(0s) >> [] {});
    REQUIRE(got);
    return res;
  }
};

link_settings test_settings() {
  return link_settings{};  // the defaults: heartbeat 500 ms, dead_after 2 s, deadline 5 s
}

// ---------------------------------------------------------- a scripted raw peer

/// Plays one side of the protocol by hand with the real handshake and session objects.
struct raw_peer {
  identity id = make_identity();
  trust trusts;
  std::unique_ptr<handshake> hs;
  std::optional<session> sess;
  frame_decoder dec;
  std::vector<byte_span> views;

  /// Starts as initiator: returns framed M1.
  wire_bytes start_initiator() {
    hs = std::make_unique<handshake>(role::initiator, id, trusts);
    bytes out;
    append_frame(out, hs->start());
    return to_wire(out);
  }
  /// Starts as responder (waits for M1).
  void start_responder() { hs = std::make_unique<handshake>(role::responder, id, trusts); }

  /// Consumes what the link wrote; returns the framed handshake reply (if any). Messages
  /// of sealed frames are appended to `got` (heartbeats add none; `frames` counts them).
  wire_bytes consume(const wire_bytes& wire, std::vector<std::string>* got = nullptr,
                     int* frames = nullptr) {
    bytes out;
    REQUIRE(dec.feed(span_of(wire)));
    while (auto f = dec.next()) {
      if (!sess) {
        auto reply = hs->on_message(*f);
        REQUIRE_MESSAGE(!hs->failed(), hs->reason());
        if (!reply.empty()) append_frame(out, reply);
        if (hs->established()) sess = hs->take_session();
      } else {
        REQUIRE_MESSAGE(sess->rx.open(*f, views), sess->rx.reason());
        if (frames) ++*frames;
        if (got)
          for (auto v : views) got->emplace_back(v.begin(), v.end());
      }
    }
    return to_wire(out);
  }
  /// Seals `msgs` into one frame (the FINAL one if `final`).
  wire_bytes seal(const std::vector<std::string>& msgs, bool final = false) {
    bytes out;
    for (const auto& m : msgs)
      REQUIRE(
          sess->tx.add(byte_span{reinterpret_cast<const unsigned char*>(m.data()), m.size()}, out));
    if (final)
      sess->tx.close(out);
    else
      sess->tx.flush(out);
    return to_wire(out);
  }
};

// ------------------------------------------------ one node and scripted connections

/// Mars listens on port 8080; the test opens raw connections to it.
struct listener_fixture {
  sim_node mars;
  raw_peer peer;  // trusted by mars as "earth"
  io::accept_handle acc = io::accept_handle::from_int(1);
  caf::actor listener;
  int64_t next_hdl = 100;

  explicit listener_fixture(link_settings s = test_settings()) {
    auto mars_id = make_identity();
    peer.trusts.add(mars_id.pk(), {"mars", "node"});
    trust t;
    t.add(peer.id.pk(), {"earth", "zone_admin"});
    mars.ctx = make_link_context(std::move(mars_id), std::move(t), s);
    mars.mpx.provide_acceptor(8080, acc);
    listener = spawn_listener(mars.sys, "", 8080, mars.owner, mars.ctx, mars.owner);
    mars.actors.push_back(listener);
    run();
    bool listening = false;
    mars.owner->receive([&](link_listening_atom, uint16_t p) { listening = p == 8080; },
                        caf::after(0s) >> [] {});
    REQUIRE(listening);
  }
  void run() {
    while (mars.step()) {
    }
  }
  void tick(caf::timespan d) {
    mars.sched.clock().advance_time(d);
    run();
  }
  /// A new connection to the listener (accepted, or refused, by the time this returns).
  io::connection_handle connect() {
    auto hdl = io::connection_handle::from_int(next_hdl++);
    mars.mpx.add_pending_connect(acc, hdl);
    run();
    return hdl;
  }
  void send(io::connection_handle hdl, const wire_bytes& b) {
    mars.mpx.virtual_send(hdl, b);
    run();
  }
  /// Takes what mars wrote on `hdl`.
  wire_bytes take_output(io::connection_handle hdl) {
    auto out = std::move(mars.mpx.output_buffer(hdl));
    mars.mpx.output_buffer(hdl).clear();
    return out;
  }
  void eof(io::connection_handle hdl) {
    mars.mpx.impl_ptr(hdl)->io_failure(&mars.mpx, io::network::operation::read);
    run();
  }
  bool closed(io::connection_handle hdl) { return mars.mpx.stopped_reading(hdl); }
  listener_stats stats() { return mars.ask_stats<listener_stats>(listener); }
  /// Completes a handshake as initiator on a new connection; returns it and mars's link.
  std::pair<io::connection_handle, caf::actor> establish() {
    auto hdl = connect();
    send(hdl, peer.start_initiator());
    auto m3 = peer.consume(take_output(hdl));
    REQUIRE(peer.sess);
    send(hdl, m3);
    auto up = mars.next_up();
    REQUIRE(up);
    return {hdl, up->second};
  }
};

/// Earth dials a scripted raw responder at "peer":4711.
struct initiator_fixture {
  sim_node earth;
  raw_peer peer;  // trusted by earth as "peer"
  io::connection_handle hdl = io::connection_handle::from_int(42);
  caf::actor lnk;

  explicit initiator_fixture(link_settings s = test_settings()) {
    auto earth_id = make_identity();
    peer.trusts.add(earth_id.pk(), {"earth", "node"});
    trust t;
    t.add(peer.id.pk(), {"peer", "node"});
    earth.ctx = make_link_context(std::move(earth_id), std::move(t), s);
    earth.mpx.provide_scribe("peer", 4711, hdl);
    auto res = earth.sys.middleman().spawn_client(
        link_initiator, "peer", 4711, caf::actor{earth.owner}, earth.ctx, std::string{"peer:4711"},
        std::optional<public_key>{});
    REQUIRE(res);
    lnk = *res;
    earth.actors.push_back(lnk);
    peer.start_responder();
    run();
  }
  void run() {
    while (earth.step()) {
    }
  }
  void tick(caf::timespan d) {
    earth.sched.clock().advance_time(d);
    run();
  }
  void send(const wire_bytes& b) {
    earth.mpx.virtual_send(hdl, b);
    run();
  }
  wire_bytes take_output() {
    auto out = std::move(earth.mpx.output_buffer(hdl));
    earth.mpx.output_buffer(hdl).clear();
    return out;
  }
};

// ------------------------------------------------------- two nodes, wired together

/// Earth dials mars ("mars":8080); both run real link brokers.
struct two_node_fixture {
  sim_node earth, mars;
  public_key earth_pk{}, mars_pk{};
  io::accept_handle acc = io::accept_handle::from_int(1);
  io::connection_handle mars_hdl = io::connection_handle::from_int(2);
  io::connection_handle earth_hdl = io::connection_handle::from_int(3);
  caf::actor listener, earth_link, mars_link;

  /// Sets both nodes up; `mars_trusts_earth` / `earth_trusts_mars` shape the allowlists.
  void start(bool mars_trusts_earth = true, bool earth_trusts_mars = true,
             link_settings s = test_settings(), caf::actor earth_owner = {}) {
    auto earth_id = make_identity();
    auto mars_id = make_identity();
    earth_pk = earth_id.pk();
    mars_pk = mars_id.pk();
    trust et, mt;
    if (earth_trusts_mars) et.add(mars_pk, {"mars", "node"});
    if (mars_trusts_earth) mt.add(earth_pk, {"earth", "zone_admin"});
    et.add(make_identity().pk(), {"someone else", "node"});
    mt.add(make_identity().pk(), {"someone else", "node"});
    earth.ctx = make_link_context(std::move(earth_id), std::move(et), s);
    mars.ctx = make_link_context(std::move(mars_id), std::move(mt), s);
    mars.mpx.prepare_connection(acc, mars_hdl, earth.mpx, "mars", 8080, earth_hdl);
    listener = spawn_listener(mars.sys, "", 8080, mars.owner, mars.ctx, mars.owner);
    mars.actors.push_back(listener);
    run();
    bool listening = false;
    mars.owner->receive([&](link_listening_atom, uint16_t) { listening = true; },
                        caf::after(0s) >> [] {});
    REQUIRE(listening);
    auto res = earth.sys.middleman().spawn_client(
        link_initiator, "mars", 8080, earth_owner ? earth_owner : caf::actor{earth.owner},
        earth.ctx, std::string{"mars:8080"}, std::optional<public_key>{});
    REQUIRE(res);
    earth_link = *res;
    earth.actors.push_back(earth_link);
    if (earth_owner) caf::anon_send_exit(earth_owner, caf::exit_reason::kill);
    run();
  }
  /// start() with both trusting each other, and both link_ups taken.
  void establish(link_settings s = test_settings()) {
    start(true, true, s);
    auto eu = earth.next_up();
    auto mu = mars.next_up();
    REQUIRE(eu);
    REQUIRE(mu);
    CHECK(eu->second == earth_link);
    mars_link = mu->second;
  }
  void run() {
    while (earth.step() || mars.step()) {
    }
  }
  void run_earth_only() {
    while (earth.step()) {
    }
  }
  void tick(caf::timespan d) {
    earth.sched.clock().advance_time(d);
    mars.sched.clock().advance_time(d);
    run();
  }
  /// Bytes earth wrote that mars has not read yet.
  wire_bytes& in_flight_to_mars() { return mars.mpx.virtual_network_buffer(mars_hdl); }
};

}  // namespace

// ====================================================================== happy path

TEST_CASE_FIXTURE(two_node_fixture,
                  "link: a dialled link authenticates both ends and carries messages both ways") {
  start();
  auto eu = earth.next_up();
  auto mu = mars.next_up();
  REQUIRE(eu);
  REQUIRE(mu);
  CHECK(eu->first.peer_name == "mars");
  CHECK(eu->first.peer_role == "node");
  CHECK(eu->first.peer_key == to_text(mars_pk));
  CHECK(eu->first.remote == "mars:8080");
  CHECK(eu->first.initiator);
  CHECK(eu->second == earth_link);
  CHECK(mu->first.peer_name == "earth");
  CHECK(mu->first.peer_role == "zone_admin");
  CHECK(mu->first.peer_key == to_text(earth_pk));
  CHECK(mu->first.remote == "test:" + std::to_string(mars_hdl.id()));
  CHECK_FALSE(mu->first.initiator);
  mars_link = mu->second;
  earth.owner->send(earth_link, link_send_atom::value, text("ping"));
  run();
  CHECK(mars.next_recv() == std::vector<std::string>{"ping"});
  mars.owner->send(mars_link, link_send_atom::value,
                   std::vector<link_bytes>{text("a"), text(""), text("c")});
  run();
  CHECK(earth.next_recv() == std::vector<std::string>{"a", "", "c"});
  mars.owner->send(mars_link, link_send_atom::value, link_batch::of({text("d"), text("e")}));
  run();
  CHECK(earth.next_recv() == std::vector<std::string>{"d", "e"});
  CHECK(earth.next_down() == "<none>");
  CHECK(mars.next_down() == "<none>");
  auto ls = mars.ask_stats<listener_stats>(listener);
  CHECK(ls.accepted == 1);
  CHECK(ls.established == 1);
  CHECK(ls.pending == 0);
  CHECK(ls.failed.empty());
}

TEST_CASE_FIXTURE(two_node_fixture,
                  "link: a burst of small sends goes out in one frame and arrives as one group") {
  establish();
  auto before = earth.ask_stats<link_stats>(earth_link);
  for (int i = 0; i < 100; ++i)
    earth.owner->send(earth_link, link_send_atom::value, text("message " + std::to_string(i)));
  run();
  auto after = earth.ask_stats<link_stats>(earth_link);
  CHECK(after.messages_sent - before.messages_sent == 100);
  CHECK(after.frames_sent - before.frames_sent == 1);
  auto got = mars.next_recv();
  REQUIRE(got);
  REQUIRE(got->size() == 100);
  for (int i = 0; i < 100; ++i) CHECK((*got)[i] == "message " + std::to_string(i));
  CHECK_FALSE(mars.next_recv());  // one group, not 100 messages
  auto ms = mars.ask_stats<link_stats>(mars_link);
  CHECK(ms.messages_received == 100);
}

TEST_CASE_FIXTURE(two_node_fixture,
                  "link: a burst over the batch threshold is sealed in 16 KiB frames as it goes") {
  establish();
  auto before = earth.ask_stats<link_stats>(earth_link);
  for (int i = 0; i < 100; ++i) {
    auto m = std::string(1000, static_cast<char>('a' + i % 26));
    earth.owner->send(earth_link, link_send_atom::value, text(m));
  }
  run();
  auto after = earth.ask_stats<link_stats>(earth_link);
  // 1004 plaintext bytes per message: a frame is sealed at the 17th (17068 >= 16384), so
  // 5 full frames, and the last 15 messages at the end of the burst.
  CHECK(after.frames_sent - before.frames_sent == 6);
  std::vector<std::string> all;
  int groups = 0;
  while (auto g = mars.next_recv()) {
    ++groups;
    all.insert(all.end(), g->begin(), g->end());
  }
  REQUIRE(all.size() == 100);
  for (int i = 0; i < 100; ++i) CHECK(all[i] == std::string(1000, static_cast<char>('a' + i % 26)));
  CHECK(groups < 6);  // grouped per 64 KiB read, not per frame
}

// ========================================================== bad input before the handshake

TEST_CASE_FIXTURE(listener_fixture,
                  "listener: garbage instead of a handshake closes the connection silently") {
  auto a = connect();
  send(a, wire_bytes{'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/', '1', '.', '1'});
  CHECK(closed(a));
  auto b = connect();
  bytes junk(m1_size, 0x5a);
  bytes framed;
  append_frame(framed, junk);
  send(b, to_wire(framed));
  CHECK(closed(b));
  CHECK_FALSE(mars.owner_has_mail());  // the owner never hears of failed handshakes
  auto s = stats();
  CHECK(s.accepted == 2);
  CHECK(s.failed["frame_too_large"] == 1);  // "GET " read as a length: 1.2 GB
  CHECK(s.failed["malformed_message"] == 1);
  CHECK(s.pending == 0);
  CHECK(mars.ctx->counters->faults(fault::frame_too_large) == 1);
  CHECK(mars.ctx->counters->faults(fault::malformed_message) == 1);
}

TEST_CASE_FIXTURE(listener_fixture,
                  "listener: an oversized length prefix closes before any body is read") {
  auto a = connect();
  bytes hdr;
  put_be32(hdr, default_max_frame + 1);
  send(a, to_wire(hdr));
  CHECK(closed(a));
  CHECK(stats().failed["frame_too_large"] == 1);
}

TEST_CASE_FIXTURE(listener_fixture,
                  "listener: before the handshake, a length above the largest handshake message "
                  "is refused at once") {
  auto a = connect();
  bytes hdr;
  put_be32(hdr, 1000);  // far below max_frame, but no handshake message is that long
  send(a, to_wire(hdr));
  CHECK(closed(a));
  CHECK(stats().failed["frame_too_large"] == 1);
}

TEST_CASE_FIXTURE(listener_fixture,
                  "link: an oversized length prefix after the handshake closes the link") {
  auto [hdl, lnk] = establish();
  bytes hdr;
  put_be32(hdr, default_max_frame + 1);
  send(hdl, to_wire(hdr));
  CHECK(mars.next_down() == "frame_too_large");
  CHECK(closed(hdl));
}

TEST_CASE_FIXTURE(listener_fixture,
                  "listener: a handshake cut by EOF is counted as truncated, owner not told") {
  auto a = connect();
  auto m1 = peer.start_initiator();
  send(a, wire_bytes(m1.begin(), m1.begin() + 50));
  CHECK_FALSE(closed(a));
  eof(a);
  CHECK_FALSE(mars.owner_has_mail());
  CHECK(stats().failed["truncated"] == 1);
}

TEST_CASE_FIXTURE(initiator_fixture,
                  "link: a dialled handshake cut by EOF tells the owner 'truncated'") {
  auto m1 = take_output();
  CHECK(m1.size() == frame_header_size + m1_size);
  auto m2 = peer.consume(m1);
  send(wire_bytes(m2.begin(), m2.begin() + 100));
  earth.mpx.impl_ptr(hdl)->io_failure(&earth.mpx, io::network::operation::read);
  run();
  CHECK_FALSE(earth.next_up());
  CHECK(earth.next_down() == "truncated");
}

TEST_CASE_FIXTURE(listener_fixture,
                  "listener: a handshake that never completes is closed at the deadline") {
  auto a = connect();
  send(a, peer.start_initiator());  // M1, then nothing
  tick(4900ms);
  CHECK_FALSE(closed(a));
  tick(100ms);
  CHECK(closed(a));
  CHECK_FALSE(mars.owner_has_mail());
  auto s = stats();
  CHECK(s.failed["deadline_exceeded"] == 1);
  CHECK(s.pending == 0);
}

TEST_CASE_FIXTURE(initiator_fixture,
                  "link: a dialled peer that never answers fails at the deadline") {
  tick(4900ms);
  CHECK(earth.next_down() == "<none>");
  tick(100ms);
  CHECK(earth.next_down() == "deadline_exceeded");
  CHECK(earth.mpx.stopped_reading(hdl));
}

// ============================================================================== trust

TEST_CASE_FIXTURE(two_node_fixture,
                  "link: a dialler the listener does not trust is refused at its first message") {
  start(/*mars_trusts_earth=*/false, /*earth_trusts_mars=*/true);
  CHECK_FALSE(mars.owner_has_mail());
  CHECK(mars.ask_stats<listener_stats>(listener).failed["untrusted_peer"] == 1);
  CHECK(mars.mpx.stopped_reading(mars_hdl));
  CHECK_FALSE(earth.next_up());
  // The test multiplexer does not carry the close over: simulate earth seeing the EOF.
  earth.mpx.impl_ptr(earth_hdl)->io_failure(&earth.mpx, io::network::operation::read);
  run();
  CHECK(earth.next_down() == "truncated");
}

TEST_CASE_FIXTURE(two_node_fixture,
                  "link: a listener the dialler does not trust is refused, the owner told why") {
  start(/*mars_trusts_earth=*/true, /*earth_trusts_mars=*/false);
  CHECK_FALSE(earth.next_up());
  CHECK(earth.next_down() == "untrusted_peer");
  CHECK(earth.ctx->counters->faults(fault::untrusted_peer) == 1);
  CHECK_FALSE(mars.next_up());
  CHECK(earth.mpx.stopped_reading(earth_hdl));
}

// =========================================================== forged frames after handshake

TEST_CASE_FIXTURE(two_node_fixture, "link: a replayed frame closes the link and is not delivered") {
  establish();
  earth.owner->send(earth_link, link_send_atom::value, text("transfer 100"));
  run_earth_only();
  auto captured = in_flight_to_mars();  // the sealed frame, as it crosses the wire
  REQUIRE_FALSE(captured.empty());
  run();
  CHECK(mars.next_recv() == std::vector<std::string>{"transfer 100"});
  mars.mpx.virtual_send(mars_hdl, captured);  // the attacker sends it again
  run();
  CHECK_FALSE(mars.next_recv());
  CHECK(mars.next_down() == "forged_frame");
  CHECK(mars.ctx->counters->faults(fault::forged_frame) == 1);
}

TEST_CASE_FIXTURE(two_node_fixture,
                  "link: a bit-flipped frame closes the link, nothing delivered") {
  establish();
  earth.owner->send(earth_link, link_send_atom::value, text("transfer 100"));
  run_earth_only();
  auto& wire = in_flight_to_mars();
  REQUIRE(wire.size() > 10);
  wire[10] = static_cast<char>(wire[10] ^ 0x01);  // inside the ciphertext
  run();
  CHECK_FALSE(mars.next_recv());
  CHECK(mars.next_down() == "forged_frame");
  CHECK(mars.mpx.stopped_reading(mars_hdl));
}

// ========================================================================= heartbeats

TEST_CASE_FIXTURE(two_node_fixture, "link: heartbeats keep an idle link up") {
  establish();
  for (int i = 0; i < 100; ++i) tick(100ms);  // 10 s without a message
  CHECK(earth.next_down() == "<none>");
  CHECK(mars.next_down() == "<none>");
  auto es = earth.ask_stats<link_stats>(earth_link);
  auto ms = mars.ask_stats<link_stats>(mars_link);
  CHECK(es.heartbeats_sent >= 10);
  CHECK(ms.heartbeats_sent >= 10);
  CHECK(es.messages_sent == 0);
  CHECK_FALSE(mars.next_recv());  // heartbeats are never delivered
}

TEST_CASE_FIXTURE(listener_fixture,
                  "link: a silent peer is closed within dead_after + heartbeat, after heartbeats") {
  auto [hdl, lnk] = establish();
  take_output(hdl);
  auto elapsed = 0ms;
  std::string down = "<none>";
  while (down == "<none>" && elapsed < 5000ms) {
    tick(100ms);
    elapsed += 100ms;
    down = mars.next_down();
  }
  CHECK(down == "peer silent");
  CHECK(elapsed >= 2000ms);
  CHECK(elapsed <= 2500ms);
  // What mars sent meanwhile: authenticated heartbeats, carrying no message.
  std::vector<std::string> got;
  int frames = 0;
  peer.consume(take_output(hdl), &got, &frames);
  CHECK(frames >= 3);
  CHECK(got.empty());
  CHECK(mars.ctx->counters->silent() == 1);
}

// ============================================================================== closing

TEST_CASE_FIXTURE(two_node_fixture,
                  "link: an orderly close delivers what was sent, then 'peer closed'") {
  establish();
  earth.owner->send(earth_link, link_send_atom::value, text("last words"));
  earth.owner->send(earth_link, link_close_atom::value);
  run();
  CHECK(earth.next_down() == "closed by owner");
  // Mars gets the message first, then the down.
  std::vector<std::string> seq;
  for (;;) {
    bool any = false;
    mars.owner->receive(
        [&](link_recv_atom, const link_batch& ms) {
          any = true;
          for (auto& m : ms.copies()) seq.push_back(str(m));
        },
        [&](link_down_atom, std::string& r) {
          any = true;
          seq.push_back("down: " + r);
        },
        caf::after(0s) >> [] {});
    if (!any) break;
  }
  CHECK(seq == std::vector<std::string>{"last words", "down: peer closed"});
  CHECK(mars.mpx.stopped_reading(mars_hdl));
}

TEST_CASE_FIXTURE(two_node_fixture, "link: EOF without a FINAL frame is reported as truncated") {
  establish();
  mars.mpx.impl_ptr(mars_hdl)->io_failure(&mars.mpx, io::network::operation::read);
  run();
  CHECK(mars.next_down() == "truncated");
  CHECK(mars.ctx->counters->faults(fault::truncated) == 1);
}

TEST_CASE_FIXTURE(two_node_fixture, "link: a closed link quits once its last tick is back") {
  establish();
  earth.owner->monitor(earth_link);
  earth.owner->send(earth_link, link_close_atom::value);
  run();
  CHECK(earth.next_down() == "closed by owner");
  bool dead = false;
  earth.owner->receive([&](caf::down_msg&) { dead = true; }, caf::after(0s) >> [] {});
  CHECK_FALSE(dead);  // its heartbeat tick is in flight: quitting now would leak it
  tick(500ms);
  earth.owner->receive([&](caf::down_msg&) { dead = true; }, caf::after(0s) >> [] {});
  CHECK(dead);
}

TEST_CASE_FIXTURE(two_node_fixture,
                  "link: a link whose owner dies during the handshake closes, then quits") {
  // The owner (a node's router, stopped while this link was still being set up) is killed
  // right after the dial; without noticing it the link would stay up for good.
  auto owner = earth.sys.spawn([]() -> caf::behavior { return {[](int) {}}; });
  earth.owner->monitor(owner);
  start(true, true, test_settings(), owner);
  earth.owner->monitor(earth_link);
  tick(500ms);
  size_t downs = 0;
  for (int i = 0; i < 2; ++i)
    earth.owner->receive([&](caf::down_msg&) { ++downs; }, caf::after(0s) >> [] {});
  CHECK(downs == 2);  // the owner, and the link
}

TEST_CASE_FIXTURE(two_node_fixture,
                  "link: an exit message closes like link_close, then the broker quits") {
  establish();
  earth.owner->monitor(earth_link);
  earth.owner->send_exit(earth_link, caf::exit_reason::user_shutdown);
  run();
  CHECK(earth.next_down() == "shut down");
  CHECK(mars.next_down() == "peer closed");  // the FINAL frame went out
  tick(500ms);
  bool dead = false;
  earth.owner->receive([&](caf::down_msg&) { dead = true; }, caf::after(0s) >> [] {});
  CHECK(dead);
}

// ============================================================================= overload

TEST_CASE_FIXTURE(listener_fixture,
                  "listener: 1000 connections at once: 256 handshakes, the rest refused") {
  std::vector<io::connection_handle> hdls;
  for (int i = 0; i < 1000; ++i) {
    auto hdl = io::connection_handle::from_int(1000 + i);
    mars.mpx.add_pending_connect(acc, hdl);
    hdls.push_back(hdl);
  }
  run();
  auto s = stats();
  CHECK(s.accepted == 256);
  CHECK(s.refused_overload == 744);
  CHECK(s.pending == 256);
  int closed_now = 0;
  for (auto h : hdls) closed_now += closed(h) ? 1 : 0;
  CHECK(closed_now == 744);
  tick(5000ms);  // every pending handshake reaches its deadline
  s = stats();
  CHECK(s.pending == 0);
  CHECK(s.failed["deadline_exceeded"] == 256);
  connect();  // room again
  CHECK(stats().accepted == 257);
  CHECK_FALSE(mars.owner_has_mail());
}

// ==================================================================== handshake ordering

TEST_CASE_FIXTURE(listener_fixture,
                  "link: the responder's owner hears nothing before the handshake completes") {
  auto hdl = connect();
  send(hdl, peer.start_initiator());
  auto m2 = take_output(hdl);
  CHECK(m2.size() == frame_header_size + m2_size);
  CHECK_FALSE(mars.owner_has_mail());
  auto m3 = peer.consume(m2);
  // M3 and a first sealed message in one segment: link_up, then the message.
  auto hello = peer.seal({"hello"});
  m3.insert(m3.end(), hello.begin(), hello.end());
  send(hdl, m3);
  auto up = mars.next_up();
  REQUIRE(up);
  CHECK(up->first.peer_name == "earth");
  CHECK(mars.next_recv() == std::vector<std::string>{"hello"});
  auto s = stats();
  CHECK(s.established == 1);
  CHECK(s.pending == 0);
}

TEST_CASE_FIXTURE(initiator_fixture,
                  "link: a log line names the peer by address until the handshake names it") {
  std::ostringstream lines;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(lines);
  REQUIRE(earth.ctx->log);
  earth.ctx->log->sinks().push_back(sink);
  earth.owner->send(lnk, link_close_atom::value);
  run();
  std::erase(earth.ctx->log->sinks(), sink);
  CHECK(lines.str().find("link to peer:4711 closed: closed by owner") != std::string::npos);
  CHECK(lines.str().find("()") == std::string::npos);
}

TEST_CASE_FIXTURE(initiator_fixture,
                  "link: sends before the handshake completes go out right behind it") {
  earth.owner->send(lnk, link_send_atom::value, text("early"));
  run();
  CHECK_FALSE(earth.next_up());
  auto m2 = peer.consume(take_output());
  send(m2);
  auto up = earth.next_up();
  REQUIRE(up);
  CHECK(up->first.peer_name == "peer");
  std::vector<std::string> got;
  auto none = peer.consume(take_output(), &got);  // M3, then the sealed message
  CHECK(none.empty());
  CHECK(peer.sess);
  CHECK(got == std::vector<std::string>{"early"});
  // And the peer's FINAL: an orderly close, answered with earth's own FINAL.
  send(peer.seal({"bye"}, true));
  CHECK(earth.next_recv() == std::vector<std::string>{"bye"});
  CHECK(earth.next_down() == "peer closed");
  peer.consume(take_output());
  CHECK(peer.sess->rx.closed_cleanly());
}

// ======================================================================= backpressure

namespace {

/// The next link_refused in `n`'s owner mailbox: the messages handed back and why.
std::optional<std::pair<std::vector<std::string>, std::string>> next_refused(sim_node& n) {
  std::optional<std::pair<std::vector<std::string>, std::string>> res;
  n.owner->receive(
      [&](link_refused_atom, std::vector<link_bytes>& ms, std::string& why) {
        res.emplace();
        for (auto& m : ms) res->first.push_back(str(m));
        res->second = std::move(why);
      },
      caf::after(0s) >> [] {});
  return res;
}

}  // namespace

TEST_CASE_FIXTURE(two_node_fixture,
                  "link: while the peer reads too slowly, sends beyond max_send_buffer are "
                  "refused to the sender, counted, and taken again once it catches up") {
  auto s = test_settings();
  s.max_send_buffer = 64 * 1024;
  establish(s);
  auto big = [](char c) { return std::string(16 * 1024, c); };
  // Mars reads nothing: what earth seals stays in its write buffer.
  for (char c : {'a', 'b', 'c', 'd'}) {
    earth.owner->send(earth_link, link_send_atom::value, text(big(c)));
    run_earth_only();
  }
  CHECK_FALSE(next_refused(earth));
  CHECK(in_flight_to_mars().size() >= s.max_send_buffer);
  auto waiting = in_flight_to_mars().size();
  earth.owner->send(earth_link, link_send_atom::value, text(big('e')));
  earth.owner->send(earth_link, link_send_atom::value, link_batch::of({text("f"), text("g")}));
  run_earth_only();
  auto r1 = next_refused(earth);
  auto r2 = next_refused(earth);
  REQUIRE(r1);
  REQUIRE(r2);
  CHECK(r1->first == std::vector<std::string>{big('e')});
  CHECK(r2->first == (std::vector<std::string>{"f", "g"}));
  CHECK(r1->second == "link to node 'mars' has " + std::to_string(waiting) +
                          " bytes waiting to be sent (link.max_send_buffer_bytes = 65536): the "
                          "peer reads too slowly");
  CHECK(in_flight_to_mars().size() == waiting);  // nothing queued beyond the limit
  CHECK(earth.ctx->counters->refused() == 3);
  CHECK(earth.ctx->counters->congested() == 1);  // one episode, logged once
  CHECK(earth.ask_stats<link_stats>(earth_link).messages_refused == 3);
  // Mars catches up: earth takes messages again.
  run();
  earth.owner->send(earth_link, link_send_atom::value, text("h"));
  run();
  std::vector<std::string> got;
  while (auto r = mars.next_recv()) got.insert(got.end(), r->begin(), r->end());
  CHECK(got == std::vector<std::string>{big('a'), big('b'), big('c'), big('d'), "h"});
  CHECK_FALSE(next_refused(earth));
  CHECK(earth.ctx->counters->congested() == 1);
}

TEST_CASE_FIXTURE(two_node_fixture,
                  "link: CAF's data_transferred notices tell the link what still waits") {
  auto s = test_settings();
  s.max_send_buffer = 64 * 1024;
  establish(s);
  earth.owner->send(earth_link, link_send_atom::value, text(std::string(70 * 1024, 'x')));
  run_earth_only();
  // The bytes left the write buffer (here: taken off the wire by hand), but the socket
  // reports that they are not all written: the link still counts them.
  auto out = std::move(in_flight_to_mars());
  in_flight_to_mars().clear();
  REQUIRE(out.size() > s.max_send_buffer);
  auto* scribe = earth.mpx.impl_ptr(earth_hdl).get();
  scribe->data_transferred(&earth.mpx, 100, out.size() - 100);
  earth.owner->send(earth_link, link_send_atom::value, text("refused"));
  run_earth_only();
  CHECK(next_refused(earth));
  scribe->data_transferred(&earth.mpx, out.size() - 100, 0);
  earth.owner->send(earth_link, link_send_atom::value, text("taken"));
  run_earth_only();
  CHECK_FALSE(next_refused(earth));
  CHECK(earth.ctx->counters->refused() == 1);
  in_flight_to_mars().clear();  // mars never got the first frame: spare it the rest
}

TEST_CASE("link: messages held before the handshake are bounded in number and bytes") {
  auto s = test_settings();
  s.max_early_messages = 3;
  s.max_send_buffer = 1000;
  initiator_fixture f{s};
  auto& lnk = f.lnk;
  auto& earth = f.earth;
  std::string a(400, 'a'), b(400, 'b'), c(400, 'c');
  earth.owner->send(lnk, link_send_atom::value, std::vector<link_bytes>{text(a), text(b), text(c)});
  f.run();
  auto r = next_refused(earth);
  REQUIRE(r);
  CHECK(r->first == std::vector<std::string>{c});  // 1200 bytes > 1000
  CHECK(r->second ==
        "link to node 'peer:4711' is not up yet and holds 2 messages (800 bytes) for it (at "
        "most 3 messages, 1000 bytes: link.max_send_buffer_bytes)");
  earth.owner->send(lnk, link_send_atom::value, text("d"));  // third message: taken
  earth.owner->send(lnk, link_send_atom::value, text("e"));  // fourth: refused
  f.run();
  r = next_refused(earth);
  REQUIRE(r);
  CHECK(r->first == std::vector<std::string>{"e"});
  CHECK(earth.ctx->counters->refused() == 2);
  CHECK(earth.ctx->counters->congested() == 2);  // "d" ended the first episode
  // The handshake completes: the held messages go out, in order.
  auto m2 = f.peer.consume(f.take_output());
  f.send(m2);
  REQUIRE(earth.next_up());
  std::vector<std::string> got;
  f.peer.consume(f.take_output(), &got);
  CHECK(got == std::vector<std::string>{a, b, "d"});
}

TEST_CASE(
    "link: a node's settings come from its [link] table, whose defaults are "
    "link_settings' own") {
  auto lc = fusion::runtime::default_config().link;
  auto d = settings_of(lc);
  link_settings plain;
  CHECK(d.max_frame == plain.max_frame);
  CHECK(d.heartbeat == plain.heartbeat);
  CHECK(d.dead_after == plain.dead_after);
  CHECK(d.handshake_deadline == plain.handshake_deadline);
  CHECK(d.dial_timeout == plain.dial_timeout);
  CHECK(d.max_send_buffer == plain.max_send_buffer);
  CHECK(plain.max_send_buffer == 8u * 1024 * 1024);
  lc.heartbeat_ms = 250;
  lc.max_send_buffer_bytes = 65536;
  lc.max_frame_bytes = 4096;
  auto c = settings_of(lc);
  CHECK(c.heartbeat == 250ms);
  CHECK(c.max_send_buffer == 65536u);
  CHECK(c.max_frame == 4096u);
}

// ======================================================================= real sockets

namespace {

/// Stops the listed actors when the test ends, passed or not (else ~actor_system waits for
/// links that heartbeat forever).
struct stop_at_exit {
  std::vector<caf::actor> actors;
  ~stop_at_exit() {
    for (auto& a : actors) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
};

caf::actor_system_config& real_config(caf::actor_system_config& cfg) {
  cfg.load<io::middleman>();
  cfg.set("scheduler.max-threads", size_t{2});
  cfg.set("middleman.workers", size_t{0});
  return cfg;
}

}  // namespace

TEST_CASE("link: over real loopback sockets, listen, dial, a message each way, close") {
  auto earth_id = make_identity();
  auto mars_id = make_identity();
  trust et, mt;
  et.add(mars_id.pk(), {"mars", "node"});
  mt.add(earth_id.pk(), {"earth", "node"});
  auto earth_ctx = make_link_context(std::move(earth_id), std::move(et));
  auto mars_ctx = make_link_context(std::move(mars_id), std::move(mt));
  caf::actor_system_config cfg;
  caf::actor_system sys{real_config(cfg)};
  caf::scoped_actor earth{sys}, mars{sys};
  stop_at_exit guard;
  auto lst = listen(sys, "127.0.0.1", 0, mars, mars_ctx);
  REQUIRE(lst);
  guard.actors.push_back(lst->first);
  auto port = lst->second;
  CHECK(port != 0);
  dial(sys, "127.0.0.1", port, earth, earth_ctx);
  caf::actor earth_link, mars_link;
  std::string failure;
  auto timeout = [&](const char* what) { return caf::after(5s) >> [&, what] { failure = what; }; };
  earth->receive(
      [&](link_up_atom, link_info& i) {
        CHECK(i.peer_name == "mars");
        CHECK(i.initiator);
        earth_link = caf::actor_cast<caf::actor>(earth->current_sender());
        guard.actors.push_back(earth_link);
      },
      [&](link_down_atom, std::string& r) { failure = "earth down: " + r; },
      timeout("earth: no link_up"));
  REQUIRE_MESSAGE(failure.empty(), failure);
  mars->receive(
      [&](link_up_atom, link_info& i) {
        CHECK(i.peer_name == "earth");
        CHECK_FALSE(i.initiator);
        CHECK(i.remote.find("127.0.0.1") != std::string::npos);
        mars_link = caf::actor_cast<caf::actor>(mars->current_sender());
        guard.actors.push_back(mars_link);
      },
      timeout("mars: no link_up"));
  REQUIRE_MESSAGE(failure.empty(), failure);
  earth->send(earth_link, link_send_atom::value, text("hello mars"));
  mars->send(mars_link, link_send_atom::value, text("hello earth"));
  std::vector<std::string> at_mars, at_earth;
  mars->receive(
      [&](link_recv_atom, const link_batch& ms) {
        for (auto& m : ms.copies()) at_mars.push_back(str(m));
      },
      timeout("mars: nothing received"));
  earth->receive(
      [&](link_recv_atom, const link_batch& ms) {
        for (auto& m : ms.copies()) at_earth.push_back(str(m));
      },
      timeout("earth: nothing received"));
  REQUIRE_MESSAGE(failure.empty(), failure);
  CHECK(at_mars == std::vector<std::string>{"hello mars"});
  CHECK(at_earth == std::vector<std::string>{"hello earth"});
  earth->send(earth_link, link_close_atom::value);
  std::string earth_down, mars_down;
  earth->receive([&](link_down_atom, std::string& r) { earth_down = r; },
                 timeout("earth: no link_down"));
  mars->receive([&](link_down_atom, std::string& r) { mars_down = r; },
                timeout("mars: no link_down"));
  CHECK(failure.empty());
  CHECK(earth_down == "closed by owner");
  CHECK(mars_down == "peer closed");
}

TEST_CASE("dial: a refused connection tells the owner why, from the dialer") {
  auto me = make_identity();
  auto ctx = make_link_context(std::move(me), trust{});
  // A bound socket that does not listen: connecting to it is refused, and the port stays
  // ours for the whole test.
  int s = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(s >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  REQUIRE(getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  auto port = ntohs(a.sin_port);
  caf::actor_system_config cfg;
  caf::actor_system sys{real_config(cfg)};
  caf::scoped_actor owner{sys};
  auto d = dial(sys, "127.0.0.1", port, owner, ctx);
  std::string reason = "<timeout>";
  bool from_dialer = false;
  owner->receive(
      [&](link_down_atom, std::string& r) {
        reason = r;
        from_dialer = owner->current_sender() == caf::actor_cast<caf::strong_actor_ptr>(d);
      },
      caf::after(5s) >> [] {});
  CHECK(reason == "cannot connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
  CHECK(from_dialer);
  CHECK(ctx->counters->dial_failures() == 1);
  close(s);
}

TEST_CASE("dial: a peer that never answers the connect fails at dial_timeout") {
  link_settings s;
  s.dial_timeout = 300ms;
  auto ctx = make_link_context(make_identity(), trust{}, s);
  // A listening socket with a full backlog that is never accepted from: further SYNs are
  // dropped, so a connect neither succeeds nor fails by itself.
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(ls >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(listen(ls, 0) == 0);
  socklen_t len = sizeof a;
  REQUIRE(getsockname(ls, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  int filler = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(connect(filler, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  auto port = ntohs(a.sin_port);
  caf::actor_system_config cfg;
  caf::actor_system sys{real_config(cfg)};
  caf::scoped_actor owner{sys};
  dial(sys, "127.0.0.1", port, owner, ctx);
  std::string reason = "<no answer within 5 s>";
  owner->receive([&](link_down_atom, std::string& r) { reason = r; }, caf::after(5s) >> [] {});
  CHECK(reason ==
        "cannot connect to 127.0.0.1:" + std::to_string(port) + ": timed out after 300 ms");
  close(filler);
  close(ls);
}

TEST_CASE("link_batch: messages come out in order and intact, empty ones included") {
  auto batch = link_batch::of({text("alpha"), text(""), text("gamma"), text("")});
  REQUIRE(batch.size() == 4);
  CHECK(std::string(batch[0].begin(), batch[0].end()) == "alpha");
  CHECK(batch[1].empty());
  CHECK(std::string(batch[2].begin(), batch[2].end()) == "gamma");
  CHECK(batch[3].empty());
  CHECK(batch.copies() ==
        std::vector<link_bytes>{text("alpha"), text(""), text("gamma"), text("")});
  CHECK(link_batch{}.empty());
}
