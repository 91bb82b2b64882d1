// The per-connection request limiter (net/rate_limiter.hpp): its token bucket and the abuse rule.
#include "net/rate_limiter.hpp"

#include <doctest/doctest.h>

using namespace chorus::net;
using namespace std::chrono_literals;

namespace {
const rate_clock::time_point t0 = rate_clock::time_point{} + 1000s;
}

// The token bucket itself (common/token_bucket.hpp), as the limiter uses it: time in ns.
namespace {
constexpr int64_t ms = 1'000'000, s_ = 1'000 * ms;
const int64_t n0 = bucket_ns(t0);
} // namespace

TEST_CASE("token bucket: a full burst, then refusals") {
  chorus::token_bucket b{10, 5, n0};
  CHECK(b.available(n0) == 5);
  for (int i = 0; i < 5; ++i)
    CHECK(b.try_take(1, n0));
  CHECK_FALSE(b.try_take(1, n0));
  CHECK(b.available(n0) == 0);
}

TEST_CASE("token bucket: refill at the rate, capped at the burst") {
  chorus::token_bucket b{10, 5, n0};
  for (int i = 0; i < 5; ++i)
    REQUIRE(b.try_take(1, n0));
  CHECK_FALSE(b.try_take(1, n0 + 99 * ms));  // 0.99 token
  CHECK(b.try_take(1, n0 + 100 * ms));       // one token per 100 ms
  CHECK_FALSE(b.try_take(1, n0 + 150 * ms));
  CHECK(b.try_take(1, n0 + 200 * ms));
  CHECK(b.available(n0 + 3600 * s_) == 5);    // never more than the burst, even after long
  CHECK(b.try_take(5, n0 + 3600 * s_));
  CHECK_FALSE(b.try_take(1, n0 + 3600 * s_));
  CHECK_FALSE(b.try_take(1, n0 + 3600 * s_ + 50 * ms));
}

TEST_CASE("token bucket: a client at exactly the rate is never refused") {
  chorus::token_bucket b{3, 2, n0};
  REQUIRE(b.try_take(2, n0));
  // 1/3 s is not a whole number of nanoseconds: fractions of a token must add up exactly
  // (a request at the first nanosecond its token is complete).
  int64_t t = n0;
  int refused = 0;
  for (int i = 1; i <= 3000; ++i) {
    t = n0 + int64_t(i) * 1'000'000'000 / 3 + (i % 3 ? 1 : 0);
    refused += b.try_take(1, t) ? 0 : 1;
  }
  CHECK(refused == 0);
  CHECK_FALSE(b.try_take(1, t)); // and not one more
}

TEST_CASE("token bucket: a clock that stands still or steps back adds nothing") {
  chorus::token_bucket b{10, 2, n0};
  REQUIRE(b.try_take(2, n0));
  CHECK_FALSE(b.try_take(1, n0 - 5 * s_));
  CHECK_FALSE(b.try_take(1, n0));
  CHECK_FALSE(b.try_take(1, n0 + 50 * ms));
  CHECK(b.try_take(1, n0 + 100 * ms)); // measured from n0, not from the earlier time
  CHECK_FALSE(b.try_take(1, n0 + 100 * ms));
}

TEST_CASE("token bucket: without a start time the first call is the start") {
  chorus::token_bucket b{10, 2};
  CHECK(b.try_take(2, 7 * s_)); // full at its first call, whatever the clock says
  CHECK_FALSE(b.try_take(1, 7 * s_ + 99 * ms));
  CHECK(b.try_take(1, 7 * s_ + 100 * ms));
}

TEST_CASE("token bucket: set_rate keeps what accrued; capping an unlimited bucket starts it full") {
  chorus::token_bucket b{10, 10, n0};
  REQUIRE(b.try_take(10, n0));
  b.set_rate(20, n0 + 100 * ms); // one token accrued at 10/s
  CHECK(b.available(n0 + 100 * ms) == 1);
  CHECK(b.available(n0 + 150 * ms) == 2); // then 20/s
  b.set_rate(0, n0 + 150 * ms);
  CHECK(b.try_take(1'000'000, n0 + 150 * ms));
  b.set_rate(10, n0 + 150 * ms);
  CHECK(b.available(n0 + 150 * ms) == 10);
}

