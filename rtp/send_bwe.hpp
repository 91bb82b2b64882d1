// Send-side bandwidth estimation for one transport toward a receiver,
// from the receiver's transport-cc feedback (or REMB where only that exists), in the manner
// of GoogCC (draft-ietf-rmcat-gcc-02), written from the draft's description:
//
//   delay-based   packets are grouped by send time (bursts of 5 ms); for consecutive groups
//                 the one-way delay variation d = (arrival delta - send delta) is
//                 accumulated and smoothed, and a trendline (least squares over the last
//                 20 groups) gives its slope. The slope, scaled, is compared with an
//                 adaptive threshold: over it for 10 ms and growing is overuse, under its
//                 negative is underuse. An AIMD controller follows: overuse sets the rate to
//                 0.85 x what the receiver acknowledged; normal increases it (8 % a second
//                 far from the last congestion, about a packet per round trip near it),
//                 never beyond 1.5 x the acknowledged rate; underuse holds it.
//   loss-based    over every 20 packets reported (or more), loss above 10 % lowers the
//                 rate by half the loss fraction (at most every 300 ms plus a round trip,
//                 never below half the acknowledged rate), loss under 2 % lets it grow 8 %
//                 a second, in between it holds. Only packets sent after the last decrease
//                 count toward the next: a thin link's queue goes on dropping what was
//                 sent at the old rate, and that is the congestion already answered.
//   probing       clusters of packets sent above the estimate (padding or RTX, the sender's
//                 choice) at the start (3x and 6x the start rate) and when the caller asks
//                 for more than the estimate; a cluster whose packets arrived at a rate
//                 above the estimate raises it to that rate (the delay-based part then
//                 judges it; the loss-based part too when the whole cluster arrived and
//                 the last loss window was clean), and while the caller still wants
//                 more, the next cluster (twice the new estimate) follows at once.
//                 A cluster that arrived over twice as fast as it left was held on the
//                 way and let go in a burst: it is not timed at all.
//                 A cluster that arrived slower than it left (or lost packets) ran into
//                 the path's capacity: what arrived meanwhile, media and probe together,
//                 is kept as the capacity a probe found (probe_capacity_bps), until a
//                 later cluster arrives at the rate it left, the media alone are
//                 acknowledged at 1.2 times it, or two probe spacings pass without a
//                 cluster finding it again (10 s). It does not lower the
//                 estimate (which may have grown above it on an idle path, where no delay
//                 or loss could show the limit); a caller that must not overshoot (a
//                 switch up whose keyframe the path's queue must absorb) takes the lower
//                 of the two.
//
// The estimate is the lowest of the three (and of a REMB's value when one came), within
// [min_bps, max_bps]. Pure: times are passed in (microseconds; the send and arrival clocks
// need not be the same, only their deltas are used).
#pragma once

#include "rtp/transport_cc.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace chorus::rtp {

struct send_bwe_config {
  uint64_t start_bps = 300'000;
  uint64_t min_bps = 30'000;
  uint64_t max_bps = 20'000'000;
  // delay-based
  int64_t burst_us = 5'000;          // packets sent within this of a group's first: one group
  std::size_t trendline_window = 20; // groups in the regression
  double smoothing = 0.9;            // of the accumulated delay
  double trend_gain = 4.0;           // the slope is scaled by min(groups, 60) x this
  double initial_threshold_ms = 12.5;
  double threshold_up = 0.0087, threshold_down = 0.039; // adaptation per ms
  int64_t overuse_time_us = 10'000;  // over the threshold this long: overuse
  double decrease_factor = 0.85;     // x the acknowledged rate on overuse
  double increase_per_second = 0.08; // multiplicative increase, far from congestion
  // loss-based
  double loss_low = 0.02, loss_high = 0.10;
  std::size_t loss_window_packets = 20; // loss is judged over at least this many packets
  int64_t loss_decrease_interval_us = 300'000;
  // probing
  // Long enough that a policer's burst allowance (tens of ms of its rate) cannot hide the
  // cap from a probe sent at twice it: what it drops shows as loss in the cluster.
  int64_t probe_duration_us = 100'000;
  std::size_t probe_min_packets = 5;
  // A cluster that arrived more than this many times faster than it was sent is not timed.
  double probe_max_arrival_ratio = 2.0;
  int64_t probe_spacing_us = 5'000'000; // a requested probe at most this often
  // history
  int64_t history_us = 2'000'000;       // sent packets kept for feedback this long
  int64_t acked_window_us = 500'000;    // acknowledged bitrate over this much arrival time
};

enum class bwe_usage : uint8_t { normal, overusing, underusing };

// A cluster of packets the sender is asked to send above the estimate.
struct probe_request {
  int id = 0;
  uint64_t bps = 0;
  int64_t duration_us = 0;
  std::size_t min_packets = 0;
};

struct send_bwe_stats {
  uint64_t target_bps = 0, delay_based_bps = 0, loss_based_bps = 0;
  std::optional<uint64_t> acked_bps, remb_bps;
  double trend = 0, threshold_ms = 0; // the scaled slope and the adaptive threshold
  bwe_usage usage = bwe_usage::normal;
  double last_loss = 0;               // fraction lost over the last loss window
  uint64_t feedbacks = 0, packets_acked = 0, packets_lost = 0;
  // Reported missing by one feedback and received by a later one: reordered on the way, not
  // lost (taken back out of packets_lost, and out of the loss window while it is open).
  uint64_t packets_late = 0;
  uint64_t probes_sent = 0, probes_succeeded = 0;
  // The rate the path carried under the last probe cluster, when that cluster found a limit
  // (arrived slower than sent, or lost packets; when too few of it arrived to time, the
  // acknowledged rate); none after a cluster that went through at its rate, once stale
  // (see the top of this file), and before any.
  std::optional<uint64_t> probe_capacity_bps;
  uint64_t overuses = 0;              // transitions into overuse
};

