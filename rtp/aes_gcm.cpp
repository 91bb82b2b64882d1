#include "rtp/aes_gcm.hpp"

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
// build stays baseline x86-64; available() decides at run time).
#define CHORUS_GCM_TARGET __attribute__((target("aes,pclmul,ssse3,sse4.1")))

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

// GHASH over a string of blocks. Blocks wait in a queue of eight and are folded in
// together, (y + X1) H^k + X2 H^(k-1) + ... + Xk H, with one reduction for up to eight
// blocks: the multiplications are independent of each other and overlap.
struct ghash {
  ghash(const __m128i* p, const __m128i* f) : powers(p), folded(f) {}
  const __m128i* powers; // H^1 .. H^8
  const __m128i* folded; // fold_halves of each
  __m128i y = _mm_setzero_si128();
  __m128i queue[8];
  int queued = 0;
  alignas(16) uint8_t pending[16] = {};
  size_t count = 0; // bytes of a partial block waiting in pending

  CHORUS_GCM_TARGET void flush() {
    if (queued == 0)
      return;
    const int k = queued - 1;
    product sum = multiply(_mm_xor_si128(y, queue[0]), powers[k], folded[k]);
    for (int i = 1; i < queued; ++i)
      add(sum, multiply(queue[i], powers[k - i], folded[k - i]));
    y = reduce(sum);
    queued = 0;
  }
  CHORUS_GCM_TARGET void push(__m128i reflected) {
    queue[queued++] = reflected;
    if (queued == 8)
      flush();
  }
  CHORUS_GCM_TARGET void block(const uint8_t* p) {
    push(byte_swap(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  }
  // Bytes of one string (the associated data may come in two pieces).
  CHORUS_GCM_TARGET void absorb(const uint8_t* p, size_t n) {
    if (n == 0)
      return;
    if (count > 0) {
      const size_t take = n < 16 - count ? n : 16 - count;
      std::memcpy(pending + count, p, take);
      count += take;
      p += take;
      n -= take;
      if (count < 16)
        return;
      block(pending);
      count = 0;
    }
    for (; n >= 16; p += 16, n -= 16)
      block(p);
    if (n > 0) {
      std::memcpy(pending, p, n);
      count = n;
    }
  }
  // Ends a string: its last partial block, zero-padded.
  CHORUS_GCM_TARGET void pad() {
    if (count == 0)
      return;
    std::memset(pending + count, 0, 16 - count);
    block(pending);
    count = 0;
  }
  // The closing block: the lengths in bits, reflected as loaded and swapped; then y is
  // the hash.
  CHORUS_GCM_TARGET void finish(uint64_t aad_bytes, uint64_t text_bytes) {
    push(_mm_set_epi64x(static_cast<long long>(aad_bytes * 8), static_cast<long long>(text_bytes * 8)));
    flush();
  }
};

CHORUS_GCM_TARGET inline __m128i encrypt_block(const __m128i* rk, int rounds, __m128i x) {
  x = _mm_xor_si128(x, rk[0]);
  for (int r = 1; r < rounds; ++r)
    x = _mm_aesenc_si128(x, rk[r]);
  return _mm_aesenclast_si128(x, rk[rounds]);
}

// Eight independent blocks through the rounds side by side (the instruction's latency is
// several cycles, its throughput one or two a cycle).
CHORUS_GCM_TARGET inline void encrypt_eight(const __m128i* rk, int rounds, __m128i* b) {
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i)
    b[i] = _mm_xor_si128(b[i], rk[0]);
  for (int r = 1; r < rounds; ++r) {
    const __m128i k = rk[r];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i)
      b[i] = _mm_aesenc_si128(b[i], k);
  }
  const __m128i k = rk[rounds];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i)
    b[i] = _mm_aesenclast_si128(b[i], k);
}

// The counter block IV || counter (big-endian), from the IV's block with a zero counter.
CHORUS_GCM_TARGET inline __m128i counter_block(__m128i iv_block, uint32_t counter) {
  return _mm_insert_epi32(iv_block, static_cast<int>(__builtin_bswap32(counter)), 3);
}

