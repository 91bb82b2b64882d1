// SRTP/SRTCP sessions on libsrtp2: round trips per profile, tampering, replay, ROC.
#include "rtp/srtp_session.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace chorus::rtp;

namespace {

using bytes = std::vector<uint8_t>;

const srtp_profile all_profiles[] = {
  srtp_profile::aes_cm_128_hmac_sha1_80,
  srtp_profile::aes_cm_128_hmac_sha1_32,
  srtp_profile::aead_aes_128_gcm,
  srtp_profile::aead_aes_256_gcm,
};

bytes pattern(size_t n, uint8_t seed) {
  bytes b(n);
  for (size_t i = 0; i < n; ++i)
    b[i] = static_cast<uint8_t>(seed + i * 7);
  return b;
}

struct pair_of_sessions {
  srtp_session out;
  srtp_session in;
};

pair_of_sessions make_sessions(srtp_profile p, srtp_options in_options = {}) {
  const auto info = profile_info(p);
  const bytes key = pattern(info.key_length, 1);
  const bytes salt = pattern(info.salt_length, 100);
  auto out = srtp_session::create(p, srtp_direction::outbound, key, salt);
  auto in = srtp_session::create(p, srtp_direction::inbound, key, salt, in_options);
  REQUIRE_MESSAGE(out.ok(), (out.ok() ? std::string() : out.error()));
  REQUIRE_MESSAGE(in.ok(), (in.ok() ? std::string() : in.error()));
  return {std::move(out).value(), std::move(in).value()};
}

// RFC 3550 §5.1 fixed header: V=2, P=0, X=0, CC=0 | M=0, PT=96 | seq | timestamp | SSRC,
// then the payload; sized with room for any trailer.
bytes rtp_packet(uint16_t seq, uint32_t ts, uint32_t ssrc, size_t payload) {
  bytes p{0x80,
          96,
          static_cast<uint8_t>(seq >> 8),
          static_cast<uint8_t>(seq),
          static_cast<uint8_t>(ts >> 24),
          static_cast<uint8_t>(ts >> 16),
          static_cast<uint8_t>(ts >> 8),
          static_cast<uint8_t>(ts),
          static_cast<uint8_t>(ssrc >> 24),
          static_cast<uint8_t>(ssrc >> 16),
          static_cast<uint8_t>(ssrc >> 8),
          static_cast<uint8_t>(ssrc)};
  const bytes body = pattern(payload, static_cast<uint8_t>(seq));
  p.insert(p.end(), body.begin(), body.end());
  return p;
}

// RFC 3550 §6.4.1 sender report without report blocks: V=2, RC=0, PT=200, length=6.
bytes rtcp_sender_report(uint32_t ssrc, uint32_t packets) {
  bytes p{0x80, 200, 0, 6,
          static_cast<uint8_t>(ssrc >> 24), static_cast<uint8_t>(ssrc >> 16),
          static_cast<uint8_t>(ssrc >> 8), static_cast<uint8_t>(ssrc)};
  const bytes info = pattern(16, 9); // NTP timestamp, RTP timestamp
  p.insert(p.end(), info.begin(), info.end());
  for (int shift : {24, 16, 8, 0})
    p.push_back(static_cast<uint8_t>(packets >> shift)); // sender's packet count
  p.insert(p.end(), {0, 0, 0x10, 0});                     // sender's octet count
  return p;
}

constexpr uint8_t canary = 0xa5;

// protect -> (check trailer and that nothing past it was written) -> returns wire bytes.
bytes protect(srtp_session& s, const bytes& plain, bool rtcp, size_t trailer) {
  bytes buf = plain;
  buf.resize(plain.size() + trailer + 8, canary); // exact room for the trailer + canaries
  auto span = std::span<uint8_t>(buf).first(plain.size() + trailer);
  auto r = rtcp ? s.protect_rtcp(span, plain.size()) : s.protect_rtp(span, plain.size());
  REQUIRE_MESSAGE(r.ok(), to_string(r.error));
  CHECK(r.length == plain.size() + trailer);
  CHECK(std::all_of(buf.begin() + static_cast<std::ptrdiff_t>(plain.size() + trailer), buf.end(),
                    [](uint8_t b) { return b == canary; })); // nothing written past the trailer
  buf.resize(r.length);
  return buf;
}

srtp_result unprotect(srtp_session& s, bytes wire, bool rtcp, bytes* plain = nullptr) {
  auto r = rtcp ? s.unprotect_rtcp(wire, wire.size()) : s.unprotect_rtp(wire, wire.size());
  if (r.ok() && plain != nullptr)
    *plain = bytes(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(r.length));
  return r;
}

} // namespace

