#include "protocols/all_messages.hpp"
#include "protocols/registry.hpp"
#include "tests/unit/protocols/test_messages.hpp"

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/make_message.hpp>

#include <doctest/doctest.h>

#include <bit>

using namespace fusion;
using namespace fusion::protocols;

namespace {

// Packs [type_id, version, body] where body is written by `body_fn(packer)`.
template <class F>
std::vector<char> frame(uint16_t type_id, uint8_t version, F body_fn) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk{buf};
  pk.pack_array(3);
  pk.pack(type_id);
  pk.pack(version);
  body_fn(pk);
  return {buf.data(), buf.data() + buf.size()};
}

template <class T>
std::vector<char> encoded(const T& x) {
  msgpack::sbuffer buf;
  encode(x, buf);
  return {buf.data(), buf.data() + buf.size()};
}

}  // namespace

TEST_CASE("codec: register_service round-trips through msgpack") {
  register_service x{principal{"acme", role::service_provider}, "general:\n  name: x\n"};
  msgpack::sbuffer buf;
  encode(x, buf);
  auto y = decode<register_service>(buf.data(), buf.size());
  REQUIRE(y);
  CHECK(*y == x);
}

TEST_CASE(
    "codec: every registered message round-trips through the registry, default and "
    "filled") {
  const auto& reg = message_registry::instance();
  size_t types = 0;
  test::for_each_message(all_messages{}, [&]<class T>() {
    ++types;
    CAPTURE(T::meta.name);
    // In a vector, not an initializer list of temporaries: GCC 12 at -O3 misreads the
    // temporaries' inlined destructors as reading uninitialized strings.
    std::vector<T> values(1);  // the default
    values.push_back(test::filled<T>(T::meta.type_id));
    for (const T& x : values) {
      auto bytes = reg.encode(caf::make_message(x));
      REQUIRE(bytes);
      auto msg = reg.decode(bytes->data(), bytes->size());
      REQUIRE_MESSAGE(msg, describe(msg.error()));
      REQUIRE(msg->size() == 1);
      REQUIRE(msg->template match_element<T>(0));
      CHECK(msg->template get_as<T>(0) == x);
      // the typed path produces the same bytes and the same value
      auto typed = encoded(x);
      CHECK(typed == *bytes);
      auto y = decode<T>(typed.data(), typed.size());
      REQUIRE(y);
      CHECK(*y == x);
    }
    // the filler reached every field: a filled message differs from a default one
    if (test::probe<T>().fields > 0) CHECK_FALSE(test::filled<T>(1) == values[0]);
  });
  CHECK(types == reg.entries().size());
}

TEST_CASE("codec: new interface families carry their values through the wire") {
  announce_service_id a;
  a.service_id = {"svc-7"};
  a.service_slots = 40;
  a.border_router_id = {"10.0.0.1:4000", "router/border"};
  a.route = {3, {"domain-b", "domain-a"}, 12.5, {{"community", "gold"}}};
  a.origin_domain = "domain-a";
  a.origin_signature = blob(64, 0xAB);
  auto bytes = encoded(a);
  auto y = decode<announce_service_id>(bytes.data(), bytes.size());
  REQUIRE(y);
  CHECK(y->route.domain_path == std::vector<std::string>{"domain-b", "domain-a"});
  CHECK(y->origin_signature.size() == 64);
  CHECK(*y == a);

  slot_report_batch batch;
  batch.reports.push_back({{"zone-1"}, "fusion://acme/game", 7, 10, 6.5, 1.25, 42, 3, 1000});
  batch.reports.push_back({{"zone-2"}, "fusion://acme/game", 0, 10, 0.5, 0.25, 9, 1, 1001});
  bytes = encoded(batch);
  auto b = decode<slot_report_batch>(bytes.data(), bytes.size());
  REQUIRE(b);
  CHECK(*b == batch);

  create_forwarding_entry fe{{"router-1"},
                             {"entry-1"},
                             {{{"svc-1"}, {"svc-2"}},
                              {{{"", "zone/edge-1"}, 2.0, 5.0, {"zone-1"}},
                               {{"h:1", "zone/edge-2"}, 1.0, 12.5, {"zone-2"}}},
                              "slots"}};
  bytes = encoded(fe);
  auto f = decode<create_forwarding_entry>(bytes.data(), bytes.size());
  REQUIRE(f);
  CHECK(f->information.next_hops[0].weight == 2.0);
  CHECK(f->information.next_hops[1].metric_ms == 12.5);
  CHECK(f->information.next_hops[1].origin.value == "zone-2");
  CHECK(*f == fe);
}

