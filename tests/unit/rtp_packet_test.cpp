// RTP packet view (RFC 3550 §5.1), header extensions (RFC 8285), rewriting, RTX (RFC 4588).
#include "rtp/rtp_packet.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace chorus::rtp;

namespace {

using bytes = std::vector<uint8_t>;

// V=2 X=1 CC=1, M=1 PT=96, seq 65535, one-byte extensions, 3 bytes of payload.
const bytes one_byte_packet = {
  0x91, 0xe0, 0xff, 0xff, // V=2 P=0 X=1 CC=1 | M=1 PT=96 | seq 0xffff
  0x00, 0x01, 0x02, 0x03, // timestamp 0x00010203
  0x11, 0x22, 0x33, 0x44, // SSRC
  0x55, 0x66, 0x77, 0x88, // CSRC[0]
  0xbe, 0xde, 0x00, 0x03, // one-byte profile, 3 words
  0x22, 0xab, 0xcd, 0xef, // id 2 len 3: abs-send-time 0xabcdef
  0x31, 0x01, 0x02,       // id 3 len 2: transport-wide seq 0x0102
  0x10, 0xd5,             // id 1 len 1: audio level V=1 level 85
  0x41, 'a', 'b',         // id 4 len 2: mid "ab"
  0x01, 0x02, 0x03,       // payload
};

// Two-byte extensions (profile 0x1000), PT=111, one payload byte.
const bytes two_byte_packet = {
  0x90, 0x6f, 0x00, 0x01, // V=2 X=1 CC=0 | M=0 PT=111 | seq 1
  0x00, 0x00, 0x00, 0x00, // timestamp 0
  0x00, 0x00, 0x00, 0x01, // SSRC 1
  0x10, 0x00, 0x00, 0x02, // two-byte profile, 2 words
  0x07, 0x00,             // id 7 len 0 (allowed in the two-byte form)
  0x00,                   // padding
  0x0f, 0x03, 'r', '0', '1', // id 15 len 3: rid "r01"
  0xff,                   // payload
};

// No extension, padding: 2 bytes of payload then 3 bytes of padding (count 3).
const bytes padded_packet = {
  0xa0, 0x60, 0x12, 0x34, // V=2 P=1 | PT=96 | seq 0x1234
  0x00, 0x00, 0x00, 0x64, // timestamp 100
  0xde, 0xad, 0xbe, 0xef, // SSRC
  0x01, 0x02,             // payload
  0x00, 0x00, 0x03,       // padding, count 3
};

} // namespace

TEST_CASE("rtp_packet: parse fixed header, CSRC and one-byte extensions") {
  bytes b = one_byte_packet;
  auto p = rtp_packet::parse(b);
  REQUIRE(p.ok());
  CHECK(p->marker());
  CHECK(p->payload_type() == 96);
  CHECK(p->sequence_number() == 0xffff);
  CHECK(p->timestamp() == 0x00010203u);
  CHECK(p->ssrc() == 0x11223344u);
  CHECK(p->csrc_count() == 1);
  CHECK(p->csrc(0) == 0x55667788u);
  CHECK(p->ext_form() == extension_form::one_byte);
  CHECK(p->header_size() == 32);
  CHECK(p->payload().size() == 3);
  CHECK(p->payload()[0] == 0x01);
  CHECK(p->abs_send_time(2) == 0xabcdefu);
  CHECK(p->transport_wide_seq(3) == 0x0102);
  CHECK(p->audio_level_of(1) == audio_level{true, 85});
  CHECK(p->mid(4) == std::string_view("ab"));
  CHECK_FALSE(p->find_extension(9).has_value());
  CHECK_FALSE(p->find_extension(0).has_value());
  CHECK_FALSE(p->abs_send_time(3).has_value()); // wrong size for abs-send-time
  CHECK_FALSE(p->set_abs_send_time(3, 0x123456)); // the 2-byte transport-wide element
  CHECK_FALSE(p->set_abs_send_time(9, 0x123456)); // absent: never added
  CHECK(p->set_abs_send_time(2, 0x123456));
  CHECK(p->abs_send_time(2) == 0x123456u);
  CHECK(p->transport_wide_seq(3) == 0x0102); // neighbours untouched


  std::vector<uint8_t> ids;
  auto it = p->extensions();
  while (auto e = it.next()) ids.push_back(e->id);
  CHECK(ids == std::vector<uint8_t>{2, 3, 1, 4});

  // MID rewrite: same length in place; another length disables the element; absent.
  const uint8_t same[] = {'x', 'y'};
  CHECK(p->rewrite_extension(4, same) == rtp_packet::rewrite_result::replaced);
  CHECK(p->mid(4) == std::string_view("xy"));
  CHECK(p->rewrite_extension(9, same) == rtp_packet::rewrite_result::absent);
  const uint8_t longer[] = {'1', '2', '3'};
  CHECK(p->rewrite_extension(4, longer) == rtp_packet::rewrite_result::disabled);
  CHECK_FALSE(p->mid(4).has_value());
  CHECK(p->transport_wide_seq(3) == 0x0102);
  CHECK(p->abs_send_time(2) == 0x123456u);
  CHECK(p->payload().size() == 3); // the packet keeps its length
}

