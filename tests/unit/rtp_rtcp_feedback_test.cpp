// RTCP feedback (RFC 4585, RFC 5104, REMB): known bytes, round trips, NACK across the wrap.
#include "rtp/rtcp_feedback.hpp"
#include "rtp_rtcp_util.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace chorus::rtp;

namespace {

using bytes = std::vector<uint8_t>;
using seqs = std::vector<uint16_t>;

using test::single;

// The feedback header (RFC 4585 §6.1) then FCI.
bytes nack_bytes(std::initializer_list<uint8_t> fci) {
  bytes b = {0x81, 0xcd, 0x00, uint8_t(2 + fci.size() / 4), // V=2 FMT=1 PT=205
             0x2c, 0xd1, 0xa0, 0xde,                        // sender SSRC
             0x00, 0x00, 0xab, 0xe0};                       // media SSRC
  b.insert(b.end(), fci);
  return b;
}

} // namespace

TEST_CASE("rtcp nack: parse and build from known bytes") {
  struct row {
    const char* name;
    bytes data;
    seqs lost;
  };
  const row rows[] = {
    {"PID only", nack_bytes({0x0c, 0xa8, 0x00, 0x00}), {3240}},
    {"PID + BLP bit 2", nack_bytes({0x0c, 0xa8, 0x00, 0x04}), {3240, 3243}},
    {"BLP bit 15 is PID+16", nack_bytes({0x00, 0x64, 0x80, 0x00}), {100, 116}},
    {"two items", nack_bytes({0x0c, 0xa8, 0x00, 0x00, 0x0c, 0xff, 0x00, 0x00}), {3240, 3327}},
    {"wrap inside one item: 65534, 65535, 0, 5",
     // PID 0xfffe; BLP bits 0 (65535), 1 (0), 6 (5) = 0x0043
     nack_bytes({0xff, 0xfe, 0x00, 0x43}),
     {65534, 65535, 0, 5}},
    {"wrap then a new item: 65535, 0, 17, 40",
     // PID 0xffff BLP bits 0 (0), 17 is PID+18 -> new item 0x0011 with 40 -> new 0x0028
     nack_bytes({0xff, 0xff, 0x00, 0x01, 0x00, 0x11, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00}),
     {65535, 0, 17, 40}},
    {"full BLP", nack_bytes({0x00, 0x0a, 0xff, 0xff}),
     {10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26}},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    auto n = generic_nack::parse(single(r.data));
    REQUIRE(n.ok());
    CHECK(n->sender_ssrc == 0x2cd1a0de);
    CHECK(n->media_ssrc == 0xabe0);
    CHECK(n->lost_sequence_numbers() == r.lost);

    // Built from the list, both ways, byte for byte.
    CHECK(*to_bytes(generic_nack::from_lost(0x2cd1a0de, 0xabe0, r.lost)) == r.data);
    CHECK(nack_size(r.lost) == r.data.size());
    bytes out(r.data.size());
    auto written = write_nack(0x2cd1a0de, 0xabe0, r.lost, out);
    REQUIRE(written.ok());
    CHECK(*written == r.data.size());
    CHECK(out == r.data);
  }
}

TEST_CASE("rtcp nack: every loss pattern across the 65535 -> 0 wrap round-trips") {
  // Lost sets inside a 17-wide window starting just before the wrap.
  for (uint32_t mask = 1; mask < (1u << 17); mask += 37) {
    seqs lost;
    for (unsigned i = 0; i < 17; ++i)
      if (mask & (1u << i))
        lost.push_back(uint16_t(65530 + i));
    auto b = to_bytes(generic_nack::from_lost(1, 2, lost));
    REQUIRE(b.ok());
    auto n = generic_nack::parse(single(*b));
    REQUIRE(n.ok());
    CHECK(n->lost_sequence_numbers() == lost);
    CHECK(n->items.size() <= 2);
  }
}

TEST_CASE("rtcp nack: malformed and limits") {
  bytes buf(64);
  CHECK(write_nack(1, 2, {}, buf).error() == rtcp_error::bad_value);
  const seqs lost = {1, 2, 100};
  bytes small(nack_size(lost) - 1);
  CHECK(write_nack(1, 2, lost, small).error() == rtcp_error::no_space);
  // No FCI at all.
  const bytes empty = {0x81, 0xcd, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2};
  CHECK(generic_nack::parse(single(empty)).error() == rtcp_error::bad_length);
  // FCI not a multiple of 4 (cut body).
  const bytes one_item = nack_bytes({0x00, 0x01, 0x00, 0x00});
  const auto p = single(one_item);
  test::check_cuts_fail(p, [](const rtcp_packet& cut) { return generic_nack::parse(cut); });
}

