// RTCP feedback messages (RFC 4585 §6): generic NACK, PLI, FIR (RFC 5104), REMB
// (draft-alvestrand-rmcat-remb). Transport-cc feedback is in transport_cc.hpp.
//
// Common feedback packet format (RFC 4585 §6.1):
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |V=2|P|   FMT   |       PT      |          length               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                  SSRC of packet sender                        |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                  SSRC of media source                         |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  :            Feedback Control Information (FCI)                 :
#pragma once

#include "rtp/rtcp.hpp"

namespace chorus::rtp {

inline constexpr size_t rtcp_feedback_header_size = 12; // common header + two SSRCs

// FMT values.
inline constexpr uint8_t rtpfb_nack = 1;         // RFC 4585 §6.2.1
inline constexpr uint8_t rtpfb_transport_cc = 15; // draft-holmer-rmcat-transport-wide-cc
inline constexpr uint8_t psfb_pli = 1;           // RFC 4585 §6.3.1
inline constexpr uint8_t psfb_fir = 4;           // RFC 5104 §4.3.1
inline constexpr uint8_t psfb_afb = 15;          // RFC 4585 §6.4, REMB lives here

// The two SSRCs of a feedback packet, for dispatch before full parsing.
struct feedback_ssrcs {
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;
};
rtcp_result<feedback_ssrcs> parse_feedback_ssrcs(const rtcp_packet& p) noexcept;

// True for PSFB FMT=15 whose FCI starts with "REMB".
bool is_remb(const rtcp_packet& p) noexcept;

// Generic NACK (RFC 4585 §6.2.1), RTPFB FMT=1. Each FCI item:
//
//  |            PID                |             BLP               |
//
// PID is a lost sequence number; bit i of BLP (LSB = bit 0) reports PID + i + 1 lost.
struct nack_item {
  uint16_t pid = 0;
  uint16_t blp = 0;
  bool operator==(const nack_item&) const = default;
};

struct generic_nack {
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;
  std::vector<nack_item> items;

  static rtcp_result<generic_nack> parse(const rtcp_packet& p);
  // The lost sequence numbers in item order (PID, then BLP bits), wrapping 65535 -> 0.
  std::vector<uint16_t> lost_sequence_numbers() const;
  // Items from sequence numbers in sending order (modular 16-bit order, so 65534, 65535,
  // 0, 1 is one item). A number not within 16 after the current PID starts a new item.
  static generic_nack from_lost(uint32_t sender_ssrc, uint32_t media_ssrc,
                                std::span<const uint16_t> lost);
  size_t size() const noexcept { return rtcp_feedback_header_size + items.size() * 4; }
  rtcp_result<size_t> write(std::span<uint8_t> out) const noexcept;
  bool operator==(const generic_nack&) const = default;
};

// The per-packet path: NACK straight from lost sequence numbers, no allocation.
size_t nack_size(std::span<const uint16_t> lost) noexcept;
rtcp_result<size_t> write_nack(uint32_t sender_ssrc, uint32_t media_ssrc,
                               std::span<const uint16_t> lost, std::span<uint8_t> out) noexcept;

// Picture loss indication (RFC 4585 §6.3.1), PSFB FMT=1, no FCI.
struct picture_loss_indication {
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;

  static rtcp_result<picture_loss_indication> parse(const rtcp_packet& p) noexcept;
  size_t size() const noexcept { return rtcp_feedback_header_size; }
  rtcp_result<size_t> write(std::span<uint8_t> out) const noexcept;
  bool operator==(const picture_loss_indication&) const = default;
};

// Full intra request (RFC 5104 §4.3.1), PSFB FMT=4; media source SSRC is 0 and each FCI
// entry names the SSRC that should send a decoder refresh point:
//
//  |                              SSRC                             |
//  | Seq nr.       |    Reserved                                   |
struct fir_entry {
  uint32_t ssrc = 0;
  uint8_t seq_nr = 0; // incremented by the sender for each new request
  bool operator==(const fir_entry&) const = default;
};

struct full_intra_request {
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0; // 0 per RFC 5104
  std::vector<fir_entry> entries;

  static rtcp_result<full_intra_request> parse(const rtcp_packet& p);
  size_t size() const noexcept { return rtcp_feedback_header_size + entries.size() * 8; }
  rtcp_result<size_t> write(std::span<uint8_t> out) const noexcept;
  bool operator==(const full_intra_request&) const = default;
};

// Receiver estimated max bitrate (draft-alvestrand-rmcat-remb-03 §2.2), PSFB FMT=15:
//
//  |V=2|P| FMT=15  |   PT=206      |             length            |
//  |                  SSRC of packet sender                        |
//  |                  SSRC of media source (0)                     |
//  |  Unique identifier 'R' 'E' 'M' 'B'                            |
//  |  Num SSRC     | BR Exp    |  BR Mantissa                      |
//  |   SSRC feedback                                               |
//  |  ...                                                          |
//
// bitrate = mantissa (18 bits) << exp (6 bits), in bits per second.
struct remb {
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;
  uint64_t bitrate_bps = 0; // written rounded down to what exp/mantissa can express
  std::vector<uint32_t> ssrcs; // at most 255

  static rtcp_result<remb> parse(const rtcp_packet& p);
  size_t size() const noexcept { return rtcp_feedback_header_size + 8 + ssrcs.size() * 4; }
  rtcp_result<size_t> write(std::span<uint8_t> out) const noexcept;
  bool operator==(const remb&) const = default;
};

} // namespace chorus::rtp