TEST_CASE("rtp_packet: parse two-byte extensions and padding") {
  bytes b = two_byte_packet;
  auto p = rtp_packet::parse(b);
  REQUIRE(p.ok());
  CHECK(p->ext_form() == extension_form::two_byte);
  CHECK(p->find_extension(7).has_value());
  CHECK(p->find_extension(7)->empty());
  CHECK(p->rid(15) == std::string_view("r01"));
  CHECK(p->payload().size() == 1);

  bytes c = padded_packet;
  auto q = rtp_packet::parse(c);
  REQUIRE(q.ok());
  CHECK(q->has_padding());
  CHECK(q->padding_size() == 3);
  CHECK(q->payload().size() == 2);
  CHECK(q->ext_form() == extension_form::none);
}

TEST_CASE("rtp_packet: one-byte id 15 stops parsing of the block") {
  bytes b = {
    0x90, 0x60, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0xbe, 0xde, 0x00, 0x02, // one-byte profile, 2 words
    0x10, 0xaa,             // id 1 len 1
    0xf0,                   // id 15: stop
    0x20, 0xbb,             // (not an element) id 2 len 1
    0x00, 0x00, 0x00,       // rest of the block
  };
  auto p = rtp_packet::parse(b);
  REQUIRE(p.ok());
  CHECK(p->find_extension(1).has_value());
  CHECK_FALSE(p->find_extension(2).has_value());
}

