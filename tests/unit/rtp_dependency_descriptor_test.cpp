// The Dependency Descriptor (AV1 RTP specification, appendix A) as Chromium 156 sends it with
// AV1: descriptors captured from its L3T3 SVC stream and from one stream of L1T3 simulcast
// (tests/integration/browser_av1_svc.test.mjs runs the same streams end to end).
#include "rtp/bit_reader.hpp"
#include "rtp/dependency_descriptor.hpp"
#include "rtp/frame_number_continuity.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace chorus::rtp;

namespace {

std::vector<uint8_t> hex(std::string_view h) {
  std::vector<uint8_t> v;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    v.push_back(uint8_t(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return v;
}

// The first packet of an L3T3 keyframe at 1280x720: the structure (offset 0, 15 templates,
// 9 decode targets, 3 chains, render sizes), and active targets 0x3F (the encoder starts
// with two of its three spatial layers).
const std::string l3t3_key =
  "c10001c0081485214eafffaaaa863cf0430c10c302afc0aaa0063c00430010c002a000a80006000040001d95"
  "4926e082b04a0941b820ac1282503157f974000ca864330e222222eca8655304224230eca87753013f00b302"
  "7f016704ff02cf1f80";

// One L1T3 simulcast stream's keyframe at 320x180: 5 templates, 3 decode targets, 1 chain.
const std::string l1t3_key = "c00001800214eaa860414d1410208427013f00b3";

dd_structure structure_of(const std::string& key) {
  dd_structure s;
  REQUIRE(read_dependency_descriptor(hex(key), s).ok());
  return s;
}

} // namespace

TEST_CASE("bit_reader: ns(n), the non-symmetric values of the AV1 specification") {
  struct row {
    const char* name;
    uint32_t n;
    std::vector<uint8_t> bytes;
    uint32_t value;
    size_t bits;
  };
  const row rows[] = {
    {"n 1: no bits", 1, {0xFF}, 0, 0},
    {"n 2: one bit, 1", 2, {0x80}, 1, 1},
    {"n 5: a short value (2 bits)", 5, {0x80}, 2, 2},
    {"n 5: a long value, extra bit 0 (3 bits)", 5, {0xC0}, 3, 3},
    {"n 5: a long value, extra bit 1", 5, {0xE0}, 4, 3},
    {"n 4: a power of two, two bits", 4, {0xC0}, 3, 2},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    bit_reader b(r.bytes);
    uint32_t v = 99;
    REQUIRE(b.read_ns(r.n, v));
    CHECK(v == r.value);
    CHECK(b.position() == r.bits);
  }
  bit_reader empty(std::span<const uint8_t>{});
  uint32_t v = 0;
  CHECK_FALSE(empty.read_ns(5, v));
  CHECK_FALSE(empty.read(1, v));
}

TEST_CASE("Dependency Descriptor: Chromium's L3T3 structure") {
  dd_structure s;
  const auto f = read_dependency_descriptor(hex(l3t3_key), s);
  REQUIRE(f.ok());
  CHECK(f->structure_attached);
  CHECK(f->start_of_frame);
  CHECK(f->end_of_frame);
  CHECK(f->frame_number == 1);
  CHECK(f->spatial == 0);
  CHECK(f->temporal == 0);
  CHECK(f->references == 0);
  CHECK(f->own_indication == dd_indication::switching);
  CHECK(f->switch_mask == 0b111);
  CHECK(f->active_targets_present);
  CHECK(f->active_targets == 0x3F);

  CHECK(s.template_id_offset == 0);
  CHECK(s.templates == 15);
  CHECK(s.decode_targets == 9);
  CHECK(s.chains == 3);
  CHECK(s.width[0] == 320);
  CHECK(s.height[0] == 180);
  CHECK(s.width[1] == 640);
  CHECK(s.height[1] == 360);
  CHECK(s.width[2] == 1280);
  CHECK(s.height[2] == 720);
  CHECK(s.width[3] == 0);
  // Decode target d decodes up to spatial d / 3, temporal d % 3.
  for (uint8_t d = 0; d < 9; ++d) {
    CAPTURE(int(d));
    CHECK(s.target_spatial[d] == d / 3);
    CHECK(s.target_temporal[d] == d % 3);
    CHECK(s.decode_target_of(uint8_t(d / 3), uint8_t(d % 3)) == d);
  }
  CHECK(s.decode_target_of(3, 0) == -1);
  // Template 1 is the keyframe's (no references), template 6 the S1 frame above it.
  CHECK(s.template_references[1] == 0);
  CHECK(s.template_spatial[6] == 1);
  CHECK(s.template_dti[3][2] == dd_indication::discardable);
  CHECK(s.template_dti[3][0] == dd_indication::not_present);
}

TEST_CASE("Dependency Descriptor: frames read against Chromium's L3T3 structure") {
  struct row {
    const char* name;
    const char* hex;
    bool start, end;
    uint16_t frame_number;
    uint8_t spatial, temporal, references;
    dd_indication own;
    uint8_t switch_mask;
    bool active_present;
    uint32_t active;
  };
  const auto S = dd_indication::switching, D = dd_indication::discardable;
  const row rows[] = {
    {"three bytes: S1 above the keyframe", "c60002", true, true, 2, 1, 0, 1, S, 7, false, 0},
    {"S0T2, custom fdiffs and chains", "c300051a20100800", true, true, 5, 0, 2, 1, D, 0, false, 0},
    {"S1T2, custom fdiffs and chains", "c800061a2800604000", true, true, 6, 1, 2, 2, D, 0, false, 0},
    {"S0T2, active targets: all nine", "c300095ffd10181414", true, true, 9, 0, 2, 1, D, 0, true, 0x1FF},
    {"S0T0 delta, active targets", "c0000b5ffd70201c1c", true, true, 11, 0, 0, 1, S, 7, true, 0x1FF},
    {"S1T0, first of two packets", "85000c12e800", true, false, 12, 1, 0, 2, S, 7, false, 0},
    {"S1T0, last of two packets", "45000c12e800", false, true, 12, 1, 0, 2, S, 7, false, 0},
    {"S2T0 of a later picture", "cb000d", true, true, 13, 2, 0, 1, S, 7, false, 0},
    {"S2T1", "cc0013", true, true, 19, 2, 1, 2, D, 4, false, 0},
    {"a middle packet of S2T0", "0b000d", false, false, 13, 2, 0, 1, S, 7, false, 0},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    auto s = structure_of(l3t3_key);
    const auto f = read_dependency_descriptor(hex(r.hex), s);
    REQUIRE(f.ok());
    CHECK_FALSE(f->structure_attached);
    CHECK(f->start_of_frame == r.start);
    CHECK(f->end_of_frame == r.end);
    CHECK(f->frame_number == r.frame_number);
    CHECK(f->spatial == r.spatial);
    CHECK(f->temporal == r.temporal);
    CHECK(f->references == r.references);
    CHECK(f->own_indication == r.own);
    CHECK(f->switch_mask == r.switch_mask);
    CHECK(f->active_targets_present == r.active_present);
    if (r.active_present)
      CHECK(f->active_targets == r.active);
  }
}

TEST_CASE("Dependency Descriptor: an L1T3 simulcast stream") {
  dd_structure s;
  const auto key = read_dependency_descriptor(hex(l1t3_key), s);
  REQUIRE(key.ok());
  CHECK(s.templates == 5);
  CHECK(s.decode_targets == 3);
  CHECK(s.chains == 1);
  CHECK(s.width[0] == 320);
  CHECK(s.height[0] == 180);
  CHECK(key->references == 0);
  struct row {
    const char* name;
    const char* hex;
    uint8_t temporal;
    dd_indication own;
    uint8_t switch_mask; // libwebrtc: T0 frames switch to every layer, T1 to T2 only
  };
  const row rows[] = {
    {"T2 after T0", "c30002", 2, dd_indication::discardable, 0},
    {"T1", "c20003", 1, dd_indication::discardable, 0b100},
    {"T2 after T1", "c40004", 2, dd_indication::discardable, 0},
    {"T0 delta", "c10014", 0, dd_indication::switching, 0b111},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    const auto f = read_dependency_descriptor(hex(r.hex), s);
    REQUIRE(f.ok());
    CHECK(f->spatial == 0);
    CHECK(f->temporal == r.temporal);
    CHECK(f->own_indication == r.own);
    CHECK(f->switch_mask == r.switch_mask);
  }
}

TEST_CASE("Dependency Descriptor: what cannot be read") {
  struct row {
    const char* name;
    bool with_structure;
    std::string hex;
    dd_error error;
    bool structure_after; // the structure is still known afterwards
  };
  const std::string cut = l3t3_key.substr(0, 40);
  const row rows[] = {
    {"empty", true, "", dd_error::truncated, true},
    {"two bytes", true, "c600", dd_error::truncated, true},
    {"a frame before any structure", false, "c60002", dd_error::no_structure, false},
    {"active targets before any structure", false, "c300094000", dd_error::no_structure, false},
    {"template 20 of 15", true, "d40002", dd_error::unknown_template, true},
    {"a structure cut short: the old one is forgotten", true, cut, dd_error::truncated, false},
    // Structure: offset 0, 1 target, template layers 2,2,2,2 (a fifth spatial layer).
    {"five spatial layers", true, "c00001" "80" "0000" "aa" "00", dd_error::bad_structure, false},
    {"custom chains cut short", true, "c3000508", dd_error::truncated, true},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    dd_structure s;
    if (r.with_structure)
      s = structure_of(l3t3_key);
    const auto f = read_dependency_descriptor(hex(r.hex), s);
    REQUIRE_FALSE(f.ok());
    CHECK(f.error() == r.error);
    CHECK(s.known() == r.structure_after);
  }
}

TEST_CASE("Dependency Descriptor: the frame number written in place") {
  auto v = hex("c60002");
  CHECK(write_dd_frame_number(v, 0xABCD));
  CHECK(v == hex("c6abcd"));
  auto s = structure_of(l3t3_key);
  const auto f = read_dependency_descriptor(v, s);
  REQUIRE(f.ok());
  CHECK(f->frame_number == 0xABCD);
  CHECK(f->spatial == 1); // nothing else moved
  std::vector<uint8_t> two = {0xC6, 0x00};
  CHECK_FALSE(write_dd_frame_number(two, 1));
}

TEST_CASE("frame_number_continuity: numbers go on across simulcast switches") {
  struct step {
    bool restart;
    uint16_t in, out;
  };
  struct row {
    const char* name;
    std::vector<step> steps;
  };
  const row rows[] = {
    {"one stream: as it is", {{false, 100, 100}, {false, 101, 101}, {false, 103, 103}}},
    {"the first packet after a restart of nothing sent: as it is", {{true, 500, 500}, {false, 501, 501}}},
    {"a switch to lower numbers: on from the newest",
     {{false, 900, 900}, {false, 901, 901}, {true, 40, 902}, {false, 41, 903}}},
    {"a switch to higher numbers: on from the newest, no gap",
     {{false, 10, 10}, {true, 7000, 11}, {false, 7002, 13}}},
    {"Chromium's shared counter: the next number, no change",
     {{false, 7, 7}, {true, 8, 8}, {false, 11, 11}}},
    {"across the wrap", {{false, 65534, 65534}, {false, 65535, 65535}, {true, 300, 0}, {false, 301, 1}}},
    {"an older packet does not move the newest back",
     {{false, 50, 50}, {false, 48, 48}, {true, 5, 51}}},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    frame_number_continuity c;
    for (const auto& s : r.steps) {
      if (s.restart)
        c.restart();
      CHECK(c.on_packet(s.in) == s.out);
    }
  }
}
