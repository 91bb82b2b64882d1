#include "rtp/layer_selector.hpp"

namespace chorus::rtp {

bool layer_selector::follow_temporal(const layer_packet& p) noexcept {
  const int8_t before = current_temporal_;
  if (p.keyframe) {
    current_temporal_ = target_temporal_;
  } else if (p.frame_start) {
    if (target_temporal_ < current_temporal_) {
      current_temporal_ = target_temporal_;
    } else if (target_temporal_ > current_temporal_ && p.switch_mask != 0) {
      for (int8_t t = target_temporal_; t > current_temporal_; --t)
        if (p.switch_mask & (1u << t)) {
          current_temporal_ = t;
          break;
        }
    } else if (target_temporal_ > current_temporal_ && p.sync && p.temporal > current_temporal_ &&
               p.temporal <= target_temporal_) {
      current_temporal_ = int8_t(p.temporal);
    }
  }
  return current_temporal_ != before;
}

layer_decision layer_selector::simulcast_packet(const layer_packet& p) noexcept {
  layer_decision d;
  const int8_t s = int8_t(p.spatial);
  if (s != current_spatial_) {
    if (target_spatial_ < 0 || !p.keyframe)
      return d; // other
    // The target itself; or, while nothing is forwarded, anything below it to get going.
    // (Not an intermediate encoding on the way: a sender answers a keyframe request with
    // keyframes of all its encodings at once, so the target's follows at once, and a
    // stop on the way would cut a keyframe short.)
    const bool toward = s == target_spatial_ || (current_spatial_ < 0 && s < target_spatial_);
    if (!toward)
      return d;
    current_spatial_ = s;
    current_temporal_ = target_temporal_;
    d.verdict = p.temporal > current_temporal_ ? layer_verdict::drop : layer_verdict::forward;
    d.switched_stream = true;
    d.layers_changed = true;
    return d;
  }
  if (target_spatial_ < 0) { // nothing allocated: stop at once, the stream stays ours
    d.verdict = layer_verdict::drop;
    return d;
  }
  d.layers_changed = follow_temporal(p);
  d.verdict = p.temporal > current_temporal_ ? layer_verdict::drop : layer_verdict::forward;
  return d;
}

layer_decision layer_selector::svc_packet(const layer_packet& p) noexcept {
  layer_decision d;
  d.verdict = layer_verdict::drop;
  if (current_spatial_ < 0) {
    if (target_spatial_ < 0 || !p.keyframe)
      return d; // waiting for a keyframe
    current_spatial_ = target_spatial_;
    current_temporal_ = target_temporal_;
    d.layers_changed = true;
  } else if (p.frame_start && p.spatial == 0) { // a new picture
    const int8_t before = current_spatial_;
    if (target_spatial_ < 0)
      current_spatial_ = -1;
    else if (target_spatial_ < current_spatial_ || (p.keyframe && target_spatial_ > current_spatial_))
      current_spatial_ = target_spatial_;
    d.layers_changed = current_spatial_ != before;
    if (current_spatial_ < 0) {
      current_temporal_ = -1;
      return d;
    }
  }
  if (p.spatial == 0) // temporal switching follows the base layer's frames
    d.layers_changed = follow_temporal(p) || d.layers_changed;
  if (p.spatial <= current_spatial_ && p.temporal <= current_temporal_)
    d.verdict = layer_verdict::forward;
  return d;
}

layer_decision layer_selector::on_packet(const layer_packet& p) noexcept {
  if (p.spatial >= max_spatial || p.temporal >= max_temporal) {
    // Out of range (a bad message from another node): not forwarded; in one stream its
    // number is closed like any dropped layer's.
    layer_decision d;
    d.verdict = simulcast_ ? layer_verdict::other : layer_verdict::drop;
    return d;
  }
  return simulcast_ ? simulcast_packet(p) : svc_packet(p);
}

} // namespace chorus::rtp
