// RTP packet view (RFC 3550 §5.1) over a caller's mutable buffer, header extensions
// (RFC 8285), in-place rewriting for forwarding, and RTX wrapping (RFC 4588 §4).
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |V=2|P|X|  CC   |M|     PT      |       sequence number         |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                           timestamp                           |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |           synchronization source (SSRC) identifier            |
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//  |            contributing source (CSRC) identifiers             |
//  |                             ....                              |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |   defined by profile (0xBEDE / 0x100X)  |        length         |  (if X)
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                 header extension (length x 32 bits)           |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                 payload ...   | padding ... | padding count   |  (count if P)
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// RFC 8285 §4.2 one-byte elements (profile 0xBEDE):   |  ID   |  len  | data (len+1 bytes)
//   ID 0 is a padding byte, ID 15 stops parsing of the rest of the block.
// RFC 8285 §4.3 two-byte elements (profile 0x100X): |   ID (8)   |  length (8)  | data
//   ID 0 (one byte, value 0) is padding.
//
// Pure code: no allocation on the parse / rewrite path, explicit big-endian reads, a bounds
// check before every read. Bad media is reported as an rtp_error so the caller can count it.
#pragma once

#include "common/result.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

namespace chorus::rtp {

enum class rtp_error : uint8_t {
  truncated,     // fewer bytes than the header, CSRC list or extension block needs
  bad_version,   // V != 2
  bad_extension, // extension block length past the packet, or a malformed element
  bad_padding,   // P set with a padding count of 0 or larger than the payload
  no_space,      // the output buffer is too small
  bad_value,     // an argument out of range (e.g. RTX packet without the 2-byte OSN)
};

std::string_view to_string(rtp_error e) noexcept;

// A value or an rtp_error.
template <class T>
using rtp_result = value_or_error<T, rtp_error>;

// One immutable packet shared by every consumer that forwards or buffers it (the producer
// allocates it once; consumers only copy the handle).
using shared_packet = std::shared_ptr<const std::vector<uint8_t>>;
shared_packet make_shared_packet(std::span<const uint8_t> bytes);

inline constexpr size_t rtp_fixed_header_size = 12;

// The sequence number (bytes 2-3), timestamp (4-7) and SSRC (8-11) of an RTP packet of at least
// rtp_fixed_header_size bytes (RFC 3550 §5.1), read without parsing it: for a caller that
// has checked the size, or parsed these same bytes already.
inline uint16_t rtp_sequence_number_of(std::span<const uint8_t> p) noexcept {
  return static_cast<uint16_t>((p[2] << 8) | p[3]);
}
inline uint32_t rtp_timestamp_of(std::span<const uint8_t> p) noexcept {
  return (uint32_t(p[4]) << 24) | (uint32_t(p[5]) << 16) | (uint32_t(p[6]) << 8) | p[7];
}
inline uint32_t rtp_ssrc_of(std::span<const uint8_t> p) noexcept {
  return (uint32_t(p[8]) << 24) | (uint32_t(p[9]) << 16) | (uint32_t(p[10]) << 8) | p[11];
}
inline constexpr uint16_t one_byte_profile = 0xBEDE;
inline constexpr uint16_t two_byte_profile = 0x1000; // upper 12 bits; low 4 are appbits
inline constexpr uint16_t two_byte_profile_mask = 0xFFF0;

enum class extension_form : uint8_t { none, one_byte, two_byte, other };

// One header extension element (RFC 8285).
struct header_extension {
  uint8_t id = 0;
  std::span<const uint8_t> value;
};

// Extension id translation, e.g. router id -> consumer's id. 0 means "not mapped".
class extension_id_map {
public:
  void set(uint8_t from, uint8_t to) noexcept { to_[from] = to; }
  uint8_t get(uint8_t from) const noexcept { return to_[from]; }

private:
  std::array<uint8_t, 256> to_{};
};

// RFC 6464 client-to-mixer audio level (urn:ietf:params:rtp-hdrext:ssrc-audio-level):
// V flag (the sender's voice activity decision) and level in -dBov (0..127: 0 is the
// loudest, 0 dBov; 127 is -127 dBov or quieter, i.e. silence).
struct audio_level {
  bool voice = false;
  uint8_t level = 127;
  bool operator==(const audio_level&) const = default;
};

// The value of an ssrc-audio-level element (RFC 6464 §3, one byte in both RFC 8285
// forms: one-byte header with len field 0, two-byte header with length 1):
//    0 1 2 3 4 5 6 7
//   +-+-+-+-+-+-+-+-+
//   |V| level       |
//   +-+-+-+-+-+-+-+-+
// nullopt unless the value is exactly one byte (RFC 6464 §4: a two-byte length other than 1
// is not this extension; libwebrtc and mediasoup reject it as well).
std::optional<audio_level> parse_audio_level(std::span<const uint8_t> value) noexcept;

// Iterates over the elements of the packet's extension block; skips padding, stops at the
// end (or at ID 15 in the one-byte form).
class extension_iterator {
public:
  extension_iterator(extension_form form, std::span<const uint8_t> block) noexcept
      : form_(form), block_(block) {}
  // The next element, or nullopt at the end. A malformed element ends the iteration
  // (parse() already rejected packets whose block is malformed).
  std::optional<header_extension> next() noexcept;
  // Offset in the block of the element returned last (its first header byte).
  size_t last_offset() const noexcept { return last_; }
  // True when the iteration stopped at an element that runs past the block.
  bool malformed() const noexcept { return malformed_; }

private:
  extension_form form_;
  std::span<const uint8_t> block_;
  size_t pos_ = 0;
  size_t last_ = 0;
  bool malformed_ = false;
};

class rtp_packet {
public:
  // Validates the header, CSRC list, extension block (element lengths included) and padding.
  // The view keeps pointing into `buffer`: the buffer must outlive it.
  static rtp_result<rtp_packet> parse(std::span<uint8_t> buffer) noexcept;
  // The same without the padding: for a protected packet, whose padding count is the last
  // byte of the still-encrypted payload (SRTP unprotect). The payload runs to the end.
  static rtp_result<rtp_packet> parse_header(std::span<uint8_t> buffer) noexcept;

