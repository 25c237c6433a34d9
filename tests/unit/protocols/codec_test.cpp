#include "protocols/all_messages.hpp"
#include "protocols/registry.hpp"

#include <doctest/doctest.h>

using namespace fusion;
using namespace fusion::protocols;

TEST_CASE("codec: register_service round-trips through msgpack") {
  register_service x{principal{"acme", role::service_provider}, "general:\n  name: x\n"};
  msgpack::sbuffer buf;
  encode(x, buf);
  auto y = decode<register_service>(buf.data(), buf.size());
  REQUIRE(y);
  CHECK(*y == x);
}
