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
// Deliberate drops (drop(): a packet of the current source that this receiver does not get,
// e.g. a temporal layer above its target) close their number: the packets after it go on at
// last output + 1, so the receiver sees no hole. The numbers closed are recorded in a bitmap
// over the last drop_window extended input numbers, and
//   output seq = extended input - offset - (closed numbers below it),
// where the offset absorbs every closed number as it is made (each drop of a packet newer
// than the highest input adds 1), and a reordered packet older than the highest adds back
// the closed numbers between it and the highest. So a packet older than a drop (reordering)
// keeps the number it would have had, and duplicates map the same as before.
//   - Only a packet newer than the highest input can be closed: the numbers after an older
//     one are already out. drop() of an older (late) packet changes nothing: its number stays
//     a hole, which the packet fills if it is later process()ed after all.
//   - A packet whose number was closed and that comes again to process() (duplicate,
//     retransmission, or the layer target went up meanwhile) is dropped again
//     (munge_drop_reason::dropped_layer): its number now belongs to the next packet.
//   - drop() of the first packet after start / mark_discontinuity() makes it the base, as
//     process() would, and closes its number: the next forwarded packet is last output + 1.
//   - The timestamp mapping is what process() would have set; a drop does not move the last
//     output values (last_seq, last_timestamp: what was really sent).
//   - The record is bounded by sequence distance, not by the number of drops: any number of
//     drops in a row is fine. What is forgotten is which numbers were closed more than
//     drop_window behind the highest input, so once the current source has had a drop, a
//     packet that far behind is dropped as too_old even when max_reorder would allow it (with
//     the default max_reorder of 1000 nothing changes).
//
// Pure code: now_ms is passed in; no allocation.
#pragma once

#include <array>
#include <cstdint>

namespace chorus::rtp {

struct seq_munger_config {
  uint32_t clock_rate = 90000;
  uint16_t max_reorder = 1000; // how far behind the highest input a packet may still be mapped
};

enum class munge_action : uint8_t { forward, drop };
// before_base: older than the first packet after the last switch / resume.
// too_old: more than max_reorder behind the highest input (or, after drops in the current
//   source, more than drop_window - 1 behind it).
// dropped_layer: this number was closed by drop() earlier (the packet comes again).
enum class munge_drop_reason : uint8_t { none, before_base, too_old, dropped_layer };

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
  // How far behind the highest input the record of closed numbers reaches.
  static constexpr int64_t drop_window = 1024;

  explicit seq_munger(seq_munger_config config = {}) noexcept : config_(config) {}

  // One input packet (seq, timestamp of the source) arriving at now_ms.
  munge_decision process(uint16_t seq, uint32_t timestamp, int64_t now_ms) noexcept;

  // This packet of the current source is deliberately not forwarded: the next forwarded
  // packets close its number (see above).
  void drop(uint16_t seq, uint32_t timestamp, int64_t now_ms) noexcept;

  // The next packet starts a new base (source switch, resume after pause). The input
  // sequence space of the next packet is independent of the previous one.
  void mark_discontinuity() noexcept { need_base_ = true; }

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
  // Makes (seq, timestamp) the base of a new source: offsets such that it would be output
  // as last output + 1 (its own values before anything was output).
  void rebase(uint16_t seq, uint32_t timestamp, int64_t now_ms) noexcept;
  // A new highest input: moves the drop record's window along.
  void advance(int64_t ext_seq, int64_t ext_ts) noexcept;
  void close_number(int64_t ext_seq) noexcept; // drop() of the highest input
  bool closed(int64_t ext_seq) const noexcept;
  int64_t closed_after(int64_t ext_seq) const noexcept; // closed numbers in (ext_seq, highest]
  void note_output(int64_t out_seq, int64_t out_ts, int64_t now_ms) noexcept;

  seq_munger_config config_;
  bool started_ = false;   // something was forwarded
  bool need_base_ = true;  // the next packet starts a source
  // Input (extended) state of the current source.
  int64_t in_high_seq_ = 0;
  int64_t in_high_ts_ = 0;
  int64_t in_base_seq_ = 0;
  // out = in - offset (on 64-bit extended values); seq_offset_ includes the closed numbers.
  int64_t seq_offset_ = 0;
  int64_t ts_offset_ = 0;
  // Highest output so far (extended) and when it was sent.
  int64_t last_out_seq_ = 0;
  int64_t last_out_ts_ = 0;
  int64_t last_out_ms_ = 0;
  // Closed numbers of the current source: bit (extended seq mod drop_window), valid for
  // (in_high_seq_ - drop_window, in_high_seq_].
  std::array<uint64_t, drop_window / 64> closed_{};
  bool source_has_drops_ = false;
};

} // namespace chorus::rtp
