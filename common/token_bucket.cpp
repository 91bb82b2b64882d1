#include "common/token_bucket.hpp"

#include <limits>

namespace chorus {

token_bucket::token_bucket(uint64_t rate_per_s, uint64_t burst) noexcept
  : rate_(rate_per_s), burst_(burst), level_(capacity()) {}

token_bucket::token_bucket(uint64_t rate_per_s, uint64_t burst, int64_t now_ns) noexcept
  : rate_(rate_per_s), burst_(burst), level_(capacity()), last_ns_(now_ns), started_(true) {}

void token_bucket::refill(int64_t now_ns) noexcept {
  if (!started_) {
    started_ = true;
    last_ns_ = now_ns;
    return;
  }
  if (now_ns <= last_ns_)
    return;
  // As unsigned: now > last, so the difference fits across the whole int64 range.
  const uint64_t elapsed = uint64_t(now_ns) - uint64_t(last_ns_);
  last_ns_ = now_ns;
  const wide full = capacity();
  if (rate_ == 0 || level_ >= full) {
    level_ = full;
    return;
  }
  // At most 2^64 ns times 2^64 per ns: the product fits in 128 bits.
  const wide added = wide(elapsed) * rate_;
  level_ = full - level_ <= added ? full : level_ + added;
}

bool token_bucket::try_take(uint64_t n, int64_t now_ns) noexcept {
  refill(now_ns);
  if (rate_ == 0)
    return true;
  const wide need = wide(n) * unit;
  if (level_ < need)
    return false;
  level_ -= need;
  return true;
}

uint64_t token_bucket::available(int64_t now_ns) noexcept {
  refill(now_ns);
  if (rate_ == 0)
    return std::numeric_limits<uint64_t>::max();
  return uint64_t(level_ / unit);
}

void token_bucket::set_rate(uint64_t rate_per_s, int64_t now_ns) noexcept {
  refill(now_ns); // at the old rate up to now
  if (rate_ == 0)
    level_ = capacity(); // capping an unlimited bucket starts it full
  rate_ = rate_per_s;
}

} // namespace chorus
