#include "actors/producer_actor.hpp"

#include "protocol/messages.hpp"
#include "rtp/rtcp.hpp"
#include "rtp/rtcp_feedback.hpp"

#include <algorithm>

namespace chorus::actors::producers {

namespace {

void send_rtcp(producer_actor* self, std::vector<uint8_t> bytes) {
  self->send(self->state.transport, rtcp_out{std::move(bytes)});
}

// Arms the timer to fire in delay_ms unless one is armed to fire no later. Timers cannot be
// cancelled: one armed later than a new one still fires and is then a plain extra tick.
void arm_tick(producer_actor* self, int64_t now, int64_t delay_ms) {
  auto& st = self->state;
  const int64_t at = now + std::max<int64_t>(delay_ms, 1);
  if (st.tick_at_ms != 0 && st.tick_at_ms <= at)
    return;
  st.tick_at_ms = at;
  self->delayed_send(self, std::chrono::milliseconds(at - now), media_tick_atom::value, at);
}

// When the tick must follow something up, in ms from now: NACK retries and a throttled
// keyframe request within tuning::producer_tick_ms; audio levels when their batch is due, and
// while samples keep coming every tuning::level_batch_interval_ms, so that the timer keeps one
// steady beat with the batches (a timer cannot be cancelled: one armed for the next
// receiver report and overtaken by the next batch would fire for nothing); nullopt when
// nothing waits.
std::optional<int64_t> pending_delay(const producer_data& st, int64_t now) {
  for (auto& e : st.encodings)
    if (e.nack.missing_count() != 0 || e.keyframe_throttle->pending())
      return tuning::producer_tick_ms;
  if (st.speaker_observer) {
    if (!st.levels.levels.empty())
      return st.levels_since_ms + tuning::level_batch_interval_ms - now;
    if (st.levels_last_ms != 0 && now - st.levels_last_ms < tuning::level_batch_interval_ms)
      return tuning::level_batch_interval_ms;
  }
  return std::nullopt;
}

void flush_levels(producer_actor* self) {
  auto& st = self->state;
  if (st.levels.levels.empty())
    return;
  audio_level_batch out;
  out.producer_id = st.id;
  out.levels.reserve(tuning::level_batch_max);
  out.times_ms.reserve(tuning::level_batch_max);
  std::swap(out, st.levels);
  self->send(st.speaker_observer, std::move(out));
}

void send_receiver_report(producer_actor* self, int64_t now) {
  auto& st = self->state;
  std::array<rtp::report_block, 4> blocks{};
  size_t count = 0;
  for (auto& e : st.encodings)
    if (e.stream && e.stream->started() && count < blocks.size())
      blocks[count++] = e.stream->make_report_block(now);
  if (count == 0)
    return;
  std::array<uint8_t, 8 + 4 * rtp::report_block::size> buf{};
  auto n = rtp::write_receiver_report(st.rtcp_ssrc, std::span(blocks.data(), count), buf);
  if (!n)
    return;
  send_rtcp(self, std::vector<uint8_t>(buf.begin(), buf.begin() + *n));
}

// The layers' bitrates over the time since the last update, to the consumers that select
// layers (they and their transport's allocator read them).
void update_layer_rates(producer_actor* self, int64_t now) {
  auto& st = self->state;
  const int64_t elapsed = now - st.last_rate_ms;
  if (elapsed <= 0)
    return;
  st.last_rate_ms = now;
  layer_bitrates msg;
  msg.spatial_layers = st.spatial_layers;
  msg.temporal_layers = st.temporal_layers;
  const size_t spatial = std::min<size_t>(st.spatial_layers, max_spatial_layers);
  msg.bps.assign(spatial * max_temporal_layers, 0);
  // What forwarding layer (s, t) costs: its temporal layers up to t, and for SVC, whose
  // spatial layers build on each other, every spatial layer up to s as well.
  const bool svc = !st.mapping.simulcast();
  for (size_t s = 0; s < spatial; ++s) {
    for (size_t t = 0; t < max_temporal_layers; ++t) {
      // A layer that sent nothing is absent (0), even when lower ones are there.
      if (st.layer_bytes[s][t] == 0) {
        st.layer_bps[s][t] = 0;
        continue;
      }
      uint64_t bytes = 0;
      for (size_t s2 = svc ? 0 : s; s2 <= s; ++s2)
        for (size_t t2 = 0; t2 <= t; ++t2)
          bytes += st.layer_bytes[s2][t2];
      st.layer_bps[s][t] = uint32_t(bytes * 8000 / uint64_t(elapsed));
      msg.bps[s * max_temporal_layers + t] = st.layer_bps[s][t];
    }
  }
  st.layer_bytes = {};
  st.recent_bps[st.recent_next] = msg.bps;
  st.recent_next = uint8_t((st.recent_next + 1) % st.recent_bps.size());
  msg.peak_bps = msg.bps;
  for (auto& r : st.recent_bps)
    for (size_t i = 0; i < r.size() && i < msg.peak_bps.size(); ++i)
      msg.peak_bps[i] = std::max(msg.peak_bps[i], r[i]);
  // What a receiver switching up to layer s gets first: SVC sends the layers below with it.
  msg.keyframe_bytes.assign(spatial, 0);
  for (size_t s = 0; s < spatial; ++s)
    msg.keyframe_bytes[s] = largest_keyframe(st, s) + (svc && s > 0 ? msg.keyframe_bytes[s - 1] : 0);
  for (auto& e : st.encodings)
    msg.scores.push_back(e.stream && e.stream->started()
                           ? rtp::score_from_loss(e.stream->stats(now).fraction_lost)
                           : uint8_t(0));
  if (!st.layered || st.consumers.empty())
    return;
  auto m = caf::make_message(std::move(msg));
  for (auto& c : st.consumers)
    self->send(c, m);
}

} // namespace

void send_nack(producer_actor* self, const encoding_state& e, const std::vector<uint16_t>& seqs) {
  auto& st = self->state;
  std::vector<uint8_t> buf(rtp::nack_size(seqs));
  auto n = rtp::write_nack(st.rtcp_ssrc, e.ssrc, seqs, buf);
  if (!n)
    return;
  buf.resize(*n);
  ++st.counters.nack_packets;
  st.counters.nack_seqs += seqs.size();
  send_rtcp(self, std::move(buf));
}

// PLI when the sender negotiated it, FIR otherwise; rate-limited by the encoding's throttle
// (requests inside its interval are merged into one sent when it ends, from the tick).
void send_keyframe_request(producer_actor* self, encoding_state& e) {
  auto& st = self->state;
  if (e.ssrc == 0)
    return; // not received yet: nothing to name
  if (st.pli_enabled) {
    rtp::picture_loss_indication pli{st.rtcp_ssrc, e.ssrc};
    if (auto bytes = rtp::to_bytes(pli)) {
      ++st.counters.plis;
      send_rtcp(self, std::move(*bytes));
    }
  } else {
    rtp::full_intra_request fir;
    fir.sender_ssrc = st.rtcp_ssrc;
    fir.entries.push_back({e.ssrc, ++e.fir_seq});
    if (auto bytes = rtp::to_bytes(fir)) {
      ++st.counters.firs;
      send_rtcp(self, std::move(*bytes));
    }
  }
}

void arm_pending_tick(producer_actor* self, int64_t now) {
  if (auto delay = pending_delay(self->state, now))
    arm_tick(self, now, *delay);
}

void arm_next_tick(producer_actor* self, int64_t now) {
  auto& st = self->state;
  const int64_t report = st.last_rr_ms + tuning::receiver_report_interval_ms - now;
  arm_tick(self, now, std::min(report, pending_delay(st, now).value_or(report)));
}

void request_keyframe(producer_actor* self, encoding_state& e, int64_t now) {
  auto& st = self->state;
  if (st.kind != rtp::media_kind::video || (!st.pli_enabled && !st.fir_enabled))
    return;
  if (e.keyframe_throttle->request(now))
    send_keyframe_request(self, e);
  else
    arm_tick(self, now, tuning::producer_tick_ms);
}

void maybe_flush_levels(producer_actor* self, int64_t now, int64_t age_ms) {
  auto& st = self->state;
  if (!st.levels.levels.empty() &&
      (now - st.levels_since_ms >= age_ms || st.levels.levels.size() >= tuning::level_batch_max))
    flush_levels(self);
}

// producer-layers-unused: the encodings no attached consumer or relay needs, reported when
// that held for tuning::unused_hold_ms (a layer needed again: at once).
void check_unused_layers(producer_actor* self, int64_t now) {
  auto& st = self->state;
  if (!st.mapping.simulcast() || st.spatial_layers < 2)
    return;
  uint8_t used = 0;
  for (auto d : st.demand)
    used |= d;
  const uint8_t all = uint8_t((1u << st.spatial_layers) - 1);
  uint8_t unused = uint8_t(~used & all);
  if (unused != st.unused_now) {
    st.unused_now = unused;
    st.unused_since_ms = now;
  }
  uint8_t report = uint8_t(st.reported_unused & unused); // layers needed again: at once
  if (now - st.unused_since_ms >= tuning::unused_hold_ms)
    report = unused;
  if (report == st.reported_unused)
    return;
  st.reported_unused = report;
  unused = report;
  protocol::producer_layers_unused_event ev{st.id, {}};
  for (uint8_t s = 0; s < st.spatial_layers; ++s)
    if (unused & (1u << s))
      ev.spatial_layers.push_back(s);
  if (auto peer = caf::actor_cast<caf::actor>(st.peer))
    self->send(peer, std::move(ev));
}

uint32_t largest_keyframe(const producer_data& st, size_t s) {
  return *std::max_element(st.keyframe_bytes[s].begin(), st.keyframe_bytes[s].end());
}

// `armed_at` is the deadline the timer was armed for: only the armed one re-arms; one that
// a newer, earlier timer overtook only ticks.
void on_tick(producer_actor* self, int64_t armed_at) {
  auto& st = self->state;
  auto now = mono_ms();
  const bool rearm = armed_at == st.tick_at_ms;
  ++st.counters.ticks;
  for (auto& e : st.encodings) {
    if (st.nack_enabled) {
      e.nack.tick(now, st.to_nack);
      if (!st.to_nack.empty())
        send_nack(self, e, st.to_nack);
      // Loss NACK could not repair breaks the picture until the next keyframe: ask for one
      // at once, for the receivers that never ask themselves (the recorder's ffmpeg, an
      // FFmpeg behind a plain transport) as for browsers (one throttle for all requests).
      if (auto abandoned = e.nack.counters().abandoned; abandoned > e.abandoned_seen) {
        e.abandoned_seen = abandoned;
        request_keyframe(self, e, now);
      }
    }
    if (e.keyframe_throttle->due(now))
      send_keyframe_request(self, e);
  }
  // On the steady beat (pending_delay) the tick comes up to a packet interval before the
  // batch it ends is tuning::level_batch_interval_ms old (its first sample came just after the
  // tick before): that batch goes now, not on a second tick moments later.
  if (st.speaker_observer)
    maybe_flush_levels(self, now,
                       tuning::level_batch_interval_ms - tuning::level_packet_interval_ms);
  if (now - st.last_rr_ms >= tuning::receiver_report_interval_ms) {
    st.last_rr_ms = now;
    send_receiver_report(self, now);
    if (st.kind == rtp::media_kind::video) {
      update_layer_rates(self, now);
      check_unused_layers(self, now);
    }
  }
  if (rearm) {
    st.tick_at_ms = 0;
    arm_next_tick(self, now);
  }
}

} // namespace chorus::actors::producers
