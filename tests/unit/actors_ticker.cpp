// The node's ticker (actors/ticker.hpp) and its schedule (actors/tick_wheel.hpp): entries
// come due every period, spread over the period's phases; an ended subscriber is dropped
// and not pinned; an actor without a ticker keeps its own timer.
#include "actors/messages.hpp"
#include "actors/tick_wheel.hpp"
#include "actors/ticker.hpp"

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <thread>
#include <vector>

using chorus::actors::tick_wheel;

namespace {

// Advances `w` by `ticks`, keeping everything; returns, per value, the ticks it was due on.
std::map<int, std::vector<uint64_t>> run(tick_wheel<int>& w, int ticks) {
  std::map<int, std::vector<uint64_t>> due;
  for (int i = 0; i < ticks; ++i)
    w.advance([&](int v) {
      due[v].push_back(w.now());
      return true;
    });
  return due;
}

} // namespace

TEST_CASE("tick_wheel: every period, the entries of one period spread over its phases") {
  tick_wheel<int> w{64};
  for (int v = 0; v < 10; ++v)
    w.add(v, 10); // ten entries of period 10: one per tick
  auto due = run(w, 30);
  REQUIRE(due.size() == 10);
  for (int v = 0; v < 10; ++v) {
    CAPTURE(v);
    // First within one period (1 + its phase), then every 10 ticks.
    CHECK(due[v] == std::vector<uint64_t>{uint64_t(1 + v), uint64_t(11 + v), uint64_t(21 + v)});
  }
  // So no tick serves more than one of them.
  tick_wheel<int> w2{64};
  for (int v = 0; v < 30; ++v)
    w2.add(v, 10);
  for (int t = 0; t < 20; ++t)
    CHECK(w2.advance([](int) { return true; }) == 3);
  CHECK(w2.size() == 30);
}

TEST_CASE("tick_wheel: periods side by side, the wrap of the wheel, clamping") {
  tick_wheel<int> w{8};
  w.add(1, 1);  // every tick
  w.add(2, 8);  // the whole wheel: due on the same slot again
  w.add(3, 20); // longer than the wheel: served at the wheel's length
  w.add(4, 0);  // 0: every tick
  auto due = run(w, 20);
  CHECK(due[1].size() == 20);
  CHECK(due[4].size() == 20);
  CHECK(due[2] == std::vector<uint64_t>{1, 9, 17});
  // Clamped to 8: the second entry of period 8, so the next phase.
  CHECK(due[3] == std::vector<uint64_t>{2, 10, 18});
}

TEST_CASE("tick_wheel: an entry the visitor does not keep is gone") {
  tick_wheel<int> w{16};
  w.add(7, 2);
  w.add(8, 2);
  CHECK(w.size() == 2);
  int seen7 = 0;
  for (int i = 0; i < 10; ++i)
    w.advance([&](int v) {
      if (v == 7)
        return ++seen7 < 2; // kept once, dropped on its second turn
      return true;
    });
  CHECK(seen7 == 2);
  CHECK(w.size() == 1);
}

namespace {

using ping_atom = caf::atom_constant<caf::atom("tkping")>;

// Counts `ping_atom`s; replies with the count to an int.
struct counter_state {
  int pings = 0;
};

caf::behavior counter(caf::stateful_actor<counter_state>* self) {
  return {
    [self](ping_atom) { ++self->state.pings; },
    [self](int) { return self->state.pings; },
  };
}

int pings_of(caf::scoped_actor& s, const caf::actor& a) {
  int n = -1;
  s->request(a, std::chrono::seconds(5), 0).receive([&](int x) { n = x; }, [](caf::error&) {});
  return n;
}

// Waits (5 ms steps, at most 5 s) until `a` counted at least `want` pings.
int await_pings(caf::scoped_actor& s, const caf::actor& a, int want) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int n = pings_of(s, a);
  while (n < want && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    n = pings_of(s, a);
  }
  return n;
}

} // namespace

TEST_CASE("ticker: subscribers get their atom every period; an ended one is dropped, not pinned") {
  caf::actor_system_config cfg;
  chorus::actors::register_message_types(cfg);
  caf::actor_system sys{cfg};
  caf::scoped_actor s{sys};
  auto ticker = chorus::actors::spawn_ticker(sys);
  auto fast = sys.spawn(counter);
  auto gone = sys.spawn(counter);
  s->send(ticker, chorus::actors::tick_subscribe{fast.address(), ping_atom::value, 100});
  s->send(ticker, chorus::actors::tick_subscribe{gone.address(), ping_atom::value, 100});
  // Every tick (100 ms): 5 pings take about half a second.
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(await_pings(s, fast, 5) >= 5);
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took >= std::chrono::milliseconds(350)); // not faster than the period
  CHECK(await_pings(s, gone, 1) >= 1);
  // `gone` ends; the ticker holds it weakly: once its next turn came, only the test's own
  // address is left of it (no allocation pinned by the ticker).
  auto gone_addr = gone.address();
  s->send_exit(gone, caf::exit_reason::user_shutdown);
  s->wait_for(gone);
  gone = nullptr;
  auto* ctrl = caf::actor_cast<caf::actor_control_block*>(gone_addr);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (ctrl->weak_refs.load() != 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(ctrl->weak_refs.load() == 1);
  // The other one goes on.
  const int before = pings_of(s, fast);
  CHECK(await_pings(s, fast, before + 2) >= before + 2);
  s->send_exit(fast, caf::exit_reason::user_shutdown);
  s->send_exit(ticker, caf::exit_reason::user_shutdown);
}

TEST_CASE("tick_every: without a ticker the actor's own timer, again at each tick") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor s{sys};
  auto self_timed = sys.spawn([](caf::stateful_actor<counter_state>* self) -> caf::behavior {
    chorus::actors::tick_every(self, caf::actor{}, ping_atom::value, std::chrono::milliseconds(20),
                               false);
    return {
      [self](ping_atom) {
        ++self->state.pings;
        chorus::actors::tick_every(self, caf::actor{}, ping_atom::value,
                                   std::chrono::milliseconds(20), true);
      },
      [self](int) { return self->state.pings; },
    };
  });
  CHECK(await_pings(s, self_timed, 3) >= 3);
  s->send_exit(self_timed, caf::exit_reason::user_shutdown);
}
