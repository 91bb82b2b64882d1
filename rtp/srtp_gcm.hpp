// Outbound SRTP for the AEAD_AES_128_GCM and AEAD_AES_256_GCM profiles (RFC 7714), with
// OpenSSL's AES-GCM, for the forwarding path: protecting an RTP packet per consumer is the
// largest piece of the server's work that is not the kernel's.
//
// Why next to srtp_session (libsrtp): Debian's libsrtp2 uses NSS for AES-GCM, whose PKCS#11
// layer costs more than the cipher (a lock, a context allocation and a parameter block per
// packet): 2.8 us per 1200-byte packet against 1.1 us here on the development machine. The
// output is byte for byte libsrtp's (tests/unit/rtp_srtp_gcm_test.cpp protects the same
// packets with both, and unprotects ours with libsrtp): the same key derivation (RFC 3711
// §4.3 AES-CM PRF; the 12-byte GCM master salt is zero-padded to 14 bytes, as libsrtp
// does), the same IV (RFC 7714 §8.1), the same rollover counter estimate per SSRC (RFC 3711
// §3.3.1 against the highest index sent; ROC 0 until the index passes 2^15, as libsrtp).
// Re-sending an older sequence number (a NACK answered without RTX) reuses its index, as
// libsrtp with allow_repeat_tx.
//
// RTCP and inbound traffic stay with srtp_session. Not thread-safe: one owner.
#pragma once

#include "common/result.hpp"
#include "rtp/srtp_session.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

struct evp_cipher_ctx_st; // OpenSSL's EVP_CIPHER_CTX, kept out of this header

namespace chorus::rtp {

class srtp_gcm_sender {
public:
  static constexpr size_t tag_size = 16;

  // Only the GCM profiles; `key` 16 or 32 bytes as the profile says, `salt` 12 bytes.
  static result<srtp_gcm_sender> create(srtp_profile profile, std::span<const uint8_t> key,
                                        std::span<const uint8_t> salt);
  static bool supports(srtp_profile profile) noexcept;

  srtp_gcm_sender(srtp_gcm_sender&&) noexcept;
  srtp_gcm_sender& operator=(srtp_gcm_sender&&) noexcept;
  ~srtp_gcm_sender();

  // Encrypts the payload of the RTP packet in buffer[0, length) in place and appends the
  // tag; `buffer` needs tag_size bytes of room after `length`. Malformed packets and
  // missing room are bad_param.
  srtp_result protect_rtp(std::span<uint8_t> buffer, size_t length);

  // Forgets one SSRC's rollover state.
  void remove_stream(uint32_t ssrc) noexcept;

private:
  struct stream {
    uint32_t ssrc = 0;
    uint64_t highest = 0; // highest 48-bit index protected (ROC << 16 | SEQ)
  };
  struct ctx_free {
    void operator()(evp_cipher_ctx_st* c) const noexcept;
  };

  srtp_gcm_sender() = default;
  stream& stream_for(uint32_t ssrc);

  std::unique_ptr<evp_cipher_ctx_st, ctx_free> ctx_;
  std::array<uint8_t, 12> session_salt_{};
  std::vector<stream> streams_; // a consumer sends one or two SSRCs: a flat list
};

// Outbound RTP as the server's consumers protect it (and the bench's floor, so that the
// two are compared like for like): srtp_gcm_sender with the GCM profiles, libsrtp with the
// others.
class rtp_protector {
public:
  static result<rtp_protector> create(srtp_profile profile, std::span<const uint8_t> key,
                                      std::span<const uint8_t> salt);
  srtp_result protect_rtp(std::span<uint8_t> buffer, size_t length) {
    return gcm_ ? gcm_->protect_rtp(buffer, length) : srtp_->protect_rtp(buffer, length);
  }
  bool uses_openssl() const noexcept { return gcm_.has_value(); }

private:
  rtp_protector() = default;
  std::optional<srtp_gcm_sender> gcm_;
  std::optional<srtp_session> srtp_;
};

} // namespace chorus::rtp
