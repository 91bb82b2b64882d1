#include "rtp/aes_gcm.hpp"

#include <atomic>
#include <cstring>
#include <string.h> // explicit_bzero

#if defined(__x86_64__)
#define CHORUS_AES_GCM_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace chorus::rtp {

#if CHORUS_AES_GCM_X86

// Every function that uses the instructions carries the target attribute (the rest of the
// build stays baseline x86-64; available() decides at run time). The wide set (256-bit
// registers, two AES blocks or two carry-less products per instruction) adds AVX2, VAES
// and VPCLMULQDQ; it is used where the CPU has them (wide_available()).
#define CHORUS_GCM_TARGET __attribute__((target("aes,pclmul,ssse3,sse4.1")))
#define CHORUS_GCM_WIDE_TARGET \
  __attribute__((target("aes,pclmul,ssse3,sse4.1,avx,avx2,vaes,vpclmulqdq")))

namespace {

// GHASH works in GF(2^128) with the block's first bit (the most significant bit of byte 0)
// as the coefficient of x^0. Loaded and byte-reversed, a block is a 128-bit integer whose
// bit 127 - i holds the coefficient of x^i: "reflected". The carry-less product of two
// reflected 128-bit values is the reflected 256-bit product shifted right by one; after a
// shift back, the high half holds the product's terms x^0..x^127 and the low half its terms
// x^128..x^254, which are folded down with x^128 = x^7 + x^2 + x + 1 (modulo GCM's
// polynomial). In the reflected form multiplying by x^s is a right shift by s; what falls
// off the low end are terms of x^128 and up, folded once more.

CHORUS_GCM_TARGET inline __m128i byte_swap(__m128i x) {
  return _mm_shuffle_epi8(x, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
}

// 128-bit logical shifts built from the two 64-bit lanes.
template <int S>
CHORUS_GCM_TARGET inline __m128i shift_right(__m128i x) {
  return _mm_or_si128(_mm_srli_epi64(x, S), _mm_srli_si128(_mm_slli_epi64(x, 64 - S), 8));
}

CHORUS_GCM_TARGET inline __m128i shift_left_1(__m128i x) {
  return _mm_or_si128(_mm_slli_epi64(x, 1), _mm_slli_si128(_mm_srli_epi64(x, 63), 8));
}

// An unreduced product (or a sum of them), Karatsuba's way: lo = a0 b0, hi = a1 b1 and
// mid = (a0 + a1)(b0 + b1), whose true middle term is mid + lo + hi. All three are linear,
// so products are summed as they are and the middle is corrected once, in reduce.
struct product {
  __m128i lo, mid, hi;
};

// a's two 64-bit halves XORed, in its low half.
CHORUS_GCM_TARGET inline __m128i fold_halves(__m128i a) {
  return _mm_xor_si128(a, _mm_shuffle_epi32(a, 0x4e));
}

// a times b, where b_folded is fold_halves(b) (kept with the key's powers).
CHORUS_GCM_TARGET inline product multiply(__m128i a, __m128i b, __m128i b_folded) {
  return {_mm_clmulepi64_si128(a, b, 0x00), _mm_clmulepi64_si128(fold_halves(a), b_folded, 0x00),
          _mm_clmulepi64_si128(a, b, 0x11)};
}

CHORUS_GCM_TARGET inline void add(product& sum, const product& p) {
  sum.lo = _mm_xor_si128(sum.lo, p.lo);
  sum.mid = _mm_xor_si128(sum.mid, p.mid);
  sum.hi = _mm_xor_si128(sum.hi, p.hi);
}

// x + x/2 + x/4 + x/128 in the reflected form: x * (1 + x + x^2 + x^7), without what
// falls off the low end.
CHORUS_GCM_TARGET inline __m128i times_low_terms(__m128i x) {
  return _mm_xor_si128(_mm_xor_si128(x, shift_right<1>(x)),
                       _mm_xor_si128(shift_right<2>(x), shift_right<7>(x)));
}

CHORUS_GCM_TARGET inline __m128i reduce(const product& p) {
  const __m128i mid = _mm_xor_si128(p.mid, _mm_xor_si128(p.lo, p.hi));
  // The 256-bit value, then shifted left by one (see above).
  const __m128i lo = _mm_xor_si128(p.lo, _mm_slli_si128(mid, 8));
  __m128i hi = _mm_xor_si128(p.hi, _mm_srli_si128(mid, 8));
  hi = _mm_or_si128(shift_left_1(hi), _mm_srli_si128(_mm_srli_epi64(lo, 63), 8));
  const __m128i upper_terms = shift_left_1(lo); // x^128 and up, reflected
  // The bits the shifts by 1, 2 and 7 push off the low end: terms x^128..x^134, placed
  // at the top as x^0..x^6 (that is, already divided by x^128).
  const __m128i spill = _mm_slli_si128(
      _mm_xor_si128(_mm_xor_si128(_mm_slli_epi64(upper_terms, 63), _mm_slli_epi64(upper_terms, 62)),
                    _mm_slli_epi64(upper_terms, 57)),
      8);
  // spill has only its top 7 bits set: shifting it right by at most 7 keeps it in its lane.
  const __m128i spill_folded =
      _mm_xor_si128(_mm_xor_si128(spill, _mm_srli_epi64(spill, 1)),
                    _mm_xor_si128(_mm_srli_epi64(spill, 2), _mm_srli_epi64(spill, 7)));
  return _mm_xor_si128(_mm_xor_si128(hi, times_low_terms(upper_terms)), spill_folded);
}

CHORUS_GCM_TARGET inline __m128i gf_multiply(__m128i a, __m128i b) {
  return reduce(multiply(a, b, fold_halves(b)));
}

CHORUS_GCM_TARGET inline __m128i encrypt_block(const __m128i* rk, int rounds, __m128i x) {
  x = _mm_xor_si128(x, rk[0]);
  for (int r = 1; r < rounds; ++r)
    x = _mm_aesenc_si128(x, rk[r]);
  return _mm_aesenclast_si128(x, rk[rounds]);
}

// The counter block IV || counter (big-endian), from the IV's block with a zero counter.
CHORUS_GCM_TARGET inline __m128i counter_block(__m128i iv_block, uint32_t counter) {
  return _mm_insert_epi32(iv_block, static_cast<int>(__builtin_bswap32(counter)), 3);
}

// The IV's block (IV || 0) and E(K, IV || 1), which masks the tag.
struct iv_blocks {
  __m128i base, tag_mask;
};

CHORUS_GCM_TARGET inline iv_blocks start(const __m128i* rk, int rounds, const uint8_t* iv) {
  alignas(16) uint8_t b[16] = {};
  std::memcpy(b, iv, aes_gcm::iv_size);
  const __m128i base = _mm_load_si128(reinterpret_cast<const __m128i*>(b));
  return {base, encrypt_block(rk, rounds, counter_block(base, 1))};
}

struct key_view {
  const __m128i* rk;
  int rounds;
  const __m128i* powers; // H^8 .. H^1
  const __m128i* folded;
};

// The same GHASH and counter mode twice: 128-bit registers, then 256-bit ones.
namespace narrow {
#define GCM_WIDE 0
#define GCM_FN CHORUS_GCM_TARGET
#include "rtp/aes_gcm_body.ipp"
#undef GCM_FN
#undef GCM_WIDE
} // namespace narrow

namespace wide {
#define GCM_WIDE 1
#define GCM_FN CHORUS_GCM_WIDE_TARGET
#include "rtp/aes_gcm_body.ipp"
#undef GCM_FN
#undef GCM_WIDE
} // namespace wide

// Key expansion (FIPS 197 §5.2) with the key-generation assist instruction: a new round
// key is the previous one's words prefix-XORed, XORed with the assist's chosen word.
CHORUS_GCM_TARGET inline __m128i prefix_xor(__m128i k, __m128i word) {
  k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
  k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
  k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
  return _mm_xor_si128(k, word);
}

// The next key from `previous` and the word RotWord(SubWord(last of `from`)) ^ rcon.
template <int Rcon>
CHORUS_GCM_TARGET inline __m128i with_rotated(__m128i previous, __m128i from) {
  return prefix_xor(previous, _mm_shuffle_epi32(_mm_aeskeygenassist_si128(from, Rcon), 0xff));
}

// AES-256's odd steps: SubWord(last of `from`), no rotation, no constant.
CHORUS_GCM_TARGET inline __m128i with_substituted(__m128i previous, __m128i from) {
  return prefix_xor(previous, _mm_shuffle_epi32(_mm_aeskeygenassist_si128(from, 0), 0xaa));
}

CHORUS_GCM_TARGET void expand_128(const uint8_t* key, __m128i* rk) {
  __m128i k = _mm_loadu_si128(reinterpret_cast<const __m128i*>(key));
  rk[0] = k;
  rk[1] = k = with_rotated<0x01>(k, k);
  rk[2] = k = with_rotated<0x02>(k, k);
  rk[3] = k = with_rotated<0x04>(k, k);
  rk[4] = k = with_rotated<0x08>(k, k);
  rk[5] = k = with_rotated<0x10>(k, k);
  rk[6] = k = with_rotated<0x20>(k, k);
  rk[7] = k = with_rotated<0x40>(k, k);
  rk[8] = k = with_rotated<0x80>(k, k);
  rk[9] = k = with_rotated<0x1b>(k, k);
  rk[10] = with_rotated<0x36>(k, k);
}

CHORUS_GCM_TARGET void expand_256(const uint8_t* key, __m128i* rk) {
  __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(key));
  __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(key + 16));
  rk[0] = a;
  rk[1] = b;
  rk[2] = a = with_rotated<0x01>(a, b);
  rk[3] = b = with_substituted(b, a);
  rk[4] = a = with_rotated<0x02>(a, b);
  rk[5] = b = with_substituted(b, a);
  rk[6] = a = with_rotated<0x04>(a, b);
  rk[7] = b = with_substituted(b, a);
  rk[8] = a = with_rotated<0x08>(a, b);
  rk[9] = b = with_substituted(b, a);
  rk[10] = a = with_rotated<0x10>(a, b);
  rk[11] = b = with_substituted(b, a);
  rk[12] = a = with_rotated<0x20>(a, b);
  rk[13] = with_substituted(b, a);
  rk[14] = with_rotated<0x40>(a, rk[13]);
}

