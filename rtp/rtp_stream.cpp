// Per-stream RTP statistics and their RTCP. See rtp_stream.hpp.
#include "rtp/rtp_stream.hpp"

#include <algorithm>
#include <cmath>

namespace chorus::rtp {

namespace {

constexpr int64_t floor_div(int64_t a, int64_t b) noexcept {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// Ring index of a slot; slots may be negative when a clock starts below zero.
template <size_t N>
constexpr size_t ring_index(int64_t slot) noexcept {
  const int64_t m = slot % int64_t(N);
  return size_t(m < 0 ? m + int64_t(N) : m);
}

} // namespace

// ---- bitrate_meter -----------------------------------------------------------------------

void bitrate_meter::add(size_t bytes, int64_t now_ms) noexcept {
  const int64_t slot = floor_div(now_ms, bucket_ms);
  const size_t i = ring_index<buckets>(slot);
  if (slot_[i] != slot) { // the bucket still holds a slot from a previous lap
    slot_[i] = slot;
    bytes_[i] = 0;
  }
  bytes_[i] += bytes;
}

uint64_t bitrate_meter::bps(int64_t now_ms) const noexcept {
  const int64_t current = floor_div(now_ms, bucket_ms);
  uint64_t total = 0;
  for (int64_t slot = current - int64_t(window_buckets); slot < current; ++slot) {
    const size_t i = ring_index<buckets>(slot);
    if (slot_[i] == slot) // stale buckets (a silent period) count as empty
      total += bytes_[i];
  }
  return total * 8 * 1000 / uint64_t(window_buckets * bucket_ms);
}

// ---- receive_stream ----------------------------------------------------------------------

receive_stream::receive_stream(uint32_t ssrc, uint32_t clock_rate) noexcept
    : ssrc_(ssrc), clock_rate_(clock_rate) {}

void receive_stream::init_seq(uint16_t seq) noexcept {
  // RFC 3550 A.1 init_seq(), without the probation: the stream is authenticated by SRTP,
  // so its first packet is trusted (probation would only drop the first packets).
  base_seq_ = seq;
  max_seq_ = seq;
  bad_seq_ = no_bad_seq;
  cycles_ = 0;
  received_ = 0;
  received_prior_ = 0;
  expected_prior_ = 0;
  seen_ = {};
  repaired_ = {};
  // A restarted sequence usually comes with a restarted timestamp: the old transit is
  // meaningless.
  have_transit_ = false;
}

bool receive_stream::test(const seq_bits& b, int64_t ext) noexcept {
  const uint64_t bit = uint64_t(ext) & 127;
  return (b[bit >> 6] >> (bit & 63)) & 1;
}

void receive_stream::set(seq_bits& b, int64_t ext) noexcept {
  const uint64_t bit = uint64_t(ext) & 127;
  b[bit >> 6] |= uint64_t(1) << (bit & 63);
}

void receive_stream::clear(seq_bits& b, int64_t ext) noexcept {
  const uint64_t bit = uint64_t(ext) & 127;
  b[bit >> 6] &= ~(uint64_t(1) << (bit & 63));
}

void receive_stream::advance_seen(int64_t from_ext, int64_t to_ext) noexcept {
  // The positions (from, to] now stand for new sequence numbers: forget what they held.
  if (to_ext - from_ext >= 128) {
    seen_ = {};
    repaired_ = {};
    return;
  }
  for (int64_t e = from_ext + 1; e <= to_ext; ++e) {
    clear(seen_, e);
    clear(repaired_, e);
  }
}

void receive_stream::update_jitter(uint32_t rtp_timestamp, int64_t now_ms) noexcept {
  if (clock_rate_ == 0)
    return;
  // RFC 3550 A.8 with the arrival time in timestamp units; transit and its difference are
  // taken modulo 2^32 so that a timestamp wrap is a normal step.
  const auto arrival = uint32_t(uint64_t(now_ms * int64_t(clock_rate_) / 1000));
  const uint32_t transit = arrival - rtp_timestamp;
  if (have_transit_) {
    const auto d = int32_t(transit - last_transit_);
    jitter_ += (std::fabs(double(d)) - jitter_) / 16.0;
  }
  last_transit_ = transit;
  have_transit_ = true;
}

bool receive_stream::on_packet(uint16_t seq, uint32_t rtp_timestamp, size_t bytes,
                               int64_t now_ms, bool retransmitted) noexcept {
  ++stats_.packets;
  stats_.bytes += bytes;
  bitrate_.add(bytes, now_ms);
  if (retransmitted) {
    // A repair, not a network arrival of the original: counting it as received would
    // hide from the sender the loss its congestion control reacts to, and its arrival
    // time says nothing about the path delay variation (it was sent late on purpose).
    // A repair of what came (the original, or another repair) is a duplicate.
    ++stats_.retransmitted;
    if (!started_)
      return true;
    const auto udelta = uint16_t(seq - max_seq_);
    if (udelta == 0) {
      ++stats_.duplicates;
      return false;
    }
    if (udelta > 0x10000 - max_misorder) {
      const int64_t ext = extended_max() - int64_t(0x10000 - udelta);
      if (seen(ext) || test(repaired_, ext)) {
        ++stats_.duplicates;
        return false;
      }
      set(repaired_, ext);
    }
    return true;
  }
  if (!started_) {
    started_ = true;
    init_seq(seq);
    mark_seen(extended_max());
    ++received_;
    update_jitter(rtp_timestamp, now_ms);
    return true;
  }

  // RFC 3550 A.1 update_seq().
  const auto udelta = uint16_t(seq - max_seq_);
  int64_t ext = 0;
  if (udelta < max_dropout) {
    if (udelta == 0) { // the highest one again
      ++stats_.duplicates;
      return false;
    }
    const int64_t old_max = extended_max();
    if (seq < max_seq_) // wrapped: count another 64K cycle
      cycles_ += 0x10000;
    max_seq_ = seq;
    ext = extended_max();
    advance_seen(old_max, ext);
  } else if (udelta <= 0x10000 - max_misorder) {
    // A very large jump. Two sequential packets after it mean the sender restarted its
    // sequence (RFC: "assume that the other side restarted without telling us"); a lone
    // one is ignored.
    if (seq != bad_seq_) {
      bad_seq_ = uint32_t(uint16_t(seq + 1));
      return true;
    }
    init_seq(seq);
    ext = extended_max();
  } else {
    // At most max_misorder behind the highest: late, or a duplicate.
    ext = extended_max() - int64_t(0x10000 - udelta);
    if (seen(ext)) {
      ++stats_.duplicates;
      return false;
    }
  }
  mark_seen(ext);
  ++received_;
  update_jitter(rtp_timestamp, now_ms);
  return !test(repaired_, ext); // a late original whose repair went out already: not again
}

void receive_stream::on_sender_report(uint64_t ntp, uint32_t rtp_timestamp,
                                      int64_t now_ms) noexcept {
  clock_ = sender_clock{ntp, rtp_timestamp, now_ms, true};
  last_sr_compact_ = compact_ntp(ntp);
}

report_block receive_stream::make_report_block(int64_t now_ms) noexcept {
  report_block rb;
  rb.ssrc = ssrc_;
  if (started_) {
    // RFC 3550 A.3.
    const int64_t expected_total = expected();
    const int64_t lost = expected_total - int64_t(received_);
    rb.cumulative_lost = int32_t(std::clamp<int64_t>(lost, report_block::min_cumulative_lost,
                                                     report_block::max_cumulative_lost));
    const int64_t expected_interval = expected_total - expected_prior_;
    const int64_t received_interval = int64_t(received_ - received_prior_);
    expected_prior_ = expected_total;
    received_prior_ = received_;
    const int64_t lost_interval = expected_interval - received_interval;
    // Late packets and duplicates of an earlier interval can make more arrive than were
    // expected: the fraction is then 0, not negative.
    int64_t fraction = 0;
    if (expected_interval > 0 && lost_interval > 0)
      fraction = std::min<int64_t>((lost_interval << 8) / expected_interval, 255);
    stats_.fraction_lost = uint8_t(fraction);
    rb.fraction_lost = uint8_t(fraction);
    rb.extended_highest_seq = uint32_t(extended_max());
    rb.jitter = uint32_t(jitter_);
  }
  if (clock_.valid) {
    rb.last_sr = last_sr_compact_;
    rb.delay_since_last_sr = us_to_compact_ntp((now_ms - clock_.received_ms) * 1000);
  }
  return rb;
}

receive_stream_stats receive_stream::stats(int64_t now_ms) const noexcept {
  receive_stream_stats s = stats_;
  if (started_) {
    s.lost = expected() - int64_t(received_);
    s.extended_highest_seq = uint32_t(extended_max());
  }
  s.jitter = uint32_t(jitter_);
  s.bitrate_bps = bitrate_.bps(now_ms);
  return s;
}

// ---- send_stream -------------------------------------------------------------------------

send_stream::send_stream(uint32_t ssrc, uint32_t clock_rate) noexcept
    : ssrc_(ssrc), clock_rate_(clock_rate) {}

void send_stream::on_packet_sent(uint32_t rtp_timestamp, size_t payload_bytes, size_t bytes,
                                 int64_t now_ms) noexcept {
  ++stats_.packets;
  stats_.bytes += bytes;
  octets_ += payload_bytes;
  last_ts_ = rtp_timestamp;
  last_ts_ms_ = now_ms;
  bitrate_.add(bytes, now_ms);
}

void send_stream::on_retransmitted(size_t bytes, int64_t now_ms) noexcept {
  ++stats_.retransmitted;
  stats_.retransmitted_bytes += bytes;
  // The bitrate is what leaves on the wire for this stream, repairs included.
  bitrate_.add(bytes, now_ms);
}

void send_stream::on_nack(size_t sequence_numbers) noexcept {
  ++stats_.nacks_received;
  stats_.nacked_packets += sequence_numbers;
}

void send_stream::on_report_block(const report_block& rb, int64_t now_us) noexcept {
  stats_.fraction_lost = rb.fraction_lost;
  stats_.lost = rb.cumulative_lost;
  stats_.jitter = rb.jitter;
  stats_.score = score_from_loss(rb.fraction_lost);
  // An LSR is only an echo of one of our recent SRs. Otherwise (no LSR yet, one we never
  // sent or have forgotten), or when DLSR exceeds the time since that SR, the previous RTT
  // stays.
  if (rb.last_sr == 0)
    return;
  for (std::size_t k = 1; k <= sent_srs_.size(); ++k) {
    const auto& sr = sent_srs_[(next_sr_ + sent_srs_.size() - k) % sent_srs_.size()];
    if (sr.compact == 0 || sr.compact != rb.last_sr)
      continue;
    const int64_t rtt = now_us - sr.at_us - compact_ntp_to_us(rb.delay_since_last_sr);
    if (rtt >= 0)
      stats_.rtt_us = rtt;
    return;
  }
}

sender_report send_stream::make_sender_report(uint64_t ntp_now, uint32_t rtp_now,
                                              int64_t now_us) noexcept {
  sender_report sr;
  sr.ssrc = ssrc_;
  sr.ntp_timestamp = ntp_now;
  sr.rtp_timestamp = rtp_now;
  // RFC 3550 §6.4.1: both counts wrap modulo 2^32; retransmissions are not counted (they
  // go out on the RTX stream) and the octets are payload only.
  sr.packet_count = uint32_t(stats_.packets);
  sr.octet_count = uint32_t(octets_);
  sent_srs_[next_sr_] = {compact_ntp(ntp_now), now_us};
  next_sr_ = (next_sr_ + 1) % sent_srs_.size();
  return sr;
}

std::optional<uint32_t> send_stream::last_sent_extrapolated(int64_t now_ms) const noexcept {
  if (stats_.packets == 0)
    return std::nullopt;
  const int64_t elapsed_ms = now_ms - last_ts_ms_;
  return uint32_t(last_ts_ + uint32_t(uint64_t(elapsed_ms * int64_t(clock_rate_) / 1000)));
}

send_stream_stats send_stream::stats(int64_t now_ms) const noexcept {
  send_stream_stats s = stats_;
  s.bitrate_bps = bitrate_.bps(now_ms);
  return s;
}

// ---- score -------------------------------------------------------------------------------

uint8_t score_from_loss(uint8_t fraction_lost) noexcept {
  // As mediasoup's RtpStreamSend: the delivered ratio to the fourth power, so that a few
  // percent of loss already costs a point or two and 30% loss leaves a poor 2.
  const double delivered = 1.0 - double(fraction_lost) / 256.0;
  return uint8_t(std::lround(std::pow(delivered, 4) * 10.0));
}

clock_reading project_sender_clock(const sender_clock& clock, int64_t now_ms,
                                   uint32_t clock_rate) noexcept {
  const int64_t elapsed_ms = now_ms - clock.received_ms;
  clock_reading r;
  // 32.32 fixed point: elapsed ms * 2^32 / 1000, signed so that a reading before the SR
  // arrival (never expected, but harmless) goes backwards.
  const int64_t ntp_delta = (elapsed_ms * (int64_t(1) << 32)) / 1000;
  r.ntp = clock.ntp + uint64_t(ntp_delta);
  r.rtp_timestamp = clock.rtp + uint32_t(int64_t(elapsed_ms * int64_t(clock_rate)) / 1000);
  return r;
}

} // namespace chorus::rtp
