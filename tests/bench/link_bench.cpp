// fusion-bench link: how fast a link seals and opens small messages in memory (sealer ->
// frame_decoder -> opener, one thread), batched against one message per frame, and how many
// handshakes per second one core completes (both sides). Then the same messages over
// loopback between this process and a peer process it starts (tests/bench/link_loopback.hpp):
// through the sealed link, CAF's BASP and raw TCP.
//
// Figure names: the in-memory figures start with "link_" ("transport": "memory"); the
// loopback ones are named as issue 9 spells them ("transport": "loopback").

#include "link/frames.hpp"
#include "link/handshake.hpp"
#include "tests/bench/bench.hpp"
#include "tests/bench/link_loopback.hpp"

#include <chrono>
#include <ctime>
#include <iostream>
#include <optional>

namespace fusion::bench {

namespace {

using steady = std::chrono::steady_clock;

struct link_pair {
  link::identity alice, bob;
  link::trust alice_trusts, bob_trusts;
};

/// A session pair from a real handshake; nullopt (after a message) if it fails.
std::optional<std::pair<link::session, link::session>> connect(link_pair& p,
                                                               link::handshake_config cfg) {
  link::handshake a{link::role::initiator, p.alice, p.alice_trusts, cfg};
  link::handshake b{link::role::responder, p.bob, p.bob_trusts, cfg};
  b.on_message(a.on_message(b.on_message(a.start())));
  auto sa = a.take_session();
  auto sb = b.take_session();
  if (!sa || !sb) {
    std::cerr << "fusion-bench link: handshake failed: " << a.reason() << b.reason() << "\n";
    return std::nullopt;
  }
  return std::make_pair(std::move(*sa), std::move(*sb));
}

/// Seals `n` messages of `size` bytes, decodes and opens them; returns msgs/s, 0 on error.
double sealed_msgs_per_s(link_pair& p, size_t n, size_t size, size_t batch_bytes, size_t& frames) {
  link::handshake_config cfg;
  cfg.batch_bytes = batch_bytes;
  auto s = connect(p, cfg);
  if (!s) return 0;
  auto& [a, b] = *s;
  link::bytes msg(size, 0x42);
  link::bytes wire;
  link::frame_decoder decoder{cfg.max_frame};
  std::vector<link::byte_span> views;
  size_t received = 0;
  frames = 0;
  auto drain = [&] {
    if (!decoder.feed(wire)) return false;
    wire.clear();
    while (auto f = decoder.next()) {
      if (!b.rx.open(*f, views)) return false;
      received += views.size();
      ++frames;
    }
    return true;
  };
  auto start = steady::now();
  for (size_t i = 0; i < n; ++i) {
    a.tx.add(msg, wire);
    // hand over in 64 KiB writes, as a socket would
    if (wire.size() >= 64 * 1024 && !drain()) return 0;
  }
  a.tx.close(wire);
  if (!drain() || !b.rx.finish() || received != n) {
    std::cerr << "fusion-bench link: " << b.rx.reason() << "\n";
    return 0;
  }
  return static_cast<double>(n) / std::chrono::duration<double>(steady::now() - start).count();
}

}  // namespace

void options_link(po::options_description& desc) {
  desc.add_options()(
      "messages", count_option(1'000'000, "messages"),
      "200-byte messages per figure (in memory and through each loopback transport)")(
      "handshakes", count_option(2'000, "handshakes"), "handshakes (both sides) to time")(
      "window", count_option(4'096, "window"),
      "loopback: unacknowledged messages at most (the receiver acks every window/4)")(
      "pings", count_option(1'000, "pings"), "loopback: round trips timed for rtt_us")(
      "rounds", count_option(3, "rounds"),
      "loopback: --messages sent this many times through each sealed link; the median rate "
      "is printed, with min and max")(
      "peer-fault", po::value<std::string>()->default_value("")->notifier([](const std::string& v) {
        if (!v.empty() && v != "exit" && v != "handshake")
          throw po::error("--peer-fault must be 'exit' or 'handshake'");
      }),
      "testing: make the peer process fail: 'exit' (before it is ready) or 'handshake' (it "
      "trusts another key)");
}

int run_link(const po::variables_map& vm) {
  const size_t n = vm["messages"].as<size_t>();
  const size_t hs = vm["handshakes"].as<size_t>();
  const size_t size = 200;
  auto alice = link::identity::generate();
  auto bob = link::identity::generate();
  if (!alice || !bob) {
    std::cerr << "fusion-bench link: cannot make identities\n";
    return 1;
  }
  link_pair p{std::move(*alice), std::move(*bob), {}, {}};
  p.alice_trusts.add(p.bob.pk(), {"bob", "node"});
  p.bob_trusts.add(p.alice.pk(), {"alice", "node"});
  for (size_t batch : {link::default_batch_bytes, size_t{0}}) {
    size_t frames = 0;
    auto rate = sealed_msgs_per_s(p, n, size, batch, frames);
    if (rate == 0) return 1;
    print_figure("link",
                 batch ? "link_sealed_msgs_per_s_batched" : "link_sealed_msgs_per_s_unbatched",
                 rate, "msgs/s",
                 {{"message_bytes", static_cast<int64_t>(size)},
                  {"messages", static_cast<int64_t>(n)},
                  {"batch_bytes", static_cast<int64_t>(batch)},
                  {"msgs_per_frame", static_cast<double>(n) / static_cast<double>(frames)},
                  {"threads", int64_t{1}},
                  {"transport", std::string{"memory"}},
                  {"path", std::string{"seal + frame decode + open, in memory"}}});
  }
  auto start = steady::now();
  for (size_t i = 0; i < hs; ++i)
    if (!connect(p, {})) return 1;
  auto secs = std::chrono::duration<double>(steady::now() - start).count();
  print_figure("link", "link_handshakes_per_s", static_cast<double>(hs) / secs, "handshakes/s",
               {{"handshakes", static_cast<int64_t>(hs)},
                {"threads", int64_t{1}},
                {"transport", std::string{"memory"}},
                {"path", std::string{"initiator and responder on one thread"}}});
  return loopback::run_loopback({n, vm["window"].as<size_t>(), vm["pings"].as<size_t>(),
                                 vm["rounds"].as<size_t>(), vm["peer-fault"].as<std::string>()});
}

}  // namespace fusion::bench
