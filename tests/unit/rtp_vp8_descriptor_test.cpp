// VP8 payload descriptor (RFC 7741 section 4.2, rtp/vp8_descriptor.hpp): parsing the layouts
// browsers send and every truncation, rewriting picture id / TL0PICIDX in place, and keeping
// both continuous across simulcast switches (vp8_continuity), across their wraps.
#include "rtp/vp8_descriptor.hpp"

#include "rtp/keyframe.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

using namespace chorus::rtp;
using bytes = std::vector<uint8_t>;

namespace {

// VP8 payload header first bytes (|Size0|H|VER|P|): P = 0 key frame, P = 1 inter frame.
constexpr uint8_t vp8_key = 0x50;
constexpr uint8_t vp8_delta = 0x31;

struct parse_row {
  const char* name;
  bytes payload;
  vp8_descriptor expected; // fields not named are false / 0
};

} // namespace

TEST_CASE("vp8 descriptor: parse table") {
  const parse_row rows[] = {
    // Chrome with temporal layers: X=1 S=1 PID=0; I L T; M=1 picture id 0x1234;
    // TL0PICIDX 5; TID 0 Y=1.
    {"chrome keyframe: I (15-bit) L T",
     {0x90, 0xe0, 0x92, 0x34, 0x05, 0x20, vp8_key, 0x42},
     {.start_of_partition = true, .has_picture_id = true, .picture_id_15bit = true,
      .picture_id = 0x1234, .has_tl0picidx = true, .tl0picidx = 5, .has_tid = true,
      .layer_sync = true, .keyframe = true, .start_of_frame = true, .size = 6}},
    {"chrome delta frame start, TID 2",
     {0x90, 0xe0, 0x92, 0x35, 0x05, 0x80, vp8_delta},
     {.start_of_partition = true, .has_picture_id = true, .picture_id_15bit = true,
      .picture_id = 0x1235, .has_tl0picidx = true, .tl0picidx = 5, .has_tid = true, .tid = 2,
      .start_of_frame = true, .size = 6}},
    {"chrome continuation packet of a keyframe: S=0",
     {0x80, 0xe0, 0x92, 0x34, 0x05, 0x20, 0x9d, 0x01},
     {.has_picture_id = true, .picture_id_15bit = true, .picture_id = 0x1234,
      .has_tl0picidx = true, .tl0picidx = 5, .has_tid = true, .layer_sync = true, .size = 6}},
    {"non-reference TID 1 frame: N=1, largest values",
     {0xb0, 0xe0, 0xff, 0xff, 0xff, 0x40, vp8_delta},
     {.start_of_partition = true, .non_reference = true, .has_picture_id = true,
      .picture_id_15bit = true, .picture_id = 0x7fff, .has_tl0picidx = true, .tl0picidx = 255,
      .has_tid = true, .tid = 1, .start_of_frame = true, .size = 6}},
    {"start of partition 2: S=1 PID=2, not a frame start",
     {0x92, 0x80, 0x81, 0x00, vp8_key},
     {.start_of_partition = true, .partition_index = 2, .has_picture_id = true,
      .picture_id_15bit = true, .picture_id = 0x0100, .size = 4}},
    {"chrome without temporal layers: I only (15-bit)",
     {0x90, 0x80, 0x80, 0x00, vp8_key},
     {.start_of_partition = true, .has_picture_id = true, .picture_id_15bit = true,
      .keyframe = true, .start_of_frame = true, .size = 4}},
    {"7-bit picture id",
     {0x90, 0x80, 0x45, vp8_key},
     {.start_of_partition = true, .has_picture_id = true, .picture_id = 0x45,
      .keyframe = true, .start_of_frame = true, .size = 3}},
    {"7-bit picture id 127 with L",
     {0x90, 0xc0, 0x7f, 0x09, vp8_delta},
     {.start_of_partition = true, .has_picture_id = true, .picture_id = 127,
      .has_tl0picidx = true, .tl0picidx = 9, .start_of_frame = true, .size = 4}},
    {"minimal 1-byte descriptor, keyframe",
     {0x10, vp8_key, 0x00, 0x9d},
     {.start_of_partition = true, .keyframe = true, .start_of_frame = true, .size = 1}},
    {"minimal 1-byte descriptor, delta",
     {0x10, vp8_delta},
     {.start_of_partition = true, .start_of_frame = true, .size = 1}},
    {"minimal 1-byte descriptor, continuation",
     {0x00, 0x12, 0x34},
     {.size = 1}},
    {"X=1 with an empty extension",
     {0x90, 0x00, vp8_key},
     {.start_of_partition = true, .keyframe = true, .start_of_frame = true, .size = 2}},
    {"T and K: TID 1 Y=1 KEYIDX 5",
     {0x90, 0xf0, 0x81, 0x02, 0x07, 0x65, vp8_key},
     {.start_of_partition = true, .has_picture_id = true, .picture_id_15bit = true,
      .picture_id = 0x0102, .has_tl0picidx = true, .tl0picidx = 7, .has_tid = true, .tid = 1,
      .layer_sync = true, .has_keyidx = true, .keyidx = 5, .keyframe = true,
      .start_of_frame = true, .size = 6}},
    {"K only: the T/K byte is there, TID and Y ignored",
     {0x90, 0x10, 0xe3, vp8_delta},
     {.start_of_partition = true, .has_keyidx = true, .keyidx = 3, .start_of_frame = true,
      .size = 3}},
    {"T only: KEYIDX ignored",
     {0x90, 0x20, 0x7f, vp8_delta},
     {.start_of_partition = true, .has_tid = true, .tid = 1, .layer_sync = true,
      .start_of_frame = true, .size = 3}},
    {"complete descriptor and no VP8 payload: parses, not a keyframe",
     {0x90, 0xe0, 0x92, 0x34, 0x05, 0x20},
     {.start_of_partition = true, .has_picture_id = true, .picture_id_15bit = true,
      .picture_id = 0x1234, .has_tl0picidx = true, .tl0picidx = 5, .has_tid = true,
      .layer_sync = true, .start_of_frame = true, .size = 6}},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    const auto d = parse_vp8_descriptor(r.payload);
    REQUIRE(d.has_value());
    const auto& e = r.expected;
    CHECK(d->start_of_partition == e.start_of_partition);
    CHECK(d->partition_index == e.partition_index);
    CHECK(d->non_reference == e.non_reference);
    CHECK(d->has_picture_id == e.has_picture_id);
    CHECK(d->picture_id_15bit == e.picture_id_15bit);
    CHECK(d->picture_id == e.picture_id);
    CHECK(d->has_tl0picidx == e.has_tl0picidx);
    CHECK(d->tl0picidx == e.tl0picidx);
    CHECK(d->has_tid == e.has_tid);
    CHECK(d->tid == e.tid);
    CHECK(d->layer_sync == e.layer_sync);
    CHECK(d->has_keyidx == e.has_keyidx);
    CHECK(d->keyidx == e.keyidx);
    CHECK(d->keyframe == e.keyframe);
    CHECK(d->start_of_frame == e.start_of_frame);
    CHECK(d->size == e.size);
    CHECK(d->keyframe == is_vp8_keyframe(r.payload)); // agrees with rtp/keyframe
  }
}

