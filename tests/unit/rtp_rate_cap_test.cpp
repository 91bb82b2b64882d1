// A byte stream capped at a rate (rtp/rate_cap.hpp, over common/rate_cap.hpp):
// unlimited, below the cap, above the cap over simulated seconds, bursts, a rate change
// midway, exact refill without drift, and a clock that stands still or goes back.
#include "rtp/rate_cap.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <limits>

using namespace chorus::rtp;

namespace {

struct flow_result {
  uint64_t admitted_packets = 0, admitted_bytes = 0, dropped_packets = 0;
};

// Sends `bytes`-sized packets at send_bps, evenly spaced, over [from_us, to_us); counts
// what was admitted in that span.
flow_result flow(rate_cap& b, uint64_t send_bps, std::size_t bytes, int64_t from_us,
                 int64_t to_us) {
  flow_result r;
  // Exact spacing: packet k goes at from + k * bytes * 8e6 / send_bps.
  for (uint64_t k = 0;; ++k) {
    const int64_t t = from_us + int64_t(k * bytes * 8'000'000 / send_bps);
    if (t >= to_us) break;
    if (b.admit(bytes, t)) {
      ++r.admitted_packets;
      r.admitted_bytes += bytes;
    } else {
      ++r.dropped_packets;
    }
  }
  return r;
}

} // namespace

