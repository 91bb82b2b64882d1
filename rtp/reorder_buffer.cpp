#include "rtp/reorder_buffer.hpp"

#include <algorithm>
#include <bit>
#include <limits>

namespace chorus::rtp {

reorder_buffer::reorder_buffer(std::size_t capacity, int64_t max_wait_ms)
  : slots_(std::bit_ceil(std::clamp<std::size_t>(capacity, 2, 32768))), max_wait_ms_(max_wait_ms) {}

bool reorder_buffer::store(uint16_t seq, std::span<const uint8_t> packet, int64_t now_ms) {
  slot& s = at(seq);
  if (s.full) {
    ++counters_.duplicates;
    return false;
  }
  if (int16_t(seq - highest_) >= 0) {
    highest_ = uint16_t(seq + 1);
    ++counters_.in_order;
  } else {
    ++counters_.reordered;
  }
  s.full = true;
  s.seq = seq;
  s.arrived_ms = now_ms;
  s.bytes.assign(packet.begin(), packet.end());
  ++waiting_;
  return true;
}

void reorder_buffer::skip_gap() {
  while (waiting_ > 0 && !at(next_).full) {
    ++counters_.lost;
    ++next_;
  }
}

void reorder_buffer::restart(uint16_t seq) {
  for (auto& s : slots_)
    if (s.full) {
      s.full = false;
      ++counters_.lost;
    }
  waiting_ = 0;
  next_ = highest_ = seq;
  late_in_a_row_ = 0;
}

int64_t reorder_buffer::oldest_arrival() const noexcept {
  int64_t oldest = std::numeric_limits<int64_t>::max();
  for (const auto& s : slots_)
    if (s.full)
      oldest = std::min(oldest, s.arrived_ms);
  return oldest;
}

} // namespace chorus::rtp
