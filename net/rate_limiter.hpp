// Per-connection request rate limiting: the token bucket (common/token_bucket.hpp), and a
// rule that closes a connection which keeps being refused (docs/operations.md, "Tokens and roles", limits). Pure and
// allocation-free; time is passed in (std::chrono::steady_clock). Not thread-safe: one
// limiter per connection, used by the one thread or actor that owns the connection.
#pragma once

#include "common/token_bucket.hpp"

#include <chrono>
#include <cstdint>
#include <string_view>

namespace chorus::net {

using rate_clock = std::chrono::steady_clock;

// A rate_clock time as the token bucket's nanoseconds.
inline int64_t bucket_ns(rate_clock::time_point t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

struct rate_limit_config {
  // Generous by default: a client joining a meeting of 100 consumes and resumes 200+
  // producers in one go.
  uint32_t rate_per_s = 200;   // requests per second, sustained (0: no limit)
  uint32_t burst = 1000;       // requests at once after a quiet period
  uint32_t close_after = 1000; // refusals within `window` beyond which the connection closes
                              //   (0: never close, only refuse)
  std::chrono::milliseconds window{10000};
};

enum class rate_decision : uint8_t {
  allow,  // serve the request
  refuse, // answer rate-limited
  close,  // refused too often: close the connection (it is abusive)
};

std::string_view to_string(rate_decision d) noexcept; // "allow", "refuse", "close"

// The token bucket plus the abuse rule: once a connection has been refused more than
// `close_after` times within one window (a fixed window opened by the first refusal after
// the previous one expired), each further request is `close`. A request that the bucket
// allows does not reset the count: a client alternating allowed and refused requests at a
// high rate still reaches the limit.
class request_limiter {
public:
  request_limiter() noexcept = default;
  request_limiter(const rate_limit_config& cfg, rate_clock::time_point now) noexcept;

  rate_decision on_request(rate_clock::time_point now) noexcept;

  // Refusals counted in the current window.
  uint32_t refusals() const noexcept { return refusals_; }

private:
  token_bucket bucket_;
  uint32_t close_after_ = 0;
  rate_clock::duration window_{};
  rate_clock::time_point window_start_{};
  uint32_t refusals_ = 0;
};

} // namespace chorus::net
