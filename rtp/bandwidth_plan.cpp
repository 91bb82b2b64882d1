#include "rtp/bandwidth_plan.hpp"

#include <algorithm>
#include <limits>
#include <tuple>
#include <utility>

namespace chorus::rtp {

namespace {

bool has_estimate(const send_bwe_stats& b) {
  // From transport-cc feedback, or a REMB where only that exists.
  return (b.feedbacks > 0 || b.remb_bps.has_value()) && b.target_bps > 0;
}

uint64_t pacing(const send_bwe_stats& b, uint64_t forwarded_bps) {
  if (!has_estimate(b))
    return 0;
  return uint64_t(double(std::max<uint64_t>(b.target_bps, forwarded_bps)) *
                  bandwidth_plan::pacing_factor);
}

alloc_consumer allocator_input(const consumer_demand& d, uint32_t key) {
  alloc_consumer c;
  c.key = key;
  c.active = d.active;
  c.priority = d.priority;
  if (!d.layered) {
    c.audio = true; // a fixed cost
    c.audio_bps = d.bps.empty() ? 0 : d.bps[0];
    return c;
  }
  c.max_spatial = d.max_spatial;
  c.max_temporal = d.max_temporal;
  for (size_t s = 0; s < c.bitrates.size(); ++s)
    for (size_t t = 0; t < c.bitrates[s].size(); ++t)
      if (s * 3 + t < d.bps.size())
        c.bitrates[s][t] = d.bps[s * 3 + t];
  return c;
}

} // namespace

int8_t keyframe_ceiling(const consumer_demand& d, int8_t current, uint64_t target_bps) {
  const uint64_t fits_bytes = target_bps * uint64_t(bandwidth_plan::keyframe_window_ms) / 8000;
  int8_t ceiling = d.max_spatial;
  for (size_t s = 1; s < d.keyframe_bytes.size() && int(s) <= d.max_spatial; ++s)
    if (d.keyframe_bytes[s] > fits_bytes) {
      ceiling = int8_t(s - 1);
      break;
    }
  if (current >= 0 && current != 127)
    ceiling = std::max(ceiling, std::min(current, d.max_spatial));
  return ceiling;
}

uint64_t bandwidth_plan::pacing_alone(const send_bwe_stats& b) { return pacing(b, 0); }

const plan_outcome& bandwidth_plan::plan(std::vector<plan_consumer>& consumers,
                                         const send_bwe_stats& b, int64_t now_ms) {
  auto& out = outcome_;
  auto told = std::move(out.told); // its capacity is kept
  told.clear();
  out = plan_outcome{};
  out.told = std::move(told);
  const bool estimated = has_estimate(b);
  out.estimated = estimated;
  const uint64_t budget =
    estimated ? b.target_bps - b.target_bps * 15 / 100 : std::numeric_limits<uint64_t>::max();
  const bool calm = !estimated || (b.usage != bwe_usage::overusing && b.last_loss < 0.02);
  // The rate a switch up's keyframe is judged at (keyframe_ceiling).
  const uint64_t keyframe_bps = std::min(b.target_bps, b.probe_capacity_bps.value_or(b.target_bps));
  in_.clear();
  in_known_.clear();
  uint64_t desired = 0;
  for (size_t i = 0; i < consumers.size(); ++i) {
    const auto& d = consumers[i].demand;
    auto c = allocator_input(d, uint32_t(i));
    // The same with every layer received, one the publisher stopped sending at what it last
    // cost: what the consumer would take if the publisher sent everything.
    auto known = c;
    for (size_t s = 0; s < known.bitrates.size(); ++s)
      for (size_t t = 0; t < known.bitrates[s].size(); ++t)
        if (known.bitrates[s][t] == 0 && s * 3 + t < d.known_bps.size())
          known.bitrates[s][t] = d.known_bps[s * 3 + t];
    // What it would use with no limit (the keyframe ceiling is a limit of the estimate:
    // probing must still find out whether more is there; an absent layer's return needs
    // the bandwidth found first).
    if (c.active)
      desired += c.audio ? c.audio_bps : desired_bps(known);
    if (d.layered && estimated)
      known.max_spatial = c.max_spatial = keyframe_ceiling(d, consumers[i].spatial, keyframe_bps);
    in_.push_back(c);
    in_known_.push_back(known);
  }
  allocator_.allocate(budget, in_, out_);
  // The upgrade's allocation: at the layers' peak rates and a fifth less budget.
  in_up_ = in_;
  for (auto& c : in_up_) {
    const auto& peak = consumers[c.key].demand.peak_bps;
    for (size_t s = 0; s < c.bitrates.size(); ++s)
      for (size_t t = 0; t < c.bitrates[s].size(); ++t)
        if (c.bitrates[s][t] != 0 && s * 3 + t < peak.size())
          c.bitrates[s][t] = std::max(c.bitrates[s][t], peak[s * 3 + t]);
  }
  allocator_.allocate(estimated ? budget - budget / 5 : budget, in_up_, up_);
  // And with absent layers at their last rates (the consumer's wanted layer).
  allocator_.allocate(budget, in_known_, known_);
  auto layers_of = [&](const alloc_result& r, const plan_consumer& e) {
    int8_t s = r.spatial, t = r.temporal;
    if (s < 0) { // never dark: the lowest layer even when the estimate does not cover it
      s = 0;
      t = 0;
    }
    if (!estimated || e.demand.bps.empty()) { // nothing to allocate from: uncapped
      s = 127;
      t = 127;
    }
    return std::pair<int8_t, int8_t>{s, t};
  };
  for (size_t i = 0; i < out_.size(); ++i) {
    auto& e = consumers[out_[i].key];
    if (!e.demand.layered || !e.demand.active)
      continue;
    auto [s, t] = layers_of(out_[i], e);
    const int8_t wanted = layers_of(known_[i], e).first;
    const auto above = [&](int8_t s2, int8_t t2) {
      return e.spatial == -2 || s2 > e.spatial || (s2 == e.spatial && t2 > e.temporal);
    };
    bool change = s != e.spatial || t != e.temporal;
    if (change && above(s, t) && e.spatial != -2) {
      std::tie(s, t) = layers_of(up_[i], e);
      // Up only with the upgrade's margin, on a calm link, and not soon after going down.
      change = above(s, t) && calm && now_ms - e.lowered_ms >= upgrade_hold_ms;
    } else if (change && !above(s, t)) {
      e.lowered_ms = now_ms;
    }
    if (!change && wanted == e.wanted)
      continue;
    if (change) {
      e.spatial = s;
      e.temporal = t;
    }
    e.wanted = wanted;
    out.told.push_back(out_[i].key);
  }
  out.budget_bps = estimated ? budget : 0;
  out.desired_bps = desired;
  if (!estimated)
    return out;
  // What is forwarded now, at the layers' peak rates (after a delay-based decrease to 0.85
  // of an application-limited acked rate the estimate may be a fraction of the lowest
  // layer, which is forwarded all the same).
  uint64_t forwarded = 0;
  for (const auto& c : in_up_) {
    const auto& e = consumers[c.key];
    if (!c.active)
      continue;
    if (c.audio)
      forwarded += c.audio_bps;
    else if (e.spatial >= 0 && size_t(e.spatial) < c.bitrates.size() && e.temporal >= 0 &&
             size_t(e.temporal) < c.bitrates[0].size())
      forwarded += c.bitrates[size_t(e.spatial)][size_t(e.temporal)];
  }
  out.forwarded_bps = forwarded;
  out.pacing_bps = pacing(b, forwarded);
  out.probe_bps = desired > budget ? desired + desired / 4 : 0;
  return out;
}

} // namespace chorus::rtp
