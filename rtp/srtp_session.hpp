// SRTP/SRTCP (RFC 3711, RFC 7714) for one direction of one transport: the AES-CM profiles
// on libsrtp2; the AEAD GCM profiles on Chorus's own AES-GCM (rtp/srtp_gcm.hpp, on the
// CPU's instructions or OpenSSL; srtp_options::openssl_gcm), with no libsrtp context at all:
// Debian's libsrtp2 runs AES-GCM through NSS, at several times the cost and memory.
//
// A session is created from the key and salt that DTLS-SRTP exported (net/dtls_engine):
// outbound from the local pair, inbound from the remote pair. It covers every SSRC of
// its direction (libsrtp's ssrc_any_outbound / ssrc_any_inbound templates), so new
// streams need no set-up. Packets are transformed in place; protect needs room for the
// trailer (srtp_session::max_trailer is always enough). Failures are values, counted,
// never exceptions: a bad media packet is dropped by the caller, not fatal.
//
// Not thread-safe per session (an actor owns it); different sessions may be used on
// different threads.
#pragma once

#include "common/result.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

struct srtp_ctx_t_; // libsrtp2's session

namespace chorus::rtp {

class srtcp_gcm;         // rtp/srtp_gcm.hpp
class srtp_gcm_receiver; // rtp/srtp_gcm.hpp
class srtp_gcm_sender;   // rtp/srtp_gcm.hpp

// Protection profiles by their IANA DTLS-SRTP ids (RFC 5764 §4.1.2, RFC 7714 §14.2),
// the same numbers as net::dtls_srtp_profile.
enum class srtp_profile : uint16_t {
  aes_cm_128_hmac_sha1_80 = 0x0001,
  aes_cm_128_hmac_sha1_32 = 0x0002,
  aead_aes_128_gcm = 0x0007,
  aead_aes_256_gcm = 0x0008,
};

struct srtp_profile_info {
  std::string_view name; // as in DTLS: "SRTP_AEAD_AES_256_GCM", ...
  size_t key_length;
  size_t salt_length;
  size_t rtp_trailer;  // bytes protect_rtp adds (auth tag)
  size_t rtcp_trailer; // bytes protect_rtcp adds (E flag + SRTCP index + auth tag)
};

srtp_profile_info profile_info(srtp_profile p) noexcept;
std::optional<srtp_profile> srtp_profile_from_id(uint16_t iana_id) noexcept;

enum class srtp_direction : uint8_t { inbound, outbound };

enum class srtp_error : uint8_t {
  none,
  bad_param,       // malformed packet or argument (libsrtp bad_param/parse_err)
  too_short,       // shorter than a header plus the trailer
  no_capacity,     // buffer cannot take the trailer
  wrong_direction, // protect on an inbound session or the reverse
  auth_fail,       // authentication tag does not match
  replay_fail,     // index already seen
  replay_old,      // index older than the replay window
  cipher_fail,
  key_expired,
  other,
};
std::string_view to_string(srtp_error e) noexcept;

struct srtp_result {
  srtp_error error = srtp_error::none;
  size_t length = 0; // new packet length when ok

  bool ok() const noexcept { return error == srtp_error::none; }
  explicit operator bool() const noexcept { return ok(); }
};

struct srtp_options {
  // Replay window in packets for SRTP (libsrtp: 64..32767; 0 = its default, 128).
  // SRTCP always uses libsrtp's fixed 128-entry window.
  uint32_t replay_window = 0;
  // Outbound: allow protecting a sequence number again (NACK retransmission without
  // RTX re-sends the same packet). The payload must then be identical.
  bool allow_repeat_tx = true;
  // With the AEAD GCM profiles, SRTP and SRTCP in both directions on rtp/srtp_gcm.hpp
  // (srtp_gcm_sender, srtp_gcm_receiver, srtcp_gcm) instead of libsrtp, whose Debian build
  // runs AES-GCM through NSS at several times the cost; same bytes, same judgement, and no
  // libsrtp context is made. false: libsrtp (the tests' reference).
  bool openssl_gcm = true;
  // Outbound SRTCP only (a transport's RTCP sender): with the GCM profiles on OpenSSL
  // (openssl_gcm) no SRTP stream state is made, and protect_rtp is refused (wrong_direction);
  // libsrtp's contexts (AES-CM, or GCM without openssl_gcm) always hold both. create()
  // refuses it for an inbound session.
  bool rtcp_only = false;
};

struct srtp_counters {
  uint64_t rtp_ok = 0;
  uint64_t rtcp_ok = 0;
  uint64_t bad_param = 0; // bad_param, too_short, no_capacity, wrong_direction
  uint64_t auth_fail = 0;
  uint64_t replay_fail = 0;
  uint64_t replay_old = 0;
  uint64_t other = 0; // cipher_fail, key_expired, other
};

class srtp_session {
public:
  // Largest trailer any profile adds (RTCP with a 16-byte GCM tag: 4 + 16).
  static constexpr size_t max_trailer = 20;

  static result<srtp_session> create(srtp_profile profile, srtp_direction direction,
                                     std::span<const uint8_t> key, std::span<const uint8_t> salt,
                                     srtp_options options = {});

  srtp_session(srtp_session&& other) noexcept;
  srtp_session& operator=(srtp_session&& other) noexcept;
  srtp_session(const srtp_session&) = delete;
  srtp_session& operator=(const srtp_session&) = delete;
  ~srtp_session();

  // In place: `buffer` holds the packet in its first `length` bytes and is the capacity.
  srtp_result protect_rtp(std::span<uint8_t> buffer, size_t length);
  srtp_result unprotect_rtp(std::span<uint8_t> buffer, size_t length);
  srtp_result protect_rtcp(std::span<uint8_t> buffer, size_t length);
  srtp_result unprotect_rtcp(std::span<uint8_t> buffer, size_t length);

  // Forgets one SSRC's stream state (ROC, replay window), e.g. when its producer or
  // consumer closes; true when it existed.
  bool remove_stream(uint32_t ssrc) noexcept;

  srtp_profile profile() const noexcept { return profile_; }
  // Whether libsrtp does the work (the AES-CM profiles, or GCM without openssl_gcm).
  bool uses_libsrtp() const noexcept { return ctx_ != nullptr; }
  srtp_direction direction() const noexcept { return direction_; }
  const srtp_counters& counters() const noexcept { return counters_; }

private:
  srtp_session(srtp_ctx_t_* ctx, srtp_profile profile, srtp_direction direction) noexcept;
  srtp_result finish(int status, int new_length, bool rtcp) noexcept;
  srtp_result refuse(srtp_error e) noexcept;
  srtp_result count(srtp_result r, bool rtcp) noexcept;
  // Keyed (libsrtp's context or the GCM parts); false once moved from.
  bool usable() const noexcept { return ctx_ != nullptr || rtcp_gcm_ != nullptr; }

  srtp_ctx_t_* ctx_ = nullptr; // the AES-CM profiles (and GCM without openssl_gcm)
  srtp_profile profile_;
  srtp_direction direction_;
  srtp_counters counters_;
  std::unique_ptr<srtcp_gcm> rtcp_gcm_;           // SRTCP with the GCM profiles (openssl_gcm)
  std::unique_ptr<srtp_gcm_receiver> rtp_gcm_in_; // inbound SRTP with them
  std::unique_ptr<srtp_gcm_sender> rtp_gcm_out_;  // outbound SRTP with them
};

} // namespace chorus::rtp
