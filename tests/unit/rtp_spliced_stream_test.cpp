// rtp/spliced_stream: one continuous stream out of successive sources, as the live
// composer's FFmpeg reads it: the stream's own SSRC, payload type and sequence numbers; a
// video source taken at its keyframe; the filler and the silence while nobody feeds it.
#include "rtp/spliced_stream.hpp"
#include "rtp/rtcp_bytes.hpp"
#include "rtp/video_filler.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace chorus::rtp;

namespace {

struct out_packet {
  uint16_t seq;
  uint32_t ts;
  uint32_t ssrc;
  uint8_t pt;
  bool marker;
  std::vector<uint8_t> payload;
};

struct sink {
  std::vector<out_packet> got;
  void operator()(std::span<const uint8_t> p) {
    got.push_back({rtcp_bytes::get16(p, 2), rtcp_bytes::get32(p, 4), rtcp_bytes::get32(p, 8),
                   uint8_t(p[1] & 0x7F), (p[1] & 0x80) != 0,
                   std::vector<uint8_t>(p.begin() + 12, p.end())});
  }
};

std::vector<uint8_t> packet(uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc, bool marker,
                            std::vector<uint8_t> payload) {
  std::vector<uint8_t> p(12, 0);
  p[0] = 0x80;
  p[1] = uint8_t((marker ? 0x80 : 0) | pt);
  rtcp_bytes::put16(p, 2, seq);
  rtcp_bytes::put32(p, 4, ts);
  rtcp_bytes::put32(p, 8, ssrc);
  p.insert(p.end(), payload.begin(), payload.end());
  return p;
}

// VP8 payloads (RFC 7741): a descriptor with S set, then the frame's first byte (P = 0: key).
const std::vector<uint8_t> vp8_key = {0x10, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a};
const std::vector<uint8_t> vp8_delta = {0x10, 0x11, 0x02, 0x00};
// Opus: TOC config 31 (CELT 20 ms), one frame.
const std::vector<uint8_t> opus_20ms = {0xF8, 0x01, 0x02};

spliced_stream video_stream() {
  return spliced_stream({0x1111, 96, 90000, payload_codec::vp8});
}
spliced_stream audio_stream() {
  return spliced_stream({0x2222, 100, 48000, payload_codec::opus});
}

bool continuous(const std::vector<out_packet>& got) {
  for (std::size_t i = 1; i < got.size(); ++i)
    if (uint16_t(got[i].seq - got[i - 1].seq) != 1)
      return false;
  return true;
}

} // namespace

TEST_CASE("spliced stream: the video filler goes out every 200 ms while no source feeds it") {
  auto s = video_stream();
  sink out;
  s.tick(1000, out);
  s.tick(1100, out);
  s.tick(1200, out);
  s.tick(1399, out);
  s.tick(1400, out);
  REQUIRE(out.got.size() == 3);
  CHECK(out.got[0].payload == video_filler_payloads(payload_codec::vp8)[0]);
  CHECK(out.got[0].marker);
  CHECK(out.got[0].ssrc == 0x1111);
  CHECK(out.got[0].pt == 96);
  CHECK(out.got[1].ts - out.got[0].ts == 200 * 90); // 200 ms on the 90 kHz clock
  CHECK(out.got[2].ts - out.got[1].ts == 200 * 90);
  CHECK(continuous(out.got));
  CHECK(s.stats().filler == 3);
}

TEST_CASE("spliced stream: the H264 filler is SPS, PPS and IDR at one timestamp, the marker on the last") {
  spliced_stream s({0x3333, 102, 90000, payload_codec::h264});
  sink out;
  s.tick(0, out);
  REQUIRE(out.got.size() == 3);
  CHECK((out.got[0].payload[0] & 0x1F) == 7);
  CHECK((out.got[1].payload[0] & 0x1F) == 8);
  CHECK((out.got[2].payload[0] & 0x1F) == 5);
  CHECK(out.got[0].ts == out.got[2].ts);
  CHECK_FALSE(out.got[0].marker);
  CHECK(out.got[2].marker);
}

TEST_CASE("spliced stream: a video source is taken at its keyframe, the filler stops, timestamps keep the source's spacing") {
  auto s = video_stream();
  sink out;
  s.tick(0, out); // the filler
  s.follow(7);
  CHECK(s.waiting_for_keyframe());
  s.push(7, packet(101, 500, 1000, 0xAAAA, true, vp8_delta), 50, out); // not a keyframe: dropped
  CHECK(out.got.size() == 1);
  s.push(7, packet(101, 501, 4000, 0xAAAA, true, vp8_key), 100, out);
  CHECK_FALSE(s.waiting_for_keyframe());
  CHECK(s.feeding() == 7);
  s.push(7, packet(101, 502, 7000, 0xAAAA, true, vp8_delta), 133, out);
  s.tick(400, out); // fed: no filler
  REQUIRE(out.got.size() == 3);
  CHECK(out.got[1].ts - out.got[0].ts == 100 * 90); // taken at 100 ms
  CHECK(out.got[2].ts - out.got[1].ts == 3000);     // the source's own spacing
  CHECK(out.got[1].ssrc == 0x1111);
  CHECK(out.got[1].pt == 96);
  CHECK(continuous(out.got));
  CHECK(s.stats().dropped == 1);
  CHECK(s.stats().switches == 1);
}

