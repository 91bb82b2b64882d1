// Transport-wide congestion control feedback: known bytes for each chunk type, large and
// negative deltas, the sequence wrap, splitting, round trips and malformed input.
#include "rtp/transport_cc.hpp"
#include "rtp_rtcp_util.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <vector>

using namespace chorus::rtp;

namespace {

using bytes = std::vector<uint8_t>;
using arrivals = std::vector<packet_arrival>;

using test::single;

packet_arrival got(uint16_t seq, int64_t us) { return {seq, true, us}; }
packet_arrival lost(uint16_t seq) { return {seq, false, 0}; }

struct known_case {
  const char* name;
  transport_cc_params params;
  bytes data;
  uint32_t reference_time;
  arrivals packets;
};

// 1000 * 64 ms, the reference time of the hand-written cases below.
constexpr int64_t ref_1000 = 64'000'000;

std::vector<known_case> known_cases() {
  std::vector<known_case> cases;
  cases.push_back({
    "pion example1: one packet, run length chunk, padding bit",
    {0xfa17fa17, 0x43032fa0, 23},
    {
      0xaf, 0xcd, 0x00, 0x05, // V=2 P=1 FMT=15 PT=205 length=5 (24 bytes)
      0xfa, 0x17, 0xfa, 0x17, // sender SSRC
      0x43, 0x03, 0x2f, 0xa0, // media SSRC
      0x00, 0x99, 0x00, 0x01, // base seq 153, status count 1
      0x3d, 0xe8, 0x02, 0x17, // reference time 4057090, fb pkt count 23
      0x20, 0x01,             // run length: symbol 01 (small), run 1
      0x94,                   // delta 148 * 250 us = 37 ms
      0x01,                   // padding count 1
    },
    4057090,
    {got(153, 4057090ll * 64000 + 37000)},
  });
  cases.push_back({
    "2-bit vector across the seq wrap with large and negative deltas",
    {1, 2, 7},
    {
      0xaf, 0xcd, 0x00, 0x06, // V=2 P=1 FMT=15 PT=205 length=6 (28 bytes)
      0x00, 0x00, 0x00, 0x01, // sender SSRC
      0x00, 0x00, 0x00, 0x02, // media SSRC
      0xff, 0xfe, 0x00, 0x04, // base seq 65534, status count 4
      0x00, 0x03, 0xe8, 0x07, // reference time 1000 (64 s), fb pkt count 7
      0xd2, 0x80,             // |1|1| 01 00 10 10 00 00 00: small, lost, large, large
      0x04,                   // 65534: +1 ms from the reference time
      0x01, 0x90,             // 0: +100 ms (400 ticks, large)
      0xff, 0xfc,             // 1: -1 ms (negative, large)
      0x01,                   // padding count 1
    },
    1000,
    {got(65534, ref_1000 + 1000), lost(65535), got(0, ref_1000 + 101000),
     got(1, ref_1000 + 100000)},
  });
  cases.push_back({
    "1-bit vector of 14",
    {1, 2, 0},
    {
      0xaf, 0xcd, 0x00, 0x08, // length=8 (36 bytes)
      0x00, 0x00, 0x00, 0x01,
      0x00, 0x00, 0x00, 0x02,
      0x00, 0x64, 0x00, 0x0e, // base seq 100, status count 14
      0x00, 0x00, 0x00, 0x00, // reference time 0, fb pkt count 0
      0xbb, 0xdf,             // |1|0| 1110 1111 0111 11: 103 and 108 lost
      0x04, 0x14, 0x14, 0x28, // deltas (250 us): 1 ms, then 5 ms apart,
      0x14, 0x14, 0x14, 0x28, // 10 ms over a lost packet
      0x14, 0x14, 0x14, 0x14,
      0x00, 0x02,             // padding, count 2
    },
    0,
    {got(100, 1000), got(101, 6000), got(102, 11000), lost(103), got(104, 21000),
     got(105, 26000), got(106, 31000), got(107, 36000), lost(108), got(109, 46000),
     got(110, 51000), got(111, 56000), got(112, 61000), got(113, 66000)},
  });
  {
    // 10 received, 30 lost, 10 received: a 1-bit vector (10 + 4), a run of 26 lost, a
    // run of 10 received.
    arrivals a;
    for (uint16_t s = 0; s < 50; ++s)
      a.push_back(s < 10 || s >= 40 ? got(s, 250 * (s + 1)) : lost(s));
    bytes data = {
      0xaf, 0xcd, 0x00, 0x0b, // length=11 (48 bytes)
      0x00, 0x00, 0x00, 0x01,
      0x00, 0x00, 0x00, 0x02,
      0x00, 0x00, 0x00, 0x32, // base seq 0, status count 50
      0x00, 0x00, 0x00, 0x00, // reference time 0, fb pkt count 0
      0xbf, 0xf0,             // |1|0| 11111111110000
      0x00, 0x1a,             // run: symbol 00, 26
      0x20, 0x0a,             // run: symbol 01, 10
    };
    for (int i = 0; i < 10; ++i)
      data.push_back(0x01);
    data.push_back(0x1f); // seq 40: 31 ticks after seq 9
    for (int i = 0; i < 9; ++i)
      data.push_back(0x01);
    data.push_back(0x00);
    data.push_back(0x02); // padding, count 2
    cases.push_back({"runs and a vector", {1, 2, 0}, data, 0, a});
  }
  return cases;
}

// Build with the convenience, parse each packet back, concatenate.
arrivals round_trip(const arrivals& in, size_t max_size, size_t* packet_count = nullptr) {
  auto built = build_transport_cc({1, 2, 250}, in, max_size);
  REQUIRE(built.ok());
  arrivals out;
  uint8_t fb_count = 250;
  for (const auto& b : *built) {
    CHECK(b.size() <= max_size);
    CHECK(b.size() % 4 == 0);
    auto fb = transport_cc_feedback::parse(single(b));
    REQUIRE(fb.ok());
    CHECK(fb->fb_pkt_count == fb_count++);
    out.insert(out.end(), fb->packets.begin(), fb->packets.end());
  }
  if (packet_count)
    *packet_count = built->size();
  return out;
}

// Deterministic pseudo-random pattern.
struct lcg {
  uint32_t state;
  uint32_t next() { return state = state * 1664525u + 1013904223u; }
};

} // namespace

