#include "bench/client/rtp_packet.hpp"

#include <cstring>

namespace chorus::client {

namespace {
constexpr uint8_t version_2 = 0x80; // V=2, P=0, X=0, CC=0
constexpr uint8_t marker_bit = 0x80;
constexpr uint8_t payload_type_mask = 0x7f;
} // namespace

std::size_t write_rtp(std::span<uint8_t> out, const rtp_header_fields& h,
                      std::span<const uint8_t> payload) noexcept {
  const std::size_t size = rtp_header_size + payload.size();
  if (out.size() < size || h.payload_type > payload_type_mask)
    return 0;
  uint8_t* p = out.data();
  p[0] = version_2;
  p[1] = static_cast<uint8_t>((h.marker ? marker_bit : 0) | h.payload_type);
  p[2] = static_cast<uint8_t>(h.sequence >> 8);
  p[3] = static_cast<uint8_t>(h.sequence);
  p[4] = static_cast<uint8_t>(h.timestamp >> 24);
  p[5] = static_cast<uint8_t>(h.timestamp >> 16);
  p[6] = static_cast<uint8_t>(h.timestamp >> 8);
  p[7] = static_cast<uint8_t>(h.timestamp);
  p[8] = static_cast<uint8_t>(h.ssrc >> 24);
  p[9] = static_cast<uint8_t>(h.ssrc >> 16);
  p[10] = static_cast<uint8_t>(h.ssrc >> 8);
  p[11] = static_cast<uint8_t>(h.ssrc);
  if (!payload.empty())
    std::memcpy(p + rtp_header_size, payload.data(), payload.size());
  return size;
}

bool read_rtp_header(std::span<const uint8_t> p, rtp_header_fields& out) noexcept {
  if (p.size() < rtp_header_size || (p[0] & 0xc0) != version_2)
    return false;
  out.marker = (p[1] & marker_bit) != 0;
  out.payload_type = p[1] & payload_type_mask;
  out.sequence = static_cast<uint16_t>((p[2] << 8) | p[3]);
  out.timestamp = (uint32_t{p[4]} << 24) | (uint32_t{p[5]} << 16) | (uint32_t{p[6]} << 8) | p[7];
  out.ssrc = (uint32_t{p[8]} << 24) | (uint32_t{p[9]} << 16) | (uint32_t{p[10]} << 8) | p[11];
  return true;
}

} // namespace chorus::client