TEST_CASE("srtp round trip per profile: video, audio and RTCP byte-exact") {
  for (auto p : all_profiles) {
    const auto info = profile_info(p);
    CAPTURE(info.name);
    auto [out, in] = make_sessions(p);
    struct tcase {
      const char* name;
      bytes plain;
      bool rtcp;
    };
    const tcase cases[] = {
      {"video RTP, 1100-byte payload", rtp_packet(1000, 90000, 0x11223344, 1100), false},
      {"audio RTP, 160-byte payload", rtp_packet(7, 48000, 0x55667788, 160), false},
      {"RTCP sender report", rtcp_sender_report(0x11223344, 42), true},
      {"second RTCP packet", rtcp_sender_report(0x11223344, 43), true},
    };
    for (const auto& c : cases) {
      CAPTURE(c.name);
      const size_t trailer = c.rtcp ? info.rtcp_trailer : info.rtp_trailer;
      CHECK(trailer <= srtp_session::max_trailer);
      const bytes wire = protect(out, c.plain, c.rtcp, trailer);
      // Header stays clear (first 12 RTP / 8 RTCP bytes); the payload does not.
      const size_t header = c.rtcp ? 8 : 12;
      CHECK(std::equal(wire.begin(), wire.begin() + header, c.plain.begin()));
      CHECK_FALSE(std::equal(c.plain.begin() + header, c.plain.end(), wire.begin() + header));
      bytes back;
      auto r = unprotect(in, wire, c.rtcp, &back);
      REQUIRE_MESSAGE(r.ok(), to_string(r.error));
      CHECK(back == c.plain);
    }
    CHECK(out.counters().rtp_ok == 2);
    CHECK(out.counters().rtcp_ok == 2);
    CHECK(in.counters().rtp_ok == 2);
    CHECK(in.counters().rtcp_ok == 2);
  }
}

TEST_CASE("srtp sessions for outbound SRTCP only: the same SRTCP bytes, SRTP refused and counted") {
  // rtcp_only (a transport's RTCP sender): every profile still protects SRTCP exactly as a
  // full session does; with GCM, SRTP is refused as not this session's, never crashed on.
  // An inbound SRTCP-only session is refused when made.
  for (auto p : all_profiles) {
    const auto info = profile_info(p);
    CAPTURE(info.name);
    const bytes key = pattern(info.key_length, 1);
    const bytes salt = pattern(info.salt_length, 100);
    srtp_options only;
    only.rtcp_only = true;
    auto full_out = srtp_session::create(p, srtp_direction::outbound, key, salt);
    auto out = srtp_session::create(p, srtp_direction::outbound, key, salt, only);
    CHECK_FALSE(srtp_session::create(p, srtp_direction::inbound, key, salt, only).ok());
    auto in = srtp_session::create(p, srtp_direction::inbound, key, salt);
    REQUIRE(full_out.ok());
    REQUIRE(out.ok());
    REQUIRE(in.ok());
    for (uint32_t n : {1u, 2u, 3u}) {
      const bytes sr = rtcp_sender_report(0x11223344, n);
      const bytes wire = protect(*out, sr, true, info.rtcp_trailer);
      CHECK(wire == protect(*full_out, sr, true, info.rtcp_trailer));
      bytes back;
      auto r = unprotect(*in, wire, true, &back);
      REQUIRE_MESSAGE(r.ok(), to_string(r.error));
      CHECK(back == sr);
    }
    // SRTP on an SRTCP-only session: refused with GCM, which made no SRTP state for it
    // (AES-CM: libsrtp's context holds both, so it still protects).
    const bool gcm = p == srtp_profile::aead_aes_128_gcm || p == srtp_profile::aead_aes_256_gcm;
    bytes rtp = rtp_packet(5, 90000, 0x11223344, 200);
    rtp.resize(rtp.size() + info.rtp_trailer);
    auto r = out->protect_rtp(rtp, rtp.size() - info.rtp_trailer);
    if (gcm) {
      CHECK_FALSE(r.ok());
      CHECK(r.error == srtp_error::wrong_direction);
      CHECK(out->counters().bad_param == 1);
      CHECK(out->counters().rtp_ok == 0);
    } else {
      CHECK(r.ok());
    }
    CHECK(out->counters().rtcp_ok == 3);
    CHECK(in->counters().rtcp_ok == 3);
  }
}

