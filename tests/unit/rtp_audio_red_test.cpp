// RED (RFC 2198): parsing a payload into its blocks, mapping the blocks' payload types,
// and the encoder that repeats a plain stream's previous payloads.
#include "rtp/audio_red.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace chorus::rtp;

namespace {

std::vector<uint8_t> bytes_of(std::span<const uint8_t> s) { return {s.begin(), s.end()}; }

std::vector<uint8_t> filled(size_t n, uint8_t first) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = uint8_t(first + i);
  return v;
}

// RFC 2198 section 3's figure: one redundant block of LPC (PT 7, 14 bytes) 160 samples
// back, then the primary DVI4 (PT 5). Header: F=1, PT 7, offset 160 = 0b00000010100000,
// length 14 = 0b0000001110.
std::vector<uint8_t> rfc2198_example() {
  std::vector<uint8_t> p = {0x87, 0x02, 0x80, 0x0E, 0x05};
  auto lpc = filled(14, 0x10);
  auto dvi = filled(20, 0x40);
  p.insert(p.end(), lpc.begin(), lpc.end());
  p.insert(p.end(), dvi.begin(), dvi.end());
  return p;
}

// As libwebrtc sends Opus in RED: PT 63 outside, 111 inside, the previous 20 ms frame
// (960 samples at 48 kHz = 0x3C0: 0x0F, 0x00 | length's top bits).
std::vector<uint8_t> libwebrtc_opus_distance_1() {
  std::vector<uint8_t> p = {0xEF, 0x0F, 0x00, 0x03, 0x6F, 0x48, 0x01, 0x02, 0x48, 0x0A, 0x0B, 0x0C};
  return p;
}

} // namespace

TEST_CASE("parse_red: table") {
  struct row {
    const char* name;
    std::vector<uint8_t> payload;
    bool ok;
    size_t blocks;
    std::vector<uint8_t> types;
    std::vector<uint16_t> offsets;
    std::vector<size_t> lengths;
  };
  auto big_header = [] { // length 0x3FF in the header: runs past the payload
    return std::vector<uint8_t>{0xEF, 0x0F, 0x03, 0xFF, 0x6F, 1, 2, 3};
  };
  std::vector<uint8_t> seventeen;
  for (int i = 0; i < 16; ++i)
    seventeen.insert(seventeen.end(), {0xEF, 0x0F, 0x00, 0x00});
  seventeen.push_back(0x6F);
  std::vector<uint8_t> sixteen(seventeen.begin() + 4, seventeen.end());
  const std::vector<row> rows = {
    {"RFC 2198's example", rfc2198_example(), true, 2, {7, 5}, {160, 0}, {14, 20}},
    {"libwebrtc's Opus, distance 1", libwebrtc_opus_distance_1(), true, 2, {111, 111}, {960, 0}, {3, 4}},
    {"primary alone", {0x6F, 0x48, 0x01}, true, 1, {111}, {0}, {2}},
    {"primary alone, empty", {0x6F}, true, 1, {111}, {0}, {0}},
    {"redundant block, empty primary", {0xEF, 0x0F, 0x00, 0x01, 0x6F, 0x48}, true, 2, {111, 111}, {960, 0}, {1, 0}},
    {"largest offset and length fields", [] {
       std::vector<uint8_t> p = {0xEF, 0xFF, 0xFF, 0xFF, 0x6F};
       p.resize(5 + 0x3FF + 2, 0x55);
       return p;
     }(), true, 2, {111, 111}, {0x3FFF, 0}, {0x3FF, 2}},
    {"sixteen blocks", sixteen, true, 16, {}, {}, {}},
    {"seventeen blocks", seventeen, false, 0, {}, {}, {}},
    {"empty payload", {}, false, 0, {}, {}, {}},
    {"header chain never ends", {0xEF, 0x0F, 0x00, 0x00}, false, 0, {}, {}, {}},
    {"redundant header cut short", {0xEF, 0x0F, 0x00}, false, 0, {}, {}, {}},
    {"block length past the payload", big_header(), false, 0, {}, {}, {}},
  };
  for (const auto& r : rows) {
    const std::string name = r.name;
    CAPTURE(name);
    auto parsed = parse_red(r.payload);
    REQUIRE(parsed.has_value() == r.ok);
    if (!r.ok)
      continue;
    CHECK(parsed->count == r.blocks);
    for (size_t i = 0; i < r.types.size(); ++i) {
      CAPTURE(i);
      CHECK(parsed->blocks[i].payload_type == r.types[i]);
      CHECK(parsed->blocks[i].timestamp_offset == r.offsets[i]);
      CHECK(parsed->blocks[i].data.size() == r.lengths[i]);
    }
  }
  auto rfc = rfc2198_example();
  auto parsed = parse_red(rfc);
  REQUIRE(parsed);
  CHECK(bytes_of(parsed->blocks[0].data) == filled(14, 0x10));
  CHECK(bytes_of(parsed->primary().data) == filled(20, 0x40));
}

