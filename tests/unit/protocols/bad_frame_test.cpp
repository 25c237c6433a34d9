// Bad frames: every way an untrusted frame can be wrong gets a precise error, and hostile
// length claims are rejected before anything large is allocated.

#include "protocols/all_messages.hpp"
#include "protocols/registry.hpp"
#include "tests/unit/protocols/test_messages.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <string>

using namespace fusion;
using namespace fusion::protocols;

// Allocation accounting: the test binary interposes malloc/calloc/realloc (glibc exports
// the real ones as __libc_*) and counts bytes requested by the measuring thread. Under
// AddressSanitizer, which owns malloc, the measurement is skipped.
#if defined(__SANITIZE_ADDRESS__)
#define FUSION_COUNT_ALLOCS 0
#else
#define FUSION_COUNT_ALLOCS 1
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
}
namespace {
thread_local bool counting = false;
thread_local size_t counted_bytes = 0;
}  // namespace
extern "C" {
void* malloc(size_t n) {
  if (counting) counted_bytes += n;
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t m) {
  if (counting) counted_bytes += n * m;
  return __libc_calloc(n, m);
}
void* realloc(void* p, size_t n) {
  if (counting) counted_bytes += n;
  return __libc_realloc(p, n);
}
}
#endif

namespace {

struct decoded {
  caf::error err;
  size_t allocated = 0;  // bytes requested while decoding (0 if not measured)
};

// Decodes through the registry's generic path, counting allocations.
decoded decode_counting(const std::vector<char>& bytes, const decode_limits& lim = wire_limits) {
  decoded out;
#if FUSION_COUNT_ALLOCS
  counted_bytes = 0;
  counting = true;
#endif
  auto msg = message_registry::instance().decode(bytes.data(), bytes.size(), lim);
#if FUSION_COUNT_ALLOCS
  counting = false;
  out.allocated = counted_bytes;
#endif
  if (!msg) out.err = msg.error();
  return out;
}

template <class F>
std::vector<char> packed(F fn) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk{buf};
  fn(pk);
  return {buf.data(), buf.data() + buf.size()};
}

// A valid envelope of `id`/`version` whose body is written by `body`.
template <class F>
std::vector<char> envelope(uint16_t id, uint64_t version, F body) {
  return packed([&](auto& pk) {
    pk.pack_array(3);
    pk.pack(id);
    pk.pack(version);
    body(pk);
  });
}

std::vector<char> valid_frame() {
  msgpack::sbuffer buf;
  encode(slot_report{{"zone-1"}, "fusion://acme/game", 7, 10, 6.5, 1.0, 4, 1, 99}, buf);
  return {buf.data(), buf.data() + buf.size()};
}

// Checks that `e` is the fusion error `code` and its reason contains `words`.
void check_error(const caf::error& e, errc code, const std::string& words) {
  REQUIRE(e);
  CAPTURE(describe(e));
  CHECK(is(e, code));
  CHECK(reason_of(e).find(words) != std::string::npos);
}

constexpr size_t alloc_budget = 64 * 1024;

}  // namespace

TEST_CASE("bad frames: an empty frame is malformed") {
  check_error(decode_counting({}).err, errc::malformed_frame, "empty frame");
}

TEST_CASE("bad frames: a truncated frame is malformed and says truncated") {
  auto bytes = valid_frame();
  // one byte: the envelope header 0x93 claims 3 elements that cannot fit
  check_error(decode_counting({bytes[0]}).err, errc::malformed_frame,
              "a container claims 3 elements but only 1 bytes remain");
  for (size_t cut : {size_t{5}, bytes.size() / 2, bytes.size() - 1}) {
    CAPTURE(cut);
    std::vector<char> part(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(cut));
    check_error(decode_counting(part).err, errc::malformed_frame, "truncated frame");
  }
}

TEST_CASE("bad frames: trailing bytes after a valid message are rejected") {
  auto bytes = valid_frame();
  bytes.push_back('\x00');
  bytes.push_back('\x01');
  check_error(decode_counting(bytes).err, errc::malformed_frame,
              "2 trailing bytes after the message");
}

TEST_CASE("bad frames: a frame above max_frame is too large and is not parsed") {
  std::vector<char> big(wire_limits.max_frame + 1, '\xc0');
  auto d = decode_counting(big);
  check_error(d.err, errc::frame_too_large, "frame of 1048577 bytes exceeds the limit of 1048576");
  CHECK(d.allocated < alloc_budget);
}