// H = E(K, 0), then its powers up to H^8, reflected, stored from H^8 down to H^1 (so that
// two in a row are the factors of a pair of blocks), and each one's halves folded.
CHORUS_GCM_TARGET void hash_powers(const __m128i* rk, int rounds, __m128i* powers, __m128i* folded) {
  const __m128i h = byte_swap(encrypt_block(rk, rounds, _mm_setzero_si128()));
  __m128i power = h;
  for (int i = 7; i >= 0; --i) {
    powers[i] = power; // H^(8 - i)
    folded[i] = fold_halves(power);
    if (i > 0)
      power = gf_multiply(power, h);
  }
}

bool cpu_has_instructions() noexcept {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d))
    return false;
  return (c & bit_AES) != 0 && (c & bit_PCLMUL) != 0 && (c & bit_SSSE3) != 0 &&
         (c & bit_SSE4_1) != 0;
}

// The wide set: AVX2, VAES and VPCLMULQDQ, and an OS that saves the 256-bit registers
// (XCR0's SSE and AVX state bits, read with XGETBV where OSXSAVE says it may be).
bool cpu_has_wide_instructions() noexcept {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!cpu_has_instructions() || !__get_cpuid(1, &a, &b, &c, &d) || (c & bit_OSXSAVE) == 0 ||
      (c & bit_AVX) == 0)
    return false;
  unsigned xcr0_low = 0, xcr0_high = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
  if ((xcr0_low & 0x6) != 0x6)
    return false;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
    return false;
  return (b & bit_AVX2) != 0 && (c & bit_VAES) != 0 && (c & bit_VPCLMULQDQ) != 0;
}

