#include "rtp/retransmission_buffer.hpp"

#include <algorithm>
#include <utility>

namespace chorus::rtp {

namespace {

constexpr int64_t first_ext_seq = int64_t(1) << 32; // keeps extended numbers positive

int64_t unwrap16(int64_t high, uint16_t v) noexcept {
  return high + int16_t(uint16_t(v - uint16_t(high)));
}

} // namespace

retransmission_buffer::retransmission_buffer(retransmission_config config)
    : config_(config), slots_(std::max<size_t>(1, config.capacity)) {}

void retransmission_buffer::clear() noexcept {
  for (auto& s : slots_) s = slot{};
  started_ = false;
  highest_ = 0;
}

size_t retransmission_buffer::stored() const noexcept {
  return size_t(std::count_if(slots_.begin(), slots_.end(),
                              [](const slot& s) { return s.packet != nullptr; }));
}

void retransmission_buffer::insert(uint16_t seq, uint32_t timestamp, shared_packet packet,
                                   int64_t now_ms, uint32_t tag) {
  int64_t ext;
  if (!started_) {
    started_ = true;
    ext = first_ext_seq + seq;
    highest_ = ext;
  } else {
    ext = unwrap16(highest_, seq);
    if (ext > highest_) {
      // Clear the slots skipped over (at most one lap) so stale packets are not served
      // under a number they no longer have.
      const int64_t skipped = std::min<int64_t>(ext - highest_ - 1, int64_t(slots_.size()));
      for (int64_t s = 1; s <= skipped; ++s) at(highest_ + s) = slot{};
      highest_ = ext;
    } else if (highest_ - ext >= int64_t(slots_.size())) {
      return; // too old for the ring
    }
  }
  slot& s = at(ext);
  s.packet = std::move(packet);
  s.ext_seq = uint32_t(ext);
  s.timestamp = timestamp;
  s.stored_ms = uint32_t(now_ms);
  s.resent_ms = 0;
  s.resent = false;
  s.tag = tag;
}

void retransmission_buffer::recent(size_t bytes, int64_t now_ms,
                                   std::vector<stored_packet>& out) const {
  out.clear();
  if (!started_)
    return;
  size_t total = 0;
  for (int64_t ext = highest_; ext > highest_ - int64_t(slots_.size()) && total < bytes; --ext) {
    const slot& s = slots_[size_t(ext) % slots_.size()];
    if (!s.packet || s.ext_seq != uint32_t(ext) ||
        int64_t(uint32_t(now_ms) - s.stored_ms) > config_.max_age_ms)
      continue;
    out.push_back(stored_packet{s.packet, uint16_t(ext), s.timestamp, s.tag});
    total += s.packet->size();
  }
}

void retransmission_buffer::on_nack(std::span<const uint16_t> seqs, int64_t now_ms,
                                    int64_t rtt_ms, std::vector<stored_packet>& out) {
  out.clear();
  const int64_t spacing = std::max(rtt_ms / 2, config_.min_resend_ms);
  for (const uint16_t seq : seqs) {
    if (!started_) {
      ++counters_.missing;
      continue;
    }
    const int64_t ext = unwrap16(highest_, seq);
    slot& s = at(ext);
    if (ext > highest_ || s.ext_seq != uint32_t(ext) || !s.packet) {
      ++counters_.missing;
      continue;
    }
    const auto since = [now_ms](uint32_t then) { return int64_t(uint32_t(now_ms) - then); };
    if (since(s.stored_ms) > config_.max_age_ms) {
      s = slot{}; // release the packet early
      ++counters_.missing;
      continue;
    }
    if (s.resent && since(s.resent_ms) < spacing) {
      ++counters_.rate_limited;
      continue;
    }
    s.resent = true;
    s.resent_ms = uint32_t(now_ms);
    out.push_back(stored_packet{s.packet, uint16_t(ext), s.timestamp, s.tag});
    ++counters_.resent;
  }
}

} // namespace chorus::rtp
