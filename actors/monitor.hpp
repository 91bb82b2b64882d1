// Monitoring an actor that may outlive the one watching it.
//
// CAF 0.17 keeps a monitor on the monitored actor: an attachable holding a weak reference
// to the monitoring one, removed by demonitor() or when the monitored actor ends, but not
// when the monitoring actor ends. An actor that watches a longer-lived one (a peer its node,
// a consumer its producer) and ends first would stay attached to it, and the weak reference
// keeps the ended actor's whole allocation (its control block and its state's storage,
// about 1.8 KB for a peer) from being freed for as long as the other lives: no count sees
// it, malloc_trim cannot return it. That was the churn soak's RSS climb
// (docs/reliability.md, "Churn soak"). monitor_for_life() monitors and lets go when the
// watcher ends.
#pragma once

#include <caf/actor_addr.hpp>
#include <caf/actor_cast.hpp>

namespace chorus::actors {

template <class Self, class Handle>
void monitor_for_life(Self* self, const Handle& whom) {
  if (!whom)
    return;
  self->monitor(whom);
  // Runs when `self` ends, after its state is gone: it captures what it needs.
  self->attach_functor(
    [self, addr = caf::actor_cast<caf::actor_addr>(whom)] { self->demonitor(addr); });
}

} // namespace chorus::actors
