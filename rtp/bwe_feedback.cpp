// Receive-side bandwidth feedback. See bwe_feedback.hpp.
#include "rtp/bwe_feedback.hpp"

#include <algorithm>
#include <cmath>

namespace chorus::rtp {

// ---- tcc_recorder ------------------------------------------------------------------------

int64_t tcc_recorder::max_gap() const noexcept {
  // Consecutive entries of one feedback must be less than 2^15 apart to be ordered modulo
  // 2^16 (write_transport_cc), and a gap of 0 would split every packet.
  return std::clamp<int64_t>(config_.max_gap, 1, 0x7FFF);
}

void tcc_recorder::on_packet(uint16_t seq, int64_t arrival_us) noexcept {
  if (!started_) {
    started_ = true;
    next_ext_seq_ = highest_ = seq;
    // The first interval runs from the first arrival, not from an arbitrary clock zero.
    last_feedback_us_ = arrival_us;
    pending_.push_back({seq, arrival_us});
    ++counters_.recorded;
    return;
  }
  const int64_t gap = max_gap();
  // Unwrapped relative to the highest seen, as in nack_generator: 65535 -> 0 is a step of
  // one, and anything within 2^15 behind is late rather than far ahead.
  int64_t ext = highest_ + int16_t(uint16_t(seq - uint16_t(highest_)));
  if (ext < next_ext_seq_) {
    if (next_ext_seq_ - ext <= gap) {
      if (reported_) { // already reported as lost, or a duplicate of a reported one
        ++counters_.too_old;
        return;
      }
      // Nothing reported yet: the window simply starts earlier (the first packets of a
      // transport can arrive out of order).
      next_ext_seq_ = ext;
    } else if (seq == bad_seq_) {
      // Two sequential numbers far from the window: the sender restarted its counter (or
      // jumped more than 2^15 ahead). Continue above everything recorded, beyond max_gap,
      // so build() reports what is pending and starts a new window here without calling
      // the numbers in between lost.
      const int64_t base = highest_ + gap + 1;
      ext = base + uint16_t(seq - uint16_t(base));
      bad_seq_ = no_bad_seq;
    } else {
      // A lone stray number: ignored, unless the next one confirms a restart.
      bad_seq_ = uint32_t(uint16_t(seq + 1));
      ++counters_.too_old;
      return;
    }
  }

  if (ext > highest_) {
    // In order (the common case), or a forward jump: a jump larger than max_gap needs no
    // state here, build() cuts the feedback at it.
    highest_ = ext;
    pending_.push_back({ext, arrival_us});
  } else {
    // Late but still pending: merged in seq order. The vector reuses its capacity.
    auto it = std::lower_bound(pending_.begin(), pending_.end(), ext,
                               [](const arrival& a, int64_t e) { return a.ext < e; });
    if (it != pending_.end() && it->ext == ext) {
      ++counters_.duplicates;
      return;
    }
    pending_.insert(it, {ext, arrival_us});
  }
  ++counters_.recorded;
}

bool tcc_recorder::due(int64_t now_us) const noexcept {
  if (pending_.empty())
    return false;
  return pending_.size() >= config_.max_pending ||
         now_us - last_feedback_us_ >= config_.feedback_interval_us;
}

void tcc_recorder::write_packets(uint32_t sender_ssrc, uint32_t media_ssrc,
                                 std::vector<std::vector<uint8_t>>& out) {
  // Below this a packet could carry little more than its header, and a long gap would
  // take one packet per missing number (see below).
  constexpr size_t min_packet_size = 64;
  const size_t packet_size = std::max(config_.max_packet_size, min_packet_size);
  size_t at = 0;
  while (at < scratch_.size()) {
    auto& buffer = out.emplace_back(packet_size);
    const transport_cc_params params{sender_ssrc, media_ssrc, fb_count_};
    auto written = write_transport_cc(params, std::span(scratch_).subspan(at), buffer);
    if (!written) {
      // Only no_space (a max_packet_size too small for one entry): nothing can be sent.
      out.pop_back();
      return;
    }
    buffer.resize(written->size);
    ++fb_count_;
    ++counters_.feedback_sent;
    at += written->consumed;
    // write_transport_cc reports the gap before an entry together with that entry: when a
    // packet ends before an entry that follows a gap, the next packet would start at that
    // entry and the gap would never be reported. The last consumed entry is no longer
    // needed, so it becomes the first missing number and the next packet starts there.
    if (at < scratch_.size()) {
      const auto next_missing = uint16_t(scratch_[at - 1].seq + 1);
      if (next_missing != scratch_[at].seq) {
        --at;
        scratch_[at] = packet_arrival{next_missing, false, 0};
      }
    }
  }
}

void tcc_recorder::build(uint32_t sender_ssrc, uint32_t media_ssrc, int64_t now_us,
                         std::vector<std::vector<uint8_t>>& out) {
  if (pending_.empty())
    return;
  const int64_t gap = max_gap();
  int64_t window_start = next_ext_seq_;
  size_t i = 0;
  // One segment per run of entries without a jump larger than max_gap.
  while (i < pending_.size()) {
    scratch_.clear();
    // Numbers from the window start up to the first arrival were lost: start the feedback
    // with them (unless the distance is a jump, i.e. a restart of the counter).
    const int64_t lead = pending_[i].ext - window_start;
    if (lead > 0 && lead <= gap)
      scratch_.push_back({uint16_t(window_start), false, 0});
    size_t j = i;
    do {
      scratch_.push_back({uint16_t(pending_[j].ext), true, pending_[j].arrival_us});
      ++j;
    } while (j < pending_.size() && pending_[j].ext - pending_[j - 1].ext <= gap);
    write_packets(sender_ssrc, media_ssrc, out);
    window_start = pending_[j - 1].ext + 1;
    i = j;
  }
  next_ext_seq_ = highest_ + 1;
  pending_.clear();
  last_feedback_us_ = now_us;
  reported_ = true;
}

// ---- remb_estimator ----------------------------------------------------------------------

namespace {

// Loss (/256) above which the estimate backs off (about 10%), and below which it may grow
// (about 2%), as GCC's loss-based controller; in between it holds.
constexpr uint8_t loss_decrease_above = 26;
constexpr uint8_t loss_increase_below = 5;
// Growth of the smoothed one-way delay within one update interval that means a queue is
// building up.
constexpr double delay_growth_ms = 10.0;
// Weight of a new one-way delay sample: smooths out the jitter of single packets.
constexpr double delay_smoothing = 0.1;
// The estimate does not grow past this multiple of what actually arrives: without data
// showing the path carries more, an estimate far above the sending rate is a guess.
constexpr double max_rate_headroom = 1.5;
// abs-send-time: 24 bits of 6.18 fixed point seconds.
constexpr double abs_send_units_per_ms = 262144.0 / 1000.0;

} // namespace

void remb_estimator::on_packet(size_t bytes, int64_t arrival_ms,
                               std::optional<uint32_t> abs_send_time_24) noexcept {
  if (window_start_ms_ < 0)
    window_start_ms_ = arrival_ms;
  window_bytes_ += bytes;
  if (!abs_send_time_24)
    return;
  const uint32_t send = *abs_send_time_24 & 0xFFFFFF;
  if (!have_delay_) {
    send_base_ms_ = double(send) / abs_send_units_per_ms;
  } else {
    // The 24-bit value wraps every 64 s: take the step as a signed 24-bit difference.
    auto step = int32_t((send - last_send_24_) & 0xFFFFFF);
    if (step >= 0x800000)
      step -= 0x1000000;
    send_base_ms_ += double(step) / abs_send_units_per_ms;
  }
  last_send_24_ = send;
  // The two clocks have an unknown offset: only the trend of this value means anything.
  const double sample = double(arrival_ms) - send_base_ms_;
  delay_ms_ = have_delay_ ? delay_ms_ + (sample - delay_ms_) * delay_smoothing : sample;
  have_delay_ = true;
}

bool remb_estimator::update(int64_t now_ms) noexcept {
  if (last_update_ms_ < 0) // the first interval starts with the first packet, if any
    last_update_ms_ = window_start_ms_ >= 0 ? window_start_ms_ : now_ms;
  if (now_ms - last_update_ms_ < config_.update_interval_ms)
    return false;
  last_update_ms_ = now_ms;

  const bool idle = window_bytes_ == 0 || window_start_ms_ < 0;
  const int64_t span_ms = std::max<int64_t>(now_ms - window_start_ms_, 1);
  const double rate_bps = idle ? 0.0 : double(window_bytes_) * 8000.0 / double(span_ms);
  const bool delay_growing = have_delay_ && have_delay_at_update_ &&
                             delay_ms_ - delay_at_update_ms_ > delay_growth_ms;
  const uint8_t loss = last_loss_;

  // Start the next interval whatever happens below.
  window_bytes_ = 0;
  window_start_ms_ = now_ms;
  delay_at_update_ms_ = delay_ms_;
  have_delay_at_update_ = have_delay_;
  last_loss_ = 0; // a loss report acts once, not at every update until the next one

  if (idle) // nothing measured: keep the estimate, nothing new to say
    return false;

  double estimate = double(estimate_bps_);
  if (loss > loss_decrease_above || delay_growing) {
    // Back off below what got through (or below the estimate when less was sent), so
    // the queue can drain.
    estimate = config_.decrease_factor * std::min(rate_bps, estimate);
  } else if (loss < loss_increase_below) {
    // Multiplicative increase, but only while the receive rate keeps up with it.
    const double grown = estimate * config_.increase_factor;
    estimate = std::max(estimate, std::min(grown, rate_bps * max_rate_headroom));
  }
  estimate = std::clamp(estimate, double(config_.min_bps), double(config_.max_bps));
  estimate_bps_ = uint64_t(std::llround(estimate));
  return true;
}

} // namespace chorus::rtp
