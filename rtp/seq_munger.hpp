// Sequence number and timestamp rewriting for one outgoing stream (a consumer): the output
// stays continuous across source switches, pauses and resumes, so that the receiver sees no
// gap (a gap would make it NACK every missing number) and a timestamp that follows the wall
// clock.
//
// Inputs are unwrapped into 64-bit extended values (seq: 16 -> 64 bits around the highest
// one seen, RFC 3550 Appendix A.1; timestamp: 32 -> 64 bits the same way), so the 65535 -> 0
// and 2^32 -> 0 wraps are ordinary additions. Output = extended input - offset, truncated
// back to 16 / 32 bits.
//
// After start, a switch or a resume (mark_discontinuity), the next packet becomes the new
// base: its output seq is last output + 1 and its timestamp advances by the wall time
// elapsed since the last output packet, in clock-rate units (at least 1). Packets older than
// the base are dropped (they belong to what was before the switch). Out-of-order packets
// within max_reorder of the highest map consistently (same offset); older ones are dropped.
// Duplicates are forwarded with the same mapping (the receiver discards them).
//
// Pure code: now_ms is passed in; no allocation.
#pragma once

#include <cstdint>

namespace chorus::rtp {

struct seq_munger_config {
  uint32_t clock_rate = 90000;
  uint16_t max_reorder = 1000; // how far behind the highest input a packet may still be mapped
};

enum class munge_action : uint8_t { forward, drop };
// before_base: older than the first packet after the last switch / resume.
// too_old: more than max_reorder behind the highest input.
enum class munge_drop_reason : uint8_t { none, before_base, too_old };

// What to do with one packet: forward it with {seq, timestamp}, or drop it.
struct munge_decision {
  munge_action action = munge_action::drop;
  munge_drop_reason reason = munge_drop_reason::none;
  uint16_t seq = 0;
  uint32_t timestamp = 0;

  bool forward() const noexcept { return action == munge_action::forward; }
};

class seq_munger {
public:
  explicit seq_munger(seq_munger_config config = {}) noexcept : config_(config) {}

  // One input packet (seq, timestamp of the source) arriving at now_ms.
  munge_decision process(uint16_t seq, uint32_t timestamp, int64_t now_ms) noexcept;

  // The next packet starts a new base (source switch, resume after pause). The input
  // sequence space of the next packet is independent of the previous one.
  void mark_discontinuity() noexcept { discontinuity_ = true; }

  // Last output values (meaningful once something was forwarded): what an RTCP sender
  // report or the next switch continues from.
  bool started() const noexcept { return started_; }
  uint16_t last_seq() const noexcept { return uint16_t(last_out_seq_); }
  uint32_t last_timestamp() const noexcept { return uint32_t(last_out_ts_); }
  // The output timestamp that an input timestamp of the current source maps to (modulo
  // 2^32; meaningful once started). Used to translate the source's RTCP sender clock.
  uint32_t output_timestamp(uint32_t input_ts) const noexcept {
    return input_ts - static_cast<uint32_t>(ts_offset_);
  }

private:
  void rebase(uint16_t seq, uint32_t timestamp, int64_t now_ms) noexcept;

  seq_munger_config config_;
  bool started_ = false;
  bool discontinuity_ = false;
  // Input (extended) state of the current source.
  int64_t in_high_seq_ = 0;
  int64_t in_high_ts_ = 0;
  int64_t in_base_seq_ = 0;
  // out = in - offset (on 64-bit extended values).
  int64_t seq_offset_ = 0;
  int64_t ts_offset_ = 0;
  // Highest output so far (extended) and when it was sent.
  int64_t last_out_seq_ = 0;
  int64_t last_out_ts_ = 0;
  int64_t last_out_ms_ = 0;
};

} // namespace chorus::rtp