// Whether seal and open take the wide set: where the CPU has it, unless turned off
// (aes_gcm::set_wide).
std::atomic<bool> wide_enabled{true};

bool use_wide() noexcept {
  return aes_gcm::wide_available() && wide_enabled.load(std::memory_order_relaxed);
}

} // namespace

bool aes_gcm::available() noexcept {
  static const bool has = cpu_has_instructions();
  return has;
}

bool aes_gcm::wide_available() noexcept {
  static const bool has = cpu_has_wide_instructions();
  return has;
}

bool aes_gcm::set_wide(bool on) noexcept {
  wide_enabled.store(on, std::memory_order_relaxed);
  return use_wide();
}

bool aes_gcm::set_key(std::span<const uint8_t> key) noexcept {
  rounds_ = 0;
  explicit_bzero(round_keys_, sizeof round_keys_);
  explicit_bzero(powers_, sizeof powers_);
  explicit_bzero(folded_, sizeof folded_);
  if (!available() || (key.size() != 16 && key.size() != 32))
    return false;
  auto* rk = reinterpret_cast<__m128i*>(round_keys_);
  if (key.size() == 16)
    expand_128(key.data(), rk);
  else
    expand_256(key.data(), rk);
  const int rounds = key.size() == 16 ? 10 : 14;
  hash_powers(rk, rounds, reinterpret_cast<__m128i*>(powers_), reinterpret_cast<__m128i*>(folded_));
  rounds_ = rounds;
  return true;
}

