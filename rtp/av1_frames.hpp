// AV1 over RTP back into temporal units (the AOM "RTP Payload Format for AV1", v1.0): what
// the media recorder hands its ffmpeg child for an AV1 producer, since Debian 12's FFmpeg
// (5.1) has no AV1 RTP reader. Each temporal unit comes out in the low-overhead bitstream
// format that IVF and Matroska hold: a temporal delimiter, then every OBU with its size
// field. Pure: packets in, temporal units out.
//
// The aggregation header, the first byte of every payload:
//    0 1 2 3 4 5 6 7
//   +-+-+-+-+-+-+-+-+
//   |Z|Y| W |N|-|-|-|  Z: the first OBU element continues the previous packet's last;
//   +-+-+-+-+-+-+-+-+  Y: the last one continues in the next packet; W: the number of OBU
//                      elements (0: any, each after its LEB128 length; 1-3: all but the
//                      last after their lengths); N: the first packet of a coded video
//                      sequence (a keyframe with its sequence header).
// An OBU element is an OBU as the bitstream has it, usually without its size field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace chorus::rtp {

// OBU types (AV1 specification section 6.2.2).
enum class av1_obu : uint8_t {
  sequence_header = 1,
  temporal_delimiter = 2,
  frame_header = 3,
  tile_group = 4,
  metadata = 5,
  frame = 6,
  redundant_frame_header = 7,
  tile_list = 8,
  padding = 15,
};

// A LEB128 value at the start of `b` (at most 8 bytes): the value and the bytes it took.
std::optional<std::pair<uint64_t, std::size_t>> read_leb128(std::span<const uint8_t> b) noexcept;
void append_leb128(std::vector<uint8_t>& out, uint64_t v);

// Reassembles the temporal units of one AV1 RTP stream, packets given in sequence order (the
// recorder puts repaired packets back in place first: rtp/reorder_buffer.hpp). A temporal
// unit is complete when the marker bit ends it (or the next one's first packet arrives)
// with no sequence gap and no OBU left unfinished. After a loss (or before the first
// keyframe) units are dropped until a keyframe (N on its first packet, and a sequence
// header): a decoder could not use them, and the file must start with one.
class av1_assembler {
public:
  struct temporal_unit {
    uint32_t timestamp = 0;     // RTP
    bool keyframe = false;      // starts a coded video sequence, with its sequence header
    std::vector<uint8_t> data;  // temporal delimiter, then the OBUs with their sizes
  };
  struct counters {
    uint64_t packets = 0, malformed = 0, units = 0, keyframes = 0;
    uint64_t gaps = 0;           // sequence gaps seen
    uint64_t dropped_units = 0;  // incomplete, or waiting for a keyframe
  };
  // A temporal unit holds at most this much; beyond, it is dropped as a lost one would be.
  static constexpr std::size_t max_unit_bytes = 8 << 20;
  // A packet at most this far behind the last is a repeat or a straggler, ignored; further,
  // the stream started over, a gap like any other.
  static constexpr uint16_t old_window = 1024;

  // Feeds one packet: its sequence number, timestamp, marker bit and payload. Completed
  // temporal units are appended to `out`.
  void push(uint16_t seq, uint32_t timestamp, bool marker, std::span<const uint8_t> payload,
            std::vector<temporal_unit>& out);
  bool waiting_for_keyframe() const noexcept { return waiting_keyframe_; }
  const counters& stats() const noexcept { return counters_; }

private:
  void finish(std::vector<temporal_unit>& out);
  void discard() noexcept;
  // One whole OBU (header and payload, with or without its size field) into the unit.
  void add_obu(std::span<const uint8_t> obu);

  bool have_seq_ = false;
  uint16_t next_seq_ = 0;
  bool open_ = false;      // a temporal unit is being assembled
  bool broken_ = false;    // ... and lost a packet, or held something malformed
  uint32_t timestamp_ = 0;
  bool has_sequence_header_ = false;
  bool starts_sequence_ = false; // N on the unit's first packet
  std::vector<uint8_t> fragment_; // an OBU continued in the next packet (Y)
  bool in_fragment_ = false;
  std::vector<uint8_t> unit_;
  bool waiting_keyframe_ = true;
  counters counters_;
};

} // namespace chorus::rtp
