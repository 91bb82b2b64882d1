#include "rtp/token_bucket.hpp"

#include <algorithm>
#include <limits>

namespace chorus::rtp {

namespace {
constexpr uint64_t micro_bits_per_byte = 8'000'000;
} // namespace

token_bucket::token_bucket(uint64_t rate_bps, uint32_t burst_bytes) noexcept
    : rate_bps_(rate_bps), burst_bytes_(burst_bytes),
      capacity_(uint64_t{burst_bytes} * micro_bits_per_byte), tokens_(capacity_) {}

uint32_t token_bucket::suggested_burst(uint64_t rate_bps) noexcept {
  const uint64_t twenty_ms = rate_bps / 8 / 50; // bytes in 20 ms
  const uint64_t b = std::max<uint64_t>(twenty_ms, 2 * 1500);
  return static_cast<uint32_t>(std::min<uint64_t>(b, std::numeric_limits<uint32_t>::max()));
}

void token_bucket::refill(int64_t now_us) noexcept {
  if (!started_ || now_us <= last_us_) { // first call, same time, or the clock went back
    started_ = true;
    last_us_ = now_us;
    return;
  }
  // Elapsed time as unsigned: now > last, so the difference fits even across the whole
  // int64 range.
  const uint64_t elapsed = uint64_t(now_us) - uint64_t(last_us_);
  last_us_ = now_us;
  if (rate_bps_ == 0) {
    tokens_ = capacity_;
    return;
  }
  const uint64_t missing = capacity_ - tokens_;
  // elapsed * rate >= missing  <=>  elapsed >= ceil(missing / rate): full, and the product
  // (which could overflow) is only formed when it is below `missing`.
  const uint64_t to_full_us = missing / rate_bps_ + (missing % rate_bps_ != 0 ? 1 : 0);
  if (elapsed >= to_full_us)
    tokens_ = capacity_;
  else
    tokens_ += elapsed * rate_bps_;
}

bool token_bucket::admit(std::size_t bytes, int64_t now_us) noexcept {
  refill(now_us);
  if (rate_bps_ == 0) {
    ++admitted_;
    admitted_bytes_ += bytes;
    return true;
  }
  // bytes above the burst can never be held (and would overflow the product).
  if (bytes <= burst_bytes_ && uint64_t(bytes) * micro_bits_per_byte <= tokens_) {
    tokens_ -= uint64_t(bytes) * micro_bits_per_byte;
    ++admitted_;
    admitted_bytes_ += bytes;
    return true;
  }
  ++dropped_;
  dropped_bytes_ += bytes;
  return false;
}

void token_bucket::set_rate(uint64_t rate_bps, int64_t now_us) noexcept {
  refill(now_us); // at the old rate up to now (unlimited: the bucket is full)
  if (rate_bps_ == 0) tokens_ = capacity_;
  rate_bps_ = rate_bps;
}

} // namespace chorus::rtp
