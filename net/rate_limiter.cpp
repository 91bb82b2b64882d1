#include "net/rate_limiter.hpp"

namespace chorus::net {

token_bucket::token_bucket(uint32_t rate_per_s, uint32_t burst, rate_clock::time_point now) noexcept
  : rate_(rate_per_s), burst_(burst), level_(static_cast<int64_t>(burst) * unit), last_(now) {}

void token_bucket::refill(rate_clock::time_point now) noexcept {
  // A clock that stands still or steps back refills nothing, and `last_` never moves back,
  // so a later forward step is not counted twice.
  if (rate_ == 0 || now <= last_)
    return;
  const int64_t capacity = static_cast<int64_t>(burst_) * unit;
  const int64_t missing = capacity - level_;
  const int64_t elapsed_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_).count();
  last_ = now;
  if (missing <= 0)
    return;
  // One token per 1e9/rate ns: the bucket is full after ceil(missing / rate) ns. Checking
  // that first keeps elapsed_ns * rate_ from overflowing after a long pause.
  const int64_t to_full_ns = (missing + rate_ - 1) / rate_;
  if (elapsed_ns >= to_full_ns)
    level_ = capacity;
  else
    level_ += elapsed_ns * static_cast<int64_t>(rate_);
}

bool token_bucket::try_take(rate_clock::time_point now, uint32_t n) noexcept {
  if (rate_ == 0)
    return true;
  refill(now);
  const int64_t need = static_cast<int64_t>(n) * unit;
  if (level_ < need)
    return false;
  level_ -= need;
  return true;
}

uint32_t token_bucket::available(rate_clock::time_point now) noexcept {
  if (rate_ == 0)
    return UINT32_MAX;
  refill(now);
  return static_cast<uint32_t>(level_ / unit);
}

std::string_view to_string(rate_decision d) noexcept {
  switch (d) {
    case rate_decision::allow:
      return "allow";
    case rate_decision::refuse:
      return "refuse";
    case rate_decision::close:
      return "close";
  }
  return "unknown";
}

request_limiter::request_limiter(const rate_limit_config& cfg, rate_clock::time_point now) noexcept
  : bucket_(cfg.rate_per_s, cfg.burst, now), close_after_(cfg.close_after), window_(cfg.window) {}

rate_decision request_limiter::on_request(rate_clock::time_point now) noexcept {
  if (bucket_.try_take(now))
    return rate_decision::allow;
  if (refusals_ == 0 || now - window_start_ >= window_) {
    window_start_ = now;
    refusals_ = 0;
  }
  if (refusals_ < UINT32_MAX)
    ++refusals_;
  return close_after_ != 0 && refusals_ > close_after_ ? rate_decision::close
                                                       : rate_decision::refuse;
}

} // namespace chorus::net
