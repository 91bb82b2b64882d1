#include "actors/consumer.hpp"
#include "actors/consumer_actor.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <sstream>

namespace chorus::actors::consumers {

namespace {

rtp::sender_clock as_sender_clock(const source_clock& c) {
  rtp::sender_clock s;
  s.ntp = c.ntp;
  s.rtp = c.rtp_timestamp;
  s.received_ms = c.received_ms;
  s.valid = c.valid;
  return s;
}

// NTP "now" on the timeline our SRs use: the producer's sender clock when known (so that
// the audio and video of one sender stay in sync at the receiver), the wall clock before.
uint64_t ntp_now(const consumer_state& st, int64_t now_ms) {
  if (st.clock.valid)
    return rtp::project_sender_clock(as_sender_clock(st.clock), now_ms, st.clock_rate).ntp;
  return rtp::ntp_from_ms(wall_ms(), rtp::ntp_unix_offset_ms);
}

} // namespace

// consumer-layers-changed to the peer when the forwarded layers changed since the last.
void report_layers(consumer_actor* self) {
  auto& st = self->state;
  auto& l = st.layers;
  const auto s = st.forwarding->selector().current_spatial();
  const auto t = st.forwarding->selector().current_temporal();
  if (s == l.reported_spatial && t == l.reported_temporal)
    return;
  l.reported_spatial = s;
  l.reported_temporal = t;
  if (auto peer = caf::actor_cast<caf::actor>(st.peer))
    self->send(peer, protocol::consumer_layers_event{st.id, s, t});
}

// consumer-score to the peer when the stream's score (from the receiver's reports) or its
// producer's (known for producers with layers: the forwarded encoding's) changed.
void report_score(consumer_actor* self, const rtp::send_stream_stats& s) {
  auto& st = self->state;
  protocol::consumer_score_event ev;
  ev.consumer_id = st.id;
  ev.score = s.score;
  if (!st.layers.producer_scores.empty()) {
    ev.producer_scores = st.layers.producer_scores;
    const int current = st.forwarding->forwarded_encoding();
    ev.producer_score = current >= 0 && size_t(current) < ev.producer_scores.size()
                          ? ev.producer_scores[size_t(current)]
                          : 0;
  }
  if (ev.score == st.reported_score && ev.producer_score == st.reported_producer_score)
    return;
  st.reported_score = ev.score;
  st.reported_producer_score = ev.producer_score;
  if (auto peer = caf::actor_cast<caf::actor>(st.peer))
    self->send(peer, std::move(ev));
}

void send_sender_report(consumer_actor* self) {
  auto& st = self->state;
  if (!st.stream->sent_anything() || !st.forwarding->munger().started())
    return;
  const auto now = mono_ms();
  uint64_t ntp = 0;
  uint32_t rtp_now = 0;
  if (st.clock.valid) {
    // The sender's reading now, its RTP timestamp mapped into our output space.
    auto reading = rtp::project_sender_clock(as_sender_clock(st.clock), now, st.clock_rate);
    ntp = reading.ntp;
    rtp_now = st.forwarding->munger().output_timestamp(reading.rtp_timestamp);
  } else if (auto ts = st.stream->last_sent_extrapolated(now)) {
    ntp = ntp_now(st, now);
    rtp_now = *ts;
  } else {
    return;
  }
  auto sr = st.stream->make_sender_report(ntp, rtp_now, mono_us());
  auto sdes = rtp::source_description::with_cname(st.ssrc, st.cname);
  std::vector<uint8_t> bytes(sr.size() + sdes.size());
  auto n1 = sr.write(bytes);
  if (!n1)
    return;
  auto n2 = sdes.write(std::span(bytes).subspan(*n1));
  if (!n2)
    return;
  bytes.resize(*n1 + *n2);
  // Protected and sent by the transport (once a second; consumers keep no RTCP context).
  self->send(st.transport, rtcp_out{std::move(bytes)});
}

void update_playout_delay(consumer_actor* self, const rtp::send_stream_stats& s) {
  auto& st = self->state;
  if (!st.playout)
    return;
  rtp::playout_delay_policy::reading r;
  // The larger of what the receiver last reported lost and what it asked to be resent
  // since the last reading (a report may be older than the interval, or not come).
  const uint64_t sent = s.packets - st.playout_sent_packets;
  const uint64_t asked = s.nacked_packets - st.playout_nacked;
  st.playout_sent_packets = s.packets;
  st.playout_nacked = s.nacked_packets;
  r.loss_permille = uint32_t(std::max<uint64_t>(uint64_t(s.fraction_lost) * 1000 / 256,
                                                sent == 0 ? 0 : std::min(asked, sent) * 1000 / sent));
  if (s.rtt_us)
    r.rtt_ms = uint32_t(std::clamp<int64_t>(*s.rtt_us / 1000, 0, 10'000));
  r.jitter_ms = st.clock_rate == 0 ? 0 : uint32_t(uint64_t(s.jitter) * 1000 / st.clock_rate);
  if (st.playout->on_reading(r))
    ++st.counters.playout_delay_changes;
}

std::string stats_json(consumer_actor* self) {
  auto& st = self->state;
  const auto now = mono_ms();
  auto s = st.stream->stats(now);
  auto& c = st.counters;
  std::ostringstream os;
  os << "[{\"type\":\"outbound-rtp\",\"consumerId\":\"" << st.id << "\",\"producerId\":\""
     << st.producer_id << "\",\"timestamp\":" << wall_ms() << ",\"ssrc\":" << st.ssrc;
  if (st.rtx)
    os << ",\"rtxSsrc\":" << st.rtx_ssrc;
  os << ",\"kind\":\"" << rtp::to_string(st.kind) << "\",\"mimeType\":\"" << st.mime_type
     << "\",\"paused\":" << (st.paused ? "true" : "false")
     << ",\"producerPaused\":" << (st.producer_paused ? "true" : "false")
     << ",\"packetCount\":" << s.packets << ",\"byteCount\":" << s.bytes
     << ",\"bitrate\":" << s.bitrate_bps << ",\"packetsLost\":" << s.lost
     << ",\"fractionLost\":" << unsigned(s.fraction_lost) << ",\"jitter\":" << s.jitter
     << ",\"nackCount\":" << s.nacks_received << ",\"nackPacketCount\":" << s.nacked_packets
     << ",\"packetsRetransmitted\":" << s.retransmitted
     << ",\"bytesRetransmitted\":" << s.retransmitted_bytes << ",\"pliCount\":" << s.plis_received
     << ",\"firCount\":" << s.firs_received << ",\"score\":" << unsigned(s.score);
  if (s.rtt_us)
    os << ",\"roundTripTime\":" << double(*s.rtt_us) / 1000.0;
  if (st.rtx_buffer) {
    auto& r = st.rtx_buffer->counters();
    os << ",\"retransmissionBuffer\":{\"capacity\":" << st.rtx_buffer->capacity()
       << ",\"stored\":" << st.rtx_buffer->stored() << ",\"missing\":" << r.missing
       << ",\"rateLimited\":" << r.rate_limited << ",\"overBudget\":" << c.rtx_over_budget
       << ",\"copies\":" << c.rtx_copies
       << "}";
  }
  if (st.playout)
    os << ",\"playoutDelay\":{\"lossy\":" << (st.playout->lossy() ? "true" : "false")
       << ",\"minMs\":" << st.playout->min_ms() << ",\"frames\":" << c.playout_delay_hints
       << ",\"changes\":" << c.playout_delay_changes << "}";
  if (st.red)
    os << ",\"red\":{\"sends\":\"" << (st.mime_type == "audio/red" ? "red" : "opus")
       << "\",\"distance\":" << st.red->distance() << ",\"converted\":" << c.red_converted
       << ",\"bad\":" << c.red_bad << "}";
  os << ",\"paced\":{\"held\":" << c.paced_held << ",\"flushed\":" << c.paced_flushed
     << ",\"queued\":" << st.paced.size() << "}";
  os << ",\"skipped\":{\"paused\":" << c.skipped_paused
     << ",\"waitingKeyframe\":" << c.skipped_wait_keyframe << "},\"dropped\":{\"payloadType\":"
     << c.dropped_payload_type << ",\"old\":" << c.dropped_old << ",\"malformed\":" << c.malformed
     << "},\"keyframeRequests\":" << c.keyframe_requests << ",\"priority\":" << unsigned(st.priority);
  if (st.forwarding->layered()) {
    const auto& f = *st.forwarding;
    auto layers = [&](const char* name, int s, int t) {
      os << ",\"" << name << "\":";
      if (s < 0)
        os << "null";
      else
        os << "{\"spatialLayer\":" << s << ",\"temporalLayer\":" << t << "}";
    };
    os << ",\"consumerType\":\"" << rtp::to_string(f.kind()) << "\"";
    layers("preferredLayers", f.preferred_spatial(), f.preferred_temporal());
    layers("targetLayers", f.selector().target_spatial(), f.selector().target_temporal());
    layers("currentLayers", f.selector().current_spatial(), f.selector().current_temporal());
    if (f.allocated_spatial() != 127)
      layers("allocatedLayers", f.allocated_spatial(), f.allocated_temporal());
    os << ",\"layerSwitches\":" << c.layer_switches << ",\"otherLayers\":" << c.other_layers
       << ",\"droppedLayers\":" << c.dropped_layers;
  }
  os << "}]";
  return os.str();
}

} // namespace chorus::actors::consumers
