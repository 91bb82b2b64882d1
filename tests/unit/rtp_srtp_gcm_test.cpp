// The OpenSSL AES-GCM sender (rtp/srtp_gcm) against libsrtp: for the same keys and packets
// its output must be libsrtp's byte for byte (key derivation, IV, rollover counter, tag),
// and libsrtp must unprotect it; named sequence-number tables cover the 65535 -> 0 wrap, a
// stream starting above 2^15, resends of older numbers and interleaved SSRCs.
#include "rtp/srtp_gcm.hpp"
#include "rtp/srtp_session.hpp"

#include <doctest/doctest.h>

#include <string>
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
      auto reference = srtp_session::create(profile, srtp_direction::outbound, key, salt);
      srtp_options in_options;
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
  auto reference = srtp_session::create(profile, srtp_direction::outbound, key, salt);
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
  auto fresh = srtp_session::create(profile, srtp_direction::outbound, key, salt);
  REQUIRE(fresh.ok());
  bytes a = rtp(0xAAAA0001, 7, 100, false), b;
  const size_t len = a.size();
  a.resize(len + srtp_session::max_trailer);
  b = a;
  REQUIRE(ours->protect_rtp(a, len).ok());
  REQUIRE(fresh->protect_rtp(b, len).ok());
  CHECK(a == b);
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
