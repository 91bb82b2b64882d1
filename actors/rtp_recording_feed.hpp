// One producer's recording input for the codecs the ffmpeg child reads over RTP itself
// (VP8, H264, Opus; actors/media_recorder.hpp). The recorder's consumer sends to this feed's
// socket (actors/ordered_rtp_input.hpp: repairs put back in place), and the feed sends on to
// the child's port, renumbered so that the child sees no gap:
// - video: only whole frames that a decoder can use (rtp/frame_gate.hpp: after a loss
//   nothing until a keyframe). Handed the stream as it came, ffmpeg's own reordering gave up
//   on repairs after 100 ms, wrote frames with holes, and its VP8 reader then waited for a
//   keyframe that nobody asked for;
// - Opus: every packet, with silent frames where the sender sent nothing (DTX, a pause;
//   rtp/opus_gap_fill.hpp), so that the file's audio lasts as long as the recording.
// RTCP goes on as it came. What goes to the child leaves at most `datagrams_per_pump` at a
// time (a long gap's silence must not overflow the child's socket), and what is left at the
// end at once, before the child is stopped; beyond `max_queued_datagrams` waiting,
// datagrams are dropped and counted. The recorder's tick
// pumps it and asks the producer for a keyframe while the video gate waits for one. No CAF
// here; the recorder owns it.
#pragma once

#include "actors/ordered_rtp_input.hpp"
#include "common/result.hpp"
#include "rtp/frame_gate.hpp"
#include "rtp/opus_gap_fill.hpp"

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

namespace chorus::actors {

class rtp_recording_feed {
public:
  static constexpr std::size_t datagrams_per_pump = 256;
  static constexpr std::size_t max_queued_datagrams = 32768;

  // Opens the input and a socket towards the child's `child_port` on 127.0.0.1.
  // `payload_type` and `codec`: the recorder's consumer's (Opus: the gap filler; any other:
  // the video gate).
  static result<std::unique_ptr<rtp_recording_feed>> open(uint8_t payload_type, rtp::payload_codec codec,
                                                          uint16_t child_port);
  ~rtp_recording_feed();
  rtp_recording_feed(const rtp_recording_feed&) = delete;
  rtp_recording_feed& operator=(const rtp_recording_feed&) = delete;

  // Where the recorder's consumer sends.
  uint16_t port() const noexcept { return input_->port(); }
  // Reads what arrived and sends on what may pass; true while a keyframe is needed (video:
  // a loss, or none yet). With `ending`, what still waits for a repair is sent on as well.
  bool pump(int64_t now_ms, bool ending = false);

  const rtp::reorder_buffer::counters& order_stats() const noexcept { return input_->stats(); }
  uint64_t dropped_datagrams() const noexcept { return dropped_; }

private:
  explicit rtp_recording_feed(rtp::payload_codec codec);
  // Sends `datagram` on (with the gate's next sequence number when `renumber`), or queues it.
  void pass(std::span<const uint8_t> datagram, bool renumber);
  void send_now(std::span<const uint8_t> datagram) noexcept;
  // Sends from the queue until this pump has sent `budget` datagrams.
  void send_queued(std::size_t budget) noexcept;

  std::unique_ptr<ordered_rtp_input> input_;
  std::optional<rtp::frame_gate> gate_;     // video
  std::optional<rtp::opus_gap_fill> fill_;  // Opus
  int out_ = -1;                            // connected to the child's port
  uint16_t out_seq_ = 0;                    // the gate's renumbering (the filler has its own)
  std::deque<std::vector<uint8_t>> queue_;  // to the child, in order, beyond a pump's budget
  std::size_t sent_this_pump_ = 0;
  std::vector<uint8_t> scratch_;            // a renumbered packet on its way
  uint64_t dropped_ = 0;
};

} // namespace chorus::actors
