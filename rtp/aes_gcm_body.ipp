// The GHASH queue, counter mode, seal and open of rtp/aes_gcm.cpp, included there twice:
// with GCM_WIDE 0 (128-bit registers: AES-NI, PCLMULQDQ) and with GCM_WIDE 1 (256-bit:
// VAES, VPCLMULQDQ on AVX2 registers, two blocks per instruction), each time inside a
// namespace of its own and with GCM_FN set to the matching target attribute, so that only
// these functions carry the wider instructions and aes_gcm.cpp picks one set at run time.
// Not a header: it uses the helpers aes_gcm.cpp defines before including it.

#if GCM_WIDE
// Two 128-bit values as one register: `lo` in the low lane.
GCM_FN inline __m256i pair(__m128i lo, __m128i hi) {
  return _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
}

GCM_FN inline __m256i byte_swap_pair(__m256i x) {
  return _mm256_shuffle_epi8(
      x, _mm256_broadcastsi128_si256(_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)));
}

// Two consecutive 128-bit entries of a table as one register (the first in the low lane).
GCM_FN inline __m256i load_pair(const __m128i* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// Two products side by side, Karatsuba's way (see multiply); b_folded from fold_halves.
struct product_pair {
  __m256i lo, mid, hi;
};

GCM_FN inline product_pair multiply_pair(__m256i a, __m256i b, __m256i b_folded) {
  const __m256i a_folded = _mm256_xor_si256(a, _mm256_shuffle_epi32(a, 0x4e));
  return {_mm256_clmulepi64_epi128(a, b, 0x00), _mm256_clmulepi64_epi128(a_folded, b_folded, 0x00),
          _mm256_clmulepi64_epi128(a, b, 0x11)};
}

GCM_FN inline void add_pair(product_pair& sum, const product_pair& p) {
  sum.lo = _mm256_xor_si256(sum.lo, p.lo);
  sum.mid = _mm256_xor_si256(sum.mid, p.mid);
  sum.hi = _mm256_xor_si256(sum.hi, p.hi);
}

GCM_FN inline __m128i lanes_xored(__m256i x) {
  return _mm_xor_si128(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
}

// The two lanes' products summed (all three parts are linear).
GCM_FN inline product lanes_summed(const product_pair& p) {
  return {lanes_xored(p.lo), lanes_xored(p.mid), lanes_xored(p.hi)};
}
#endif

// GHASH over a string of blocks. Blocks wait in a queue of eight and are folded in
// together, (y + X1) H^k + X2 H^(k-1) + ... + Xk H, with one reduction for up to eight
// blocks: the multiplications are independent of each other and overlap.
struct ghash {
  ghash(const __m128i* p, const __m128i* f) : powers(p), folded(f) {}
  const __m128i* powers; // H^8 .. H^1 (descending: two in a row are one pair's factors)
  const __m128i* folded; // fold_halves of each
  __m128i y = _mm_setzero_si128();
  __m128i queue[8];
  int queued = 0;
  alignas(16) uint8_t pending[16] = {};
  size_t count = 0; // bytes of a partial block waiting in pending

  GCM_FN void flush() {
    if (queued == 0)
      return;
    // queue[i] is multiplied by H^(queued - i): factors[i].
    const __m128i* factors = powers + (8 - queued);
    const __m128i* factors_folded = folded + (8 - queued);
    const __m128i first = _mm_xor_si128(y, queue[0]);
#if GCM_WIDE
    if (queued >= 2) {
      product_pair pairs = multiply_pair(pair(first, queue[1]), load_pair(factors), load_pair(factors_folded));
      int i = 2;
      for (; i + 1 < queued; i += 2)
        add_pair(pairs, multiply_pair(pair(queue[i], queue[i + 1]), load_pair(factors + i),
                                      load_pair(factors_folded + i)));
      product sum = lanes_summed(pairs);
      if (i < queued)
        add(sum, multiply(queue[i], factors[i], factors_folded[i]));
      y = reduce(sum);
      queued = 0;
      return;
    }
#endif
    product sum = multiply(first, factors[0], factors_folded[0]);
    for (int i = 1; i < queued; ++i)
      add(sum, multiply(queue[i], factors[i], factors_folded[i]));
    y = reduce(sum);
    queued = 0;
  }
  GCM_FN void push(__m128i reflected) {
    queue[queued++] = reflected;
    if (queued == 8)
      flush();
  }
  GCM_FN void block(const uint8_t* p) {
    push(byte_swap(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  }
  // Bytes of one string (the associated data may come in two pieces).
  GCM_FN void absorb(const uint8_t* p, size_t n) {
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
  GCM_FN void pad() {
    if (count == 0)
      return;
    std::memset(pending + count, 0, 16 - count);
    block(pending);
    count = 0;
  }
  // The closing block: the lengths in bits, reflected as loaded and swapped; then y is
  // the hash.
  GCM_FN void finish(uint64_t aad_bytes, uint64_t text_bytes) {
    push(_mm_set_epi64x(static_cast<long long>(aad_bytes * 8), static_cast<long long>(text_bytes * 8)));
    flush();
  }
};

// The keystream of eight counter blocks from `counter` (the instruction's latency is several
// cycles, its throughput one or two a cycle: independent blocks side by side).
GCM_FN inline void keystream_eight(const __m128i* rk, int rounds, __m128i iv_block, uint32_t counter,
                                   __m128i* b) {
#if GCM_WIDE
  __m256i w[4];
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i)
    w[i] = _mm256_xor_si256(pair(counter_block(iv_block, counter + uint32_t(2 * i)),
                                 counter_block(iv_block, counter + uint32_t(2 * i + 1))),
                            _mm256_broadcastsi128_si256(rk[0]));
  for (int r = 1; r < rounds; ++r) {
    const __m256i k = _mm256_broadcastsi128_si256(rk[r]);
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i)
      w[i] = _mm256_aesenc_epi128(w[i], k);
  }
  const __m256i k = _mm256_broadcastsi128_si256(rk[rounds]);
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    w[i] = _mm256_aesenclast_epi128(w[i], k);
    b[2 * i] = _mm256_castsi256_si128(w[i]);
    b[2 * i + 1] = _mm256_extracti128_si256(w[i], 1);
  }
#else
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i)
    b[i] = _mm_xor_si128(counter_block(iv_block, counter + uint32_t(i)), rk[0]);
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
#endif
}

// Counter mode over `text` in place from counter 2 (1 is the tag's); with Hash (sealing)
// the ciphertext goes into `g`, whose queue is empty on entry. In the loop of whole
// eight-block chunks, the previous chunk's multiplications are issued between the rounds
// of this one: the two are independent, and the processor overlaps them.
template <bool Hash>
GCM_FN void counter_mode(const __m128i* rk, int rounds, __m128i iv_block, uint8_t* p, size_t n,
                         ghash* g) {
  uint32_t counter = 2;
  bool have_previous = false;
#if GCM_WIDE
  // Four registers of two blocks; the previous chunk's pairs multiplied by H^8 H^7, H^6
  // H^5, ... (two consecutive entries of the descending table), one pair a round.
  __m256i previous[4];
  const __m256i first_round = _mm256_broadcastsi128_si256(rk[0]);
  for (; n >= 128; p += 128, n -= 128, counter += 8) {
    __m256i b[4];
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i)
      b[i] = _mm256_xor_si256(pair(counter_block(iv_block, counter + uint32_t(2 * i)),
                                   counter_block(iv_block, counter + uint32_t(2 * i + 1))),
                              first_round);
    product_pair sum{};
    for (int r = 1; r < rounds; ++r) {
      const __m256i k = _mm256_broadcastsi128_si256(rk[r]);
#pragma GCC unroll 4
      for (int i = 0; i < 4; ++i)
        b[i] = _mm256_aesenc_epi128(b[i], k);
      if constexpr (Hash) {
        if (have_previous && r <= 4) {
          const int j = r - 1;
          __m256i x = byte_swap_pair(previous[j]);
          if (j == 0)
            x = _mm256_xor_si256(x, _mm256_zextsi128_si256(g->y));
          const product_pair m = multiply_pair(x, load_pair(g->powers + 2 * j), load_pair(g->folded + 2 * j));
          if (j == 0)
            sum = m;
          else
            add_pair(sum, m);
        }
      }
    }
    const __m256i k = _mm256_broadcastsi128_si256(rk[rounds]);
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
      auto* at = reinterpret_cast<__m256i*>(p + 32 * i);
      previous[i] = _mm256_xor_si256(_mm256_aesenclast_epi128(b[i], k), _mm256_loadu_si256(at));
      _mm256_storeu_si256(at, previous[i]);
    }
    if constexpr (Hash) {
      if (have_previous)
        g->y = reduce(lanes_summed(sum));
      have_previous = true;
    }
  }
  if constexpr (Hash) {
    if (have_previous)
      for (int i = 0; i < 4; ++i) {
        const __m256i swapped = byte_swap_pair(previous[i]);
        g->push(_mm256_castsi256_si128(swapped));
        g->push(_mm256_extracti128_si256(swapped, 1));
      }
  }
#else
  __m128i previous[8];
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
          const int j = r - 1; // block j of the previous chunk, times H^(8 - j)
          const __m128i x = j == 0 ? _mm_xor_si128(g->y, byte_swap(previous[0])) : byte_swap(previous[j]);
          const product m = multiply(x, g->powers[j], g->folded[j]);
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
#endif
  if (n == 0)
    return;
  // The rest, at most seven whole blocks and a partial one: its keystream in one batch.
  const size_t whole = n / 16;
  __m128i b[8];
  keystream_eight(rk, rounds, iv_block, counter, b);
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

GCM_FN void seal(const key_view& key, const uint8_t* iv, std::span<const uint8_t> aad,
                 std::span<const uint8_t> aad_tail, std::span<uint8_t> text, uint8_t* tag) {
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

GCM_FN bool open(const key_view& key, const uint8_t* iv, std::span<const uint8_t> aad,
                 std::span<const uint8_t> aad_tail, std::span<uint8_t> text, const uint8_t* tag) {
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
