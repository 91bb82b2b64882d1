// Outbound SRTP for the AEAD_AES_128_GCM and AEAD_AES_256_GCM profiles (RFC 7714), with
// aes_gcm (or OpenSSL's AES-GCM: gcm_impl), for the forwarding path: protecting an RTP packet per consumer is the
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
// srtcp_gcm (SRTCP, RFC 7714 §9, both directions) and srtp_gcm_receiver (inbound SRTP)
// serve srtp_session with the same profiles unless told otherwise
// (srtp_options::openssl_gcm). Not thread-safe: one owner.
#pragma once

#include "common/result.hpp"
#include "rtp/aes_gcm.hpp"
#include "rtp/srtp_session.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

struct evp_cipher_ctx_st; // OpenSSL's EVP_CIPHER_CTX, kept out of this header

namespace chorus::rtp {

// Which AES-GCM the GCM classes below key: `native` is aes_gcm (the CPU's AES and
// carry-less multiply instructions) where the CPU has them, OpenSSL's EVP otherwise;
// `openssl` is EVP always (for comparison: `--gcm openssl`). A process-wide choice, read
// when a sender, receiver or SRTCP context is created.
enum class gcm_impl : uint8_t { native, openssl };
void set_gcm_impl(gcm_impl impl) noexcept;
// What a context created now uses: true for aes_gcm.
bool gcm_uses_native() noexcept;

// An OpenSSL cipher context, freed with EVP_CIPHER_CTX_free.
struct evp_ctx_free {
  void operator()(evp_cipher_ctx_st* c) const noexcept;
};
using evp_ctx = std::unique_ptr<evp_cipher_ctx_st, evp_ctx_free>;

// One direction's AES-GCM key with 12-byte IVs and 16-byte tags, on aes_gcm or on OpenSSL
// (whichever gcm_uses_native() named when it was made): what the classes below seal and
// open through. The associated data is `aad` then `aad_tail`, one string.
class gcm_cipher {
public:
  bool make(std::span<const uint8_t> key, bool encrypt); // false: nothing usable made
  bool keyed() const noexcept { return fast_ || ctx_; }
  // False when the cipher failed (OpenSSL) or is not keyed.
  bool seal(const std::array<uint8_t, 12>& iv, std::span<const uint8_t> aad,
            std::span<const uint8_t> aad_tail, std::span<uint8_t> text, uint8_t* tag);
  // none; auth_fail (the tag does not match); cipher_fail (OpenSSL failed, or not keyed).
  srtp_error open(const std::array<uint8_t, 12>& iv, std::span<const uint8_t> aad,
                  std::span<const uint8_t> aad_tail, std::span<uint8_t> text, const uint8_t* tag);
  // What seal reads first, for a caller that prefetches it.
  const void* address() const noexcept {
    return fast_ ? fast_->schedule_address() : static_cast<const void*>(ctx_.get());
  }

private:
  std::unique_ptr<aes_gcm> fast_; // or, without it, OpenSSL's context
  evp_ctx ctx_;
};

// Which indexes of one SSRC were accepted, over the last `size` (RFC 3711 §3.3.2): an index
// more than size - 1 behind the highest is too old, one seen already a replay. A ring of
// bits by index; advanced only with packets that authenticated (or, sending, were
// sealed).
class replay_window {
public:
  explicit replay_window(uint32_t size) : size_(size), bits_((size + 63) / 64 + 1, 0) {}
  srtp_error check(uint64_t index) const noexcept;
  void accept(uint64_t index) noexcept;
  uint64_t highest() const noexcept { return highest_; }

private:
  bool bit(uint64_t index) const noexcept;
  void set(uint64_t index, bool on) noexcept;
  uint32_t size_;
  bool started_ = false;
  uint64_t highest_ = 0;
  std::vector<uint64_t> bits_;
};

// What libsrtp's outbound session refuses, for an srtp_gcm_sender that wants its judgement
// (srtp_session): an index `window` or more behind the highest sent (replay_old), and,
// unless allow_repeat, one sent before (replay_fail: under GCM a repeat reuses the IV,
// harmless only for the same bytes). window 0: no checks (the consumers, whose numbers
// their munger makes, and whose resends are the same packets).
struct gcm_outbound_checks {
  uint32_t window = 0;
  bool allow_repeat = true;
};

class srtp_gcm_sender {
public:
  static constexpr size_t tag_size = 16;