TEST_CASE("srtp tampering, replay and keys table") {
  for (auto p : all_profiles) {
    const auto info = profile_info(p);
    CAPTURE(info.name);
    auto [out, in] = make_sessions(p);
    const bytes wire = protect(out, rtp_packet(500, 1, 0xabcdef01, 160), false, info.rtp_trailer);
    const bytes wire_rtcp = protect(out, rtcp_sender_report(0xabcdef01, 1), true, info.rtcp_trailer);

    struct tcase {
      const char* name;
      size_t flip; // byte to change
    };
    const tcase tampered[] = {
      {"payload byte", 40},
      {"sequence number", 3},
      {"SSRC", 11},
      {"last tag byte", wire.size() - 1},
    };
    for (const auto& c : tampered) {
      CAPTURE(c.name);
      bytes t = wire;
      t[c.flip] ^= 0x01;
      CHECK(unprotect(in, t, false).error == srtp_error::auth_fail);
    }
    bytes t = wire_rtcp;
    t[10] ^= 0x80;
    CHECK(unprotect(in, t, true).error == srtp_error::auth_fail);
    CHECK(in.counters().auth_fail == std::size(tampered) + 1);

    // A failed packet does not poison the replay window: the genuine one still passes,
    // and then a second copy of it is a replay.
    CHECK(unprotect(in, wire, false).ok());
    CHECK(unprotect(in, wire, false).error == srtp_error::replay_fail);
    CHECK(unprotect(in, wire_rtcp, true).ok());
    CHECK(unprotect(in, wire_rtcp, true).error == srtp_error::replay_fail);
    CHECK(in.counters().replay_fail == 2);

    // Keys from another session (another salt) do not authenticate.
    auto other = srtp_session::create(p, srtp_direction::inbound, pattern(info.key_length, 1),
                                      pattern(info.salt_length, 7));
    REQUIRE(other.ok());
    CHECK(unprotect(*other, wire, false).error == srtp_error::auth_fail);
  }
}

TEST_CASE("srtp replay window: far older than the window is replay_old") {
  struct tcase {
    const char* name;
    uint32_t window; // 0: libsrtp's default (128)
    uint16_t late_by;
    srtp_error expected;
  };
  const tcase cases[] = {
    {"default window, 100 behind", 0, 100, srtp_error::none},
    {"default window, 300 behind", 0, 300, srtp_error::replay_old},
    {"window 1024, 300 behind", 1024, 300, srtp_error::none},
    {"window 1024, 2000 behind", 1024, 2000, srtp_error::replay_old},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    srtp_options o;
    o.replay_window = c.window;
    auto [out, in] = make_sessions(srtp_profile::aead_aes_128_gcm, o);
    const uint16_t first = 10;
    const bytes late = protect(out, rtp_packet(first, 0, 1, 160), false, 16);
    for (uint16_t seq = first + 1; seq <= first + c.late_by; ++seq) {
      bytes w = protect(out, rtp_packet(seq, seq, 1, 160), false, 16);
      if (seq == first + c.late_by)
        REQUIRE(unprotect(in, w, false).ok()); // receiver has only seen the newest
    }
    CHECK(unprotect(in, late, false).error == c.expected);
  }
}

TEST_CASE("srtp sequence number wrap 65535 -> 0 keeps working (ROC)") {
  for (auto p : all_profiles) {
    const auto info = profile_info(p);
    CAPTURE(info.name);
    auto [out, in] = make_sessions(p);
    uint16_t seq = 65530;
    for (int i = 0; i < 12; ++i, ++seq) { // 65530 .. 65535, 0 .. 5
      CAPTURE(seq);
      const bytes plain = rtp_packet(seq, 1000u * i, 0x0badcafe, 1100);
      bytes back;
      auto r = unprotect(in, protect(out, plain, false, info.rtp_trailer), false, &back);
      REQUIRE_MESSAGE(r.ok(), to_string(r.error));
      CHECK(back == plain);
    }
    CHECK(in.counters().rtp_ok == 12);
  }
}

TEST_CASE("srtp any SSRC in both directions, stream removal, moves") {
  auto [out, in] = make_sessions(srtp_profile::aead_aes_256_gcm);
  std::vector<bytes> sent;
  for (uint32_t ssrc : {1u, 2u, 0xffffffffu}) {
    CAPTURE(ssrc);
    const bytes plain = rtp_packet(1, 1, ssrc, 160);
    sent.push_back(protect(out, plain, false, 16));
    bytes back;
    CHECK(unprotect(in, sent.back(), false, &back).ok());
    CHECK(back == plain);
  }
  // Retransmission of the same sequence number (NACK without RTX) is allowed outbound.
  const bytes again = protect(out, rtp_packet(1, 1, 1, 160), false, 16);
  CHECK(unprotect(in, again, false).error == srtp_error::replay_fail);

  CHECK(unprotect(in, sent[1], false).error == srtp_error::replay_fail);
  CHECK(in.remove_stream(2));
  CHECK_FALSE(in.remove_stream(12345));
  // A removed stream starts afresh: its old packet is no longer a replay.
  CHECK(unprotect(in, sent[1], false).ok());

  srtp_session moved = std::move(in);
  CHECK(moved.direction() == srtp_direction::inbound);
  CHECK(moved.counters().rtp_ok == 4);
  CHECK(unprotect(moved, protect(out, rtp_packet(9, 1, 1, 160), false, 16), false).ok());
  srtp_session assigned = std::move(moved);
  CHECK(assigned.profile() == srtp_profile::aead_aes_256_gcm);
}

