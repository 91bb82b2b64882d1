// Reads a byte span most significant bit first, as the VP9 and AV1 bitstream headers and
// the AV1 Dependency Descriptor are written. A read past the end fails and leaves the
// reader at the end. Pure, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace chorus::rtp {

class bit_reader {
public:
  explicit bit_reader(std::span<const uint8_t> b) noexcept : b_(b) {}

  // n bits (0..32) into v; false when fewer than n are left.
  bool read(int n, uint32_t& v) noexcept {
    v = 0;
    if (n < 0 || n > 32 || remaining() < std::size_t(n)) {
      pos_ = b_.size() * 8;
      return false;
    }
    for (int i = 0; i < n; ++i) {
      v = (v << 1) | ((b_[pos_ / 8] >> (7 - pos_ % 8)) & 1u);
      ++pos_;
    }
    return true;
  }

  // The non-symmetric unsigned value below n (AV1 specification 4.10.7, "ns(n)"): the
  // values that fit in one bit fewer take one bit fewer.
  bool read_ns(uint32_t n, uint32_t& v) noexcept {
    v = 0;
    if (n <= 1)
      return true; // a single possible value: no bits
    int w = 0;
    for (uint32_t x = n; x != 0; x >>= 1)
      ++w;
    const uint32_t m = (uint32_t(1) << w) - n;
    if (!read(w - 1, v))
      return false;
    if (v < m)
      return true;
    uint32_t extra = 0;
    if (!read(1, extra))
      return false;
    v = (v << 1) - m + extra;
    return true;
  }

  std::size_t position() const noexcept { return pos_; }
  std::size_t remaining() const noexcept { return b_.size() * 8 - pos_; }

private:
  std::span<const uint8_t> b_;
  std::size_t pos_ = 0;
};

} // namespace chorus::rtp
