// RTCP (RFC 3550 §6): compound iteration, SR, RR, SDES, BYE, NTP helpers, malformed input.
#include "rtp/rtcp.hpp"
#include "rtp/rtcp_feedback.hpp"
#include "rtp/transport_cc.hpp"
#include "rtp_rtcp_util.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace chorus::rtp;

namespace {

using bytes = std::vector<uint8_t>;

using test::single;

// A browser capture from pion/rtcp's tests ("an RTCP packet from a packet dump"; the
// {uuid} CNAME is Firefox's style): RR + SDES + BYE + PLI, 104 bytes.
const bytes browser_rr_sdes_bye_pli = {
  // Receiver report: V=2 P=0 RC=1, PT=201, length=7 (32 bytes)
  0x81, 0xc9, 0x00, 0x07,
  0x90, 0x2f, 0x9e, 0x2e, // SSRC of packet sender
  0xbc, 0x5e, 0x9a, 0x40, // report block: SSRC_1
  0x00, 0x00, 0x00, 0x00, // fraction lost 0, cumulative lost 0
  0x00, 0x00, 0x46, 0xe1, // extended highest seq 0x46e1
  0x00, 0x00, 0x01, 0x11, // jitter 273
  0x09, 0xf3, 0x64, 0x32, // LSR 0x09f36432
  0x00, 0x02, 0x4a, 0x79, // DLSR 150137
  // SDES: V=2 P=0 SC=1, PT=202, length=12 (52 bytes)
  0x81, 0xca, 0x00, 0x0c,
  0x90, 0x2f, 0x9e, 0x2e, // chunk SSRC
  0x01, 0x26,             // CNAME, 38 bytes: "{9c00eb92-1afb-9d49-a47d-91f64eee69f5}"
  0x7b, 0x39, 0x63, 0x30, 0x30, 0x65, 0x62, 0x39, 0x32, 0x2d, 0x31, 0x61, 0x66,
  0x62, 0x2d, 0x39, 0x64, 0x34, 0x39, 0x2d, 0x61, 0x34, 0x37, 0x64, 0x2d, 0x39,
  0x31, 0x66, 0x36, 0x34, 0x65, 0x65, 0x65, 0x36, 0x39, 0x66, 0x35, 0x7d,
  0x00, 0x00, 0x00, 0x00, // END item + padding to 32 bits
  // BYE: V=2 P=0 SC=1, PT=203, length=1 (8 bytes)
  0x81, 0xcb, 0x00, 0x01,
  0x90, 0x2f, 0x9e, 0x2e, // SSRC
  // PLI: V=2 P=0 FMT=1, PT=206, length=2 (12 bytes)
  0x81, 0xce, 0x00, 0x02,
  0x90, 0x2f, 0x9e, 0x2e, // sender SSRC
  0x90, 0x2f, 0x9e, 0x2e, // media SSRC
};

// A libwebrtc (Chromium) compound as captured in the Amazon KVS WebRTC SDK's tests:
// SR + SDES + REMB, 84 bytes.
const bytes chromium_sr_sdes_remb = {
  // SR: V=2 P=0 RC=0, PT=200, length=6 (28 bytes)
  0x80, 0xc8, 0x00, 0x06,
  0xf1, 0x2d, 0x7b, 0x4b, // SSRC of sender
  0xe1, 0xe3, 0x20, 0x43, // NTP seconds
  0xe5, 0x3d, 0x10, 0x2b, // NTP fraction
  0xbf, 0x58, 0xf7, 0xef, // RTP timestamp
  0x00, 0x00, 0x23, 0xf3, // packet count 9203
  0x00, 0x6c, 0xd3, 0x75, // octet count 7132021
  // SDES: SC=1, PT=202, length=6 (28 bytes)
  0x81, 0xca, 0x00, 0x06,
  0xf1, 0x2d, 0x7b, 0x4b, // chunk SSRC
  0x01, 0x10,             // CNAME, 16 bytes: "/vmKQnGnUpO+p8dR"
  0x2f, 0x76, 0x6d, 0x4b, 0x51, 0x6e, 0x47, 0x6e, 0x55, 0x70, 0x4f, 0x2b, 0x70, 0x38, 0x64, 0x52,
  0x00, 0x00,             // END + padding
  // REMB: FMT=15, PT=206, length=6 (28 bytes)
  0x8f, 0xce, 0x00, 0x06,
  0xf1, 0x2d, 0x7b, 0x4b, // sender SSRC
  0x00, 0x00, 0x00, 0x00, // media SSRC 0
  0x52, 0x45, 0x4d, 0x42, // "REMB"
  0x02, 0x12, 0x2d, 0x97, // 2 SSRCs, exp 4, mantissa 0x22d97 (142743) -> 2283888 bps
  0x0c, 0xef, 0x37, 0x0d, // SSRC 1
  0x2d, 0x07, 0x3d, 0x1d, // SSRC 2
};

// Hand-written from RFC 3550 §6.4.1: SR with one report block, negative cumulative loss.
const bytes sr_one_block = {
  0x81, 0xc8, 0x00, 0x0c, // V=2 RC=1 PT=200 length=12 (52 bytes)
  0x11, 0x22, 0x33, 0x44, // SSRC of sender
  0xda, 0x8b, 0xd1, 0xfc, // NTP MSW
  0xdd, 0xdd, 0xa0, 0x5a, // NTP LSW
  0xaa, 0xf4, 0xed, 0xd5, // RTP timestamp
  0x00, 0x00, 0x00, 0x01, // packet count 1
  0x00, 0x00, 0x00, 0x02, // octet count 2
  0xbc, 0x5e, 0x9a, 0x40, // SSRC_1
  0x40, 0xff, 0xff, 0xfe, // fraction lost 64/256, cumulative lost -2 (24-bit)
  0x00, 0x01, 0x46, 0xe1, // extended highest seq: 1 cycle, seq 0x46e1
  0x00, 0x00, 0x01, 0x11, // jitter 273
  0x09, 0xf3, 0x64, 0x32, // LSR
  0x00, 0x02, 0x4a, 0x79, // DLSR
};

const bytes bye_with_reason = {
  0x82, 0xcb, 0x00, 0x04, // V=2 SC=2 PT=203 length=4 (20 bytes)
  0x00, 0x00, 0x00, 0x01, // SSRC 1
  0x00, 0x00, 0x00, 0x02, // SSRC 2
  0x05, 'c', 'l', 'o',    // reason length 5 "close"
  's', 'e', 0x00, 0x00,   // zero padding to 32 bits
};

} // namespace

