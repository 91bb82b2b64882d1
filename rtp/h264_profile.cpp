// H264 profile-level-id decoding (RFC 6184 §8.1, ITU-T H.264 Annex A).
#include "rtp/h264_profile.hpp"

#include <array>
#include <charconv>
#include <system_error>

namespace chorus::rtp {

namespace {

struct profile_pattern {
  uint8_t profile_idc;
  uint8_t mask;  // bits of profile-iop that must equal `value` ('x' bits are 0 in the mask)
  uint8_t value;
  h264_profile profile;
};

constexpr std::array<profile_pattern, 9> profile_patterns{{
  {0x42, 0x4f, 0x40, h264_profile::constrained_baseline}, // x1xx0000
  {0x4d, 0x8f, 0x80, h264_profile::constrained_baseline}, // 1xxx0000
  {0x58, 0xcf, 0xc0, h264_profile::constrained_baseline}, // 11xx0000
  {0x42, 0x4f, 0x00, h264_profile::baseline},             // x0xx0000
  {0x58, 0xcf, 0x80, h264_profile::baseline},             // 10xx0000
  {0x4d, 0xaf, 0x00, h264_profile::main},                 // 0x0x0000
  {0x64, 0xff, 0x00, h264_profile::high},                 // 00000000
  {0x64, 0xff, 0x0c, h264_profile::constrained_high},     // 00001100
  {0xf4, 0xff, 0x00, h264_profile::predictive_high_444},  // 00000000
}};

// Levels of Table A-1 (level_idc; 9 is level 1b).
constexpr std::array<uint8_t, 17> levels{9,  10, 11, 12, 13, 20, 21, 22, 30,
                                         31, 32, 40, 41, 42, 50, 51, 52};

bool known_level(uint8_t level) noexcept {
  for (auto l : levels)
    if (l == level)
      return true;
  return false;
}

}  // namespace

std::optional<h264_profile_level> parse_h264_profile_level_id(std::string_view text) noexcept {
  if (text.size() != 6)
    return std::nullopt;
  uint32_t v = 0;
  const auto* last = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), last, v, 16);
  if (ec != std::errc{} || ptr != last)
    return std::nullopt;
  const auto idc = static_cast<uint8_t>(v >> 16);
  const auto iop = static_cast<uint8_t>(v >> 8);
  const auto level = static_cast<uint8_t>(v);
  if (!known_level(level))
    return std::nullopt;
  for (const auto& p : profile_patterns)
    if (p.profile_idc == idc && (iop & p.mask) == p.value)
      return h264_profile_level{p.profile, level};
  return std::nullopt;
}

}  // namespace chorus::rtp
