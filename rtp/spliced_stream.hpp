// One continuous RTP stream made of the packets of one source after another: what each
// input of the live composer's FFmpeg reads (actors/live_streamer.hpp). FFmpeg takes an
// input's SSRC, payload type, sequence numbers and timestamps for one stream from one
// sender, and its filter graph starts only once every input has given a frame and then
// waits on each; so every stream goes on whoever feeds it:
// - video: a source is taken at its next keyframe (the one before, or the filler, goes on
//   until then), so the decoder never sees a picture that refers to another sender's; while
//   no source feeds it, a filler keyframe (rtp/video_filler.hpp) goes out every
//   `video_filler_interval_ms`;
// - audio (Opus): a source is taken at its next packet; silent frames fill the stream up to
//   `audio_fill_lag_ms` behind now wherever nobody sent anything (no source, DTX, a pause).
// Out, every packet carries the stream's SSRC and payload type, the next sequence number
// and a timestamp on the stream's own clock: a source's timestamps are moved, when it is
// taken, to the moment it is taken, and keep their own spacing after that; never behind
// what went out before. Packets of video sources are whole frames in order (rtp/frame_gate.hpp
// before it). Pure: packets in, packets out; time passed in (a monotonic clock in ms).
#pragma once

#include "rtp/keyframe.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace chorus::rtp {

class spliced_stream {
public:
  static constexpr int64_t video_filler_interval_ms = 200;
  static constexpr int64_t audio_fill_lag_ms = 100;
  static constexpr uint32_t opus_frame_samples = 960; // the silent frames' 20 ms

  struct config {
    uint32_t ssrc = 0;
    uint8_t payload_type = 0;
    uint32_t clock_rate = 90000;
    payload_codec codec = payload_codec::vp8; // opus: audio; vp8 or h264: video
  };
  struct counters {
    uint64_t packets = 0;     // sources' packets sent on
    uint64_t switches = 0;    // sources taken
    uint64_t dropped = 0;     // packets of sources not (or not yet) taken
    uint64_t filler = 0;      // filler frames (video) or silent frames (audio) sent
  };

  explicit spliced_stream(config c);

  // The source to follow from now on (a caller's key; 0: none). Audio takes it at its next
  // packet; video at its next keyframe. Video with 0: the filler at once.
  void follow(uint64_t source) noexcept;
  uint64_t following() const noexcept { return wanted_; }
  // The source whose packets go out now (0: the filler, or silence).
  uint64_t feeding() const noexcept { return current_; }
  // Video: a source to take has sent no keyframe yet (ask it for one).
  bool waiting_for_keyframe() const noexcept { return video_ && wanted_ != 0 && wanted_ != current_; }
  const counters& stats() const noexcept { return counters_; }

  // A packet of `source` (a whole RTP packet): out (rewritten) when `source` feeds the
  // stream or takes it with this packet; else dropped.
  template <class F>
  void push(uint64_t source, std::span<const uint8_t> packet, int64_t now_ms, F&& out) {
    if (rewrite(source, packet, now_ms))
      out(std::span<const uint8_t>(scratch_));
  }

  // Called on every tick: the filler or the silence that is due, each packet to `out`.
  template <class F>
  void tick(int64_t now_ms, F&& out) {
    while (next_filler(now_ms))
      out(std::span<const uint8_t>(scratch_));
  }

private:
  // The stream's clock at `now_ms` (its first packet fixes where it starts).
  uint32_t clock_at(int64_t now_ms) noexcept;
  // Into scratch_: the packet rewritten; false when it does not go out.
  bool rewrite(uint64_t source, std::span<const uint8_t> packet, int64_t now_ms);
  // Into scratch_: the next filler packet due at `now_ms`; false when none is.
  bool next_filler(int64_t now_ms);
  void header(uint32_t timestamp, bool marker);
  // Notes what went out (`duration`: audio, the packet's samples).
  void sent(uint32_t timestamp, uint32_t duration) noexcept;

  config config_;
  bool video_;
  std::vector<std::vector<uint8_t>> filler_; // video: the filler frame's payloads
  uint64_t wanted_ = 0, current_ = 0;
  bool rebase_ = false;          // the next packet of current_ sets the offset
  uint32_t offset_ = 0;          // added to current_'s timestamps
  uint32_t source_ts_ = 0;       // the last frame's timestamp as the source sent it
  bool started_ = false;         // the stream's clock is fixed
  int64_t start_ms_ = 0;
  uint32_t start_ts_ = 0;
  bool sent_any_ = false;
  uint32_t last_ts_ = 0;         // the last timestamp sent
  uint32_t next_ts_ = 0;         // audio: where the last packet's sound ends
  uint16_t seq_ = 0;
  int64_t filler_due_ms_ = 0;    // video: when the next filler frame goes
  std::size_t filler_part_ = 0;  // video: the filler frame's next packet
  uint32_t filler_ts_ = 0;
  std::vector<uint8_t> scratch_;
  counters counters_;
};

} // namespace chorus::rtp