TEST_CASE("vp8 descriptor: truncated inside the descriptor, at every field") {
  struct truncated_row {
    const char* name;
    bytes payload;
  };
  const truncated_row rows[] = {
    {"empty", {}},
    {"X=1, extension byte missing", {0x90}},
    {"I=1, picture id missing", {0x90, 0x80}},
    {"M=1, second picture id byte missing", {0x90, 0x80, 0x92}},
    {"L=1, TL0PICIDX missing (after 15-bit id)", {0x90, 0xc0, 0x92, 0x34}},
    {"L=1, TL0PICIDX missing (no id)", {0x90, 0x40}},
    {"T=1, T/K byte missing", {0x90, 0xe0, 0x92, 0x34, 0x05}},
    {"K=1, T/K byte missing", {0x90, 0x10}},
    {"7-bit id, L=1, TL0PICIDX missing", {0x90, 0xc0, 0x45}},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    CHECK_FALSE(parse_vp8_descriptor(r.payload).has_value());
  }
  // Every proper prefix of a full Chrome descriptor is truncated; the full one parses.
  const bytes full = {0x90, 0xf0, 0x92, 0x34, 0x05, 0x65};
  for (size_t n = 0; n < full.size(); ++n) {
    CAPTURE(n);
    CHECK_FALSE(parse_vp8_descriptor(std::span(full.data(), n)).has_value());
  }
  CHECK(parse_vp8_descriptor(full).has_value());
}

