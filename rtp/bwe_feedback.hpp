// Receive-side bandwidth feedback toward a sender (a browser producing media):
//
//   tcc_recorder    records the transport-wide sequence number and arrival time of every
//                   packet received on one transport, and turns them into transport-cc
//                   feedback packets (draft-holmer-rmcat-transport-wide-cc-extensions-01)
//                   at most every feedback_interval_ms, or sooner when many packets wait.
//                   The sender's congestion controller (Chromium's GCC) needs nothing else
//                   to estimate the bandwidth: this is what makes its estimate ramp up.
//   remb_estimator  when only abs-send-time is negotiated (no transport-cc), a receive-side
//                   estimate sent as REMB: it follows the measured receive rate upwards
//                   multiplicatively while the one-way delay (from abs-send-time) does not
//                   grow and loss stays low, and backs off on loss or growing delay.
//
// Pure code: times passed in (monotonic microseconds), output into caller vectors.
#pragma once

#include "rtp/transport_cc.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace chorus::rtp {

struct tcc_config {
  int64_t feedback_interval_us = 50'000; // send feedback at least this often while packets arrive
  size_t max_pending = 200;              // ... or as soon as this many arrivals wait
  size_t max_packet_size = 1200;
  int64_t max_gap = 1000;                // a forward jump larger than this resets the window
};

struct tcc_counters {
  uint64_t recorded = 0;
  uint64_t duplicates = 0;   // a seq already recorded in the pending window
  uint64_t too_old = 0;      // before the last feedback's window, ignored
  uint64_t feedback_sent = 0;
};

class tcc_recorder {
public:
  explicit tcc_recorder(tcc_config config = {}) noexcept : config_(config) {}

  // A packet carrying transport-wide seq `seq` arrived at arrival_us.
  void on_packet(uint16_t seq, int64_t arrival_us) noexcept;

  // True when feedback should be built now (interval elapsed with pending arrivals, or
  // many pending).
  bool due(int64_t now_us) const noexcept;

  // Builds the feedback packets for everything pending (missing seqs from the window start
  // -- the seq after the last one reported -- to the highest pending reported as not
  // received; a jump larger than max_gap starts a new feedback instead of a run of lost
  // ones), clears the pending window, and appends one byte vector per RTCP packet to `out`. sender_ssrc: ours; media_ssrc: the sender's
  // (any of its SSRCs; Chromium ignores it).
  void build(uint32_t sender_ssrc, uint32_t media_ssrc, int64_t now_us,
             std::vector<std::vector<uint8_t>>& out);

  const tcc_counters& counters() const noexcept { return counters_; }

private:
  struct arrival {
    int64_t ext = 0;       // extended transport-wide seq
    int64_t arrival_us = 0;
  };

  int64_t max_gap() const noexcept;
  void write_packets(uint32_t sender_ssrc, uint32_t media_ssrc,
                     std::vector<std::vector<uint8_t>>& out);

  static constexpr uint32_t no_bad_seq = 0x10000; // matches no 16-bit seq

  tcc_config config_;
  bool started_ = false;
  bool reported_ = false;     // a feedback was built: the window start is final
  int64_t next_ext_seq_ = 0;  // first extended seq not yet reported (window start)
  int64_t highest_ = 0;       // highest extended seq recorded
  uint32_t bad_seq_ = no_bad_seq; // after a seq far behind the window: the one that
                                  // would confirm a restart of the sender's counter
  std::vector<arrival> pending_;  // sorted by extended seq (late arrivals inserted)
  std::vector<packet_arrival> scratch_; // build() input for one segment, capacity reused
  int64_t last_feedback_us_ = 0;
  uint8_t fb_count_ = 0;
  tcc_counters counters_;
};

struct remb_config {
  uint64_t start_bps = 300'000;
  uint64_t min_bps = 50'000;
  uint64_t max_bps = 10'000'000;
  double increase_factor = 1.08;   // per update while delay and loss are fine
  double decrease_factor = 0.85;   // of the measured receive rate on congestion
  int64_t update_interval_ms = 200;
};

class remb_estimator {
public:
  explicit remb_estimator(remb_config config = {}) noexcept
      : config_(config), estimate_bps_(config.start_bps) {}

  // A packet of `bytes` arrived at arrival_ms; abs_send_time_24 is the 6.18 fixed-point
  // send time from the abs-send-time extension (if the packet had one).
  void on_packet(size_t bytes, int64_t arrival_ms, std::optional<uint32_t> abs_send_time_24) noexcept;
  // The receiver's loss fraction (/256) over the last interval, from the stream stats.
  void on_loss(uint8_t fraction_lost) noexcept { last_loss_ = fraction_lost; }

  // Updates the estimate when update_interval_ms elapsed; returns true when a REMB should
  // be sent now (the new estimate is estimate_bps()).
  bool update(int64_t now_ms) noexcept;
  uint64_t estimate_bps() const noexcept { return estimate_bps_; }

private:
  remb_config config_;
  uint64_t estimate_bps_;
  uint64_t window_bytes_ = 0;
  int64_t window_start_ms_ = -1;
  int64_t last_update_ms_ = -1;
  uint8_t last_loss_ = 0;
  // delay trend: arrival - send (ms), smoothed, and its value at the last update
  bool have_delay_ = false;
  double delay_ms_ = 0;
  bool have_delay_at_update_ = false;
  double delay_at_update_ms_ = 0;
  uint32_t last_send_24_ = 0;
  double send_base_ms_ = 0; // unwrapped send time (abs-send-time wraps every 64 s)
};

} // namespace chorus::rtp
