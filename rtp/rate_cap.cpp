#include "rtp/rate_cap.hpp"

#include <algorithm>
#include <limits>

namespace chorus::rtp {

namespace {
// Microseconds as the bucket's nanoseconds, saturated at the ends of the range.
int64_t to_ns(int64_t us) noexcept {
  constexpr int64_t limit = std::numeric_limits<int64_t>::max() / 1000;
  if (us > limit)
    return std::numeric_limits<int64_t>::max();
  if (us < -limit)
    return std::numeric_limits<int64_t>::min();
  return us * 1000;
}
} // namespace

rate_cap::rate_cap(uint64_t rate_bps, uint32_t burst_bytes) noexcept
  : bits_(rate_bps, uint64_t{burst_bytes} * 8), burst_bytes_(burst_bytes) {}

uint32_t rate_cap::suggested_burst(uint64_t rate_bps) noexcept {
  const uint64_t twenty_ms = rate_bps / 8 / 50; // bytes in 20 ms
  const uint64_t b = std::max<uint64_t>(twenty_ms, 2 * 1500);
  return static_cast<uint32_t>(std::min<uint64_t>(b, std::numeric_limits<uint32_t>::max()));
}

bool rate_cap::admit(std::size_t bytes, int64_t now_us) noexcept {
  // Bytes above the burst can never be held (and their bits could overflow).
  if ((bytes <= burst_bytes_ || bits_.rate_per_s() == 0) &&
      bits_.try_take(uint64_t(bytes) * 8, to_ns(now_us))) {
    ++admitted_;
    admitted_bytes_ += bytes;
    return true;
  }
  ++dropped_;
  dropped_bytes_ += bytes;
  return false;
}

void rate_cap::set_rate(uint64_t rate_bps, int64_t now_us) noexcept {
  bits_.set_rate(rate_bps, to_ns(now_us));
}

} // namespace chorus::rtp