// Counter mode over `text` in place from counter 2 (1 is the tag's); with Hash (sealing)
// the ciphertext goes into `g`, whose queue is empty on entry. In the loop of whole
// eight-block chunks, the previous chunk's multiplications are issued between the rounds
// of this one: the two are independent, and the processor overlaps them.
template <bool Hash>
CHORUS_GCM_TARGET void counter_mode(const __m128i* rk, int rounds, __m128i iv_block, uint8_t* p,
                                    size_t n, ghash* g) {
  uint32_t counter = 2;
  __m128i previous[8];
  bool have_previous = false;
  for (; n >= 128; p += 128, n -= 128, counter += 8) {
    __m128i b[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i)
      b[i] = _mm_xor_si128(counter_block(iv_block, counter + uint32_t(i)), rk[0]);
    product sum{};
    for (int r = 1; r < rounds; ++r) {
      const __m128i k = rk[r];
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i)
        b[i] = _mm_aesenc_si128(b[i], k);
      if constexpr (Hash) {
        if (have_previous && r <= 8) {
          const int j = r - 1;
          const __m128i x = j == 0 ? _mm_xor_si128(g->y, byte_swap(previous[0])) : byte_swap(previous[j]);
          const product m = multiply(x, g->powers[7 - j], g->folded[7 - j]);
          if (j == 0)
            sum = m;
          else
            add(sum, m);
        }
      }
    }
    const __m128i k = rk[rounds];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
      auto* at = reinterpret_cast<__m128i*>(p + 16 * i);
      previous[i] = _mm_xor_si128(_mm_aesenclast_si128(b[i], k), _mm_loadu_si128(at));
      _mm_storeu_si128(at, previous[i]);
    }
    if constexpr (Hash) {
      if (have_previous)
        g->y = reduce(sum);
      have_previous = true;
    }
  }
  if constexpr (Hash) {
    if (have_previous)
      for (int i = 0; i < 8; ++i)
        g->push(byte_swap(previous[i]));
  }
  if (n == 0)
    return;
  // The rest, at most seven whole blocks and a partial one: its keystream in one batch.
  const size_t whole = n / 16;
  __m128i b[8];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i)
    b[i] = counter_block(iv_block, counter + uint32_t(i));
  encrypt_eight(rk, rounds, b);
  for (size_t i = 0; i < whole; ++i, p += 16, n -= 16) {
    auto* at = reinterpret_cast<__m128i*>(p);
    const __m128i c = _mm_xor_si128(b[i], _mm_loadu_si128(at));
    _mm_storeu_si128(at, c);
    if constexpr (Hash)
      g->push(byte_swap(c));
  }
  if (n > 0) {
    alignas(16) uint8_t last[16] = {};
    std::memcpy(last, p, n);
    const __m128i c = _mm_xor_si128(b[whole], _mm_load_si128(reinterpret_cast<const __m128i*>(last)));
    _mm_store_si128(reinterpret_cast<__m128i*>(last), c);
    std::memcpy(p, last, n);
    if constexpr (Hash) {
      std::memset(last + n, 0, 16 - n); // the keystream past the text is no part of it
      g->block(last);
    }
  }
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
  const __m128i* powers;
  const __m128i* folded;
};

CHORUS_GCM_TARGET void seal_x86(const key_view& key, const uint8_t* iv, std::span<const uint8_t> aad,
                                std::span<const uint8_t> aad_tail, std::span<uint8_t> text,
                                uint8_t* tag) {
  const auto s = start(key.rk, key.rounds, iv);
  ghash g{key.powers, key.folded};
  g.absorb(aad.data(), aad.size());
  g.absorb(aad_tail.data(), aad_tail.size());
  g.pad();
  g.flush();
  counter_mode<true>(key.rk, key.rounds, s.base, text.data(), text.size(), &g);
  g.finish(aad.size() + aad_tail.size(), text.size());
  _mm_storeu_si128(reinterpret_cast<__m128i*>(tag), _mm_xor_si128(byte_swap(g.y), s.tag_mask));
}

CHORUS_GCM_TARGET bool open_x86(const key_view& key, const uint8_t* iv, std::span<const uint8_t> aad,
                                std::span<const uint8_t> aad_tail, std::span<uint8_t> text,
                                const uint8_t* tag) {
  const auto s = start(key.rk, key.rounds, iv);
  ghash g{key.powers, key.folded};
  g.absorb(aad.data(), aad.size());
  g.absorb(aad_tail.data(), aad_tail.size());
  g.pad();
  g.absorb(text.data(), text.size());
  g.pad();
  g.finish(aad.size() + aad_tail.size(), text.size());
  const __m128i expected = _mm_xor_si128(byte_swap(g.y), s.tag_mask);
  const __m128i diff = _mm_xor_si128(expected, _mm_loadu_si128(reinterpret_cast<const __m128i*>(tag)));
  if (!_mm_testz_si128(diff, diff)) // every bit compared, whatever differs
    return false;
  counter_mode<false>(key.rk, key.rounds, s.base, text.data(), text.size(), nullptr);
  return true;
}

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

// H = E(K, 0), then its powers up to H^8, reflected, and each one's halves folded.
CHORUS_GCM_TARGET void hash_powers(const __m128i* rk, int rounds, __m128i* powers, __m128i* folded) {
  powers[0] = byte_swap(encrypt_block(rk, rounds, _mm_setzero_si128()));
  for (int i = 1; i < 8; ++i)
    powers[i] = gf_multiply(powers[i - 1], powers[0]);
  for (int i = 0; i < 8; ++i)
    folded[i] = fold_halves(powers[i]);
}

bool cpu_has_instructions() noexcept {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d))
    return false;
  return (c & bit_AES) != 0 && (c & bit_PCLMUL) != 0 && (c & bit_SSSE3) != 0 &&
         (c & bit_SSE4_1) != 0;
}

} // namespace

bool aes_gcm::available() noexcept {
  static const bool has = cpu_has_instructions();
  return has;
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
  seal_x86(key_view{reinterpret_cast<const __m128i*>(round_keys_), rounds_,
                    reinterpret_cast<const __m128i*>(powers_), reinterpret_cast<const __m128i*>(folded_)}, iv, aad, aad_tail, text, tag);
  return true;
}

bool aes_gcm::open(const uint8_t* iv, std::span<const uint8_t> aad, std::span<const uint8_t> aad_tail,
                   std::span<uint8_t> text, const uint8_t* tag) const noexcept {
  if (rounds_ == 0)
    return false;
  return open_x86(key_view{reinterpret_cast<const __m128i*>(round_keys_), rounds_,
                    reinterpret_cast<const __m128i*>(powers_), reinterpret_cast<const __m128i*>(folded_)}, iv, aad, aad_tail, text, tag);
}

#else // not x86-64: OpenSSL does the work (srtp_gcm)

bool aes_gcm::available() noexcept { return false; }
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
