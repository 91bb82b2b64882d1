// Per-stream RTP statistics: RFC 3550 sequence accounting across the wrap, loss and
// fraction lost, jitter against the A.8 formula, LSR / DLSR, sender reports parsed back,
// RTT from a report block, bitrate and score.
#include "rtp/rtp_stream.hpp"
#include "rtp_rtcp_util.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <vector>

using namespace chorus::rtp;

namespace {

constexpr uint32_t video_clock = 90'000;

// Feeds media packets of 100 bytes 20 ms apart with matching timestamps (constant transit).
void feed(receive_stream& s, const std::vector<uint16_t>& seqs, int64_t start_ms = 1000) {
  int64_t now = start_ms;
  for (auto seq : seqs) {
    s.on_packet(seq, uint32_t(now * 90), 100, now, false);
    now += 20;
  }
}

std::vector<uint16_t> range(uint16_t first, size_t count) {
  std::vector<uint16_t> v;
  for (size_t i = 0; i < count; ++i) v.push_back(uint16_t(first + i));
  return v;
}

using test::single;

} // namespace

TEST_CASE("receive_stream: sequence accounting (RFC 3550 A.1 / A.3)") {
  struct row {
    const char* name;
    std::vector<uint16_t> seqs;
    uint32_t extended_highest;
    int64_t lost;
    uint64_t duplicates;
  };
  const row rows[] = {
    {"in order", {10, 11, 12, 13}, 13, 0, 0},
    {"wrap 65534, 65535, 0, 1", {65534, 65535, 0, 1}, 0x10001, 0, 0},
    {"known gap of two", {1, 2, 5, 6}, 6, 2, 0},
    {"loss of 65535 and 0 across the wrap", {65534, 1}, 0x10001, 2, 0},
    {"late packet fills the hole", {1, 3, 2}, 3, 0, 0},
    {"late packet across the wrap", {65535, 1, 0}, 0x10001, 0, 0},
    {"duplicate of the highest", {1, 2, 2, 3}, 3, 0, 1},
    {"duplicate of a late packet", {1, 3, 2, 2}, 3, 0, 1},
    {"late packet before the first: negative loss", {10, 9}, 10, -1, 0},
    {"two full cycles", [] {
       std::vector<uint16_t> v;
       for (uint32_t i = 0; i <= 2 * 65536; i += 1000) v.push_back(uint16_t(i));
       v.push_back(0); // 2 * 65536 exactly
       return v;
     }(), 0x20000, 0x20000 - 132, 0},
    {"lone jump ignored", {1, 2, 20000}, 2, 0, 0},
    {"two sequential after a jump: restart", {1, 2, 20000, 20001}, 20001, 0, 0},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    receive_stream s(1234, video_clock);
    feed(s, r.seqs);
    const auto st = s.stats(5000);
    CHECK(st.extended_highest_seq == r.extended_highest);
    CHECK(st.lost == r.lost);
    CHECK(st.duplicates == r.duplicates);
    CHECK(st.packets == r.seqs.size());
    CHECK(st.bytes == r.seqs.size() * 100);
    const auto rb = s.make_report_block(5000);
    CHECK(rb.ssrc == 1234);
    CHECK(rb.extended_highest_seq == r.extended_highest);
    CHECK(rb.cumulative_lost == r.lost);
  }
}

