#include "common/ids.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <stdexcept>

namespace chorus::ids {

void random_bytes(void* buf, std::size_t len) {
  auto* p = static_cast<unsigned char*>(buf);
  while (len > 0) {
    auto n = getrandom(p, len, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      throw std::runtime_error("getrandom failed");
    }
    p += n;
    len -= static_cast<std::size_t>(n);
  }
}

uint32_t random_u32() {
  uint32_t v = 0;
  random_bytes(&v, sizeof v);
  return v;
}

std::string uuid4() {
  uint8_t b[16];
  random_bytes(b, sizeof b);
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out.push_back('-');
    out.push_back(hex[b[i] >> 4]);
    out.push_back(hex[b[i] & 0xf]);
  }
  return out;
}

std::string random_token(std::size_t len) {
  static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out(len, 'a');
  uint8_t b[64];
  std::size_t i = 0;
  while (i < len) {
    random_bytes(b, sizeof b);
    for (uint8_t x : b) {
      if (x >= 252) // 252 = 7 * 36: reject to avoid modulo bias
        continue;
      out[i++] = alphabet[x % 36];
      if (i == len)
        break;
    }
  }
  return out;
}

std::string random_base64url(std::size_t bytes) {
  static constexpr char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  bytes -= bytes % 3;
  std::string raw(bytes, '\0');
  random_bytes(raw.data(), raw.size());
  std::string out;
  out.reserve(bytes / 3 * 4);
  for (std::size_t i = 0; i < bytes; i += 3) {
    const uint32_t v = (uint32_t(uint8_t(raw[i])) << 16) | (uint32_t(uint8_t(raw[i + 1])) << 8) |
                       uint8_t(raw[i + 2]);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  return out;
}

} // namespace chorus::ids
