// AV1 over RTP back into temporal units (rtp/av1_frames.hpp), packets laid out as the AOM
// RTP payload format (v1.0, section 4) describes them: the aggregation header, OBU elements
// with and without their LEB128 lengths, OBUs split over packets, and losses.
#include "rtp/av1_frames.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace chorus::rtp;
using bytes = std::vector<uint8_t>;

namespace {

// OBU headers without the size field: type << 3.
constexpr uint8_t seq_hdr = 1 << 3;   // 0x08
constexpr uint8_t td = 2 << 3;        // 0x10
constexpr uint8_t frame_obu = 6 << 3; // 0x30
constexpr uint8_t padding = 15 << 3;  // 0x78

bytes cat(std::initializer_list<bytes> parts) {
  bytes out;
  for (auto& p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

// An OBU as a file holds it: the header with the size flag, the LEB128 size, the payload.
bytes sized(uint8_t header, const bytes& payload) {
  bytes out{uint8_t(header | 0x02)};
  append_leb128(out, payload.size());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

const bytes td_sized = {0x12, 0x00};

struct harness {
  av1_assembler a;
  std::vector<av1_assembler::temporal_unit> out;
  void push(uint16_t seq, uint32_t ts, bool marker, const bytes& payload) { a.push(seq, ts, marker, payload, out); }
};

} // namespace

TEST_CASE("LEB128: the values of the AV1 specification's examples") {
  struct row {
    uint64_t value;
    bytes encoded;
  };
  for (const auto& r : std::vector<row>{{0, {0x00}}, {127, {0x7F}}, {128, {0x80, 0x01}}, {300, {0xAC, 0x02}},
                                        {16384, {0x80, 0x80, 0x01}}}) {
    CAPTURE(r.value);
    bytes out;
    append_leb128(out, r.value);
    CHECK(out == r.encoded);
    auto back = read_leb128(r.encoded);
    REQUIRE(back);
    CHECK(back->first == r.value);
    CHECK(back->second == r.encoded.size());
  }
  CHECK_FALSE(read_leb128(bytes{0x80, 0x80}));                                     // runs off the end
  CHECK_FALSE(read_leb128(bytes{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 1})); // over 8 bytes
}

TEST_CASE("AV1: a keyframe in one packet (W=2: the sequence header with its length, the frame without)") {
  harness h;
  const bytes sh = {0x00, 0x00, 0x00, 0x0A};
  const bytes fr = {0x10, 0x20, 0x30};
  // Z=0 Y=0 W=2 N=1: 0x28.
  h.push(100, 9000, true, cat({{0x28}, {uint8_t(1 + sh.size()), seq_hdr}, sh, {frame_obu}, fr}));
  REQUIRE(h.out.size() == 1);
  CHECK(h.out[0].keyframe);
  CHECK(h.out[0].timestamp == 9000);
  CHECK(h.out[0].data == cat({td_sized, sized(seq_hdr, sh), sized(frame_obu, fr)}));
  CHECK_FALSE(h.a.waiting_for_keyframe());
}

TEST_CASE("AV1: an OBU split over three packets (Y, then Z and Y, then Z) comes out whole") {
  harness h;
  const bytes sh = {0x01, 0x02};
  // First packet: W=0 (each element with its length): the sequence header, then the start
  // of the frame OBU, continued (Y).
  h.push(1, 3000, false, cat({{0x48}, {uint8_t(1 + sh.size()), seq_hdr}, sh, {3, frame_obu, 0xA1, 0xA2}}));
  h.push(2, 3000, false, bytes{0xD0, 0xA3, 0xA4}); // Z Y, W=1: one element, no length
  h.push(3, 3000, true, bytes{0x90, 0xA5});        // Z, W=1
  REQUIRE(h.out.size() == 1);
  CHECK(h.out[0].data == cat({td_sized, sized(seq_hdr, sh), sized(frame_obu, {0xA1, 0xA2, 0xA3, 0xA4, 0xA5})}));
}

TEST_CASE("AV1: a loss drops its unit and the next ones until a sequence header") {
  harness h;
  const bytes sh = {0x07};
  auto key = [&](uint16_t seq, uint32_t ts) {
    h.push(seq, ts, true, cat({{0x28}, {uint8_t(1 + sh.size()), seq_hdr}, sh, {frame_obu, 0x01}}));
  };
  auto delta = [&](uint16_t seq, uint32_t ts, bool marker, uint8_t agg = 0x10) {
    h.push(seq, ts, marker, bytes{agg, frame_obu, 0x02});
  };
  delta(1, 1000, true); // before any keyframe: dropped
  key(2, 2000);
  delta(3, 3000, true);
  h.push(4, 4000, false, bytes{0x50, frame_obu, 0x03}); // Y: goes on in 5, which is lost
  delta(6, 5000, true); // after the loss: dropped, it may refer to what was lost
  CHECK(h.a.waiting_for_keyframe());
  key(7, 6000);
  delta(8, 7000, true);
  REQUIRE(h.out.size() == 4);
  CHECK(h.out[0].timestamp == 2000);
  CHECK(h.out[1].timestamp == 3000);
  CHECK(h.out[2].timestamp == 6000);
  CHECK(h.out[3].timestamp == 7000);
  CHECK(h.a.stats().gaps == 1);
  CHECK(h.a.stats().dropped_units == 3);
}

TEST_CASE("AV1: temporal delimiters and padding in the RTP are left out; an OBU's own size is kept") {
  harness h;
  const bytes sh = {0x05, 0x06};
  // W=0: a temporal delimiter, a padding OBU, the sequence header with its size field set
  // (and a byte after what it covers, which is not its), a frame.
  const bytes sh_with_size = cat({{uint8_t(seq_hdr | 0x02), 2}, sh, {0xEE}});
  h.push(9, 100, true,
         cat({{0x08}, {1, td}, {3, padding, 0, 0}, {uint8_t(sh_with_size.size())}, sh_with_size, {2, frame_obu, 0x09}}));
  REQUIRE(h.out.size() == 1);
  CHECK(h.out[0].data == cat({td_sized, sized(seq_hdr, sh), sized(frame_obu, {0x09})}));
}

TEST_CASE("AV1: malformed packets are counted and their units dropped, never read past") {
  struct row {
    const char* name;
    bytes payload;
  };
  const std::vector<row> rows = {
    {"an element's length beyond the packet", {0x08, 9, seq_hdr, 0x01}},
    {"a length that never ends", {0x08, 0x80}},
    {"the forbidden bit", {0x18, 0x80 | seq_hdr, 0x01}},
    {"an OBU size beyond its element", {0x18, uint8_t(seq_hdr | 0x02), 5, 0x01}},
    {"W=2 with one element", {0x28, 2, seq_hdr, 0x01}},
  };
  for (const auto& r : rows) {
    const std::string name = r.name;
    CAPTURE(name);
    harness h;
    h.push(1, 100, true, r.payload);
    CHECK(h.out.empty());
    CHECK(h.a.waiting_for_keyframe());
  }
}

TEST_CASE("AV1: joining in the middle of an OBU (Z on a unit's first packet) waits for the next unit") {
  harness h;
  h.push(1, 100, true, bytes{0x90, 0x01}); // Z, W=1
  CHECK(h.out.empty());
  h.push(2, 200, true, cat({{0x28}, {2, seq_hdr, 0x01}, {frame_obu, 0x02}}));
  REQUIRE(h.out.size() == 1);
  CHECK(h.out[0].timestamp == 200);
}

TEST_CASE("AV1: a sequence header without N (repeated before an inter frame) is no keyframe after a loss") {
  harness h;
  h.push(1, 100, true, cat({{0x28}, {2, seq_hdr, 0x01}, {frame_obu, 0x02}})); // a keyframe
  h.push(3, 200, true, cat({{0x20}, {2, seq_hdr, 0x01}, {frame_obu, 0x03}})); // after a loss, no N
  REQUIRE(h.out.size() == 1);
  CHECK(h.a.waiting_for_keyframe());
}

TEST_CASE("AV1: an OBU continued packet after packet never grows past the bound") {
  harness h;
  const bytes chunk(1000, 0x55);
  h.push(0, 100, false, cat({{0x50, frame_obu}, chunk})); // Y, W=1
  const std::size_t packets = av1_assembler::max_unit_bytes / chunk.size() + 10;
  for (std::size_t i = 1; i <= packets; ++i)
    h.push(uint16_t(i), 100, false, cat({{0xD0}, chunk})); // Z Y, W=1: never ends
  h.push(uint16_t(packets + 1), 100, true, cat({{0x90}, chunk}));
  CHECK(h.out.empty());
  CHECK(h.a.waiting_for_keyframe());
  CHECK(h.a.stats().dropped_units == 1);
}

TEST_CASE("AV1: a packet far behind is the stream started over: a gap, then its next keyframe") {
  harness h;
  auto key = [&](uint16_t seq, uint32_t ts) { h.push(seq, ts, true, cat({{0x28}, {2, seq_hdr, 0x01}, {frame_obu, 0x02}})); };
  key(5000, 100);
  h.push(4999, 150, true, bytes{0x10, frame_obu, 0x02}); // a straggler: ignored
  h.push(100, 200, true, bytes{0x10, frame_obu, 0x02});  // far behind: started over, no keyframe yet
  key(101, 300);
  REQUIRE(h.out.size() == 2);
  CHECK(h.out[1].timestamp == 300);
  CHECK(h.a.stats().gaps == 1);
}