TEST_CASE("rate cap: unlimited and below the cap") {
  SUBCASE("rate 0: everything admitted, whatever the size and time") {
    rate_cap b(0, 0);
    CHECK(b.rate_bps() == 0);
    for (int i = 0; i < 1000; ++i) CHECK(b.admit(65'000, 0));
    CHECK(b.admit(1, -5));
    CHECK(b.admitted() == 1001);
    CHECK(b.admitted_bytes() == 1000ull * 65'000 + 1);
    CHECK(b.dropped() == 0);
    CHECK(b.dropped_bytes() == 0);
  }
  const struct {
    const char* name;
    uint64_t cap_bps, send_bps;
    std::size_t bytes;
  } cases[] = {
    {"800 kbps of 1000-byte packets under a 1 Mbps cap", 1'000'000, 800'000, 1000},
    {"exactly at the cap", 1'000'000, 1'000'000, 1000},
    {"2.4 Mbps of 1200-byte packets under 2.5 Mbps", 2'500'000, 2'400'000, 1200},
    {"64 kbps of 160-byte packets under 100 kbps", 100'000, 64'000, 160},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    rate_cap b(c.cap_bps, rate_cap::suggested_burst(c.cap_bps));
    const auto r = flow(b, c.send_bps, c.bytes, 0, 3'000'000);
    CHECK(r.dropped_packets == 0);
    CHECK(b.dropped() == 0);
    CHECK(b.admitted() == r.admitted_packets);
    CHECK(r.admitted_packets > 0);
  }
}

TEST_CASE("rate cap: above the cap admits the cap over a second (within 1 %)") {
  const struct {
    const char* name;
    uint64_t cap_bps, send_bps;
    std::size_t bytes;
  } cases[] = {
    {"twice a 1 Mbps cap, 300-byte packets", 1'000'000, 2'000'000, 300},
    {"twice a 5 Mbps cap, 1200-byte packets", 5'000'000, 10'000'000, 1200},
    {"1.1 x a 20 Mbps cap, 1200-byte packets", 20'000'000, 22'000'000, 1200},
    {"ten times a 300 kbps cap, 100-byte packets", 300'000, 3'000'000, 100},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    rate_cap b(c.cap_bps, rate_cap::suggested_burst(c.cap_bps));
    const double per_second = double(c.cap_bps) / 8;
    // The first second: the cap plus at most the initial (full) burst.
    const auto first = flow(b, c.send_bps, c.bytes, 0, 1'000'000);
    CHECK(double(first.admitted_bytes) <= per_second + b.burst_bytes());
    CHECK(double(first.admitted_bytes) >= per_second * 0.99);
    // Steady state: each further second admits the cap.
    for (int s = 1; s < 4; ++s) {
      CAPTURE(s);
      const auto r = flow(b, c.send_bps, c.bytes, s * 1'000'000, (s + 1) * 1'000'000);
      CHECK(double(r.admitted_bytes) >= per_second * 0.99);
      CHECK(double(r.admitted_bytes) <= per_second * 1.01);
      CHECK(r.dropped_packets > 0);
    }
    CHECK(b.dropped() + b.admitted() > 0);
    CHECK(b.dropped_bytes() == b.dropped() * c.bytes);
  }
}

TEST_CASE("rate cap: bursts") {
  // 1 Mbps = 125 bytes a millisecond; burst 3000 bytes; 1000-byte packets.
  rate_cap b(1'000'000, 3000);
  const struct {
    const char* name;
    int64_t now_us;
    std::size_t bytes;
    bool admitted;
  } steps[] = {
    {"full at start: 1", 0, 1000, true},
    {"full at start: 2", 0, 1000, true},
    {"full at start: 3", 0, 1000, true},
    {"burst spent", 0, 1000, false},
    {"7.999 ms later: 999.875 bytes, not enough", 7'999, 1000, false},
    {"8 ms later: exactly 1000 bytes", 8'000, 1000, true},
    {"spent again", 8'000, 1, false},
    {"a second idle: only the burst again (3)", 1'008'000, 3000, true},
    {"... nothing more", 1'008'000, 1, false},
    {"larger than the burst: never, however long the wait", 60'000'000, 3001, false},
    {"the bucket is still full after that refusal", 60'000'000, 3000, true},
    {"zero bytes are always admitted", 60'000'000, 0, true},
  };
  for (const auto& s : steps) {
    CAPTURE(s.name);
    CHECK(b.admit(s.bytes, s.now_us) == s.admitted);
  }
  CHECK(b.admitted() == 7);
  CHECK(b.dropped() == 5);
  CHECK(b.dropped_bytes() == 1000 + 1000 + 1 + 1 + 3001);
}

TEST_CASE("rate cap: exact refill, no drift") {
  SUBCASE("3 kbps in 1 us steps for 8 s: exactly 3000 bytes") {
    // 1 byte every 2666.67 us: a rate that divides nothing evenly. (A burst of 2 bytes so
    // that the fractions left over after each admission are not cut off by the cap.)
    rate_cap b(3'000, 2);
    CHECK(b.admit(2, 0)); // empties the bucket at t = 0
    uint64_t admitted = 0;
    for (int64_t t = 1; t <= 8'000'000; ++t) admitted += b.admit(1, t) ? 1 : 0;
    CHECK(admitted == 3000);
  }
  SUBCASE("many small steps and one large step refill the same") {
    rate_cap a(777'777, 10'000), b(777'777, 10'000);
    CHECK(a.admit(10'000, 0));
    CHECK(b.admit(10'000, 0));
    for (int64_t t = 1; t < 50'000; t += 7) CHECK_FALSE(a.admit(100'000, t)); // refills only
    // Both at 49'996 us: 777'777 * 49'996 / 8e6 = 4860.72 bytes.
    CHECK_FALSE(a.admit(4861, 49'996));
    CHECK(a.admit(4860, 49'996));
    CHECK_FALSE(b.admit(4861, 49'996));
    CHECK(b.admit(4860, 49'996));
  }
  SUBCASE("huge rates and gaps do not overflow") {
    rate_cap b(std::numeric_limits<uint64_t>::max(), 1500);
    CHECK(b.admit(1500, std::numeric_limits<int64_t>::min()));
    CHECK(b.admit(1500, std::numeric_limits<int64_t>::max())); // refilled, capped
    CHECK_FALSE(b.admit(1500, std::numeric_limits<int64_t>::max()));
  }
}

TEST_CASE("rate cap: set_rate midway") {
  SUBCASE("lifting the cap: everything admitted from then on") {
    rate_cap b(1'000'000, 3000);
    const auto capped = flow(b, 4'000'000, 1000, 0, 500'000);
    CHECK(capped.dropped_packets > 0);
    b.set_rate(0, 500'000);
    CHECK(b.rate_bps() == 0);
    const auto lifted = flow(b, 4'000'000, 1000, 500'000, 1'000'000);
    CHECK(lifted.dropped_packets == 0);
    CHECK(lifted.admitted_bytes == 250'000);
  }
  SUBCASE("raising and lowering the cap") {
    rate_cap b(1'000'000, 5000);
    flow(b, 8'000'000, 1000, 0, 1'000'000); // drained
    b.set_rate(4'000'000, 1'000'000);
    const auto up = flow(b, 8'000'000, 1000, 1'000'000, 2'000'000);
    CHECK(double(up.admitted_bytes) >= 500'000 * 0.99);
    CHECK(double(up.admitted_bytes) <= 500'000 * 1.01 + 5000);
    b.set_rate(500'000, 2'000'000);
    const auto down = flow(b, 8'000'000, 1000, 2'000'000, 3'000'000);
    CHECK(double(down.admitted_bytes) >= 62'500 * 0.99 - 1000);
    CHECK(double(down.admitted_bytes) <= 62'500 * 1.01 + 5000);
  }
  SUBCASE("what accrued before the change is kept") {
    rate_cap b(1'000'000, 3000);
    CHECK(b.admit(3000, 0));
    b.set_rate(2'000'000, 8'000); // 1000 bytes accrued at 1 Mbps
    CHECK(b.admit(1000, 8'000));
    CHECK_FALSE(b.admit(1, 8'000));
    CHECK(b.admit(1000, 12'000)); // 4 ms at 2 Mbps
  }
  SUBCASE("capping an unlimited bucket starts it full") {
    rate_cap b(0, 3000);
    for (int i = 0; i < 100; ++i) CHECK(b.admit(1000, i));
    b.set_rate(1'000'000, 100);
    CHECK(b.admit(3000, 100));
    CHECK_FALSE(b.admit(1, 100));
  }
}

TEST_CASE("rate cap: a clock that stands still or goes back") {
  rate_cap b(1'000'000, 2000); // 125 bytes a ms
  const struct {
    const char* name;
    int64_t now_us;
    std::size_t bytes;
    bool admitted;
  } steps[] = {
    {"start late in the clock: full", 5'000'000, 2000, true},
    {"same time: nothing accrues", 5'000'000, 1, false},
    {"same time again", 5'000'000, 1, false},
    {"back 1 s: nothing accrues", 4'000'000, 1, false},
    {"forward again but before the latest time: still nothing", 4'004'000, 500, false},
    {"4 ms after the latest time: 500 bytes", 5'004'000, 500, true},
    {"spent", 5'004'000, 1, false},
    {"back a little", 5'003'000, 1, false},
    {"8 ms after the latest time: 1000 bytes", 5'012'000, 1000, true},
    {"negative times are earlier times", -1'000, 1, false},
    {"16 ms after the latest time: full", 5'028'000, 2000, true},
  };
  for (const auto& s : steps) {
    CAPTURE(s.name);
    CHECK(b.admit(s.bytes, s.now_us) == s.admitted);
  }
}

TEST_CASE("rate cap: suggested burst") {
  const struct {
    uint64_t rate;
    uint32_t burst;
  } cases[] = {
    {0, 3000},                   // at least two full-size packets
    {500'000, 3000},             // 20 ms = 1250 bytes
    {1'200'000, 3000},           // 20 ms = 3000 bytes
    {10'000'000, 25'000},        // 20 ms
    {std::numeric_limits<uint64_t>::max(), std::numeric_limits<uint32_t>::max()},
  };
  for (const auto& c : cases) {
    CAPTURE(c.rate);
    CHECK(rate_cap::suggested_burst(c.rate) == c.burst);
  }
}