TEST_CASE("spliced stream: switching video sources, the first goes on until the second's keyframe") {
  auto s = video_stream();
  sink out;
  s.follow(1);
  s.push(1, packet(101, 10, 90000, 0xA, true, vp8_key), 0, out);
  s.follow(2);
  s.push(1, packet(101, 11, 93000, 0xA, true, vp8_delta), 33, out);   // still 1's
  s.push(2, packet(101, 900, 5, 0xB, true, vp8_delta), 40, out);      // 2's delta: dropped
  s.push(2, packet(101, 901, 3005, 0xB, true, vp8_key), 66, out);     // 2 takes over
  s.push(1, packet(101, 12, 96000, 0xA, true, vp8_delta), 67, out);   // 1 no more
  REQUIRE(out.got.size() == 3);
  CHECK(out.got[0].payload == vp8_key);
  CHECK(out.got[2].payload == vp8_key);
  CHECK(out.got[2].ts - out.got[0].ts == 66 * 90);
  CHECK(int32_t(out.got[2].ts - out.got[1].ts) > 0);
  CHECK(continuous(out.got));
  CHECK(s.stats().dropped == 2);
}

TEST_CASE("spliced stream: video back to the filler at once when followed source is 0") {
  auto s = video_stream();
  sink out;
  s.follow(1);
  s.push(1, packet(101, 10, 90000, 0xA, true, vp8_key), 0, out);
  s.follow(0);
  CHECK(s.feeding() == 0);
  s.tick(10, out);
  REQUIRE(out.got.size() == 2);
  CHECK(out.got[1].payload == video_filler_payloads(payload_codec::vp8)[0]);
  CHECK(int32_t(out.got[1].ts - out.got[0].ts) > 0);
}

TEST_CASE("spliced stream: audio silence fills up to 100 ms behind now, a source is taken at once and never overlaps") {
  auto s = audio_stream();
  sink out;
  s.tick(1000, out); // the clock starts: one frame's room before the lag
  s.tick(1300, out);
  const auto silent = out.got.size();
  CHECK(silent >= 10); // 200 ms and more of 20 ms frames
  for (const auto& p : out.got)
    CHECK(p.payload == std::vector<uint8_t>{0xF8, 0xFF, 0xFE});
  for (std::size_t i = 1; i < out.got.size(); ++i)
    CHECK(out.got[i].ts - out.got[i - 1].ts == 960);
  s.follow(5);
  s.push(5, packet(111, 40, 123456, 0xC, false, opus_20ms), 1300, out);
  s.push(5, packet(111, 41, 123456 + 960, 0xC, false, opus_20ms), 1320, out);
  REQUIRE(out.got.size() == silent + 2);
  const auto& first = out.got[silent];
  CHECK(first.payload == opus_20ms);
  CHECK(first.ssrc == 0x2222);
  CHECK(first.pt == 100);
  CHECK(int32_t(first.ts - out.got[silent - 1].ts) >= 960); // after the silence, not over it
  CHECK(out.got[silent + 1].ts - first.ts == 960);
  CHECK(continuous(out.got));
}

TEST_CASE("spliced stream: a DTX gap of the source is filled with silence, and its next packet lands after it") {
  auto s = audio_stream();
  sink out;
  s.follow(5);
  s.push(5, packet(111, 1, 0, 0xC, false, opus_20ms), 0, out);
  // 400 ms of nothing (DTX), the tick fills up to 100 ms behind now.
  s.tick(400, out);
  const auto filled = out.got.size() - 1;
  CHECK(filled >= 10);
  s.push(5, packet(111, 2, 400 * 48, 0xC, false, opus_20ms), 400, out);
  const auto& last = out.got.back();
  CHECK(last.payload == opus_20ms);
  CHECK(last.ts - out.got[0].ts == 400 * 48); // where the source put it: after the silence
  for (std::size_t i = 1; i < out.got.size(); ++i)
    CHECK(int32_t(out.got[i].ts - out.got[i - 1].ts) >= 960);
  CHECK(continuous(out.got));
}

TEST_CASE("spliced stream: packets of a source it does not follow, or too short, are dropped") {
  auto s = audio_stream();
  sink out;
  s.follow(5);
  s.push(6, packet(111, 1, 0, 0xC, false, opus_20ms), 0, out);
  s.push(5, std::vector<uint8_t>{0x80, 0x6F, 0x00}, 0, out);
  s.push(0, packet(111, 1, 0, 0xC, false, opus_20ms), 0, out);
  CHECK(out.got.empty());
  CHECK(s.stats().dropped == 3);
}
