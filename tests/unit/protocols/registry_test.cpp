// The message registry: lookups, uniqueness of ids and names, and the CAF setup it does.

#include "protocols/registry.hpp"
#include "protocols/all_messages.hpp"
#include "tests/support/det_fixture.hpp"
#include "tests/unit/protocols/test_messages.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <typeindex>

using namespace fusion;
using namespace fusion::protocols;

TEST_CASE("registry: every message is found by id, name and C++ type") {
  const auto& reg = message_registry::instance();
  test::for_each_message(all_messages{}, [&]<class T>() {
    CAPTURE(T::meta.name);
    const auto* by_id = reg.find(T::meta.type_id);
    REQUIRE(by_id != nullptr);
    CHECK(by_id->type == std::type_index{typeid(T)});
    CHECK(reg.find(std::string_view{T::meta.name}) == by_id);
    CHECK(reg.find(std::type_index{typeid(T)}) == by_id);
    CHECK(by_id->meta.version >= 1);
    CHECK(by_id->meta.min_fields <= test::probe<T>().fields);
  });
  CHECK(reg.find(uint16_t{0x7F7F}) == nullptr);
  CHECK(reg.find(uint16_t{0}) == nullptr);
  CHECK(reg.find(std::string_view{"no_such_message"}) == nullptr);
  CHECK(reg.find(std::type_index{typeid(int)}) == nullptr);
}

TEST_CASE("registry: type ids and names are unique and names equal the inspect type name") {
  const auto& reg = message_registry::instance();
  std::set<uint16_t> ids;
  std::set<std::string> names;
  for (const auto& e : reg.entries()) {
    CAPTURE(e.meta.name);
    CHECK(ids.insert(e.meta.type_id).second);
    CHECK(names.insert(e.meta.name).second);
    CHECK((e.meta.type_id & 0xFF) != 0);  // low byte 0 is reserved in every family
  }
  CHECK(ids.size() == reg.entries().size());
  test::for_each_message(all_messages{}, [&]<class T>() {
    CAPTURE(T::meta.name);
    CHECK(test::probe<T>().name == T::meta.name);
  });
}

TEST_CASE("registry: the new interface families use their own type id ranges") {
  auto family = [](const message_meta& m) { return m.type_id >> 8; };
  CHECK(family(service_bind::meta) == 0x03);
  CHECK(family(service_bind_reply::meta) == 0x03);
  CHECK(family(query_resources::meta) == 0x04);
  CHECK(family(release_resource::meta) == 0x04);
  CHECK(family(announce_service_id::meta) == 0x07);
  CHECK(family(withdraw_service_id::meta) == 0x07);
  CHECK(family(create_forwarding_entry::meta) == 0x08);
  CHECK(family(provide_routing_information::meta) == 0x08);
  CHECK(family(slot_report::meta) == 0x0B);
  CHECK(family(slot_report_batch::meta) == 0x0B);
  CHECK(family(membership_digest::meta) == 0x0C);
  CHECK(family(gossip_ping_req::meta) == 0x0C);
  CHECK(family(bid::meta) == 0x0D);
  CHECK(family(auction_result::meta) == 0x0D);
}

TEST_CASE("registry: entries are ordered by type id") {
  const auto& entries = message_registry::instance().entries();
  for (size_t i = 1; i < entries.size(); ++i)
    CHECK(entries[i - 1].meta.type_id < entries[i].meta.type_id);
}

TEST_CASE("registry: encode refuses messages that are not one registered FUSION type") {
  const auto& reg = message_registry::instance();
  auto two = reg.encode(caf::make_message(slot_withdraw{}, slot_withdraw{}));
  REQUIRE_FALSE(two);
  CHECK(is(two.error(), errc::unknown_message_type));
  CHECK(reason_of(two.error()) == "only single-element messages can be encoded, got 2 elements");
  auto foreign = reg.encode(caf::make_message(42));
  REQUIRE_FALSE(foreign);
  CHECK(is(foreign.error(), errc::unknown_message_type));
  CHECK(reason_of(foreign.error()).find("not a registered FUSION message") != std::string::npos);
}

TEST_CASE_FIXTURE(test::det_fixture,
                  "registry: add_message_types registers every type and fusion::errc with CAF") {
  test::for_each_message(all_messages{}, [&]<class T>() {
    CAPTURE(T::meta.name);
    auto i = cfg.type_names_by_rtti.find(std::type_index{typeid(T)});
    REQUIRE(i != cfg.type_names_by_rtti.end());
    CHECK(i->second == T::meta.name);
  });
  CHECK(sys.render(make_error(errc::unknown_service, "no service named 'fusion://acme/x'")) ==
        "fusion::unknown_service: no service named 'fusion://acme/x'");
  CHECK(sys.render(make_error(errc::frame_too_large)) == "fusion::frame_too_large");
  // a fusion error travels through an actor and keeps its code and reason
  auto failing = sys.spawn([]() -> caf::behavior {
    return {
        [](int) -> caf::result<int> { return make_error(errc::no_session_slots, "all 4 taken"); }};
  });
  auto r = ask<int>(failing, 1);
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::no_session_slots));
  CHECK(sys.render(r.error()) == "fusion::no_session_slots: all 4 taken");
}

TEST_CASE(
    "registry: docs/protocols.md documents every message with its id, version and "
    "min_fields") {
  std::ifstream in{FUSION_SOURCE_DIR "/docs/protocols.md"};
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  const auto doc = text.str();
  for (const auto& e : message_registry::instance().entries()) {
    char heading[160];
    std::snprintf(heading, sizeof heading, "#### `%s` — 0x%04X, version %u, min_fields %u",
                  e.meta.name, static_cast<unsigned>(e.meta.type_id),
                  static_cast<unsigned>(e.meta.version), static_cast<unsigned>(e.meta.min_fields));
    CHECK_MESSAGE(doc.find(heading) != std::string::npos, heading);
  }
}
