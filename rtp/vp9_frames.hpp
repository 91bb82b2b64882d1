// VP9 over RTP back into frames (RFC 9628), and the IVF container they are written in: what
// the media recorder hands its ffmpeg child for a VP9 producer, since Debian 12's FFmpeg
// (5.1) reads VP9 over RTP only experimentally (and wrote empty files when tried). Pure:
// packets in, frames and bytes out.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace chorus::rtp {

// The VP9 payload descriptor (RFC 9628 section 4.2) at the start of an RTP payload.
struct vp9_descriptor {
  bool inter_picture = false;     // P: uses inter-picture prediction
  bool flexible = false;          // F
  bool begin = false;             // B: first packet of a layer frame
  bool end = false;               // E: last packet of a layer frame
  bool not_upper_reference = false; // Z
  std::optional<uint16_t> picture_id; // I (7 or 15 bits)
  bool layer_indices = false;     // L
  uint8_t temporal_id = 0, spatial_id = 0;
  bool switching_up = false, inter_layer = false; // U, D
  std::optional<uint8_t> tl0_pic_idx; // non-flexible mode with L
  std::vector<uint8_t> p_diffs;   // flexible mode with P: reference picture id differences
  // Scalability structure (V): resolutions of the spatial layers when given (Y).
  bool has_ss = false;
  uint8_t ss_spatial_layers = 0;
  std::vector<std::pair<uint16_t, uint16_t>> ss_resolutions;
  std::size_t size = 0;           // bytes of descriptor; the VP9 data follows
};

// nullopt for a truncated or inconsistent descriptor (or one with no VP9 data after it).
std::optional<vp9_descriptor> parse_vp9_descriptor(std::span<const uint8_t> payload) noexcept;

// From the uncompressed header of a VP9 frame (the bitstream, not the descriptor).
struct vp9_frame_info {
  uint8_t profile = 0;
  bool show_existing_frame = false;
  bool keyframe = false;
  uint16_t width = 0, height = 0; // keyframes only (0 otherwise)
};
std::optional<vp9_frame_info> parse_vp9_frame_header(std::span<const uint8_t> frame) noexcept;

// Several layer frames of one picture as one VP9 superframe (the frames, then the index of
// their sizes, Annex B of the VP9 bitstream specification); one frame is returned as is.
std::vector<uint8_t> vp9_superframe(const std::vector<std::vector<uint8_t>>& frames);

// Reassembles the pictures of one VP9 RTP stream, packets given in sequence order (the
// recorder puts repaired packets back in place first: rtp/reorder_buffer.hpp). A picture is complete when each
// of its layer frames ran from a B packet to an E packet with no sequence gap; it is
// handed out when the marker bit ends it or a packet of the next picture arrives. After a
// loss (or before the first keyframe) pictures are dropped until a keyframe: a decoder
// could not use them, and the file must start with a keyframe.
class vp9_assembler {
public:
  struct picture {
    uint32_t timestamp = 0;       // RTP
    bool keyframe = false;
    uint16_t width = 0, height = 0; // keyframes (from the bitstream, else the SS)
    std::vector<uint8_t> data;    // one frame or a superframe
  };
  struct counters {
    uint64_t packets = 0, malformed = 0, pictures = 0, keyframes = 0;
    uint64_t gaps = 0;            // sequence gaps seen
    uint64_t dropped_pictures = 0; // incomplete, or waiting for a keyframe
    uint64_t oversized = 0;        // more than max_picture_bytes or max_layer_frames
  };
  // One picture (all its layer frames) holds at most this much, in at most this many layer
  // frames (VP9 has 8 spatial layers); beyond, it is dropped as a lost one would be, and
  // nothing of it is kept until it ends: a sender that never closes a picture (no marker,
  // one timestamp) grows nothing here.
  static constexpr std::size_t max_picture_bytes = 8 << 20;
  // A packet at most this far behind the last is a repeat or a straggler, ignored; further,
  // the stream started over, a gap like any other.
  static constexpr uint16_t old_window = 1024;
  static constexpr std::size_t max_layer_frames = 8;

  // Feeds one packet: its sequence number, timestamp, marker bit and payload. Completed
  // pictures are appended to `out`.
  void push(uint16_t seq, uint32_t timestamp, bool marker, std::span<const uint8_t> payload,
            std::vector<picture>& out);
  // Hands out a picture still open (end of stream).
  void flush(std::vector<picture>& out);
  // True from a loss (or the start) until a keyframe has been handed out: ask the sender.
  bool waiting_for_keyframe() const noexcept { return waiting_keyframe_; }
  const counters& stats() const noexcept { return counters_; }

private:
  void finish(std::vector<picture>& out);
  void discard();
  void oversized();

  bool have_seq_ = false;
  uint16_t next_seq_ = 0;
  bool open_ = false;             // a picture is being assembled
  bool broken_ = false;           // ... and lost a packet
  bool in_layer_frame_ = false;   // between a B and an E packet
  uint32_t timestamp_ = 0;
  bool first_inter_ = true;       // the descriptor's P of the picture's first layer frame
  uint16_t ss_width_ = 0, ss_height_ = 0;
  std::vector<std::vector<uint8_t>> frames_;
  std::size_t picture_bytes_ = 0; // in frames_
  bool waiting_keyframe_ = true;
  counters counters_;
};

// IVF: a 32-byte file header, then per frame a 12-byte header (size, 64-bit pts) and the
// frame. `fourcc` e.g. "VP90"; the time base is 1/`rate` (90000 for RTP timestamps).
std::vector<uint8_t> ivf_file_header(const char (&fourcc)[5], uint16_t width, uint16_t height,
                                     uint32_t rate, uint32_t frame_count = 0);
void append_ivf_frame(std::vector<uint8_t>& out, std::span<const uint8_t> frame, uint64_t pts);

} // namespace chorus::rtp
