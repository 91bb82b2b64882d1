// One outgoing stream's Dependency Descriptor frame numbers across simulcast switches.
// A receiver (libwebrtc) unwraps the 16-bit frame numbers into frame ids and drops a frame
// whose id is not newer than the last it decoded; each encoding numbers its frames on its
// own, so after a switch the numbers must go on from those already sent:
// out = in + offset (mod 2^16), the offset set at the first packet after a switch so that
// its frame follows the newest frame sent. Pure state, one per simulcast consumer.
#pragma once

#include <cstdint>

namespace chorus::rtp {

class frame_number_continuity {
public:
  // The next packet starts another encoding.
  void restart() noexcept { restart_ = true; }

  // The number to send for a new packet whose descriptor says `in`.
  uint16_t on_packet(uint16_t in) noexcept {
    if (restart_ && started_)
      offset_ = uint16_t(newest_ + 1 - in);
    restart_ = false;
    const uint16_t out = uint16_t(in + offset_);
    if (!started_ || int16_t(uint16_t(out - newest_)) > 0)
      newest_ = out;
    started_ = true;
    return out;
  }

  // The offset in force: a retransmission is rewritten with the one its original had.
  uint16_t offset() const noexcept { return offset_; }

private:
  uint16_t offset_ = 0;
  uint16_t newest_ = 0;
  bool started_ = false;
  bool restart_ = false;
};

} // namespace chorus::rtp
