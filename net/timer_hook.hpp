// Timers another layer hands to the media I/O thread (media_io::set_timer_hook). That
// thread wakes for every packet that arrives: timers that fall due meanwhile are run on
// one of those wake-ups instead of waking a thread of their own, and when no packet comes
// the thread's wait ends at the next timer.
#pragma once

#include <cstdint>
#include <limits>

namespace chorus::net {

inline constexpr int64_t no_timer_due = std::numeric_limits<int64_t>::max();

class io_timer_hook {
public:
  virtual ~io_timer_hook() = default;
  // Runs what is due at now_ns (steady_clock nanoseconds) and returns when the next timer
  // falls due (steady_clock nanoseconds; no_timer_due: none). Called before every wait of
  // the I/O thread; must not block.
  virtual int64_t run_due(int64_t now_ns) = 0;
};

} // namespace chorus::net