class send_bwe {
public:
  explicit send_bwe(send_bwe_config config = {});

  // A packet with transport-wide sequence number `seq` left at send_us; probe_id >= 0 for
  // a packet of a probe cluster (probe_request::id).
  void on_packet_sent(uint16_t seq, std::size_t bytes, int64_t send_us, int probe_id = -1);
  // transport-cc feedback received at now_us.
  void on_feedback(const transport_cc_feedback& fb, int64_t now_us);
  // A receiver's REMB (no transport-cc): an upper bound on the estimate.
  void on_remb(uint64_t bps, int64_t now_us);
  // The fraction lost from a receiver report, when there is no transport-cc feedback.
  void on_loss_report(double fraction_lost, int64_t now_us);
  // The sender would use `desired_bps` (its allocation is held back by the estimate):
  // a probe is planned when none ran for probe_spacing_us and nothing is overused.
  void request_probe(uint64_t desired_bps, int64_t now_us);
  // The next probe cluster to send, if one is due.
  std::optional<probe_request> next_probe(int64_t now_us);

  uint64_t target_bps() const noexcept { return stats_.target_bps; }
  const send_bwe_stats& stats() const noexcept { return stats_; }

private:
  struct sent_packet {
    uint16_t seq = 0;
    uint32_t bytes = 0;
    int64_t send_us = 0;
    int probe_id = -1;
    bool acked = false;
    bool reported_missing = false;  // some feedback said it had not arrived
    bool counted_lost = false;      // in packets_lost
    uint64_t lost_in_window = 0;    // loss window (window_id_) it was counted in; 0: none
  };
  struct group {
    int64_t first_send_us = 0, last_send_us = 0, last_arrival_us = 0;
    bool valid = false;
  };
  struct probe_cluster {
    int id = 0;
    uint64_t bps = 0;
    std::size_t packets = 0, bytes = 0;   // sent; bytes of all but the last
    std::size_t recv_packets = 0, probe_recv_bytes = 0; // received; bytes of all but the first
    std::size_t lost_packets = 0;                        // reported lost
    int64_t created_us = 0, duration_us = 0;             // planned
    int64_t first_send = 0, last_send = 0, first_arrival = 0, last_arrival = 0;
    uint32_t last_bytes = 0;
    bool done = false;
  };

  sent_packet* find(uint16_t seq) noexcept;
  void on_arrival(const sent_packet& p, int64_t arrival_us);
  void update_trend(double delta_ms, int64_t arrival_us);
  void detect(int64_t now_us);
  void rate_control(int64_t now_us);
  void loss_control(double loss, int64_t now_us);
  void probe_result(probe_cluster& c, int64_t now_us);
  // What arrived (every packet acknowledged) between two arrival times, as a rate; none when
  // the acknowledged window no longer holds that span.
  std::optional<double> arrival_rate(int64_t from_us, int64_t to_us) const;
  void update_target();

  send_bwe_config c_;
  send_bwe_stats stats_;
  std::deque<sent_packet> history_;
  // delay-based
  group current_, previous_;
  double accumulated_ms_ = 0, smoothed_ms_ = 0;
  int64_t first_arrival_us_ = -1;
  std::deque<std::pair<double, double>> trend_points_; // (arrival ms, smoothed delay ms)
  std::size_t deltas_ = 0;
  double prev_trend_ = 0;
  int64_t overuse_since_us_ = -1;
  int64_t last_threshold_update_us_ = -1;
  int64_t last_rate_update_us_ = -1;
  int64_t last_overuse_decrease_us_ = -1;
  std::optional<double> last_congestion_bps_;
  uint64_t delay_bps_;
  // loss-based
  uint64_t loss_bps_;
  int64_t last_loss_decrease_us_ = -1, last_loss_update_us_ = -1;
  std::size_t window_received_ = 0, window_lost_ = 0;
  uint64_t window_id_ = 1; // the open loss window's number
  // Loss of packets sent before the last loss-based decrease is what that decrease answered
  // (a thin link's queue goes on dropping what was sent at the old rate for a while): only
  // packets sent after it fill the loss window, so one congestion event is one decrease.
  int64_t loss_cutoff_send_us_ = -1;
  int64_t newest_send_us_ = -1;
  int64_t feedback_delay_us_ = 0; // send of the newest acknowledged packet to its feedback
  bool any_acked_ = false; // losses before the first packet the receiver took do not count
  // acknowledged bitrate: (arrival us, bytes) of the received packets in the window
  static constexpr size_t max_acked = 8192; // 16 000 packets a second over the window
  std::deque<std::pair<int64_t, uint32_t>> acked_;
  uint64_t acked_bytes_ = 0;
  // probing
  std::vector<probe_request> planned_;
  std::vector<probe_cluster> clusters_;
  int next_probe_id_ = 1;
  int64_t last_probe_us_ = -1;
  uint64_t probe_desired_bps_ = 0; // the sender's last request_probe
  int64_t probe_capacity_us_ = -1; // when stats_.probe_capacity_bps was set

  bool initial_probes_planned_ = false;
};

} // namespace chorus::rtp
