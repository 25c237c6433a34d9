#include "tests/support/det_fixture.hpp"

#include <caf/event_based_actor.hpp>

using namespace std::chrono_literals;

namespace {

using tick_atom = caf::atom_constant<caf::atom("tick")>;

struct timer_state {
  timer_state() = default;
  int fired = 0;
};

caf::behavior ten_minute_timer(caf::stateful_actor<timer_state>* self) {
  self->delayed_send(self, 10min, tick_atom::value);
  return {
      [=](tick_atom) { ++self->state.fired; },
      [=](caf::get_atom) { return self->state.fired; },
  };
}

}  // namespace

TEST_CASE_FIXTURE(fusion::test::det_fixture,
                  "fixture: simulated time passes a 10-minute timer instantly") {
  auto t = sys.spawn(ten_minute_timer);
  run();
  CHECK(ask<int>(t, caf::get_atom::value).value() == 0);
  advance(9min);
  CHECK(ask<int>(t, caf::get_atom::value).value() == 0);
  advance(1min);
  CHECK(ask<int>(t, caf::get_atom::value).value() == 1);
  caf::anon_send_exit(t, caf::exit_reason::kill);
  run();
}
