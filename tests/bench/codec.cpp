// fusion-bench codec: how fast the wire codec moves a typical message, next to the raw CAF
// request/response rate of this machine.

#include "protocols/all_messages.hpp"
#include "protocols/registry.hpp"
#include "tests/bench/bench.hpp"

#include <chrono>
#include <ctime>
#include <iostream>

namespace fusion::bench {

namespace {

// A realistic ~200-byte message: a signed inter-domain announcement over a 3-domain path.
protocols::announce_service_id sample_message() {
  protocols::announce_service_id x;
  x.service_id = {"svc-video-transcoder-0042"};
  x.service_slots = 1250;
  x.border_router_id = {"10.20.30.40:4100", "router/border-1"};
  x.route.hop_count = 4;
  x.route.domain_path = {"domain-eu-west", "domain-eu-central", "domain-origin"};
  x.route.latency_ms = 17.5;
  x.origin_domain = "domain-origin";
  x.origin_signature = protocols::blob(64, 0x5A);
  return x;
}

}  // namespace

void options_codec(po::options_description& desc) {
  desc.add_options()("iterations", count_option(2'000'000, "iterations"),
                     "encode+decode round trips (a quarter as many CAF requests)");
}

int run_codec(const po::variables_map& vm) {
  using clock = std::chrono::steady_clock;
  const auto msg = sample_message();
  const size_t n = vm["iterations"].as<size_t>();
  msgpack::sbuffer buf;
  protocols::encode(msg, buf);
  const auto bytes = static_cast<int64_t>(buf.size());
  // warm-up, and a check that the benchmark measures a real round trip
  auto check = protocols::decode<protocols::announce_service_id>(buf.data(), buf.size());
  if (!check || *check != msg) {
    std::cerr << "fusion-bench codec: the sample message does not round-trip\n";
    return 1;
  }
  size_t slots = 0;  // consumed so the decode cannot be optimised away
  auto start = clock::now();
  auto cpu_start = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
  for (size_t i = 0; i < n; ++i) {
    buf.clear();
    protocols::encode(msg, buf);
    auto y = protocols::decode<protocols::announce_service_id>(buf.data(), buf.size());
    slots += y ? y->service_slots : 0;
  }
  auto secs = std::chrono::duration<double>(clock::now() - start).count();
  auto cpu_secs = cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - cpu_start;
  if (slots != n * msg.service_slots) {
    std::cerr << "fusion-bench codec: a decode failed during the run\n";
    return 1;
  }
  print_figure("codec", "codec_msgs_per_s", static_cast<double>(n) / secs, "msgs/s",
               {{"message", std::string{"announce_service_id"}},
                {"message_bytes", bytes},
                {"iterations", static_cast<int64_t>(n)},
                {"threads", int64_t{1}},
                {"path", std::string{"typed encode+decode"}}});
  print_figure("codec", "codec_msgs_per_cpu_s", static_cast<double>(n) / cpu_secs, "msgs/s",
               {{"message", std::string{"announce_service_id"}},
                {"message_bytes", bytes},
                {"iterations", static_cast<int64_t>(n)},
                {"threads", int64_t{1}},
                {"path", std::string{"typed encode+decode, per CPU second of the thread"}}});
  print_caf_request_response("codec", std::max<size_t>(1, n / 4));
  return 0;
}

}  // namespace fusion::bench
