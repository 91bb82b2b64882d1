// libFuzzer: the SRTP / SRTCP unprotect path (rtp/srtp_session.hpp: libsrtp, and rtp/srtp_gcm.hpp on OpenSSL for the GCM profiles) fed arbitrary
// bytes, for each profile browsers negotiate: what an attacker on the media port can send
// once DTLS is up. The first byte picks the profile and whether the bytes are RTP or RTCP.
// Round trip: the same bytes protected by an outbound session of the same keys unprotect
// to themselves (when they parse as RTP/RTCP enough for libsrtp to protect them).
#include "rtp/srtp_session.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

using namespace chorus::rtp;

namespace {

constexpr std::array<srtp_profile, 4> profiles{
  srtp_profile::aes_cm_128_hmac_sha1_80, srtp_profile::aes_cm_128_hmac_sha1_32,
  srtp_profile::aead_aes_128_gcm, srtp_profile::aead_aes_256_gcm};

struct sessions {
  std::optional<srtp_session> in, out;
};

sessions& for_profile(size_t i) {
  static std::array<sessions, 4> all;
  auto& s = all[i];
  if (!s.in) {
    const auto info = profile_info(profiles[i]);
    std::vector<uint8_t> key(info.key_length), salt(info.salt_length);
    for (size_t k = 0; k < key.size(); ++k)
      key[k] = uint8_t(k * 7 + 1);
    for (size_t k = 0; k < salt.size(); ++k)
      salt[k] = uint8_t(k * 13 + 5);
    auto in = srtp_session::create(profiles[i], srtp_direction::inbound, key, salt);
    auto out = srtp_session::create(profiles[i], srtp_direction::outbound, key, salt);
    if (!in.ok() || !out.ok())
      std::abort();
    s.in.emplace(std::move(in.value()));
    s.out.emplace(std::move(out.value()));
  }
  return s;
}

} // namespace

// libsrtp keeps a stream per SSRC it saw: each input's is forgotten after it, or a long run
// would grow without bound.
struct forget_ssrc {
  sessions& s;
  const uint8_t* data;
  size_t size;
  bool rtcp;
  ~forget_ssrc() {
    const size_t at = rtcp ? 4 : 8;
    if (size < at + 4)
      return;
    const uint32_t ssrc = (uint32_t(data[at]) << 24) | (uint32_t(data[at + 1]) << 16) |
                          (uint32_t(data[at + 2]) << 8) | data[at + 3];
    s.in->remove_stream(ssrc);
    s.out->remove_stream(ssrc);
  }
};

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 4096)
    return 0;
  const size_t which = data[0] % profiles.size();
  const bool rtcp = (data[0] & 0x80) != 0;
  auto& s = for_profile(which);
  forget_ssrc forget{s, data + 1, size - 1, rtcp};
  std::vector<uint8_t> buf(data + 1, data + size);
  const size_t length = buf.size();
  buf.resize(length + srtp_session::max_trailer);
  if (rtcp)
    (void)s.in->unprotect_rtcp(buf, length);
  else
    (void)s.in->unprotect_rtp(buf, length);

  // Round trip on a fresh copy.
  std::vector<uint8_t> plain(data + 1, data + size);
  std::vector<uint8_t> wire = plain;
  wire.resize(length + srtp_session::max_trailer);
  auto p = rtcp ? s.out->protect_rtcp(wire, length) : s.out->protect_rtp(wire, length);
  if (!p.ok())
    return 0;
  const size_t protected_length = p.length;
  auto u = rtcp ? s.in->unprotect_rtcp(wire, protected_length) : s.in->unprotect_rtp(wire, protected_length);
  // A replayed index (this input's SSRC and sequence seen before) is refused, rightly.
  if (u.ok() && (u.length != length || std::memcmp(wire.data(), plain.data(), length) != 0))
    std::abort();
  return 0;
}
