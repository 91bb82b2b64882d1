// A token bucket capping a byte stream at a rate: a consumer's retransmission budget (what
// it resends beyond a quarter of its media rate is not sent). net::token_bucket
// (net/rate_limiter.hpp) is the other kind: whole messages per second for signaling.
//
// The bucket holds at most burst_bytes and refills at rate_bps with the time elapsed
// between calls. admit(bytes) takes the bytes if the bucket holds them and says yes; else it
// takes nothing, counts a drop and says no (a packet larger than the burst is therefore
// never admitted at a capped rate: choose burst >= the largest packet). rate 0: unlimited,
// everything is admitted.
//
// Exact integer arithmetic: the bucket is kept in micro-bits (1 byte = 8'000'000), and
// elapsed microseconds x rate_bps is exactly what accrues, so there is no rounding drift
// however small or irregular the steps. The clock: the bucket starts full and the first
// call only sets the reference time; a call at the same time adds nothing; a clock going
// backwards adds nothing and becomes the new reference (so a clock stepped back does not
// starve the bucket; at most a burst may be credited twice).
//
// Suggested burst (suggested_burst()): 20 ms of the rate, at least 2 packets of 1500 bytes.
//
// Pure: the time is passed in (microseconds), no allocation.
#pragma once

#include <cstddef>
#include <cstdint>

namespace chorus::rtp {

class token_bucket {
public:
  token_bucket(uint64_t rate_bps, uint32_t burst_bytes) noexcept;

  // True (and the bytes are taken) if the cap allows `bytes` at now_us; false: drop.
  bool admit(std::size_t bytes, int64_t now_us) noexcept;
  // Changes the rate from now_us on (what accrued until now_us at the old rate is kept;
  // from unlimited, the bucket starts full). 0: unlimited.
  void set_rate(uint64_t rate_bps, int64_t now_us) noexcept;

  uint64_t rate_bps() const noexcept { return rate_bps_; }
  uint32_t burst_bytes() const noexcept { return burst_bytes_; }
  uint64_t admitted() const noexcept { return admitted_; }            // packets
  uint64_t admitted_bytes() const noexcept { return admitted_bytes_; }
  uint64_t dropped() const noexcept { return dropped_; }              // packets
  uint64_t dropped_bytes() const noexcept { return dropped_bytes_; }

  // 20 ms of rate_bps, but at least 2 x 1500 bytes (and at most UINT32_MAX).
  static uint32_t suggested_burst(uint64_t rate_bps) noexcept;

private:
  void refill(int64_t now_us) noexcept;

  uint64_t rate_bps_;
  uint32_t burst_bytes_;
  uint64_t capacity_;  // burst in micro-bits
  uint64_t tokens_;    // micro-bits
  int64_t last_us_ = 0;
  bool started_ = false;
  uint64_t admitted_ = 0, admitted_bytes_ = 0, dropped_ = 0, dropped_bytes_ = 0;
};

} // namespace chorus::rtp
