// H264 profile-level-id decoding (RFC 6184 §8.1, ITU-T H.264 Annex A profile patterns).
#include "rtp/h264_profile.hpp"

#include <doctest/doctest.h>

#include <optional>

using namespace chorus::rtp;

namespace {

struct row {
  const char* name;
  const char* text;
  std::optional<h264_profile_level> expected;
};

constexpr auto cb = h264_profile::constrained_baseline;
constexpr auto base = h264_profile::baseline;
constexpr auto main_p = h264_profile::main;
constexpr auto high = h264_profile::high;
constexpr auto chigh = h264_profile::constrained_high;
constexpr auto p444 = h264_profile::predictive_high_444;

const row rows[] = {
  // one valid case for every pattern row
  {"constrained baseline 42 x1xx0000", "42e01f", h264_profile_level{cb, 31}},
  {"constrained baseline 42 x1xx0000, constraint_set0 clear", "42401f",
   h264_profile_level{cb, 31}},
  {"constrained baseline 4d 1xxx0000", "4d8028", h264_profile_level{cb, 40}},
  {"constrained baseline 58 11xx0000", "58c01e", h264_profile_level{cb, 30}},
  {"baseline 42 x0xx0000", "42001f", h264_profile_level{base, 31}},
  {"baseline 42 x0xx0000, constraint_set0 set", "42a00a", h264_profile_level{base, 10}},
  {"baseline 58 10xx0000", "58a014", h264_profile_level{base, 20}},
  {"main 4d 0x0x0000", "4d001f", h264_profile_level{main_p, 31}},
  {"main 4d 0x0x0000, constraint_set1 set", "4d4033", h264_profile_level{main_p, 51}},
  {"high 64 00000000", "640032", h264_profile_level{high, 50}},
  {"constrained high 64 00001100", "640c1f", h264_profile_level{chigh, 31}},
  {"predictive high 4:4:4 f4 00000000", "f40034", h264_profile_level{p444, 52}},
  // case-insensitive hex
  {"upper case hex", "42E01F", h264_profile_level{cb, 31}},
  {"mixed case hex", "F4001e", h264_profile_level{p444, 30}},
  // every level of Table A-1's ends
  {"level 1b (9)", "42e009", h264_profile_level{cb, 9}},
  {"level 5.2", "640c34", h264_profile_level{chigh, 52}},
  // invalid hex
  {"non-hex digit", "42e0g1", std::nullopt},
  {"0x prefix", "0x42e0", std::nullopt},
  {"sign", "-42e01", std::nullopt},
  {"plus sign", "+42e01", std::nullopt},
  {"space", "42e01 ", std::nullopt},
  {"leading space", " 42e01", std::nullopt},
  // wrong length
  {"empty", "", std::nullopt},
  {"five digits", "42e01", std::nullopt},
  {"seven digits", "42e01f0", std::nullopt},
  {"eight digits", "0042e01f", std::nullopt},
  // unknown pattern
  {"unknown profile_idc 6e (high 10)", "6e001f", std::nullopt},
  {"unknown profile_idc 00", "00001f", std::nullopt},
  {"42 with reserved bits set", "42e11f", std::nullopt},
  {"4d with constraint_set2 set, set0 clear", "4d201f", std::nullopt},
  {"58 with constraint_set0 clear", "58401e", std::nullopt},
  {"64 with other flags", "64081f", std::nullopt},
  {"f4 with flags", "f4101f", std::nullopt},
  // bad level
  {"level 0", "42e000", std::nullopt},
  {"level 14", "42e00e", std::nullopt},
  {"level 53", "640035", std::nullopt},
  {"level 60 (6.0, not in the table)", "64003c", std::nullopt},
  {"level ff", "42e0ff", std::nullopt},
};

}  // namespace

TEST_CASE("parse_h264_profile_level_id: table") {
  for (const auto& r : rows) {
    CAPTURE(r.name);
    CAPTURE(r.text);
    const auto got = parse_h264_profile_level_id(r.text);
    REQUIRE(got.has_value() == r.expected.has_value());
    if (got) {
      CHECK(static_cast<int>(got->profile) == static_cast<int>(r.expected->profile));
      CHECK(static_cast<int>(got->level) == static_cast<int>(r.expected->level));
    }
  }
}
