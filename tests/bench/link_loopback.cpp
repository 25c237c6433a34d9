// fusion-bench link, loopback part (tests/bench/link_loopback.hpp): the sending side. It
// starts the peer process, then measures one transport after the other against it — the
// sealed link batched (with the round trip) and one message per frame, CAF's BASP, raw
// TCP — prints each figure, and always kills and reaps the peer.

#include "tests/bench/link_loopback.hpp"

#include "link/identity.hpp"
#include "link/link_context.hpp"
#include "link/link_dialer.hpp"
#include "link/link_protocol.hpp"
#include "runtime/config.hpp"
#include "runtime/logging.hpp"
#include "runtime/system.hpp"
#include "tests/bench/bench.hpp"
#include "tests/bench/peer_process.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/system_messages.hpp>

#include <algorithm>
#include <iostream>
#include <set>
#include <vector>

namespace fusion::bench::loopback {

namespace {

using steady = std::chrono::steady_clock;
using link::link_bytes;

/// Messages the sender hands to its link per actor message (link_send_atom, link_batch).
constexpr std::size_t msgs_per_send = 64;

/// What the figures of one run share.
struct run_config {
  const loopback_options& opts;
  uint64_t ack_every;

  /// The configuration fields printed with every loopback figure.
  std::vector<std::pair<std::string, config_value>> fields() const {
    return {{"transport", std::string{"loopback"}},
            {"processes", int64_t{2}},
            {"message_bytes", static_cast<int64_t>(message_bytes)},
            {"messages", static_cast<int64_t>(opts.messages)},
            {"window", static_cast<int64_t>(opts.window)},
            {"ack_every", static_cast<int64_t>(ack_every)},
            {"scheduler", runtime::default_config().scheduler.policy},
            {"threads", static_cast<int64_t>(runtime::default_config().scheduler.threads)}};
  }
};

/// One sealed link's outcome.
struct sealed_result {
  std::vector<double> rates;  ///< Messages per second, one per round.
  link::link_stats stats;
};

std::string seconds_text(std::chrono::milliseconds d) {
  return std::to_string(d.count() / 1000) + " s";
}

// Dials the peer's listener; the link once it is up, or nullopt with `why`.
std::optional<caf::actor> open_link(caf::scoped_actor& self, const peer_ready& peer,
                                    std::shared_ptr<const link::link_context> ctx,
                                    std::string& why) {
  auto key = link::parse_public_key(peer.link_key);
  if (!key) {
    why = "the peer's link key '" + peer.link_key + "' is not a public key";
    return std::nullopt;
  }
  link::dial(self->system(), "127.0.0.1", peer.link_port, caf::actor{self}, std::move(ctx), *key);
  std::optional<caf::actor> lnk;
  self->receive(
      [&](link::link_up_atom, const link::link_info&) {
        lnk = caf::actor_cast<caf::actor>(self->current_sender());
      },
      [&](link::link_down_atom, const std::string& reason) {
        why = "the sealed link to the peer failed: " + reason;
      },
      caf::after(wait_limit) >> [&] { why = "no sealed link within " + seconds_text(wait_limit); });
  return lnk;
}

// Reads the acks among `ms` into `acked`.
void take_acks(const link::link_batch& ms, uint64_t& acked) {
  for (std::size_t i = 0; i < ms.size(); ++i)
    if (auto m = ms[i]; m.size() == ack_bytes && m[0] == ack_kind)
      acked = std::max(acked, get_be64(m.data() + 1));
}

// Sends `n` messages through `lnk`, at most `window` unacknowledged; messages per second
// from the first send to the last ack. `base`: messages the peer already counted on this
// link (its acks count from the link's start).
std::optional<double> pump_sealed(caf::scoped_actor& self, const caf::actor& lnk,
                                  const run_config& rc, uint64_t base, std::string& why) {
  const uint64_t n = rc.opts.messages;
  const uint64_t window = rc.opts.window;
  link_bytes proto(message_bytes, 'x');
  uint64_t sent = 0, acked = 0;  // this round's
  bool ok = true;
  auto start = steady::now();
  while (ok && acked < n) {
    while (sent < n && sent - acked < window) {
      auto k = std::min({uint64_t{msgs_per_send}, n - sent, window - (sent - acked)});
      link::link_batch chunk;
      chunk.reserve(k * message_bytes);
      for (uint64_t i = 0; i < k; ++i) {
        proto[0] = kind_of(++sent, n, rc.ack_every);
        chunk.add(proto);
      }
      self->send(lnk, link::link_send_atom::value, std::move(chunk));
    }
    self->receive(
        [&](link::link_recv_atom, const link::link_batch& ms) {
          uint64_t total = base;
          take_acks(ms, total);
          acked = std::max(acked, total - base);
        },
        [&](link::link_down_atom, const std::string& reason) {
          ok = false;
          why = "the sealed link went down after " + std::to_string(acked) + " acked: " + reason;
        },
        caf::after(wait_limit) >>
            [&] {
              ok = false;
              why = "no ack within " + seconds_text(wait_limit) + " (" + std::to_string(acked) +
                    " of " + std::to_string(n) + " acked)";
            });
  }
  if (!ok) return std::nullopt;
  return static_cast<double>(n) / std::chrono::duration<double>(steady::now() - start).count();
}

// Times `pings` round trips of one message each; the round trips in microseconds.
std::optional<std::vector<double>> ping_sealed(caf::scoped_actor& self, const caf::actor& lnk,
                                               std::size_t pings, std::string& why) {
  std::vector<double> rtts;
  link_bytes ping(message_bytes, 'x');
  ping[0] = ping_kind;
  for (std::size_t i = 0; i < pings; ++i) {
    put_be64(ping.data() + 1, i);
    bool back = false, ok = true;
    auto start = steady::now();
    self->send(lnk, link::link_send_atom::value, ping);
    while (ok && !back) {
      self->receive(
          [&](link::link_recv_atom, const link::link_batch& ms) {
            for (std::size_t k = 0; k < ms.size(); ++k)
              back = back || (ms[k].size() == message_bytes && ms[k][0] == ping_kind &&
                              get_be64(ms[k].data() + 1) == i);
          },
          [&](link::link_down_atom, const std::string& reason) {
            ok = false;
            why = "the sealed link went down during the round trips: " + reason;
          },
          caf::after(wait_limit) >>
              [&] {
                ok = false;
                why = "no pong within " + seconds_text(wait_limit);
              });
    }
    if (!ok) return std::nullopt;
    rtts.push_back(std::chrono::duration<double, std::micro>(steady::now() - start).count());
  }
  return rtts;
}

// Closes `lnk` orderly and waits (bounded) for it to say so.
void close_link(caf::scoped_actor& self, const caf::actor& lnk) {
  self->send(lnk, link::link_close_atom::value);
  self->receive([](link::link_down_atom, const std::string&) {}, caf::after(wait_limit) >> [] {});
}

// One sealed link: throughput, then (if `rtts`) round trips, then its counters.
std::optional<sealed_result> run_sealed(caf::actor_system& sys, const peer_ready& peer,
                                        std::shared_ptr<const link::link_context> ctx,
                                        const run_config& rc, std::vector<double>* rtts,
                                        std::string& why) {
  caf::scoped_actor self{sys};
  auto lnk = open_link(self, peer, std::move(ctx), why);
  if (!lnk) return std::nullopt;
  sealed_result res;
  for (uint64_t round = 0; round < rc.opts.rounds; ++round) {
    auto rate = pump_sealed(self, *lnk, rc, round * rc.opts.messages, why);
    if (!rate) return std::nullopt;
    res.rates.push_back(*rate);
  }
  if (rtts != nullptr) {
    auto r = ping_sealed(self, *lnk, rc.opts.pings, why);
    if (!r) return std::nullopt;
    *rtts = std::move(*r);
  }
  bool have_stats = false;
  self->request(*lnk, wait_limit, link::link_stats_atom::value)
      .receive(
          [&](const link::link_stats& s) {
            res.stats = s;
            have_stats = true;
          },
          [&](const caf::error&) {});
  if (!have_stats) {
    why = "the link did not report its counters";
    return std::nullopt;
  }
  close_link(self, *lnk);
  return res;
}

// CAF's own remoting: connects to the published sink (with a deadline: the blocking
// caf::io::remote_actor can hang) and sends it `n` std::strings, one actor message each.
std::optional<double> run_basp(caf::actor_system& sys, const peer_ready& peer, const run_config& rc,
                               std::string& why) {
  caf::scoped_actor self{sys};
  caf::actor sink;
  self->request(sys.middleman().actor_handle(), wait_limit, caf::connect_atom::value,
                std::string{"127.0.0.1"}, peer.basp_port)
      .receive(
          [&](const caf::node_id&, caf::strong_actor_ptr& p, const std::set<std::string>&) {
            sink = caf::actor_cast<caf::actor>(std::move(p));
          },
          [&](const caf::error& e) { why = "BASP connect failed: " + sys.render(e); });
  if (!sink) {
    if (why.empty()) why = "BASP connect returned no actor";
    return std::nullopt;
  }
  self->monitor(sink);
  const uint64_t n = rc.opts.messages;
  const uint64_t window = rc.opts.window;
  std::string proto(message_bytes, 'x');
  uint64_t sent = 0, acked = 0;
  bool ok = true;
  auto start = steady::now();
  while (ok && acked < n) {
    while (sent < n && sent - acked < window) {
      proto[0] = kind_of(++sent, n, rc.ack_every);
      self->send(sink, proto);
    }
    self->receive([&](caf::ok_atom, uint64_t count) { acked = std::max(acked, count); },
                  [&](const caf::down_msg& dm) {
                    ok = false;
                    why = "the BASP peer went down: " + sys.render(dm.reason);
                  },
                  caf::after(wait_limit) >>
                      [&] {
                        ok = false;
                        why = "no BASP ack within " + seconds_text(wait_limit) + " (" +
                              std::to_string(acked) + " of " + std::to_string(n) + " acked)";
                      });
  }
  if (!ok) return std::nullopt;
  auto secs = std::chrono::duration<double>(steady::now() - start).count();
  self->demonitor(sink);
  return static_cast<double>(n) / secs;
}

double percentile(std::vector<double> xs, double p) {
  if (xs.empty()) return 0;
  std::sort(xs.begin(), xs.end());
  auto i = static_cast<std::size_t>(p * static_cast<double>(xs.size() - 1) + 0.5);
  return xs[std::min(i, xs.size() - 1)];
}

// Every fault, dropped message and failed dial the benchmark's links counted.
uint64_t link_failures(const link::link_counters& c) {
  uint64_t n = c.dropped() + c.dial_failures() + c.silent();
  for (std::size_t f = 1; f < link::link_counters::fault_count; ++f)
    n += c.faults(static_cast<link::fault>(f));
  return n;
}

// The measurements, one after the other; figures are printed as they come.
bool measure(caf::actor_system& sys, const peer_ready& peer,
             std::shared_ptr<const link::link_context> batched,
             std::shared_ptr<const link::link_context> unbatched, const run_config& rc,
             std::string& why) {
  auto fields = [&](std::vector<std::pair<std::string, config_value>> extra) {
    auto all = rc.fields();
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  };
  auto frames_fields = [&](const sealed_result& r, std::size_t batch) {
    auto per_frame = r.stats.frames_sent > 0 ? static_cast<double>(r.stats.messages_sent) /
                                                   static_cast<double>(r.stats.frames_sent)
                                             : 0.0;
    return fields({{"rounds", static_cast<int64_t>(r.rates.size())},
                   {"min", *std::min_element(r.rates.begin(), r.rates.end())},
                   {"max", *std::max_element(r.rates.begin(), r.rates.end())},
                   {"batch_bytes", static_cast<int64_t>(batch)},
                   {"msgs_per_send", static_cast<int64_t>(msgs_per_send)},
                   {"msgs_per_frame", per_frame},
                   {"path", std::string{"owner -> link broker -> TCP -> link broker -> owner"}}});
  };
  std::vector<double> rtts;
  auto b = run_sealed(sys, peer, batched, rc, &rtts, why);
  if (!b) return false;
  print_figure("link", "sealed_msgs_per_s_batched", percentile(b->rates, 0.5), "msgs/s",
               frames_fields(*b, batched->settings.batch_bytes));
  auto rtt_fields = fields({{"pings", static_cast<int64_t>(rtts.size())},
                            {"batch_bytes", static_cast<int64_t>(batched->settings.batch_bytes)},
                            {"path", std::string{"one message there and back, sealed link"}}});
  print_figure("link", "rtt_us", percentile(rtts, 0.5), "us", rtt_fields);
  print_figure("link", "rtt_us_p99", percentile(rtts, 0.99), "us", rtt_fields);
  auto u = run_sealed(sys, peer, unbatched, rc, nullptr, why);
  if (!u) return false;
  print_figure("link", "sealed_msgs_per_s_unbatched", percentile(u->rates, 0.5), "msgs/s",
               frames_fields(*u, unbatched->settings.batch_bytes));
  auto basp = run_basp(sys, peer, rc, why);
  if (!basp) return false;
  print_figure(
      "link", "basp_msgs_per_s", *basp, "msgs/s",
      fields({{"path", std::string{"actor -> BASP (caf::io) -> actor, one message each"}}}));
  auto raw = raw_tcp_msgs_per_s(peer.raw_port, rc.opts.messages, rc.opts.window, why);
  if (!raw) {
    why = "raw TCP: " + why;
    return false;
  }
  print_figure("link", "raw_tcp_msgs_per_s", *raw, "msgs/s",
               fields({{"io_bytes", int64_t{64 * 1024}},
                       {"path", std::string{"blocking POSIX sockets, 4-byte length + body"}}}));
  auto failures = link_failures(*batched->counters) + link_failures(*unbatched->counters);
  print_figure("link", "loopback_failures", static_cast<double>(failures), "count",
               fields({{"what", std::string{"link faults, dropped messages, failed dials"}}}));
  return true;
}

int fail(const std::string& what) {
  std::cerr << "fusion-bench link: " << what << "\n";
  return 1;
}

}  // namespace

int run_loopback(const loopback_options& opts) {
  runtime::setup_logging({"warn", "text", ""});
  // Two identities: a link context (and so its batch setting) is made for one identity.
  auto batched_id = link::identity::generate();
  auto unbatched_id = link::identity::generate();
  if (!batched_id || !unbatched_id) return fail("cannot make identities");
  std::vector<std::string> args{"link_peer", "--trust", batched_id->public_key_text(), "--trust",
                                unbatched_id->public_key_text()};
  if (!opts.peer_fault.empty()) args.insert(args.end(), {"--fault", opts.peer_fault});
  std::string why;
  auto peer = peer_process::start(args, why);
  if (!peer) return fail("cannot start the peer process: " + why);
  auto line = peer->read_line(wait_limit, why);
  if (!line) return fail(why);
  auto ready = parse_ready(*line);
  if (!ready) return fail("the peer process said '" + *line + "' instead of its ports");
  // Trust the key the peer announced (this is a benchmark between two processes we started).
  auto peer_key = link::parse_public_key(ready->link_key);
  if (!peer_key) return fail("the peer's link key '" + ready->link_key + "' is not a key");
  link::trust trusted;
  trusted.add(*peer_key, {"fusion-bench-peer", "node"});
  link::link_settings unbatched_settings;
  unbatched_settings.batch_bytes = 0;  // every message its own frame
  auto batched = link::make_link_context(std::move(*batched_id), trusted);
  auto unbatched = link::make_link_context(std::move(*unbatched_id), trusted, unbatched_settings);
  run_config rc{opts, std::max<uint64_t>(1, opts.window / 4)};
  bool ok = false;
  {
    caf::actor_system_config cfg;
    // A node's scheduler and io (runtime/system.hpp): the figures are those of two nodes.
    runtime::configure_actor_system(cfg, runtime::default_config());
    cfg.set("logger.verbosity", caf::atom("quiet"));
    caf::actor_system sys{cfg};
    ok = measure(sys, *ready, batched, unbatched, rc, why);
    // Before the actor system ends: whatever is still connected to the peer sees it go.
    peer->stop();
  }
  if (!ok) return fail(why);
  return 0;
}

}  // namespace fusion::bench::loopback
