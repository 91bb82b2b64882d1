// H264 profile-level-id (RFC 6184 §8.1): three bytes in hex, profile_idc, profile-iop
// (constraint flags) and level_idc. The profile is not simply profile_idc: the constraint
// flags of profile-iop decide (ITU-T H.264 Annex A), e.g. 42e0xx is constrained baseline
// while 4200xx is baseline, and 4de0xx is constrained baseline too. This is the pattern
// table libwebrtc (and mediasoup's h264-profile-level-id) use, so Chorus agrees with the
// browsers.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace chorus::rtp {

enum class h264_profile : uint8_t {
  constrained_baseline,
  baseline,
  main,
  constrained_high,
  high,
  predictive_high_444,
};

struct h264_profile_level {
  h264_profile profile;
  uint8_t level;  // level_idc, e.g. 31 for level 3.1 (9 for level 1b)

  friend bool operator==(const h264_profile_level&, const h264_profile_level&) = default;
};

// The profile and level of a profile-level-id text: exactly 6 hex digits (either case),
// whose profile_idc and profile-iop match a known profile pattern and whose level_idc is
// a level of Table A-1. nullopt otherwise.
std::optional<h264_profile_level> parse_h264_profile_level_id(std::string_view text) noexcept;

}  // namespace chorus::rtp
