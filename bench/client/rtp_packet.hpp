// Plain RTP packets (RFC 3550 §5.1) for the client side: a fixed header without CSRCs or
// extensions, then the payload. Enough for probes and synthetic media; the load generator
// adds header extensions on top of this later.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace chorus::client {

//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |V=2|P|X|  CC   |M|     PT      |       sequence number         |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                           timestamp                           |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |           synchronization source (SSRC) identifier            |
// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
inline constexpr std::size_t rtp_header_size = 12;

struct rtp_header_fields {
  uint8_t payload_type = 0; // 0..127
  bool marker = false;
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
};

// Writes header + payload into `out`; returns the packet length, or 0 when `out` is too
// small or the payload type is out of range.
std::size_t write_rtp(std::span<uint8_t> out, const rtp_header_fields& h,
                      std::span<const uint8_t> payload) noexcept;

// Reads the fixed header of an RTP packet (version 2, at least 12 bytes); false otherwise.
bool read_rtp_header(std::span<const uint8_t> packet, rtp_header_fields& out) noexcept;

} // namespace chorus::client
