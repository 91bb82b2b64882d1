// The node's ticker: the periodic work of many actors on one timer.
//
// Every delayed_send wakes CAF's clock thread twice (to take the new timer, and when it
// fires) and then a worker for the message. Consumers' report timers (once a second),
// transports' totals (once a second) and a publishing transport's feedback fallback (every
// 25 ms) were, at class 20, 101 of the 108 timers a second, and the clock thread's wake-ups
// about a tenth of the server's CPU (docs/design/scheduler-wakeups.md, "Fewer timers").
// None of that work needs a precise time. The ticker keeps one timer
// (every tick_interval) and a tick_wheel of subscribers: each is sent the atom it asked
// for every `period` (rounded to ticks), in a phase of its own, so that 300 consumers' sender
// reports are spread over the second rather than all sent in one tick.
//
// Messages:
//   tick_subscribe -> `who` is sent `what` every period_ms from now on (the first time
//                     within one period).
//   exit           -> quits (at the node's shutdown).
// Subscribers are held weakly (actor_addr): one that ended is dropped on its next turn, and
// nothing of it stays pinned meanwhile but its control block. There is no unsubscribe: an
// actor that no longer wants the ticks ignores them until it ends.
//
// Actors that may run without a ticker (node_context::ticker null, as in unit tests) keep
// their own timer: tick_every() below does either.
#pragma once

#include "actors/message_declaration.hpp"

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

#include <chrono>
#include <cstdint>

namespace chorus::actors {

struct tick_subscribe {
  caf::actor_addr who;
  caf::atom_value what = caf::atom("");
  uint32_t period_ms = 1000;
};

CHORUS_MESSAGE(tick_subscribe, x.who, x.what, x.period_ms);

constexpr auto tick_interval = std::chrono::milliseconds(100);

caf::actor spawn_ticker(caf::actor_system& sys);

// Has `self` sent `what` every `period`: by the ticker when there is one (call it once),
// else by its own delayed_send (call it again from the handler of `what`, `again` true:
// it then does nothing when the ticker serves `self`).
void tick_every(caf::event_based_actor* self, const caf::actor& ticker, caf::atom_value what,
                std::chrono::milliseconds period, bool again);

} // namespace chorus::actors
