// Sequence number / timestamp munger: continuity across wraps, switches, pauses, reorder,
// and deliberate drops (drop(): the numbers of dropped packets are closed).
#include "rtp/seq_munger.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <utility>
#include <vector>

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

// ---- drop() ------------------------------------------------------------------------------

namespace {

enum class op : uint8_t { process, drop };

// One call: process() (expecting forward with out_seq / out_ts, or a drop with `reason`) or
// drop() (nothing to check but last_seq, which a drop never moves).
struct drop_step {
  const char* name;
  op kind;
  uint16_t seq;
  uint32_t ts;
  int64_t now_ms;
  bool discontinuity_before;
  bool forward;
  uint16_t out_seq;
  uint32_t out_ts;
  munge_drop_reason reason;
};

constexpr auto P = op::process;
constexpr auto D = op::drop;
constexpr auto none = munge_drop_reason::none;

template <std::size_t N>
void run(seq_munger& m, const drop_step (&steps)[N]) {
  for (const auto& s : steps) {
    CAPTURE(s.name);
    if (s.discontinuity_before)
      m.mark_discontinuity();
    if (s.kind == op::drop) {
      const bool started = m.started();
      const uint16_t last = m.last_seq();
      const uint32_t last_ts = m.last_timestamp();
      m.drop(s.seq, s.ts, s.now_ms);
      CHECK(m.started() == started);
      if (started) {
        CHECK(m.last_seq() == last);
        CHECK(m.last_timestamp() == last_ts);
      }
      continue;
    }
    const auto d = m.process(s.seq, s.ts, s.now_ms);
    REQUIRE(d.forward() == s.forward);
    if (d.forward()) {
      CHECK(d.seq == s.out_seq);
      CHECK(d.timestamp == s.out_ts);
    } else {
      CHECK(d.reason == s.reason);
    }
  }
}

} // namespace

TEST_CASE("seq munger drop: in-order drops close their numbers") {
  seq_munger m({90000, 1000});
  // L1T3 at 30 fps, one packet per frame, receiver on the base layer only: TID 0 2 1 2 0 ...
  const drop_step steps[] = {
    {"T0 forwarded", P, 100, 0, 0, false, true, 100, 0, none},
    {"T2 dropped", D, 101, 3000, 33, false, false, 0, 0, none},
    {"T1 dropped", D, 102, 6000, 66, false, false, 0, 0, none},
    {"T2 dropped", D, 103, 9000, 100, false, false, 0, 0, none},
    {"T0: next number, source timestamp", P, 104, 12000, 133, false, true, 101, 12000, none},
    {"T0 second packet of the frame", P, 105, 12000, 134, false, true, 102, 12000, none},
    {"T2 dropped", D, 106, 15000, 166, false, false, 0, 0, none},
    {"T1 forwarded now (target went up)", P, 107, 18000, 200, false, true, 103, 18000, none},
    {"duplicate of the last forwarded maps the same", P, 107, 18000, 201, false, true, 103,
     18000, none},
    {"duplicate of an earlier one too", P, 104, 12000, 202, false, true, 101, 12000, none},
    {"a dropped packet coming again is dropped again", P, 106, 15000, 203, false, false, 0, 0,
     munge_drop_reason::dropped_layer},
    {"so is the oldest dropped one", P, 101, 3000, 204, false, false, 0, 0,
     munge_drop_reason::dropped_layer},
    {"drop() again of a dropped packet changes nothing", D, 106, 15000, 205, false, false, 0, 0,
     none},
    {"drop() of an already forwarded packet changes nothing", D, 107, 18000, 206, false, false,
     0, 0, none},
    {"next", P, 108, 21000, 233, false, true, 104, 21000, none},
  };
  run(m, steps);
  CHECK(m.last_seq() == 104);
  CHECK(m.last_timestamp() == 21000);
}