TEST_CASE("bad frames: nesting deeper than the limit is rejected") {
  std::vector<char> deep(wire_limits.max_depth + 5, '\x91');  // [[[[...]]]]
  deep.push_back('\x90');
  check_error(decode_counting(deep).err, errc::frame_too_large, "nesting deeper than 12");
  // depth exactly at the limit parses (and then fails as a non-envelope)
  std::vector<char> ok(wire_limits.max_depth - 1, '\x91');
  ok.push_back('\x90');
  check_error(decode_counting(ok).err, errc::malformed_frame, "an envelope is an array");
}

TEST_CASE("bad frames: arrays and maps over their limits are rejected") {
  auto arr = packed([](auto& pk) {
    pk.pack_array(wire_limits.max_array + 1);
    for (uint32_t i = 0; i <= wire_limits.max_array; ++i) pk.pack_nil();
  });
  check_error(decode_counting(arr).err, errc::frame_too_large,
              "array of 16385 elements exceeds the limit 16384");
  auto map = packed([](auto& pk) {
    pk.pack_map(wire_limits.max_map + 1);
    for (uint32_t i = 0; i <= wire_limits.max_map; ++i) {
      pk.pack(i);
      pk.pack_nil();
    }
  });
  check_error(decode_counting(map).err, errc::frame_too_large,
              "map of 1025 pairs exceeds the limit 1024");
  decode_limits small;
  small.max_str = 8;
  auto str = envelope(service_bind::meta.type_id, 1, [](auto& pk) {
    pk.pack_array(1);
    pk.pack(std::string(9, 'x'));
  });
  check_error(decode_counting(str, small).err, errc::frame_too_large, "string longer than 8 bytes");
}

TEST_CASE("bad frames: 5 bytes claiming 2^32 elements are rejected without allocating") {
  const std::vector<char> hostile{'\xdd', '\xff', '\xff', '\xff', '\xff'};
  auto d = decode_counting(hostile);
  check_error(d.err, errc::frame_too_large, "array of 4294967295 elements exceeds the limit");
  CHECK(d.allocated < alloc_budget);
  // with the array limit lifted, the byte-budget check still refuses the claim
  decode_limits lax;
  lax.max_array = UINT32_MAX;
  lax.max_map = UINT32_MAX;
  d = decode_counting(hostile, lax);
  check_error(d.err, errc::malformed_frame, "claims 4294967295 elements but only 5 bytes remain");
  CHECK(d.allocated < alloc_budget);
  const std::vector<char> hostile_map{'\xdf', '\xff', '\xff', '\xff', '\xff'};
  d = decode_counting(hostile_map, lax);
  check_error(d.err, errc::malformed_frame, "claims 8589934590 elements");
  CHECK(d.allocated < alloc_budget);
  // a 4 GiB string or binary claim is a truncated frame, found before any copy
  for (char tag : {'\xdb', '\xc6'}) {
    d = decode_counting({tag, '\xff', '\xff', '\xff', '\xff'});
    check_error(d.err, errc::malformed_frame, "truncated frame");
    CHECK(d.allocated < alloc_budget);
  }
#if FUSION_COUNT_ALLOCS
  // the counter works: a real decode of a valid frame is seen allocating
  auto valid = decode_counting(valid_frame());
  CHECK_FALSE(valid.err);
  CHECK(valid.allocated > 0);
#endif
}

TEST_CASE("bad frames: a container claiming more elements than bytes remain is rejected") {
  auto lying = envelope(slot_report_batch::meta.type_id, 1, [](auto& pk) {
    pk.pack_array(1);
    pk.pack_array(1000);  // claims 1000 reports, carries 3 bytes
    pk.pack_nil();
    pk.pack_nil();
    pk.pack_nil();
  });
  auto d = decode_counting(lying);
  check_error(d.err, errc::malformed_frame, "a container claims 1000 elements but only");
  CHECK(d.allocated < alloc_budget);
}