TEST_CASE("rtcp: compound iteration over a browser RR+SDES+BYE+PLI capture") {
  auto packets = split_compound(browser_rr_sdes_bye_pli);
  REQUIRE(packets.ok());
  REQUIRE(packets->size() == 4);
  CHECK(is_rfc3550_compound(browser_rr_sdes_bye_pli));
  const auto& p = *packets;
  CHECK(p[0].header.type == uint8_t(rtcp_type::rr));
  CHECK(p[0].bytes.size() == 32);
  CHECK(p[1].header.type == uint8_t(rtcp_type::sdes));
  CHECK(p[1].bytes.size() == 52);
  CHECK(p[2].header.type == uint8_t(rtcp_type::bye));
  CHECK(p[3].header.type == uint8_t(rtcp_type::psfb));
  CHECK(p[3].header.count == psfb_pli);

  auto rr = receiver_report::parse(p[0]);
  REQUIRE(rr.ok());
  CHECK(rr->ssrc == 0x902f9e2e);
  REQUIRE(rr->reports.size() == 1);
  const report_block expected{0xbc5e9a40, 0, 0, 0x46e1, 273, 0x09f36432, 150137};
  CHECK(rr->reports[0] == expected);

  auto sdes = source_description::parse(p[1]);
  REQUIRE(sdes.ok());
  REQUIRE(sdes->chunks.size() == 1);
  CHECK(sdes->chunks[0].ssrc == 0x902f9e2e);
  CHECK(sdes->chunks[0].cname() == "{9c00eb92-1afb-9d49-a47d-91f64eee69f5}");

  auto bye = goodbye::parse(p[2]);
  REQUIRE(bye.ok());
  CHECK(bye->ssrcs == std::vector<uint32_t>{0x902f9e2e});
  CHECK(bye->reason.empty());

  auto pli = picture_loss_indication::parse(p[3]);
  REQUIRE(pli.ok());
  CHECK(pli->sender_ssrc == 0x902f9e2e);
  CHECK(pli->media_ssrc == 0x902f9e2e);

  // Rebuilt byte for byte.
  bytes rebuilt;
  for (auto b : {*to_bytes(*rr), *to_bytes(*sdes), *to_bytes(*bye), *to_bytes(*pli)})
    rebuilt.insert(rebuilt.end(), b.begin(), b.end());
  CHECK(rebuilt == browser_rr_sdes_bye_pli);
}

