#include "net/tcp_framing.hpp"

#include <algorithm>
#include <cstring>

namespace chorus::net {

namespace {
constexpr std::size_t max_buffer = tcp_frame_header_size + tcp_max_frame_size;
constexpr std::size_t min_write_area = 1;

uint16_t be16(const uint8_t* p) noexcept { return uint16_t(uint16_t(p[0]) << 8 | p[1]); }
} // namespace

tcp_frame_reader::tcp_frame_reader(std::size_t initial_capacity)
  : buf_(std::clamp<std::size_t>(initial_capacity, tcp_frame_header_size + 1, max_buffer)) {}

std::span<uint8_t> tcp_frame_reader::write_area() {
  if (begin_ == end_) {
    begin_ = end_ = 0;
  }
  // Room the pending frame needs from begin_: its whole size once the header is known.
  std::size_t needed = tcp_frame_header_size + 1;
  if (end_ - begin_ >= tcp_frame_header_size)
    needed = tcp_frame_header_size + be16(buf_.data() + begin_);
  if (buf_.size() - begin_ < needed || buf_.size() - end_ < min_write_area) {
    // Move the partial frame to the front, then grow if it still does not fit.
    if (begin_ > 0) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (buf_.size() < needed)
      buf_.resize(std::min(max_buffer, std::max(needed, buf_.size() * 2)));
    // Only when the caller left whole frames in the buffer (next() not drained): grow
    // rather than return an empty area.
    if (buf_.size() == end_)
      buf_.resize(buf_.size() * 2);
  }
  return {buf_.data() + end_, buf_.size() - end_};
}

void tcp_frame_reader::commit(std::size_t n) noexcept {
  end_ = std::min(buf_.size(), end_ + n);
}

void tcp_frame_reader::feed(std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    auto area = write_area();
    const std::size_t n = std::min(area.size(), bytes.size());
    std::memcpy(area.data(), bytes.data(), n);
    commit(n);
    bytes = bytes.subspan(n);
  }
}

std::optional<std::span<const uint8_t>> tcp_frame_reader::next() noexcept {
  while (end_ - begin_ >= tcp_frame_header_size) {
    const std::size_t size = be16(buf_.data() + begin_);
    if (size == 0) { // RFC 4571 allows empty frames: nothing to deliver
      begin_ += tcp_frame_header_size;
      continue;
    }
    if (end_ - begin_ < tcp_frame_header_size + size)
      return std::nullopt;
    const uint8_t* frame = buf_.data() + begin_ + tcp_frame_header_size;
    begin_ += tcp_frame_header_size + size;
    return std::span<const uint8_t>(frame, size);
  }
  return std::nullopt;
}

} // namespace chorus::net
