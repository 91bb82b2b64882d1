// Big-endian reads and writes for the RTCP code (internal). Callers check bounds before
// every read: these helpers index with .size() asserted in debug builds only.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <span>

namespace chorus::rtp::rtcp_bytes {

inline uint8_t get8(std::span<const uint8_t> b, size_t at) noexcept {
  assert(at + 1 <= b.size());
  return b[at];
}
inline uint16_t get16(std::span<const uint8_t> b, size_t at) noexcept {
  assert(at + 2 <= b.size());
  return static_cast<uint16_t>((uint16_t(b[at]) << 8) | b[at + 1]);
}
inline uint32_t get24(std::span<const uint8_t> b, size_t at) noexcept {
  assert(at + 3 <= b.size());
  return (uint32_t(b[at]) << 16) | (uint32_t(b[at + 1]) << 8) | b[at + 2];
}
inline uint32_t get32(std::span<const uint8_t> b, size_t at) noexcept {
  assert(at + 4 <= b.size());
  return (uint32_t(b[at]) << 24) | (uint32_t(b[at + 1]) << 16) | (uint32_t(b[at + 2]) << 8) |
         b[at + 3];
}
inline void put8(std::span<uint8_t> b, size_t at, uint8_t v) noexcept {
  assert(at + 1 <= b.size());
  b[at] = v;
}
inline void put16(std::span<uint8_t> b, size_t at, uint16_t v) noexcept {
  assert(at + 2 <= b.size());
  b[at] = uint8_t(v >> 8);
  b[at + 1] = uint8_t(v);
}
inline void put24(std::span<uint8_t> b, size_t at, uint32_t v) noexcept {
  assert(at + 3 <= b.size());
  b[at] = uint8_t(v >> 16);
  b[at + 1] = uint8_t(v >> 8);
  b[at + 2] = uint8_t(v);
}
inline void put32(std::span<uint8_t> b, size_t at, uint32_t v) noexcept {
  assert(at + 4 <= b.size());
  b[at] = uint8_t(v >> 24);
  b[at + 1] = uint8_t(v >> 16);
  b[at + 2] = uint8_t(v >> 8);
  b[at + 3] = uint8_t(v);
}

constexpr size_t pad4(size_t n) noexcept { return (n + 3) & ~size_t(3); }

} // namespace chorus::rtp::rtcp_bytes
