#include "rtp/consumer_stream.hpp"

#include <algorithm>

namespace chorus::rtp {

const char* to_string(consumer_kind k) noexcept {
  switch (k) {
    case consumer_kind::simple: return "simple";
    case consumer_kind::simulcast: return "simulcast";
    case consumer_kind::svc: return "svc";
  }
  return "simple";
}

consumer_stream::consumer_stream(const consumer_stream_config& config) noexcept
    : kind_(config.kind),
      video_(config.video),
      vp8_(config.vp8),
      spatial_layers_(std::clamp<uint8_t>(config.spatial_layers, 1, 4)),
      temporal_layers_(std::clamp<uint8_t>(config.temporal_layers, 1, 3)),
      waiting_keyframe_(config.video),
      munger_({config.clock_rate, 1000}),
      selector_(config.kind == consumer_kind::simulcast),
      preferred_spatial_(int8_t(spatial_layers_ - 1)),
      preferred_temporal_(int8_t(temporal_layers_ - 1)) {
  if (layered())
    selector_.set_target(preferred_spatial_, preferred_temporal_);
}

forward_decision consumer_stream::on_packet_slow(const forward_input& p, bool sender_ready,
                                                 int64_t now_ms) noexcept {
  forward_decision d;
  if (layered()) {
    d = layered_packet(p, sender_ready, now_ms);
    if (d.verdict != forward_verdict::forward)
      return d;
  } else if (waiting_keyframe_ && video_) {
    if (!p.layer.keyframe || !sender_ready) {
      d.verdict = forward_verdict::wait_keyframe;
      return d;
    }
    waiting_keyframe_ = false;
  }
  const auto m = munger_.process(p.seq, p.timestamp, now_ms);
  if (!m.forward()) {
    d.verdict = forward_verdict::old;
    return d;
  }
  d.verdict = forward_verdict::forward;
  d.seq = m.seq;
  d.timestamp = m.timestamp;
  d.end_of_picture = kind_ == consumer_kind::svc && p.end_of_layer &&
                     int(p.layer.spatial) == int(selector_.current_spatial());
  return d;
}

// The layer step of a layered packet; `forward` here means: on to the munger.
forward_decision consumer_stream::layered_packet(const forward_input& p, bool sender_ready,
                                                 int64_t now_ms) noexcept {
  forward_decision d;
  if (!sender_ready) {
    d.verdict = forward_verdict::wait_keyframe;
    return d;
  }
  const auto s = selector_.on_packet(p.layer);
  if (s.verdict == layer_verdict::other) {
    d.verdict = forward_verdict::other_layer;
    return d;
  }
  d.switched_stream = s.switched_stream;
  d.layers_changed = s.layers_changed;
  if (s.switched_stream) {
    munger_.mark_discontinuity();
    continuity_.mark_switch();
    keyframe_asked_for_ = -1;
  }
  if (s.layers_changed && !selector_.wants_keyframe())
    keyframe_asked_for_ = -1; // reached: a later target asks again at once
  if (s.verdict == layer_verdict::drop) {
    if (munger_.started() && !waiting_keyframe_)
      munger_.drop(p.seq, p.timestamp, now_ms);
    d.verdict = forward_verdict::dropped_layer;
    return d;
  }
  waiting_keyframe_ = false;
  d.verdict = forward_verdict::forward;
  return d;
}

void consumer_stream::restart() noexcept {
  munger_.mark_discontinuity();
  if (layered()) {
    selector_.reset();
    continuity_.mark_switch();
  }
  if (video_)
    waiting_keyframe_ = true;
}

void consumer_stream::set_preferred(int spatial, int temporal) noexcept {
  preferred_spatial_ = int8_t(std::clamp(spatial, 0, spatial_layers_ - 1));
  preferred_temporal_ = temporal < 0 ? int8_t(temporal_layers_ - 1)
                                     : int8_t(std::clamp(temporal, 0, temporal_layers_ - 1));
}

void consumer_stream::set_allocation(int8_t spatial, int8_t temporal, int8_t wanted_spatial) noexcept {
  allocated_spatial_ = spatial;
  allocated_temporal_ = temporal;
  wanted_spatial_ = wanted_spatial;
}

void consumer_stream::set_bitrates(std::vector<uint32_t> bps) {
  bps_ = std::move(bps);
  known_bps_.resize(bps_.size(), 0);
  for (size_t i = 0; i < known_bps_.size(); ++i)
    if (bps_[i] != 0)
      known_bps_[i] = bps_[i];
}

bool consumer_stream::layer_present(int s) const noexcept {
  const size_t i = size_t(s) * 3;
  return bps_.empty() || (i < bps_.size() && bps_[i] != 0);
}

bool consumer_stream::update_target() noexcept {
  if (!layered())
    return false;
  int spatial = std::min<int>({preferred_spatial_, allocated_spatial_, spatial_layers_ - 1});
  while (spatial > 0 && !layer_present(spatial))
    --spatial;
  if (allocated_spatial_ < 0)
    spatial = -1;
  int temporal = std::min<int>({preferred_temporal_, allocated_temporal_, temporal_layers_ - 1});
  if (spatial >= 0 && !bps_.empty())
    while (temporal > 0 && size_t(spatial * 3 + temporal) < bps_.size() &&
           bps_[size_t(spatial * 3 + temporal)] == 0)
      --temporal;
  selector_.set_target(int8_t(spatial), int8_t(std::max(temporal, 0)));
  return selector_.wants_keyframe() && keyframe_asked_for_ != spatial;
}

uint8_t consumer_stream::demand(bool paused) const noexcept {
  if (paused || kind_ != consumer_kind::simulcast)
    return 0;
  uint8_t mask = 0;
  const int current = selector_.current_spatial(), target = selector_.target_spatial();
  if (current >= 0)
    mask |= uint8_t(1u << current);
  if (target >= 0)
    mask |= uint8_t(1u << target);
  if (current < 0)
    for (int s = 0; s < target; ++s)
      mask |= uint8_t(1u << s);
  const int wanted = std::min<int>({preferred_spatial_, wanted_spatial_, spatial_layers_ - 1});
  for (int s = 0; s <= wanted; ++s)
    if (!layer_present(s))
      mask |= uint8_t(1u << s);
  return mask;
}

std::optional<keyframe_ask> consumer_stream::keyframe_request() noexcept {
  if (!layered())
    return keyframe_ask{};
  if (selector_.target_spatial() < 0)
    return std::nullopt;
  keyframe_asked_for_ = selector_.target_spatial();
  return keyframe_ask{true, uint8_t(keyframe_asked_for_)};
}

bool consumer_stream::wants_keyframe() const noexcept {
  return (waiting_keyframe_ && video_) || (layered() && selector_.wants_keyframe());
}

std::optional<keyframe_ask> consumer_stream::keyframe_for_receiver() const noexcept {
  if (!layered())
    return keyframe_ask{};
  const int s = selector_.current_spatial() >= 0 ? selector_.current_spatial()
                                                 : selector_.target_spatial();
  if (s < 0)
    return std::nullopt;
  return keyframe_ask{true, uint8_t(s)};
}

} // namespace chorus::rtp
