// The GCM sender (rtp/srtp_gcm, on aes_gcm or OpenSSL: gcm_impl) against libsrtp: for the same keys and packets
// its output must be libsrtp's byte for byte (key derivation, IV, rollover counter, tag),
// and libsrtp must unprotect it; named sequence-number tables cover the 65535 -> 0 wrap, a
// stream starting above 2^15, resends of older numbers and interleaved SSRCs.
#include "rtp/srtp_gcm.hpp"
#include "rtp/srtp_session.hpp"

#include <doctest/doctest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

using namespace chorus::rtp;

namespace {

using bytes = std::vector<uint8_t>;

bytes pattern(size_t n, uint8_t seed) {
  bytes b(n);
  for (size_t i = 0; i < n; ++i)
    b[i] = uint8_t(seed + i * 13);
  return b;
}

// An RTP packet: optional CSRCs and a one-byte-header extension (mid + transport-wide seq).
bytes rtp(uint32_t ssrc, uint16_t seq, size_t payload, bool extension, uint8_t csrcs = 0) {
  const uint8_t fixed[] = {uint8_t(0x80 | (extension ? 0x10 : 0) | csrcs), 96, uint8_t(seq >> 8),
                           uint8_t(seq), 0x12, 0x34, uint8_t(seq >> 4), uint8_t(seq),
                           uint8_t(ssrc >> 24), uint8_t(ssrc >> 16), uint8_t(ssrc >> 8),
                           uint8_t(ssrc)};
  const uint8_t ext[] = {0xBE, 0xDE, 0, 2, 0x10, '0', 0x31, uint8_t(seq >> 8), uint8_t(seq), 0, 0, 0};
  bytes p;
  p.reserve(sizeof fixed + 4 * csrcs + sizeof ext + payload);
  p.insert(p.end(), std::begin(fixed), std::end(fixed));
  for (uint8_t i = 0; i < csrcs; ++i)
    for (const uint8_t b : {uint8_t(0), uint8_t(0), uint8_t(0), uint8_t(i + 1)})
      p.push_back(b);
  if (extension)
    p.insert(p.end(), std::begin(ext), std::end(ext));
  const bytes body = pattern(payload, uint8_t(seq));
  p.insert(p.end(), body.begin(), body.end());
  return p;
}

// libsrtp for every part of a session (the reference): without it, a GCM session is ours.
srtp_options libsrtp_only() {
  srtp_options o;
  o.openssl_gcm = false;
  return o;
}

struct sequence_case {
  const char* name;
  std::vector<uint16_t> seqs;
};

std::vector<uint16_t> run(uint16_t from, size_t n) {
  std::vector<uint16_t> s;
  for (size_t i = 0; i < n; ++i)
    s.push_back(uint16_t(from + i));
  return s;
}

std::vector<uint16_t> concat(std::vector<uint16_t> a, const std::vector<uint16_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A named packet and the header size a caller tells protect_rtp.
struct header_case {
  const char* name;
  bytes packet;
  size_t header;
};

// Puts the process back on the default implementation when a test that switches it ends.
struct native_gcm_after_test {
  ~native_gcm_after_test() { set_gcm_impl(gcm_impl::native); }
};

// Protects a copy of `packet` (with room for the tag), given `header_size` (0: parsed).
std::pair<srtp_result, bytes> protect_copy(srtp_gcm_sender& s, const bytes& packet,
                                           size_t header_size) {
  bytes b = packet;
  const size_t len = b.size();
  b.resize(len + srtp_gcm_sender::tag_size);
  const auto r = s.protect_rtp(b, len, header_size);
  return {r, b};
}

} // namespace

TEST_CASE("srtp_gcm_sender: byte-identical to libsrtp, and libsrtp unprotects it") {
  const sequence_case cases[] = {
    {"from 1000, no wrap", run(1000, 40)},
    {"across the 65535 -> 0 wrap", run(65500, 80)},
    {"first packet above 2^15 (ROC stays 0 until the index passes 2^15)", run(40000, 30)},
    {"two wraps", run(65530, 65600)},
    {"a resend of an older number just after the wrap",
     concat(run(65520, 40), std::vector<uint16_t>{65530, 65535, 2, 20})},
    {"a jump forward of 20000", concat(run(500, 10), run(20500, 10))},
  };
  for (const auto profile : {srtp_profile::aead_aes_128_gcm, srtp_profile::aead_aes_256_gcm}) {
    const auto info = profile_info(profile);
    const bytes key = pattern(info.key_length, 3);
    const bytes salt = pattern(info.salt_length, 200);
    for (const auto& c : cases) {
      const std::string label = std::string(info.name) + ": " + c.name;
      INFO(label);
      auto ours = srtp_gcm_sender::create(profile, key, salt);
      REQUIRE(ours.ok());
      auto reference =
        srtp_session::create(profile, srtp_direction::outbound, key, salt, libsrtp_only());
      srtp_options in_options = libsrtp_only();
      in_options.replay_window = 1024;
      auto receiver = srtp_session::create(profile, srtp_direction::inbound, key, salt, in_options);
      REQUIRE(reference.ok());
      REQUIRE(receiver.ok());
      size_t n = 0, identical = 0, unprotected = 0;
      for (const uint16_t seq : c.seqs) {
        const bool ext = seq % 3 != 0;
        const uint8_t csrcs = seq % 5 == 0 ? 2 : 0;
        bytes a = rtp(0x11223344, seq, 160 + seq % 900, ext, csrcs);
        const size_t len = a.size();
        bytes b = a;
        a.resize(len + srtp_session::max_trailer);
        b.resize(len + srtp_session::max_trailer);
        auto ra = ours->protect_rtp(a, len);
        auto rb = reference->protect_rtp(b, len);
        REQUIRE(ra.ok());
        REQUIRE(rb.ok());
        CHECK(ra.length == len + srtp_gcm_sender::tag_size);
        ++n;
        if (ra.length == rb.length && std::equal(a.begin(), a.begin() + ra.length, b.begin()))
          ++identical;
        bytes received(a.begin(), a.begin() + ra.length);
        if (receiver->unprotect_rtp(received, received.size()).ok())
          ++unprotected;
      }
      CHECK(identical == n);
      // The resend case repeats numbers the receiver has seen: its replay check drops them.
      const size_t repeats = std::string(c.name).find("resend") != std::string::npos ? 4 : 0;
      CHECK(unprotected == n - repeats);
    }
  }
}

TEST_CASE("srtp_gcm_sender: streams of different SSRCs keep their own rollover counters") {
  const auto profile = srtp_profile::aead_aes_256_gcm;
  const auto info = profile_info(profile);
  const bytes key = pattern(info.key_length, 9), salt = pattern(info.salt_length, 77);
  auto ours = srtp_gcm_sender::create(profile, key, salt);
  auto reference =
    srtp_session::create(profile, srtp_direction::outbound, key, salt, libsrtp_only());
  REQUIRE(ours.ok());
  REQUIRE(reference.ok());
  // Video wraps (65000 + 1000) while audio (another SSRC) stays low, interleaved.
  size_t identical = 0, n = 0;
  for (uint32_t i = 0; i < 1000; ++i) {
    for (const auto& [ssrc, seq] : {std::pair<uint32_t, uint16_t>{0xAAAA0001, uint16_t(65000 + i)},
                                    std::pair<uint32_t, uint16_t>{0xBBBB0002, uint16_t(10 + i)}}) {
      bytes a = rtp(ssrc, seq, 100, true);
      const size_t len = a.size();
      a.resize(len + srtp_session::max_trailer);
      bytes b = a;
      auto ra = ours->protect_rtp(a, len);
      auto rb = reference->protect_rtp(b, len);
      REQUIRE(ra.ok());
      REQUIRE(rb.ok());
      ++n;
      identical += std::equal(a.begin(), a.begin() + ra.length, b.begin()) ? 1 : 0;
    }
  }
  CHECK(identical == n);
  // Forgetting a stream restarts its counter: a new sender for that SSRC agrees again.
  ours->remove_stream(0xAAAA0001);
  auto fresh = srtp_session::create(profile, srtp_direction::outbound, key, salt, libsrtp_only());
  REQUIRE(fresh.ok());
  bytes a = rtp(0xAAAA0001, 7, 100, false), b;
  const size_t len = a.size();
  a.resize(len + srtp_session::max_trailer);
  b = a;
  REQUIRE(ours->protect_rtp(a, len).ok());
  REQUIRE(fresh->protect_rtp(b, len).ok());
  CHECK(a == b);
}

TEST_CASE("srtp_session with a GCM profile: its own outbound SRTP is libsrtp's, byte for byte") {
  // The default session (no libsrtp context) against libsrtp's, through the wrap, a resend
  // of an older number (a NACK answered without RTX), and forgetting a stream.
  for (const auto profile : {srtp_profile::aead_aes_128_gcm, srtp_profile::aead_aes_256_gcm}) {
    const auto info = profile_info(profile);
    INFO(info.name);
    const bytes key = pattern(info.key_length, 21), salt = pattern(info.salt_length, 90);
    auto ours = srtp_session::create(profile, srtp_direction::outbound, key, salt);
    auto reference =
      srtp_session::create(profile, srtp_direction::outbound, key, salt, libsrtp_only());
    auto receiver =
      srtp_session::create(profile, srtp_direction::inbound, key, salt, libsrtp_only());
    REQUIRE(ours.ok());
    REQUIRE(reference.ok());
    REQUIRE(receiver.ok());
    CHECK_FALSE(ours->uses_libsrtp());
    CHECK(reference->uses_libsrtp());
    std::vector<uint16_t> seqs = run(65530, 12);
    seqs.push_back(65533); // a resend from before the wrap
    size_t identical = 0, unprotected = 0;
    for (const uint16_t seq : seqs) {
      bytes a = rtp(0x0BADCAFE, seq, 300, true);
      const size_t len = a.size();
      a.resize(len + srtp_session::max_trailer);
      bytes b = a;
      const auto ra = ours->protect_rtp(a, len);
      const auto rb = reference->protect_rtp(b, len);
      REQUIRE(ra.ok());
      REQUIRE(rb.ok());
      identical += ra.length == rb.length && std::equal(a.begin(), a.begin() + ra.length, b.begin());
      bytes got(a.begin(), a.begin() + ra.length);
      unprotected += receiver->unprotect_rtp(got, got.size()).ok() ? 1 : 0;
    }
    CHECK(identical == seqs.size());
    CHECK(unprotected == seqs.size() - 1); // the resend is a replay to the receiver
    CHECK(ours->counters().rtp_ok == seqs.size());
    CHECK(ours->remove_stream(0x0BADCAFE));
    CHECK_FALSE(ours->remove_stream(0x0BADCAFE));
    // The wrong direction and a buffer without room for the tag are refused and counted.
    bytes c = rtp(0x0BADCAFE, 1, 50, false);
    CHECK(ours->unprotect_rtp(c, c.size()).error == srtp_error::wrong_direction);
    CHECK(ours->protect_rtp(c, c.size()).error == srtp_error::no_capacity);
    CHECK(ours->counters().bad_param == 2);
  }
}

TEST_CASE("srtp_session with a GCM profile: libsrtp's outbound verdicts on old and repeated numbers") {
  struct row {
    const char* name;
    std::vector<uint16_t> seqs;
    bool allow_repeat;
    uint32_t window; // 0: the default (128)
    srtp_error last; // the last packet's verdict (all before it are sent)
  };
  const row rows[] = {
    {"a repeat, allowed (a NACK answered without RTX)", {10, 11, 12, 11}, true, 0, srtp_error::none},
    {"a repeat, refused without allow_repeat_tx", {10, 11, 12, 11}, false, 0, srtp_error::replay_fail},
    {"127 behind the highest: still in the window", {200, 327, 200}, true, 0, srtp_error::none},
    {"128 behind the highest: too old", {200, 328, 200}, true, 0, srtp_error::replay_old},
    {"a window of 64: 64 behind is too old", {100, 164, 100}, true, 64, srtp_error::replay_old},
    {"never sent, 100 behind a jump of 20000", {500, 20500, 20400}, false, 0, srtp_error::none},
    {"a resend from before the wrap, after it", {65534, 65535, 0, 1, 65535}, true, 0, srtp_error::none},
    {"the same, refused", {65534, 65535, 0, 1, 65535}, false, 0, srtp_error::replay_fail},
  };
  const auto profile = srtp_profile::aead_aes_128_gcm;
  const bytes key = pattern(16, 61), salt = pattern(12, 62);
  for (const auto& r : rows) {
    INFO(r.name);
    srtp_options o, ref_o = libsrtp_only();
    o.allow_repeat_tx = ref_o.allow_repeat_tx = r.allow_repeat;
    o.replay_window = ref_o.replay_window = r.window;
    auto ours = srtp_session::create(profile, srtp_direction::outbound, key, salt, o);
    auto reference = srtp_session::create(profile, srtp_direction::outbound, key, salt, ref_o);
    REQUIRE(ours.ok());
    REQUIRE(reference.ok());
    for (size_t i = 0; i < r.seqs.size(); ++i) {
      bytes a = rtp(0x5EED0001, r.seqs[i], 120, true);
      const size_t len = a.size();
      a.resize(len + srtp_session::max_trailer);
      bytes b = a;
      const auto ra = ours->protect_rtp(a, len);
      const auto rb = reference->protect_rtp(b, len);
      CHECK(ra.error == rb.error);
      CHECK(ra.error == (i + 1 == r.seqs.size() ? r.last : srtp_error::none));
      if (ra.ok() && rb.ok())
        CHECK(std::equal(a.begin(), a.begin() + ra.length, b.begin(), b.begin() + rb.length));
    }
  }
}

TEST_CASE("srtp_gcm_sender: a header size from the caller's parse gives the same bytes") {
  // rtp_sender::send_rtp passes the header size it parsed; the output must be what the
  // sender's own parse gives (two senders of the same keys, same packets, same order).
  for (const auto profile : {srtp_profile::aead_aes_128_gcm, srtp_profile::aead_aes_256_gcm}) {
    CAPTURE(int(profile));
    const bytes key = pattern(profile == srtp_profile::aead_aes_128_gcm ? 16 : 32, 7);
    const bytes salt = pattern(12, 9);
    auto parsing = srtp_gcm_sender::create(profile, key, salt);
    auto told = srtp_gcm_sender::create(profile, key, salt);
    REQUIRE(parsing.ok());
    REQUIRE(told.ok());
    const header_case rows[] = {
      {"fixed header only", rtp(0x1111, 65535, 1150, false), 12},
      {"one-byte extensions (mid, transport-wide seq)", rtp(0x1111, 0, 100, true), 24},
      {"CSRCs and extensions", rtp(0x2222, 7, 40, true, 3), 36},
      {"no payload", rtp(0x2222, 8, 0, true), 24},
    };
    for (const auto& r : rows) {
      CAPTURE(r.name);
      const auto [ra, a] = protect_copy(*parsing, r.packet, 0);
      const auto [rb, b] = protect_copy(*told, r.packet, r.header);
      REQUIRE(ra.ok());
      REQUIRE(rb.ok());
      CHECK(ra.length == rb.length);
      CHECK(a == b);
    }
  }
}

TEST_CASE("srtp_gcm_sender: a header size that cannot be the packet's is refused") {
  auto s = srtp_gcm_sender::create(srtp_profile::aead_aes_128_gcm, pattern(16, 1), pattern(12, 2));
  REQUIRE(s.ok());
  bytes bad_version = rtp(1, 1, 20, false);
  bad_version[0] = 0x40;
  const header_case rows[] = {
    {"shorter than a fixed header", rtp(1, 1, 20, false), 11},
    {"longer than the packet", rtp(1, 1, 20, false), 33},
    {"a packet shorter than a fixed header", bytes(11, 0x80), 12},
    {"version 1", bad_version, 12},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    CHECK(protect_copy(*s, r.packet, r.header).first.error == srtp_error::bad_param);
  }
}

TEST_CASE("srtp_gcm_sender: refuses what it cannot protect") {
  const auto profile = srtp_profile::aead_aes_128_gcm;
  const bytes key = pattern(16, 1), salt = pattern(12, 2);
  SUBCASE("profiles and key lengths") {
    CHECK_FALSE(srtp_gcm_sender::create(srtp_profile::aes_cm_128_hmac_sha1_80, key, pattern(14, 2)).ok());
    CHECK_FALSE(srtp_gcm_sender::create(profile, pattern(32, 1), salt).ok());
    CHECK_FALSE(srtp_gcm_sender::create(profile, key, pattern(14, 2)).ok());
    CHECK(srtp_gcm_sender::supports(srtp_profile::aead_aes_256_gcm));
    CHECK_FALSE(srtp_gcm_sender::supports(srtp_profile::aes_cm_128_hmac_sha1_32));
  }
  SUBCASE("malformed packets and missing room") {
    auto s = srtp_gcm_sender::create(profile, key, salt);
    REQUIRE(s.ok());
    struct row {
      const char* name;
      bytes packet;
      size_t room;
    };
    bytes bad_version = rtp(1, 1, 20, false);
    bad_version[0] = 0x40;
    bytes short_extension = rtp(1, 1, 0, true);
    short_extension[15] = 40; // says 40 words of extension
    bytes csrc_past_end = rtp(1, 1, 0, false);
    csrc_past_end[0] |= 0x0F;
    const row rows[] = {
      {"shorter than the fixed header", bytes(11, 0x80), 16},
      {"version 1", bad_version, 16},
      {"extension longer than the packet", short_extension, 16},
      {"CSRC count past the end", csrc_past_end, 16},
      {"no room for the tag", rtp(1, 1, 20, false), 15},
    };
    for (const auto& r : rows) {
      INFO(r.name);
      bytes b = r.packet;
      const size_t len = b.size();
      b.resize(len + r.room);
      CHECK(s->protect_rtp(b, len).error == srtp_error::bad_param);
    }
  }
}

namespace {

// RTCP packets as the server sends and receives them: SR + SDES (a consumer's report), RR
// with two blocks, PLI, generic NACK; the sender SSRC at bytes 4..7.
bytes rtcp_packet(int kind, uint32_t ssrc, uint8_t seed) {
  bytes body;
  uint8_t first = 0x80, type = 200;
  switch (kind) {
    case 0: // SR (no blocks) + SDES CNAME
      body = pattern(20, seed);
      break;
    case 1: // RR, two report blocks
      first = 0x82, type = 201, body = pattern(48, seed);
      break;
    case 2: // PLI: media SSRC only
      first = 0x81, type = 206, body = pattern(4, seed);
      break;
    default: // generic NACK: media SSRC + one FCI
      first = 0x81, type = 205, body = pattern(8, seed);
  }
  const uint16_t words = uint16_t((4 + body.size()) / 4);
  bytes p = {first, type, uint8_t(words >> 8), uint8_t(words), uint8_t(ssrc >> 24),
             uint8_t(ssrc >> 16), uint8_t(ssrc >> 8), uint8_t(ssrc)};
  p.insert(p.end(), body.begin(), body.end());
  if (kind == 0) { // SDES with one chunk: SSRC, CNAME "chorus", end, padding
    const uint8_t sdes[] = {0x81, 202, 0, 3, uint8_t(ssrc >> 24), uint8_t(ssrc >> 16),
                            uint8_t(ssrc >> 8), uint8_t(ssrc), 1, 6, 'c', 'h', 'o', 'r', 'u', 's'};
    p.insert(p.end(), std::begin(sdes), std::end(sdes));
  }
  return p;
}

} // namespace

TEST_CASE("srtcp_gcm: byte-identical to libsrtp's SRTCP, and each side unprotects the other's") {
  // Interleaved sender SSRCs (a transport's consumers each report for their own), every
  // packet kind; both AEAD profiles.
  const uint32_t ssrcs[] = {0x11112222, 0x33334444, 0x55556666};
  for (const auto profile : {srtp_profile::aead_aes_128_gcm, srtp_profile::aead_aes_256_gcm}) {
    const auto info = profile_info(profile);
    INFO(info.name);
    const bytes key = pattern(info.key_length, 41), salt = pattern(info.salt_length, 7);
    auto ours_out = srtp_session::create(profile, srtp_direction::outbound, key, salt);
    auto ref_out = srtp_session::create(profile, srtp_direction::outbound, key, salt, libsrtp_only());
    auto ours_in = srtp_session::create(profile, srtp_direction::inbound, key, salt);
    auto ref_in = srtp_session::create(profile, srtp_direction::inbound, key, salt, libsrtp_only());
    REQUIRE(ours_out.ok());
    REQUIRE(ref_out.ok());
    REQUIRE(ours_in.ok());
    REQUIRE(ref_in.ok());
    size_t n = 0, identical = 0, ref_took_ours = 0, ours_took_ref = 0;
    for (int i = 0; i < 300; ++i) {
      const uint32_t ssrc = ssrcs[i % 3];
      const bytes plain = rtcp_packet(i % 4, ssrc, uint8_t(i));
      bytes a = plain, b = plain;
      a.resize(plain.size() + srtp_session::max_trailer);
      b.resize(plain.size() + srtp_session::max_trailer);
      auto ra = ours_out->protect_rtcp(a, plain.size());
      auto rb = ref_out->protect_rtcp(b, plain.size());
      REQUIRE(ra.ok());
      REQUIRE(rb.ok());
      CHECK(ra.length == plain.size() + info.rtcp_trailer);
      ++n;
      identical += ra.length == rb.length && std::equal(a.begin(), a.begin() + ra.length, b.begin());
      a.resize(ra.length);
      b.resize(rb.length);
      bytes a_for_ref = a;
      if (auto r = ref_in->unprotect_rtcp(a_for_ref, a_for_ref.size());
          r.ok() && r.length == plain.size() && std::equal(plain.begin(), plain.end(), a_for_ref.begin()))
        ++ref_took_ours;
      if (auto r = ours_in->unprotect_rtcp(b, b.size());
          r.ok() && r.length == plain.size() && std::equal(plain.begin(), plain.end(), b.begin()))
        ++ours_took_ref;
    }
    CHECK(identical == n);
    CHECK(ref_took_ours == n);
    CHECK(ours_took_ref == n);
    CHECK(ours_out->counters().rtcp_ok == n);
    CHECK(ours_in->counters().rtcp_ok == n);
  }
}

TEST_CASE("srtcp_gcm: tampering, replays and order, as libsrtp judges them") {
  const auto profile = srtp_profile::aead_aes_256_gcm;
  const bytes key = pattern(32, 5), salt = pattern(12, 9);
  auto out = srtp_session::create(profile, srtp_direction::outbound, key, salt);
  REQUIRE(out.ok());
  // 200 protected packets of one sender (SRTCP indexes 1..200).
  std::vector<bytes> sent;
  for (int i = 0; i < 200; ++i) {
    bytes p = rtcp_packet(1, 0xCAFE0001, uint8_t(i));
    const size_t len = p.size();
    p.resize(len + srtp_session::max_trailer);
    auto r = out->protect_rtcp(p, len);
    REQUIRE(r.ok());
    p.resize(r.length);
    sent.push_back(p);
  }
  struct row {
    const char* name;
    std::vector<int> order;   // indexes into sent, in arrival order
    int tamper_at = -1;       // byte offset flipped in the last packet (-1: none)
    srtp_error last;          // what the last one gets
    int forge = -1;           // an arrival (position in order) whose body is changed
  };
  const int n = int(sent[0].size());
  const row rows[] = {
    {"in order", {0, 1, 2, 3}, -1, srtp_error::none},
    {"a header byte changed", {0, 1}, 2, srtp_error::auth_fail},
    {"a body byte changed", {0, 1}, 20, srtp_error::auth_fail},
    {"a tag byte changed", {0, 1}, n - 10, srtp_error::auth_fail},
    {"the index changed", {0, 1}, n - 1, srtp_error::auth_fail},
    {"the same packet twice", {0, 1, 1}, -1, srtp_error::replay_fail},
    {"late but inside the window, once", {0, 5, 3}, -1, srtp_error::none},
    {"late inside the window, twice", {0, 5, 3, 3}, -1, srtp_error::replay_fail},
    {"127 behind the highest: still in the window", {0, 150, 23}, -1, srtp_error::none},
    {"128 behind the highest: too old", {0, 150, 22}, -1, srtp_error::replay_old},
    {"a jump of 64 keeps what it passed", {0, 64, 0}, -1, srtp_error::replay_fail},
    {"a jump of 100, then one in the gap", {10, 110, 50}, -1, srtp_error::none},
    {"a forged packet does not move the window", {0, 199, 1}, -1, srtp_error::none, 1},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    auto in = srtp_session::create(profile, srtp_direction::inbound, key, salt);
    REQUIRE(in.ok());
    srtp_result last;
    for (size_t k = 0; k < r.order.size(); ++k) {
      bytes p = sent[size_t(r.order[k])];
      const bool is_last = k + 1 == r.order.size();
      if (is_last && r.tamper_at >= 0)
        p[size_t(r.tamper_at)] ^= 0x01;
      if (int(k) == r.forge)
        p[12] ^= 0x01; // does not authenticate: the window must not move to its index
      last = in->unprotect_rtcp(p, p.size());
    }
    CHECK(last.error == r.last);
  }
}

TEST_CASE("srtp_gcm_receiver: libsrtp's verdict and plaintext for every packet") {
  struct arrival_case {
    const char* name;
    std::vector<uint16_t> seqs;
    uint32_t window; // the session's replay window (0: libsrtp's default, 128)
  };
  const arrival_case cases[] = {
    {"in order from 1000", run(1000, 60), 0},
    {"across the 65535 -> 0 wrap", run(65500, 80), 0},
    {"first packet above 2^15", run(40000, 30), 0},
    {"two wraps", run(65530, 65600), 0},
    {"reordered pairs across the wrap", {65533, 65532, 65535, 65534, 1, 0, 3, 2}, 0},
    {"every packet twice", {7, 7, 8, 8, 9, 9}, 0},
    {"127 and 128 behind the highest", {1000, 1200, 1073, 1072, 1200}, 0},
    {"500 behind with a window of 1024", {1000, 2000, 1500, 1500, 976, 977}, 1024},
    {"a jump forward of 20000 and an old one after it", concat(run(500, 10), {20500, 505, 20499}), 0},
  };
  for (const auto profile : {srtp_profile::aead_aes_128_gcm, srtp_profile::aead_aes_256_gcm}) {
    const auto info = profile_info(profile);
    const bytes key = pattern(info.key_length, 77), salt = pattern(info.salt_length, 31);
    for (const auto& c : cases) {
      const std::string label = std::string(info.name) + ": " + c.name;
      INFO(label);
      // The sender protects each distinct number once, in the case's order (srtp_gcm_sender,
      // libsrtp's bytes, shown above; libsrtp's own sender refuses a new number 128 behind
      // its highest); the arrivals replay those bytes in the case's order.
      auto sender = srtp_gcm_sender::create(profile, key, salt);
      REQUIRE(sender.ok());
      srtp_options ours_opt, ref_opt = libsrtp_only();
      ours_opt.replay_window = ref_opt.replay_window = c.window;
      auto ours = srtp_session::create(profile, srtp_direction::inbound, key, salt, ours_opt);
      auto ref = srtp_session::create(profile, srtp_direction::inbound, key, salt, ref_opt);
      REQUIRE(ours.ok());
      REQUIRE(ref.ok());
      // The first protection of each number (a map: "two wraps" sends 65 600 packets).
      std::map<uint16_t, bytes> wire;
      size_t same_verdict = 0, same_plain = 0, accepted = 0;
      for (const uint16_t seq : c.seqs) {
        auto it = wire.find(seq);
        if (it == wire.end()) {
          bytes p = rtp(0x0BADCAFE, seq, 100 + seq % 700, seq % 2 == 0);
          const size_t len = p.size();
          p.resize(len + srtp_session::max_trailer);
          auto r = sender->protect_rtp(p, len);
          REQUIRE(r.ok());
          p.resize(r.length);
          it = wire.emplace(seq, std::move(p)).first;
        }
        bytes a = it->second, b = it->second;
        auto ra = ours->unprotect_rtp(a, a.size());
        auto rb = ref->unprotect_rtp(b, b.size());
        same_verdict += ra.error == rb.error;
        if (ra.ok()) {
          ++accepted;
          same_plain += ra.length == rb.length && std::equal(a.begin(), a.begin() + ra.length, b.begin());
        }
      }
      CHECK(same_verdict == c.seqs.size());
      CHECK(same_plain == accepted);
      CHECK(ours->counters().rtp_ok == accepted);
    }
  }
  SUBCASE("padding (P = 1): the count is encrypted and the tag ends the packet") {
    // Chromium's bandwidth probes are padding only (P = 1, up to 255 bytes of it). A
    // receiver that read the last byte as the padding count refused some: it is a tag byte.
    for (const auto profile : {srtp_profile::aead_aes_128_gcm, srtp_profile::aead_aes_256_gcm}) {
      const auto info = profile_info(profile);
      INFO(info.name);
      const bytes key = pattern(info.key_length, 5), salt = pattern(info.salt_length, 6);
      auto sender = srtp_gcm_sender::create(profile, key, salt);
      auto ours = srtp_session::create(profile, srtp_direction::inbound, key, salt);
      auto ref = srtp_session::create(profile, srtp_direction::inbound, key, salt, libsrtp_only());
      REQUIRE(sender.ok());
      REQUIRE(ours.ok());
      REQUIRE(ref.ok());
      size_t n = 0, ok = 0, same = 0;
      for (uint16_t seq = 2000; seq < 2400; ++seq) {
        const size_t payload = seq % 2 ? 0 : 100; // a probe, or media with a little padding
        const uint8_t pad = uint8_t(seq % 2 ? 224 : 1 + seq % 7);
        bytes p = rtp(0x7E57, seq, payload, true);
        p[0] |= 0x20;
        p.insert(p.end(), pad - 1, 0);
        p.push_back(pad);
        const size_t len = p.size();
        p.resize(len + srtp_session::max_trailer);
        auto r = sender->protect_rtp(p, len);
        REQUIRE(r.ok());
        p.resize(r.length);
        bytes a = p, b = p;
        auto ra = ours->unprotect_rtp(a, a.size());
        auto rb = ref->unprotect_rtp(b, b.size());
        ++n;
        ok += ra.ok();
        same += ra.ok() && rb.ok() && ra.length == len && rb.length == len &&
                std::equal(a.begin(), a.begin() + len, b.begin());
      }
      CHECK(ok == n);
      CHECK(same == n);
    }
  }
  SUBCASE("a changed byte is an authentication failure, and moves nothing") {
    const auto profile = srtp_profile::aead_aes_128_gcm;
    const bytes key = pattern(16, 1), salt = pattern(12, 2);
    auto sender = srtp_session::create(profile, srtp_direction::outbound, key, salt);
    auto in = srtp_session::create(profile, srtp_direction::inbound, key, salt);
    REQUIRE(sender.ok());
    REQUIRE(in.ok());
    bytes p = rtp(5, 100, 300, true);
    const size_t len = p.size();
    p.resize(len + srtp_session::max_trailer);
    auto r = sender->protect_rtp(p, len);
    REQUIRE(r.ok());
    p.resize(r.length);
    for (const size_t at : {size_t(1), size_t(20), size_t(200), p.size() - 1}) {
      bytes t = p;
      t[at] ^= 0x40;
      CHECK(in->unprotect_rtp(t, t.size()).error == srtp_error::auth_fail);
    }
    CHECK(in->counters().auth_fail == 4);
    bytes good = p;
    CHECK(in->unprotect_rtp(good, good.size()).ok()); // the forgeries were not "seen"
  }
}

TEST_CASE("srtp_gcm_receiver and srtcp_gcm inbound: SSRCs beyond the bound replace the first seen") {
  // A peer sending under ever new SSRCs (each packet authentic) grows no table: at most
  // max_streams replay windows, the oldest replaced; a stream forgotten and seen again
  // starts a window of its own.
  const auto profile = srtp_profile::aead_aes_128_gcm;
  const bytes key = pattern(16, 12), salt = pattern(12, 34);
  auto sender = srtp_gcm_sender::create(profile, key, salt);
  auto receiver = srtp_gcm_receiver::create(profile, key, salt, 128);
  REQUIRE(sender.ok());
  REQUIRE(receiver.ok());
  auto send = [&](uint32_t ssrc, uint16_t seq) {
    bytes p = rtp(ssrc, seq, 40, false);
    const size_t len = p.size();
    p.resize(len + srtp_gcm_sender::tag_size);
    auto r = sender->protect_rtp(p, len);
    REQUIRE(r.ok());
    return receiver->unprotect_rtp(p, r.length).ok();
  };
  for (uint32_t i = 0; i < 300; ++i)
    CHECK(send(0x1000 + i, 1));
  CHECK(receiver->streams() == srtp_gcm_receiver::max_streams);
  CHECK(send(0x1000 + 299, 2)); // a recent one keeps its window
  CHECK(receiver->streams() == srtp_gcm_receiver::max_streams);
  CHECK(receiver->remove_stream(0x1000 + 299));
  CHECK(receiver->streams() == srtp_gcm_receiver::max_streams - 1);

  auto out = srtcp_gcm::create(profile, srtp_direction::outbound, key, salt);
  auto in = srtcp_gcm::create(profile, srtp_direction::inbound, key, salt);
  REQUIRE(out.ok());
  REQUIRE(in.ok());
  for (uint32_t i = 0; i < 300; ++i) {
    bytes p = rtcp_packet(1, 0x2000 + i, uint8_t(i));
    const size_t len = p.size();
    p.resize(len + srtcp_gcm::trailer_size);
    auto r = out->protect_rtcp(p, len);
    REQUIRE(r.ok());
    CHECK(in->unprotect_rtcp(p, r.length).ok());
  }
  CHECK(in->streams() == srtcp_gcm::max_inbound_streams);
  CHECK(out->streams() == 300); // outbound forgets no index
}

TEST_CASE("srtp_gcm: the CPU's AES-GCM (aes_gcm) and OpenSSL's give the same bytes and verdicts") {
  // The other tests run with the process default (aes_gcm where the CPU has it) against
  // libsrtp; here each class under one is compared with itself under the other, both ways.
  if (!aes_gcm::available()) {
    MESSAGE("this CPU lacks the instructions: OpenSSL only");
    return;
  }
  const native_gcm_after_test restore;
  for (const auto profile : {srtp_profile::aead_aes_128_gcm, srtp_profile::aead_aes_256_gcm}) {
    CAPTURE(int(profile));
    const bytes key = pattern(profile_info(profile).key_length, 3), salt = pattern(12, 9);
    set_gcm_impl(gcm_impl::native);
    REQUIRE(gcm_uses_native());
    auto native_tx = srtp_gcm_sender::create(profile, key, salt);
    auto native_rx = srtp_gcm_receiver::create(profile, key, salt, 128);
    auto native_rtcp_tx = srtcp_gcm::create(profile, srtp_direction::outbound, key, salt);
    auto native_rtcp_rx = srtcp_gcm::create(profile, srtp_direction::inbound, key, salt);
    set_gcm_impl(gcm_impl::openssl);
    REQUIRE_FALSE(gcm_uses_native());
    auto ossl_tx = srtp_gcm_sender::create(profile, key, salt);
    auto ossl_rx = srtp_gcm_receiver::create(profile, key, salt, 128);
    auto ossl_rtcp_tx = srtcp_gcm::create(profile, srtp_direction::outbound, key, salt);
    auto ossl_rtcp_rx = srtcp_gcm::create(profile, srtp_direction::inbound, key, salt);
    REQUIRE((native_tx.ok() && native_rx.ok() && native_rtcp_tx.ok() && native_rtcp_rx.ok()));
    REQUIRE((ossl_tx.ok() && ossl_rx.ok() && ossl_rtcp_tx.ok() && ossl_rtcp_rx.ok()));
    // Payloads of every size a frame's packets take, header extensions and CSRCs or not.
    for (uint16_t seq = 0; seq < 300; ++seq) {
      const size_t payload = (size_t(seq) * 37) % 1300;
      const bytes packet = rtp(0xabcdef01, seq, payload, seq % 2 == 0, uint8_t(seq % 3));
      const auto [a, native_bytes] = protect_copy(*native_tx, packet, 0);
      const auto [b, ossl_bytes] = protect_copy(*ossl_tx, packet, 0);
      REQUIRE(a.ok());
      REQUIRE(b.ok());
      REQUIRE(native_bytes == ossl_bytes);
      // A flipped payload bit: an authentication failure for both (before the packet
      // itself, which would make it a replay).
      if (payload > 0) {
        bytes bad = native_bytes;
        bad[packet.size() - 1] ^= 0x40;
        bytes bad2 = bad;
        CHECK(native_rx->unprotect_rtp(bad, a.length).error == srtp_error::auth_fail);
        CHECK(ossl_rx->unprotect_rtp(bad2, a.length).error == srtp_error::auth_fail);
      }
      bytes x = native_bytes, y = ossl_bytes;
      REQUIRE(ossl_rx->unprotect_rtp(x, a.length).ok());
      REQUIRE(native_rx->unprotect_rtp(y, b.length).ok());
      CHECK(bytes(x.begin(), x.begin() + ptrdiff_t(packet.size())) == packet);
      CHECK(bytes(y.begin(), y.begin() + ptrdiff_t(packet.size())) == packet);
    }
    for (uint32_t i = 0; i < 40; ++i) {
      const bytes packet = rtcp_packet(uint8_t(1 + i % 4), 0x5000, uint8_t(i));
      auto protect = [&](srtcp_gcm& s) {
        bytes p = packet;
        p.resize(p.size() + srtcp_gcm::trailer_size);
        auto r = s.protect_rtcp(p, packet.size());
        REQUIRE(r.ok());
        p.resize(r.length);
        return p;
      };
      const bytes n = protect(*native_rtcp_tx), o = protect(*ossl_rtcp_tx);
      REQUIRE(n == o);
      bytes x = n, y = o;
      REQUIRE(ossl_rtcp_rx->unprotect_rtcp(x, x.size()).ok());
      REQUIRE(native_rtcp_rx->unprotect_rtcp(y, y.size()).ok());
      CHECK(bytes(x.begin(), x.begin() + ptrdiff_t(packet.size())) == packet);
      CHECK(bytes(y.begin(), y.begin() + ptrdiff_t(packet.size())) == packet);
    }
  }
}

namespace {
// RFC 3711 §4.3.1 (AES-CM PRF, key derivation rate 0), made here with OpenSSL's AES-CTR to
// build what srtcp_gcm never sends itself.
bytes derive_for_test(const bytes& master_key, const bytes& master_salt, uint8_t label, size_t n) {
  uint8_t iv[16] = {};
  std::copy(master_salt.begin(), master_salt.end(), iv);
  iv[7] ^= label;
  bytes out(n, 0);
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  int len = 0;
  REQUIRE(EVP_EncryptInit_ex(c, master_key.size() == 32 ? EVP_aes_256_ctr() : EVP_aes_128_ctr(),
                             nullptr, master_key.data(), iv) == 1);
  REQUIRE(EVP_EncryptUpdate(c, out.data(), &len, out.data(), int(n)) == 1);
  EVP_CIPHER_CTX_free(c);
  return out;
}
} // namespace

TEST_CASE("srtcp_gcm inbound: an SRTCP packet sent unencrypted (E = 0), on aes_gcm and on OpenSSL") {
  // RFC 7714 §9: with E = 0 the whole packet and the E/index word are associated data and
  // nothing is encrypted. Chorus never sends such packets, but peers may; built here from
  // the RFC (key derivation, IV, tag by OpenSSL) and opened by both implementations.
  const native_gcm_after_test restore;
  for (const auto profile : {srtp_profile::aead_aes_128_gcm, srtp_profile::aead_aes_256_gcm}) {
    CAPTURE(int(profile));
    const bytes key = pattern(profile_info(profile).key_length, 21), salt = pattern(12, 5);
    const bytes session_key = derive_for_test(key, salt, 0x03, key.size());
    const bytes session_salt = derive_for_test(key, salt, 0x05, 12);
    for (const auto impl : {gcm_impl::native, gcm_impl::openssl}) {
      CAPTURE(int(impl));
      set_gcm_impl(impl);
      auto in = srtcp_gcm::create(profile, srtp_direction::inbound, key, salt);
      REQUIRE(in.ok());
      for (uint32_t index = 1; index <= 20; ++index) {
        // Receiver reports and longer compound packets: associated data past 128 bytes.
        const bytes packet = rtcp_packet(int(index % 4), 0x77665544, uint8_t(index));
        bytes extra = packet;
        for (uint32_t k = 0; k < index % 5; ++k)
          extra.insert(extra.end(), packet.begin(), packet.end());
        const uint32_t ssrc = 0x77665544;
        const uint8_t w[4] = {uint8_t(index >> 24), uint8_t(index >> 16), uint8_t(index >> 8),
                              uint8_t(index)}; // E = 0
        uint8_t iv[12] = {0, 0, uint8_t(ssrc >> 24), uint8_t(ssrc >> 16), uint8_t(ssrc >> 8),
                          uint8_t(ssrc), 0, 0, w[0], w[1], w[2], w[3]};
        for (size_t i = 0; i < 12; ++i)
          iv[i] ^= session_salt[i];
        uint8_t tag[16];
        EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
        int len = 0;
        REQUIRE(EVP_EncryptInit_ex(c, key.size() == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm(),
                                   nullptr, session_key.data(), iv) == 1);
        REQUIRE(EVP_EncryptUpdate(c, nullptr, &len, extra.data(), int(extra.size())) == 1);
        REQUIRE(EVP_EncryptUpdate(c, nullptr, &len, w, 4) == 1);
        REQUIRE(EVP_EncryptFinal_ex(c, nullptr, &len) == 1);
        REQUIRE(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1);
        EVP_CIPHER_CTX_free(c);
        bytes wire = extra;
        wire.insert(wire.end(), tag, tag + 16);
        wire.insert(wire.end(), w, w + 4);
        // A changed byte of the (clear) body first: refused, the window not moved.
        bytes bad = wire;
        bad[9] ^= 0x01;
        CHECK(in->unprotect_rtcp(bad, bad.size()).error == srtp_error::auth_fail);
        bytes good = wire;
        const auto r = in->unprotect_rtcp(good, good.size());
        REQUIRE(r.ok());
        CHECK(r.length == extra.size());
        CHECK(bytes(good.begin(), good.begin() + ptrdiff_t(extra.size())) == extra);
        bytes again = wire; // a replay
        CHECK(in->unprotect_rtcp(again, again.size()).error == srtp_error::replay_fail);
      }
    }
  }
}
