// Receive-side bandwidth feedback: transport-cc feedback from recorded arrivals, parsed
// back (received / not received pattern, arrival times at 250 us resolution, the seq wrap,
// reordering, windows, jumps, packet splits), the due() timing, and the REMB estimator.
#include "rtp/bwe_feedback.hpp"
#include "rtp_rtcp_util.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

using namespace chorus::rtp;

namespace {

using datagrams = std::vector<std::vector<uint8_t>>;
using arrivals = std::vector<packet_arrival>;

// A base time well inside the 24-bit reference time range (2^24 * 64 ms), so that parsed
// arrival times equal the recorded ones floored to 250 us.
constexpr int64_t t0 = 5'000'000'000;

int64_t floor250(int64_t us) { return us / 250 * 250; }

packet_arrival got(uint16_t seq, int64_t us) { return {seq, true, floor250(us)}; }
packet_arrival lost(uint16_t seq) { return {seq, false, 0}; }

struct sent_at {
  uint16_t seq;
  int64_t us;
};

transport_cc_feedback parse_one(const std::vector<uint8_t>& datagram) {
  auto fb = transport_cc_feedback::parse(test::single(datagram));
  REQUIRE(fb.ok());
  return *fb;
}

std::vector<transport_cc_feedback> parse_all(const datagrams& out) {
  std::vector<transport_cc_feedback> result;
  for (const auto& d : out) result.push_back(parse_one(d));
  return result;
}

// Every feedback packet's entries, one list per packet.
std::vector<arrivals> entries(const datagrams& out) {
  std::vector<arrivals> result;
  for (const auto& fb : parse_all(out)) result.push_back(fb.packets);
  return result;
}

datagrams build(tcc_recorder& r, int64_t now = t0 + 100'000) {
  datagrams out;
  r.build(0x5e11de5, 0xfeed, now, out);
  return out;
}

void record(tcc_recorder& r, const std::vector<sent_at>& packets) {
  for (const auto& p : packets) r.on_packet(p.seq, p.us);
}

// 6.18 fixed point seconds, 24 bits.
uint32_t abs_send_time(double send_ms) {
  return uint32_t(std::llround(send_ms * 262.144)) & 0xFFFFFF;
}

} // namespace

