// Deterministic mutation fuzz of the registry decoder: valid frames of every message type,
// mutated by bit flips, truncations, insertions and byte overwrites, must never throw or
// crash; whatever decodes must re-encode and decode to the same message.

#include "protocols/all_messages.hpp"
#include "protocols/registry.hpp"
#include "runtime/clock.hpp"
#include "tests/unit/protocols/test_messages.hpp"

#include <caf/make_message.hpp>

#include <doctest/doctest.h>

using namespace fusion;
using namespace fusion::protocols;

namespace {

// One valid frame per registered type, with every field filled.
std::vector<std::vector<char>> corpus() {
  std::vector<std::vector<char>> out;
  test::for_each_message(all_messages{}, [&]<class T>() {
    msgpack::sbuffer buf;
    encode(test::filled<T>(T::meta.type_id), buf);
    out.emplace_back(buf.data(), buf.data() + buf.size());
  });
  return out;
}

// Applies one random mutation to `bytes`.
void mutate(std::vector<char>& bytes, runtime::rng& gen) {
  auto pick = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(gen.next() % n); };
  switch (gen.next() % 5) {
    case 0:  // bit flip
      if (!bytes.empty()) bytes[pick(bytes.size())] ^= static_cast<char>(1 << (gen.next() % 8));
      break;
    case 1:  // truncation
      bytes.resize(pick(bytes.size()));
      break;
    case 2: {  // insertion of random bytes
      auto at = pick(bytes.size() + 1);
      auto n = 1 + pick(4);
      for (size_t i = 0; i < n; ++i)
        bytes.insert(bytes.begin() + static_cast<ptrdiff_t>(at), static_cast<char>(gen.next()));
      break;
    }
    case 3:  // overwrite with an interesting msgpack marker (big counts, odd types)
      if (!bytes.empty()) {
        static constexpr char markers[] = {'\xdc', '\xdd', '\xde', '\xdf', '\xdb', '\xc6',
                                           '\xc7', '\xd4', '\xc1', '\xff', '\x00', '\x9f'};
        bytes[pick(bytes.size())] = markers[pick(sizeof(markers))];
      }
      break;
    default: {  // deletion of a range
      if (bytes.empty()) break;
      auto at = pick(bytes.size());
      auto n = std::min(bytes.size() - at, 1 + pick(8));
      bytes.erase(bytes.begin() + static_cast<ptrdiff_t>(at),
                  bytes.begin() + static_cast<ptrdiff_t>(at + n));
    }
  }
}

}  // namespace

TEST_CASE("fuzz: 20k mutated frames through the registry never throw and stay consistent") {
  const auto& reg = message_registry::instance();
  const auto seeds = corpus();
  REQUIRE(seeds.size() == reg.entries().size());
  runtime::rng gen{20261129};
  size_t accepted = 0;
  size_t rejected = 0;
  size_t thrown = 0;
  size_t unstable = 0;
  for (int i = 0; i < 20000; ++i) {
    auto bytes = seeds[gen.next() % seeds.size()];
    for (auto n = 1 + gen.next() % 3; n > 0; --n) mutate(bytes, gen);
    try {
      auto msg = reg.decode(bytes.data(), bytes.size());
      if (!msg) {
        ++rejected;
        if (msg.error().category() != errc_category)
          ++unstable;  // every refusal must be a fusion error with a reason
        continue;
      }
      ++accepted;
      auto again = reg.encode(*msg);
      if (!again) {
        ++unstable;
        continue;
      }
      auto round = reg.decode(again->data(), again->size());
      if (!round || reg.encode(*round) != again) ++unstable;
    } catch (...) {
      ++thrown;
    }
  }
  CHECK(thrown == 0);
  CHECK(unstable == 0);
  // the fuzz exercised both outcomes
  CHECK(accepted > 100);
  CHECK(rejected > 1000);
  MESSAGE("fuzz: accepted " << accepted << ", rejected " << rejected);
}
