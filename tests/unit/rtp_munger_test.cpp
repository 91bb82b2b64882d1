// Sequence number / timestamp munger: continuity across wraps, switches, pauses, reorder.
#include "rtp/seq_munger.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>

using namespace chorus::rtp;

namespace {

struct step {
  const char* name;
  uint16_t seq;
  uint32_t ts;
  int64_t now_ms;
  bool discontinuity_before; // mark_discontinuity() before this packet (switch / resume)
  bool forward;
  uint16_t out_seq;
  uint32_t out_ts;
};

template <std::size_t N>
void run(seq_munger& m, const step (&steps)[N]) {
  for (const auto& s : steps) {
    CAPTURE(s.name);
    if (s.discontinuity_before) m.mark_discontinuity();
    const auto d = m.process(s.seq, s.ts, s.now_ms);
    CHECK(d.forward() == s.forward);
    if (s.forward && d.forward()) {
      CHECK(d.seq == s.out_seq);
      CHECK(d.timestamp == s.out_ts);
    }
  }
}

} // namespace

TEST_CASE("seq munger: passes through and crosses the 65535 -> 0 and 2^32 wraps") {
  seq_munger m({90000, 1000});
  const step steps[] = {
    {"first packet keeps its values", 65534, 0xfffffd00u, 0, false, true, 65534, 0xfffffd00u},
    {"next", 65535, 0xfffffd00u, 0, false, true, 65535, 0xfffffd00u},
    {"seq wraps to 0, ts wraps past 2^32", 0, 0x00000100u, 33, false, true, 0, 0x00000100u},
    {"next after wrap", 1, 0x00000100u, 33, false, true, 1, 0x00000100u},
    {"reordered packet from before the wrap", 65535, 0xfffffd00u, 40, false, true, 65535,
     0xfffffd00u},
  };
  run(m, steps);
  CHECK(m.last_seq() == 1);
  CHECK(m.last_timestamp() == 0x100u);
}

TEST_CASE("seq munger: resume after pause continues at last+1 with wall-clock timestamp") {
  seq_munger m({90000, 1000});
  const step steps[] = {
    {"before pause", 1000, 90000, 0, false, true, 1000, 90000},
    {"before pause 2", 1001, 93000, 33, false, true, 1001, 93000},
    // 2 s paused; the source went on to seq 1061 (its packets were not forwarded).
    {"first after resume: last+1, ts + 2000 ms * 90", 1061, 273000, 2033, true, true, 1002,
     93000 + 180000},
    {"continues with the source's deltas", 1062, 276000, 2066, false, true, 1003, 276000},
    {"late packet from before the resume is dropped", 1060, 270000, 2070, false, false, 0, 0},
  };
  run(m, steps);
}

TEST_CASE("seq munger: source switch remaps a different sequence space, across the wraps") {
  seq_munger m({48000, 1000});
  const step steps[] = {
    {"source A", 65535, 0xffffff00u, 0, false, true, 65535, 0xffffff00u},
    // Switch to source B (different seq and ts spaces) 20 ms later.
    {"source B first: seq wraps to 0, ts + 960", 500, 12345, 20, true, true, 0,
     0xffffff00u + 960u},
    {"source B next", 501, 12345 + 960, 40, false, true, 1, 0xffffff00u + 1920u},
    {"B reordered within the window", 503, 12345 + 2880, 80, false, true, 3, 0xffffff00u + 3840u},
    {"B the one that was late", 502, 12345 + 1920, 81, false, true, 2, 0xffffff00u + 2880u},
    {"B older than its base: dropped", 499, 12345 - 960, 82, false, false, 0, 0},
  };
  run(m, steps);
}

TEST_CASE("seq munger: switch with no elapsed time still advances the timestamp") {
  seq_munger m({90000, 1000});
  CHECK(m.process(10, 1000, 5).forward());
  m.mark_discontinuity();
  const auto d = m.process(7000, 5, 5);
  REQUIRE(d.forward());
  CHECK(d.seq == 11);
  CHECK(d.timestamp == 1001); // at least one tick: never the same timestamp for a new frame
}

TEST_CASE("seq munger: packets further behind than the reorder window are dropped") {
  seq_munger m({90000, 100});
  CHECK(m.process(0, 0, 0).forward());
  CHECK(m.process(300, 3000, 10).forward());
  const auto old = m.process(150, 1500, 11);
  CHECK_FALSE(old.forward());
  CHECK(old.reason == munge_drop_reason::too_old);
  const auto ok = m.process(250, 2500, 12);
  CHECK(ok.forward());
  CHECK(ok.seq == 250);
  const auto before = m.process(65500, 0, 13); // before the first packet
  CHECK_FALSE(before.forward());
  CHECK(before.reason == munge_drop_reason::before_base);
}

TEST_CASE("seq munger: long run crosses several wraps with continuous output") {
  seq_munger m({90000, 1000});
  uint16_t seq = 60000;
  uint32_t ts = 0xfff00000u;
  uint16_t expected_seq = 0;
  uint32_t expected_ts = 0;
  int64_t now = 0;
  int breaks = 0; // packets whose output is not last + 1 / last ts + 3000
  for (int i = 0; i < 200000; ++i) {
    if (i % 50000 == 25000) { // a pause every so often: the source jumps ahead
      m.mark_discontinuity();
      seq = uint16_t(seq + 977);
      ts += 3000u * 977u;
      now += 1000;
      const auto d = m.process(seq, ts, now);
      REQUIRE(d.forward());
      CHECK(d.seq == uint16_t(expected_seq + 1));
      CHECK(d.timestamp == expected_ts + 1033u * 90u); // 33 ms frame + 1 s pause
      expected_seq = d.seq;
      expected_ts = d.timestamp;
    } else {
      const auto d = m.process(seq, ts, now);
      if (!d.forward()) ++breaks;
      if (i > 0 && (d.seq != uint16_t(expected_seq + 1) || d.timestamp != expected_ts + 3000u))
        ++breaks;
      expected_seq = d.seq;
      expected_ts = d.timestamp;
    }
    seq = uint16_t(seq + 1);
    ts += 3000u;
    now += 33;
  }
  CHECK(breaks == 0);
}

TEST_CASE("seq munger: output_timestamp maps source timestamps with the forwarding offset") {
  seq_munger m{{90000, 1000}};
  // First packet: the base, forwarded unchanged (offset 0).
  auto d = m.process(100, 4'294'967'000u, 0);
  REQUIRE(d.forward());
  CHECK(m.output_timestamp(4'294'967'000u) == d.timestamp);
  // After a resume the offset changes; a sender-report timestamp of the source maps with it,
  // across the 2^32 wrap.
  m.mark_discontinuity();
  d = m.process(5000, 1000, 1000); // 1 s later: output advances by 90000
  REQUIRE(d.forward());
  CHECK(d.timestamp == uint32_t(4'294'967'000u + 90000u));
  CHECK(m.output_timestamp(1000) == d.timestamp);
  CHECK(m.output_timestamp(1000 + 3000) == uint32_t(d.timestamp + 3000));
  CHECK(m.output_timestamp(1000 - 2000) == uint32_t(d.timestamp - 2000));
}
