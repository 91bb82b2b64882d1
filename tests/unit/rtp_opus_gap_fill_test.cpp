// opus_gap_fill: a recorded Opus stream kept continuous through DTX silences and pauses;
// opus_packet_samples: a packet's duration from its TOC byte (RFC 6716 section 3.1).
#include "rtp/opus_gap_fill.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

using chorus::rtp::opus_gap_fill;
using chorus::rtp::opus_packet_samples;

TEST_CASE("opus_packet_samples: table of TOC bytes") {
  struct row {
    const char* name;
    std::vector<uint8_t> payload;
    std::optional<uint32_t> samples;
  };
  const std::vector<row> rows = {
    {"SILK NB 10 ms, one frame (config 0, code 0)", {0x00, 0x11}, 480},
    {"SILK WB 20 ms (config 9): libwebrtc's voice", {0x48, 0x11}, 960},
    {"SILK 60 ms (config 3)", {0x18}, 2880},
    {"hybrid FB 20 ms (config 15)", {0x78, 0x11}, 960},
    {"CELT FB 2.5 ms (config 28)", {0xE0}, 120},
    {"CELT FB 20 ms (config 31): the silence frame", {0xF8, 0xFF, 0xFE}, 960},
    {"two frames of 20 ms, equal sizes (code 1)", {0x49, 0x11, 0x22}, 1920},
    {"two frames of 10 ms, different sizes (code 2)", {0x42, 0x01, 0x11, 0x22}, 960},
    {"code 3, three frames of 20 ms", {0x4B, 0x03, 0x11}, 2880},
    {"code 3 without its count byte", {0x4B}, std::nullopt},
    {"code 3 with no frame", {0x4B, 0x00}, std::nullopt},
    {"code 3 beyond 120 ms (seven frames of 20 ms)", {0x4B, 0x07}, std::nullopt},
    {"empty", {}, std::nullopt},
  };
  for (const auto& r : rows) {
    const std::string name = r.name;
    CAPTURE(name);
    CHECK(opus_packet_samples(r.payload) == r.samples);
  }
}

namespace {

// An RTP packet of payload type 111, SSRC 0x01020304, with a 20 ms SILK frame.
std::vector<uint8_t> packet(uint16_t seq, uint32_t ts, bool marker = false) {
  return {0x80, uint8_t((marker ? 0x80 : 0) | 111), uint8_t(seq >> 8), uint8_t(seq), uint8_t(ts >> 24),
          uint8_t(ts >> 16), uint8_t(ts >> 8), uint8_t(ts), 1, 2, 3, 4, 0x48, 0xAB, 0xCD};
}

struct out_packet {
  uint16_t seq;
  uint32_t ts;
  bool silence;
};

// Each packet arrives at the time its timestamp says (48 samples a millisecond), unless
// `now_ms` is given.
std::vector<out_packet> run(opus_gap_fill& f, const std::vector<std::vector<uint8_t>>& in, int64_t now_ms = -1) {
  std::vector<out_packet> out;
  for (const auto& p : in)
    f.push(p, 12, p.size() - 12, now_ms >= 0 ? now_ms : int64_t(uint32_t(p[4] << 24 | p[5] << 16 | p[6] << 8 | p[7]) / 48),
           [&](std::span<const uint8_t> b) {
      REQUIRE(b.size() >= 12);
      CHECK(b[8] == 1); // the stream's SSRC
      CHECK((b[1] & 0x7F) == 111);
      const bool silence = b.size() == 15 && b[12] == 0xF8 && b[13] == 0xFF && b[14] == 0xFE;
      out.push_back({uint16_t(b[2] << 8 | b[3]),
                     uint32_t(b[4]) << 24 | uint32_t(b[5]) << 16 | uint32_t(b[6]) << 8 | b[7], silence});
    });
  return out;
}

} // namespace

TEST_CASE("opus_gap_fill: a steady stream passes as it is, renumbered from 0") {
  opus_gap_fill f;
  const auto out = run(f, {packet(500, 1000), packet(501, 1960), packet(502, 2920)});
  REQUIRE(out.size() == 3);
  CHECK(out[0].seq == 0);
  CHECK(out[2].seq == 2);
  CHECK(out[2].ts == 2920);
  CHECK(f.stats().filled == 0);
}

TEST_CASE("opus_gap_fill: a DTX gap of 400 ms gets 19 silent frames, each 20 ms on") {
  opus_gap_fill f;
  // libwebrtc in DTX: a packet, then the next 400 ms (19200 samples) later.
  const auto out = run(f, {packet(7, 48000), packet(8, 48000 + 19200, true)});
  REQUIRE(out.size() == 21);
  CHECK_FALSE(out.front().silence);
  for (std::size_t i = 1; i < 20; ++i) {
    CAPTURE(i);
    CHECK(out[i].silence);
    CHECK(out[i].ts == 48000 + 960 * i);
    CHECK(out[i].seq == i);
  }
  CHECK_FALSE(out.back().silence);
  CHECK(out.back().seq == 20);
  CHECK(out.back().ts == 48000 + 19200);
  CHECK(f.stats().filled == 19);
  CHECK(f.stats().gaps == 1);
}

TEST_CASE("opus_gap_fill: less than a frame missing is left; a jump beyond the bound is left") {
  opus_gap_fill f;
  auto out = run(f, {packet(1, 0), packet(2, 960 + 500)});
  CHECK(out.size() == 2);
  out = run(f, {packet(3, 960 + 500 + 960 + opus_gap_fill::max_fill_samples + 960)});
  CHECK(out.size() == 1);
  CHECK(f.stats().unfilled == 1);
  CHECK(f.stats().filled == 0);
}

TEST_CASE("opus_gap_fill: a packet that is not RTP is dropped") {
  opus_gap_fill f;
  const std::vector<uint8_t> shorter(8, 0x80);
  int n = 0;
  f.push(shorter, 0, 0, 0, [&](std::span<const uint8_t>) { ++n; });
  CHECK(n == 0);
}

TEST_CASE("opus_gap_fill: a sender whose timestamps run ahead of real time gets no more silence than real time holds") {
  opus_gap_fill f;
  // 60 s of timestamps a packet, every 20 ms of real time: at most 20 ms + the slack each.
  std::vector<std::vector<uint8_t>> in;
  for (uint32_t i = 0; i < 5; ++i)
    in.push_back(packet(uint16_t(i), i * 48000 * 60));
  std::size_t total = 0;
  for (std::size_t i = 0; i < in.size(); ++i)
    total += run(f, {in[i]}, int64_t(i) * 20).size();
  const auto per_gap = (20 + opus_gap_fill::fill_slack_ms) * 48 / opus_gap_fill::silence_samples;
  CHECK(total <= in.size() + 4 * std::size_t(per_gap));
  CHECK(f.stats().unfilled == 4);
}

TEST_CASE("opus_gap_fill: timestamps that go back are followed and counted, nothing filled") {
  opus_gap_fill f;
  auto out = run(f, {packet(1, 96000), packet(2, 960)}, 0);
  CHECK(out.size() == 2);
  CHECK(f.stats().backward == 1);
  out = run(f, {packet(3, 1920)}, 20);
  CHECK(out.size() == 1); // in step again
}
