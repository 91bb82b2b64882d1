// Per-stream RTP statistics and the RTCP they produce or consume.
//
//   receive_stream  (a producer's incoming stream): RFC 3550 A.1 sequence accounting, A.3
//                   expected / lost / fraction lost, A.8 interarrival jitter; builds the
//                   report block of our receiver reports (with LSR / DLSR from the
//                   sender's last SR) and remembers the sender's NTP <-> RTP mapping.
//   send_stream     (a consumer's outgoing stream): packets / octets sent, builds sender
//                   reports, reads the receiver's report blocks (loss, jitter, RTT).
//   bitrate_meter   bytes over a sliding window -> bits per second.
//   score           mediasoup-style 0..10 quality score from loss.
//
// Pure code: every time is passed in (monotonic ms, and for NTP a wall-clock ms since the
// Unix epoch); no allocation on the per-packet path.
#pragma once

#include "rtp/rtcp.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace chorus::rtp {

// Bits per second over the last window_ms (default 1 s), in 100 ms buckets.
class bitrate_meter {
public:
  void add(size_t bytes, int64_t now_ms) noexcept;
  uint64_t bps(int64_t now_ms) const noexcept;

private:
  // The rate is taken over the last window_buckets completed buckets (exactly 1 s, so a
  // steady stream reads its true rate instead of one diluted by a partly filled bucket);
  // one more bucket collects the current 100 ms.
  static constexpr size_t window_buckets = 10;
  static constexpr size_t buckets = window_buckets + 1;
  static constexpr int64_t bucket_ms = 100;
  std::array<uint64_t, buckets> bytes_{};
  std::array<int64_t, buckets> slot_{}; // which 100 ms slot (now/100) each bucket holds
};

// The sender's clock relation from its last SR, as seen when it arrived.
struct sender_clock {
  uint64_t ntp = 0;         // the SR's NTP timestamp
  uint32_t rtp = 0;         // the SR's RTP timestamp
  int64_t received_ms = 0;  // local monotonic ms when it arrived
  bool valid = false;
};

struct receive_stream_stats {
  uint64_t packets = 0;          // every packet received (retransmissions included)
  uint64_t bytes = 0;
  uint64_t retransmitted = 0;    // packets that arrived through RTX
  uint64_t duplicates = 0;        // originals that came twice, retransmissions of what came
  int64_t lost = 0;              // RFC 3550 A.3 cumulative lost (expected - received)
  uint8_t fraction_lost = 0;     // of the last report interval, /256
  uint32_t jitter = 0;           // RTP timestamp units
  uint64_t bitrate_bps = 0;
  uint32_t extended_highest_seq = 0;
};

class receive_stream {
public:
  receive_stream(uint32_t ssrc, uint32_t clock_rate) noexcept;

  // A media packet (original or unwrapped from RTX) arriving at now_ms. false when it
  // brings nothing new (a duplicate on the path, a repair of what came, the late original
  // of a packet its repair brought first): forwarding it again would only make the
  // receiver discard it, after a transport-wide number its feedback then reports lost.
  // Told within the 128 numbers up to the highest; anything else counts as new.
  bool on_packet(uint16_t seq, uint32_t rtp_timestamp, size_t bytes, int64_t now_ms,
                 bool retransmitted) noexcept;
  // The sender's SR for this stream arrived at now_ms.
  void on_sender_report(uint64_t ntp, uint32_t rtp_timestamp, int64_t now_ms) noexcept;

  // Our report block about this stream (fraction lost since the previous call; LSR / DLSR
  // from the last SR, 0 when none). Starts a new report interval.
  report_block make_report_block(int64_t now_ms) noexcept;

  uint32_t ssrc() const noexcept { return ssrc_; }
  bool started() const noexcept { return started_; }
  const sender_clock& clock() const noexcept { return clock_; }
  receive_stream_stats stats(int64_t now_ms) const noexcept;

private:
  void init_seq(uint16_t seq) noexcept;
  int64_t extended_max() const noexcept { return int64_t(cycles_) + max_seq_; }
  int64_t expected() const noexcept { return extended_max() - base_seq_ + 1; }
  using seq_bits = std::array<uint64_t, 2>; // bit ext % 128
  static bool test(const seq_bits& b, int64_t ext) noexcept;
  static void set(seq_bits& b, int64_t ext) noexcept;
  static void clear(seq_bits& b, int64_t ext) noexcept;
  bool seen(int64_t ext) const noexcept { return test(seen_, ext); }
  void mark_seen(int64_t ext) noexcept { set(seen_, ext); }
  void advance_seen(int64_t from_ext, int64_t to_ext) noexcept;
  void update_jitter(uint32_t rtp_timestamp, int64_t now_ms) noexcept;

  // RFC 3550 A.1 limits: a step forward below max_dropout is accepted (a gap is loss), a
  // step back of at most max_misorder is a late or duplicate packet, anything else a jump.
  static constexpr uint16_t max_dropout = 3000;
  static constexpr uint16_t max_misorder = 100;
  static constexpr uint32_t no_bad_seq = 0x10000; // RTP_SEQ_MOD + 1: matches no seq

