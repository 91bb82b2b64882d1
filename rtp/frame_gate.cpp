#include "rtp/frame_gate.hpp"

namespace chorus::rtp {

bool frame_gate::accept(uint16_t seq) {
  // Packets come in order (rtp/reorder_buffer.hpp): a repeat or a straggler is ignored;
  // one far behind is the stream started over there, a gap like any other.
  const auto behind = int16_t(seq - next_seq_);
  if (have_seq_ && behind < 0 && behind >= -int(old_window))
    return false;
  const bool gap = have_seq_ && seq != next_seq_;
  have_seq_ = true;
  next_seq_ = uint16_t(seq + 1);
  if (gap) {
    ++counters_.gaps;
    waiting_keyframe_ = true;
    if (open_)
      drop_open(); // it lost a packet: whatever comes next starts a new frame
  }
  return true;
}

void frame_gate::start(uint32_t timestamp, std::span<const uint8_t> payload) {
  open_ = true;
  timestamp_ = timestamp;
  // H264 has no start-of-frame mark: an IDR slice that is not the frame's first (after a
  // loss of the first) must not pass for a whole keyframe.
  keyframe_ = codec_ == payload_codec::h264 ? h264_keyframe_start(payload) : is_keyframe(codec_, payload);
  if (waiting_keyframe_ && keyframe_)
    waiting_keyframe_ = false;
  dropping_ = waiting_keyframe_;
}

void frame_gate::hold(std::span<const uint8_t> packet) {
  if (dropping_)
    return;
  if (held_.size() + packet.size() > max_frame_bytes) {
    dropping_ = true;
    held_.clear();
    held_ends_.clear();
    return;
  }
  held_.insert(held_.end(), packet.begin(), packet.end());
  held_ends_.push_back(held_.size());
}

void frame_gate::drop_open() noexcept {
  if (open_) {
    if (!dropped_any_ || timestamp_ != dropped_timestamp_) // the rest of one counted already
      ++counters_.dropped_frames;
    dropped_any_ = true;
    dropped_timestamp_ = timestamp_;
    waiting_keyframe_ = true; // later frames may refer to it
  }
  open_ = false;
  dropping_ = false;
  held_.clear();
  held_ends_.clear();
}

} // namespace chorus::rtp