  bool marker() const noexcept { return (data_[1] & 0x80) != 0; }
  uint8_t payload_type() const noexcept { return data_[1] & 0x7F; }
  uint16_t sequence_number() const noexcept;
  uint32_t timestamp() const noexcept;
  uint32_t ssrc() const noexcept;
  uint8_t csrc_count() const noexcept { return data_[0] & 0x0F; }
  uint32_t csrc(size_t i) const noexcept; // i < csrc_count()
  bool has_padding() const noexcept { return padding_ > 0; }
  uint8_t padding_size() const noexcept { return padding_; }

  size_t size() const noexcept { return data_.size(); }
  size_t header_size() const noexcept { return header_size_; } // fixed + CSRC + extension
  std::span<const uint8_t> bytes() const noexcept { return data_; }
  std::span<const uint8_t> payload() const noexcept {
    return std::span<const uint8_t>(data_).subspan(header_size_, payload_size_);
  }

  // Header extensions.
  extension_form ext_form() const noexcept { return form_; }
  uint16_t ext_profile() const noexcept { return profile_; }
  extension_iterator extensions() const noexcept;
  std::optional<std::span<const uint8_t>> find_extension(uint8_t id) const noexcept;

  // Well-known extension values, read from the element with `id` (if any and well-sized).
  std::optional<uint32_t> abs_send_time(uint8_t id) const noexcept;  // 24-bit 6.18 fixed point
  std::optional<audio_level> audio_level_of(uint8_t id) const noexcept; // parse_audio_level
  std::optional<uint16_t> transport_wide_seq(uint8_t id) const noexcept;
  std::optional<std::string_view> mid(uint8_t id) const noexcept { return string_ext(id); }
  std::optional<std::string_view> rid(uint8_t id) const noexcept { return string_ext(id); }

  // In-place rewriting (same length; SRTP protection happens afterwards).
  void set_marker(bool m) noexcept;
  void set_payload_type(uint8_t pt) noexcept;
  void set_sequence_number(uint16_t seq) noexcept;
  void set_timestamp(uint32_t ts) noexcept;
  void set_ssrc(uint32_t ssrc) noexcept;
  // Writes the transport-wide sequence number into the existing 2-byte element `id`.
  // false when the packet has no such element (it is never added here).
  bool set_transport_wide_seq(uint8_t id, uint16_t seq) noexcept;
  // Writes a 24-bit abs-send-time (6.18 fixed point seconds) into the existing 3-byte
  // element `id`; false when there is none.
  bool set_abs_send_time(uint8_t id, uint32_t value24) noexcept;

  // The writable values of elements `id_a` and `id_b` (the first of each) in one walk of
  // the block; an empty span for one that is absent (or empty), or for id 0. A sender that
  // writes several per packet finds them once.
  struct extension_values {
    std::span<uint8_t> a, b;
  };
  extension_values find_extensions(uint8_t id_a, uint8_t id_b) noexcept;

