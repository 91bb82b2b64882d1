// aes_gcm: the GCM specification's test cases, then every length against OpenSSL's EVP
// AES-GCM (the implementation srtp_gcm used alone before), and tampering; each on the 128-bit
// path and, where the CPU has it, the 256-bit one.
#include "rtp/aes_gcm.hpp"

#include <doctest/doctest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

using chorus::rtp::aes_gcm;
using bytes = std::vector<uint8_t>;

namespace {

bytes hex(const std::string& s) {
  bytes out;
  for (size_t i = 0; i + 1 < s.size(); i += 2)
    out.push_back(uint8_t(std::stoi(s.substr(i, 2), nullptr, 16)));
  return out;
}

// OpenSSL's seal of the same input: the reference.
void reference_seal(const bytes& key, const uint8_t* iv, const bytes& aad, bytes& text, uint8_t* tag) {
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  int len = 0;
  REQUIRE(EVP_EncryptInit_ex(c, key.size() == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm(), nullptr,
                             key.data(), iv) == 1);
  if (!aad.empty())
    REQUIRE(EVP_EncryptUpdate(c, nullptr, &len, aad.data(), int(aad.size())) == 1);
  if (!text.empty())
    REQUIRE(EVP_EncryptUpdate(c, text.data(), &len, text.data(), int(text.size())) == 1);
  REQUIRE(EVP_EncryptFinal_ex(c, nullptr, &len) == 1);
  REQUIRE(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1);
  EVP_CIPHER_CTX_free(c);
}

// Runs `body` on the 128-bit path, then (where the CPU has VAES and VPCLMULQDQ) on the
// 256-bit one; the default (wide where available) is restored after.
template <class F>
void for_each_width(F&& body) {
  struct restore {
    ~restore() { aes_gcm::set_wide(true); }
  } guard;
  for (const bool wide : {false, true}) {
    if (wide && !aes_gcm::wide_available()) {
      MESSAGE("this CPU lacks VAES/VPCLMULQDQ: the 256-bit path is not tested here");
      continue;
    }
    CAPTURE(wide);
    REQUIRE(aes_gcm::set_wide(wide) == wide);
    body();
  }
}

} // namespace

