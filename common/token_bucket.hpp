// The token bucket: at most `burst` tokens, refilled at `rate_per_s` tokens per second; a
// taker gets n tokens only if the bucket holds them. The one bucket of the project: a
// connection's requests (net/rate_limiter.hpp), a participant's chat messages, STUN error
// answers (net/ice_server.hpp) and, counting bits, a consumer's retransmission budget
// (rtp/rate_cap.hpp).
//
// Exact integer arithmetic: the level is kept in billionths of a token and every nanosecond
// adds `rate_per_s` of them, so a steady taker at exactly the rate is never refused and
// small or irregular steps add up to what one large step adds. rate 0: unlimited, every
// take succeeds.
//
// The clock (nanoseconds, any origin): the bucket starts full, at the time given to the
// constructor or else at the first call. A clock that stands still or steps back adds
// nothing, and the reference never moves back, so a later step forward is not credited
// twice.
//
// Pure: the time is passed in, no allocation. Not thread-safe: one owner.
#pragma once

#include <cstdint>

namespace chorus {

class token_bucket {
public:
  token_bucket() noexcept = default; // unlimited
  token_bucket(uint64_t rate_per_s, uint64_t burst) noexcept;
  token_bucket(uint64_t rate_per_s, uint64_t burst, int64_t now_ns) noexcept;

  // Takes `n` tokens if the bucket holds them at now_ns (after refilling); else nothing.
  bool try_take(uint64_t n, int64_t now_ns) noexcept;
  // Whole tokens held at now_ns (refills; takes nothing). Unlimited: UINT64_MAX.
  uint64_t available(int64_t now_ns) noexcept;
  // From now_ns on at the new rate (what accrued until then at the old one is kept; from
  // unlimited the bucket starts full). 0: unlimited.
  void set_rate(uint64_t rate_per_s, int64_t now_ns) noexcept;

  uint64_t rate_per_s() const noexcept { return rate_; }
  uint64_t burst() const noexcept { return burst_; }

private:
  __extension__ typedef unsigned __int128 wide; // a burst of 2^64 tokens in billionths
  void refill(int64_t now_ns) noexcept;
  wide capacity() const noexcept { return wide(burst_) * unit; }

  static constexpr uint64_t unit = 1'000'000'000; // one token
  uint64_t rate_ = 0;
  uint64_t burst_ = 0;
  wide level_ = 0;
  int64_t last_ns_ = 0;
  bool started_ = false;
};

} // namespace chorus
