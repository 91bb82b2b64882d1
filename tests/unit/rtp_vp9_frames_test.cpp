// VP9 over RTP back into frames (rtp/vp9_frames.hpp): the payload descriptor's layouts of
// RFC 9628 section 4.2, the uncompressed headers of frames libvpx wrote (captured from
// Debian's ffmpeg -c:v libvpx-vp9), reassembly with its loss and wrap cases, superframes and
// the IVF container.
#include "rtp/vp9_frames.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace chorus::rtp;
using bytes = std::vector<uint8_t>;

namespace {

// The first 16 bytes of frames libvpx wrote (ffmpeg -f lavfi -i testsrc -c:v libvpx-vp9 -f
// ivf): a profile 0 keyframe of 640x360 (yuv420p) and the inter frame after it, and a
// profile 1 keyframe of 320x240 (testsrc's RGB, kept as 4:4:4 RGB).
const bytes key_640x360 = {0x82, 0x49, 0x83, 0x42, 0x00, 0x27, 0xf0, 0x16,
                           0x76, 0x0a, 0x38, 0x24, 0x1c, 0x18, 0x4a, 0x10};
const bytes inter_640x360 = {0x86, 0x00, 0x40, 0x92, 0x9c, 0x24, 0x50, 0x01,
                             0x00, 0x06, 0x80, 0x60, 0xfa, 0x2d, 0xc9, 0xfb};
const bytes key_rgb_320x240 = {0xa2, 0x49, 0x83, 0x42, 0xe0, 0x13, 0xf0, 0x0e,
                               0xf6, 0x0a, 0x38, 0x24, 0x1c, 0x18, 0x4a, 0x00};

bytes cat(bytes a, const bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

} // namespace

TEST_CASE("VP9 payload descriptor: the layouts of RFC 9628") {
  struct descriptor_case {
    const char* name;
    bytes payload;
    bool ok;
    std::size_t size;
  };
  const descriptor_case cases[] = {
    // FFmpeg's packetizer: B and E only, one byte.
    {"B and E only", {0x0C, 0xAA}, true, 1},
    // Chrome, non-flexible: I with a 15-bit picture id, L with TL0PICIDX, B, V (SS: one
    // layer, Y: 640x360, G: one group of one picture with one reference).
    {"I(15) L B V non-flexible",
     {0xA8 | 0x02, 0x81, 0x23, 0x20, 0x05, 0x18, 0x02, 0x80, 0x01, 0x68, 0x01, 0x04, 0x01, 0xAA},
     true, 13},
    {"I(7) flexible P with two P_DIFFs", {0xD8, 0x12, 0x03, 0x04, 0xAA}, true, 4},
    {"flexible P with a fourth P_DIFF: refused", {0xD8, 0x12, 0x03, 0x05, 0x07, 0x08, 0xAA}, false, 0},
    {"I(15) truncated", {0x88, 0x81}, false, 0},
    {"L without TL0PICIDX (non-flexible): truncated", {0x28, 0x20}, false, 0},
    {"SS with Y truncated in the height", {0x0A, 0x10, 0x02, 0x80, 0x01}, false, 0},
    {"no VP9 data after the descriptor", {0x88, 0x05}, false, 0},
    {"SS alone (no data) is allowed", {0x02, 0x00}, true, 2},
    {"empty", {}, false, 0},
  };
  for (const auto& c : cases) {
    INFO("case: " << std::string(c.name));
    auto d = parse_vp9_descriptor(c.payload);
    REQUIRE(d.has_value() == c.ok);
    if (d)
      CHECK(d->size == c.size);
  }

  auto chrome = parse_vp9_descriptor(cases[1].payload);
  REQUIRE(chrome);
  CHECK(chrome->picture_id == 0x0123);
  CHECK(chrome->layer_indices);
  CHECK(chrome->temporal_id == 1);
  CHECK(chrome->spatial_id == 0);
  CHECK(chrome->tl0_pic_idx == 5);
  CHECK(chrome->begin);
  CHECK_FALSE(chrome->end);
  CHECK_FALSE(chrome->inter_picture);
  REQUIRE(chrome->has_ss);
  CHECK(chrome->ss_spatial_layers == 1);
  REQUIRE(chrome->ss_resolutions.size() == 1);
  CHECK(chrome->ss_resolutions[0] == std::pair<uint16_t, uint16_t>{640, 360});

  auto flex = parse_vp9_descriptor(cases[2].payload);
  REQUIRE(flex);
  CHECK(flex->flexible);
  CHECK(flex->inter_picture);
  CHECK(flex->picture_id == 0x12);
  CHECK(flex->p_diffs == bytes{1, 2});
}

TEST_CASE("VP9 uncompressed header: frames libvpx wrote") {
  auto key = parse_vp9_frame_header(key_640x360);
  REQUIRE(key);
  CHECK(key->profile == 0);
  CHECK(key->keyframe);
  CHECK(key->width == 640);
  CHECK(key->height == 360);

  auto inter = parse_vp9_frame_header(inter_640x360);
  REQUIRE(inter);
  CHECK_FALSE(inter->keyframe);
  CHECK(inter->width == 0);

  auto rgb = parse_vp9_frame_header(key_rgb_320x240);
  REQUIRE(rgb);
  CHECK(rgb->profile == 1);
  CHECK(rgb->keyframe);
  CHECK(rgb->width == 320);
  CHECK(rgb->height == 240);

  CHECK_FALSE(parse_vp9_frame_header(bytes{0x02, 0x49})); // frame marker 0, not 2
  CHECK_FALSE(parse_vp9_frame_header(bytes{0x82, 0x49, 0x83, 0x43, 0, 0, 0, 0, 0})); // sync code
  CHECK_FALSE(parse_vp9_frame_header(bytes{0x82, 0x49, 0x83, 0x42, 0x00})); // size cut off
  auto existing = parse_vp9_frame_header(bytes{0x88}); // show_existing_frame
  REQUIRE(existing);
  CHECK(existing->show_existing_frame);
  CHECK_FALSE(existing->keyframe);
}

TEST_CASE("VP9 reassembly: pictures over packets, loss, the sequence wrap") {
  // A keyframe in three packets (B, -, E+marker), then an inter frame in one.
  const bytes key_part1 = cat({0x88, 0x01}, bytes(key_640x360.begin(), key_640x360.begin() + 6));
  const bytes key_part2 = cat({0x80, 0x01}, bytes(key_640x360.begin() + 6, key_640x360.begin() + 12));
  const bytes key_part3 = cat({0x84, 0x01}, bytes(key_640x360.begin() + 12, key_640x360.end()));
  const bytes inter = cat({0xCC, 0x02}, inter_640x360);
  // The keyframe's three packets, numbered from `seq`, at `ts`.
  auto push_key = [&](vp9_assembler& a, uint16_t seq, uint32_t ts,
                      std::vector<vp9_assembler::picture>& out) {
    a.push(seq, ts, false, key_part1, out);
    a.push(uint16_t(seq + 1), ts, false, key_part2, out);
    a.push(uint16_t(seq + 2), ts, true, key_part3, out);
  };

  SUBCASE("in order, across the sequence wrap") {
    vp9_assembler a;
    std::vector<vp9_assembler::picture> out;
    push_key(a, 65534, 1000, out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].keyframe);
    CHECK(out[0].timestamp == 1000);
    CHECK(out[0].width == 640);
    CHECK(out[0].height == 360);
    CHECK(out[0].data == key_640x360);
    CHECK_FALSE(a.waiting_for_keyframe());
    a.push(1, 4000, true, inter, out);
    REQUIRE(out.size() == 2);
    CHECK_FALSE(out[1].keyframe);
    CHECK(out[1].data == inter_640x360);
    CHECK(a.stats().gaps == 0);
  }
  SUBCASE("a picture ends without a marker when the next one starts") {
    vp9_assembler a;
    std::vector<vp9_assembler::picture> out;
    a.push(10, 1000, false, key_part1, out);
    a.push(11, 1000, false, key_part2, out);
    a.push(12, 1000, false, key_part3, out); // marker lost in the sender, not on the wire
    CHECK(out.empty());
    a.push(13, 4000, true, inter, out);
    REQUIRE(out.size() == 2);
    CHECK(out[0].keyframe);
    CHECK(out[1].timestamp == 4000);
  }
  SUBCASE("nothing before the first keyframe") {
    vp9_assembler a;
    std::vector<vp9_assembler::picture> out;
    a.push(5, 500, true, inter, out);
    CHECK(out.empty());
    CHECK(a.waiting_for_keyframe());
    CHECK(a.stats().dropped_pictures == 1);
    push_key(a, 6, 1000, out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].keyframe);
  }
  SUBCASE("a lost middle packet: the picture is dropped, then nothing until a keyframe") {
    vp9_assembler a;
    std::vector<vp9_assembler::picture> out;
    a.push(100, 1000, false, key_part1, out);
    a.push(102, 1000, true, key_part3, out); // 101 lost
    CHECK(out.empty());
    CHECK(a.stats().gaps == 1);
    CHECK(a.waiting_for_keyframe());
    a.push(103, 4000, true, inter, out);
    CHECK(out.empty());
    push_key(a, 104, 7000, out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].timestamp == 7000);
    CHECK_FALSE(a.waiting_for_keyframe());
  }
  SUBCASE("a whole picture lost between two: the next inter frame is not handed out") {
    vp9_assembler a;
    std::vector<vp9_assembler::picture> out;
    push_key(a, 1, 1000, out);
    a.push(5, 7000, true, inter, out); // 4 (the picture at 4000) lost
    REQUIRE(out.size() == 1);
    CHECK(a.waiting_for_keyframe());
  }
  SUBCASE("late and repeated packets are ignored") {
    vp9_assembler a;
    std::vector<vp9_assembler::picture> out;
    a.push(1, 1000, false, key_part1, out);
    a.push(2, 1000, false, key_part2, out);
    a.push(2, 1000, false, key_part2, out); // repeated
    a.push(3, 1000, true, key_part3, out);
    a.push(1, 1000, false, key_part1, out); // late
    REQUIRE(out.size() == 1);
    CHECK(out[0].data == key_640x360);
  }
  SUBCASE("malformed descriptors break the picture") {
    vp9_assembler a;
    std::vector<vp9_assembler::picture> out;
    a.push(1, 1000, false, key_part1, out);
    a.push(2, 1000, false, bytes{0x88}, out); // I without its picture id
    a.push(3, 1000, true, key_part3, out);
    CHECK(out.empty());
    CHECK(a.stats().malformed == 1);
  }
  SUBCASE("two spatial layers: one superframe") {
    vp9_assembler a;
    std::vector<vp9_assembler::picture> out;
    const bytes layer0 = cat({0xAC, 0x01, 0x00, 0x00}, key_640x360);   // B E, SID 0
    const bytes layer1 = cat({0xEC, 0x01, 0x03, 0x00}, inter_640x360); // P B E, SID 1, D
    a.push(1, 1000, false, layer0, out);
    a.push(2, 1000, true, layer1, out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].keyframe);
    // frames, then the index: marker 0xC1 (1 byte per size, 2 frames), 16, 16, marker
    bytes expected = cat(key_640x360, inter_640x360);
    expected.insert(expected.end(), {0xC1, 16, 16, 0xC1});
    CHECK(out[0].data == expected);
  }
}