TEST_CASE("rtcp: chromium SR+SDES+REMB compound parsed and rebuilt") {
  auto packets = split_compound(chromium_sr_sdes_remb);
  REQUIRE(packets.ok());
  REQUIRE(packets->size() == 3);
  CHECK(is_rfc3550_compound(chromium_sr_sdes_remb));

  auto sr = sender_report::parse((*packets)[0]);
  REQUIRE(sr.ok());
  CHECK(sr->ssrc == 0xf12d7b4b);
  CHECK(sr->ntp_timestamp == 0xe1e32043e53d102bull);
  CHECK(sr->rtp_timestamp == 0xbf58f7ef);
  CHECK(sr->packet_count == 9203);
  CHECK(sr->octet_count == 7132021);
  CHECK(sr->reports.empty());

  auto sdes = source_description::parse((*packets)[1]);
  REQUIRE(sdes.ok());
  CHECK(sdes->chunks.at(0).cname() == "/vmKQnGnUpO+p8dR");

  REQUIRE(is_remb((*packets)[2]));
  auto r = remb::parse((*packets)[2]);
  REQUIRE(r.ok());
  CHECK(r->sender_ssrc == 0xf12d7b4b);
  CHECK(r->media_ssrc == 0);
  CHECK(r->bitrate_bps == 142743ull << 4);
  CHECK(r->ssrcs == std::vector<uint32_t>{0x0cef370d, 0x2d073d1d});

  bytes rebuilt;
  for (auto b : {*to_bytes(*sr), *to_bytes(*sdes), *to_bytes(*r)})
    rebuilt.insert(rebuilt.end(), b.begin(), b.end());
  CHECK(rebuilt == chromium_sr_sdes_remb);
}

TEST_CASE("rtcp: SR with a report block, negative cumulative loss") {
  auto sr = sender_report::parse(single(sr_one_block));
  REQUIRE(sr.ok());
  CHECK(sr->ssrc == 0x11223344);
  CHECK(sr->ntp_timestamp == 0xda8bd1fcdddda05aull);
  CHECK(sr->rtp_timestamp == 0xaaf4edd5);
  CHECK(sr->packet_count == 1);
  CHECK(sr->octet_count == 2);
  REQUIRE(sr->reports.size() == 1);
  const auto& b = sr->reports[0];
  CHECK(b.ssrc == 0xbc5e9a40);
  CHECK(b.fraction_lost == 64);
  CHECK(b.cumulative_lost == -2);
  CHECK(b.extended_highest_seq == 0x146e1);
  CHECK(b.jitter == 273);
  CHECK(b.last_sr == 0x09f36432);
  CHECK(b.delay_since_last_sr == 150137);
  CHECK(*to_bytes(*sr) == sr_one_block);
}