TEST_CASE("bad frames: wrong field types name the message, the field and what was found") {
  auto bytes = envelope(service_stop::meta.type_id, 1, [](auto& pk) {
    pk.pack_array(1);
    pk.pack(std::string{"soon"});
  });
  check_error(decode_counting(bytes).err, errc::malformed_frame,
              "service_stop field #0: expected an integer in range, found a string");
  bytes = envelope(register_zone_reply::meta.type_id, 1, [](auto& pk) {
    pk.pack_array(1);
    pk.pack(std::string{"zone-1"});  // a fusion_id is an array [value]
  });
  check_error(decode_counting(bytes).err, errc::malformed_frame,
              "register_zone_reply field #0: expected an array of fields, found a string");
  bytes = envelope(service_bind_reply::meta.type_id, 1, [](auto& pk) {
    pk.pack_array(1);
    pk.pack(300);  // status is a uint8 enum
  });
  check_error(decode_counting(bytes).err, errc::malformed_frame,
              "service_bind_reply field #0: expected an enum value, found an integer");
  bytes = envelope(announce_service_id::meta.type_id, 1, [](auto& pk) {
    pk.pack_array(6);
    pk.pack_array(1);
    pk.pack(std::string{"svc"});
    pk.pack(1);
    pk.pack_array(0);
    pk.pack_array(0);
    pk.pack(std::string{"domain-a"});
    pk.pack(std::string{"not binary"});
  });
  check_error(decode_counting(bytes).err, errc::malformed_frame,
              "announce_service_id field #5: expected binary data, found a string");
}

TEST_CASE("bad frames: a body with fewer than the required fields is rejected") {
  auto bytes = envelope(withdraw_service_id::meta.type_id, 1, [](auto& pk) {
    pk.pack_array(1);
    pk.pack_array(1);
    pk.pack(std::string{"svc"});
  });
  check_error(decode_counting(bytes).err, errc::malformed_frame,
              "withdraw_service_id needs at least 2 fields, got 1");
  auto typed = decode<withdraw_service_id>(bytes.data(), bytes.size());
  REQUIRE_FALSE(typed);
  CHECK(is(typed.error(), errc::malformed_frame));
}

TEST_CASE("bad frames: unknown type ids, version 0 and malformed envelopes") {
  auto unknown = envelope(0x7F7F, 1, [](auto& pk) { pk.pack_array(0); });
  check_error(decode_counting(unknown).err, errc::unknown_message_type,
              "type id 32639 is not a known FUSION message");
  auto v0 = envelope(slot_withdraw::meta.type_id, 0, [](auto& pk) { pk.pack_array(0); });
  check_error(decode_counting(v0).err, errc::unsupported_version,
              "envelope version must be an integer from 1 to 255");
  auto v256 = envelope(slot_withdraw::meta.type_id, 256, [](auto& pk) { pk.pack_array(0); });
  check_error(decode_counting(v256).err, errc::unsupported_version, "from 1 to 255");
  auto not_array = packed([](auto& pk) {
    pk.pack_map(1);
    pk.pack(1);
    pk.pack(2);
  });
  check_error(decode_counting(not_array).err, errc::malformed_frame,
              "an envelope is an array [type_id, version, body] of 3 elements");
  auto two = packed([](auto& pk) {
    pk.pack_array(2);
    pk.pack(1);
    pk.pack(1);
  });
  check_error(decode_counting(two).err, errc::malformed_frame, "of 3 elements");
  auto big_id = packed([](auto& pk) {
    pk.pack_array(3);
    pk.pack(uint32_t{70000});
    pk.pack(1);
    pk.pack_array(0);
  });
  check_error(decode_counting(big_id).err, errc::malformed_frame,
              "type_id must be an unsigned 16-bit integer");
  auto body_not_array = envelope(slot_withdraw::meta.type_id, 1, [](auto& pk) { pk.pack(5); });
  check_error(decode_counting(body_not_array).err, errc::malformed_frame,
              "envelope body must be an array of fields");
  auto ext = packed([](auto& pk) {
    pk.pack_ext(1, 5);
    pk.pack_ext_body("a", 1);
  });
  check_error(decode_counting(ext).err, errc::malformed_frame, "extension types are not allowed");
  // the typed path refuses a valid frame of another type
  auto other = valid_frame();
  auto typed = decode<slot_withdraw>(other.data(), other.size());
  REQUIRE_FALSE(typed);
  check_error(typed.error(), errc::unknown_message_type, "expected slot_withdraw");
}

