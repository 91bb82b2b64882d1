// The VP8 RTP payload descriptor (RFC 7741 section 4.2; layout in rtp/keyframe.hpp): parsing,
// in-place rewriting of its picture id and TL0PICIDX, and keeping those two continuous for a
// receiver while the forwarded source switches between simulcast encodings.
//
// Each simulcast encoding numbers its frames on its own (picture id, 7 or 15 bits) and its
// base-layer frames (TL0PICIDX, 8 bits). A receiver that sees the numbers jump when the SFU
// switches encodings takes the jump for lost frames (or, jumping back, for old frames), so
// vp8_continuity maps every source into one output space: out = in - offset (modulo the
// field), the offsets chosen at the first packet after a switch so that the output goes on
// at the highest output so far + 1.
//
// Pure code: no allocation, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace chorus::rtp {

struct vp8_descriptor {
  bool start_of_partition = false; // S
  uint8_t partition_index = 0;     // PID (0..7)
  bool non_reference = false;      // N
  bool has_picture_id = false;     // I
  bool picture_id_15bit = false;   // M
  uint16_t picture_id = 0;         // 7 or 15 bits
  bool has_tl0picidx = false;      // L
  uint8_t tl0picidx = 0;
  bool has_tid = false;            // T (tid and layer_sync are 0 without it)
  uint8_t tid = 0;
  bool layer_sync = false;         // Y
  bool has_keyidx = false;         // K
  uint8_t keyidx = 0;
  // start_of_frame and P = 0 in the VP8 payload header (false when no payload byte follows).
  bool keyframe = false;
  bool start_of_frame = false;     // S = 1 and PID = 0
  size_t size = 0;                 // descriptor length in bytes; the VP8 payload follows
};

// nullopt when the payload ends inside the descriptor. A complete descriptor with no VP8
// payload after it parses (keyframe false).
std::optional<vp8_descriptor> parse_vp8_descriptor(std::span<const uint8_t> payload) noexcept;

// Writes picture_id (when d has one; in the field's width: the low 7 bits with M = 0, or
// 15 bits with M = 1) and tl0picidx (when d has one) into the descriptor d was parsed from.
// False, and nothing written, when d has neither field, or the payload is shorter than d
// says or does not have the X bit d's fields need.
bool rewrite_vp8_descriptor(std::span<uint8_t> payload, const vp8_descriptor& d,
                            uint16_t picture_id, uint8_t tl0picidx) noexcept;

// Picture id / TL0PICIDX continuity for one outgoing stream (pure state, one per consumer).
//
// After construction or mark_switch(), the first packet that carries a picture id sets the
// picture id offset so that its output is the highest output so far + 1 (or its own value
// when nothing was output yet); the first packet that carries a TL0PICIDX does the same for
// that field. Every packet of the source is then rewritten with out = in - offset, so the
// packets of one frame (which share a picture id), retransmissions and duplicates all map
// to the same output. The highest output is tracked with serial-number arithmetic (15 bits:
// a is newer than b when (a - b) mod 2^15 is in 1..2^14-1; 7 bits and 8 bits alike), across
// the 32767 -> 0, 127 -> 0 and 255 -> 0 wraps. A source with 7-bit picture ids is mapped
// modulo 2^7 (the offset is taken modulo the packet's width, so switching between a 7-bit and
// a 15-bit source continues the low bits the receiver saw).
//
// The switch should happen at a keyframe of the new source (the first packet after
// mark_switch() starts its frame); an older frame of the new source fed after it would map
// below the switch point, onto numbers the old source already used.
class vp8_continuity {
public:
  // The next forwarded packet is from a new source (another encoding, or a restart).
  void mark_switch() noexcept {
    pid_pending_ = true;
    tl0_pending_ = true;
  }

  // Rewrites the descriptor at the start of an RTP payload in place. True when the packet
  // can be forwarded (rewritten, or without the fields: unchanged); false when the payload
  // does not parse as a VP8 descriptor (then it is unchanged).
  bool rewrite(std::span<uint8_t> payload) noexcept;

  // The offsets in force (those the last rewrite() applied), packed: bits 0-14 the picture
  // id offset, bits 16-23 the TL0PICIDX offset; 0 is "unchanged". Stored with a packet sent,
  // so that its retransmission after a later switch is rewritten as it was first sent.
  uint32_t tag() const noexcept { return uint32_t(pid_offset_) | (uint32_t(tl0_offset_) << 16); }
  // Rewrites with the offsets of a tag, without touching any state; same results as
  // rewrite().
  static bool apply_tag(std::span<uint8_t> payload, uint32_t tag) noexcept;

private:
  bool pid_pending_ = true; // the next picture id sets pid_offset_
  bool tl0_pending_ = true; // the next TL0PICIDX sets tl0_offset_
  bool have_pid_out_ = false;
  bool have_tl0_out_ = false;
  uint16_t pid_offset_ = 0;  // modulo 2^15 (taken modulo 2^7 for 7-bit ids)
  uint8_t tl0_offset_ = 0;   // modulo 2^8
  uint16_t high_pid_out_ = 0; // in the width of the packet that set it
  uint8_t high_tl0_out_ = 0;
};

} // namespace chorus::rtp