TEST_CASE("tcc_recorder: one feedback parsed back") {
  struct row {
    const char* name;
    std::vector<sent_at> packets;
    arrivals expected;
    uint64_t duplicates;
  };
  const row rows[] = {
    {"in order, 250 us resolution", {{10, t0}, {11, t0 + 1000}, {12, t0 + 2600}},
     {got(10, t0), got(11, t0 + 1000), got(12, t0 + 2600)}, 0},
    {"missing seqs between arrivals not received", {{10, t0}, {13, t0 + 3000}},
     {got(10, t0), lost(11), lost(12), got(13, t0 + 3000)}, 0},
    {"wrap 65534, 65535, 0, 1",
     {{65534, t0}, {65535, t0 + 500}, {0, t0 + 1000}, {1, t0 + 1500}},
     {got(65534, t0), got(65535, t0 + 500), got(0, t0 + 1000), got(1, t0 + 1500)}, 0},
    {"reordered arrival across the wrap (negative delta)",
     {{65535, t0}, {1, t0 + 2000}, {0, t0 + 3000}},
     {got(65535, t0), got(0, t0 + 3000), got(1, t0 + 2000)}, 0},
    {"reordered arrival fills a gap",
     {{1, t0}, {4, t0 + 1000}, {2, t0 + 2000}},
     {got(1, t0), got(2, t0 + 2000), lost(3), got(4, t0 + 1000)}, 0},
    {"first packets out of order: the window starts at the lowest",
     {{7, t0}, {5, t0 + 500}, {6, t0 + 1000}},
     {got(5, t0 + 500), got(6, t0 + 1000), got(7, t0)}, 0},
    {"duplicate keeps the first arrival",
     {{5, t0}, {6, t0 + 1000}, {6, t0 + 5000}, {5, t0 + 6000}},
     {got(5, t0), got(6, t0 + 1000)}, 2},
    {"large delta (100 ms) between arrivals",
     {{100, t0}, {101, t0 + 100'000}},
     {got(100, t0), got(101, t0 + 100'000)}, 0},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    tcc_recorder rec;
    record(rec, r.packets);
    const auto out = build(rec);
    REQUIRE(out.size() == 1);
    const auto fb = parse_one(out[0]);
    CHECK(fb.sender_ssrc == 0x5e11de5);
    CHECK(fb.media_ssrc == 0xfeed);
    CHECK(fb.fb_pkt_count == 0);
    CHECK(fb.base_seq == r.expected.front().seq);
    CHECK(fb.packets == r.expected);
    CHECK(rec.counters().duplicates == r.duplicates);
    CHECK(rec.counters().recorded == r.packets.size() - r.duplicates);
    CHECK(rec.counters().feedback_sent == 1);
    CHECK(out[0].size() % 4 == 0);
  }
}

TEST_CASE("tcc_recorder: successive windows, too old arrivals, fb_pkt_count") {
  tcc_recorder rec;
  record(rec, {{1, t0}, {2, t0 + 1000}});
  auto out = build(rec);
  REQUIRE(out.size() == 1);
  CHECK(parse_one(out[0]).packets == arrivals{got(1, t0), got(2, t0 + 1000)});

  // 3 and 4 never came: the next window starts at 3, reporting them lost.
  rec.on_packet(5, t0 + 60'000);
  out = build(rec, t0 + 100'000);
  REQUIRE(out.size() == 1);
  auto fb = parse_one(out[0]);
  CHECK(fb.fb_pkt_count == 1);
  CHECK(fb.base_seq == 3);
  CHECK(fb.packets == arrivals{lost(3), lost(4), got(5, t0 + 60'000)});

  // 3 arriving now was already reported (lost): counted, not recorded.
  rec.on_packet(3, t0 + 110'000);
  rec.on_packet(5, t0 + 110'000); // a reported one again
  CHECK(rec.counters().too_old == 2);
  CHECK_FALSE(rec.due(t0 + 10'000'000));
  CHECK(build(rec, t0 + 150'000).empty());

  rec.on_packet(6, t0 + 160'000);
  out = build(rec, t0 + 200'000);
  REQUIRE(out.size() == 1);
  fb = parse_one(out[0]);
  CHECK(fb.fb_pkt_count == 2);
  CHECK(fb.packets == arrivals{got(6, t0 + 160'000)});
  CHECK(rec.counters().feedback_sent == 3);
  CHECK(rec.counters().recorded == 4);
}

TEST_CASE("tcc_recorder: fb_pkt_count wraps after 255") {
  tcc_recorder rec;
  for (int i = 0; i < 258; ++i) {
    rec.on_packet(uint16_t(i), t0 + i * 1000);
    const auto out = build(rec, t0 + i * 1000);
    REQUIRE(out.size() == 1);
    CHECK(parse_one(out[0]).fb_pkt_count == uint8_t(i));
  }
}

TEST_CASE("tcc_recorder: jumps larger than max_gap start a new window") {
  struct row {
    const char* name;
    std::vector<sent_at> packets;
    std::vector<arrivals> expected; // one list per feedback packet
    uint64_t too_old;
  };
  const row rows[] = {
    {"forward jump: pending reported, new window without the gap",
     {{1, t0}, {2, t0 + 1000}, {1500, t0 + 2000}, {1501, t0 + 3000}},
     {{got(1, t0), got(2, t0 + 1000)}, {got(1500, t0 + 2000), got(1501, t0 + 3000)}}, 0},
    {"forward jump of exactly max_gap is a gap of lost packets",
     {{1, t0}, {1001, t0 + 1000}},
     {[] {
       arrivals a{got(1, t0)};
       for (uint16_t s = 2; s < 1001; ++s) a.push_back(lost(s));
       a.push_back(got(1001, t0 + 1000));
       return a;
     }()}, 0},
    {"late arrival of the old window after a forward jump is merged there",
     {{1, t0}, {2, t0 + 1000}, {1500, t0 + 2000}, {3, t0 + 3000}},
     {{got(1, t0), got(2, t0 + 1000), got(3, t0 + 3000)}, {got(1500, t0 + 2000)}}, 0},
    {"forward jump across the wrap",
     {{65000, t0}, {65001, t0 + 1000}, {500, t0 + 2000}},
     {{got(65000, t0), got(65001, t0 + 1000)}, {got(500, t0 + 2000)}}, 0},
    {"jump of more than 2^15: confirmed by the next seq",
     {{100, t0}, {40000, t0 + 1000}, {40001, t0 + 2000}, {40002, t0 + 3000}},
     {{got(100, t0)}, {got(40001, t0 + 2000), got(40002, t0 + 3000)}}, 1},
    {"counter restarted lower: confirmed by the next seq",
     {{29999, t0}, {30000, t0 + 1000}, {5, t0 + 2000}, {6, t0 + 3000}, {7, t0 + 4000}},
     {{got(29999, t0), got(30000, t0 + 1000)}, {got(6, t0 + 3000), got(7, t0 + 4000)}}, 1},
    {"a lone stray seq far behind is ignored",
     {{29999, t0}, {30000, t0 + 1000}, {5, t0 + 2000}, {30001, t0 + 3000}},
     {{got(29999, t0), got(30000, t0 + 1000), got(30001, t0 + 3000)}}, 1},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    tcc_recorder rec;
    record(rec, r.packets);
    const auto out = build(rec);
    const auto got_entries = entries(out);
    CHECK(got_entries == r.expected);
    CHECK(rec.counters().too_old == r.too_old);
    const auto parsed = parse_all(out);
    for (size_t i = 0; i < parsed.size(); ++i) CHECK(parsed[i].fb_pkt_count == i);
  }
}

TEST_CASE("tcc_recorder: split into several packets, no seq lost at the boundaries") {
  struct row {
    const char* name;
    size_t max_packet_size;
    std::vector<sent_at> packets;
    size_t min_packets;
  };
  std::vector<sent_at> every_other;
  for (int i = 0; i < 400; i += 2) every_other.push_back({uint16_t(65300 + i), t0 + i * 1000});
  std::vector<sent_at> long_pause;
  for (int i = 0; i < 10; ++i) long_pause.push_back({uint16_t(i), t0 + i * 1000});
  long_pause.push_back({12, t0 + 20'000'000}); // 20 s later: beyond a 16-bit delta
  std::vector<sent_at> many;
  for (int i = 0; i < 3000; ++i) many.push_back({uint16_t(i * 3), t0 + i * 300});
  const row rows[] = {
    {"every other seq lost, across the wrap, 64-byte packets", 64, every_other, 5},
    {"arrival delta too large for 16 bits, 2 missing at the cut", 1200, long_pause, 2},
    {"two of three lost, 1200-byte packets", 1200, many, 2},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    tcc_config cfg;
    cfg.max_packet_size = r.max_packet_size;
    cfg.max_pending = 100'000;
    tcc_recorder rec(cfg);
    record(rec, r.packets);
    const auto out = build(rec);
    CHECK(out.size() >= r.min_packets);
    for (const auto& d : out) CHECK(d.size() <= r.max_packet_size);

    // Concatenated, the packets cover every seq from the first to the last exactly once.
    arrivals all;
    const auto parsed = parse_all(out);
    for (size_t i = 0; i < parsed.size(); ++i) {
      CHECK(parsed[i].fb_pkt_count == i);
      all.insert(all.end(), parsed[i].packets.begin(), parsed[i].packets.end());
    }
    arrivals expected;
    for (size_t i = 0; i < r.packets.size(); ++i) {
      if (i > 0)
        for (auto s = uint16_t(r.packets[i - 1].seq + 1); s != r.packets[i].seq; ++s)
          expected.push_back(lost(s));
      expected.push_back(got(r.packets[i].seq, r.packets[i].us));
    }
    // Arrival times are modulo 2^24 * 64 ms in the feedback; t0 keeps them below that.
    CHECK(all == expected);
    CHECK(rec.counters().feedback_sent == out.size());
  }
}

TEST_CASE("tcc_recorder: due after the interval or when many arrivals wait") {
  tcc_config cfg;
  cfg.feedback_interval_us = 50'000;
  cfg.max_pending = 3;
  tcc_recorder rec(cfg);
  CHECK_FALSE(rec.due(t0)); // nothing recorded
  CHECK(build(rec, t0).empty());

  struct step {
    const char* name;
    std::vector<sent_at> arrive;
    int64_t now;
    bool due;
    bool build_after;
  };
  const step steps[] = {
    {"first arrival starts the interval", {{1, t0}}, t0, false, false},
    {"just before the interval", {}, t0 + 49'999, false, false},
    {"interval elapsed", {}, t0 + 50'000, true, true},
    {"built: nothing pending", {}, t0 + 50'001, false, false},
    {"nothing pending long after", {}, t0 + 500'000, false, false},
    {"arrival after the idle period: interval long past", {{2, t0 + 510'000}}, t0 + 510'000,
     true, true},
    {"arrival within the new interval", {{3, t0 + 520'000}}, t0 + 520'000, false, false},
    {"three pending: due at once", {{4, t0 + 521'000}, {5, t0 + 522'000}}, t0 + 522'000,
     true, true},
    {"interval counts from the last feedback", {{6, t0 + 530'000}}, t0 + 571'999, false,
     false},
    {"... until it elapses", {}, t0 + 572'000, true, true},
  };
  for (const auto& s : steps) {
    INFO(s.name);
    record(rec, s.arrive);
    CHECK(rec.due(s.now) == s.due);
    if (s.build_after) CHECK_FALSE(build(rec, s.now).empty());
  }
  CHECK(rec.counters().feedback_sent == 4);
}

TEST_CASE("remb_estimator: increases while stable, then follows the receive rate") {
  remb_estimator e;
  CHECK(e.estimate_bps() == 300'000);
  std::vector<uint64_t> estimates;
  // 1 Mbit/s: 1250 bytes every 10 ms, constant 30 ms one-way delay.
  for (int64_t t = 0; t <= 10'000; t += 10) {
    e.on_packet(1250, t, abs_send_time(double(t - 30)));
    if (e.update(t)) estimates.push_back(e.estimate_bps());
  }
  REQUIRE(estimates.size() == 50); // every 200 ms
  CHECK(estimates[0] == 324'000);  // 300k * 1.08
  for (size_t i = 1; i < estimates.size(); ++i) {
    CAPTURE(i);
    CHECK(estimates[i] >= estimates[i - 1]);
    if (estimates[i - 1] < 1'380'000) CHECK(estimates[i] > estimates[i - 1]);
  }
  // Capped at 1.5 times what arrives.
  CHECK(estimates.back() == 1'500'000);
}

TEST_CASE("remb_estimator: reactions to loss and delay") {
  struct row {
    const char* name;
    uint8_t loss;           // reported before the update at 10.2 s (the only one after)
    double delay_step_ms;   // one-way delay growth per packet from 10 s on
    double factor;          // expected estimate after that update / 1.5 Mbit/s before
  };
  const row rows[] = {
    {"no loss, stable delay: at the cap, holds", 0, 0.0, 1.0},
    {"20% loss: 0.85 of the receive rate", 51, 0.0, 0.85 / 1.5},
    {"5% loss: holds", 13, 0.0, 1.0},
    {"1% loss: may grow (already at the cap)", 2, 0.0, 1.0},
    {"growing delay: 0.85 of the receive rate", 0, 2.0, 0.85 / 1.5},
    {"shrinking delay is fine", 0, -1.0, 1.0},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    remb_estimator e;
    double delay = 30;
    for (int64_t t = 0; t <= 10'000; t += 10) { // the last update at 10 s
      e.on_packet(1250, t, abs_send_time(double(t) - delay));
      e.update(t);
    }
    REQUIRE(e.estimate_bps() == 1'500'000);
    e.on_loss(r.loss);
    bool updated = false;
    for (int64_t t = 10'010; t <= 10'200; t += 10) {
      delay += r.delay_step_ms;
      e.on_packet(1250, t, abs_send_time(double(t) - delay));
      updated = e.update(t);
    }
    CHECK(updated);
    CHECK(double(e.estimate_bps()) == doctest::Approx(1'500'000 * r.factor).epsilon(1e-6));
  }
}

TEST_CASE("remb_estimator: recovers after loss, survives the abs-send-time wrap") {
  remb_estimator e;
  // Starts at 62 s of sender time: the 24-bit send time wraps at 64 s, which must not look
  // like a sudden change of delay.
  const double offset_ms = 62'000;
  uint64_t before_loss = 0;
  std::vector<uint64_t> after;
  // Below the 1.5 Mbit/s cap throughout: 1 Mbit/s arriving, the estimate still ramping.
  for (int64_t t = 0; t <= 4'800; t += 10) {
    if (t == 3'000) {
      before_loss = e.estimate_bps();
      e.on_loss(64); // 25%, acted on at the update at 3 s
    }
    e.on_packet(1250, t, abs_send_time(offset_ms + double(t) - 30));
    if (e.update(t) && t >= 3'000) after.push_back(e.estimate_bps());
  }
  REQUIRE(after.size() == 10);
  CHECK(after[0] < before_loss);
  CHECK(double(after[0]) ==
        doctest::Approx(0.85 * std::min<double>(double(before_loss), 1'000'000)).epsilon(1e-6));
  for (size_t i = 1; i < after.size(); ++i) CHECK(after[i] > after[i - 1]);
}

TEST_CASE("remb_estimator: idle and bounds") {
  remb_config cfg;
  cfg.start_bps = 100'000;
  cfg.min_bps = 80'000;
  cfg.max_bps = 120'000;
  remb_estimator e(cfg);
  CHECK_FALSE(e.update(0));
  CHECK_FALSE(e.update(1000)); // no packets: nothing measured, nothing to send
  CHECK(e.estimate_bps() == 100'000);

  // Plenty arriving: capped at max_bps.
  for (int64_t t = 1000; t <= 3000; t += 10) {
    e.on_packet(1250, t, std::nullopt);
    e.update(t);
  }
  CHECK(e.estimate_bps() == 120'000);
  // Heavy loss with little arriving: floored at min_bps.
  e.on_loss(128);
  for (int64_t t = 3010; t <= 3200; t += 100) e.on_packet(50, t, std::nullopt);
  CHECK(e.update(3200));
  CHECK(e.estimate_bps() == 80'000);
}
