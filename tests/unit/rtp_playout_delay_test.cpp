// The playout-delay header extension (rtp/playout_delay.hpp): its 3 bytes both ways, and
// what a receiver is told over a series of readings, as named table cases.
#include "rtp/playout_delay.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <vector>

using namespace chorus::rtp;

TEST_CASE("playout delay: the element's bytes (table)") {
  struct row {
    const char* name;
    playout_delay d;
    std::array<uint8_t, 3> wire;
    playout_delay read_back;
  };
  const row rows[] = {
    {"none", {0, 0}, {0x00, 0x00, 0x00}, {0, 0}},
    {"min 300 ms, max libwebrtc's 10 s", {300, 10'000}, {0x01, 0xE3, 0xE8}, {300, 10'000}},
    {"rounded up to 10 ms", {301, 5}, {0x01, 0xF0, 0x01}, {310, 10}},
    {"clamped to the 12-bit field", {50'000, 40'950}, {0xFF, 0xFF, 0xFF}, {40'950, 40'950}},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    CHECK(write_playout_delay(r.d) == r.wire);
    CHECK(read_playout_delay(r.wire) == r.read_back);
  }
  const uint8_t short_value[] = {0x01, 0x02};
  CHECK_FALSE(read_playout_delay(short_value).has_value());
}

namespace {
using reading = playout_delay_policy::reading;
reading lossy(uint32_t rtt, uint32_t jitter = 0) { return {50, rtt, jitter}; }
reading calm(uint32_t rtt = 200) { return {0, rtt, 0}; }
} // namespace

TEST_CASE("playout delay policy: what a receiver is told over its readings (table)") {
  struct row {
    const char* name;
    uint32_t limit_ms;
    std::vector<reading> readings;
    std::optional<uint32_t> min_ms; // the hint's least delay after them; nullopt: no hint
  };
  std::vector<reading> calm_nine(9, calm());
  std::vector<reading> lossy_then_calm{lossy(200)};
  for (int i = 0; i < 10; ++i)
    lossy_then_calm.push_back(calm());
  std::vector<reading> lossy_then_nine_calm{lossy(200)};
  lossy_then_nine_calm.insert(lossy_then_nine_calm.end(), calm_nine.begin(), calm_nine.end());
  std::vector<reading> lower_four{lossy(250)}, lower_five{lossy(250)};
  for (int i = 0; i < 4; ++i)
    lower_four.push_back(lossy(50));
  for (int i = 0; i < 5; ++i)
    lower_five.push_back(lossy(i == 2 ? 80 : 50));
  const row rows[] = {
    {"never lossy: nothing written", 400, {calm(), calm(), calm()}, std::nullopt},
    {"under 1 %: not lossy", 400, {{9, 200, 0}}, std::nullopt},
    {"1 %: round trip + 100 + margin", 400, {{10, 200, 0}}, 320},
    {"jitter counts twice", 400, {lossy(100, 15)}, 250},
    {"round trip unknown: taken as 100 ms", 400, {{50, std::nullopt, 0}}, 220},
    {"a loopback receiver", 400, {lossy(1)}, 130},
    {"at most the limit", 400, {lossy(600)}, 400},
    {"limit 0: never told", 0, {lossy(200)}, std::nullopt},
    {"a longer delay at once", 400, {lossy(50), lossy(200)}, 320},
    {"a shorter one not after four readings", 400, lower_four, 370},
    {"a shorter one after five, the largest of them", 400, lower_five, 200},
    {"calm for nine readings: still told", 400, lossy_then_nine_calm, 320},
    {"calm for ten readings: told 0 again", 400, lossy_then_calm, 0},
    {"0.5 % to 1 % keeps it lossy", 400, {lossy(200), {7, 200, 0}, {7, 200, 0}}, 320},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    playout_delay_policy p(r.limit_ms);
    for (const auto& x : r.readings)
      p.on_reading(x);
    if (!r.min_ms) {
      CHECK_FALSE(p.hint().has_value());
      continue;
    }
    REQUIRE(p.hint().has_value());
    CHECK(p.hint()->min_ms == *r.min_ms);
    CHECK(p.hint()->max_ms == playout_delay_most_ms);
  }
}

TEST_CASE("playout delay policy: on_reading says when the hint changed") {
  playout_delay_policy p(400);
  CHECK_FALSE(p.on_reading(calm()));
  CHECK(p.on_reading(lossy(200)));
  CHECK_FALSE(p.on_reading(lossy(200)));
  CHECK(p.lossy());
}
