#include "net/rate_limiter.hpp"

namespace chorus::net {

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
  : bucket_(cfg.rate_per_s, cfg.burst, bucket_ns(now)), close_after_(cfg.close_after), window_(cfg.window) {}

rate_decision request_limiter::on_request(rate_clock::time_point now) noexcept {
  if (bucket_.try_take(1, bucket_ns(now)))
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
