#include "bench/load/receive_side.hpp"

#include "bench/load/media.hpp"
#include "bench/load/participant.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtp/rtcp.hpp"
#include "rtp/rtcp_feedback.hpp"

#include <algorithm>
#include <limits>

namespace chorus::bench {

receive_side::receive_side(rtcp_sender send) : send_(std::move(send)) {}

void receive_side::add_stream(inbound_stream::params p) {
  auto s = std::make_unique<inbound_stream>(std::move(p));
  by_ssrc_.emplace_back(s->info().ssrc, s.get());
  if (s->info().rtx_ssrc)
    by_ssrc_.emplace_back(s->info().rtx_ssrc, s.get());
  streams_.push_back(std::move(s));
}

void receive_side::start(uint64_t now_us) noexcept {
  next_rr_us_ = now_us + rtcp_interval_us;
  next_tick_us_ = now_us + receiver_tick_us;
}

void receive_side::on_resumed(inbound_stream& s, uint64_t now_us) {
  s.on_resumed(now_us, actions_);
  act(s);
}

void receive_side::act(inbound_stream& s) {
  inbound_actions& a = actions_;
  if (!a.nack.empty()) {
    auto n = rtp::write_nack(rtcp_ssrc_, s.info().ssrc, a.nack, rtcp_buf_);
    if (n && send_(std::span<const uint8_t>(rtcp_buf_.data(), *n))) {
      s.count_nack(a.nack.size());
      ++nack_packets_;
      nack_seqs_ += a.nack.size();
    }
    a.nack.clear();
  }
  if (a.pli) {
    a.pli = false;
    rtp::picture_loss_indication pli{rtcp_ssrc_, s.info().ssrc};
    auto n = pli.write(rtcp_buf_);
    if (n && send_(std::span<const uint8_t>(rtcp_buf_.data(), *n))) {
      s.count_pli();
      ++plis_;
    }
  }
}

bool receive_side::must_decrypt(uint32_t ssrc) const noexcept {
  if (sampled_)
    return true;
  for (auto& s : streams_)
    if (s->info().rtx_ssrc == ssrc || (s->info().ssrc == ssrc && s->needs_keyframe()))
      return true;
  for (auto& p : pending_)
    if (p.rtx_ssrc == ssrc)
      return true;
  return false;
}

void receive_side::on_packet(std::span<const uint8_t> packet, bool rtcp, uint64_t kernel_ns,
                             latency_histogram* latency, latency_histogram* audio_latency,
                             latency_histogram* keyframe_latency) {
  const uint64_t now = mono_us();
  if (!rtcp) {
    if (packet.size() < 12)
      return;
    const uint32_t ssrc = rtp::rtp_ssrc_of(packet);
    const bool decrypted = must_decrypt(ssrc);
    inbound_stream* s = find(ssrc);
    if (!s) {
      const uint8_t pt = packet[1] & 0x7f;
      auto it = std::find_if(pending_.begin(), pending_.end(),
                             [&](const auto& p) { return p.payload_type == pt; });
      if (it == pending_.end())
        return;
      it->ssrc = ssrc;
      add_stream(std::move(*it));
      pending_.erase(it);
      s = streams_.back().get();
    }
    // The kernel's arrival stamp, else now: the generator's queueing is not latency.
    if (kernel_ns == 0)
      ++app_stamped_;
    // What the transport left encrypted (the same decision as its filter, taken before
    // this packet could change it).
    const bool opaque = !decrypted;
    latency_histogram* sink =
      audio_latency && latency && s->info().kind == stream_kind::audio ? audio_latency : latency;
    s->on_rtp(packet, now, kernel_ns ? kernel_ns / 1000 : stamp_clock_us(), sink, actions_,
              opaque, sink == latency ? keyframe_latency : nullptr);
    act(*s);
    return;
  }
  rtp::rtcp_compound_reader reader(packet);
  while (auto p = reader.next()) {
    if (p->header.type != uint8_t(rtp::rtcp_type::sr))
      continue;
    auto sr = rtp::sender_report::parse(*p);
    if (!sr)
      continue;
    ++sr_;
    if (inbound_stream* s = find(sr->ssrc))
      s->on_sender_report(sr->ntp_timestamp, sr->rtp_timestamp, now);
  }
}

void receive_side::send_receiver_reports(uint64_t now_us) {
  std::vector<rtp::report_block> blocks;
  blocks.reserve(streams_.size());
  for (auto& s : streams_) {
    rtp::report_block b;
    if (s->report_block(now_us, b))
      blocks.push_back(b);
  }
  for (std::size_t i = 0; i < blocks.size(); i += rtp::rtcp_max_count) {
    const std::size_t n = std::min<std::size_t>(rtp::rtcp_max_count, blocks.size() - i);
    auto written = rtp::write_receiver_report(
      rtcp_ssrc_, std::span<const rtp::report_block>(blocks.data() + i, n), rtcp_buf_);
    if (written && send_(std::span<const uint8_t>(rtcp_buf_.data(), *written)))
      ++rr_;
  }
}

uint64_t receive_side::service(uint64_t now_us) {
  if (streams_.empty())
    return std::numeric_limits<uint64_t>::max();
  if (now_us >= next_tick_us_) {
    for (auto& s : streams_) {
      s->tick(now_us, actions_);
      act(*s);
    }
    next_tick_us_ = now_us + receiver_tick_us;
  }
  if (now_us >= next_rr_us_) {
    send_receiver_reports(now_us);
    next_rr_us_ = now_us + rtcp_interval_us;
  }
  return std::min(next_tick_us_, next_rr_us_);
}

void receive_side::add_totals(totals& t) const noexcept {
  t.rx_app_stamped += app_stamped_;
  t.nack_packets += nack_packets_;
  t.nack_seqs += nack_seqs_;
  t.plis_sent += plis_;
  t.rr_sent += rr_;
  t.sr_received += sr_;
  for (auto& s : streams_) {
    const auto& c = s->counters();
    t.rx_packets += c.packets;
    t.rx_bytes += c.bytes;
    if (s->is_video()) {
      t.rx_video_packets += c.packets;
      t.rx_video_bytes += c.bytes;
    } else {
      t.rx_audio_packets += c.packets;
      t.rx_audio_bytes += c.bytes;
    }
    t.rx_rtx += c.rtx_packets;
    t.rx_late += c.late;
    t.rx_duplicates += c.duplicates;
    t.rx_keyframes += c.keyframes;
    t.rx_bad_stamp += c.bad_stamp;
    t.expected += c.expected;
    t.unique += c.unique;
    for (std::size_t i = 0; i < c.encoding_packets.size() && i < t.rx_encoding_packets.size(); ++i)
      t.rx_encoding_packets[i] += c.encoding_packets[i];
    t.rx_off_target += c.off_target;
  }
}

} // namespace chorus::bench