TEST_CASE("rtcp: PLI and FIR known bytes") {
  SUBCASE("PLI") {
    const bytes pli = {
      0x81, 0xce, 0x00, 0x02, // V=2 FMT=1 PT=206 length=2
      0x00, 0x00, 0x00, 0x01, // sender SSRC 1
      0x1d, 0xc8, 0x69, 0x91, // media SSRC
    };
    auto p = picture_loss_indication::parse(single(pli));
    REQUIRE(p.ok());
    CHECK(*p == picture_loss_indication{1, 0x1dc86991});
    CHECK(*to_bytes(*p) == pli);
    rtcp_packet cut = single(pli);
    cut.body = cut.body.first(7);
    CHECK(picture_loss_indication::parse(cut).error() == rtcp_error::truncated);
  }
  SUBCASE("FIR with two entries") {
    const bytes fir = {
      0x84, 0xce, 0x00, 0x06, // V=2 FMT=4 PT=206 length=6
      0x00, 0x00, 0x00, 0x01, // sender SSRC 1
      0x00, 0x00, 0x00, 0x00, // media SSRC 0 (RFC 5104 §4.3.1.2)
      0x12, 0x34, 0x56, 0x78, // FCI 1: SSRC
      0x05, 0x00, 0x00, 0x00, //        seq nr 5, reserved
      0x9a, 0xbc, 0xde, 0xf0, // FCI 2: SSRC
      0xff, 0x00, 0x00, 0x00, //        seq nr 255
    };
    auto f = full_intra_request::parse(single(fir));
    REQUIRE(f.ok());
    CHECK(f->sender_ssrc == 1);
    CHECK(f->media_ssrc == 0);
    CHECK(f->entries == std::vector<fir_entry>{{0x12345678, 5}, {0x9abcdef0, 255}});
    CHECK(*to_bytes(*f) == fir);
    CHECK_FALSE(picture_loss_indication::parse(single(fir)).ok());
    auto p = single(fir);
    test::for_each_cut(p, [](const rtcp_packet& cut, size_t k) {
      const bool whole_entries = k >= 16 && (k - 8) % 8 == 0;
      CHECK(full_intra_request::parse(cut).ok() == whole_entries);
    });
  }
}

TEST_CASE("rtcp remb: known bytes, exponent and mantissa") {
  // From mediasoup's REMB test vector: exp 0, mantissa 122754, two SSRCs.
  const bytes data = {
    0x8f, 0xce, 0x00, 0x06, // V=2 FMT=15 PT=206 length=6
    0xfa, 0x17, 0xfa, 0x17, // sender SSRC
    0x00, 0x00, 0x00, 0x00, // media SSRC 0
    0x52, 0x45, 0x4d, 0x42, // "REMB"
    0x02, 0x01, 0xdf, 0x82, // num SSRC 2, exp 0, mantissa 0x1df82 = 122754
    0x02, 0xd0, 0x37, 0x02, // SSRC 1
    0x04, 0xa7, 0x67, 0x47, // SSRC 2
  };
  auto r = remb::parse(single(data));
  REQUIRE(r.ok());
  CHECK(r->bitrate_bps == 122754);
  CHECK(r->ssrcs == std::vector<uint32_t>{0x02d03702, 0x04a76747});
  CHECK(*to_bytes(*r) == data);

  struct row {
    const char* name;
    uint64_t bitrate;
    uint64_t written; // what the wire can carry (rounded down)
    uint8_t exp_mantissa[3];
  };
  const row rows[] = {
    {"zero", 0, 0, {0x00, 0x00, 0x00}},
    {"max exp 0", 0x3FFFF, 0x3FFFF, {0x03, 0xff, 0xff}},
    {"needs exp 1", 0x40000, 0x40000, {0x06, 0x00, 0x00}}, // mantissa 0x20000 << 1
    {"512 kbps", 512000, 512000, {0x07, 0xe8, 0x00}},        // 0x3e800 << 1
    {"rounded down", 1'000'001, 1'000'000, {0x0b, 0xd0, 0x90}}, // 0x3d090 << 2
    {"10 Gbps", 10'000'000'000ull, (10'000'000'000ull >> 16) << 16, {0x42, 0x54, 0x0b}},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    remb in{1, 0, row.bitrate, {7}};
    auto b = to_bytes(in);
    REQUIRE(b.ok());
    CHECK((*b)[17] == row.exp_mantissa[0]);
    CHECK((*b)[18] == row.exp_mantissa[1]);
    CHECK((*b)[19] == row.exp_mantissa[2]);
    auto out = remb::parse(single(*b));
    REQUIRE(out.ok());
    CHECK(out->bitrate_bps == row.written);
    CHECK(out->ssrcs == std::vector<uint32_t>{7});
  }
}

TEST_CASE("rtcp remb: malformed") {
  SUBCASE("wrong identifier") {
    const bytes data = {0x8f, 0xce, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 0,
                        'R',  'E',  'M',  'X',  0, 0, 0, 0};
    CHECK_FALSE(is_remb(single(data)));
    CHECK(remb::parse(single(data)).error() == rtcp_error::malformed);
  }
  SUBCASE("SSRC count past the end") {
    const bytes data = {0x8f, 0xce, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 0,
                        'R',  'E',  'M',  'B',  3, 0, 0, 1};
    CHECK(remb::parse(single(data)).error() == rtcp_error::truncated);
  }
  SUBCASE("bitrate overflows 64 bits") {
    // exp 63, mantissa 0x3ffff
    const bytes data = {0x8f, 0xce, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 0,
                        'R',  'E',  'M',  'B',  0, 0xff, 0xff, 0xff};
    CHECK(remb::parse(single(data)).error() == rtcp_error::malformed);
  }
  SUBCASE("truncated at every length") {
    const bytes data = {0x8f, 0xce, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 0,
                        'R',  'E',  'M',  'B',  1, 0, 0, 1, 0, 0, 0, 9};
    const auto p = single(data);
    test::check_cuts_fail(p, [](const rtcp_packet& cut) { return remb::parse(cut); });
    CHECK(remb::parse(p).ok());
  }
  SUBCASE("too many SSRCs to write") {
    remb r{1, 0, 1000, std::vector<uint32_t>(256, 1)};
    CHECK(to_bytes(r).error() == rtcp_error::too_many);
  }
}
