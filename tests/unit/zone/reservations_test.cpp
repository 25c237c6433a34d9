// Tests of the zone's resource ledger (actors/zone/reservations.hpp), without an actor: free
// is capacity minus use minus holds in every dimension, the instance cap counts both, and a
// hold given back returns exactly what it kept.

#include "actors/zone/reservations.hpp"

#include <doctest/doctest.h>

#include <limits>

using namespace fusion;
using zone::hold;
using zone::reservations;
using zone::resources;

namespace {

hold of(uint32_t instances, resources per_instance) {
  hold h;
  h.service = "fusion://acme/game";
  h.instances = instances;
  h.per_instance = per_instance;
  return h;
}

}  // namespace

TEST_CASE("resources: sums, saturating differences, multiples and fits") {
  resources a{4, 1024, 1, 1};
  a += resources{2, 512, 0, 1};
  CHECK(a == resources{6, 1536, 1, 2});
  a -= resources{10, 100, 2, 1};
  CHECK(a == resources{0, 1436, 0, 1});  // never below zero
  CHECK(resources{2, 256, 1, 1}.times(3) == resources{6, 768, 3, 3});
  CHECK(resources{8, 4096, 2, 4}.fits(resources{8, 4096, 2, 4}));
  CHECK_FALSE(resources{8, 4096, 2, 4}.fits(resources{8, 4097, 0, 0}));
  CHECK_FALSE(resources{8, 4096, 2, 4}.fits(resources{0, 0, 3, 0}));
}

TEST_CASE("reservations: free is capacity minus what instances use and holds keep") {
  reservations r{resources{16, 32768, 2, 0}};
  CHECK(r.free().cores == 16);
  CHECK(r.free().instances == std::numeric_limits<uint64_t>::max());  // no cap
  auto n = r.add(of(3, {2, 1024, 0, 1}));
  CHECK(n == 1);
  CHECK(r.held() == resources{6, 3072, 0, 3});
  r.use({4, 2048, 1, 1});
  auto f = r.free();
  CHECK(f.cores == 6);
  CHECK(f.memory_mb == 32768 - 3072 - 2048);
  CHECK(f.gpus == 1);
  CHECK(r.fit({2, 1024, 0, 1}) == 3);  // cores bind: 6 / 2
  CHECK(r.fit({1, 8192, 0, 1}) == 3);  // memory binds
  CHECK(r.fit({1, 0, 1, 1}) == 1);     // GPUs bind
  // Giving the hold back returns exactly what it kept; an unknown number changes nothing.
  CHECK(r.drop(n));
  CHECK_FALSE(r.drop(n));
  CHECK_FALSE(r.drop(42));
  CHECK(r.held() == resources{});
  CHECK(r.free().cores == 12);
  r.unuse({4, 2048, 1, 1});
  CHECK(r.free().cores == 16);
  CHECK(r.holds() == 0);
}

TEST_CASE("reservations: the instance cap counts running and held instances") {
  reservations r{resources{64, 65536, 0, 5}};
  CHECK(r.fit({}) == 5);
  r.use({1, 512, 0, 1});
  r.use({1, 512, 0, 1});
  auto n = r.add(of(2, {1, 512, 0, 1}));
  CHECK(r.fit({}) == 1);
  CHECK(r.fit({1, 512, 0, 1}) == 1);  // plenty of cores, one slot left
  r.add(of(1, {1, 512, 0, 1}));
  CHECK(r.fit({1, 512, 0, 1}) == 0);
  r.drop(n);
  CHECK(r.fit({}) == 2);
}

TEST_CASE("reservations: holds are numbered in order and found by number") {
  reservations r{resources{8, 8192, 0, 0}};
  auto a = r.add(of(1, {1, 256, 0, 1}));
  auto b = r.add(of(2, {1, 256, 0, 1}));
  CHECK(b == a + 1);
  REQUIRE(r.find(b) != nullptr);
  CHECK(r.find(b)->instances == 2);
  r.find(b)->deploying = true;  // the zone marks a hold a deployment consumed
  CHECK(r.find(b)->deploying);
  CHECK(r.find(0) == nullptr);
  CHECK(r.holds() == 2);
  // A new hold never reuses the number of one given back.
  r.drop(a);
  CHECK(r.add(of(1, {1, 256, 0, 1})) == b + 1);
}