TEST_CASE("receive_stream: fraction lost per report interval") {
  struct row {
    const char* name;
    std::vector<std::vector<uint16_t>> intervals; // arrivals before each report
    std::vector<uint8_t> fractions;
    std::vector<int32_t> cumulative;
  };
  const row rows[] = {
    {"1 lost of 10: floor(256 / 10) = 25",
     {{1, 2, 3, 4, 6, 7, 8, 9, 10}}, {25}, {1}},
    {"3 lost of 7: floor(768 / 7) = 109", {{1, 3, 5, 7}}, {109}, {3}},
    {"loss then a clean interval", {{1, 2, 3, 4, 6, 7, 8, 9, 10}, range(11, 10)},
     {25, 0}, {1, 1}},
    {"late arrival makes more than expected: clamped at 0",
     {{1, 2, 4}, {3, 5}}, {64, 0}, {1, 0}},
    {"duplicates only: nothing expected, 0", {{1, 2}, {2, 2}}, {0, 0}, {0, 0}},
    {"1 lost of 9 across the wrap: floor(256 / 9) = 28",
     {{65530, 65531, 65532, 65533, 65534, 65535, 1, 2}}, {28}, {1}},
    {"nothing received yet", {{}}, {0}, {0}},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    receive_stream s(1, video_clock);
    int64_t now = 1000;
    for (size_t i = 0; i < r.intervals.size(); ++i) {
      CAPTURE(i);
      feed(s, r.intervals[i], now);
      now += 1000;
      const auto rb = s.make_report_block(now);
      CHECK(rb.fraction_lost == r.fractions[i]);
      CHECK(rb.cumulative_lost == r.cumulative[i]);
      CHECK(s.stats(now).fraction_lost == r.fractions[i]);
    }
  }
}

