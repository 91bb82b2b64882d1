// A byte stream capped at a rate: a consumer's retransmission budget (what it resends beyond
// half its media rate is not sent). The one token bucket (common/token_bucket.hpp)
// counting bits, with what was admitted and dropped.
//
// admit(bytes) takes the bytes if the bucket holds them and says yes; else it takes
// nothing, counts a drop and says no (a packet larger than the burst is therefore never
// admitted at a capped rate: choose burst >= the largest packet). rate 0: unlimited,
// everything is admitted. The bucket starts full at the first call; the clock rules are the
// bucket's.
//
// Suggested burst (suggested_burst()): 20 ms of the rate, at least 2 packets of 1500 bytes.
//
// Pure: the time is passed in (microseconds), no allocation.
#pragma once

#include "common/token_bucket.hpp"

#include <cstddef>
#include <cstdint>

namespace chorus::rtp {

class rate_cap {
public:
  rate_cap(uint64_t rate_bps, uint32_t burst_bytes) noexcept;

  // True (and the bytes are taken) if the cap allows `bytes` at now_us; false: drop.
  bool admit(std::size_t bytes, int64_t now_us) noexcept;
  // Changes the rate from now_us on (what accrued until now_us at the old rate is kept;
  // from unlimited, the bucket starts full). 0: unlimited.
  void set_rate(uint64_t rate_bps, int64_t now_us) noexcept;

  uint64_t rate_bps() const noexcept { return bits_.rate_per_s(); }
  uint32_t burst_bytes() const noexcept { return burst_bytes_; }
  uint64_t admitted() const noexcept { return admitted_; }            // packets
  uint64_t admitted_bytes() const noexcept { return admitted_bytes_; }
  uint64_t dropped() const noexcept { return dropped_; }              // packets
  uint64_t dropped_bytes() const noexcept { return dropped_bytes_; }

  // 20 ms of rate_bps, but at least 2 x 1500 bytes (and at most UINT32_MAX).
  static uint32_t suggested_burst(uint64_t rate_bps) noexcept;

private:
  token_bucket bits_;
  uint32_t burst_bytes_;
  uint64_t admitted_ = 0, admitted_bytes_ = 0, dropped_ = 0, dropped_bytes_ = 0;
};

} // namespace chorus::rtp