TEST_CASE("seq munger drop: reordered packets older than a drop keep their mapping") {
  SUBCASE("a late packet from before a drop, and one between two drops") {
    seq_munger m({90000, 1000});
    const drop_step steps[] = {
      {"10", P, 10, 1000, 0, false, true, 10, 1000, none},
      // 11 is late; 12 is dropped while 11 is still on its way.
      {"12 dropped", D, 12, 1200, 2, false, false, 0, 0, none},
      {"13 closes 12's number", P, 13, 1300, 3, false, true, 12, 1300, none},
      {"11 arrives late: its own number", P, 11, 1100, 4, false, true, 11, 1100, none},
      {"15 dropped (14 still late)", D, 15, 1500, 5, false, false, 0, 0, none},
      {"16 dropped", D, 16, 1600, 6, false, false, 0, 0, none},
      {"17", P, 17, 1700, 7, false, true, 14, 1700, none},
      {"14 late: after 12 closed, before 15 and 16", P, 14, 1400, 8, false, true, 13, 1400,
       none},
      {"duplicate of 11", P, 11, 1100, 9, false, true, 11, 1100, none},
      {"duplicate of 17", P, 17, 1700, 10, false, true, 14, 1700, none},
      {"18", P, 18, 1800, 11, false, true, 15, 1800, none},
    };
    run(m, steps);
    CHECK(m.last_seq() == 15);
  }
  SUBCASE("a late packet after the newest was dropped becomes the last output") {
    seq_munger m({90000, 1000});
    const drop_step steps[] = {
      {"10", P, 10, 1000, 0, false, true, 10, 1000, none},
      {"12 dropped", D, 12, 1200, 2, false, false, 0, 0, none},
      {"11 late", P, 11, 1100, 3, false, true, 11, 1100, none},
      // A switch now continues after 11.
      {"switch: last + 1", P, 40000, 5, 33, true, true, 12, 1100 + 30 * 90, none},
    };
    run(m, steps);
  }
  SUBCASE("drop() of a late packet: its number stays open, the packet can still fill it") {
    seq_munger m({90000, 1000});
    const drop_step steps[] = {
      {"20", P, 20, 0, 0, false, true, 20, 0, none},
      {"22 (21 late)", P, 22, 200, 2, false, true, 22, 200, none},
      {"21 dropped late: 22 is out already, nothing to close", D, 21, 100, 3, false, false, 0,
       0, none},
      {"23: no change to the mapping", P, 23, 300, 4, false, true, 23, 300, none},
      {"21 forwarded after all fills its number", P, 21, 100, 5, false, true, 21, 100, none},
    };
    run(m, steps);
  }
}

TEST_CASE("seq munger drop: across the 65535 -> 0 wrap") {
  seq_munger m({90000, 1000});
  const drop_step steps[] = {
    {"65533", P, 65533, 0xfffff000u, 0, false, true, 65533, 0xfffff000u, none},
    {"65534 dropped", D, 65534, 0xfffff000u + 3000u, 33, false, false, 0, 0, none},
    {"65535 dropped", D, 65535, 0xfffff000u + 6000u, 66, false, false, 0, 0, none},
    {"0: both numbers closed, timestamp wraps", P, 0, 0xfffff000u + 9000u, 100, false, true,
     65534, 0xfffff000u + 9000u, none},
    {"1 dropped", D, 1, 0xfffff000u + 12000u, 133, false, false, 0, 0, none},
    {"3 (2 late)", P, 3, 0xfffff000u + 18000u, 200, false, true, 0, 0xfffff000u + 18000u,
     none},
    {"2 late: between the closed 1 and 3", P, 2, 0xfffff000u + 15000u, 201, false, true, 65535,
     0xfffff000u + 15000u, none},
    {"late duplicate of 65533 from before the wrap", P, 65533, 0xfffff000u, 202, false, true,
     65533, 0xfffff000u, none},
    {"65535 again: closed", P, 65535, 0xfffff000u + 6000u, 203, false, false, 0, 0,
     munge_drop_reason::dropped_layer},
    {"4", P, 4, 0xfffff000u + 21000u, 233, false, true, 1, 0xfffff000u + 21000u, none},
  };
  run(m, steps);
}

