// frame_gate: whole frames only, and nothing after a loss until a keyframe. VP8 payloads
// (RFC 7741): descriptor 0x10 starts a frame (S=1, partition 0), 0x00 continues one; the
// VP8 header's first byte after a start is 0x00 for a keyframe (P=0), 0x01 otherwise.
#include "rtp/frame_gate.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

using chorus::rtp::frame_gate;
using chorus::rtp::payload_codec;

namespace {

// One packet of a case: its sequence number, its frame (the timestamp), whether it ends
// the frame (marker), and what it is: 'K' a keyframe's first packet, 'D' a delta frame's,
// 'c' a continuation.
struct pkt {
  uint16_t seq;
  uint32_t frame;
  bool marker;
  char kind;
};

struct table_case {
  const char* name;
  std::vector<pkt> in;
  std::vector<uint16_t> out; // the sequence numbers let through, in order
  uint64_t frames, dropped_frames, gaps;
  bool waiting_after;
};

std::vector<uint16_t> run(frame_gate& g, const std::vector<pkt>& in) {
  std::vector<uint16_t> out;
  for (const auto& p : in) {
    std::vector<uint8_t> payload;
    if (p.kind == 'c')
      payload = {0x00, 0xAA};
    else
      payload = {0x10, uint8_t(p.kind == 'K' ? 0x00 : 0x01), 0xAA};
    // The "packet" handed back is its sequence number, so the output names itself.
    const uint8_t packet[2] = {uint8_t(p.seq >> 8), uint8_t(p.seq)};
    g.push(p.seq, p.frame * 3000, p.marker, payload, packet,
           [&](std::span<const uint8_t> b) { out.push_back(uint16_t((b[0] << 8) | b[1])); });
  }
  return out;
}

} // namespace

TEST_CASE("frame_gate: table") {
  const std::vector<table_case> cases = {
    {"whole frames from a keyframe pass, each at its marker",
     {{1, 1, false, 'K'}, {2, 1, true, 'c'}, {3, 2, true, 'D'}}, {1, 2, 3}, 2, 0, 0, false},
    {"nothing before the first keyframe",
     {{1, 1, true, 'D'}, {2, 2, false, 'D'}, {3, 2, true, 'c'}, {4, 3, true, 'K'}, {5, 4, true, 'D'}},
     {4, 5}, 2, 2, 0, false},
    {"a frame with a hole is dropped, and every frame after it until a keyframe",
     {{1, 1, true, 'K'}, {2, 2, false, 'D'}, /* 3 lost */ {4, 2, true, 'c'}, {5, 3, true, 'D'},
      {6, 4, false, 'K'}, {7, 4, true, 'c'}, {8, 5, true, 'D'}},
     {1, 6, 7, 8}, 3, 2, 1, false},
    {"a loss between frames: the next frame is dropped all the same (it may refer to the lost one)",
     {{1, 1, true, 'K'}, /* 2 lost */ {3, 3, true, 'D'}}, {1}, 1, 1, 1, true},
    {"the lost packet was a keyframe's first: its rest is no keyframe",
     {{1, 1, true, 'K'}, /* 2 lost */ {3, 2, true, 'c'}, {4, 3, true, 'D'}}, {1}, 1, 2, 1, true},
    {"a frame without a marker ends when the next one starts",
     {{1, 1, false, 'K'}, {2, 1, false, 'c'}, {3, 2, true, 'D'}}, {1, 2, 3}, 2, 0, 0, false},
    {"a frame held open at a loss is dropped, never let through in part",
     {{1, 1, true, 'K'}, {2, 2, false, 'D'}, /* 3 lost */ {4, 3, true, 'K'}}, {1, 4}, 2, 1, 1, false},
    {"a repeat and an old packet are ignored",
     {{1, 1, true, 'K'}, {1, 1, true, 'K'}, {2, 2, true, 'D'}, {1, 1, true, 'K'}}, {1, 2}, 2, 0, 0, false},
    {"across the wrap of the sequence numbers",
     {{65535, 1, false, 'K'}, {0, 1, true, 'c'}, {1, 2, true, 'D'}}, {65535, 0, 1}, 2, 0, 0, false},
  };
  for (const auto& c : cases) {
    const std::string name = c.name;
    CAPTURE(name);
    frame_gate g(payload_codec::vp8);
    CHECK(run(g, c.in) == c.out);
    CHECK(g.stats().frames == c.frames);
    CHECK(g.stats().dropped_frames == c.dropped_frames);
    CHECK(g.stats().gaps == c.gaps);
    CHECK(g.waiting_for_keyframe() == c.waiting_after);
  }
}

TEST_CASE("frame_gate: a frame larger than the bound is dropped, and a keyframe is needed again") {
  frame_gate g(payload_codec::vp8);
  std::vector<uint16_t> out;
  auto sink = [&](std::span<const uint8_t> b) { out.push_back(uint16_t(b.size())); };
  const uint8_t key[3] = {0x10, 0x00, 0xAA};
  const uint8_t cont[2] = {0x00, 0xAA};
  std::vector<uint8_t> big(64 * 1024, 0);
  g.push(1, 100, true, key, std::span<const uint8_t>(big).first(100), sink);
  REQUIRE(out.size() == 1);
  uint16_t seq = 2;
  g.push(seq++, 200, false, key, big, sink);
  for (std::size_t held = big.size(); held <= frame_gate::max_frame_bytes; held += big.size())
    g.push(seq++, 200, false, cont, big, sink);
  g.push(seq++, 200, true, cont, big, sink);
  CHECK(out.size() == 1);
  CHECK(g.stats().dropped_frames == 1);
  CHECK(g.waiting_for_keyframe());
}