TEST_CASE("rtcp: report block cumulative loss is clamped to 24 bits signed") {
  struct row {
    const char* name;
    int32_t lost;
    int32_t on_wire;
  };
  const row rows[] = {
    {"zero", 0, 0},
    {"max", 0x7FFFFF, 0x7FFFFF},
    {"above max", 0x1000000, 0x7FFFFF},
    {"-1", -1, -1},
    {"min", -0x800000, -0x800000},
    {"below min", -0x900000, -0x800000},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    receiver_report rr{1, {report_block{2, 0, r.lost, 0, 0, 0, 0}}};
    auto b = to_bytes(rr);
    REQUIRE(b.ok());
    auto parsed = receiver_report::parse(single(*b));
    REQUIRE(parsed.ok());
    CHECK(parsed->reports.at(0).cumulative_lost == r.on_wire);
  }
}

TEST_CASE("rtcp: RR built into a caller buffer, sizes and limits") {
  std::vector<report_block> blocks(3);
  for (uint32_t i = 0; i < 3; ++i)
    blocks[i] = {100 + i, uint8_t(i), int32_t(i) * 10, 65535 + i, i, i, i};
  uint8_t buf[8 + 3 * 24];
  auto n = write_receiver_report(0xabcdef01, blocks, buf);
  REQUIRE(n.ok());
  CHECK(*n == sizeof(buf));
  CHECK(buf[0] == 0x83); // V=2, RC=3
  CHECK(buf[1] == 201);
  CHECK(buf[3] == 0x13); // (80 / 4) - 1 = 19
  auto rr = receiver_report::parse(single(bytes(buf, buf + sizeof(buf))));
  REQUIRE(rr.ok());
  CHECK(rr->reports == blocks);

  CHECK(write_receiver_report(1, blocks, std::span<uint8_t>(buf, sizeof(buf) - 1)).error() ==
        rtcp_error::no_space);
  std::vector<report_block> too_many(32);
  bytes big(8 + 32 * 24);
  CHECK(write_receiver_report(1, too_many, big).error() == rtcp_error::too_many);

  receiver_report empty{7, {}};
  auto e = to_bytes(empty);
  REQUIRE(e.ok());
  CHECK(*e == bytes{0x80, 0xc9, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07});
}

TEST_CASE("rtcp: SDES and BYE build and parse") {
  SUBCASE("SDES CNAME padding: one to four null octets") {
    for (size_t len = 1; len <= 8; ++len) {
      CAPTURE(len);
      auto d = source_description::with_cname(0x01020304, std::string(len, 'x'));
      auto b = to_bytes(d);
      REQUIRE(b.ok());
      CHECK(b->size() % 4 == 0);
      CHECK(b->size() == 4 + ((4 + 2 + len + 1 + 3) / 4) * 4);
      CHECK(b->back() == 0);
      auto parsed = source_description::parse(single(*b));
      REQUIRE(parsed.ok());
      CHECK(*parsed == d);
    }
  }
  SUBCASE("SDES with two chunks and several items") {
    source_description d;
    d.chunks.push_back({1, {{1, "alice@host"}, {6, "chorus"}}});
    d.chunks.push_back({2, {{1, "bob"}}});
    auto b = to_bytes(d);
    REQUIRE(b.ok());
    auto parsed = source_description::parse(single(*b));
    REQUIRE(parsed.ok());
    CHECK(*parsed == d);
    CHECK(parsed->chunks[1].cname() == "bob");
  }
  SUBCASE("SDES item over 255 bytes is refused") {
    auto d = source_description::with_cname(1, std::string(256, 'x'));
    CHECK(to_bytes(d).error() == rtcp_error::bad_value);
  }
  SUBCASE("BYE with reason, byte for byte") {
    auto bye = goodbye::parse(single(bye_with_reason));
    REQUIRE(bye.ok());
    CHECK(bye->ssrcs == std::vector<uint32_t>{1, 2});
    CHECK(bye->reason == "close");
    CHECK(*to_bytes(*bye) == bye_with_reason);
  }
}