TEST_CASE("seq munger drop: the first packet of a source dropped") {
  SUBCASE("right after mark_discontinuity: the next forwarded one is last output + 1") {
    seq_munger m({90000, 1000});
    const drop_step steps[] = {
      {"before the switch", P, 1000, 90000, 0, false, true, 1000, 90000, none},
      // Switch 1 s later; the new source's first packet is dropped: it becomes the base.
      {"new source's first packet dropped", D, 5000, 7000, 1000, true, false, 0, 0, none},
      {"next: last + 1, ts: 1 s of wall clock + the source's 3000", P, 5001, 10000, 1033, false,
       true, 1001, 90000 + 90000 + 3000, none},
      {"older than the dropped base: before_base", P, 4999, 4000, 1034, false, false, 0, 0,
       munge_drop_reason::before_base},
      {"the dropped base again: dropped", P, 5000, 7000, 1035, false, false, 0, 0,
       munge_drop_reason::dropped_layer},
      {"next", P, 5002, 13000, 1066, false, true, 1002, 90000 + 90000 + 6000, none},
    };
    run(m, steps);
  }
  SUBCASE("several drops after the switch before the first forwarded packet") {
    seq_munger m({48000, 1000});
    const drop_step steps[] = {
      {"A", P, 300, 0, 0, false, true, 300, 0, none},
      {"B dropped (base)", D, 9, 100000, 20, true, false, 0, 0, none},
      {"B dropped", D, 10, 100960, 40, false, false, 0, 0, none},
      {"B dropped", D, 11, 101920, 60, false, false, 0, 0, none},
      {"B: 301, ts: 20 ms wall clock + 1920", P, 12, 102880, 80, false, true, 301,
       960 + 2880, none},
    };
    run(m, steps);
  }
  SUBCASE("the very first packet ever: the next one takes its number") {
    seq_munger m({90000, 1000});
    CHECK_FALSE(m.started());
    m.drop(500, 1000, 0);
    CHECK_FALSE(m.started()); // nothing was sent
    const drop_step steps[] = {
      {"first forwarded", P, 501, 4000, 33, false, true, 500, 4000, none},
      {"next", P, 502, 7000, 66, false, true, 501, 7000, none},
    };
    run(m, steps);
    CHECK(m.started());
    CHECK(m.last_seq() == 501);
  }
  SUBCASE("the very first packet ever dropped, then a late one older than it") {
    seq_munger m({90000, 1000});
    m.drop(500, 1000, 0);
    const auto d = m.process(499, 0, 1);
    CHECK_FALSE(d.forward());
    CHECK(d.reason == munge_drop_reason::before_base);
    CHECK_FALSE(m.started());
  }
}

TEST_CASE("seq munger drop: a switch after drops continues from the last forwarded") {
  seq_munger m({90000, 1000});
  const drop_step steps[] = {
    {"10", P, 10, 0, 0, false, true, 10, 0, none},
    {"11 dropped", D, 11, 3000, 33, false, false, 0, 0, none},
    {"12 dropped", D, 12, 6000, 66, false, false, 0, 0, none},
    // The timestamp continues from the last packet sent (10 at 0 ms), not from the drops.
    {"switch at 100 ms: 11", P, 777, 123, 100, true, true, 11, 9000, none},
    {"the old source's 12 is nothing to the new one", P, 12, 6000, 101, false, false, 0, 0,
     munge_drop_reason::before_base},
  };
  run(m, steps);
}

TEST_CASE("seq munger drop: many drops, and what the bounded record forgets") {
  SUBCASE("thousands of drops in a row, across wraps") {
    seq_munger m({90000, 1000});
    REQUIRE(m.process(60000, 0, 0).forward());
    for (int i = 1; i <= 70000; ++i)
      m.drop(uint16_t(60000 + i), uint32_t(i) * 3000u, i);
    const auto d = m.process(uint16_t(60000 + 70001), 70001u * 3000u, 70001);
    REQUIRE(d.forward());
    CHECK(d.seq == 60001);
    CHECK(d.timestamp == 70001u * 3000u);
    CHECK(m.last_seq() == 60001);
  }
  SUBCASE("three of four dropped over 200000 packets: continuous output") {
    seq_munger m({90000, 1000});
    uint16_t expected = 0;
    int breaks = 0;
    for (int i = 0; i < 200000; ++i) {
      const uint16_t seq = uint16_t(40000 + i);
      const uint32_t ts = 0xffff0000u + uint32_t(i) * 3000u;
      if (i % 4 != 0) {
        m.drop(seq, ts, i);
        continue;
      }
      const auto d = m.process(seq, ts, i);
      if (!d.forward() || (i > 0 && d.seq != uint16_t(expected + 1)) || d.timestamp != ts)
        ++breaks;
      expected = d.seq;
    }
    CHECK(breaks == 0);
    CHECK(expected == uint16_t(40000 + 49999));
  }
  SUBCASE("reordering deeper than drop_window after drops degrades to too_old") {
    // max_reorder above the record's reach: without drops the configured window applies;
    // once the source had a drop, packets drop_window or more behind are too_old (which
    // numbers were closed that far back is forgotten).
    seq_munger m({90000, 3000});
    REQUIRE(m.process(0, 0, 0).forward());
    for (uint16_t s = 2; s <= 2000; ++s)
      REQUIRE(m.process(s, s, 0).forward()); // 1 is late
    auto late = m.process(1, 1, 0);          // 1999 behind, no drops yet: mapped
    REQUIRE(late.forward());
    CHECK(late.seq == 1);

    m.drop(2001, 2001, 0);                   // from here the record matters
    for (uint16_t s = 2002; s <= 4000; ++s)
      REQUIRE(m.process(s, s, 0).forward());
    CHECK(m.last_seq() == 3999);
    const auto too_deep = m.process(uint16_t(4000 - seq_munger::drop_window), 0, 0);
    CHECK_FALSE(too_deep.forward());
    CHECK(too_deep.reason == munge_drop_reason::too_old);
    const auto just_in = m.process(uint16_t(4000 - seq_munger::drop_window + 1), 0, 0);
    REQUIRE(just_in.forward());
    CHECK(just_in.seq == uint16_t(4000 - seq_munger::drop_window)); // after the closed 2001
    const auto before_drop = m.process(2000, 2000, 0); // 2000 behind, before the drop
    CHECK_FALSE(before_drop.forward());
    CHECK(before_drop.reason == munge_drop_reason::too_old);
  }
  SUBCASE("a closed number is forgotten once drop_window behind: then too_old") {
    seq_munger m({90000, 3000});
    REQUIRE(m.process(0, 0, 0).forward());
    m.drop(1, 0, 0);
    for (uint16_t s = 2; s <= 1100; ++s)
      REQUIRE(m.process(s, 0, 0).forward());
    const auto d = m.process(1, 0, 0);
    CHECK_FALSE(d.forward());
    CHECK(d.reason == munge_drop_reason::too_old);
  }
}