bool aes_gcm::seal(const uint8_t* iv, std::span<const uint8_t> aad, std::span<const uint8_t> aad_tail,
                   std::span<uint8_t> text, uint8_t* tag) const noexcept {
  if (rounds_ == 0)
    return false;
  const key_view key{reinterpret_cast<const __m128i*>(round_keys_), rounds_,
                     reinterpret_cast<const __m128i*>(powers_), reinterpret_cast<const __m128i*>(folded_)};
  if (use_wide())
    wide::seal(key, iv, aad, aad_tail, text, tag);
  else
    narrow::seal(key, iv, aad, aad_tail, text, tag);
  return true;
}

bool aes_gcm::open(const uint8_t* iv, std::span<const uint8_t> aad, std::span<const uint8_t> aad_tail,
                   std::span<uint8_t> text, const uint8_t* tag) const noexcept {
  if (rounds_ == 0)
    return false;
  const key_view key{reinterpret_cast<const __m128i*>(round_keys_), rounds_,
                     reinterpret_cast<const __m128i*>(powers_), reinterpret_cast<const __m128i*>(folded_)};
  return use_wide() ? wide::open(key, iv, aad, aad_tail, text, tag)
                    : narrow::open(key, iv, aad, aad_tail, text, tag);
}

#else // not x86-64: OpenSSL does the work (srtp_gcm)

bool aes_gcm::available() noexcept { return false; }
bool aes_gcm::wide_available() noexcept { return false; }
bool aes_gcm::set_wide(bool) noexcept { return false; }
bool aes_gcm::set_key(std::span<const uint8_t>) noexcept { return false; }
bool aes_gcm::seal(const uint8_t*, std::span<const uint8_t>, std::span<const uint8_t>,
                   std::span<uint8_t>, uint8_t*) const noexcept {
  return false;
}
bool aes_gcm::open(const uint8_t*, std::span<const uint8_t>, std::span<const uint8_t>,
                   std::span<uint8_t>, const uint8_t*) const noexcept {
  return false;
}

#endif

aes_gcm::~aes_gcm() {
  explicit_bzero(round_keys_, sizeof round_keys_);
  explicit_bzero(powers_, sizeof powers_);
  explicit_bzero(folded_, sizeof folded_);
}

} // namespace chorus::rtp