TEST_CASE("rtcp: padding in the last packet is stripped") {
  // RR without blocks plus 4 bytes of padding: V=2 P=1 RC=0, length=2 (12 bytes).
  const bytes padded = {0xa0, 0xc9, 0x00, 0x02, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x04};
  auto p = single(padded);
  CHECK(p.header.padding);
  CHECK(p.body.size() == 4);
  auto rr = receiver_report::parse(p);
  REQUIRE(rr.ok());
  CHECK(rr->ssrc == 9);
}

TEST_CASE("rtcp: malformed compounds are errors, not crashes") {
  struct row {
    const char* name;
    bytes data;
    rtcp_error error;
  };
  const row rows[] = {
    {"empty", {}, rtcp_error::truncated},
    {"three bytes", {0x80, 0xc9, 0x00}, rtcp_error::truncated},
    {"version 1", {0x40, 0xc9, 0x00, 0x01, 0, 0, 0, 1}, rtcp_error::bad_version},
    {"version 0", {0x00, 0xc9, 0x00, 0x01, 0, 0, 0, 1}, rtcp_error::bad_version},
    {"length past the end", {0x80, 0xc9, 0x00, 0x02, 0, 0, 0, 1}, rtcp_error::bad_length},
    {"second packet past the end",
     {0x80, 0xc9, 0x00, 0x01, 0, 0, 0, 1, 0x80, 0xcb, 0x00, 0x05, 0, 0, 0, 1},
     rtcp_error::bad_length},
    {"padding count zero", {0xa0, 0xc9, 0x00, 0x01, 0, 0, 0, 0}, rtcp_error::bad_padding},
    {"padding past the body", {0xa0, 0xc9, 0x00, 0x01, 0, 0, 0, 5}, rtcp_error::bad_padding},
    {"padding in a packet that is not the last",
     {0xa0, 0xc9, 0x00, 0x01, 0, 0, 0, 4, 0x80, 0xc9, 0x00, 0x01, 0, 0, 0, 1},
     rtcp_error::bad_padding},
    {"trailing bytes after the last packet",
     {0x80, 0xc9, 0x00, 0x01, 0, 0, 0, 1, 0x80, 0xc9}, rtcp_error::truncated},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    auto packets = split_compound(r.data);
    REQUIRE_FALSE(packets.ok());
    CHECK(packets.error() == r.error);
    CHECK_FALSE(is_rfc3550_compound(r.data));
  }
}

TEST_CASE("rtcp: compound truncated at every length") {
  for (const bytes* capture : {&browser_rr_sdes_bye_pli, &chromium_sr_sdes_remb}) {
    const auto full = split_compound(*capture);
    REQUIRE(full.ok());
    for (size_t n = 0; n < capture->size(); ++n) {
      CAPTURE(n);
      const bytes cut(capture->begin(), capture->begin() + ptrdiff_t(n));
      auto packets = split_compound(cut);
      // Either an error, or a whole-packet prefix (a cut on a packet boundary).
      if (packets.ok())
        CHECK(packets->size() < full->size());
      else
        CHECK((packets.error() == rtcp_error::truncated || packets.error() == rtcp_error::bad_length));
    }
  }
}

TEST_CASE("rtcp: packet bodies truncated at every length fail to parse") {
  // Each packet's header kept, body cut short: parse must fail for every shorter body.
  auto check_all = [](const bytes& datagram, auto parse) {
    const auto p = single(datagram);
    test::check_cuts_fail(p, parse);
    CHECK(parse(p).ok());
  };
  check_all(sr_one_block, [](const rtcp_packet& p) { return sender_report::parse(p); });
  {
    // BYE: valid when cut right after its SSRCs (the reason is optional) or after the
    // reason (before its zero padding); every other cut fails.
    const auto p = single(bye_with_reason);
    test::for_each_cut(p, [](const rtcp_packet& cut, size_t k) {
      CHECK(goodbye::parse(cut).ok() == (k == 8 || k >= 14));
    });
  }
  const bytes sdes(browser_rr_sdes_bye_pli.begin() + 32, browser_rr_sdes_bye_pli.begin() + 84);
  check_all(sdes, [](const rtcp_packet& p) { return source_description::parse(p); });
  const bytes rr(browser_rr_sdes_bye_pli.begin(), browser_rr_sdes_bye_pli.begin() + 32);
  check_all(rr, [](const rtcp_packet& p) { return receiver_report::parse(p); });
}

