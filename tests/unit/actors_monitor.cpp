// monitor_for_life (actors/monitor.hpp): an actor that monitors a longer-lived one and ends
// first must not stay attached to it. What shows it: the weak references to the ended
// actor's control block. Each holder of an actor_addr has one; a monitor left behind on the
// long-lived actor is one more, which keeps the ended actor's allocation alive.
#include "actors/monitor.hpp"

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

namespace {

// Polls (every 5 ms, for at most 5 s) until `addr`'s control block has `want` weak
// references; returns the last count seen.
size_t await_weak_refs(const caf::actor_addr& addr, size_t want) {
  auto* ctrl = caf::actor_cast<caf::actor_control_block*>(addr);
  REQUIRE(ctrl != nullptr);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  size_t n = ctrl->weak_refs.load();
  while (n != want && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    n = ctrl->weak_refs.load();
  }
  return n;
}

// Spawns a watcher of `target` that ends at once; returns its address (the test's one weak
// reference) once it has ended.
template <class Watch>
caf::actor_addr ended_watcher(caf::actor_system& sys, const caf::actor& target, Watch watch) {
  auto w = sys.spawn([target, watch](caf::event_based_actor* self) {
    watch(self, target);
    self->quit();
    return caf::behavior{[](int) {}};
  });
  auto addr = w.address();
  caf::scoped_actor s{sys};
  s->wait_for(w);
  return addr;
}

} // namespace

TEST_CASE("monitor_for_life: an ended watcher is not kept by the actor it watched") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto long_lived = sys.spawn([] { return caf::behavior{[](int) {}}; });

  // With CAF's plain monitor, the ended watcher stays attached to the long-lived actor:
  // two weak references (ours and the monitor's) for as long as that one lives. This is
  // the behaviour the helper exists for; if CAF ever drops such monitors by itself, this
  // check fails and the helper can go.
  auto plain = ended_watcher(sys, long_lived,
                             [](caf::event_based_actor* self, const caf::actor& t) { self->monitor(t); });
  CHECK(await_weak_refs(plain, 2) == 2);

  auto helped = ended_watcher(sys, long_lived, [](caf::event_based_actor* self, const caf::actor& t) {
    chorus::actors::monitor_for_life(self, t);
  });
  CHECK(await_weak_refs(helped, 1) == 1); // only ours: the allocation goes with it

  // The long-lived actor's end still lets the first one go.
  caf::anon_send_exit(long_lived, caf::exit_reason::user_shutdown);
  CHECK(await_weak_refs(plain, 1) == 1);
}

TEST_CASE("monitor_for_life: the watcher still hears of the watched actor's end") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto target = sys.spawn([] { return caf::behavior{[](int) {}}; });
  caf::scoped_actor s{sys};
  auto watcher = sys.spawn([target, listener = caf::actor{s}](caf::event_based_actor* self) {
    chorus::actors::monitor_for_life(self, target);
    self->set_down_handler([self, listener](caf::down_msg& dm) {
      self->send(listener, dm.reason);
      self->quit();
    });
    return caf::behavior{[](int) {}};
  });
  caf::anon_send_exit(target, caf::exit_reason::user_shutdown);
  bool heard = false;
  s->receive([&](caf::error& reason) { heard = reason == caf::exit_reason::user_shutdown; },
             caf::after(std::chrono::seconds(5)) >> [] {});
  CHECK(heard);
  s->wait_for(watcher);
}