TEST_CASE("srtp bad input table: refused and counted, never thrown") {
  auto [out, in] = make_sessions(srtp_profile::aes_cm_128_hmac_sha1_80);
  enum class op { protect_rtp, unprotect_rtp, protect_rtcp, unprotect_rtcp };
  struct tcase {
    const char* name;
    bool on_outbound;
    op operation;
    bytes packet;
    size_t capacity; // 0: packet size + max_trailer
    srtp_error expected;
  };
  const bytes rtp = rtp_packet(1, 1, 1, 100);
  bytes v1 = rtp;
  v1[0] = 0x40; // version 1
  bytes csrc_overrun(40, 0);
  csrc_overrun[0] = 0x8f; // V=2, CC=15: 60 bytes of CSRCs announced in a 40-byte packet
  const tcase cases[] = {
    {"RTP shorter than a header", true, op::protect_rtp, bytes(11, 0x80), 0,
     srtp_error::too_short},
    {"RTP version 1", true, op::protect_rtp, v1, 0, srtp_error::bad_param},
    {"no room for the tag", true, op::protect_rtp, rtp, rtp.size() + 9, srtp_error::no_capacity},
    {"protect on the inbound session", false, op::protect_rtp, rtp, 0,
     srtp_error::wrong_direction},
    {"unprotect on the outbound session", true, op::unprotect_rtcp, rtp, 0,
     srtp_error::wrong_direction},
    {"SRTP shorter than header + tag", false, op::unprotect_rtp, bytes(21, 0x80), 0,
     srtp_error::too_short},
    {"SRTCP shorter than header + trailer", false, op::unprotect_rtcp, bytes(21, 0x80), 0,
     srtp_error::too_short},
    {"RTCP shorter than a header", true, op::protect_rtcp, bytes(7, 0x80), 0,
     srtp_error::too_short},
    {"length beyond the buffer", true, op::protect_rtp, rtp, rtp.size() - 1,
     srtp_error::bad_param},
    {"CSRC count beyond the packet", false, op::unprotect_rtp, csrc_overrun, 0,
     srtp_error::bad_param},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    bytes buf = c.packet;
    buf.resize(c.capacity ? c.capacity : c.packet.size() + srtp_session::max_trailer);
    srtp_session& s = c.on_outbound ? out : in;
    const size_t n = c.packet.size();
    srtp_result r;
    switch (c.operation) {
      case op::protect_rtp:
        r = s.protect_rtp(buf, n);
        break;
      case op::unprotect_rtp:
        r = s.unprotect_rtp(buf, n);
        break;
      case op::protect_rtcp:
        r = s.protect_rtcp(buf, n);
        break;
      case op::unprotect_rtcp:
        r = s.unprotect_rtcp(buf, n);
        break;
    }
    CHECK(to_string(r.error) == to_string(c.expected));
    CHECK(r.length == 0);
  }
  CHECK(out.counters().bad_param + in.counters().bad_param == std::size(cases));

  // Creation errors.
  const auto info = profile_info(srtp_profile::aead_aes_256_gcm);
  CHECK(info.key_length == 32);
  CHECK(info.salt_length == 12);
  CHECK_FALSE(srtp_session::create(srtp_profile::aead_aes_256_gcm, srtp_direction::inbound,
                                   pattern(16, 0), pattern(12, 0)).ok());
  CHECK_FALSE(srtp_session::create(srtp_profile::aes_cm_128_hmac_sha1_80, srtp_direction::inbound,
                                   pattern(16, 0), pattern(12, 0)).ok());
  srtp_options tiny;
  tiny.replay_window = 10;
  CHECK_FALSE(srtp_session::create(srtp_profile::aead_aes_128_gcm, srtp_direction::inbound,
                                   pattern(16, 0), pattern(12, 0), tiny).ok());
  CHECK(srtp_profile_from_id(0x0008) == srtp_profile::aead_aes_256_gcm);
  CHECK(srtp_profile_from_id(0x0001) == srtp_profile::aes_cm_128_hmac_sha1_80);
  CHECK_FALSE(srtp_profile_from_id(0x0003));
}
