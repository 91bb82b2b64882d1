#include "actors/ticker.hpp"

#include "actors/tick_wheel.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

namespace chorus::actors {

namespace {

using ticker_tick_atom = caf::atom_constant<caf::atom("tkrtick")>;

// Enough slots for a period of 6.4 s at 100 ms ticks; longer periods are served at that.
constexpr std::size_t wheel_slots = 64;

struct subscriber {
  caf::actor_addr who;
  caf::atom_value what;
};

struct ticker_state {
  tick_wheel<subscriber> wheel{wheel_slots};
  static inline const char* name = "ticker";
};

caf::behavior ticker_impl(caf::stateful_actor<ticker_state>* self) {
  self->delayed_send(self, tick_interval, ticker_tick_atom::value);
  return {
    [self](tick_subscribe& s) {
      if (!s.who)
        return;
      const auto ticks = (std::chrono::milliseconds(s.period_ms) + tick_interval / 2) / tick_interval;
      self->state.wheel.add({std::move(s.who), s.what}, std::size_t(std::max<int64_t>(1, ticks)));
    },
    [self](ticker_tick_atom) {
      self->state.wheel.advance([self](const subscriber& s) {
        auto handle = caf::actor_cast<caf::actor>(s.who);
        if (!handle)
          return false; // ended: dropped
        self->send(handle, s.what);
        return true;
      });
      self->delayed_send(self, tick_interval, ticker_tick_atom::value);
    },
  };
}

} // namespace

caf::actor spawn_ticker(caf::actor_system& sys) { return sys.spawn(ticker_impl); }

void tick_every(caf::event_based_actor* self, const caf::actor& ticker, caf::atom_value what,
                std::chrono::milliseconds period, bool again) {
  if (ticker) {
    if (!again)
      self->send(ticker, tick_subscribe{self->address(), what, uint32_t(period.count())});
    return;
  }
  self->delayed_send(self, period, what);
}

} // namespace chorus::actors