TEST_CASE("rtcp: parse of the wrong packet type is an error") {
  const auto sr = single(sr_one_block);
  CHECK(receiver_report::parse(sr).error() == rtcp_error::wrong_type);
  CHECK(source_description::parse(sr).error() == rtcp_error::wrong_type);
  CHECK(goodbye::parse(sr).error() == rtcp_error::wrong_type);
  CHECK(generic_nack::parse(sr).error() == rtcp_error::wrong_type);
  CHECK(remb::parse(sr).error() == rtcp_error::wrong_type);
  CHECK_FALSE(is_remb(sr));
}

TEST_CASE("rtcp: NTP helpers") {
  SUBCASE("compact NTP is the middle 32 bits") {
    CHECK(compact_ntp(0xda8bd1fcdddda05aull) == 0xd1fcdddd);
    CHECK(compact_ntp(0) == 0);
  }
  SUBCASE("ms clock to NTP and back") {
    // Unix epoch is NTP second 2208988800.
    CHECK(ntp_from_ms(0, ntp_unix_offset_ms) == (uint64_t(2208988800u) << 32));
    CHECK(ntp_from_ms(500, ntp_unix_offset_ms) == ((uint64_t(2208988800u) << 32) | 0x80000000u));
    CHECK(ntp_from_ms(1250, 0) == ((uint64_t(1) << 32) | 0x40000000u));
    for (int64_t ms : {int64_t(0), int64_t(1), int64_t(999), int64_t(1'700'000'000'123),
                       int64_t(86'400'000)}) {
      CAPTURE(ms);
      CHECK(ms_from_ntp(ntp_from_ms(ms, ntp_unix_offset_ms), ntp_unix_offset_ms) == ms);
      CHECK(ms_from_ntp(ntp_from_ms(ms, 12345), 12345) == ms);
    }
  }
  SUBCASE("compact NTP durations") {
    CHECK(compact_ntp_to_us(0x10000) == 1'000'000);
    CHECK(compact_ntp_to_us(0x8000) == 500'000);
    CHECK(us_to_compact_ntp(1'000'000) == 0x10000);
    CHECK(us_to_compact_ntp(-5) == 0);
    // DLSR 150137 / 65536 s = 2.290909 s.
    CHECK(compact_ntp_to_us(150137) == 2'290'909);
  }
}

TEST_CASE("rtcp: random datagrams never crash any parser") {
  // Deterministic noise with a valid version and a plausible type most of the time, so
  // that parsing gets past the header into every body parser.
  uint32_t state = 12345;
  auto next = [&] { return state = state * 1664525u + 1013904223u; };
  const uint8_t types[] = {200, 201, 202, 203, 205, 206};
  size_t parsed = 0;
  for (int round = 0; round < 20000; ++round) {
    bytes d(4 + next() % 80);
    for (auto& b : d)
      b = uint8_t(next() >> 24);
    d[0] = uint8_t(0x80 | (d[0] & 0x3f));
    d[1] = types[next() % 6];
    d[2] = 0;
    d[3] = uint8_t((d.size() / 4) - 1);
    rtcp_compound_reader reader(d);
    while (auto p = reader.next()) {
      parsed += sender_report::parse(*p).ok();
      parsed += receiver_report::parse(*p).ok();
      parsed += source_description::parse(*p).ok();
      parsed += goodbye::parse(*p).ok();
      parsed += generic_nack::parse(*p).ok();
      parsed += picture_loss_indication::parse(*p).ok();
      parsed += full_intra_request::parse(*p).ok();
      parsed += remb::parse(*p).ok();
      parsed += transport_cc_feedback::parse(*p).ok();
    }
  }
  CHECK(parsed > 0);
}