namespace {

// An envelope of T whose body's first vector field (field `vec`) holds `n` empty elements
// ([] for a struct, "" for a string): the cheapest bytes that build the most memory.
std::vector<char> empty_elements(uint16_t id, uint32_t fields, uint32_t vec, uint32_t n) {
  return envelope(id, 1, [&](auto& pk) {
    pk.pack_array(fields);
    for (uint32_t f = 0; f < fields; ++f) {
      if (f != vec) {
        pk.pack_nil();
        continue;
      }
      pk.pack_array(n);
      for (uint32_t i = 0; i < n; ++i) pk.pack_array(0);
    }
  });
}

}  // namespace

TEST_CASE("decode budget: the worst amplifiers of issue 8 are refused before they are built") {
  // 115 KB of empty zone_evaluate requests (each a default manifest) used to build ~20 MB
  auto batch = envelope(zone_evaluate_batch::meta.type_id, 1, [](auto& pk) {
    pk.pack_array(1);
    pk.pack_array(16000);
    for (int i = 0; i < 16000; ++i) pk.pack_array(0);
  });
  auto d = decode_counting(batch);
  check_error(d.err, errc::decode_budget_exceeded, "over its budget");
  CHECK(d.allocated <= wire_limits.budget(batch.size()));
  // 16 KB of empty preselection candidates used to build ~10 MB
  auto pre = envelope(preselection::meta.type_id, 1, [](auto& pk) {
    pk.pack_array(1);
    pk.pack_array(16000);
    for (int i = 0; i < 16000; ++i) pk.pack_array(0);
  });
  d = decode_counting(pre);
  check_error(d.err, errc::decode_budget_exceeded, "over its budget");
  CHECK(d.allocated <= wire_limits.budget(pre.size()));
}

TEST_CASE("decode budget: no frame of any message decodes into more than its budget") {
  // The general rule, for every registered message: a body whose every field is an array
  // of empty elements either decodes within the budget or is refused by it, and the bytes
  // requested (counted by the malloc interposer above) never exceed the budget.
  test::for_each_message(all_messages{}, [&]<class T>() {
    const auto fields = test::probe<T>().fields;
    for (uint32_t vec = 0; vec < fields; ++vec) {
      for (uint32_t n : {100u, 16000u}) {
        auto bytes = empty_elements(T::meta.type_id, fields, vec, n);
        auto d = decode_counting(bytes);
        CAPTURE(T::meta.name);
        CAPTURE(vec);
        CAPTURE(n);
        CAPTURE(describe(d.err));
        CHECK((!d.err || is(d.err, errc::malformed_frame) ||
               is(d.err, errc::decode_budget_exceeded)));
        CHECK(d.allocated <= wire_limits.budget(bytes.size()));
      }
    }
  });
}

TEST_CASE(
    "versions: an older frame decodes with defaults, a newer one with extras ignored, and "
    "a frame not newer than ours may not carry more fields than we know") {
  // newer writer (version 2 of service_stop, one field appended): extras ignored
  auto newer = envelope(service_stop::meta.type_id, 2, [](auto& pk) {
    pk.pack_array(2);
    pk.pack(int64_t{500});
    pk.pack(std::string{"new"});
  });
  auto x = decode<service_stop>(newer.data(), newer.size());
  REQUIRE_MESSAGE(x, describe(x.error()));
  CHECK(x->timeout_ms == 500);
  // older writer: missing trailing field keeps its default
  auto older = envelope(available_sessions::meta.type_id, 1, [](auto& pk) {
    pk.pack_array(1);
    pk.pack(3);
  });
  auto a = decode<available_sessions>(older.data(), older.size());
  REQUIRE(a);
  CHECK(a->max_sessions == 0);
  // same version with an extra field: the writer appended without raising the version
  auto same = envelope(service_stop::meta.type_id, service_stop::meta.version, [](auto& pk) {
    pk.pack_array(2);
    pk.pack(int64_t{500});
    pk.pack(std::string{"unversioned"});
  });
  check_error(decode<service_stop>(same.data(), same.size()).error(), errc::unsupported_version,
              "service_stop version 1 has at most 1 fields, but the frame carries 2");
  check_error(decode_counting(same).err, errc::unsupported_version, "must raise the version");
}
