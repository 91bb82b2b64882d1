#include "rtp/nack_generator.hpp"

#include <algorithm>

namespace chorus::rtp {

int64_t nack_generator::interval_ms() const noexcept {
  return std::max(rtt_ms_, config_.min_interval_ms);
}

void nack_generator::expire(int64_t now_ms) {
  for (auto it = missing_.begin(); it != missing_.end();) {
    if (now_ms - it->second.detected_ms >= config_.max_age_ms) {
      it = missing_.erase(it);
      ++counters_.abandoned;
    } else {
      ++it;
    }
  }
}

void nack_generator::add_missing(int64_t from, int64_t to, int64_t now_ms,
                                 std::vector<uint16_t>& to_nack) {
  // [from, to): a gap larger than the list keeps only its newest max_entries numbers.
  if (to - from > int64_t(config_.max_entries)) {
    counters_.abandoned += uint64_t(to - from) - config_.max_entries;
    from = to - int64_t(config_.max_entries);
  }
  for (int64_t s = from; s < to; ++s) {
    missing_[s] = entry{now_ms, now_ms, 1};
    to_nack.push_back(uint16_t(s));
    ++counters_.requested;
  }
  while (missing_.size() > config_.max_entries) {
    missing_.erase(missing_.begin());
    ++counters_.abandoned;
  }
}

void nack_generator::on_packet(uint16_t seq, int64_t now_ms, bool is_keyframe,
                               packet_origin origin, std::vector<uint16_t>& to_nack) {
  to_nack.clear();
  if (!started_) {
    started_ = true;
    highest_ = seq;
    return;
  }
  const int64_t ext = highest_ + int16_t(uint16_t(seq - uint16_t(highest_)));
  if (is_keyframe) {
    // Losses before a keyframe are irrelevant to the decoder (and a gap just before it is
    // not worth asking for).
    const auto end = missing_.lower_bound(ext);
    for (auto it = missing_.begin(); it != end;) {
      it = missing_.erase(it);
      ++counters_.abandoned;
    }
  }
  if (ext <= highest_ || origin == packet_origin::rtx) {
    // Late or retransmitted packet: it is no longer missing. (An RTX packet never advances
    // the highest number: only requested packets should come that way.)
    if (missing_.erase(ext) > 0) ++counters_.recovered;
    return;
  }
  if (ext > highest_ + 1 && !is_keyframe) add_missing(highest_ + 1, ext, now_ms, to_nack);
  highest_ = ext;
}

void nack_generator::tick(int64_t now_ms, std::vector<uint16_t>& to_nack) {
  to_nack.clear();
  expire(now_ms);
  const int64_t interval = interval_ms();
  for (auto it = missing_.begin(); it != missing_.end();) {
    entry& e = it->second;
    const bool due = now_ms - e.sent_ms >= interval;
    if (due && e.retries >= config_.max_retries) { // the last request had its RTT
      it = missing_.erase(it);
      ++counters_.abandoned;
      continue;
    }
    if (due) {
      to_nack.push_back(uint16_t(it->first));
      e.sent_ms = now_ms;
      ++e.retries;
      ++counters_.requested;
    }
    ++it;
  }
}

} // namespace chorus::rtp