  using outbound_checks = gcm_outbound_checks;

  // Only the GCM profiles; `key` 16 or 32 bytes as the profile says, `salt` 12 bytes.
  static result<srtp_gcm_sender> create(srtp_profile profile, std::span<const uint8_t> key,
                                        std::span<const uint8_t> salt,
                                        outbound_checks checks = {});
  static bool supports(srtp_profile profile) noexcept;

  srtp_gcm_sender(srtp_gcm_sender&&) noexcept;
  srtp_gcm_sender& operator=(srtp_gcm_sender&&) noexcept;
  ~srtp_gcm_sender();

  // Encrypts the payload of the RTP packet in buffer[0, length) in place and appends the
  // tag; `buffer` needs tag_size bytes of room after `length`. Malformed packets and
  // missing room are bad_param. `header_size`, when not 0, is the packet's header size
  // (fixed header, CSRCs, extension block) as a parse of these same bytes found it (the
  // sender has just parsed the packet to number it): the packet is then not parsed again,
  // only checked to hold a fixed header and that many bytes.
  srtp_result protect_rtp(std::span<uint8_t> buffer, size_t length, size_t header_size = 0);

  // Forgets one SSRC's rollover state; true when it had one.
  bool remove_stream(uint32_t ssrc) noexcept;

  // What protect_rtp reads first (the cipher's keys, the rollover list), for a caller
  // that prefetches ahead of it; never dereferenced by the caller.
  const void* context_address() const noexcept { return cipher_.address(); }
  const void* streams_address() const noexcept { return streams_.data(); }

private:
  struct stream {
    uint32_t ssrc = 0;
    uint64_t highest = 0; // highest 48-bit index protected (ROC << 16 | SEQ)
    std::unique_ptr<replay_window> sent; // with outbound_checks only
  };

  srtp_gcm_sender() = default;
  stream& stream_for(uint32_t ssrc);

  gcm_cipher cipher_;
  std::array<uint8_t, 12> session_salt_{};
  outbound_checks checks_;
  std::vector<stream> streams_; // a consumer sends one or two SSRCs: a flat list
};


// Inbound SRTP for the AEAD GCM profiles on OpenSSL, for srtp_session::unprotect_rtp
// (every packet a publisher sends): libsrtp's judgement (the index estimated from the
// highest so far, RFC 3711 §3.3.1; the replay window) with OpenSSL's AES-GCM instead of
// NSS's.
class srtp_gcm_receiver {
public:
  static result<srtp_gcm_receiver> create(srtp_profile profile, std::span<const uint8_t> key,
                                          std::span<const uint8_t> salt, uint32_t window);
  srtp_gcm_receiver(srtp_gcm_receiver&&) noexcept;
  srtp_gcm_receiver& operator=(srtp_gcm_receiver&&) noexcept;
  ~srtp_gcm_receiver();

  // In place; the result's length is the packet without its tag.
  srtp_result unprotect_rtp(std::span<uint8_t> buffer, size_t length);
  bool remove_stream(uint32_t ssrc) noexcept;
  // At most this many SSRCs keep a replay window (a peer's producers have a few each);
  // a new one beyond it replaces the one first seen, so that a peer sending under ever new
  // SSRCs grows nothing here (the transport also forgets the SSRCs it routes nowhere).
  static constexpr size_t max_streams = 256;
  size_t streams() const noexcept { return streams_.size(); }

private:
  struct stream {
    uint32_t ssrc;
    replay_window seen;
  };
  srtp_gcm_receiver() = default;