TEST_CASE("receive_stream: retransmissions counted apart, loss and jitter unchanged") {
  receive_stream s(1, video_clock);
  // 1, 2, 4 at constant transit; 3 arrives through RTX 150 ms late.
  s.on_packet(1, 90'000, 100, 1000, false);
  s.on_packet(2, 90'000 + 1800, 100, 1020, false);
  s.on_packet(4, 90'000 + 5400, 100, 1060, false);
  s.on_packet(3, 90'000 + 3600, 120, 1190, true);
  const auto st = s.stats(1200);
  CHECK(st.packets == 4);
  CHECK(st.bytes == 420);
  CHECK(st.retransmitted == 1);
  CHECK(st.duplicates == 0);
  CHECK(st.lost == 1);     // the network lost it; the repair does not hide that
  CHECK(st.jitter == 0);   // a 150 ms late repair is not path jitter
  CHECK(s.make_report_block(1200).fraction_lost == 64);
  // The original showing up late after all is a real arrival.
  s.on_packet(3, 90'000 + 3600, 100, 1195, false);
  CHECK(s.stats(1200).lost == 0);
  CHECK(s.stats(1200).retransmitted == 1);
}

TEST_CASE("receive_stream: what brings nothing new is told apart (not to be forwarded again)") {
  // (seq, through RTX) in arrival order, and whether each is new. A producer forwards only
  // the new ones: a receiver discards the others, and each would cost a transport-wide
  // number that its feedback reports lost.
  struct arrival {
    uint16_t seq;
    bool rtx;
    bool fresh;
  };
  struct row {
    const char* name;
    std::vector<arrival> arrivals;
    uint64_t duplicates;
    int64_t lost;
  };
  const row rows[] = {
    {"in order", {{1, false, true}, {2, false, true}, {3, false, true}}, 0, 0},
    {"duplicate of the highest", {{1, false, true}, {2, false, true}, {2, false, false}}, 1, 0},
    {"late original is new", {{1, false, true}, {3, false, true}, {2, false, true}}, 0, 0},
    {"duplicate of a late original", {{1, false, true}, {3, false, true}, {2, false, true}, {2, false, false}}, 1, 0},
    {"repair of a missing packet is new", {{1, false, true}, {3, false, true}, {2, true, true}}, 0, 1},
    {"a second repair of it is not", {{1, false, true}, {3, false, true}, {2, true, true}, {2, true, false}}, 1, 1},
    {"the late original after its repair: an arrival, nothing to forward",
     {{1, false, true}, {3, false, true}, {2, true, true}, {2, false, false}}, 0, 0},
    {"a repair of what came: not new", {{1, false, true}, {2, false, true}, {3, false, true}, {2, true, false}}, 1, 0},
    {"a repair of the highest: not new", {{1, false, true}, {2, false, true}, {2, true, false}}, 1, 0},
    {"repair across the wrap", {{65534, false, true}, {0, false, true}, {65535, true, true}, {65535, true, false}}, 1, 1},
    {"late original across the wrap after its repair",
     {{65535, false, true}, {1, false, true}, {0, true, true}, {0, false, false}}, 0, 0},
    {"a repair of what came 66 numbers and 128 bit positions ago",
     [] {
       std::vector<arrival> v{{10, false, true}, {11, false, true}, {10, true, false}};
       for (uint16_t s = 12; s < 10 + 200; ++s) v.push_back({s, false, true});
       v.push_back({uint16_t(10 + 128 + 5), true, false}); // 143: its bit is 10's + 5
       return v;
     }(), 2, 0},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    receive_stream s(1, video_clock);
    int64_t now = 1000;
    for (size_t i = 0; i < r.arrivals.size(); ++i) {
      CAPTURE(i);
      const auto& a = r.arrivals[i];
      CHECK(s.on_packet(a.seq, uint32_t(now * 90), 100, now, a.rtx) == a.fresh);
      now += 5;
    }
    CHECK(s.stats(now).duplicates == r.duplicates);
    CHECK(s.stats(now).lost == r.lost);
  }
}

TEST_CASE("receive_stream: RTX packets before any media do not start the stream") {
  receive_stream s(1, video_clock);
  s.on_packet(500, 0, 50, 0, true);
  CHECK_FALSE(s.started());
  CHECK(s.stats(0).retransmitted == 1);
  s.on_packet(7, 0, 50, 10, false);
  CHECK(s.started());
  CHECK(s.stats(10).extended_highest_seq == 7);
  CHECK(s.stats(10).lost == 0);
}

TEST_CASE("receive_stream: jitter (RFC 3550 A.8)") {
  struct row {
    const char* name;
    uint32_t first_ts;
    std::vector<int64_t> extra_delay_ms; // added to each arrival, cycled
  };
  const row rows[] = {
    {"constant transit", 1000, {0}},
    {"constant transit across the timestamp wrap", 0xFFFF0000u, {0}},
    {"alternating 0 / 10 ms", 1000, {0, 10}},
    {"alternating 0 / 10 ms across the timestamp wrap", 0xFFFF0000u, {0, 10}},
    {"0, 5, 20 ms", 77, {0, 5, 20}},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    receive_stream s(1, video_clock);
    double expected = 0;
    int64_t prev_transit = 0;
    for (int i = 0; i < 300; ++i) {
      const uint32_t ts = r.first_ts + uint32_t(i) * 1800; // 20 ms at 90 kHz
      const int64_t extra = r.extra_delay_ms[size_t(i) % r.extra_delay_ms.size()];
      const int64_t now = 10'000 + 20 * int64_t(i) + extra;
      s.on_packet(uint16_t(i), ts, 100, now, false);
      // The formula, with the transit in timestamp units, unwrapped by hand here.
      const int64_t transit = now * 90 - (int64_t(r.first_ts) + int64_t(i) * 1800);
      if (i > 0)
        expected += (std::fabs(double(transit - prev_transit)) - expected) / 16.0;
      prev_transit = transit;
      if (i == 1 || i == 10 || i == 299) {
        CAPTURE(i);
        CHECK(s.stats(now).jitter == uint32_t(expected));
      }
    }
    CHECK(s.make_report_block(20'000).jitter == uint32_t(expected));
    if (r.extra_delay_ms.size() == 1) CHECK(expected == 0);
    if (r.extra_delay_ms.size() == 2) {
      // |D| is 10 ms = 900 units every packet: J converges to 900.
      CHECK(expected > 899.0);
      CHECK(s.stats(20'000).jitter == 899);
    }
  }
}

TEST_CASE("receive_stream: jitter with an audio clock, first steps exact") {
  // 48 kHz, 20 ms frames of 960; the second packet 4 ms late, then on time: D = 192, -192.
  receive_stream s(1, 48'000);
  s.on_packet(1, 0, 100, 1000, false);
  CHECK(s.stats(1000).jitter == 0);
  s.on_packet(2, 960, 100, 1024, false);
  CHECK(s.stats(1024).jitter == 12); // 192 / 16
  s.on_packet(3, 1920, 100, 1040, false);
  // 12 + (192 - 12) / 16 = 23.25
  CHECK(s.stats(1040).jitter == 23);
}

TEST_CASE("receive_stream: LSR and DLSR from the sender's last SR") {
  const uint64_t sr_ntp = 0xe1e32043e53d102bull;
  struct row {
    const char* name;
    int64_t delay_ms; // between the SR arriving and the report block
    uint32_t dlsr;
  };
  const row rows[] = {
    {"immediately", 0, 0},
    {"1 ms: 65.536 rounded", 1, 66},
    {"1.5 s", 1500, 98'304},
    {"5 s", 5000, 327'680},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    receive_stream s(1, video_clock);
    feed(s, {1, 2, 3});
    s.on_sender_report(sr_ntp, 0x12345678, 7000);
    CHECK(s.clock().valid);
    CHECK(s.clock().ntp == sr_ntp);
    CHECK(s.clock().rtp == 0x12345678);
    CHECK(s.clock().received_ms == 7000);
    const auto rb = s.make_report_block(7000 + r.delay_ms);
    CHECK(rb.last_sr == 0x2043e53d); // the middle 32 bits
    CHECK(rb.delay_since_last_sr == r.dlsr);
  }
  // No SR yet: both 0.
  receive_stream s(1, video_clock);
  feed(s, {1, 2, 3});
  CHECK_FALSE(s.clock().valid);
  const auto rb = s.make_report_block(9000);
  CHECK(rb.last_sr == 0);
  CHECK(rb.delay_since_last_sr == 0);
}

TEST_CASE("receive_stream: report block written, parsed and fed to the sender's stream") {
  // The whole loop: our RR about a stream, as the remote sender would read it, gives the
  // RTT the sender computes from its SR.
  send_stream sender(0xabc, video_clock);
  for (uint16_t i = 0; i < 10; ++i) sender.on_packet_sent(i * 1800u, 1000, 1012, 20 * i);
  const uint64_t sr_ntp = ntp_from_ms(100'000, ntp_unix_offset_ms);
  const int64_t sr_us = 7'000'000; // the sender's local clock when it built the SR
  const auto sr = sender.make_sender_report(sr_ntp, 18'000, sr_us);

  receive_stream receiver(0xabc, video_clock);
  feed(receiver, {0, 1, 2, 3, 4, 6, 7, 8, 9, 10});
  // The SR takes 40 ms to arrive (receiver clock: 5000 ms), the RR leaves 300 ms later and
  // takes 40 ms back: RTT 80 ms.
  receiver.on_sender_report(sr.ntp_timestamp, sr.rtp_timestamp, 5000);
  const report_block rb = receiver.make_report_block(5300);
  std::vector<uint8_t> bytes(8 + report_block::size);
  auto written = write_receiver_report(0x1, std::span(&rb, 1), bytes);
  REQUIRE(written.ok());
  auto rr = receiver_report::parse(single(bytes));
  REQUIRE(rr.ok());
  REQUIRE(rr->reports.size() == 1);
  CHECK(rr->reports[0] == rb);

  sender.on_report_block(rr->reports[0], sr_us + 380'000);
  const auto st = sender.stats(400);
  CHECK(st.fraction_lost == 23); // 1 of 11
  CHECK(st.lost == 1);
  REQUIRE(st.rtt_us.has_value());
  CHECK(std::llabs(*st.rtt_us - 80'000) <= 31); // compact NTP: 15.26 us per unit
}

TEST_CASE("send_stream: sender report counts, written and parsed back") {
  struct row {
    const char* name;
    size_t packets;
    size_t payload;
    size_t retransmissions;
    uint32_t packet_count;
    uint32_t octet_count;
  };
  const row rows[] = {
    {"nothing sent", 0, 0, 0, 0, 0},
    {"5 packets of 100 payload bytes, 1 retransmission", 5, 100, 1, 5, 500},
    {"1000 packets of 1188", 1000, 1188, 30, 1000, 1'188'000},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    send_stream s(0x11223344, video_clock);
    CHECK(s.ssrc() == 0x11223344);
    for (size_t i = 0; i < r.packets; ++i)
      s.on_packet_sent(uint32_t(i * 3000), r.payload, r.payload + 12, int64_t(i));
    for (size_t i = 0; i < r.retransmissions; ++i) s.on_retransmitted(r.payload + 14, 500);
    CHECK(s.sent_anything() == (r.packets > 0));
    const uint64_t ntp = 0xda8bd1fcdddda05aull;
    const auto sr = s.make_sender_report(ntp, 0xaaf4edd5, 1'000'000);
    CHECK(sr.ssrc == 0x11223344);
    CHECK(sr.ntp_timestamp == ntp);
    CHECK(sr.rtp_timestamp == 0xaaf4edd5);
    CHECK(sr.packet_count == r.packet_count);
    CHECK(sr.octet_count == r.octet_count);
    CHECK(sr.reports.empty());

    auto bytes = to_bytes(sr);
    REQUIRE(bytes.ok());
    CHECK(bytes->size() == 28);
    auto parsed = sender_report::parse(single(*bytes));
    REQUIRE(parsed.ok());
    CHECK(*parsed == sr);

    const auto st = s.stats(600);
    CHECK(st.packets == r.packets);
    CHECK(st.bytes == r.packets * (r.payload + 12));
    CHECK(st.retransmitted == r.retransmissions);
    CHECK(st.retransmitted_bytes == r.retransmissions * (r.payload + 14));
  }
}

TEST_CASE("send_stream: RTT from a crafted report block") {
  const uint64_t sr_ntp = ntp_from_ms(1'700'000'000'000, ntp_unix_offset_ms);
  const uint32_t lsr = compact_ntp(sr_ntp);
  const int64_t sr_us = 5'000'000; // local monotonic time of the SR
  struct row {
    const char* name;
    uint32_t last_sr;
    int64_t dlsr_us;
    int64_t arrival_after_sr_ms;
    bool has_rtt;
    int64_t rtt_us;
  };
  const row rows[] = {
    {"50 ms, DLSR 0", lsr, 0, 50, true, 50'000},
    {"80 ms with 500 ms held", lsr, 500'000, 580, true, 80'000},
    {"1 ms", lsr, 100'000, 101, true, 1'000},
    {"no LSR: no RTT", 0, 0, 50, false, 0},
    {"DLSR longer than elapsed: no RTT", lsr, 900'000, 500, false, 0},
    {"LSR of no SR we sent: not an echo", lsr + 0x10000, 0, 2000, false, 0},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    send_stream s(1, video_clock);
    s.on_packet_sent(0, 100, 112, 0);
    s.make_sender_report(sr_ntp, 0, sr_us);
    report_block rb;
    rb.ssrc = 1;
    rb.fraction_lost = 13;
    rb.cumulative_lost = 42;
    rb.jitter = 321;
    rb.last_sr = r.last_sr;
    rb.delay_since_last_sr = us_to_compact_ntp(r.dlsr_us);
    s.on_report_block(rb, sr_us + r.arrival_after_sr_ms * 1000);
    const auto st = s.stats(0);
    CHECK(st.fraction_lost == 13);
    CHECK(st.lost == 42);
    CHECK(st.jitter == 321);
    CHECK(st.score == score_from_loss(13));
    CHECK(st.rtt_us.has_value() == r.has_rtt);
    if (r.has_rtt && st.rtt_us) CHECK(std::llabs(*st.rtt_us - r.rtt_us) <= 31);
  }
}

TEST_CASE("send_stream: RTT on the local clock, whatever the NTP timeline of the SRs did") {
  // Our SRs carry the source's sender clock as projected when each was built, and that
  // projection moves with the source's own SRs: here the second SR's NTP is 30 ms behind
  // where the first one's timeline would put it. An echo of either SR gives the RTT from
  // when that SR was built on our clock (seen in CI: on a loaded machine the projection
  // moved back by more than a loopback RTT, and an arrival taken on it gave no RTT at all).
  send_stream s(1, video_clock);
  s.on_packet_sent(0, 100, 112, 0);
  const uint64_t ntp1 = ntp_from_ms(1'000'000, ntp_unix_offset_ms);
  const uint64_t ntp2 = ntp_from_ms(1'000'000 + 1000 - 30, ntp_unix_offset_ms);
  s.make_sender_report(ntp1, 0, 20'000'000);
  s.make_sender_report(ntp2, 0, 21'000'000);
  report_block rb;
  rb.last_sr = compact_ntp(ntp2);
  rb.delay_since_last_sr = us_to_compact_ntp(10'000);
  s.on_report_block(rb, 21'012'000); // 12 ms after the SR, 10 of them held: 2 ms
  REQUIRE(s.stats(0).rtt_us.has_value());
  CHECK(std::llabs(*s.stats(0).rtt_us - 2'000) <= 31);
  // The SR before the last, echoed by a report that crossed the newer SR.
  rb.last_sr = compact_ntp(ntp1);
  rb.delay_since_last_sr = us_to_compact_ntp(1'000'000);
  s.on_report_block(rb, 21'004'000);
  CHECK(std::llabs(*s.stats(0).rtt_us - 4'000) <= 31);
  // Four SRs later the first is forgotten: its echo changes nothing.
  for (int k = 0; k < 4; ++k)
    s.make_sender_report(ntp_from_ms(1'002'000 + 1000 * k, ntp_unix_offset_ms), 0,
                         22'000'000 + 1'000'000 * k);
  s.on_report_block(rb, 26'000'000);
  CHECK(std::llabs(*s.stats(0).rtt_us - 4'000) <= 31);
}

TEST_CASE("send_stream: RTT across the compact NTP wrap (every 18 hours)") {
  // Two SRs 100 ms apart on either side of the compact clock's wrap: each echo is matched
  // by its own LSR, and the RTT comes from our clock.
  send_stream s(1, video_clock);
  s.on_packet_sent(0, 100, 112, 0);
  const uint64_t before_wrap = 0x0000'ffff'f000'0000ull; // compact 0xfffff000
  const uint64_t after_wrap = before_wrap + (uint64_t(0x1999) << 16); // compact 0x00000999
  REQUIRE(compact_ntp(before_wrap) == 0xfffff000u);
  REQUIRE(compact_ntp(after_wrap) == 0x00000999u);
  s.make_sender_report(before_wrap, 0, 50'000'000);
  s.make_sender_report(after_wrap, 0, 50'100'000);
  report_block rb;
  rb.last_sr = compact_ntp(before_wrap);
  rb.delay_since_last_sr = 0x8000; // 0.5 s held by the receiver
  s.on_report_block(rb, 50'503'000);
  REQUIRE(s.stats(0).rtt_us.has_value());
  CHECK(*s.stats(0).rtt_us == 3'000);
  rb.last_sr = compact_ntp(after_wrap);
  s.on_report_block(rb, 50'607'000);
  CHECK(*s.stats(0).rtt_us == 7'000);
}

TEST_CASE("send_stream: no RTT before an SR was sent; the last RTT is kept") {
  send_stream s(1, video_clock);
  const uint64_t ntp = ntp_from_ms(10'000, ntp_unix_offset_ms);
  report_block rb;
  rb.last_sr = compact_ntp(ntp);
  s.on_report_block(rb, 10'050'000);
  CHECK_FALSE(s.stats(0).rtt_us.has_value()); // we never sent that SR

  s.make_sender_report(ntp, 0, 10'000'000);
  s.on_report_block(rb, 10'050'000);
  REQUIRE(s.stats(0).rtt_us.has_value());
  const int64_t rtt = *s.stats(0).rtt_us;
  CHECK(std::llabs(rtt - 50'000) <= 31);
  rb.last_sr = 0; // a block without LSR
  s.on_report_block(rb, 11'000'000);
  CHECK(s.stats(0).rtt_us == rtt);
}

TEST_CASE("send_stream: feedback counters and timestamp extrapolation") {
  send_stream s(1, video_clock);
  CHECK_FALSE(s.last_sent_extrapolated(0).has_value());
  s.on_nack(3);
  s.on_nack(1);
  s.on_pli();
  s.on_fir();
  s.on_fir();
  s.on_packet_sent(0xFFFFF000u, 100, 112, 1000);
  const auto st = s.stats(1000);
  CHECK(st.nacks_received == 2);
  CHECK(st.nacked_packets == 4);
  CHECK(st.plis_received == 1);
  CHECK(st.firs_received == 2);
  CHECK(st.score == 10);
  CHECK(s.last_sent_extrapolated(1000) == 0xFFFFF000u);
  // 100 ms later at 90 kHz: +9000, wrapping modulo 2^32.
  CHECK(s.last_sent_extrapolated(1100) == uint32_t(0xFFFFF000u + 9000));
}

TEST_CASE("score_from_loss") {
  struct row {
    uint8_t fraction;
    uint8_t score;
  };
  const row rows[] = {
    {0, 10}, {3, 10}, {13, 8}, {26, 7}, {77, 2}, {128, 1}, {200, 0}, {255, 0},
  };
  for (const auto& r : rows) {
    CAPTURE(int(r.fraction));
    CHECK(int(score_from_loss(r.fraction)) == int(r.score));
  }
  // Never better with more loss.
  for (int f = 1; f < 256; ++f)
    CHECK(score_from_loss(uint8_t(f)) <= score_from_loss(uint8_t(f - 1)));
}

TEST_CASE("bitrate_meter: bits per second over the last second") {
  struct row {
    const char* name;
    int64_t query_ms;
    uint64_t bps;
  };
  // 1000 bytes every 10 ms from t = 0 to 1990 ms: 800 kbit/s.
  bitrate_meter m;
  for (int64_t t = 0; t < 2000; t += 10) m.add(1000, t);
  const row rows[] = {
    {"steady: exactly the rate", 2000, 800'000},
    {"half the window silent", 2500, 400'000},
    {"all silent", 3000, 0},
    {"long after", 100'000, 0},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    CHECK(m.bps(r.query_ms) == r.bps);
  }
  // A bucket reused a lap later starts from zero.
  m.add(500, 3050);
  CHECK(m.bps(3100) == 4000);
  bitrate_meter empty;
  CHECK(empty.bps(0) == 0);
  CHECK(empty.bps(12'345) == 0);
}

TEST_CASE("receive_stream and send_stream: bitrate in stats") {
  receive_stream r(1, video_clock);
  send_stream s(2, video_clock);
  for (int i = 0; i < 100; ++i) {
    r.on_packet(uint16_t(i), uint32_t(i * 900), 1250, 10 * i, i % 10 == 9);
    s.on_packet_sent(uint32_t(i * 900), 1238, 1250, 10 * i);
  }
  CHECK(r.stats(1000).bitrate_bps == 1'000'000);
  CHECK(s.stats(1000).bitrate_bps == 1'000'000);
}

TEST_CASE("project_sender_clock carries the SR's NTP/RTP pair forward (lip sync)") {
  sender_clock c;
  c.ntp = (uint64_t(3'900'000'000u) << 32) | 0x80000000u; // .5 s
  c.rtp = 4'294'960'000u;                                  // close to the 2^32 wrap
  c.received_ms = 10'000;
  c.valid = true;
  struct row {
    const char* name;
    int64_t now_ms;
    uint32_t clock_rate;
    uint64_t ntp;
    uint32_t rtp;
  };
  const row rows[] = {
    {"at arrival", 10'000, 90000, c.ntp, c.rtp},
    {"video 1 s later crosses the 2^32 wrap", 11'000, 90000, c.ntp + (uint64_t(1) << 32),
     uint32_t(4'294'960'000u + 90000u)},
    {"audio 20 ms later", 10'020, 48000, c.ntp + (uint64_t(20) << 32) / 1000, c.rtp + 960},
    {"250 ms later: a quarter second", 10'250, 90000, c.ntp + (uint64_t(1) << 30),
     c.rtp + 22500},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    auto got = project_sender_clock(c, r.now_ms, r.clock_rate);
    CHECK(got.ntp == r.ntp);
    CHECK(got.rtp_timestamp == r.rtp);
  }
  // Audio and video of one sender projected at the same instant map to the same NTP time:
  // the receiver's sync relation is preserved.
  sender_clock audio = c;
  audio.rtp = 123456;
  CHECK(project_sender_clock(audio, 10'640, 48000).ntp ==
        project_sender_clock(c, 10'640, 90000).ntp);
}