TEST_CASE(
    "codec: a body with extra trailing fields from a newer writer decodes, extras "
    "ignored") {
  auto bytes = frame(service_stop::meta.type_id, 2, [](auto& pk) {
    pk.pack_array(3);
    pk.pack(int64_t{500});
    pk.pack(std::string{"a field from the future"});
    pk.pack_array(2);
    pk.pack(1);
    pk.pack(2);
  });
  auto x = decode<service_stop>(bytes.data(), bytes.size());
  REQUIRE_MESSAGE(x, describe(x.error()));
  CHECK(x->timeout_ms == 500);
  auto msg = message_registry::instance().decode(bytes.data(), bytes.size());
  REQUIRE(msg);
  CHECK(msg->get_as<service_stop>(0).timeout_ms == 500);
}

TEST_CASE(
    "codec: a body missing optional trailing fields from an older writer decodes with "
    "defaults") {
  // available_sessions requires 1 field; max_sessions is optional
  auto bytes = frame(available_sessions::meta.type_id, 1, [](auto& pk) {
    pk.pack_array(1);
    pk.pack(3);
  });
  auto x = decode<available_sessions>(bytes.data(), bytes.size());
  REQUIRE(x);
  CHECK(x->available == 3);
  CHECK(x->max_sessions == 0);
  // nested structs may be short too: a locator with only its node
  bytes = frame(session_granted::meta.type_id, 1, [](auto& pk) {
    pk.pack_array(3);
    pk.pack_array(1);
    pk.pack(std::string{"sess-1"});
    pk.pack_array(1);
    pk.pack(std::string{"inst-1"});
    pk.pack_array(1);
    pk.pack(std::string{"10.0.0.2:4000"});
  });
  auto g = decode<session_granted>(bytes.data(), bytes.size());
  REQUIRE_MESSAGE(g, describe(g.error()));
  CHECK(g->instance.node == "10.0.0.2:4000");
  CHECK(g->instance.actor.empty());
  // slot_report's optional sent_at keeps its default
  bytes = frame(slot_report::meta.type_id, 1, [](auto& pk) {
    pk.pack_array(4);
    pk.pack_array(1);
    pk.pack(std::string{"zone-1"});
    pk.pack(std::string{"fusion://acme/x"});
    pk.pack(5);
    pk.pack(9);
  });
  auto s = decode<slot_report>(bytes.data(), bytes.size());
  REQUIRE(s);
  CHECK(s->available == 5);
  CHECK(s->max == 9);
  CHECK(s->sent_at == 0);
}

TEST_CASE(
    "codec: a wrong field type inside a nested struct names the message, the field and "
    "the nested type") {
  // slot_report field #0 is a fusion_id whose field #0 must be a string
  auto bytes = frame(slot_report::meta.type_id, 1, [](auto& pk) {
    pk.pack_array(4);
    pk.pack_array(1);
    pk.pack(17);
    pk.pack(std::string{"fusion://acme/x"});
    pk.pack(5);
    pk.pack(9);
  });
  auto s = decode<slot_report>(bytes.data(), bytes.size());
  REQUIRE_FALSE(s);
  CHECK(is(s.error(), errc::malformed_frame));
  CHECK(reason_of(s.error()) ==
        "slot_report field #0: fusion_id field #0: expected a string, found an integer");
  // a later field after a nested struct is still attributed to the outer message
  bytes = frame(slot_report::meta.type_id, 1, [](auto& pk) {
    pk.pack_array(4);
    pk.pack_array(1);
    pk.pack(std::string{"zone-1"});
    pk.pack(std::string{"fusion://acme/x"});
    pk.pack(std::string{"five"});
    pk.pack(9);
  });
  s = decode<slot_report>(bytes.data(), bytes.size());
  REQUIRE_FALSE(s);
  CHECK(reason_of(s.error()) ==
        "slot_report field #2: expected an integer in range, found a string");
}

