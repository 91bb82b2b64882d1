// RFC 6464 ssrc-audio-level header extension read from whole RTP packets, in the RFC 8285
// one-byte and two-byte forms, and malformed or absent elements.
#include "rtp/rtp_packet.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

using namespace chorus::rtp;

namespace {

using bytes = std::vector<uint8_t>;

// V=2 X=1, PT=111 (Opus), seq 7, ts 960, SSRC 0x01020304, then `ext` (profile, length and
// elements, a whole number of 32-bit words) and two payload bytes.
bytes packet_with(const bytes& ext) {
  bytes b = {0x90, 0x6f, 0x00, 0x07, 0x00, 0x00, 0x03, 0xc0, 0x01, 0x02, 0x03, 0x04};
  b.insert(b.end(), ext.begin(), ext.end());
  b.push_back(0xaa);
  b.push_back(0xbb);
  return b;
}

} // namespace

TEST_CASE("audio level: the one-byte value (RFC 6464 §3)") {
  struct row {
    const char* name;
    uint8_t byte;
    audio_level expected;
  };
  const row rows[] = {
    {"voice at 0 dBov (loudest)", 0x80, {true, 0}},
    {"no voice, -127 dBov (silence)", 0x7f, {false, 127}},
    {"voice at -33 dBov", 0x80 | 33, {true, 33}},
    {"no voice at -60 dBov", 60, {false, 60}},
    {"voice flag with silence", 0xff, {true, 127}},
  };
  for (const auto& r : rows) {
    const std::string name = r.name;
    CAPTURE(name);
    const uint8_t v[] = {r.byte};
    CHECK(parse_audio_level(v) == r.expected);
  }
  CHECK_FALSE(parse_audio_level({}).has_value());
  const uint8_t two[] = {0x80, 0x00};
  CHECK_FALSE(parse_audio_level(two).has_value());
}

TEST_CASE("audio level: read from packets in both header forms") {
  struct row {
    const char* name;
    bytes ext;
    uint8_t id;
    std::optional<audio_level> expected;
  };
  const row rows[] = {
    // RFC 6464 §4 figure 1: one-byte header, ID, len=0, |V| level|, padding to a word.
    {"one-byte form, voice at -42 dBov",
     {0xbe, 0xde, 0x00, 0x01, 0x10, 0x80 | 42, 0x00, 0x00}, 1, audio_level{true, 42}},
    {"one-byte form, silence",
     {0xbe, 0xde, 0x00, 0x01, 0x30, 0x7f, 0x00, 0x00}, 3, audio_level{false, 127}},
    {"one-byte form after other elements (abs-send-time, then level)",
     {0xbe, 0xde, 0x00, 0x02, 0x22, 0x12, 0x34, 0x56, 0x00, 0x50, 0x80 | 20, 0x00}, 5,
     audio_level{true, 20}},
    // RFC 6464 §4 figure 2: two-byte header, ID, length=1, |V| level|, padding.
    {"two-byte form, voice at -10 dBov",
     {0x10, 0x00, 0x00, 0x01, 0x01, 0x01, 0x80 | 10, 0x00}, 1, audio_level{true, 10}},
    {"two-byte form, id above 14",
     {0x10, 0x00, 0x00, 0x01, 0x40, 0x01, 0x55, 0x00}, 64, audio_level{false, 0x55}},
    {"id absent", {0xbe, 0xde, 0x00, 0x01, 0x10, 0x80, 0x00, 0x00}, 2, std::nullopt},
    {"id 0 is never an element", {0xbe, 0xde, 0x00, 0x01, 0x10, 0x80, 0x00, 0x00}, 0,
     std::nullopt},
    {"two-byte form, length 0", {0x10, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00}, 1,
     std::nullopt},
    {"one-byte form, two data bytes (len field 1)",
     {0xbe, 0xde, 0x00, 0x01, 0x11, 0x80, 0x05, 0x00}, 1, std::nullopt},
    {"two-byte form, length 2", {0x10, 0x00, 0x00, 0x01, 0x01, 0x02, 0x80, 0x05}, 1,
     std::nullopt},
    {"one-byte form, the element after ID 15 is not read",
     {0xbe, 0xde, 0x00, 0x01, 0xf0, 0x10, 0x80, 0x00}, 1, std::nullopt},
    {"unknown profile", {0x12, 0x34, 0x00, 0x01, 0x10, 0x80, 0x00, 0x00}, 1, std::nullopt},
  };
  for (const auto& r : rows) {
    const std::string name = r.name;
    CAPTURE(name);
    bytes b = packet_with(r.ext);
    auto p = rtp_packet::parse(b);
    REQUIRE(p.ok());
    CHECK(p->audio_level_of(r.id) == r.expected);
    CHECK(p->payload().size() == 2);
  }

  bytes none = {0x80, 0x6f, 0x00, 0x07, 0x00, 0x00, 0x03, 0xc0, 0x01, 0x02, 0x03, 0x04, 0xaa};
  auto p = rtp_packet::parse(none);
  REQUIRE(p.ok());
  CHECK_FALSE(p->audio_level_of(1).has_value()); // no extension block at all
}

TEST_CASE("audio level: truncated extension blocks are refused by parse") {
  struct row {
    const char* name;
    bytes b;
  };
  const row rows[] = {
    {"one-byte element runs past the block",
     {0x90, 0x6f, 0x00, 0x07, 0x00, 0x00, 0x03, 0xc0, 0x01, 0x02, 0x03, 0x04, // header
      0xbe, 0xde, 0x00, 0x01, 0x00, 0x00, 0x00, 0x13}},                        // id 1 len 4
    {"two-byte element runs past the block",
     {0x90, 0x6f, 0x00, 0x07, 0x00, 0x00, 0x03, 0xc0, 0x01, 0x02, 0x03, 0x04,
      0x10, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x05}},
    {"two-byte element header cut in half",
     {0x90, 0x6f, 0x00, 0x07, 0x00, 0x00, 0x03, 0xc0, 0x01, 0x02, 0x03, 0x04,
      0x10, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01}},
  };
  for (const auto& r : rows) {
    const std::string name = r.name;
    CAPTURE(name);
    bytes b = r.b;
    CHECK(rtp_packet::parse(b).error() == rtp_error::bad_extension);
  }
  // The block's length word promises more than the packet holds.
  bytes cut = {0x90, 0x6f, 0x00, 0x07, 0x00, 0x00, 0x03, 0xc0, 0x01, 0x02, 0x03, 0x04,
               0xbe, 0xde, 0x00, 0x02, 0x10, 0x80, 0x00, 0x00};
  CHECK(rtp_packet::parse(cut).error() == rtp_error::bad_extension);
  // The block header itself is cut.
  bytes head = {0x90, 0x6f, 0x00, 0x07, 0x00, 0x00, 0x03, 0xc0, 0x01, 0x02, 0x03, 0x04,
                0xbe, 0xde};
  CHECK(rtp_packet::parse(head).error() == rtp_error::truncated);
}
