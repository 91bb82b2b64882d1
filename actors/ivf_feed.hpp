// One VP9 or AV1 producer's recording input (actors/media_recorder.hpp): Debian 12's FFmpeg
// reads VP9 over RTP only experimentally (it wrote empty files) and AV1 over RTP not at
// all, so Chorus depacketizes them itself. The recorder's consumer sends the producer's
// RTP to this feed's socket (actors/ordered_rtp_input.hpp). The recorder's tick pumps it:
// the datagrams that arrived become pictures (rtp/vp9_frames.hpp) or temporal units
// (rtp/av1_frames.hpp), and IVF on a pipe that is the ffmpeg child's stdin (`-f ivf -i
// pipe:0 -c copy`, to WebM or Matroska).
// A slow child is never waited for: what the pipe does not take is kept up to a bound, then
// new pictures are dropped and the stream restarts from a keyframe. Closing the pipe
// (end_input) ends the child's input: it writes its trailer and exits. No CAF here; the
// recorder owns it.
#pragma once

#include "actors/ordered_rtp_input.hpp"
#include "common/result.hpp"
#include "rtp/av1_frames.hpp"
#include "rtp/keyframe.hpp"
#include "rtp/vp9_frames.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace chorus::actors {

class ivf_feed {
public:
  // Opens the input and makes the pipe. `payload_type`: the payload type of the recorder's
  // consumer (others, RTX and RTCP, are ignored); `codec`: VP9 or AV1.
  static result<std::unique_ptr<ivf_feed>> open(uint8_t payload_type, rtp::payload_codec codec);
  ~ivf_feed();
  ivf_feed(const ivf_feed&) = delete;
  ivf_feed& operator=(const ivf_feed&) = delete;

  uint16_t port() const noexcept { return input_->port(); }
  // The pipe's read end, for the child's stdin; close_child_end() once it is forked.
  int child_stdin() const noexcept { return read_fd_; }
  void close_child_end() noexcept;

  struct pump_result {
    bool wants_keyframe = false; // a loss (or no keyframe yet): ask the producer
    bool pipe_broken = false;    // the child is gone (EPIPE)
  };
  // Reads every datagram waiting, in sequence order (ordered_rtp_input), depacketizes, and
  // writes what the pipe takes; after end_input, closes the pipe
  // once the child has taken everything. `now_ms`: a monotonic clock.
  pump_result pump(int64_t now_ms);
  // No more input: a last read, the socket closed; the pipe is closed (EOF to the child,
  // which then writes its trailer and exits) as soon as what is pending has been written,
  // here or by later pumps.
  void end_input(int64_t now_ms);
  bool input_ended() const noexcept { return ending_; }

  const rtp::reorder_buffer::counters& order_stats() const noexcept { return input_->stats(); }
  uint64_t dropped_bytes() const noexcept { return dropped_bytes_; }
  uint64_t written_bytes() const noexcept { return written_bytes_; }

private:
  explicit ivf_feed(rtp::payload_codec codec) : codec_(codec) {}
  void write_out();
  // What the assemblers hand out, either codec's.
  struct frame {
    uint32_t timestamp = 0;
    bool keyframe = false;
    uint16_t width = 0, height = 0;
    std::vector<uint8_t> data;
  };
  void depacketize(const rtp::rtp_packet& pkt);
  bool waiting_for_keyframe() const noexcept;

  int read_fd_ = -1, write_fd_ = -1;
  uint8_t payload_type_ = 0;
  std::unique_ptr<ordered_rtp_input> input_;
  rtp::payload_codec codec_;
  rtp::vp9_assembler vp9_;
  rtp::av1_assembler av1_;
  std::vector<rtp::vp9_assembler::picture> pictures_;
  std::vector<rtp::av1_assembler::temporal_unit> units_;
  std::vector<frame> frames_;
  bool header_written_ = false;
  uint32_t last_ts_ = 0;
  uint64_t pts_ = 0;            // unwrapped RTP timestamp since the first frame
  std::vector<uint8_t> pending_; // IVF bytes the pipe has not taken yet
  std::size_t pending_off_ = 0;
  uint64_t dropped_bytes_ = 0, written_bytes_ = 0;
  bool restart_ = false;        // dropped: the next keyframe starts over
  bool ending_ = false;         // end_input() called
};

} // namespace chorus::actors
