#include "rtp/seq_munger.hpp"

#include <algorithm>

namespace chorus::rtp {

namespace {

// The extended value nearest to `high` whose low 16 / 32 bits are `v` (RFC 3550 A.1 idea).
int64_t unwrap16(int64_t high, uint16_t v) noexcept {
  return high + int16_t(uint16_t(v - uint16_t(high)));
}
int64_t unwrap32(int64_t high, uint32_t v) noexcept {
  return high + int32_t(uint32_t(v - uint32_t(high)));
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
  last_out_seq_ = out_seq;
  last_out_ts_ = out_ts;
  last_out_ms_ = now_ms;
  started_ = true;
  discontinuity_ = false;
}

munge_decision seq_munger::process(uint16_t seq, uint32_t timestamp, int64_t now_ms) noexcept {
  munge_decision d;
  if (!started_ || discontinuity_) {
    rebase(seq, timestamp, now_ms);
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
  if (in_high_seq_ - ext_seq > config_.max_reorder) {
    d.reason = munge_drop_reason::too_old;
    return d;
  }
  const int64_t ext_ts = unwrap32(in_high_ts_, timestamp);
  const int64_t out_seq = ext_seq - seq_offset_;
  const int64_t out_ts = ext_ts - ts_offset_;
  if (ext_seq > in_high_seq_) {
    in_high_seq_ = ext_seq;
    in_high_ts_ = ext_ts;
    last_out_seq_ = out_seq;
    last_out_ts_ = out_ts;
    last_out_ms_ = now_ms;
  }
  d.action = munge_action::forward;
  d.seq = uint16_t(out_seq);
  d.timestamp = uint32_t(out_ts);
  return d;
}

} // namespace chorus::rtp