TEST_CASE("map_red_payload_types: every block's type, or nothing") {
  std::array<int16_t, 128> map;
  map.fill(-1);
  map[111] = 100;
  auto p = libwebrtc_opus_distance_1();
  REQUIRE(map_red_payload_types(p, map));
  auto parsed = parse_red(p);
  REQUIRE(parsed);
  CHECK(parsed->blocks[0].payload_type == 100);
  CHECK(parsed->primary().payload_type == 100);
  CHECK(p[0] == (0x80 | 100)); // F bit kept
  CHECK(bytes_of(parsed->primary().data) == std::vector<uint8_t>{0x48, 0x0A, 0x0B, 0x0C});

  SUBCASE("a block of a type not known: unchanged") {
    auto q = rfc2198_example();
    const auto before = q;
    CHECK_FALSE(map_red_payload_types(q, map));
    CHECK(q == before);
  }
  SUBCASE("a payload that does not parse: unchanged") {
    std::vector<uint8_t> q = {0xEF, 0x0F};
    CHECK_FALSE(map_red_payload_types(q, map));
    CHECK(q == std::vector<uint8_t>{0xEF, 0x0F});
  }
}

TEST_CASE("write_red_alone: one block, the primary") {
  std::vector<uint8_t> out(8);
  const std::vector<uint8_t> primary = {0x48, 1, 2};
  REQUIRE(write_red_alone(100, primary, out) == 4);
  auto parsed = parse_red(std::span(out.data(), 4));
  REQUIRE(parsed);
  CHECK(parsed->count == 1);
  CHECK(parsed->primary().payload_type == 100);
  CHECK(bytes_of(parsed->primary().data) == primary);
  CHECK(write_red_alone(100, primary, std::span(out.data(), 3)) == 0); // no room
}

namespace {

struct wrapped {
  std::vector<uint16_t> offsets; // redundant blocks, oldest first
  std::vector<std::vector<uint8_t>> data;
  std::vector<uint8_t> primary;
};

wrapped wrap(red_encoder& e, uint16_t seq, uint32_t ts, const std::vector<uint8_t>& primary) {
  std::vector<uint8_t> out(red_encoder::max_size(primary.size()));
  const size_t n = e.wrap(seq, ts, primary, out);
  REQUIRE(n > 0);
  auto parsed = parse_red(std::span(out.data(), n));
  REQUIRE(parsed);
  wrapped w;
  for (size_t i = 0; i + 1 < parsed->count; ++i) {
    CHECK(parsed->blocks[i].payload_type == e.payload_type());
    w.offsets.push_back(parsed->blocks[i].timestamp_offset);
    w.data.push_back(bytes_of(parsed->blocks[i].data));
  }
  CHECK(parsed->primary().payload_type == e.payload_type());
  w.primary = bytes_of(parsed->primary().data);
  return w;
}

} // namespace