  uint32_t ssrc_;
  uint32_t clock_rate_;
  bool started_ = false;
  uint16_t base_seq_ = 0;
  uint16_t max_seq_ = 0;
  uint32_t cycles_ = 0;        // shifted count of seq number cycles (RFC 3550 A.1)
  uint32_t bad_seq_ = no_bad_seq; // the seq after a jump; arriving next, it restarts
  uint64_t received_ = 0;      // in-order or late, not duplicates / retransmissions
  int64_t expected_prior_ = 0;
  uint64_t received_prior_ = 0;
  // Which of the 128 extended seqs up to the highest arrived (bit ext % 128): the late
  // window is max_misorder (100) wide, so this is enough to tell a duplicate from a late
  // packet without allocating.
  seq_bits seen_{};
  // Which of them came only through RTX so far (forwarded once: the late original is then
  // an arrival for the loss count, but nothing to forward).
  seq_bits repaired_{};
  double jitter_ = 0;          // RFC 3550 A.8, in timestamp units
  uint32_t last_transit_ = 0;  // modulo 2^32, like the timestamps it comes from
  bool have_transit_ = false;
  sender_clock clock_;
  uint32_t last_sr_compact_ = 0;
  receive_stream_stats stats_;
  bitrate_meter bitrate_;
};

struct send_stream_stats {
  uint64_t packets = 0;          // media packets sent (retransmissions excluded)
  uint64_t bytes = 0;
  uint64_t retransmitted = 0;    // packets resent on NACK
  uint64_t retransmitted_bytes = 0;
  uint64_t nacks_received = 0;   // NACK packets
  uint64_t nacked_packets = 0;   // sequence numbers asked for
  uint64_t plis_received = 0;
  uint64_t firs_received = 0;
  // From the receiver's last report block:
  uint8_t fraction_lost = 0;
  int32_t lost = 0;
  uint32_t jitter = 0;
  std::optional<int64_t> rtt_us;
  uint64_t bitrate_bps = 0;
  uint8_t score = 10;
};

class send_stream {
public:
  send_stream(uint32_t ssrc, uint32_t clock_rate) noexcept;

  // A packet sent (payload bytes count for the SR octet count; RFC 3550 §6.4.1).
  void on_packet_sent(uint32_t rtp_timestamp, size_t payload_bytes, size_t bytes,
                      int64_t now_ms) noexcept;
  void on_retransmitted(size_t bytes, int64_t now_ms) noexcept;
  void on_nack(size_t sequence_numbers) noexcept;
  void on_pli() noexcept { ++stats_.plis_received; }
  void on_fir() noexcept { ++stats_.firs_received; }

  // The receiver's report block about this stream, arrived at `now_us` (local monotonic
  // time). RTT (RFC 3550 §6.4.1): the time since we built the SR its LSR echoes, less the
  // receiver's DLSR, measured on our own clock: the NTP timestamps in our SRs follow the
  // source's sender clock as projected when each SR was built (lip sync), and that
  // projection moves with every SR the source sends, so an arrival time on it could put
  // the echo before the SR it answers.
  void on_report_block(const report_block& rb, int64_t now_us) noexcept;

  // A sender report for now (`now_us`, local monotonic time). `ntp_now` is the NTP
  // timestamp to put in it and `rtp_now` the RTP timestamp that corresponds to that
  // instant in this stream's clock (the caller computes it from the source's sender_clock
  // for lip sync, or by extrapolating the last sent timestamp with
  // last_sent_extrapolated()). Remembers the SR (its compact NTP and `now_us`) for the RTT.
  sender_report make_sender_report(uint64_t ntp_now, uint32_t rtp_now, int64_t now_us) noexcept;

  // The last sent timestamp advanced by the time since it was sent (fallback mapping).
  std::optional<uint32_t> last_sent_extrapolated(int64_t now_ms) const noexcept;

  uint32_t ssrc() const noexcept { return ssrc_; }
  bool sent_anything() const noexcept { return stats_.packets > 0; }
  std::optional<int64_t> round_trip_us() const noexcept { return stats_.rtt_us; }
  uint8_t fraction_lost() const noexcept { return stats_.fraction_lost; } // last report's
  send_stream_stats stats(int64_t now_ms) const noexcept;

private:
  uint32_t ssrc_;
  uint32_t clock_rate_;
  uint32_t last_ts_ = 0;
  int64_t last_ts_ms_ = 0;
  uint64_t octets_ = 0;
  struct sent_sr {
    uint32_t compact = 0; // compact NTP of the SR (0: none)
    int64_t at_us = 0;    // when it was built, local monotonic time
  };
  // The last SRs built, newest at sent_srs_[(next_sr_ + n - 1) % n]: a receiver's report
  // may echo the one before the last when the two crossed.
  std::array<sent_sr, 4> sent_srs_{};
  std::size_t next_sr_ = 0;
  send_stream_stats stats_;
  bitrate_meter bitrate_;
};

// The sender's clock carried forward to local time now_ms: the NTP and RTP timestamps
// (in the source's timestamp space) the sender's clock reads at now_ms, given its last SR
// arrived at clock.received_ms. A forwarder that writes SRs with these values (RTP mapped
// into its own output space) keeps the sender's audio/video relation, i.e. lip sync.
struct clock_reading {
  uint64_t ntp = 0;
  uint32_t rtp_timestamp = 0;
};
clock_reading project_sender_clock(const sender_clock& clock, int64_t now_ms,
                                   uint32_t clock_rate) noexcept;

// mediasoup-like score 0..10 from a fraction lost (/256): 10 at no loss, lower with loss.
uint8_t score_from_loss(uint8_t fraction_lost) noexcept;

} // namespace chorus::rtp