TEST_CASE("seq munger drop: random drops, reordering and duplicates keep the output whole") {
  // Packets of one source, each forwarded or dropped (a fixed per-packet decision, as a
  // temporal layer is), arriving with adjacent swaps and duplicates. Whatever the order, the
  // outputs of the forwarded packets must be distinct, increase with the input, and fill
  // one range whose only holes are the packets dropped late (after a newer one arrived).
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    CAPTURE(round);
    seq_munger m({90000, 1000});
    const int n = 5000;
    const uint16_t first = uint16_t(rng());
    std::vector<bool> dropped(n);
    for (int i = 0; i < n; ++i)
      dropped[i] = i != 0 && i != n - 1 && rng() % 100 < 60;
    std::vector<int> order(n);
    for (int i = 0; i < n; ++i)
      order[i] = i;
    for (int i = 1; i + 2 < n; ++i)
      if (rng() % 100 < 15)
        std::swap(order[i], order[i + 1]);
    std::map<int, int64_t> out; // input index -> unwrapped output
    int64_t high_out = -1;
    int late_drops = 0;
    int highest = -1;
    int bad = 0;
    for (int k = 0; k < n; ++k) {
      const int i = order[k];
      const uint16_t seq = uint16_t(first + i);
      const uint32_t ts = uint32_t(i) * 3000u;
      if (dropped[i]) {
        if (i < highest)
          ++late_drops;
        m.drop(seq, ts, k);
      } else {
        const auto d = m.process(seq, ts, k);
        if (!d.forward() || d.timestamp != ts) {
          ++bad;
        } else {
          // Unwrap around the highest output so far.
          const int64_t base = high_out < 0 ? d.seq : high_out;
          const int64_t o = base + int16_t(uint16_t(d.seq - uint16_t(base)));
          out[i] = o;
          high_out = std::max(high_out, o);
        }
      }
      highest = std::max(highest, i);
      if (rng() % 100 < 5) { // a duplicate of something recent
        const int j = std::max(0, i - int(rng() % 5));
        const auto d = m.process(uint16_t(first + j), uint32_t(j) * 3000u, k);
        if (dropped[j]) {
          // Closed numbers are dropped again; a late drop left its number open, so the
          // packet is forwarded into it.
          if (d.forward() && !out.count(j)) {
            const int64_t o = high_out + int16_t(uint16_t(d.seq - uint16_t(high_out)));
            out[j] = o;
            --late_drops; // the hole is filled
          }
        } else if (out.count(j) && (!d.forward() || d.seq != uint16_t(out[j]))) {
          ++bad;
        }
      }
    }
    CHECK(bad == 0);
    std::set<int64_t> outputs;
    int64_t prev = -1;
    bool increasing = true;
    for (const auto& [i, o] : out) {
      increasing = increasing && o > prev;
      prev = o;
      outputs.insert(o);
    }
    CHECK(increasing);
    CHECK(outputs.size() == out.size());
    CHECK(*outputs.rbegin() - *outputs.begin() + 1 == int64_t(out.size()) + late_drops);
  }
}