TEST_CASE("red_encoder: the previous packets, oldest first, within bounds") {
  const auto a = filled(30, 0x00), b = filled(40, 0x40), c = filled(50, 0x80), d = filled(60, 0xC0);

  SUBCASE("a stream in order: distance 2 once there are two before") {
    red_encoder e(100, 2);
    auto w1 = wrap(e, 10, 1000, a);
    CHECK(w1.offsets.empty());
    CHECK(w1.primary == a);
    auto w2 = wrap(e, 11, 1960, b);
    CHECK(w2.offsets == std::vector<uint16_t>{960});
    CHECK(w2.data == std::vector<std::vector<uint8_t>>{a});
    auto w3 = wrap(e, 12, 2920, c);
    CHECK(w3.offsets == std::vector<uint16_t>{1920, 960});
    CHECK(w3.data == std::vector<std::vector<uint8_t>>{a, b});
    CHECK(w3.primary == c);
    auto w4 = wrap(e, 13, 3880, d);
    CHECK(w4.data == std::vector<std::vector<uint8_t>>{b, c});
  }
  SUBCASE("distance 1") {
    red_encoder e(100, 1);
    wrap(e, 10, 1000, a);
    wrap(e, 11, 1960, b);
    auto w = wrap(e, 12, 2920, c);
    CHECK(w.data == std::vector<std::vector<uint8_t>>{b});
  }
  SUBCASE("a lost packet before: only what is within the distance") {
    red_encoder e(100, 2);
    wrap(e, 10, 1000, a);
    wrap(e, 11, 1960, b);
    auto w = wrap(e, 13, 3880, d); // 12 never came: 11 is 2 back, 10 is 3 back
    CHECK(w.data == std::vector<std::vector<uint8_t>>{b});
    CHECK(w.offsets == std::vector<uint16_t>{1920});
  }
  SUBCASE("sequence numbers across the wrap") {
    red_encoder e(100, 2);
    wrap(e, 65535, 1000, a);
    auto w = wrap(e, 0, 1960, b);
    CHECK(w.data == std::vector<std::vector<uint8_t>>{a});
  }
  SUBCASE("a DTX gap longer than the 14-bit offset: no redundancy") {
    red_encoder e(100, 2);
    wrap(e, 10, 1000, a);
    auto w = wrap(e, 11, 1000 + 0x4000, b);
    CHECK(w.offsets.empty());
  }
  SUBCASE("the same timestamp (a packet without a clock step): not repeated") {
    red_encoder e(100, 2);
    wrap(e, 10, 1000, a);
    CHECK(wrap(e, 11, 1000, b).offsets.empty());
  }
  SUBCASE("a late packet: wrapped, but not remembered over a newer one") {
    red_encoder e(100, 2);
    wrap(e, 10, 1000, a);
    wrap(e, 12, 2920, c);
    auto late = wrap(e, 11, 1960, b);
    CHECK(late.data == std::vector<std::vector<uint8_t>>{a});
    auto next = wrap(e, 13, 3880, d);
    CHECK(next.data == std::vector<std::vector<uint8_t>>{c}); // 11 was not remembered
  }
  SUBCASE("the payload bound: the most recent kept, the older dropped") {
    red_encoder e(100, 2);
    const auto big = filled(400, 1);
    wrap(e, 10, 1000, big);
    wrap(e, 11, 1960, big);
    auto w = wrap(e, 12, 2920, filled(300, 7)); // 1 + 300 + 404 fits, + 404 more does not
    CHECK(w.data.size() == 1);
    CHECK(w.offsets == std::vector<uint16_t>{960});
  }
  SUBCASE("a payload too long to repeat (over 1023 bytes)") {
    red_encoder e(100, 2);
    wrap(e, 10, 1000, filled(1100, 0));
    auto w = wrap(e, 11, 1960, a);
    CHECK(w.offsets.empty());
    CHECK(w.primary == a);
  }
  SUBCASE("out too small: nothing written") {
    red_encoder e(100, 2);
    std::vector<uint8_t> out(10);
    CHECK(e.wrap(10, 1000, a, out) == 0);
  }
}