TEST_CASE("vp8 descriptor: rewrite in place") {
  SUBCASE("15-bit picture id and TL0PICIDX; M stays 1, other bytes untouched") {
    bytes p = {0x90, 0xe0, 0x92, 0x34, 0x05, 0x20, vp8_key, 0x42};
    const auto d = parse_vp8_descriptor(p);
    REQUIRE(d);
    REQUIRE(rewrite_vp8_descriptor(p, *d, 0x7ffe, 0xff));
    CHECK(p == bytes{0x90, 0xe0, 0xff, 0xfe, 0xff, 0x20, vp8_key, 0x42});
    const auto back = parse_vp8_descriptor(p);
    REQUIRE(back);
    CHECK(back->picture_id == 0x7ffe);
    CHECK(back->tl0picidx == 0xff);
    CHECK(back->keyframe);
  }
  SUBCASE("15-bit field: a value above 15 bits keeps its low 15") {
    bytes p = {0x90, 0x80, 0x80, 0x00, vp8_key};
    const auto d = parse_vp8_descriptor(p);
    REQUIRE(rewrite_vp8_descriptor(p, *d, 0x8001, 0));
    CHECK(p == bytes{0x90, 0x80, 0x80, 0x01, vp8_key});
  }
  SUBCASE("7-bit picture id gets the low 7 bits, M stays 0") {
    bytes p = {0x90, 0xc0, 0x45, 0x09, vp8_delta};
    const auto d = parse_vp8_descriptor(p);
    REQUIRE(rewrite_vp8_descriptor(p, *d, 0x1f5, 0x0a));
    CHECK(p == bytes{0x90, 0xc0, 0x75, 0x0a, vp8_delta});
  }
  SUBCASE("TL0PICIDX alone (no picture id)") {
    bytes p = {0x90, 0x60, 0x03, 0x40, vp8_delta};
    const auto d = parse_vp8_descriptor(p);
    REQUIRE(rewrite_vp8_descriptor(p, *d, 0x1234, 0x04));
    CHECK(p == bytes{0x90, 0x60, 0x04, 0x40, vp8_delta});
  }
  SUBCASE("neither field: false, unchanged") {
    bytes p = {0x10, vp8_key};
    const auto d = parse_vp8_descriptor(p);
    CHECK_FALSE(rewrite_vp8_descriptor(p, *d, 1, 1));
    CHECK(p == bytes{0x10, vp8_key});
    bytes q = {0x90, 0x20, 0x40, vp8_key}; // X=1 but only T
    const auto e = parse_vp8_descriptor(q);
    CHECK_FALSE(rewrite_vp8_descriptor(q, *e, 1, 1));
  }
  SUBCASE("payload shorter than the descriptor: false, unchanged") {
    bytes p = {0x90, 0xe0, 0x92, 0x34, 0x05, 0x20, vp8_key};
    const auto d = parse_vp8_descriptor(p);
    bytes cut(p.begin(), p.begin() + 4);
    CHECK_FALSE(rewrite_vp8_descriptor(cut, *d, 7, 7));
    CHECK(cut == bytes{0x90, 0xe0, 0x92, 0x34});
  }
  SUBCASE("descriptor of another layout: false, unchanged") {
    bytes p15 = {0x90, 0xc0, 0x92, 0x34, 0x05, vp8_key};
    bytes p7 = {0x90, 0xc0, 0x12, 0x05, vp8_key, 0x00};
    const auto d15 = parse_vp8_descriptor(p15);
    CHECK_FALSE(rewrite_vp8_descriptor(p7, *d15, 7, 7)); // M differs
    CHECK(p7 == bytes{0x90, 0xc0, 0x12, 0x05, vp8_key, 0x00});
    bytes no_l = {0x90, 0x80, 0x92, 0x34, 0x05, vp8_key};
    CHECK_FALSE(rewrite_vp8_descriptor(no_l, *d15, 7, 7)); // L differs
    bytes no_x = {0x10, 0xc0, 0x92, 0x34, 0x05, vp8_key};
    CHECK_FALSE(rewrite_vp8_descriptor(no_x, *d15, 7, 7)); // X differs
  }
}