  gcm_cipher cipher_;
  std::array<uint8_t, 12> session_salt_{};
  uint32_t window_ = 128;
  std::vector<stream> streams_;
};

// SRTCP for the AEAD GCM profiles (RFC 7714 §9), on OpenSSL, in one direction. Found at
// class 1000: every consumer's sender report and every receiver report went through
// libsrtp's NSS AES-GCM, about 17 us a packet, 6 % of the server's CPU for 3000 RTCP
// packets a second. Byte for byte libsrtp's: key and salt derived with the SRTCP labels
// (RFC 3711 §4.3.2: 0x03, 0x05), IV = (00 00 || SSRC || 00 00 || SRTCP index) XOR salt, the
// 8-byte header and the E flag + index word as associated data, the tag before that word;
// the index counts from 1 per sender SSRC (as libsrtp's). Inbound: E = 0 packets (all
// authenticated, nothing encrypted) are accepted too, and a 128-index replay window per
// SSRC, as libsrtp's, is advanced only by packets that authenticate.
class srtcp_gcm {
public:
  static constexpr size_t tag_size = 16;
  static constexpr size_t trailer_size = tag_size + 4; // tag, then E flag + 31-bit index
  static constexpr uint32_t replay_window_size = 128;

  static result<srtcp_gcm> create(srtp_profile profile, srtp_direction direction,
                                  std::span<const uint8_t> key, std::span<const uint8_t> salt);

  srtcp_gcm(srtcp_gcm&&) noexcept;
  srtcp_gcm& operator=(srtcp_gcm&&) noexcept;
  ~srtcp_gcm();

  // In place, as srtp_session's: `buffer` holds the packet in its first `length` bytes and
  // is the capacity (protect needs trailer_size more). Errors as srtp_session's.
  srtp_result protect_rtcp(std::span<uint8_t> buffer, size_t length);
  srtp_result unprotect_rtcp(std::span<uint8_t> buffer, size_t length);

  bool remove_stream(uint32_t ssrc) noexcept; // true when it was known
  // Inbound only, as srtp_gcm_receiver's: at most this many senders' replay windows, the
  // first seen replaced by a new one beyond it. (Outbound keeps every SSRC's index: one
  // forgotten would count from 1 again and repeat IVs.)
  static constexpr size_t max_inbound_streams = 256;
  size_t streams() const noexcept { return streams_.size(); }

private:
  struct stream {
    uint32_t ssrc = 0;
    uint32_t index = 0;                        // outbound: the last index sent
    replay_window seen{replay_window_size};    // inbound
  };

  srtcp_gcm() = default;
  stream& stream_for(uint32_t ssrc);
  void make_iv(uint32_t ssrc, uint32_t index, std::array<uint8_t, 12>& iv) const noexcept;

  gcm_cipher cipher_;
  srtp_direction direction_ = srtp_direction::outbound;
  std::array<uint8_t, 12> session_salt_{};
  std::vector<stream> streams_;
};

// Outbound RTP as the server's consumers protect it (and the bench's floor, so that the
// two are compared like for like): srtp_gcm_sender with the GCM profiles, libsrtp with the
// others.
class rtp_protector {
public:
  static result<rtp_protector> create(srtp_profile profile, std::span<const uint8_t> key,
                                      std::span<const uint8_t> salt);
  // `header_size` as srtp_gcm_sender's (libsrtp finds the header itself).
  srtp_result protect_rtp(std::span<uint8_t> buffer, size_t length, size_t header_size = 0) {
    return gcm_ ? gcm_->protect_rtp(buffer, length, header_size)
                : srtp_->protect_rtp(buffer, length);
  }
  bool uses_openssl() const noexcept { return gcm_.has_value(); }
  // See srtp_gcm_sender: null with libsrtp.
  const void* context_address() const noexcept { return gcm_ ? gcm_->context_address() : nullptr; }
  const void* streams_address() const noexcept { return gcm_ ? gcm_->streams_address() : nullptr; }

private:
  rtp_protector() = default;
  std::optional<srtp_gcm_sender> gcm_;
  std::optional<srtp_session> srtp_;
};

} // namespace chorus::rtp
