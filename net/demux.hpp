// RFC 7983 §7 demultiplexing of what arrives on a WebRTC transport's 5-tuple, by the
// first byte, and RFC 5761 §4 for telling RTCP from RTP (payload type 64..95 after the
// marker bit, i.e. RTCP packet types 192..223).
#pragma once

#include <cstdint>
#include <span>

namespace chorus::net {

enum class packet_kind : uint8_t { stun, dtls, rtp, rtcp, unknown };

constexpr packet_kind classify(std::span<const uint8_t> p) noexcept {
  if (p.empty())
    return packet_kind::unknown;
  const uint8_t b = p[0];
  if (b <= 3)
    return p.size() >= 20 ? packet_kind::stun : packet_kind::unknown;
  if (b >= 20 && b <= 63)
    return p.size() >= 13 ? packet_kind::dtls : packet_kind::unknown; // record header
  if (b >= 128 && b <= 191) {
    if (p.size() < 8)
      return packet_kind::unknown;
    const uint8_t pt = p[1] & 0x7f;
    if (pt >= 64 && pt <= 95)
      return packet_kind::rtcp;
    return p.size() >= 12 ? packet_kind::rtp : packet_kind::unknown;
  }
  return packet_kind::unknown;
}

} // namespace chorus::net