TEST_CASE("rtcp transport-cc: known bytes parsed and built byte for byte") {
  for (const auto& c : known_cases()) {
    INFO(c.name);
    auto fb = transport_cc_feedback::parse(single(c.data));
    REQUIRE(fb.ok());
    CHECK(fb->sender_ssrc == c.params.sender_ssrc);
    CHECK(fb->media_ssrc == c.params.media_ssrc);
    CHECK(fb->fb_pkt_count == c.params.fb_pkt_count);
    CHECK(fb->reference_time == c.reference_time);
    CHECK(fb->base_seq == c.packets.front().seq);
    CHECK(fb->packets == c.packets);

    bytes out(1200);
    auto written = write_transport_cc(c.params, c.packets, out);
    REQUIRE(written.ok());
    CHECK(written->consumed == c.packets.size());
    out.resize(written->size);
    CHECK(out == c.data);
  }
}

TEST_CASE("rtcp transport-cc: gaps in the input are reported as not received") {
  const arrivals in = {got(65533, 5000), got(2, 9000)}; // 65534..1 missing
  auto built = build_transport_cc({1, 2, 0}, in);
  REQUIRE(built.ok());
  REQUIRE(built->size() == 1);
  auto fb = transport_cc_feedback::parse(single(built->front()));
  REQUIRE(fb.ok());
  const arrivals expected = {got(65533, 5000), lost(65534), lost(65535), lost(0), lost(1),
                             got(2, 9000)};
  CHECK(fb->packets == expected);
}

TEST_CASE("rtcp transport-cc: round trips of generated patterns") {
  struct row {
    const char* name;
    uint16_t base;
    size_t count;
    uint32_t loss_per_mille;
    int64_t max_step_us; // arrival step drawn in [-max_step_us / 8, max_step_us]
  };
  const row rows[] = {
    {"no loss, small deltas", 1000, 500, 0, 5000},
    {"10% loss across the wrap", 65000, 2000, 100, 10000},
    {"heavy loss", 100, 3000, 700, 20000},
    {"large and negative deltas", 65535, 1000, 50, 200000},
    {"all lost", 7, 10000, 1000, 1000},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    lcg rng{uint32_t(r.count)};
    arrivals in;
    int64_t t = 1'000'000'000; // 1000 s
    for (size_t i = 0; i < r.count; ++i) {
      const int64_t span = r.max_step_us + r.max_step_us / 8;
      t += int64_t(rng.next() % uint32_t(span / 250 + 1)) * 250 - (r.max_step_us / 8 / 250) * 250;
      const bool received = rng.next() % 1000 >= r.loss_per_mille;
      in.push_back(received ? got(uint16_t(r.base + i), t) : lost(uint16_t(r.base + i)));
    }
    for (size_t max_size : {size_t(1200), size_t(100), size_t(24)}) {
      CAPTURE(max_size);
      size_t packets = 0;
      const auto out = round_trip(in, max_size, &packets);
      // Arrival times come back modulo the 24-bit reference time: equal here.
      CHECK(out == in);
      if (max_size == 24 && r.loss_per_mille < 1000)
        CHECK(packets > 1); // all lost fits: run length chunks are cheap
    }
  }
}

TEST_CASE("rtcp transport-cc: split when the delta does not fit 16 bits") {
  // 10 s between two arrivals is more than 32767 * 250 us: a second packet with a new
  // reference time.
  const arrivals in = {got(1, 1'000'000), got(2, 11'000'000), got(3, 11'000'250)};
  size_t packets = 0;
  CHECK(round_trip(in, 1200, &packets) == in);
  CHECK(packets == 2);
}