  // Replaces the value of element `id` when `value` has its length (in place); otherwise
  // disables the element (zeroed: padding, as remap_extension_ids does). Returns
  // replaced, disabled, or absent. Used for the MID a consumer must carry (its own, not the
  // producer's: receivers demultiplex by it, RFC 8843 §15).
  enum class rewrite_result : uint8_t { replaced, disabled, absent };
  rewrite_result rewrite_extension(uint8_t id, std::span<const uint8_t> value) noexcept;

  // Rewrites every element id through `map`. Choice: elements whose id is not mapped (or
  // maps to an id the form cannot carry, > 14 in the one-byte form) are disabled in place by
  // overwriting the element, header and data, with zero bytes: RFC 8285 §4.2 / §4.3 define a
  // 0 byte as padding, so receivers skip them. The packet keeps its length (no memmove, no
  // reallocation, the payload does not move). Returns the number of elements disabled.
  size_t remap_extension_ids(const extension_id_map& map) noexcept;
  // The same, and in the same walk the writable values of the first elements whose id after
  // the remap is `id_a` / `id_b`: what find_extensions(id_a, id_b) gives after it. A
  // forwarder that remaps a packet and then writes its sending elements walks it once.
  size_t remap_extension_ids(const extension_id_map& map, uint8_t id_a, uint8_t id_b,
                             extension_values& found) noexcept;

  // The whole packet, writable (for callers that rewrite beyond the setters, e.g. SRTP).
  std::span<uint8_t> mutable_bytes() noexcept { return data_; }

private:
  rtp_packet() = default;
  std::optional<std::string_view> string_ext(uint8_t id) const noexcept;
  std::span<uint8_t> ext_block() const noexcept { return data_.subspan(ext_offset_, ext_size_); }

  std::span<uint8_t> data_;
  size_t header_size_ = 0;
  size_t payload_size_ = 0;
  size_t ext_offset_ = 0; // start of the element data (after profile + length)
  size_t ext_size_ = 0;
  uint16_t profile_ = 0;
  extension_form form_ = extension_form::none;
  uint8_t padding_ = 0;
};

// Adds element `id` with `value` at the end of the header extension block of the packet in
// buffer[0, size), moving the payload back: by the element rounded up to whole words, and
// by the block's own 4-byte header when the packet had none (it gets a one-byte block, or
// a two-byte one for an id over 14 or a value over 16 bytes). `buffer` holds the room
// (buffer.size() >= size + added_extension_bytes(...)). Returns the new size; 0, with the
// packet untouched, for a packet that does not parse, a block of another profile, an
// element its form cannot carry (id 0, 15 in the one-byte form, an empty value there), or
// too little room. Used to add what a receiver is told that the sender did not write.
size_t add_extension(std::span<uint8_t> buffer, size_t size, uint8_t id,
                     std::span<const uint8_t> value) noexcept;
// The most add_extension adds for a value of `value_size` bytes.
constexpr size_t added_extension_bytes(size_t value_size) noexcept {
  return 4 + (2 + value_size + 3) / 4 * 4;
}

// Write a transport-wide sequence number (2 bytes) or a 24-bit abs-send-time (3 bytes, 6.18
// fixed point seconds) into an element's value as rtp_packet::find_extensions gives it;
// false, writing nothing, for a value of another size (an absent element's is empty).
bool write_transport_wide_seq(std::span<uint8_t> value, uint16_t seq) noexcept;
bool write_abs_send_time(std::span<uint8_t> value, uint32_t value24) noexcept;

// RTX (RFC 4588 §4): the original header with the RTX payload type, SSRC and sequence
// number; payload = original sequence number (OSN, 16 bits) followed by the original
// payload. The original's padding is not carried.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                         RTP Header                            |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |            OSN                |                               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               |
//  |                  Original RTP Packet Payload                  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
struct rtx_params {
  uint8_t payload_type = 0;
  uint32_t ssrc = 0;
  uint16_t sequence_number = 0;
};

// Bytes write_rtx needs for `original`.
size_t rtx_size(const rtp_packet& original) noexcept;
// Writes the RTX packet into `out`; returns its size (no_space if out is too small).
rtp_result<size_t> write_rtx(const rtp_packet& original, const rtx_params& rtx,
                             std::span<uint8_t> out) noexcept;
// Turns an RTX packet back into the original in place: payload type, SSRC restored from
// the arguments, sequence number from the OSN, payload moved 2 bytes back, padding dropped.
// Returns the view over the (shorter) original packet, which starts at rtx's buffer.
rtp_result<rtp_packet> unwrap_rtx(rtp_packet rtx, uint8_t original_payload_type,
                                  uint32_t original_ssrc) noexcept;

} // namespace chorus::rtp