TEST_CASE("rtp_packet: malformed packets (table)") {
  struct row {
    const char* name;
    bytes data;
    rtp_error error;
  };
  const row rows[] = {
    {"11 bytes", {0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0}, rtp_error::truncated},
    {"version 1", {0x40, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, rtp_error::bad_version},
    {"CC=2 without CSRCs", {0x82, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2},
     rtp_error::truncated},
    {"X=1 without extension header", {0x90, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde},
     rtp_error::truncated},
    {"extension length past the packet",
     {0x90, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0x00, 0x02, 0x10, 0xaa, 0, 0},
     rtp_error::bad_extension},
    {"one-byte element past the block",
     {0x90, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0x00, 0x01, 0x33, 0xaa, 0xbb, 0xcc},
     rtp_error::bad_extension},
    {"two-byte element header cut",
     {0x90, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x10, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05},
     rtp_error::bad_extension},
    {"padding count 0", {0xa0, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xaa, 0x00},
     rtp_error::bad_padding},
    {"padding larger than the body", {0xa0, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xaa, 0x05},
     rtp_error::bad_padding},
    {"P=1 without a count octet", {0xa0, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1},
     rtp_error::bad_padding},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    bytes b = r.data;
    auto p = rtp_packet::parse(b);
    REQUIRE_FALSE(p.ok());
    CHECK(p.error() == r.error);
    CHECK_FALSE(to_string(r.error).empty());
  }
}

TEST_CASE("rtp_packet: parse_header reads no padding (a protected packet's count is encrypted)") {
  // The padding rows above, as SRTP leaves them: the header stands, the payload runs to the
  // end, nothing is read from the last byte; the header's own errors stay errors.
  for (const bytes& data : {bytes{0xa0, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xaa, 0x00},
                            bytes{0xa0, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xaa, 0x05},
                            bytes{0xa0, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}}) {
    CAPTURE(data.size());
    bytes b = data;
    auto p = rtp_packet::parse_header(b);
    REQUIRE(p.ok());
    CHECK(p->header_size() == 12);
    CHECK(p->payload().size() == b.size() - 12);
    CHECK_FALSE(p->has_padding());
  }
  bytes cut = {0x90, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde};
  CHECK(rtp_packet::parse_header(cut).error() == rtp_error::truncated);
  // A well-formed padded packet: parse strips the padding, parse_header keeps it as payload.
  bytes padded = {0xa0, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xaa, 0xbb, 0x00, 0x02};
  auto full = rtp_packet::parse(padded);
  auto head = rtp_packet::parse_header(padded);
  REQUIRE(full.ok());
  REQUIRE(head.ok());
  CHECK(full->payload().size() == 2);
  CHECK(full->padding_size() == 2);
  CHECK(head->payload().size() == 4);
}

TEST_CASE("rtp_packet: header rewriting in place") {
  bytes b = one_byte_packet;
  auto p = rtp_packet::parse(b);
  REQUIRE(p.ok());
  p->set_payload_type(100);
  p->set_sequence_number(0x0000);
  p->set_timestamp(0xfffffffe);
  p->set_ssrc(0xcafebabe);
  CHECK(p->marker()); // kept by set_payload_type
  p->set_marker(false);
  CHECK(b[1] == 100);
  CHECK(b[2] == 0x00);
  CHECK(b[3] == 0x00);
  CHECK(bytes(b.begin() + 4, b.begin() + 12) ==
        bytes{0xff, 0xff, 0xff, 0xfe, 0xca, 0xfe, 0xba, 0xbe});
  CHECK(p->payload_type() == 100);
  CHECK(p->sequence_number() == 0);
  CHECK(p->timestamp() == 0xfffffffeu);
  CHECK(p->ssrc() == 0xcafebabeu);

  CHECK(p->set_transport_wide_seq(3, 0xbeef));
  CHECK(b[25] == 0xbe);
  CHECK(b[26] == 0xef);
  CHECK(p->transport_wide_seq(3) == 0xbeef);
  CHECK_FALSE(p->set_transport_wide_seq(2, 1)); // 3-byte element: not a transport-wide seq
  CHECK_FALSE(p->set_transport_wide_seq(9, 1)); // absent: never added
}

TEST_CASE("rtp_packet: find_extensions finds two elements' values in one walk (table)") {
  struct row {
    const char* name;
    const bytes* packet;
    uint8_t id_a, id_b;
    size_t offset_a, size_a; // offset into the packet; size 0: empty span
    size_t offset_b, size_b;
  };
  const row rows[] = {
    // one_byte_packet: id 2 (3 bytes) at 21, id 3 (2 bytes) at 25, id 1 at 28, id 4 at 30
    {"transport-wide and abs-send-time", &one_byte_packet, 3, 2, 25, 2, 21, 3},
    {"the other order", &one_byte_packet, 2, 3, 21, 3, 25, 2},
    {"the last element", &one_byte_packet, 4, 0, 30, 2, 0, 0},
    {"one absent", &one_byte_packet, 9, 1, 0, 0, 28, 1},
    {"both absent", &one_byte_packet, 9, 10, 0, 0, 0, 0},
    {"id 0 is never an element", &one_byte_packet, 0, 0, 0, 0, 0, 0},
    // two_byte_packet: id 7 (empty) at 18, id 15 (3 bytes) at 21, padding between
    {"two-byte form, past padding", &two_byte_packet, 15, 7, 21, 3, 0, 0},
    {"no extension block", &padded_packet, 3, 2, 0, 0, 0, 0},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    bytes b = *r.packet;
    auto p = rtp_packet::parse(b);
    REQUIRE(p.ok());
    const auto v = p->find_extensions(r.id_a, r.id_b);
    CHECK(v.a.size() == r.size_a);
    CHECK(v.b.size() == r.size_b);
    if (r.size_a > 0)
      CHECK(v.a.data() == b.data() + r.offset_a);
    if (r.size_b > 0)
      CHECK(v.b.data() == b.data() + r.offset_b);
  }
}

TEST_CASE("rtp_packet: write_transport_wide_seq and write_abs_send_time write only a value of their size") {
  bytes b = one_byte_packet;
  auto p = rtp_packet::parse(b);
  REQUIRE(p.ok());
  const auto v = p->find_extensions(3, 2);
  CHECK(write_transport_wide_seq(v.a, 0xfffe));
  CHECK(write_abs_send_time(v.b, 0xffffff));
  CHECK(p->transport_wide_seq(3) == 0xfffe);
  CHECK(p->abs_send_time(2) == 0xffffffu);
  const bytes before = b;
  CHECK_FALSE(write_transport_wide_seq(v.b, 1)); // 3 bytes: not a transport-wide number
  CHECK_FALSE(write_abs_send_time(v.a, 1));      // 2 bytes: not an abs-send-time
  CHECK_FALSE(write_transport_wide_seq({}, 1));  // absent
  CHECK(b == before);
  CHECK(p->audio_level_of(1) == audio_level{true, 85}); // neighbours untouched
  CHECK(p->mid(4) == std::string_view("ab"));
}

TEST_CASE("rtp_packet: extension id remapping disables unmapped ids with padding") {
  bytes b = one_byte_packet;
  auto p = rtp_packet::parse(b);
  REQUIRE(p.ok());
  extension_id_map map;
  map.set(2, 5);  // abs-send-time 2 -> 5
  map.set(3, 16); // transport-wide seq -> 16: not expressible in one-byte form -> disabled
  map.set(1, 1);  // audio level stays
  // 4 (mid) is not mapped -> disabled
  CHECK(p->remap_extension_ids(map) == 2);
  const bytes expected_block = {
    0x52, 0xab, 0xcd, 0xef, // id 5 len 3
    0x00, 0x00, 0x00,       // was id 3: padding now
    0x10, 0xd5,             // id 1 unchanged
    0x00, 0x00, 0x00,       // was id 4: padding now
  };
  CHECK(bytes(b.begin() + 20, b.begin() + 32) == expected_block);
  CHECK(b.size() == one_byte_packet.size()); // same length, payload in place
  auto q = rtp_packet::parse(b);
  REQUIRE(q.ok());
  CHECK(q->abs_send_time(5) == 0xabcdefu);
  CHECK_FALSE(q->find_extension(2).has_value());
  CHECK_FALSE(q->find_extension(3).has_value());
  CHECK_FALSE(q->find_extension(4).has_value());
  CHECK(q->audio_level_of(1) == audio_level{true, 85});
  CHECK(q->payload()[2] == 0x03);

  bytes c = two_byte_packet;
  auto t = rtp_packet::parse(c);
  REQUIRE(t.ok());
  extension_id_map m2;
  m2.set(15, 200); // two-byte form can carry any id 1..255
  CHECK(t->remap_extension_ids(m2) == 1); // id 7 unmapped
  CHECK(bytes(c.begin() + 16, c.begin() + 24) == bytes{0x00, 0x00, 0x00, 200, 0x03, 'r', '0', '1'});
  auto u = rtp_packet::parse(c);
  REQUIRE(u.ok());
  CHECK(u->rid(200) == std::string_view("r01"));
}

TEST_CASE("rtp_packet: remapping finds the sending elements by their new ids, as a walk after it would") {
  // Named rows: the map, the ids asked for (after the remap), and what find_extensions on a
  // fresh parse of the remapped bytes gives, which the same walk must give too.
  struct row {
    const char* name;
    std::vector<std::pair<uint8_t, uint8_t>> map;
    uint8_t a, b;
  };
  const row rows[] = {
    {"both kept under new ids", {{1, 1}, {2, 5}, {3, 6}, {4, 4}}, 6, 5},
    {"ids unchanged", {{1, 1}, {2, 2}, {3, 3}, {4, 4}}, 3, 2},
    {"one disabled (not mapped)", {{1, 1}, {2, 5}, {4, 4}}, 3, 5},
    {"one disabled (over 14 in the one-byte form)", {{2, 5}, {3, 16}}, 16, 5},
    {"asked by its old id", {{2, 5}, {3, 6}}, 3, 2},
    {"none asked", {{2, 5}, {3, 6}}, 0, 0},
    {"a non-sending element asked (the audio level)", {{1, 9}, {3, 6}}, 9, 6},
    {"everything disabled", {}, 3, 2},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    extension_id_map map;
    for (auto [from, to] : r.map)
      map.set(from, to);
    bytes once = one_byte_packet, twice = one_byte_packet;
    auto p = rtp_packet::parse(once);
    auto q = rtp_packet::parse(twice);
    REQUIRE(p.ok());
    REQUIRE(q.ok());
    rtp_packet::extension_values found;
    const size_t disabled = p->remap_extension_ids(map, r.a, r.b, found);
    CHECK(disabled == q->remap_extension_ids(map));
    CHECK(once == twice); // the bytes written are the same
    auto after = rtp_packet::parse(twice);
    REQUIRE(after.ok());
    const auto expected = after->find_extensions(r.a, r.b);
    auto offset = [](std::span<uint8_t> v, const bytes& in) {
      return v.empty() ? -1 : int(v.data() - in.data());
    };
    CHECK(offset(found.a, once) == offset(expected.a, twice));
    CHECK(found.a.size() == expected.a.size());
    CHECK(offset(found.b, once) == offset(expected.b, twice));
    CHECK(found.b.size() == expected.b.size());
  }
  SUBCASE("the two-byte form, an empty element disabled") {
    bytes c = two_byte_packet;
    auto t = rtp_packet::parse(c);
    REQUIRE(t.ok());
    extension_id_map m;
    m.set(15, 200);
    rtp_packet::extension_values found;
    CHECK(t->remap_extension_ids(m, 200, 7, found) == 1);
    REQUIRE(found.a.size() == 3);
    CHECK(found.a.data() == c.data() + 21); // "r01"
    CHECK(found.b.empty());                 // id 7 is padding now
  }
}

TEST_CASE("rtp_packet: RTX build and unwrap round trip") {
  // Original with padding: RTX drops the padding, keeps header and extensions.
  bytes orig = padded_packet;
  auto p = rtp_packet::parse(orig);
  REQUIRE(p.ok());
  CHECK(rtx_size(*p) == 12 + 2 + 2);
  bytes out(64, 0xee);
  auto n = write_rtx(*p, rtx_params{97, 0x01020304, 0xffff}, out);
  REQUIRE(n.ok());
  REQUIRE(*n == 16);
  const bytes expected = {
    0x80, 0x61, 0xff, 0xff, // P cleared | PT=97 | rtx seq 0xffff
    0x00, 0x00, 0x00, 0x64, // timestamp unchanged
    0x01, 0x02, 0x03, 0x04, // rtx SSRC
    0x12, 0x34,             // OSN
    0x01, 0x02,             // original payload
  };
  CHECK(bytes(out.begin(), out.begin() + 16) == expected);

  bytes too_small(15);
  auto e = write_rtx(*p, rtx_params{97, 1, 1}, too_small);
  REQUIRE_FALSE(e.ok());
  CHECK(e.error() == rtp_error::no_space);

  bytes rtx(out.begin(), out.begin() + 16);
  auto r = rtp_packet::parse(rtx);
  REQUIRE(r.ok());
  auto back = unwrap_rtx(*r, 96, 0xdeadbeef);
  REQUIRE(back.ok());
  CHECK(back->size() == 14);
  CHECK(back->sequence_number() == 0x1234);
  CHECK(back->payload_type() == 96);
  CHECK(back->ssrc() == 0xdeadbeefu);
  CHECK_FALSE(back->has_padding());
  CHECK(bytes(back->payload().begin(), back->payload().end()) == bytes{0x01, 0x02});

  // With extensions and CSRC: round trip restores the original bytes exactly.
  bytes orig2 = one_byte_packet;
  auto p2 = rtp_packet::parse(orig2);
  REQUIRE(p2.ok());
  bytes rtx2(rtx_size(*p2));
  REQUIRE(write_rtx(*p2, rtx_params{97, 0xabcdef01, 7}, rtx2).ok());
  auto r2 = rtp_packet::parse(rtx2);
  REQUIRE(r2.ok());
  CHECK(r2->mid(4) == std::string_view("ab"));
  auto back2 = unwrap_rtx(*r2, 96, 0x11223344);
  REQUIRE(back2.ok());
  CHECK(bytes(back2->bytes().begin(), back2->bytes().end()) == one_byte_packet);
}

TEST_CASE("rtp_packet: RTX padding-only packet cannot be unwrapped") {
  bytes b = {0xa0, 0x61, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0x00, 0x00, 0x00, 0x04};
  auto p = rtp_packet::parse(b);
  REQUIRE(p.ok());
  CHECK(p->payload().empty());
  auto u = unwrap_rtx(*p, 96, 1);
  REQUIRE_FALSE(u.ok());
  CHECK(u.error() == rtp_error::bad_value);
}

TEST_CASE("rtp_packet: shared packet handle is shared, not copied") {
  const bytes b = padded_packet;
  shared_packet s = make_shared_packet(b);
  shared_packet t = s;
  CHECK(s.get() == t.get());
  CHECK(*s == b);
  CHECK(s.use_count() == 2);
}

TEST_CASE("rtp_packet: add_extension appends an element after the block's others (table)") {
  const bytes value = {0x01, 0x23, 0x45};
  struct row {
    const char* name;
    bytes packet;
    uint8_t id;
    size_t grows; // 0: refused
    uint16_t profile;
  };
  bytes other_profile = padded_packet;
  other_profile[0] |= 0x10; // X=1 with a block of profile 0x1234, no words
  other_profile.insert(other_profile.begin() + 12, {0x12, 0x34, 0x00, 0x00});
  const row rows[] = {
    {"one-byte block: one word more", one_byte_packet, 6, 4, one_byte_profile},
    {"two-byte block: a two-byte element, padded to a word", two_byte_packet, 6, 8, two_byte_profile},
    {"two-byte block: an id over 14", two_byte_packet, 200, 8, two_byte_profile},
    {"no block: a one-byte block of one word", padded_packet, 6, 8, one_byte_profile},
    {"no block, id over 14: a two-byte block", padded_packet, 20, 12, two_byte_profile},
    {"one-byte block, id over 14: refused", one_byte_packet, 15, 0, 0},
    {"id 0: refused", one_byte_packet, 0, 0, 0},
    {"a block of another profile: refused", other_profile, 6, 0, 0},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    auto before = r.packet;
    auto original = rtp_packet::parse(before);
    REQUIRE(original.ok());
    const bytes payload(original->payload().begin(), original->payload().end());
    bytes buf = r.packet;
    buf.resize(r.packet.size() + added_extension_bytes(value.size()), 0xEE);
    const size_t n = add_extension(buf, r.packet.size(), r.id, value);
    if (r.grows == 0) {
      CHECK(n == 0);
      CHECK(bytes(buf.begin(), buf.begin() + ptrdiff_t(r.packet.size())) == r.packet);
      continue;
    }
    REQUIRE(n == r.packet.size() + r.grows);
    auto p = rtp_packet::parse(std::span(buf.data(), n));
    REQUIRE(p.ok());
    CHECK(p->ext_profile() == r.profile);
    REQUIRE(p->find_extension(r.id).has_value());
    CHECK(bytes(p->find_extension(r.id)->begin(), p->find_extension(r.id)->end()) == value);
    CHECK(bytes(p->payload().begin(), p->payload().end()) == payload);
    CHECK(p->padding_size() == original->padding_size());
    CHECK(p->sequence_number() == original->sequence_number());
    // The elements there before are still there, with their values.
    auto it = original->extensions();
    while (auto e = it.next()) {
      auto again = p->find_extension(e->id);
      REQUIRE(again.has_value());
      CHECK(bytes(again->begin(), again->end()) == bytes(e->value.begin(), e->value.end()));
    }
  }
}

TEST_CASE("rtp_packet: add_extension refuses without the room, leaving the packet as it was") {
  bytes buf = one_byte_packet;
  buf.resize(one_byte_packet.size() + 3); // one byte short of a word
  const bytes value = {0x01, 0x23, 0x45};
  CHECK(add_extension(buf, one_byte_packet.size(), 6, value) == 0);
  CHECK(bytes(buf.begin(), buf.begin() + ptrdiff_t(one_byte_packet.size())) == one_byte_packet);
}