TEST_CASE("rtcp transport-cc: status count is limited to 32767 (libwebrtc's bound)") {
  arrivals in;
  for (uint32_t i = 0; i < 70000; ++i)
    in.push_back(lost(uint16_t(i)));
  in.push_back(got(uint16_t(70000), 64'000));
  size_t packets = 0;
  CHECK(round_trip(in, 1200, &packets) == in);
  CHECK(packets == 3);
}

namespace {

// A transport-cc feedback whose `count` statuses are all "not received", written as
// run-length chunks of at most 8191 (the cheapest way to claim many), padded to a word.
bytes not_received_feedback(uint16_t count) {
  bytes fb{0x8f, 0xcd, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0x00, 0x00, uint8_t(count >> 8),
           uint8_t(count), 0, 0, 0, 0};
  for (uint32_t left = count; left > 0;) {
    const uint32_t run = std::min<uint32_t>(left, 8191);
    fb.push_back(uint8_t(run >> 8)); // T = 0 (run length), symbol 00 (not received)
    fb.push_back(uint8_t(run));
    left -= run;
  }
  fb.resize((fb.size() + 3) / 4 * 4, 0);
  fb[3] = uint8_t(fb.size() / 4 - 1);
  return fb;
}

} // namespace

TEST_CASE("rtcp transport-cc: a status count above 32767 is refused, not expanded") {
  // 40 bytes claiming 65535 statuses: eight run-length chunks of 8191 "not received" and
  // one of 7, which would otherwise expand to a 65535-entry table.
  const bytes fb = not_received_feedback(65535);
  REQUIRE(fb.size() == 40);
  auto c = split_compound(fb);
  REQUIRE(c.ok());
  REQUIRE(c->size() == 1);
  CHECK(transport_cc_feedback::parse((*c)[0]).error() == rtcp_error::malformed);
  // The same with 32767 statuses (four runs of 8191 and one of 3) parses.
  const bytes ok = not_received_feedback(32767);
  auto c2 = split_compound(ok);
  REQUIRE(c2.ok());
  auto parsed = transport_cc_feedback::parse((*c2)[0]);
  REQUIRE(parsed.ok());
  CHECK(parsed->packets.size() == 32767);
}

TEST_CASE("rtcp transport-cc: builder errors") {
  bytes out(1200);
  CHECK(write_transport_cc({}, {}, out).error() == rtcp_error::bad_value);
  const arrivals backwards = {got(10, 0), got(9, 250)};
  CHECK(write_transport_cc({}, backwards, out).error() == rtcp_error::bad_value);
  const arrivals duplicate = {got(10, 0), got(10, 250)};
  CHECK(write_transport_cc({}, duplicate, out).error() == rtcp_error::bad_value);
  const arrivals one = {got(10, 0)};
  bytes tiny(23);
  CHECK(write_transport_cc({}, one, tiny).error() == rtcp_error::no_space);
  bytes just(24);
  auto w = write_transport_cc({}, one, just);
  REQUIRE(w.ok());
  CHECK(w->size == 24);
}

TEST_CASE("rtcp transport-cc: malformed feedback is an error, not a crash") {
  SUBCASE("truncated at every body length") {
    for (const auto& c : known_cases()) {
      INFO(c.name);
      const auto parse = [](const rtcp_packet& cut) { return transport_cc_feedback::parse(cut); };
      test::check_cuts_fail(single(c.data), parse);
    }
  }
  SUBCASE("whole datagram truncated at every length") {
    const auto c = known_cases()[1];
    for (size_t n = 0; n < c.data.size(); ++n) {
      const bytes cut(c.data.begin(), c.data.begin() + ptrdiff_t(n));
      CHECK_FALSE(split_compound(cut).ok());
    }
  }
  // One feedback of length 5: sender SSRC 1, media SSRC 2, base seq 0, `status_count`,
  // reference time 0, feedback count 0, then the 4 bytes `tail`. `b0`: V=2, P, FMT=15.
  const auto one_chunk = [](uint8_t b0, uint8_t status_count, std::array<uint8_t, 4> tail) {
    return bytes{b0, 0xcd, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, status_count, 0, 0, 0, 0,
                 tail[0], tail[1], tail[2], tail[3]};
  };
  struct row {
    const char* name;
    bytes data;
    rtcp_error error;
  };
  const row rows[] = {
    {"reserved symbol in a run", one_chunk(0x8f, 1, {0x60, 0x01, 0x00, 0x00}),
     rtcp_error::malformed},
    {"reserved symbol in a 2-bit vector", one_chunk(0x8f, 1, {0xf0, 0x00, 0x00, 0x00}),
     rtcp_error::malformed},
    {"status count needs more chunks", one_chunk(0x8f, 9, {0x00, 0x01, 0x00, 0x00}),
     rtcp_error::truncated},
    {"missing large delta (only padding after the chunk)",
     one_chunk(0xaf, 1, {0x40, 0x01, 0x00, 0x02}), rtcp_error::truncated},
    {"wrong FMT (NACK)",
     {0x81, 0xcd, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0},
     rtcp_error::wrong_type},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    auto fb = transport_cc_feedback::parse(single(r.data));
    REQUIRE_FALSE(fb.ok());
    CHECK(fb.error() == r.error);
  }
}