TEST_CASE("token bucket: rate 0 means unlimited, large values do not overflow") {
  chorus::token_bucket unlimited{0, 0, n0};
  for (int i = 0; i < 1000; ++i)
    CHECK(unlimited.try_take(1, n0));
  chorus::token_bucket def;
  CHECK(def.try_take(1, n0));
  chorus::token_bucket big{UINT64_MAX, UINT64_MAX, INT64_MIN};
  CHECK(big.try_take(UINT64_MAX, INT64_MIN));
  CHECK_FALSE(big.try_take(1, INT64_MIN));
  CHECK(big.available(INT64_MAX) == UINT64_MAX);
}

TEST_CASE("request limiter: allow, refuse, then close an abusive connection") {
  rate_limit_config cfg;
  cfg.rate_per_s = 10;
  cfg.burst = 3;
  cfg.close_after = 4;
  cfg.window = 10s;
  request_limiter l{cfg, t0};
  for (int i = 0; i < 3; ++i)
    CHECK(l.on_request(t0) == rate_decision::allow);
  for (int i = 0; i < 4; ++i)
    CHECK(l.on_request(t0) == rate_decision::refuse);
  CHECK(l.refusals() == 4);
  CHECK(l.on_request(t0) == rate_decision::close); // the 5th refusal in the window
  CHECK(to_string(rate_decision::close) == "close");
}

TEST_CASE("request limiter: refusals spread beyond the window do not close") {
  rate_limit_config cfg;
  cfg.rate_per_s = 1;
  cfg.burst = 1;
  cfg.close_after = 2;
  cfg.window = 1s;
  request_limiter l{cfg, t0};
  auto t = t0;
  CHECK(l.on_request(t) == rate_decision::allow);
  // Two refusals per window, windows apart: never more than close_after in one.
  for (int round = 0; round < 5; ++round) {
    CHECK(l.on_request(t + 10ms) == rate_decision::refuse);
    CHECK(l.on_request(t + 20ms) == rate_decision::refuse);
    t += 1100ms;
    CHECK(l.on_request(t) == rate_decision::allow);
  }
  // Allowed requests in between do not reset the count within one window.
  cfg.rate_per_s = 10;
  cfg.burst = 1;
  request_limiter m{cfg, t0};
  CHECK(m.on_request(t0) == rate_decision::allow);
  CHECK(m.on_request(t0) == rate_decision::refuse);
  CHECK(m.on_request(t0 + 100ms) == rate_decision::allow);
  CHECK(m.on_request(t0 + 100ms) == rate_decision::refuse);
  CHECK(m.on_request(t0 + 200ms) == rate_decision::allow);
  CHECK(m.on_request(t0 + 200ms) == rate_decision::close);
}

TEST_CASE("request limiter: close_after 0 never closes; the default config is generous") {
  rate_limit_config cfg;
  cfg.rate_per_s = 1;
  cfg.burst = 1;
  cfg.close_after = 0;
  request_limiter l{cfg, t0};
  CHECK(l.on_request(t0) == rate_decision::allow);
  for (int i = 0; i < 1000; ++i)
    CHECK(l.on_request(t0) == rate_decision::refuse);

  request_limiter d{rate_limit_config{}, t0};
  int allowed = 0;
  for (int i = 0; i < 1000; ++i)
    allowed += d.on_request(t0) == rate_decision::allow;
  CHECK(allowed == 1000); // a join's burst passes
  // A flood: refused, then closed after close_after (1000) refusals.
  int refused = 0;
  rate_decision last = rate_decision::allow;
  while ((last = d.on_request(t0 + 1ms)) == rate_decision::refuse)
    ++refused;
  CHECK(last == rate_decision::close);
  CHECK(refused == 1000);
}
