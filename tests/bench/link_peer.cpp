// fusion-bench link_peer (hidden): the receiving process of fusion-bench link's loopback
// figures (tests/bench/link_loopback.hpp). It listens on three ports of 127.0.0.1 chosen by
// the OS — a sealed link listener, a CAF-published actor (BASP) and a raw TCP socket —
// prints them with its link key as one line on stdout, counts and acknowledges what
// arrives, echoes pings, and exits when its stdin closes (or when the benchmark kills it).

#include "link/identity.hpp"
#include "link/link_context.hpp"
#include "link/link_listener.hpp"
#include "link/link_protocol.hpp"
#include "runtime/config.hpp"
#include "runtime/logging.hpp"
#include "runtime/system.hpp"
#include "tests/bench/bench.hpp"
#include "tests/bench/link_loopback.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/publish.hpp>
#include <caf/stateful_actor.hpp>

#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include <unistd.h>

namespace fusion::bench {

namespace {

using namespace loopback;
using link::link_bytes;

/// Messages counted per sender (one count per link or per remote actor).
struct sink_state {
  sink_state() = default;  // not an aggregate: CAF would construct it from `self` (C++20)
  std::map<caf::actor_addr, uint64_t> counts;
  static inline const char* name = "fusion.bench.sink";
};

using sink_actor = caf::stateful_actor<sink_state>*;

// The owner of every sealed link the listener accepts: counts, acks, echoes pings.
caf::behavior link_sink(sink_actor self) {
  return {
      [=](link::link_up_atom, const link::link_info&) {
        self->state.counts[caf::actor_cast<caf::actor_addr>(self->current_sender())] = 0;
      },
      [=](link::link_recv_atom, const link::link_batch& ms) {
        auto lnk = caf::actor_cast<caf::actor>(self->current_sender());
        auto& count = self->state.counts[lnk.address()];
        std::vector<link_bytes> replies;
        for (std::size_t i = 0; i < ms.size(); ++i) {
          auto m = ms[i];
          if (m.empty()) continue;
          if (m[0] == data_kind) {
            ++count;
          } else if (m[0] == ack_me_kind) {
            link_bytes ack(ack_bytes);
            ack[0] = ack_kind;
            put_be64(ack.data() + 1, ++count);
            replies.push_back(std::move(ack));
          } else if (m[0] == ping_kind) {
            replies.emplace_back(m.begin(), m.end());
          }
        }
        if (!replies.empty()) self->send(lnk, link::link_send_atom::value, std::move(replies));
      },
      [=](link::link_down_atom, const std::string&) {
        self->state.counts.erase(caf::actor_cast<caf::actor_addr>(self->current_sender()));
      },
  };
}

// The published actor for the BASP figure: counts strings, acks with (ok, count).
caf::behavior basp_sink(sink_actor self) {
  return {
      [=](const std::string& m) {
        auto& count = self->state.counts[caf::actor_cast<caf::actor_addr>(self->current_sender())];
        ++count;
        if (!m.empty() && m[0] == ack_me_kind)
          self->send(caf::actor_cast<caf::actor>(self->current_sender()), caf::ok_atom::value,
                     count);
      },
  };
}

int fail(const std::string& what) {
  std::cerr << "fusion-bench link_peer: " << what << "\n";
  return 1;
}

}  // namespace

void options_link_peer(po::options_description& desc) {
  desc.add_options()("trust", po::value<std::vector<std::string>>()->composing(),
                     "public key (base64) a sealed link may come from; repeatable")(
      "fault", po::value<std::string>()->default_value(""),
      "testing: 'exit' before being ready, or 'handshake' (trust another key)");
}

int run_link_peer(const po::variables_map& vm) {
  runtime::setup_logging({"warn", "text", ""});
  const auto fault = vm["fault"].as<std::string>();
  if (fault == "exit") {
    fail("exiting before ready, as asked (--fault exit)");
    return 3;
  }
  if (!fault.empty() && fault != "handshake") return fail("unknown --fault '" + fault + "'");
  auto me = link::identity::generate();
  auto stranger = link::identity::generate();
  if (!me || !stranger) return fail("cannot make an identity");
  link::trust trusted;
  if (fault == "handshake") {
    trusted.add(stranger->pk(), {"stranger", "node"});
  } else if (vm.count("trust") > 0) {
    for (const auto& text : vm["trust"].as<std::vector<std::string>>()) {
      auto pk = link::parse_public_key(text);
      if (!pk) return fail("--trust '" + text + "' is not a base64 public key");
      trusted.add(*pk, {"fusion-bench", "node"});
    }
  }
  peer_ready ready;
  ready.link_key = me->public_key_text();
  std::string why;
  int raw = listen_tcp_loopback(ready.raw_port, why);
  if (raw < 0) return fail(why);
  std::thread{serve_raw_tcp, raw}.detach();

  caf::actor_system_config cfg;
  // A node's scheduler and io (runtime/system.hpp): the figures are those of two nodes.
  runtime::configure_actor_system(cfg, runtime::default_config());
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto ctx = link::make_link_context(std::move(*me), std::move(trusted));
  auto links = sys.spawn(link_sink);
  auto lst = link::listen(sys, "127.0.0.1", 0, links, ctx);
  if (!lst) return fail("cannot listen for links: " + sys.render(lst.error()));
  ready.link_port = lst->second;
  auto basp = sys.spawn(basp_sink);
  auto published = caf::io::publish(basp, 0, "127.0.0.1");
  if (!published) return fail("cannot publish the BASP sink: " + sys.render(published.error()));
  ready.basp_port = *published;
  std::cout << format_ready(ready) << std::endl;
  // From now on our stdout is the benchmark's pipe, which it no longer reads.
  dup2(STDERR_FILENO, STDOUT_FILENO);
  char c;
  while (::read(STDIN_FILENO, &c, 1) > 0) {
  }
  // The benchmark is gone or done: end without the actor system's orderly shutdown, which
  // would wait for the links and the published actor (nothing here needs saving).
  runtime::flush_logs();
  _exit(0);
}

namespace loopback {

std::string format_ready(const peer_ready& r) {
  return "fusion-bench-peer " + std::to_string(r.link_port) + " " + std::to_string(r.basp_port) +
         " " + std::to_string(r.raw_port) + " " + r.link_key;
}

std::optional<peer_ready> parse_ready(const std::string& line) {
  std::istringstream in{line};
  std::string tag;
  unsigned link_port = 0, basp_port = 0, raw_port = 0;
  peer_ready r;
  if (!(in >> tag >> link_port >> basp_port >> raw_port >> r.link_key) ||
      tag != "fusion-bench-peer" || link_port == 0 || link_port > 65535 || basp_port == 0 ||
      basp_port > 65535 || raw_port == 0 || raw_port > 65535)
    return std::nullopt;
  r.link_port = static_cast<uint16_t>(link_port);
  r.basp_port = static_cast<uint16_t>(basp_port);
  r.raw_port = static_cast<uint16_t>(raw_port);
  return r;
}

}  // namespace loopback

}  // namespace fusion::bench
