// One VP9 producer's recording input (actors/media_recorder.hpp): Debian 12's FFmpeg reads
// VP9 over RTP only experimentally (it wrote empty files), so Chorus depacketizes it
// itself. The recorder's consumer sends the producer's RTP, as for every other codec, to a
// loopback port; for VP9 that port is this feed's socket instead of ffmpeg's. The
// recorder's tick pumps it: the datagrams that arrived become pictures (rtp/vp9_frames.hpp)
// and IVF on a pipe that is the ffmpeg child's stdin (`-f ivf -i pipe:0 -c copy -f webm`).
// A slow child is never waited for: what the pipe does not take is kept up to a bound, then
// new pictures are dropped and the stream restarts from a keyframe. Closing the pipe
// (end_input) ends the child's input: it writes its trailer and exits. No CAF here; the
// recorder owns it.
#pragma once

#include "common/result.hpp"
#include "actors/ordered_rtp_input.hpp"
#include "rtp/vp9_frames.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace chorus::actors {

class vp9_ivf_feed {
public:
  // Opens the input (actors/ordered_rtp_input.hpp) and makes the pipe. `payload_type`: the
  // VP9 payload type of the recorder's consumer (others, RTX and RTCP, are ignored).
  static result<std::unique_ptr<vp9_ivf_feed>> open(uint8_t payload_type);
  ~vp9_ivf_feed();
  vp9_ivf_feed(const vp9_ivf_feed&) = delete;
  vp9_ivf_feed& operator=(const vp9_ivf_feed&) = delete;

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

  const rtp::vp9_assembler::counters& stats() const noexcept { return assembler_.stats(); }
  const rtp::reorder_buffer::counters& order_stats() const noexcept { return input_->stats(); }
  uint64_t dropped_bytes() const noexcept { return dropped_bytes_; }
  uint64_t written_bytes() const noexcept { return written_bytes_; }

private:
  vp9_ivf_feed() = default;
  void write_out();

  int read_fd_ = -1, write_fd_ = -1;
  uint8_t payload_type_ = 0;
  std::unique_ptr<ordered_rtp_input> input_;
  rtp::vp9_assembler assembler_;
  std::vector<rtp::vp9_assembler::picture> pictures_;
  bool header_written_ = false;
  uint32_t last_ts_ = 0;
  uint64_t pts_ = 0;            // unwrapped RTP timestamp since the first picture
  std::vector<uint8_t> pending_; // IVF bytes the pipe has not taken yet
  std::size_t pending_off_ = 0;
  uint64_t dropped_bytes_ = 0, written_bytes_ = 0;
  bool restart_ = false;        // dropped: the next keyframe starts over
  bool ending_ = false;         // end_input() called
};

} // namespace chorus::actors
