// RFC 4571 framing of RTP/RTCP/STUN/DTLS over a TCP stream, as ICE-TCP uses it (RFC 6544 §3):
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   -----------------------------------------------------------------
//   |             LENGTH            |  STUN / DTLS / RTP / RTCP ...
//   -----------------------------------------------------------------
//
// LENGTH is a 16-bit big-endian byte count of the frame that follows (so at most 65535).
// A zero LENGTH frame carries nothing and is skipped. Pure code: no sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace chorus::net {

inline constexpr std::size_t tcp_frame_header_size = 2;
inline constexpr std::size_t tcp_max_frame_size = 0xFFFF;

// Writes the 2-byte big-endian LENGTH header. `size` must be <= tcp_max_frame_size.
inline void put_tcp_frame_header(uint8_t* out, std::size_t size) noexcept {
  out[0] = uint8_t(size >> 8);
  out[1] = uint8_t(size);
}

// Reassembles frames from a byte stream. The caller reads straight into write_area() (no
// intermediate copy), commits what it read, then takes frames with next() until nullopt.
// A frame span stays valid until the next write_area() or feed() call. Memory grows only
// as far as the largest frame seen needs (at most 2 + 65535 bytes) when frames are drained
// between reads. Not thread-safe (one per connection).
class tcp_frame_reader {
public:
  explicit tcp_frame_reader(std::size_t initial_capacity = 4096);

  // Free space to read into; never empty. May move buffered bytes to the front.
  std::span<uint8_t> write_area();
  // `n` bytes were written at the start of the last write_area().
  void commit(std::size_t n) noexcept;
  // Copies `bytes` in (tests and callers that already hold the bytes).
  void feed(std::span<const uint8_t> bytes);

  // The next whole frame (zero-length frames skipped), or nullopt when more bytes are needed.
  std::optional<std::span<const uint8_t>> next() noexcept;

  // Bytes received but not yet returned as frames (a partial header or frame).
  std::size_t buffered() const noexcept { return end_ - begin_; }

private:
  std::vector<uint8_t> buf_;
  std::size_t begin_ = 0; // first unconsumed byte
  std::size_t end_ = 0;   // one past the last received byte
};

} // namespace chorus::net
