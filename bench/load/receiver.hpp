// The receiving half of a simulated participant: one inbound_stream per consumer, with the
// accounting a browser's receiver does (sequence numbers, loss, NACK, keyframe need) and the
// figures the bench reports (delivered packets and bytes, unique packets for loss, one-way
// latency from the send stamp). Pure code: times are passed in.
#pragma once

#include "rtp/nack_generator.hpp"
#include "rtp/rtp_stream.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace chorus::bench {

// One-way latencies in microseconds: 1 us buckets below 10 ms, 100 us buckets up to 1 s,
// one overflow bucket; the maximum is exact.
class latency_histogram {
public:
  latency_histogram() : fine_(fine_buckets, 0), coarse_(coarse_buckets, 0) {}
  void add(uint64_t us) noexcept { add(us, 1); }
  void add(uint64_t us, uint64_t n) noexcept; // n samples of the same value
  void merge(const latency_histogram& other) noexcept;
  uint64_t count() const noexcept { return count_; }
  uint64_t max_us() const noexcept { return max_; }
  // The smallest value v such that at least q of the samples are <= v (bucket upper bound).
  uint64_t quantile_us(double q) const noexcept;
  double mean_us() const noexcept { return count_ ? double(sum_) / double(count_) : 0.0; }

private:
  static constexpr uint64_t fine_limit_us = 10000;
  static constexpr uint64_t coarse_step_us = 100;
  static constexpr uint64_t coarse_limit_us = 1000000;
  static constexpr std::size_t fine_buckets = fine_limit_us;
  static constexpr std::size_t coarse_buckets = (coarse_limit_us - fine_limit_us) / coarse_step_us;
  std::vector<uint32_t> fine_;
  std::vector<uint32_t> coarse_;
  uint64_t overflow_ = 0;
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
};

enum class stream_kind : uint8_t { audio, video };

// Counters of one inbound stream (monotonic; the bench takes differences over its window).
struct inbound_counters {
  uint64_t packets = 0;        // every RTP packet of the stream (RTX included)
  uint64_t bytes = 0;          // their RTP sizes (header + payload, before SRTP)
  uint64_t rtx_packets = 0;    // retransmissions on the RTX SSRC
  uint64_t late = 0;           // media packets older than the highest (reordered or resent)
  uint64_t duplicates = 0;
  uint64_t unique = 0;         // distinct sequence numbers received (originals + repairs)
  uint64_t expected = 0;       // highest extended seq - first + 1
  uint64_t keyframes = 0;      // first packets of keyframes (VP8 payload)
  uint64_t nack_packets = 0;   // NACK RTCP packets sent for this stream
  uint64_t nack_seqs = 0;
  uint64_t plis = 0;           // PLIs sent
  uint64_t bad_stamp = 0;      // no plausible send stamp
  // Media packets (not RTX) by the simulcast encoding tagged in their payload (media.hpp;
  // decrypted receivers only), and those of an encoding other than the intended one.
  std::array<uint64_t, 4> encoding_packets{};
  uint64_t off_target = 0;
};

// What the caller must do after a packet or a tick.
struct inbound_actions {
  std::vector<uint16_t> nack; // sequence numbers to request now (empty: none)
  bool pli = false;           // send a PLI now
};

class inbound_stream {
public:
  struct params {
    std::string consumer_id;
    std::string producer_id;
    stream_kind kind = stream_kind::audio;
    uint32_t ssrc = 0;
    uint32_t rtx_ssrc = 0; // 0: none
    uint8_t payload_type = 0;
    uint8_t rtx_payload_type = 0;
    uint32_t clock_rate = 48000;
    bool nack = false; // the consumer negotiated generic NACK
    bool pli = false;  // ... and PLI
    // A simulcast consumer: the encoding this receiver should get (its preference, the
    // server's allocation not holding it back); -1: not simulcast.
    int8_t intended_encoding = -1;
  };

  explicit inbound_stream(params p);

  const params& info() const noexcept { return p_; }
  bool is_video() const noexcept { return p_.kind == stream_kind::video; }

  // An unprotected RTP packet of this stream (its SSRC is ssrc or rtx_ssrc) handled at
  // now_us (mono_us), which arrived at arrival_us (stamp_clock_us, the kernel's stamp when
  // known). Latency samples go to `latency` when it is not null (the measured window).
  // `opaque`: the payload is still encrypted (a receiver outside the decrypted sample):
  // sequence, loss and NACK come from the clear header; no keyframe detection, no latency.
  // `keyframe_latency`, when given, takes the samples of a video keyframe's packets too
  // (those with the RTP timestamp of the last keyframe start seen), as well as `latency`.
  void on_rtp(std::span<const uint8_t> packet, uint64_t now_us, uint64_t arrival_us,
              latency_histogram* latency, inbound_actions& out, bool opaque = false,
              latency_histogram* keyframe_latency = nullptr);
  // The server's sender report for this stream.
  void on_sender_report(uint64_t ntp, uint32_t rtp_timestamp, uint64_t now_us) noexcept;
  // Periodic work (NACK retries, keyframe requests while one is missing).
  void tick(uint64_t now_us, inbound_actions& out);
  // Started by resume-consumer: a PLI is due (video).
  void on_resumed(uint64_t now_us, inbound_actions& out);

  // Our report block for the next receiver report; false when nothing arrived yet.
  bool report_block(uint64_t now_us, rtp::report_block& out) noexcept;
  void count_nack(std::size_t seqs) noexcept {
    ++c_.nack_packets;
    c_.nack_seqs += seqs;
  }
  void count_pli() noexcept { ++c_.plis; }

  const inbound_counters& counters() const noexcept { return c_; }
  bool started() const noexcept { return started_; }
  // A video stream whose picture is broken (started, or a loss given up) until a keyframe
  // arrives: it asks for one (PLI) and, outside the decrypted sample, must be decrypted to
  // see it come.
  bool needs_keyframe() const noexcept { return need_keyframe_; }

private:
  void mark(int64_t ext) noexcept;
  bool seen(int64_t ext) const noexcept;
  void want_keyframe(uint64_t now_us, inbound_actions& out) noexcept;

  static constexpr int64_t window = 1024; // sequence numbers remembered for duplicates
  params p_;
  rtp::receive_stream stats_;
  rtp::nack_generator nack_;
  inbound_counters c_;
  bool started_ = false;
  int64_t first_ext_ = 0;
  int64_t highest_ext_ = 0;
  std::array<uint64_t, window / 64> seen_{};
  bool need_keyframe_ = false;
  std::optional<uint32_t> keyframe_timestamp_; // the RTP timestamp of the last keyframe start seen
  uint64_t last_pli_us_ = 0;
  uint64_t last_abandoned_ = 0;
};

} // namespace chorus::bench
