#include "rtp/seq_munger.hpp"

#include <algorithm>
#include <bit>

namespace chorus::rtp {

namespace {

// The extended value nearest to `high` whose low 16 / 32 bits are `v` (RFC 3550 A.1 idea).
int64_t unwrap16(int64_t high, uint16_t v) noexcept {
  return high + int16_t(uint16_t(v - uint16_t(high)));
}
int64_t unwrap32(int64_t high, uint32_t v) noexcept {
  return high + int32_t(uint32_t(v - uint32_t(high)));
}

constexpr int64_t window = seq_munger::drop_window;
static_assert(window % 64 == 0 && (window & (window - 1)) == 0);

uint64_t bit_index(int64_t ext_seq) noexcept {
  return static_cast<uint64_t>(ext_seq) & uint64_t(window - 1);
}

// Calls f(word, mask) for the bits of the n (<= window) extended numbers from `first` on,
// on the circular bitmap.
template <class F>
void for_bits(int64_t first, int64_t n, F&& f) noexcept {
  uint64_t pos = bit_index(first);
  while (n > 0) {
    const uint64_t bit = pos & 63;
    const int64_t take = std::min<int64_t>(n, int64_t(64 - bit));
    const uint64_t mask = (take == 64 ? ~uint64_t(0) : ((uint64_t(1) << take) - 1)) << bit;
    f(pos >> 6, mask);
    n -= take;
    pos = (pos + uint64_t(take)) & uint64_t(window - 1);
  }
}

} // namespace

void seq_munger::rebase(uint16_t seq, uint32_t timestamp, int64_t now_ms) noexcept {
  const int64_t in_seq = seq;
  const int64_t in_ts = timestamp;
  int64_t out_seq = in_seq;
  int64_t out_ts = in_ts;
  if (started_) {
    out_seq = last_out_seq_ + 1;
    const int64_t elapsed_ms = std::max<int64_t>(0, now_ms - last_out_ms_);
    const int64_t ticks = std::max<int64_t>(1, elapsed_ms * config_.clock_rate / 1000);
    out_ts = last_out_ts_ + ticks;
  }
  seq_offset_ = in_seq - out_seq;
  ts_offset_ = in_ts - out_ts;
  in_high_seq_ = in_base_seq_ = in_seq;
  in_high_ts_ = in_ts;
  closed_.fill(0);
  source_has_drops_ = false;
  need_base_ = false;
}

void seq_munger::advance(int64_t ext_seq, int64_t ext_ts) noexcept {
  // The bits of (in_high, ext_seq] held numbers drop_window older: forget them.
  for_bits(in_high_seq_ + 1, std::min(ext_seq - in_high_seq_, window),
           [this](uint64_t word, uint64_t mask) { closed_[word] &= ~mask; });
  in_high_seq_ = ext_seq;
  in_high_ts_ = ext_ts;
}

void seq_munger::close_number(int64_t ext_seq) noexcept {
  const uint64_t i = bit_index(ext_seq);
  closed_[i >> 6] |= uint64_t(1) << (i & 63);
  ++seq_offset_;
  source_has_drops_ = true;
}

bool seq_munger::closed(int64_t ext_seq) const noexcept {
  const uint64_t i = bit_index(ext_seq);
  return (closed_[i >> 6] >> (i & 63)) & 1;
}

int64_t seq_munger::closed_after(int64_t ext_seq) const noexcept {
  int64_t n = 0;
  if (source_has_drops_)
    for_bits(ext_seq + 1, in_high_seq_ - ext_seq, [&](uint64_t word, uint64_t mask) {
      n += std::popcount(closed_[word] & mask);
    });
  return n;
}

void seq_munger::note_output(int64_t out_seq, int64_t out_ts, int64_t now_ms) noexcept {
  if (started_ && out_seq <= last_out_seq_)
    return;
  last_out_seq_ = out_seq;
  last_out_ts_ = out_ts;
  last_out_ms_ = now_ms;
  started_ = true;
}

munge_decision seq_munger::process(uint16_t seq, uint32_t timestamp, int64_t now_ms) noexcept {
  munge_decision d;
  if (need_base_) {
    rebase(seq, timestamp, now_ms);
    note_output(in_high_seq_ - seq_offset_, in_high_ts_ - ts_offset_, now_ms);
    d.action = munge_action::forward;
    d.seq = uint16_t(last_out_seq_);
    d.timestamp = uint32_t(last_out_ts_);
    return d;
  }
  const int64_t ext_seq = unwrap16(in_high_seq_, seq);
  if (ext_seq < in_base_seq_) {
    d.reason = munge_drop_reason::before_base;
    return d;
  }
  const int64_t behind = in_high_seq_ - ext_seq;
  if (behind > config_.max_reorder || (source_has_drops_ && behind >= drop_window)) {
    d.reason = munge_drop_reason::too_old;
    return d;
  }
  const int64_t ext_ts = unwrap32(in_high_ts_, timestamp);
  int64_t out_seq = 0;
  if (ext_seq > in_high_seq_) {
    advance(ext_seq, ext_ts);
    out_seq = ext_seq - seq_offset_;
  } else {
    if (closed(ext_seq)) {
      d.reason = munge_drop_reason::dropped_layer;
      return d;
    }
    out_seq = ext_seq - seq_offset_ + closed_after(ext_seq);
  }
  const int64_t out_ts = ext_ts - ts_offset_;
  note_output(out_seq, out_ts, now_ms);
  d.action = munge_action::forward;
  d.seq = uint16_t(out_seq);
  d.timestamp = uint32_t(out_ts);
  return d;
}

void seq_munger::drop(uint16_t seq, uint32_t timestamp, int64_t now_ms) noexcept {
  if (need_base_) {
    rebase(seq, timestamp, now_ms);
    close_number(in_base_seq_);
    return;
  }
  const int64_t ext_seq = unwrap16(in_high_seq_, seq);
  if (ext_seq <= in_high_seq_)
    return; // late or again: the numbers after it are out already (or it is closed)
  advance(ext_seq, unwrap32(in_high_ts_, timestamp));
  close_number(ext_seq);
}

} // namespace chorus::rtp
