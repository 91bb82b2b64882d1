// Lanes (actors/lane.hpp): an idle laned actor is entered, and lends it the caller's
// execution unit for the call; one in a turn or one that has ended is not entered.
#include "actors/lane.hpp"

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <memory>
#include <thread>

namespace {

using namespace std::chrono_literals;
using lane_hold_atom = caf::atom_constant<caf::atom("lnhold")>;
using lane_stop_atom = caf::atom_constant<caf::atom("lnstop")>;
using lane_idle_atom = caf::atom_constant<caf::atom("lnidle")>;

struct probe_state {
  int handled = 0;
  static inline const char* name = "lane-probe";
};
using probe_actor = chorus::actors::laned_actor<probe_state>;

// `hold` keeps the actor in its turn until `release` is set (at most 10 s).
caf::behavior probe(probe_actor* self, std::shared_future<void> release,
                    std::shared_ptr<std::promise<void>> holding) {
  return {
    [=](lane_hold_atom) {
      holding->set_value();
      release.wait_for(10s);
      ++self->state.handled;
    },
    [=](int x) {
      ++self->state.handled;
      return x;
    },
    [=](lane_stop_atom) { self->quit(); },
    [=](lane_idle_atom) { return chorus::actors::mailbox_idle(self); },
  };
}

// Tries to enter until `want` holds for the outcome, for at most 5 s (the actor finishes
// its turn and blocks its mailbox a moment after its last reply).
template <class Pred>
bool enter_until(probe_actor* self, caf::execution_unit* eu, Pred want) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    chorus::actors::lane_entry<probe_actor> entry{self, eu};
    if (want(entry, self))
      return true;
    std::this_thread::yield();
  }
  return false;
}

} // namespace

TEST_CASE("lane: an idle actor is entered and borrows the caller's execution unit") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor s{sys};
  std::promise<void> release;
  auto holding = std::make_shared<std::promise<void>>();
  auto a = sys.spawn(probe, release.get_future().share(), holding);
  auto* self = static_cast<probe_actor*>(caf::actor_cast<caf::abstract_actor*>(a));
  s->request(a, std::chrono::seconds(5), 7).receive([](int) {}, [](caf::error&) { FAIL("no reply"); });

  auto* lent = reinterpret_cast<caf::execution_unit*>(uintptr_t{0x1000}); // never used
  CHECK(enter_until(self, lent, [&](auto& entry, probe_actor* p) {
    if (!entry)
      return false;
    ++p->state.handled;          // the state is ours inside
    CHECK(chorus::actors::mailbox_idle(p)); // blocked: nothing waiting
    return p->context() == lent; // ... and so is the execution unit
  }));
  // In a turn of its own, with nothing else sent to it: idle too.
  bool idle = false;
  s->request(a, std::chrono::seconds(5), lane_idle_atom::value)
    .receive([&](bool x) { idle = x; }, [](caf::error&) { FAIL("no reply"); });
  CHECK(idle);
  // The actor's own execution unit is back after the call.
  {
    std::lock_guard<std::mutex> g{self->lane_mutex};
    CHECK(self->context() != lent);
    CHECK(self->state.handled == 2); // the int and the lane (the idle query counts none)
  }

  SUBCASE("not while it is in a turn") {
    s->send(a, lane_hold_atom::value);
    REQUIRE(holding->get_future().wait_for(5s) == std::future_status::ready);
    {
      chorus::actors::lane_entry<probe_actor> entry{self, lent};
      CHECK_FALSE(entry);
    }
    release.set_value();
    CHECK(enter_until(self, lent, [](auto& entry, probe_actor*) { return bool(entry); }));
  }
  SUBCASE("not once it has ended") {
    release.set_value();
    s->send(a, lane_stop_atom::value);
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    bool ended = false;
    while (!ended && std::chrono::steady_clock::now() < deadline) {
      std::lock_guard<std::mutex> g{self->lane_mutex};
      ended = self->ended;
    }
    REQUIRE(ended);
    chorus::actors::lane_entry<probe_actor> entry{self, lent};
    CHECK_FALSE(entry);
  }
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}
