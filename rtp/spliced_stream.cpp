#include "rtp/spliced_stream.hpp"

#include "rtp/opus_gap_fill.hpp"
#include "rtp/rtcp_bytes.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtp/video_filler.hpp"

namespace chorus::rtp {

spliced_stream::spliced_stream(config c)
    : config_(c), video_(c.codec != payload_codec::opus), filler_(video_filler_payloads(c.codec)) {}

void spliced_stream::follow(uint64_t source) noexcept {
  if (source == wanted_)
    return;
  wanted_ = source;
  if (!video_ || source == 0) { // audio at its next packet; video back to the filler at once
    current_ = source;
    rebase_ = source != 0;
    if (video_ && source == 0)
      filler_due_ms_ = 0;
  }
}

uint32_t spliced_stream::clock_at(int64_t now_ms) noexcept {
  if (!started_) {
    started_ = true;
    start_ms_ = now_ms;
    start_ts_ = config_.ssrc * 2654435761u; // any start; this one differs per stream
  }
  return start_ts_ + uint32_t((now_ms - start_ms_) * int64_t(config_.clock_rate / 1000));
}

void spliced_stream::header(uint32_t timestamp, bool marker) {
  rtcp_bytes::put16(scratch_, 2, seq_++);
  rtcp_bytes::put32(scratch_, 4, timestamp);
  rtcp_bytes::put32(scratch_, 8, config_.ssrc);
  scratch_[1] = uint8_t((marker ? 0x80 : 0) | (config_.payload_type & 0x7F));
}

void spliced_stream::sent(uint32_t timestamp, uint32_t duration) noexcept {
  sent_any_ = true;
  last_ts_ = timestamp;
  if (!video_)
    next_ts_ = timestamp + duration;
}

bool spliced_stream::rewrite(uint64_t source, std::span<const uint8_t> packet, int64_t now_ms) {
  if (source == 0 || packet.size() < rtp_fixed_header_size) {
    ++counters_.dropped;
    return false;
  }
  scratch_.assign(packet.begin(), packet.end());
  auto parsed = rtp_packet::parse(scratch_);
  if (!parsed) {
    ++counters_.dropped;
    return false;
  }
  const uint32_t ts = parsed->timestamp();
  const auto payload = parsed->payload();
  if (video_ && source == wanted_ && source != current_) {
    // Taken at the first packet of a keyframe, a whole frame from the gate before us.
    if (!is_keyframe(config_.codec, payload) ||
        (config_.codec == payload_codec::h264 && !h264_keyframe_start(payload))) {
      ++counters_.dropped;
      return false;
    }
    current_ = source;
    rebase_ = true;
  }
  if (source != current_) {
    ++counters_.dropped;
    return false;
  }
  if (rebase_) {
    rebase_ = false;
    ++counters_.switches;
    uint32_t at = clock_at(now_ms);
    if (sent_any_ && int32_t(at - last_ts_) <= 0)
      at = last_ts_ + 1;
    if (!video_ && sent_any_ && int32_t(at - next_ts_) < 0)
      at = next_ts_;
    offset_ = at - ts;
  } else if (video_ && ts != source_ts_ && int32_t(ts + offset_ - last_ts_) <= 0) {
    offset_ = last_ts_ + 1 - ts; // a frame the source stamped behind the last one sent
  }
  uint32_t out_ts = ts + offset_;
  uint32_t duration = 0;
  if (!video_) {
    // Never over what went out before (silence put in while the source said nothing).
    if (sent_any_ && int32_t(out_ts - next_ts_) < 0) {
      offset_ += next_ts_ - out_ts;
      out_ts = next_ts_;
    }
    const auto samples = opus_packet_samples(payload);
    duration = samples && *samples > 0 ? *samples : opus_frame_samples;
  }
  source_ts_ = ts;
  header(out_ts, parsed->marker());
  sent(out_ts, duration);
  ++counters_.packets;
  return true;
}

bool spliced_stream::next_filler(int64_t now_ms) {
  if (!video_) {
    // Silence where nothing came, up to audio_fill_lag_ms behind now.
    const uint32_t upto = clock_at(now_ms - audio_fill_lag_ms);
    if (!sent_any_) {
      next_ts_ = clock_at(now_ms - audio_fill_lag_ms - 20);
      last_ts_ = next_ts_ - 1;
      sent_any_ = true; // the clock's origin: nothing before it
    }
    if (int32_t(upto - next_ts_) < int32_t(opus_frame_samples))
      return false;
    scratch_.assign(rtp_fixed_header_size, 0);
    scratch_[0] = 0x80;
    scratch_.insert(scratch_.end(), std::begin(opus_gap_fill::silence_frame),
                    std::end(opus_gap_fill::silence_frame));
    const uint32_t ts = next_ts_;
    header(ts, false);
    sent(ts, opus_frame_samples);
    ++counters_.filler;
    return true;
  }
  if (current_ != 0 || filler_.empty())
    return false;
  if (filler_part_ == 0) {
    if (now_ms < filler_due_ms_)
      return false;
    filler_due_ms_ = now_ms + video_filler_interval_ms;
    filler_ts_ = clock_at(now_ms);
    if (sent_any_ && int32_t(filler_ts_ - last_ts_) <= 0)
      filler_ts_ = last_ts_ + 1;
    ++counters_.filler;
  }
  const auto& part = filler_[filler_part_];
  const bool last = filler_part_ + 1 == filler_.size();
  scratch_.assign(rtp_fixed_header_size, 0);
  scratch_[0] = 0x80;
  scratch_.insert(scratch_.end(), part.begin(), part.end());
  header(filler_ts_, last);
  sent(filler_ts_, 0);
  filler_part_ = last ? 0 : filler_part_ + 1;
  return true;
}

} // namespace chorus::rtp
