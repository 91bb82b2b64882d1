#include "rtp/opus_gap_fill.hpp"

namespace chorus::rtp {

std::optional<uint32_t> opus_packet_samples(std::span<const uint8_t> payload) noexcept {
  if (payload.empty())
    return std::nullopt;
  const uint8_t toc = payload[0];
  const unsigned config = toc >> 3;
  // Samples per frame at 48 kHz for each configuration (RFC 6716 table 2): SILK 10, 20,
  // 40, 60 ms; hybrid 10, 20 ms; CELT 2.5, 5, 10, 20 ms.
  uint32_t frame = 0;
  if (config < 12) {
    static constexpr uint32_t silk[4] = {480, 960, 1920, 2880};
    frame = silk[config % 4];
  } else if (config < 16) {
    frame = config % 2 == 0 ? 480 : 960;
  } else {
    static constexpr uint32_t celt[4] = {120, 240, 480, 960};
    frame = celt[config % 4];
  }
  uint32_t frames = 1;
  switch (toc & 0x03) {
    case 0: frames = 1; break;
    case 1:
    case 2: frames = 2; break;
    default:
      if (payload.size() < 2)
        return std::nullopt;
      frames = payload[1] & 0x3F;
      if (frames == 0)
        return std::nullopt;
  }
  const uint32_t samples = frame * frames;
  if (samples > 5760) // 120 ms: the most one packet may hold
    return std::nullopt;
  return samples;
}

} // namespace chorus::rtp
