// AES-GCM (NIST SP 800-38D) with 96-bit IVs and 128-bit tags, on the CPU's AES and
// carry-less multiplication instructions (x86-64: AES-NI, PCLMULQDQ, SSSE3, SSE4.1), for
// SRTP's GCM profiles (RFC 7714).
//
// Why not OpenSSL's EVP interface: for one 1200-byte packet it spends about as long in its
// provider plumbing (the IV length looked up through parameter tables with string
// compares, the tag fetched the same way, a dispatch per call) as in the cipher. A consumer
// protects every packet it forwards, so that fixed cost would be paid once per delivered
// packet (docs/design/srtp-and-sends.md, "AES-GCM of Chorus's own").
//
// Pure: bytes in, bytes out; keys and the hash key's powers live in the object. Thread-safe
// for concurrent seal/open on one keyed object (they only read it). Without the instructions
// available() is false and srtp_gcm keeps OpenSSL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace chorus::rtp {

class aes_gcm {
public:
  static constexpr size_t iv_size = 12;
  static constexpr size_t tag_size = 16;

  // Whether this CPU has the instructions (checked once).
  static bool available() noexcept;
  // Whether it also has the 256-bit ones (AVX2, VAES, VPCLMULQDQ, with the OS saving the
  // registers), with which seal and open work on two blocks per instruction.
  static bool wide_available() noexcept;
  // Turns the 256-bit path on (the default where available) or off, for every object (a
  // test runs both; a benchmark compares them). Returns whether it is now in use.
  static bool set_wide(bool on) noexcept;

  aes_gcm() = default;
  aes_gcm(const aes_gcm&) = delete;
  aes_gcm& operator=(const aes_gcm&) = delete;
  ~aes_gcm(); // wipes the key schedule

  // AES-128 (16 bytes) or AES-256 (32); false (unkeyed, any earlier key wiped) for any
  // other length or when the instructions are not available.
  bool set_key(std::span<const uint8_t> key) noexcept;
  bool keyed() const noexcept { return rounds_ != 0; }

  // Encrypts `text` in place and writes the tag (tag_size bytes) to `tag`. The associated
  // data is `aad` followed by `aad_tail` (one string to GHASH: SRTCP's is the header and a
  // trailer word that do not touch). `iv`: iv_size bytes. Unkeyed: false, nothing done.
  [[nodiscard]] bool seal(const uint8_t* iv, std::span<const uint8_t> aad,
                          std::span<const uint8_t> aad_tail, std::span<uint8_t> text,
                          uint8_t* tag) const noexcept;

  // Checks `tag` over the associated data and the ciphertext `text` first; only when it
  // matches (compared in constant time) decrypts `text` in place and returns true.
  // Otherwise (or unkeyed) returns false and leaves `text` as it was.
  bool open(const uint8_t* iv, std::span<const uint8_t> aad, std::span<const uint8_t> aad_tail,
            std::span<uint8_t> text, const uint8_t* tag) const noexcept;

  // Where seal reads first (the key schedule), for a caller that prefetches ahead of it;
  // the object is this many bytes from there.
  const void* schedule_address() const noexcept { return round_keys_; }
  static constexpr size_t state_bytes = (15 + 8 + 8) * 16;

private:
  alignas(64) uint8_t round_keys_[15][16]{}; // AES-128 uses 11, AES-256 15
  alignas(16) uint8_t powers_[8][16]{};      // H^8 .. H^1, bit-reflected (see the source)
  alignas(16) uint8_t folded_[8][16]{};      // each power's two halves XORed (Karatsuba)
  int rounds_ = 0;                           // 10, 14; 0: not keyed
};

} // namespace chorus::rtp