namespace {

// A packet as Chrome sends it with temporal layers: X=1; I (M=1, 15-bit), L, T.
bytes pkt(uint16_t pid, uint8_t tl0, uint8_t tid = 0, bool start = true, bool key = false) {
  return {uint8_t(start ? 0x90 : 0x80), 0xe0, uint8_t(0x80 | (pid >> 8)), uint8_t(pid & 0xff),
          tl0, uint8_t(tid << 6), key ? vp8_key : vp8_delta, 0x00};
}
// 7-bit picture id, with L.
bytes pkt7(uint8_t pid, uint8_t tl0) {
  return {0x90, 0xc0, uint8_t(pid & 0x7f), tl0, vp8_delta};
}
// 15-bit picture id without L (no temporal layers).
bytes pkt_no_l(uint16_t pid) {
  return {0x90, 0x80, uint8_t(0x80 | (pid >> 8)), uint8_t(pid & 0xff), vp8_delta};
}

struct cont_step {
  const char* name;
  bool switch_before; // mark_switch() before this packet
  bytes in;
  uint16_t out_pid;
  uint8_t out_tl0;
};

template <std::size_t N>
void run(vp8_continuity& c, const cont_step (&steps)[N]) {
  for (const auto& s : steps) {
    CAPTURE(s.name);
    if (s.switch_before)
      c.mark_switch();
    bytes p = s.in;
    REQUIRE(c.rewrite(p));
    const auto d = parse_vp8_descriptor(p);
    REQUIRE(d);
    const auto before = parse_vp8_descriptor(s.in);
    CHECK(d->picture_id_15bit == before->picture_id_15bit); // width kept
    CHECK(d->size == before->size);
    CHECK(d->picture_id == s.out_pid);
    CHECK(d->tl0picidx == s.out_tl0);
    CHECK(bytes(p.begin() + long(d->size), p.end()) ==
          bytes(s.in.begin() + long(d->size), s.in.end())); // VP8 payload untouched
  }
}

} // namespace

TEST_CASE("vp8 continuity: switches between encodings with higher and lower ids") {
  vp8_continuity c;
  const cont_step steps[] = {
    {"A first packet: nothing output yet, kept", false, pkt(100, 5, 0, true, true), 100, 5},
    {"A same frame, second packet", false, pkt(100, 5, 0, false), 100, 5},
    {"A next frame, TID 1", false, pkt(101, 5, 1), 101, 5},
    {"A next base frame", false, pkt(102, 6, 0), 102, 6},
    // B's numbers are far higher.
    {"B keyframe: highest + 1", true, pkt(20000, 200, 0, true, true), 103, 7},
    {"B same frame", false, pkt(20000, 200, 0, false), 103, 7},
    {"B next frame", false, pkt(20001, 200, 2), 104, 7},
    {"B retransmission of its keyframe's packet maps the same", false, pkt(20000, 200, 0, false),
     103, 7},
    {"B base frame", false, pkt(20002, 201, 0), 105, 8},
    // C's numbers are lower than everything so far.
    {"C keyframe: highest + 1", true, pkt(3, 1, 0, true, true), 106, 9},
    {"C next", false, pkt(4, 2, 0), 107, 10},
    // Back to A, whose numbers went on meanwhile.
    {"A again: highest + 1", true, pkt(180, 40, 0, true, true), 108, 11},
    {"A next", false, pkt(181, 40, 1), 109, 11},
  };
  run(c, steps);
}

