#include "net/cluster.hpp"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace chorus::net::cluster {

namespace {

// FNV-1a over the bytes, then the splitmix64 finaliser for an even spread.
uint64_t fnv1a(uint64_t h, std::string_view s) noexcept {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint64_t mix(uint64_t z) noexcept {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string hex(std::span<const uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0xf]);
  }
  return out;
}

} // namespace

uint64_t weight(std::string_view node_id, std::string_view room_id) noexcept {
  uint64_t h = fnv1a(0xcbf29ce484222325ULL, node_id);
  h = fnv1a(h, std::string_view("\x1f", 1)); // a separator: ("ab","c") differs from ("a","bc")
  h = fnv1a(h, room_id);
  return mix(h);
}

std::string home_node(std::string_view room_id, std::span<const std::string> nodes) {
  const std::string* best = nullptr;
  uint64_t best_weight = 0;
  for (const auto& n : nodes) {
    const uint64_t w = weight(n, room_id);
    if (best == nullptr || w > best_weight || (w == best_weight && n < *best)) {
      best = &n;
      best_weight = w;
    }
  }
  return best != nullptr ? *best : std::string{};
}

std::array<uint8_t, 32> hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> data) {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(),
           out.data(), &len) == nullptr ||
      len != out.size())
    throw std::runtime_error("HMAC-SHA256 failed");
  return out;
}

std::string proof(std::string_view secret, std::string_view role, std::string_view prover,
                  std::string_view verifier, std::string_view initiator_nonce,
                  std::string_view responder_nonce) {
  std::string msg = "chorus-cluster-v1";
  for (auto part : {role, prover, verifier, initiator_nonce, responder_nonce}) {
    msg.push_back('\0');
    msg.append(part);
  }
  auto mac = hmac_sha256(
    std::span{reinterpret_cast<const uint8_t*>(secret.data()), secret.size()},
    std::span{reinterpret_cast<const uint8_t*>(msg.data()), msg.size()});
  return hex(mac);
}

bool same_proof(std::string_view expected, std::string_view got) noexcept {
  if (expected.size() != got.size() || expected.empty())
    return false;
  return CRYPTO_memcmp(expected.data(), got.data(), expected.size()) == 0;
}

std::string make_nonce() {
  std::array<uint8_t, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return hex(bytes);
}

} // namespace chorus::net::cluster