TEST_CASE("codec: a shared manifest is the manifest itself on the wire, and is not copied") {
  manifest m;
  m.name = "fusion://acme/game";
  m.hardware.cpu_cores = 2;
  m.user_locations = {geo_location{"eu-west", 48.85, 2.35}};
  msgpack::sbuffer plain;
  msgpack::sbuffer wrapped;
  codec::pack_body(plain, m);
  shared<manifest> sm{m};
  codec::pack_body(wrapped, sm);
  CHECK(std::string(plain.data(), plain.size()) == std::string(wrapped.data(), wrapped.size()));
  zone_evaluate ev;
  ev.service_name = m.name;
  ev.service = sm;
  ev.copies = 3;
  CHECK(&*ev.service == &*sm);  // copies of a shared value share it
  msgpack::sbuffer buf;
  encode(ev, buf);
  auto back = decode<zone_evaluate>(buf.data(), buf.size());
  REQUIRE_MESSAGE(back, describe(back.error()));
  CHECK(*back == ev);
  CHECK(back->service->hardware.cpu_cores == 2);
  CHECK(back->copies == 3);
  // Through CAF's own serialization (messages between nodes) as well.
  std::vector<char> bytes;
  caf::binary_serializer sink{nullptr, bytes};
  REQUIRE_FALSE(sink(ev));
  zone_evaluate loaded;
  caf::binary_deserializer source{nullptr, bytes};
  REQUIRE_FALSE(source(loaded));
  CHECK(loaded == ev);
  CHECK(&*loaded.service != &*ev.service);  // a fresh value on the receiving side
}

TEST_CASE("codec: a whole-number double goes on the wire as msgpack float64, not as an integer") {
  // bid = [orchestrator, zone, count, value, round]; value is a double
  for (double v : {2.0, 0.0, -0.0, -3.0, 1e300, 2.5}) {
    CAPTURE(v);
    bid b;
    b.value = v;
    msgpack::sbuffer buf;
    codec::pack_body(buf, b);
    msgpack::object_handle oh = msgpack::unpack(buf.data(), buf.size());
    const auto& body = oh.get();
    REQUIRE(body.type == msgpack::type::ARRAY);
    REQUIRE(body.via.array.size == 5);
    CHECK(body.via.array.ptr[3].type == msgpack::type::FLOAT64);
    CHECK(std::bit_cast<uint64_t>(body.via.array.ptr[3].via.f64) == std::bit_cast<uint64_t>(v));
    CHECK(body.via.array.ptr[2].type == msgpack::type::POSITIVE_INTEGER);  // count stays an int
  }
  // 2.0 is the 9 bytes cb 40 00 00 00 00 00 00 00
  score s;
  s.total = 2.0;
  msgpack::sbuffer buf;
  codec::pack_body(buf, s);
  const std::string bytes(buf.data(), buf.size());
  CHECK(bytes.substr(1, 9) == std::string("\xcb\x40\x00\x00\x00\x00\x00\x00\x00", 9));
}

TEST_CASE("codec: a double field also accepts an integer, an integer field refuses a float") {
  // bid with value 3 written as the msgpack integer 3 (how older writers sent whole numbers)
  auto bytes = frame(bid::meta.type_id, 1, [](auto& pk) {
    pk.pack_array(4);
    pk.pack(std::string{"o1"});
    pk.pack_array(1);
    pk.pack(std::string{"zone-1"});
    pk.pack(2);
    pk.pack(3);
  });
  auto b = decode<bid>(bytes.data(), bytes.size());
  REQUIRE_MESSAGE(b, describe(b.error()));
  CHECK(b->value == 3.0);
  bytes = frame(bid::meta.type_id, 1, [](auto& pk) {
    pk.pack_array(4);
    pk.pack(std::string{"o1"});
    pk.pack_array(1);
    pk.pack(std::string{"zone-1"});
    pk.pack_double(2.5);
    pk.pack_double(3.5);
  });
  b = decode<bid>(bytes.data(), bytes.size());
  REQUIRE_FALSE(b);
  CHECK(reason_of(b.error()) == "bid field #2: expected an integer in range, found a float");
}