TEST_CASE("red_converter: each receiver's form from either") {
  const std::vector<uint8_t> a = {0x48, 1, 2}, b = {0x48, 3, 4, 5};
  std::vector<uint8_t> out(red_converter::max_output(64));

  SUBCASE("to a RED receiver: plain Opus wrapped, with the one before") {
    red_converter c(111, 100, true, 0);
    CHECK(c.output_payload_type() == 111);
    CHECK(c.converts(100));
    CHECK_FALSE(c.converts(111)); // RED passes as it is
    REQUIRE(c.convert(1, 960, a, false, 0, out));
    auto n = c.convert(2, 1920, b, false, 0, out);
    REQUIRE(n);
    auto red = parse_red(std::span(out.data(), *n));
    REQUIRE(red);
    REQUIRE(red->count == 2);
    CHECK(bytes_of(red->blocks[0].data) == a);
    CHECK(bytes_of(red->primary().data) == b);
    CHECK(red->primary().payload_type == 100);
  }
  SUBCASE("to a RED receiver, a retransmission: the primary alone, the history kept") {
    red_converter c(111, 100, true, 0);
    REQUIRE(c.convert(1, 960, a, false, 0, out));
    auto n = c.convert(1, 960, a, true, 0, out);
    REQUIRE(n);
    auto red = parse_red(std::span(out.data(), *n));
    REQUIRE(red);
    CHECK(red->count == 1);
    n = c.convert(2, 1920, b, false, 0, out);
    red = parse_red(std::span(out.data(), *n));
    REQUIRE(red);
    CHECK(red->count == 2);
  }
  SUBCASE("to an Opus receiver: RED's primary") {
    red_converter c(111, 100, false, 0);
    CHECK(c.output_payload_type() == 100);
    CHECK(c.converts(111));
    CHECK_FALSE(c.converts(100));
    std::vector<uint8_t> red = {0xE4, 0x0F, 0x00, 0x03, 0x64};
    red.insert(red.end(), a.begin(), a.end());
    red.insert(red.end(), b.begin(), b.end());
    auto n = c.convert(2, 1920, red, false, 0, out);
    REQUIRE(n);
    CHECK(std::vector<uint8_t>(out.begin(), out.begin() + long(*n)) == b);
  }
  SUBCASE("to an Opus receiver: RED that cannot be unwrapped") {
    red_converter c(111, 100, false, 0);
    const std::vector<std::vector<uint8_t>> bad = {
      {0xE4, 0x0F},             // cut short
      {0x64},                   // an empty primary
      {0x65, 0x48, 0x01},       // a primary of another payload type
    };
    for (const auto& p : bad)
      CHECK_FALSE(c.convert(1, 960, p, false, 0, out));
  }
}

TEST_CASE("red_protection: redundancy while the link loses, none once it has been clean") {
  const std::vector<uint8_t> a = {0x48, 1, 2}, b = {0x48, 3, 4, 5}, c3 = {0x48, 6};
  std::vector<uint8_t> out(red_converter::max_output(64));
  auto blocks = [&](red_converter& c, uint16_t seq, const std::vector<uint8_t>& p, int64_t now) {
    auto n = c.convert(seq, uint32_t(seq) * 960, p, false, now, out);
    REQUIRE(n);
    auto red = parse_red(std::span(out.data(), *n));
    REQUIRE(red);
    return red->count;
  };
  struct row {
    const char* name;
    int64_t loss_at; // -1: none after the start
    int64_t now;
    size_t blocks;   // of the third packet
  };
  const std::vector<row> rows = {
    {"from the start: all of it", -1, 0, 3},
    {"just inside the hold after the start", -1, red_protection::hold_ms - 1, 3},
    {"a clean link for the hold: the primary alone", -1, red_protection::hold_ms, 1},
    {"a loss renews the hold", red_protection::hold_ms, red_protection::hold_ms + 5000, 3},
    {"clean again for the hold after the loss", red_protection::hold_ms, 2 * red_protection::hold_ms, 1},
  };
  for (const auto& r : rows) {
    const std::string name = r.name;
    CAPTURE(name);
    red_converter c(111, 100, true, 0);
    if (r.loss_at >= 0)
      c.on_loss(r.loss_at);
    blocks(c, 1, a, r.now);
    blocks(c, 2, b, r.now);
    CHECK(blocks(c, 3, c3, r.now) == r.blocks);
    CHECK(c.distance() == r.blocks - 1);
  }
  red_protection p(1000);
  CHECK(p.distance(1000) == red_encoder::max_distance);
  CHECK(p.distance(1000 + red_protection::hold_ms) == 0);
}