TEST_CASE("VP9 reassembly: a picture that never ends keeps nothing beyond its bounds") {
  // A sender (a recorded producer) that never sets the marker nor changes the timestamp:
  // layer frame after layer frame (B and E in each descriptor), or one layer frame that
  // never ends. Past max_layer_frames or max_picture_bytes the picture is dropped as a lost
  // one would be, and nothing more of it is stored; the next keyframe assembles again.
  const bytes key_whole = cat({0x8C, 0x01}, key_640x360); // I, B, E; picture id 1
  SUBCASE("layer frames without end") {
    vp9_assembler a;
    std::vector<vp9_assembler::picture> out;
    for (uint16_t seq = 0; seq < 1000; ++seq)
      a.push(seq, 5000, false, cat({0x8C, 0x02}, bytes(100, 0x55)), out);
    CHECK(out.empty());
    CHECK(a.stats().oversized == 1);
    a.push(1000, 5000, true, cat({0x8C, 0x02}, bytes(100, 0x55)), out);
    CHECK(out.empty());
    CHECK(a.stats().dropped_pictures == 1);
    a.push(1001, 6000, true, key_whole, out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].keyframe);
    CHECK(out[0].data == key_640x360);
  }
  SUBCASE("one layer frame larger than max_picture_bytes") {
    vp9_assembler a;
    std::vector<vp9_assembler::picture> out;
    a.push(0, 7000, false, cat({0x88, 0x03}, key_640x360), out); // I, B
    const bytes middle = cat({0x80, 0x03}, bytes(60000, 0x66));
    uint16_t seq = 1;
    for (; seq <= vp9_assembler::max_picture_bytes / 60000 + 10; ++seq)
      a.push(seq, 7000, false, middle, out);
    CHECK(a.stats().oversized == 1);
    a.push(seq++, 7000, true, cat({0x84, 0x03}, bytes(10, 0x77)), out); // I, E, marker
    CHECK(out.empty());
    a.push(seq, 8000, true, key_whole, out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].data == key_640x360);
  }
}

TEST_CASE("VP9 superframe index sizes grow with the largest frame") {
  std::vector<bytes> frames{bytes(300, 1), bytes(5, 2)};
  auto s = vp9_superframe(frames);
  REQUIRE(s.size() == 305 + 2 + 2 * 2);
  CHECK(s[305] == 0xC9); // 2 bytes per size, 2 frames
  CHECK(s[306] == 0x2C); // 300 little-endian
  CHECK(s[307] == 0x01);
  CHECK(s[308] == 5);
  CHECK(s[309] == 0);
  CHECK(s.back() == 0xC9);
  CHECK(vp9_superframe({bytes{7, 8}}) == bytes{7, 8});
}

TEST_CASE("IVF: the file header and frame headers") {
  auto h = ivf_file_header("VP90", 640, 360, 90000);
  const bytes expected = {'D', 'K', 'I', 'F', 0, 0, 32, 0, 'V', 'P', '9', '0', 0x80, 0x02, 0x68, 0x01,
                          0x90, 0x5F, 0x01, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  CHECK(h == expected);
  bytes out;
  append_ivf_frame(out, bytes{1, 2, 3}, 0x100000002ull);
  CHECK(out == bytes{3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 2, 3});
}