TEST_CASE("vp8 continuity: wraps of the picture id (32767 -> 0) and TL0PICIDX (255 -> 0)") {
  SUBCASE("inside one source") {
    vp8_continuity c;
    const cont_step steps[] = {
      {"A 32766", false, pkt(32766, 254), 32766, 254},
      {"A 32767", false, pkt(32767, 255), 32767, 255},
      {"A wraps", false, pkt(0, 0), 0, 0},
      {"A late packet of 32767 (reordered)", false, pkt(32767, 255, 0, false), 32767, 255},
      {"B after the wrap continues from 0, not from 32767", true, pkt(9000, 77), 1, 1},
    };
    run(c, steps);
  }
  SUBCASE("the switch lands on the wrap") {
    vp8_continuity c;
    const cont_step steps[] = {
      {"A 32767 / 255", false, pkt(32767, 255), 32767, 255},
      {"B: highest + 1 wraps to 0 / 0", true, pkt(500, 17), 0, 0},
      {"B next", false, pkt(501, 18), 1, 1},
    };
    run(c, steps);
  }
  SUBCASE("the offset wraps: a new source below the output") {
    vp8_continuity c;
    const cont_step steps[] = {
      {"A high", false, pkt(30000, 250), 30000, 250},
      {"B low ids: out = in - offset modulo 2^15", true, pkt(10, 3), 30001, 251},
      {"B runs past the output's wrap", false, pkt(10 + 2767, 3 + 5), 0, 0},
      {"B next", false, pkt(10 + 2768, 3 + 6), 1, 1},
    };
    run(c, steps);
  }
  SUBCASE("a new source whose input wraps") {
    vp8_continuity c;
    const cont_step steps[] = {
      {"A", false, pkt(50, 50), 50, 50},
      {"B just before its wrap", true, pkt(32767, 255), 51, 51},
      {"B wraps, output does not", false, pkt(0, 0), 52, 52},
      {"B", false, pkt(1, 1), 53, 53},
    };
    run(c, steps);
  }
}

TEST_CASE("vp8 continuity: older packets do not lower the highest output") {
  vp8_continuity c;
  const cont_step steps[] = {
    {"A 10", false, pkt(10, 1), 10, 1},
    {"A 12", false, pkt(12, 2), 12, 2},
    {"A 11 late", false, pkt(11, 1), 11, 1},
    {"B continues from 12, not 11", true, pkt(7000, 90), 13, 3},
  };
  run(c, steps);
}

TEST_CASE("vp8 continuity: 7-bit picture ids") {
  vp8_continuity c;
  const cont_step steps[] = {
    {"A 7-bit 126", false, pkt7(126, 4), 126, 4},
    {"A 7-bit 127", false, pkt7(127, 5), 127, 5},
    {"A wraps 127 -> 0", false, pkt7(0, 6), 0, 6},
    {"B 7-bit: highest + 1 modulo 2^7", true, pkt7(90, 200), 1, 7},
    {"B 7-bit runs past 127", false, pkt7(127, 201), 38, 8},
    {"B 7-bit", false, pkt7(0, 202), 39, 9},
    // A 15-bit source after a 7-bit one continues the low bits the receiver saw.
    {"C 15-bit", true, pkt(20000, 30), 40, 10},
    {"C 15-bit next", false, pkt(20001, 30), 41, 10},
    // And a 7-bit source after a 15-bit one at 32767 continues at 0.
    {"D 15-bit", true, pkt(32767, 0), 42, 11},
  };
  run(c, steps);

  vp8_continuity w;
  const cont_step steps2[] = {
    {"15-bit at 0x7fff", false, pkt(0x7fff, 1), 0x7fff, 1},
    {"7-bit source after it: (0x7fff + 1) mod 2^7 = 0", true, pkt7(33, 9), 0, 2},
    {"7-bit next", false, pkt7(34, 9), 1, 2},
  };
  run(w, steps2);
}

