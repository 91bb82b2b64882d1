// The transport's paced link (send_shared::claim_pacing): what its consumers claim before
// they send. Times are passed in (microseconds).
#include "actors/rtp_sender.hpp"

#include <doctest/doctest.h>

using chorus::actors::send_shared;

namespace {
constexpr int64_t burst = chorus::actors::tuning::pacing_burst_us;
}

TEST_CASE("no estimate: nothing is paced") {
  send_shared sh{nullptr};
  for (int i = 0; i < 1000; ++i)
    CHECK(sh.claim_pacing(1200, 0, false) == 0);
  CHECK(sh.paced_until_us.load() == 0);
}

TEST_CASE("a burst leaves at once up to the allowance, then waits its turn") {
  send_shared sh{nullptr};
  sh.pacing_bps = 1'000'000; // 1200 bytes = 9600 us
  const int64_t t0 = 5'000'000;
  // 40 ms of allowance: the packets whose start leads the clock by at most 40 ms.
  int sent = 0;
  int64_t wait = 0;
  while ((wait = sh.claim_pacing(1200, t0, false)) == 0)
    ++sent;
  CHECK(sent == 5); // starts at +0, +9.6, +19.2, +28.8, +38.4 ms
  CHECK(sh.paced_until_us.load() == t0 + 5 * 9600);
  CHECK(wait == 5 * 9600 - burst); // refused: nothing claimed
  CHECK(sh.paced_until_us.load() == t0 + 5 * 9600);
  // Once that long has passed, the next one goes.
  CHECK(sh.claim_pacing(1200, t0 + wait - 1, false) > 0);
  CHECK(sh.claim_pacing(1200, t0 + wait, false) == 0);
}

TEST_CASE("an idle link starts from now, not from the past") {
  send_shared sh{nullptr};
  sh.pacing_bps = 800'000; // 1000 bytes = 10 ms
  CHECK(sh.claim_pacing(1000, 1'000'000, false) == 0);
  CHECK(sh.paced_until_us.load() == 1'010'000);
  // A second later: no credit saved up beyond the allowance.
  CHECK(sh.claim_pacing(1000, 2'000'000, false) == 0);
  CHECK(sh.paced_until_us.load() == 2'010'000);
}

TEST_CASE("forced claims (audio, probes) always go, and push the clock at most an allowance ahead") {
  send_shared sh{nullptr};
  sh.pacing_bps = 100'000; // 125 bytes = 10 ms
  for (int i = 0; i < 10; ++i)
    CHECK(sh.claim_pacing(125, 0, true) == 0);
  // 100 ms were forced out at once; the clock took the first 50 (the allowance and one
  // packet), so other consumers' video waits 10 ms, not 60.
  CHECK(sh.paced_until_us.load() == burst + 10'000);
  CHECK(sh.claim_pacing(125, 0, false) == 10'000);
  // A clock already further ahead (paced video) is not moved back.
  sh.paced_until_us = 500'000;
  CHECK(sh.claim_pacing(125, 0, true) == 0);
  CHECK(sh.paced_until_us.load() == 500'000);
}

TEST_CASE("pacing turned off lets everything go") {
  send_shared sh{nullptr};
  sh.pacing_bps = 100'000;
  while (sh.claim_pacing(1200, 0, false) == 0) {
  }
  sh.pacing_bps = 0;
  CHECK(sh.claim_pacing(1200, 0, false) == 0);
}
