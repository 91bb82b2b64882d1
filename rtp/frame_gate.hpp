// Lets through only whole frames of one video RTP stream that a decoder can use: what the
// media recorder hands its ffmpeg child for VP8, H264 and the other codecs ffmpeg reads over
// RTP (VP9 has its own depacketizer, rtp/vp9_frames.hpp). ffmpeg writes what it receives:
// a frame with a hole, or one that refers to a frame lost before it, would be in the file
// and fail to decode. So a frame is held until its marker bit (or the next frame's first
// packet) shows it whole, and after a loss nothing passes until a keyframe. Packets are
// given in sequence order (rtp/reorder_buffer.hpp puts repairs back in place). Pure:
// packets in, packets out.
#pragma once

#include "rtp/keyframe.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace chorus::rtp {

class frame_gate {
public:
  struct counters {
    uint64_t frames = 0, keyframes = 0;   // let through
    uint64_t dropped_frames = 0;          // with a hole, too large, or waiting for a keyframe
    uint64_t gaps = 0;                    // sequence gaps seen
  };
  // A frame holds at most this much; beyond, it is dropped as a lost one would be.
  static constexpr std::size_t max_frame_bytes = 8 << 20;
  // A packet at most this far behind the last is a repeat or a straggler; further, the
  // stream started over (as far as the reorder buffer before it follows a sender).
  static constexpr uint16_t old_window = 1024;

  explicit frame_gate(payload_codec codec) noexcept : codec_(codec) {}

  // One RTP packet (`packet`, whose header says seq, timestamp and marker, and whose payload
  // is `payload`). `release(std::span<const uint8_t>)` is called for each packet let through,
  // in order, a whole frame at a time.
  template <class F>
  void push(uint16_t seq, uint32_t timestamp, bool marker, std::span<const uint8_t> payload,
            std::span<const uint8_t> packet, F&& release) {
    if (!accept(seq))
      return;
    if (open_ && timestamp != timestamp_)
      finish(release); // the previous frame ended without a marker
    if (!open_)
      start(timestamp, payload);
    hold(packet);
    if (marker)
      finish(release);
  }

  // True from a loss (or the start) until a keyframe passes: ask the sender for one.
  bool waiting_for_keyframe() const noexcept { return waiting_keyframe_; }
  const counters& stats() const noexcept { return counters_; }

private:
  // Notes a gap (the open frame is lost, and a keyframe is needed); false for a repeat or
  // a straggler (at most old_window behind), which is ignored.
  bool accept(uint16_t seq);
  void start(uint32_t timestamp, std::span<const uint8_t> payload);
  void hold(std::span<const uint8_t> packet);
  void drop_open() noexcept;
  template <class F>
  void finish(F& release) {
    if (open_ && !dropping_) {
      std::size_t from = 0;
      for (auto end : held_ends_) {
        release(std::span<const uint8_t>(held_).subspan(from, end - from));
        from = end;
      }
      ++counters_.frames;
      if (keyframe_)
        ++counters_.keyframes;
      open_ = false;
      held_.clear();
      held_ends_.clear();
      return;
    }
    drop_open();
  }

  payload_codec codec_;
  bool have_seq_ = false;
  uint16_t next_seq_ = 0;
  bool waiting_keyframe_ = true;
  bool open_ = false;     // a frame is being held (or dropped)
  bool dropping_ = false; // ... and will not be let through
  bool keyframe_ = false;
  uint32_t timestamp_ = 0;
  bool dropped_any_ = false;
  uint32_t dropped_timestamp_ = 0; // the last frame dropped (its rest is not counted again)
  // The open frame's packets, one after the other, and where each ends: kept for the next
  // frame (no allocation a packet once they have grown).
  std::vector<uint8_t> held_;
  std::vector<std::size_t> held_ends_;
  counters counters_;
};

} // namespace chorus::rtp