TEST_CASE("vp8 continuity: fields appear independently; packets without them pass") {
  vp8_continuity c;
  // Nothing to rewrite: forwarded unchanged, and the pending switch waits for a picture id.
  bytes minimal = {0x10, vp8_key, 0x01};
  REQUIRE(c.rewrite(minimal));
  CHECK(minimal == bytes{0x10, vp8_key, 0x01});
  bytes only_t = {0x90, 0x20, 0x40, vp8_delta};
  REQUIRE(c.rewrite(only_t));
  CHECK(only_t == bytes{0x90, 0x20, 0x40, vp8_delta});

  const cont_step steps[] = {
    {"A picture id only (no L)", false, pkt_no_l(1000), 1000, 0},
    {"A next", false, pkt_no_l(1001), 1001, 0},
    {"B has L: TL0PICIDX kept (nothing output yet)", true, pkt(5, 77), 1002, 77},
    {"B next", false, pkt(6, 78), 1003, 78},
    {"C without L: picture id continues", true, pkt_no_l(400), 1004, 0},
    {"C later gets temporal layers: TL0PICIDX continues from 78", false, pkt(401, 3), 1005, 79},
    {"C next base frame", false, pkt(402, 4), 1006, 80},
  };
  run(c, steps);

  // A payload that does not parse: false, unchanged.
  bytes truncated = {0x90, 0xe0, 0x92};
  CHECK_FALSE(c.rewrite(truncated));
  CHECK(truncated == bytes{0x90, 0xe0, 0x92});
  bytes empty;
  CHECK_FALSE(c.rewrite(empty));
}

TEST_CASE("vp8 continuity: a switch before any output keeps the input") {
  vp8_continuity c;
  c.mark_switch();
  c.mark_switch();
  const cont_step steps[] = {
    {"first ever packet, after switches", false, pkt(12345, 99), 12345, 99},
    {"switch to a higher source", true, pkt(30000, 200), 12346, 100},
  };
  run(c, steps);
}

TEST_CASE("vp8 continuity: tags replay the rewrite a packet first had") {
  vp8_continuity c;
  CHECK(c.tag() == 0);
  bytes a1 = pkt(100, 5);
  REQUIRE(c.rewrite(a1));
  const uint32_t tag_a = c.tag();
  CHECK(tag_a == 0); // first source: unchanged

  c.mark_switch();
  bytes b1 = pkt(20000, 200, 0, true, true);
  REQUIRE(c.rewrite(b1)); // -> 101 / 6
  const uint32_t tag_b = c.tag();
  CHECK(tag_b == (uint32_t(20000 - 101) | (uint32_t(200 - 6) << 16)));

  c.mark_switch();
  bytes c1 = pkt(32000, 3, 0, true, true);
  REQUIRE(c.rewrite(c1)); // -> 102 / 7: the offset wraps modulo 2^15 and 2^8
  CHECK(c.tag() == (uint32_t(32000 - 102) | (uint32_t(uint8_t(3 - 7)) << 16)));

  // Retransmissions of B's and A's packets after the switch to C: as first sent.
  bytes b1_again = pkt(20000, 200, 0, true, true);
  REQUIRE(vp8_continuity::apply_tag(b1_again, tag_b));
  CHECK(b1_again == b1);
  bytes a1_again = pkt(100, 5);
  REQUIRE(vp8_continuity::apply_tag(a1_again, tag_a));
  CHECK(a1_again == a1);
  // A 7-bit packet takes the picture id offset modulo 2^7.
  bytes seven = pkt7(5, 9);
  REQUIRE(vp8_continuity::apply_tag(seven, tag_b));
  const auto d7 = parse_vp8_descriptor(seven);
  CHECK(d7->picture_id == uint16_t(5 - (20000 - 101)) % 128);
  CHECK(d7->tl0picidx == uint8_t(9 - (200 - 6)));
  // Nothing to rewrite / does not parse.
  bytes minimal = {0x10, vp8_key};
  CHECK(vp8_continuity::apply_tag(minimal, tag_b));
  CHECK(minimal == bytes{0x10, vp8_key});
  bytes truncated = {0x90, 0x80};
  CHECK_FALSE(vp8_continuity::apply_tag(truncated, tag_b));
  // apply_tag left the continuity's state alone: C goes on.
  bytes c2 = pkt(32001, 3);
  REQUIRE(c.rewrite(c2));
  CHECK(parse_vp8_descriptor(c2)->picture_id == 103);
}
