// The fuzz targets' stream of RTP-like packets from one input: each a 1-byte length, a
// sequence number step (0-3: mostly in order, sometimes a gap or a repeat), a timestamp step
// and a marker bit, then the payload; handed to `push(seq, timestamp, marker, payload)`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

template <class F>
void for_each_packet(const uint8_t* data, size_t size, F&& push) {
  std::span<const uint8_t> all(data, size);
  uint16_t seq = 0;
  uint32_t ts = 0;
  size_t off = 0;
  while (off + 4 <= size) {
    const size_t len = data[off];
    seq = uint16_t(seq + (data[off + 1] % 4));
    ts += uint32_t(data[off + 2] & 0x7F) * 100;
    const bool marker = data[off + 3] & 1;
    off += 4;
    const size_t n = len < size - off ? len : size - off;
    push(seq, ts, marker, all.subspan(off, n));
    off += n;
    ++seq;
  }
}
