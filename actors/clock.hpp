// The two clocks actors pass to the pure layers: monotonic milliseconds for timers and
// statistics, wall-clock milliseconds since the Unix epoch for NTP timestamps.
#pragma once

#include <chrono>
#include <cstdint>

namespace chorus::actors {

inline int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

inline int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

inline int64_t mono_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

// `known` (a reading taken earlier in the same handler, e.g. rtp_out::now_us) when set, else
// the clock now.
inline int64_t mono_us_or(int64_t known) { return known != 0 ? known : mono_us(); }

inline int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

} // namespace chorus::actors
