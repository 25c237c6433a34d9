// Error helpers and service URIs.

#include "protocols/errc.hpp"
#include "protocols/common.hpp"

#include <caf/sec.hpp>

#include <doctest/doctest.h>

#include <set>

using namespace fusion;
using namespace fusion::protocols;

TEST_CASE("errc: describe and reason_of render fusion errors with their explanation") {
  auto e = make_error(errc::unknown_zone, "no zone 'edge-9'");
  CHECK(is(e, errc::unknown_zone));
  CHECK_FALSE(is(e, errc::unknown_service));
  CHECK(reason_of(e) == "no zone 'edge-9'");
  CHECK(describe(e) == "unknown_zone: no zone 'edge-9'");
  auto bare = make_error(errc::deadline_exceeded);
  CHECK(reason_of(bare).empty());
  CHECK(describe(bare) == "deadline_exceeded");
  CHECK(describe(caf::error{}) == "ok");
  auto sys_err = caf::make_error(caf::sec::request_timeout);
  CHECK_FALSE(is(sys_err, errc::deadline_exceeded));
  CHECK(reason_of(sys_err).empty());
  CHECK(describe(sys_err) == "request_timeout");
  // a context that is not a single string has no reason
  caf::error odd{static_cast<uint8_t>(errc::invalid_argument), errc_category,
                 caf::make_message(1, 2)};
  CHECK(reason_of(odd).empty());
}

TEST_CASE("errc: every code has a distinct stable name") {
  std::set<std::string_view> names;
  for (uint8_t c = 1; c <= static_cast<uint8_t>(errc::unknown_actor); ++c) {
    auto name = to_string(static_cast<errc>(c));
    CAPTURE(int{c});
    CHECK(name != "unknown_error");
    CHECK(names.insert(name).second);
  }
  CHECK(to_string(static_cast<errc>(200)) == "unknown_error");
  CHECK(to_string(errc::malformed_frame) == "malformed_frame");
  CHECK(to_string(errc::invalid_argument) == "invalid_argument");
}

TEST_CASE("common: is_valid_service_uri accepts fusion://provider/name and rejects the rest") {
  for (const char* ok : {"fusion://acme/video-transcoder", "fusion://a/b", "fusion://acme/x/y.z",
                         "fusion://acme-2/game_server", "fusion://0/1"})
    CHECK_MESSAGE(is_valid_service_uri(ok), ok);
  for (const char* bad :
       {"", "fusion://", "fusion://acme", "fusion://acme/", "fusion:///x", "http://acme/x",
        "fusion://Acme/x", "fusion://acme//x", "fusion://acme/x/", "fusion://acme/x y",
        "fusion://acme/é", "FUSION://acme/x", "fusion:/acme/x"})
    CHECK_FALSE_MESSAGE(is_valid_service_uri(bad), bad);
}

TEST_CASE("refusal codes: every code has a distinct stable name and words that keep the details") {
  std::set<std::string_view> names;
  for (uint8_t c = 0; c <= static_cast<uint8_t>(refusal_code::not_needed); ++c) {
    auto code = static_cast<refusal_code>(c);
    CAPTURE(int{c});
    std::string_view name = to_string(code);
    CHECK(name != "unknown");
    CHECK(names.insert(name).second);
    auto words = refusal_words(code, "DETAIL");
    CHECK_FALSE(words.empty());
    // codes whose words need no details may drop them; the rest must carry them
    if (code != refusal_code::unknown_zone && code != refusal_code::no_offer &&
        code != refusal_code::not_needed)
      CHECK(words.find("DETAIL") != std::string::npos);
  }
  // a newer peer's code is shown as its number with the details, never lost
  auto future = static_cast<refusal_code>(200);
  CHECK(std::string_view{to_string(future)} == "unknown");
  CHECK(refusal_words(future, "gpu busy") == "refused (code 200): gpu busy");
  CHECK(refusal_words(refusal_code::infeasible, "") == "cannot host the service");
  CHECK(refusal_words(refusal_code::hard_constraint, "needs 2 GPUs") == "needs 2 GPUs");
}
