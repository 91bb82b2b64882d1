// Layer allocation (rtp/layer_allocator.hpp): named table cases of a budget and consumers
// with the expected (spatial, temporal, bps) of each, in input order; then invariants over
// random inputs (never over the budget, never above the preferences, everyone at the
// preferred layer when the budget covers desired_bps), determinism and buffer reuse.
#include "rtp/layer_allocator.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <vector>

using namespace chorus::rtp;

namespace {

using ladder = std::array<std::array<uint32_t, 3>, 4>;

// Three spatial layers (the fourth is not sent), cumulative over temporal layers.
constexpr ladder L = {{{100'000, 150'000, 200'000},
                       {300'000, 450'000, 600'000},
                       {900'000, 1'200'000, 1'500'000},
                       {0, 0, 0}}};

alloc_consumer video(uint32_t key, uint8_t priority, int8_t max_s, int8_t max_t,
                     const ladder& b = L, bool active = true) {
  alloc_consumer c;
  c.key = key;
  c.audio = false;
  c.active = active;
  c.priority = priority;
  c.max_spatial = max_s;
  c.max_temporal = max_t;
  c.bitrates = b;
  return c;
}

alloc_consumer audio(uint32_t key, uint32_t bps, bool active = true) {
  alloc_consumer c;
  c.key = key;
  c.audio = true;
  c.active = active;
  c.audio_bps = bps;
  return c;
}

struct want {
  int8_t spatial, temporal;
  uint32_t bps;
};

struct alloc_case {
  const char* name;
  uint64_t budget;
  std::vector<alloc_consumer> in;
  std::vector<want> out; // in input order
};

void run(const std::vector<alloc_case>& cases) {
  layer_allocator a;
  std::vector<alloc_result> out;
  for (const auto& c : cases) {
    CAPTURE(c.name);
    a.allocate(c.budget, c.in, out);
    REQUIRE(out.size() == c.in.size());
    REQUIRE(c.out.size() == c.in.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
      CAPTURE(i);
      CHECK(out[i].key == c.in[i].key);
      CHECK(int(out[i].spatial) == int(c.out[i].spatial));
      CHECK(int(out[i].temporal) == int(c.out[i].temporal));
      CHECK(out[i].bps == c.out[i].bps);
    }
  }
}

} // namespace

TEST_CASE("layer allocator: plenty, nothing, audio first") {
  run({
    {"budget plenty: everyone at the preferred layer, audio at its bitrate", 10'000'000,
     {video(1, 1, 2, 2), audio(3, 40'000), video(2, 1, 1, 1)},
     {{2, 2, 1'500'000}, {0, 0, 40'000}, {1, 1, 450'000}}},
    {"budget exactly the sum of the preferred layers", 1'500'000 + 40'000 + 450'000,
     {video(1, 1, 2, 2), audio(3, 40'000), video(2, 1, 1, 1)},
     {{2, 2, 1'500'000}, {0, 0, 40'000}, {1, 1, 450'000}}},
    {"budget zero with audio: audio only", 0,
     {audio(1, 40'000), video(2, 1, 2, 2)},
     {{0, 0, 40'000}, {-1, -1, 0}}},
    {"audio over the budget is still served; video gets nothing", 20'000,
     {video(2, 1, 2, 2), audio(1, 40'000), audio(3, 30'000)},
     {{-1, -1, 0}, {0, 0, 40'000}, {0, 0, 30'000}}},
    {"budget covers no video: even the highest priority gets nothing", 50'000,
     {video(1, 1, 2, 2), video(2, 200, 2, 2)},
     {{-1, -1, 0}, {-1, -1, 0}}},
    {"no consumers", 1'000'000, {}, {}},
  });
}

TEST_CASE("layer allocator: sharing among video consumers") {
  run({
    // first pass 100+100 (500 left); rounds: A,B to (0,1), then (0,2), then (1,0) (100
    // left); (1,1) costs 150 more: nobody.
    {"two equal priorities climb in turn (round robin)", 700'000,
     {video(1, 1, 2, 2), video(2, 1, 2, 2)},
     {{1, 0, 300'000}, {1, 0, 300'000}}},
    // as above with 200 left after round 3: A (first in input order) takes (1,1).
    {"equal priorities: input order breaks the tie", 800'000,
     {video(1, 1, 2, 2), video(2, 1, 2, 2)},
     {{1, 1, 450'000}, {1, 0, 300'000}}},
    // B (priority 2) first and two steps a round: B (0,1),(0,2) A (0,1); B (1,0),(1,1)
    // A (0,2) (50 left); then nothing fits.
    {"priority 2 climbs twice as fast as priority 1", 700'000,
     {video(1, 1, 2, 2), video(2, 2, 2, 2)},
     {{0, 2, 200'000}, {1, 1, 450'000}}},
    {"priority 1 first in input still gets the first pass after priority 2", 150'000,
     {video(1, 1, 2, 2), video(2, 2, 2, 2)},
     {{-1, -1, 0}, {0, 1, 150'000}}},
    // high priority's lowest layer is 300k (no spatial 0): it does not fit in 200k; the low
    // priority one fits and climbs to 200k.
    {"a consumer that does not fit is passed over; a lower priority one may fit", 200'000,
     {video(1, 9, 2, 2, {{{0, 0, 0}, {300'000, 450'000, 600'000}, {}, {}}}),
      video(2, 1, 2, 2)},
     {{-1, -1, 0}, {0, 2, 200'000}}},
    // (0,0) costs 500k, (1,0) 200k: the step up frees 300k.
    {"a cheaper higher layer: the step is taken and frees budget", 500'000,
     {video(1, 1, 1, 0, {{{500'000, 0, 0}, {200'000, 0, 0}, {}, {}}})},
     {{1, 0, 200'000}}},
    // from (0,0): (0,1) costs 400k, (1,0) 250k: the cheaper (1,0) is the next step (+150k
    // fits in 200k; +300k would not).
    {"the next step is the cheapest layer above, not the next in order", 300'000,
     {video(1, 1, 1, 1, {{{100'000, 400'000, 0}, {250'000, 0, 0}, {}, {}}})},
     {{1, 0, 250'000}}},
    {"audio is taken from the budget before the video", 240'000,
     {video(1, 1, 2, 2), audio(2, 40'000)},
     {{0, 2, 200'000}, {0, 0, 40'000}}},
  });
}

TEST_CASE("layer allocator: preferences and availability") {
  constexpr ladder no_middle = {{{100'000, 150'000, 200'000}, {0, 0, 0},
                                 {900'000, 1'200'000, 1'500'000}, {0, 0, 0}}};
  constexpr ladder no_t1 = {{{100'000, 0, 200'000}, {300'000, 0, 600'000}, {}, {}}};
  constexpr ladder four = {{{100'000, 150'000, 200'000}, {300'000, 450'000, 600'000},
                            {900'000, 1'200'000, 1'500'000}, {2'000'000, 2'500'000, 3'000'000}}};
  run({
    {"preferred spatial 0: stays in spatial 0 however large the budget", 10'000'000,
     {video(1, 1, 0, 2), video(2, 1, 0, 1), video(3, 1, 0, 0)},
     {{0, 2, 200'000}, {0, 1, 150'000}, {0, 0, 100'000}}},
    {"nothing wanted (spatial or temporal -1): nothing", 10'000'000,
     {video(1, 1, -1, 2), video(2, 1, 2, -1)},
     {{-1, -1, 0}, {-1, -1, 0}}},
    {"max_temporal applies at every spatial layer: (0,0) (1,0) (2,0)", 10'000'000,
     {video(1, 1, 2, 0)}, {{2, 0, 900'000}}},
    {"max_temporal 0 climbs spatial layers at temporal 0", 500'000,
     {video(1, 1, 2, 0)}, {{1, 0, 300'000}}},
    {"preferences beyond the arrays are clamped; spatial 3 unavailable", 10'000'000,
     {video(1, 1, 100, 100), video(2, 1, 3, 2, four)},
     {{2, 2, 1'500'000}, {3, 2, 3'000'000}}},
    {"unavailable middle spatial layer skipped when climbing", 10'000'000,
     {video(1, 1, 2, 2, no_middle)}, {{2, 2, 1'500'000}}},
    // 100, then (0,1) (0,2), then (2,0) at +700 (100 left); (2,1) +300: no.
    {"unavailable middle spatial layer: from (0,2) straight to (2,0)", 1'000'000,
     {video(1, 1, 2, 2, no_middle)}, {{2, 0, 900'000}}},
    {"preferred spatial layer unavailable: the best available below it", 10'000'000,
     {video(1, 1, 1, 2, no_middle)}, {{0, 2, 200'000}}},
    {"unavailable temporal layer skipped: (0,0) -> (0,2)", 10'000'000,
     {video(1, 1, 0, 2, no_t1)}, {{0, 2, 200'000}}},
    {"preferred (1,1) unavailable: (1,0) below it, not (1,2) above", 10'000'000,
     {video(1, 1, 1, 1, no_t1)}, {{1, 0, 300'000}}},
    {"nothing received from the producer: nothing", 10'000'000,
     {video(1, 1, 2, 2, ladder{})}, {{-1, -1, 0}}},
  });
}

TEST_CASE("layer allocator: temporal climbing and exact fits") {
  run({
    {"below the lowest layer by 1 bps: nothing", 99'999, {video(1, 1, 2, 2)}, {{-1, -1, 0}}},
    {"exactly the lowest layer", 100'000, {video(1, 1, 2, 2)}, {{0, 0, 100'000}}},
    {"between t0 and t1: t0", 149'999, {video(1, 1, 2, 2)}, {{0, 0, 100'000}}},
    {"exactly t1", 150'000, {video(1, 1, 2, 2)}, {{0, 1, 150'000}}},
    {"between t1 and t2: t1", 175'000, {video(1, 1, 2, 2)}, {{0, 1, 150'000}}},
    {"exactly t2", 200'000, {video(1, 1, 2, 2)}, {{0, 2, 200'000}}},
    {"exactly spatial 1", 300'000, {video(1, 1, 2, 2)}, {{1, 0, 300'000}}},
    {"exactly the top", 1'500'000, {video(1, 1, 2, 2)}, {{2, 2, 1'500'000}}},
    {"top minus 1 bps", 1'499'999, {video(1, 1, 2, 2)}, {{2, 1, 1'200'000}}},
    {"audio + lowest video exactly", 140'000,
     {audio(1, 40'000), video(2, 1, 2, 2)}, {{0, 0, 40'000}, {0, 0, 100'000}}},
    {"audio + lowest video minus 1 bps", 139'999,
     {audio(1, 40'000), video(2, 1, 2, 2)}, {{0, 0, 40'000}, {-1, -1, 0}}},
    {"two consumers exactly fit at (0,2) each", 400'000,
     {video(1, 1, 2, 2), video(2, 1, 2, 2)}, {{0, 2, 200'000}, {0, 2, 200'000}}},
  });
}

TEST_CASE("layer allocator: paused consumers") {
  run({
    {"paused video gets nothing and costs nothing", 300'000,
     {video(1, 5, 2, 2, L, false), video(2, 1, 2, 2)},
     {{-1, -1, 0}, {1, 0, 300'000}}},
    {"paused audio gets nothing and costs nothing", 100'000,
     {audio(1, 40'000, false), video(2, 1, 2, 2)},
     {{-1, -1, 0}, {0, 0, 100'000}}},
    {"everyone paused", 10'000'000,
     {video(1, 1, 2, 2, L, false), audio(2, 40'000, false)},
     {{-1, -1, 0}, {-1, -1, 0}}},
  });
}

TEST_CASE("layer allocator: output order is input order") {
  // Priorities 3, 1, 2, audio, paused, 1; keys not in order. Budget 900k - 50k audio =
  // 850k: first pass 7(p3) 5(p2) 9(p1) 4(p1): 400k, 450k left.
  // round 1: 7 (0,1)(0,2)(1,0) +200 (250); 5 (0,1)(0,2) +100 (150); 9 (0,1) (100);
  //          4 (0,1) (50). round 2: 7 (1,1) +150 no; 5 (1,0) +100 no; 9 (0,2) +50 (0);
  //          4 no. round 3: nothing.
  run({
    {"mixed priorities, audio and a paused one", 900'000,
     {video(7, 3, 2, 2), video(9, 1, 2, 2), video(5, 2, 2, 2), audio(2, 50'000),
      video(11, 4, 2, 2, L, false), video(4, 1, 2, 2)},
     {{1, 0, 300'000}, {0, 2, 200'000}, {0, 2, 200'000}, {0, 0, 50'000}, {-1, -1, 0},
      {0, 1, 150'000}}},
  });
}

TEST_CASE("layer allocator: desired_bps") {
  constexpr ladder no_middle = {{{100'000, 150'000, 200'000}, {0, 0, 0},
                                 {900'000, 1'200'000, 1'500'000}, {0, 0, 0}}};
  const struct {
    const char* name;
    alloc_consumer c;
    uint64_t bps;
  } cases[] = {
    {"preferred available", video(1, 1, 1, 1), 450'000},
    {"beyond what is sent: the best available", video(1, 1, 3, 2), 1'500'000},
    {"preferred unavailable: the best below", video(1, 1, 1, 2, no_middle), 200'000},
    {"nothing wanted", video(1, 1, -1, -1), 0},
    {"paused", video(1, 1, 2, 2, L, false), 0},
    {"nothing available", video(1, 1, 2, 2, ladder{}), 0},
    {"audio", audio(1, 32'000), 32'000},
    {"paused audio", audio(1, 32'000, false), 0},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(desired_bps(c.c) == c.bps);
  }
}

TEST_CASE("layer allocator: invariants over random inputs, determinism, reuse") {
  std::mt19937 rng{42};
  auto pick = [&](uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>(lo, hi)(rng);
  };
  layer_allocator a, b;
  std::vector<alloc_result> out, again;
  std::vector<alloc_consumer> in;
  for (int iteration = 0; iteration < 2000; ++iteration) {
    CAPTURE(iteration);
    in.clear();
    const uint32_t n = pick(0, 12);
    for (uint32_t k = 0; k < n; ++k) {
      alloc_consumer c;
      c.key = 1000 + k;
      c.audio = pick(0, 4) == 0;
      c.active = pick(0, 6) != 0;
      c.priority = uint8_t(pick(0, 4));
      c.max_spatial = int8_t(int(pick(0, 5)) - 1);
      c.max_temporal = int8_t(int(pick(0, 4)) - 1);
      // Increasing in (spatial, temporal) order like any real ladder, with holes.
      uint32_t acc = pick(20'000, 400'000);
      const bool none_sent = pick(0, 9) == 0;
      for (auto& s : c.bitrates) {
        const bool spatial_sent = pick(0, 3) != 0;
        for (auto& t : s) {
          t = (none_sent || !spatial_sent || pick(0, 5) == 0) ? 0 : acc;
          acc += pick(10'000, 300'000);
        }
      }
      c.audio_bps = pick(0, 64'000);
      in.push_back(c);
    }
    uint64_t audio_sum = 0, desired_sum = 0;
    for (const auto& c : in) {
      if (c.active && c.audio) audio_sum += c.audio_bps;
      desired_sum += desired_bps(c);
    }
    const uint64_t budget = pick(0, 3) == 0 ? desired_sum : pick(0, 4'000'000);
    a.allocate(budget, in, out);
    REQUIRE(out.size() == in.size());
    uint64_t video_sum = 0;
    for (std::size_t i = 0; i < in.size(); ++i) {
      const auto& c = in[i];
      const auto& r = out[i];
      CHECK(r.key == c.key);
      if (!c.active) {
        CHECK(r.spatial == -1);
        CHECK(r.bps == 0);
        continue;
      }
      if (c.audio) {
        CHECK(r.bps == c.audio_bps);
        continue;
      }
      if (r.spatial < 0) {
        CHECK(r.temporal == -1);
        CHECK(r.bps == 0);
      } else {
        CHECK(r.spatial <= c.max_spatial);
        CHECK(r.temporal <= c.max_temporal);
        CHECK(r.bps != 0);
        CHECK(r.bps == c.bitrates[r.spatial][r.temporal]);
        video_sum += r.bps;
      }
      if (budget >= desired_sum) CHECK(r.bps == desired_bps(c));
    }
    CHECK(video_sum <= (budget > audio_sum ? budget - audio_sum : 0));
    // Deterministic: another allocator, same answer.
    b.allocate(budget, in, again);
    REQUIRE(again.size() == out.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
      CHECK(again[i].key == out[i].key);
      CHECK(again[i].spatial == out[i].spatial);
      CHECK(again[i].temporal == out[i].temporal);
      CHECK(again[i].bps == out[i].bps);
    }
  }
}

TEST_CASE("layer allocator: the output vector is reused, no reallocation once large enough") {
  layer_allocator a;
  const std::vector<alloc_consumer> many(16, video(1, 1, 2, 2));
  const std::vector<alloc_consumer> few(3, video(2, 1, 2, 2));
  std::vector<alloc_result> o;
  a.allocate(1'000'000, many, o);
  const auto* data = o.data();
  for (int i = 0; i < 10; ++i) {
    a.allocate(1'000'000 + i * 100'000, i % 2 ? few : many, o);
    CHECK(o.data() == data);
    CHECK(o.size() == (i % 2 ? few : many).size());
  }
}
