// Send-side bandwidth estimation (rtp/send_bwe.hpp) over synthetic feedback traces: a
// sender pacing 1200-byte packets at the estimate (and the probes it is asked for) through
// a simulated bottleneck (a capacity, a drop-tail queue of 400 ms, 20 ms each way, random
// loss), with transport-cc feedback every 50 ms. Named cases: a stable link, a step down, a
// step up, and loss; each checks where the estimate goes and how fast.
#include "rtp/send_bwe.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace chorus::rtp;

namespace {

struct link_model {
  std::function<double(int64_t)> capacity_bps; // by send time (us)
  double loss = 0;
  int64_t one_way_us = 20'000;
  int64_t max_queue_us = 400'000;
  // The sender sends at least this (by send time; none by default): media that does not
  // follow the estimate at once, as an encoder's or a layer switch's lag.
  std::function<double(int64_t)> min_send_bps{};
  // When set, the sender sends this instead of the estimate (media that want less than
  // the path carries, or are held below it by their layers), and asks for a probe toward
  // `desired_bps` (by send time) every 100 ms, as the layer allocation does while it is
  // held back.
  std::function<double(int64_t)> media_bps{};
  std::function<double(int64_t)> desired_bps{};
};

// Runs `seconds` of the sender against `link`; `at` is called every 100 ms with the time
// (s) and the estimator, to record what the case checks.
void simulate(send_bwe& bwe, const link_model& link, double seconds,
              const std::function<void(double, const send_bwe&)>& at, uint64_t seed = 1) {
  std::mt19937 rng{static_cast<uint32_t>(seed)};
  std::uniform_real_distribution<double> uniform(0, 1);
  constexpr int64_t step_us = 1000;
  constexpr std::size_t packet = 1200;
  uint16_t seq = 0;
  int64_t queue_free_us = 0;
  double budget_bytes = 0;
  // In flight: seq -> arrival time at the receiver (-1: dropped).
  std::map<int64_t, int64_t> flight; // keyed by unwrapped seq
  int64_t next_unwrapped = 0, reported_up_to = 0; // next to report
  int64_t next_feedback_us = 50'000;
  // A probe being sent: packets left and their spacing.
  std::size_t probe_left = 0;
  int64_t probe_gap_us = 0, next_probe_send_us = 0;
  int probe_id = -1;

  auto send = [&](int64_t now, int pid) {
    const double cap = link.capacity_bps(now);
    const int64_t start = std::max(now, queue_free_us);
    const int64_t depart = start + int64_t(double(packet) * 8e6 / cap);
    int64_t arrival = -1;
    if (depart - now <= link.max_queue_us) {
      queue_free_us = depart;
      if (uniform(rng) >= link.loss)
        arrival = depart + link.one_way_us;
    }
    flight[next_unwrapped] = arrival;
    bwe.on_packet_sent(seq, packet, now, pid);
    ++seq;
    ++next_unwrapped;
  };

  const int64_t end = int64_t(seconds * 1e6);
  for (int64_t now = 0; now <= end; now += step_us) {
    if (probe_left == 0)
      if (auto p = bwe.next_probe(now)) {
        probe_left = std::max<std::size_t>(p->min_packets, std::size_t(double(p->bps) * double(p->duration_us) / 8e6 / packet));
        probe_gap_us = std::max<int64_t>(1, int64_t(double(packet) * 8e6 / double(p->bps)));
        next_probe_send_us = now;
        probe_id = p->id;
      }
    while (probe_left > 0 && next_probe_send_us <= now) {
      send(now, probe_id);
      --probe_left;
      next_probe_send_us += probe_gap_us;
    }
    const double rate = link.media_bps ? link.media_bps(now)
                                       : std::max(double(bwe.target_bps()), link.min_send_bps ? link.min_send_bps(now) : 0.0);
    if (link.desired_bps && now % 100'000 == 0)
      bwe.request_probe(uint64_t(link.desired_bps(now)), now);
    budget_bytes += rate / 8 * step_us / 1e6;
    budget_bytes = std::min(budget_bytes, 10.0 * packet);
    while (budget_bytes >= packet) {
      send(now, -1);
      budget_bytes -= packet;
    }
    if (now >= next_feedback_us) {
      next_feedback_us += 50'000;
      // Report up to the last packet that has arrived by now (in-order link: anything
      // before it has arrived or was dropped).
      int64_t last_arrived = -1;
      for (auto it = flight.lower_bound(reported_up_to); it != flight.end(); ++it)
        if (it->second >= 0 && it->second <= now)
          last_arrived = it->first;
      if (last_arrived >= reported_up_to) {
        transport_cc_feedback fb;
        fb.base_seq = uint16_t(reported_up_to);
        for (int64_t s = reported_up_to; s <= last_arrived; ++s) {
          packet_arrival pa;
          pa.seq = uint16_t(s);
          pa.received = flight[s] >= 0;
          pa.arrival_us = pa.received ? flight[s] : 0;
          fb.packets.push_back(pa);
        }
        flight.erase(flight.begin(), flight.upper_bound(last_arrived));
        reported_up_to = last_arrived + 1;
        bwe.on_feedback(fb, now + link.one_way_us);
      }
    }
    if (now % 100'000 == 0)
      at(double(now) / 1e6, bwe);
  }
}

double mbps(uint64_t bps) { return double(bps) / 1e6; }

// 250 ms of media acknowledged at 300 kbit/s: a packet of 1200 bytes every 32 ms, each
// arriving 20 ms after it left; `seq` and `now` move past them.
void acknowledge_300k(send_bwe& bwe, uint16_t& seq, int64_t& now) {
  transport_cc_feedback media;
  for (int i = 0; i < 8; ++i, ++seq, now += 32'000) {
    bwe.on_packet_sent(seq, 1200, now);
    media.packets.push_back({seq, true, now + 20'000});
  }
  bwe.on_feedback(media, now);
}

} // namespace

TEST_CASE("send-side BWE: a stable link of 2.5 Mbit/s is found from 300 kbit/s, and not overshot") {
  send_bwe bwe;
  link_model link{[](int64_t) { return 2.5e6; }};
  double at_10 = 0, max_after_10 = 0, min_after_10 = 1e9;
  simulate(bwe, link, 30, [&](double t, const send_bwe& b) {
    if (t >= 10 && at_10 == 0)
      at_10 = mbps(b.target_bps());
    if (t >= 10) {
      max_after_10 = std::max(max_after_10, mbps(b.target_bps()));
      min_after_10 = std::min(min_after_10, mbps(b.target_bps()));
    }
  });
  INFO("at 10 s " << at_10 << " Mbit/s; after: " << min_after_10 << " .. " << max_after_10
                  << "; final " << mbps(bwe.target_bps()) << "; overuses " << bwe.stats().overuses
                  << "; probes " << bwe.stats().probes_sent << "/" << bwe.stats().probes_succeeded);
  CHECK(at_10 > 1.5);                   // found most of it within 10 s
  CHECK(min_after_10 > 1.2);            // and stays near it
  CHECK(max_after_10 < 2.5 * 1.15);     // never far above the capacity
  CHECK(bwe.stats().probes_succeeded >= 1);
}

TEST_CASE("send-side BWE: a step down from 3 to 1 Mbit/s is followed within 2 s") {
  send_bwe bwe;
  link_model link{[](int64_t t) { return t < 15'000'000 ? 3e6 : 1e6; }};
  double before = 0, at_17 = 0, min_after = 1e9, at_end = 0;
  simulate(bwe, link, 30, [&](double t, const send_bwe& b) {
    if (t >= 14.9 && t < 15)
      before = mbps(b.target_bps());
    if (t >= 17 && at_17 == 0)
      at_17 = mbps(b.target_bps());
    if (t >= 15)
      min_after = std::min(min_after, mbps(b.target_bps()));
    at_end = mbps(b.target_bps());
  });
  INFO("before " << before << ", at 17 s " << at_17 << ", lowest after " << min_after << ", end "
                 << at_end << "; overuses " << bwe.stats().overuses);
  CHECK(before > 1.8);
  CHECK(at_17 < 1.15);        // down to the new capacity within 2 s
  CHECK(min_after > 0.4);     // not collapsed
  CHECK(at_end > 0.7);        // and back near it
  CHECK(at_end < 1.15);
  CHECK(bwe.stats().overuses >= 1);
}

TEST_CASE("send-side BWE: a step up from 1 to 3 Mbit/s is found again") {
  send_bwe bwe;
  link_model link{[](int64_t t) { return t < 15'000'000 ? 1e6 : 3e6; }};
  double before = 0, at_end = 0;
  simulate(bwe, link, 40, [&](double t, const send_bwe& b) {
    if (t >= 14.9 && t < 15)
      before = mbps(b.target_bps());
    at_end = mbps(b.target_bps());
  });
  INFO("before " << before << ", end " << at_end);
  CHECK(before < 1.15);
  CHECK(before > 0.6);
  CHECK(at_end > 2.0);
  CHECK(at_end < 3.4);
}

TEST_CASE("send-side BWE: loss") {
  SUBCASE("20 % random loss on a wide link: the estimate comes down") {
    send_bwe bwe;
    link_model link{[](int64_t) { return 10e6; }, 0.20};
    double at_2 = 0;
    simulate(bwe, link, 15, [&](double t, const send_bwe& b) {
      if (t >= 2 && at_2 == 0)
        at_2 = mbps(b.target_bps());
    });
    const auto& st = bwe.stats();
    const double lost = double(st.packets_lost) / double(st.packets_lost + st.packets_acked);
    INFO("at 2 s " << at_2 << ", end " << mbps(bwe.target_bps()) << ", lost " << lost);
    CHECK(lost > 0.15);
    CHECK(mbps(bwe.target_bps()) < 0.5 * at_2); // a fifth of everything lost: far down
    CHECK(mbps(bwe.target_bps()) < 0.5);
    CHECK(bwe.stats().loss_based_bps <= bwe.stats().delay_based_bps);
  }
  SUBCASE("1 % random loss: the estimate still grows") {
    send_bwe bwe;
    link_model link{[](int64_t) { return 10e6; }, 0.01};
    simulate(bwe, link, 20, [](double, const send_bwe&) {});
    const auto& st = bwe.stats();
    INFO("end " << mbps(bwe.target_bps()) << ", delay-based " << mbps(st.delay_based_bps)
                << ", loss-based " << mbps(st.loss_based_bps) << ", probes " << st.probes_sent << "/"
                << st.probes_succeeded << ", overuses " << st.overuses);
    CHECK(mbps(bwe.target_bps()) > 2.0);
  }
}

TEST_CASE("send-side BWE: packets reported missing before the receiver took its first one are not loss") {
  send_bwe bwe;
  for (uint16_t s = 0; s < 40; ++s)
    bwe.on_packet_sent(s, 1200, int64_t(s) * 10'000);
  transport_cc_feedback fb;
  for (uint16_t s = 0; s < 40; ++s)
    fb.packets.push_back({s, s >= 10, s >= 10 ? 100'000 + int64_t(s) * 10'000 : 0});
  bwe.on_feedback(fb, 500'000);
  CHECK(bwe.stats().packets_lost == 0);
  CHECK(bwe.stats().packets_acked == 30);
  CHECK(bwe.stats().last_loss == 0);
  // After that, a missing packet is loss.
  for (uint16_t s = 40; s < 70; ++s)
    bwe.on_packet_sent(s, 1200, int64_t(s) * 10'000);
  transport_cc_feedback later;
  for (uint16_t s = 40; s < 70; ++s)
    later.packets.push_back({s, s % 3 != 0, s % 3 != 0 ? 100'000 + int64_t(s) * 10'000 : 0});
  bwe.on_feedback(later, 900'000);
  CHECK(bwe.stats().packets_lost == 10);
  CHECK(bwe.stats().last_loss > 0.3);
}

TEST_CASE("send-side BWE: a packet reported missing and acknowledged later is late, not lost") {
  // Two senders share one transport-wide sequence: one of them can reach the socket after a
  // higher number did, and a feedback sent in between reports its packets missing; the next
  // feedback reports them received. Reported missing twice, a packet still counts once.
  send_bwe bwe;
  for (uint16_t s = 0; s < 10; ++s)
    bwe.on_packet_sent(s, 1200, int64_t(s) * 1'000);
  transport_cc_feedback first;
  for (uint16_t s = 0; s < 10; ++s) // 4..6 not (yet) there
    first.packets.push_back({s, s < 4 || s > 6, 50'000 + int64_t(s) * 1'000});
  bwe.on_feedback(first, 60'000);
  CHECK(bwe.stats().packets_lost == 3);
  transport_cc_feedback again; // the same three still missing
  for (uint16_t s = 4; s < 7; ++s)
    again.packets.push_back({s, false, 0});
  bwe.on_feedback(again, 70'000);
  CHECK(bwe.stats().packets_lost == 3);
  for (uint16_t s = 10; s < 20; ++s)
    bwe.on_packet_sent(s, 1200, int64_t(s) * 1'000);
  transport_cc_feedback later; // 4..6 arrived after all, and 10..19
  for (uint16_t s = 4; s < 7; ++s)
    later.packets.push_back({s, true, 75'000});
  for (uint16_t s = 10; s < 20; ++s)
    later.packets.push_back({s, true, 76'000 + int64_t(s) * 1'000});
  bwe.on_feedback(later, 100'000);
  CHECK(bwe.stats().packets_lost == 0);
  CHECK(bwe.stats().packets_late == 3);
  CHECK(bwe.stats().packets_acked == 20);
  CHECK(bwe.stats().last_loss == 0); // the window closed at 20 packets with nothing lost
  CHECK(bwe.stats().loss_based_bps == send_bwe_config{}.max_bps);
}

TEST_CASE("send-side BWE: REMB caps the estimate; feedback for unknown numbers is ignored") {
  send_bwe bwe;
  bwe.on_remb(200'000, 0);
  CHECK(bwe.target_bps() == 200'000);
  transport_cc_feedback fb;
  fb.packets.push_back({42, true, 1000});
  bwe.on_feedback(fb, 1000);
  CHECK(bwe.stats().packets_acked == 0);
  CHECK(bwe.target_bps() == 200'000);
}

TEST_CASE("send-side BWE: a receiver with REMB and no transport-cc: the REMB is the estimate") {
  send_bwe bwe;
  CHECK(bwe.target_bps() == 300'000); // the start rate
  bwe.on_remb(2'000'000, 0);
  CHECK(bwe.target_bps() == 2'000'000); // not held at the start rate
  bwe.on_remb(800'000, 1'000'000);
  CHECK(bwe.target_bps() == 800'000);
  // Receiver reports' loss still lowers it.
  bwe.on_loss_report(0.4, 2'000'000);
  CHECK(bwe.target_bps() < 800'000);
  CHECK(bwe.target_bps() >= 30'000);
}

TEST_CASE("send-side BWE: a fall to a thin link with a short queue is one congestion event, not a collapse") {
  // 2 Mbit/s, then 300 kbit/s behind a 250 ms drop-tail queue: the queue goes on dropping
  // what was sent at the old rate for a while after the estimate came down. Each loss
  // window of those packets must not lower the estimate again (it once fell to the 30 kbps
  // floor that way, and the loss-based part then took half a minute to climb back).
  send_bwe bwe;
  link_model link{[](int64_t t) { return t < 10'000'000 ? 2e6 : 0.3e6; }};
  link.max_queue_us = 250'000;
  // The sender goes on at 1.2 Mbit/s for 1.5 s after the fall (its layers come down late).
  link.min_send_bps = [](int64_t t) { return t >= 10'000'000 && t < 11'500'000 ? 1.2e6 : 0.0; };
  double before = 0, at_13 = 0, min_after = 1e9, at_end = 0;
  simulate(bwe, link, 25, [&](double t, const send_bwe& b) {
    if (t >= 9.9 && t < 10)
      before = mbps(b.target_bps());
    if (t >= 13 && at_13 == 0)
      at_13 = mbps(b.target_bps());
    if (t >= 10)
      min_after = std::min(min_after, mbps(b.target_bps()));
    at_end = mbps(b.target_bps());
  });
  INFO("before " << before << ", at 13 s " << at_13 << ", lowest after " << min_after << ", end "
                 << at_end << "; loss-based " << mbps(bwe.stats().loss_based_bps));
  CHECK(before > 1.2);
  CHECK(at_13 < 0.36);     // down to the thin link within 3 s
  CHECK(min_after > 0.1);  // not collapsed to the floor
  CHECK(at_end > 0.2);     // and near the link again
  CHECK(at_end < 0.36);
}

TEST_CASE("send-side BWE: a probe into a thin link the media leave idle finds its capacity, until a wider link carries one") {
  // 300 kbit/s behind a 250 ms queue for 20 s, then 3 Mbit/s; the media send 150 kbit/s
  // and want 1.2 Mbit/s (probes every 5 s). With nothing to show the limit, the estimate
  // may grow past 300 kbit/s; a probe sent above the link arrives at the link's rate, and
  // that is the capacity it reports (media and probe together), until a probe goes through.
  send_bwe bwe;
  link_model link{[](int64_t t) { return t < 20'000'000 ? 0.3e6 : 3e6; }};
  link.max_queue_us = 250'000;
  link.media_bps = [](int64_t) { return 0.15e6; };
  link.desired_bps = [](int64_t) { return 1.2e6; };
  double lowest = 1e9, highest = 0, highest_target = 0;
  bool seen_thin = false, set_after_30 = false;
  simulate(bwe, link, 40, [&](double t, const send_bwe& b) {
    const auto cap = b.stats().probe_capacity_bps;
    if (t >= 1 && t < 20) {
      highest_target = std::max(highest_target, mbps(b.target_bps()));
      if (cap) {
        seen_thin = true;
        lowest = std::min(lowest, mbps(*cap));
        highest = std::max(highest, mbps(*cap));
      }
    }
    if (t >= 30 && cap)
      set_after_30 = true;
  });
  INFO("capacity on the thin link " << lowest << "-" << highest << ", highest estimate there "
                                    << highest_target << "; probes " << bwe.stats().probes_sent
                                    << "/" << bwe.stats().probes_succeeded);
  CHECK(seen_thin);
  CHECK(lowest > 0.2);
  CHECK(highest < 0.33);
  CHECK_FALSE(set_after_30); // a probe through the wider link cleared it
}

TEST_CASE("send-side BWE: a probe's capacity is forgotten 10 s after the last probe that found it") {
  // As above, but the media stop wanting more when the link widens at 10 s (no probe is
  // asked for after it, so none can go through and clear the capacity): it goes stale.
  send_bwe bwe;
  link_model link{[](int64_t t) { return t < 10'000'000 ? 0.3e6 : 3e6; }};
  link.max_queue_us = 250'000;
  link.media_bps = [](int64_t) { return 0.15e6; };
  link.desired_bps = [](int64_t t) { return t < 10'000'000 ? 1.2e6 : 0.0; };
  bool seen_before_10 = false, set_after_21 = false;
  simulate(bwe, link, 25, [&](double t, const send_bwe& b) {
    const auto cap = b.stats().probe_capacity_bps;
    if (t < 10 && cap)
      seen_before_10 = true;
    if (t >= 21 && cap)
      set_after_21 = true;
  });
  INFO("probes " << bwe.stats().probes_sent << "/" << bwe.stats().probes_succeeded);
  CHECK(seen_before_10);
  CHECK_FALSE(set_after_21);
}

TEST_CASE("send-side BWE: a probe cluster of which too few arrive to time leaves the acknowledged rate as the capacity") {
  // 250 ms of media acknowledged at 300 kbit/s (a packet of 1200 bytes every 32 ms), then a
  // cluster of 5 of which only 2 arrive: the path could not carry it.
  send_bwe bwe;
  uint16_t seq = 0;
  int64_t now = 0;
  acknowledge_300k(bwe, seq, now);
  REQUIRE(bwe.stats().acked_bps);
  const auto acked = *bwe.stats().acked_bps;
  const auto p = bwe.next_probe(now); // the first of the start's probes
  REQUIRE(p);
  REQUIRE(p->min_packets == 5);
  transport_cc_feedback fb;
  for (int i = 0; i < 5; ++i, ++seq, now += 20'000) { // over 80 ms of its 100
    bwe.on_packet_sent(seq, 1200, now, p->id);
    fb.packets.push_back({seq, i < 2, i < 2 ? now + 20'000 : 0});
  }
  now += 100'000; // the cluster's duration has passed
  bwe.on_feedback(fb, now);
  const auto& st = bwe.stats();
  REQUIRE(st.probe_capacity_bps.has_value());
  REQUIRE(st.acked_bps.has_value());
  INFO("capacity " << *st.probe_capacity_bps << ", acknowledged " << *st.acked_bps << " (before the cluster " << acked << ")");
  CHECK(*st.probe_capacity_bps == *st.acked_bps); // the cluster's two arrivals counted in
  CHECK(*st.probe_capacity_bps < 2 * acked);
}

TEST_CASE("send-side BWE: arrival times that jump back (a wrapped reference time) restart the acknowledged rate") {
  // 500 packets acknowledged 1 ms apart at 10 s of the receiver's clock (9.6 Mbit/s), then
  // 200 more 4 ms apart at 1 s (2.4 Mbit/s): the window starts again at the jump instead of
  // holding the old arrivals (whose rate it would otherwise report for ever, and keep).
  send_bwe bwe;
  uint16_t seq = 0;
  auto ack = [&](int n, int64_t first_arrival_us, int64_t gap_us, int64_t now_us) {
    transport_cc_feedback fb;
    for (int i = 0; i < n; ++i, ++seq) {
      bwe.on_packet_sent(seq, 1200, now_us);
      fb.packets.push_back({seq, true, first_arrival_us + i * gap_us});
    }
    bwe.on_feedback(fb, now_us);
  };
  ack(500, 10'000'000, 1000, 1'000'000);
  REQUIRE(bwe.stats().acked_bps);
  CHECK(*bwe.stats().acked_bps == doctest::Approx(9'600'000).epsilon(0.05));
  ack(200, 1'000'000, 4000, 2'000'000);
  REQUIRE(bwe.stats().acked_bps);
  CHECK(*bwe.stats().acked_bps == doctest::Approx(2'400'000).epsilon(0.05));
}

TEST_CASE("send-side BWE: a probe cluster that arrives in a burst (held on the way, then let go) is not timed") {
  // 250 ms of media acknowledged at 300 kbit/s, then the start's first cluster: five
  // packets sent 20 ms apart; the path holds them and delivers them 0.25 ms apart (a stalled
  // queue that drains, Wi-Fi's aggregation). Their arrival rate is the burst's, not the
  // path's: the estimate stays, nothing succeeded, no capacity is kept. Timed (the ratio
  // check off), the same cluster would have taken the estimate to its sending rate.
  struct outcome {
    uint64_t before = 0, after = 0, succeeded = 0;
    bool capacity = false;
  };
  auto run = [](send_bwe_config config) {
    send_bwe bwe{config};
    uint16_t seq = 0;
    int64_t now = 0;
    acknowledge_300k(bwe, seq, now);
    outcome o;
    o.before = bwe.target_bps();
    const auto p = bwe.next_probe(now);
    REQUIRE(p);
    transport_cc_feedback fb;
    const int64_t burst_at = now + 120'000;
    for (int i = 0; i < 5; ++i, ++seq, now += 20'000) {
      bwe.on_packet_sent(seq, 1200, now, p->id);
      fb.packets.push_back({seq, true, burst_at + i * 250});
    }
    now += 100'000;
    bwe.on_feedback(fb, now);
    o.after = bwe.target_bps();
    o.succeeded = bwe.stats().probes_succeeded;
    o.capacity = bwe.stats().probe_capacity_bps.has_value();
    return o;
  };
  const auto held = run({});
  INFO("estimate " << held.before << " -> " << held.after);
  CHECK(held.succeeded == 0);
  CHECK(double(held.after) < 1.1 * double(held.before)); // its usual growth, no more
  CHECK_FALSE(held.capacity);
  send_bwe_config unchecked;
  unchecked.probe_max_arrival_ratio = 1e9;
  const auto timed = run(unchecked);
  INFO("timed: " << timed.before << " -> " << timed.after);
  CHECK(timed.succeeded == 1);
  CHECK(double(timed.after) > 1.5 * double(timed.before));
}