TEST_CASE("aes_gcm: the GCM specification's test cases") {
  if (!aes_gcm::available()) {
    MESSAGE("this CPU lacks AES-NI/PCLMULQDQ: srtp_gcm uses OpenSSL; nothing to test here");
    return;
  }
  // McGrew and Viega, "The Galois/Counter Mode of Operation", appendix B (96-bit IVs).
  const std::string p64 = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                          "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
  const std::string p60 = p64.substr(0, 120);
  struct vector_case {
    const char* name;
    std::string key, iv, aad, plain, cipher, tag;
  };
  const vector_case cases[] = {
      {"test case 2: AES-128, one zero block", "00000000000000000000000000000000",
       "000000000000000000000000", "", "00000000000000000000000000000000",
       "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf"},
      {"test case 3: AES-128, four blocks", "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
       "", p64,
       "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
       "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
       "4d5c2af327cd64a62cf35abd2ba6fab4"},
      {"test case 4: AES-128, associated data, a partial last block",
       "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
       "feedfacedeadbeeffeedfacedeadbeefabaddad2", p60,
       "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
       "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
       "5bc94fbc3221a5db94fae95ae7121a47"},
      {"test case 13: AES-256, nothing at all",
       "0000000000000000000000000000000000000000000000000000000000000000",
       "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
      {"test case 16: AES-256, associated data, a partial last block",
       "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
       "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2", p60,
       "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
       "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
       "76fc6ece0f4e1768cddf8853bb2d551b"},
  };
  for_each_width([&] {
    for (const auto& c : cases) {
      CAPTURE(c.name);
      aes_gcm g;
      REQUIRE(g.set_key(hex(c.key)));
      const bytes iv = hex(c.iv), aad = hex(c.aad), plain = hex(c.plain);
      bytes text = plain;
      uint8_t tag[16];
      REQUIRE(g.seal(iv.data(), aad, {}, text, tag));
      CHECK(text == hex(c.cipher));
      CHECK(bytes(tag, tag + 16) == hex(c.tag));
      // The associated data in two pieces is the same string.
      const size_t half = aad.size() / 2;
      bytes again = plain;
      uint8_t tag2[16];
      REQUIRE(g.seal(iv.data(), std::span(aad).first(half), std::span(aad).subspan(half), again, tag2));
      CHECK(again == text);
      CHECK(bytes(tag2, tag2 + 16) == bytes(tag, tag + 16));
      REQUIRE(g.open(iv.data(), aad, {}, text, tag));
      CHECK(text == plain);
    }
  });
}

TEST_CASE("aes_gcm: every length from 0 to 1500 bytes as OpenSSL seals it, and opened back") {
  if (!aes_gcm::available())
    return;
  for_each_width([] {
    std::mt19937 rng(7714);
    for (size_t key_size : {size_t(16), size_t(32)}) {
      CAPTURE(key_size);
      bytes key(key_size);
      for (auto& b : key)
        b = uint8_t(rng());
      aes_gcm g;
      REQUIRE(g.set_key(key));
      // Every length to 1500 (a datagram), then some to 9000; associated data up to 300
      // bytes (an SRTCP packet sent unencrypted is all associated data), split anywhere, and
      // every buffer at an odd address.
      std::vector<size_t> lengths;
      for (size_t length = 0; length <= 1500; ++length)
        lengths.push_back(length);
      for (int i = 0; i < 100; ++i)
        lengths.push_back(1501 + rng() % 7500);
      for (const size_t length : lengths) {
        CAPTURE(length);
        uint8_t iv[12];
        for (auto& b : iv)
          b = uint8_t(rng());
        const size_t aad_size = rng() % 300, offset = 1 + rng() % 15;
        bytes aad_store(offset + aad_size), plain(length);
        for (auto& b : aad_store)
          b = uint8_t(rng());
        for (auto& b : plain)
          b = uint8_t(rng());
        const bytes aad(aad_store.begin() + ptrdiff_t(offset), aad_store.end());
        const auto aad_view = std::span<const uint8_t>(aad_store).subspan(offset);
        const size_t split = aad.empty() ? 0 : rng() % (aad.size() + 1);
        bytes expected = plain;
        bytes store(offset + length + 16);
        std::copy(plain.begin(), plain.end(), store.begin() + ptrdiff_t(offset));
        const auto text = std::span(store).subspan(offset, length);
        uint8_t expected_tag[16];
        uint8_t* tag = store.data() + offset + length;
        reference_seal(key, iv, aad, expected, expected_tag);
        REQUIRE(g.seal(iv, aad_view.first(split), aad_view.subspan(split), text, tag));
        REQUIRE(bytes(text.begin(), text.end()) == expected);
        REQUIRE(bytes(tag, tag + 16) == bytes(expected_tag, expected_tag + 16));
        REQUIRE(g.open(iv, aad_view, {}, text, tag));
        REQUIRE(bytes(text.begin(), text.end()) == plain);
      }
    }
  });
}

TEST_CASE("aes_gcm: a changed bit anywhere fails to open and leaves the text as it was") {
  if (!aes_gcm::available())
    return;
  for_each_width([] {
    aes_gcm g;
    REQUIRE(g.set_key(hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")));
    const uint8_t iv[12] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2};
    const bytes aad(24, 0x5a);
    bytes sealed(1200, 0x33);
    uint8_t tag[16];
    REQUIRE(g.seal(iv, aad, {}, sealed, tag));
    std::mt19937 rng(1);
    for (int trial = 0; trial < 200; ++trial) {
      bytes text = sealed, a = aad;
      uint8_t t[16];
      std::copy(tag, tag + 16, t);
      uint8_t v[12];
      std::copy(iv, iv + 12, v);
      const uint8_t bit = uint8_t(1u << (rng() % 8));
      switch (trial % 4) {
      case 0: text[rng() % text.size()] ^= bit; break;
      case 1: a[rng() % a.size()] ^= bit; break;
      case 2: t[rng() % 16] ^= bit; break;
      default: v[rng() % 12] ^= bit; break;
      }
      const bytes before = text;
      CHECK_FALSE(g.open(v, a, {}, text, t));
      CHECK(text == before);
    }
    // The tail of the associated data counts like the rest.
    bytes text = sealed;
    CHECK_FALSE(g.open(iv, std::span(aad).first(20), std::span(aad).first(3), text, tag));
    CHECK(g.open(iv, std::span(aad).first(20), std::span(aad).subspan(20), text, tag));
  });
}

TEST_CASE("aes_gcm: only AES-128 and AES-256 keys; unkeyed it does nothing") {
  aes_gcm g;
  CHECK_FALSE(g.keyed());
  CHECK_FALSE(g.set_key(bytes(24, 1)));
  CHECK_FALSE(g.set_key(bytes(0)));
  CHECK_FALSE(g.keyed());
  bytes text(40, 7);
  uint8_t tag[16] = {};
  const uint8_t iv[12] = {};
  CHECK_FALSE(g.seal(iv, {}, {}, text, tag));
  CHECK(text == bytes(40, 7));
  CHECK_FALSE(g.open(iv, {}, {}, text, tag));
  if (aes_gcm::available()) {
    CHECK(g.set_key(bytes(16, 1)));
    CHECK(g.keyed());
    CHECK_FALSE(g.set_key(bytes(17, 1))); // a failed set leaves it unkeyed, the old key wiped
    CHECK_FALSE(g.keyed());
    const auto* schedule = static_cast<const uint8_t*>(g.schedule_address());
    CHECK(std::all_of(schedule, schedule + aes_gcm::state_bytes, [](uint8_t b) { return b == 0; }));
  }
}
