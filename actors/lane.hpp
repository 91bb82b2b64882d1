// Lanes: running an idle actor's handler directly, in the caller's thread, instead of
// sending it a message and paying for a turn of its own (docs/design/lanes.md).
//
// A laned actor holds its lane mutex through every turn (it overrides CAF's resume). A
// caller enters the lane only by trying that mutex, and only while the actor is idle: not
// in a turn, alive, and with an empty mailbox (blocked: everything sent to it before has
// been handled, so what the caller hands over overtakes nothing). Inside, the actor's
// state is the caller's to use as the actor's own handler would. What the actor sends
// meanwhile is enqueued on the caller's execution unit (the actor borrows it for the
// call): a worker's, which takes the job after its own turn, or none off the scheduler's
// threads (the media I/O thread), where the scheduler wakes a worker for it. Nothing
// inside a lane may block waiting for another actor: callers only ever try locks.
//
// Used by the media path only: the I/O thread enters a transport, a transport a producer,
// a producer its consumers. This header includes CAF: actor sources only.
#pragma once

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/execution_unit.hpp>
#include <caf/resumable.hpp>
#include <caf/stateful_actor.hpp>

#include <mutex>

namespace chorus::actors {

template <class State>
class laned_actor : public caf::stateful_actor<State> {
public:
  using super = caf::stateful_actor<State>;
  explicit laned_actor(caf::actor_config& cfg) : super(cfg) {}

  caf::resumable::resume_result resume(caf::execution_unit* eu, size_t max_throughput) override {
    std::lock_guard<std::mutex> guard{lane_mutex};
    auto result = super::resume(eu, max_throughput);
    if (result == caf::resumable::done)
      ended = true; // the state is gone (destroyed when the actor quit)
    return result;
  }

  std::mutex lane_mutex;
  bool ended = false; // guarded by lane_mutex
};

// The laned actor behind a handle: nullptr when it is anything else (a relay, a proxy of a
// remote actor). Ask once and keep the pointer while holding the handle.
template <class Actor>
Actor* lane_of(const caf::actor& handle) {
  return dynamic_cast<Actor*>(caf::actor_cast<caf::abstract_actor*>(handle));
}

// Nothing is waiting in the actor's mailbox, asked from inside a handler: blocked when the
// handler was entered through the lane (CAF's empty() does not apply to a blocked mailbox),
// empty in a turn of its own.
template <class Actor>
bool mailbox_idle(Actor* self) {
  const auto& mailbox = self->mailbox();
  return mailbox.blocked() || mailbox.empty();
}

// Holds an idle actor's lane for one call and lends it `eu` (see above); false (holding
// nothing) when the actor is in a turn, has mail or has ended.
template <class Actor>
class lane_entry {
public:
  lane_entry(Actor* self, caf::execution_unit* eu) : self_(self), guard_(self->lane_mutex, std::try_to_lock) {
    if (!guard_.owns_lock())
      return;
    if (self->ended || !self->mailbox().blocked()) {
      guard_.unlock();
      return;
    }
    saved_ = self->context();
    self->context(eu);
  }
  ~lane_entry() {
    if (guard_.owns_lock())
      self_->context(saved_);
  }
  lane_entry(const lane_entry&) = delete;
  lane_entry& operator=(const lane_entry&) = delete;

  explicit operator bool() const noexcept { return guard_.owns_lock(); }

private:
  Actor* self_;
  std::unique_lock<std::mutex> guard_;
  caf::execution_unit* saved_ = nullptr;
};

} // namespace chorus::actors
