// The bandwidth plan of one transport: shares the send-side estimate (rtp/send_bwe.hpp) out
// over the transport's consumers with the layer allocator (rtp/layer_allocator.hpp), decides
// which layered consumer moves to which layers, the rate the transport's sends are paced at,
// and how much a probe should look for. The transport actor feeds it what each consumer
// says (consumer_demand), runs it when the estimate or a consumer changes, and sends what
// it decides.
//
// The rules:
//   - Audio and consumers without layers come first, at what they send; the layered ones
//     then by priority, up their layers, within the estimate less 15 % (a layer's measured
//     bitrate is its average: the keyframes of a switch up come on top). Without an
//     estimate (no transport-cc feedback or REMB) nothing is capped and nothing paced.
//   - Never dark: a consumer keeps its lowest layer when the estimate does not pay for it.
//   - Hysteresis: a consumer keeps its layers while the budget pays for them, but goes up
//     only to what a fifth less would pay for at the layers' peak rates (their averages
//     swing with the content), on a calm link (no overuse, the last loss window under 2 %),
//     and not within upgrade_hold_ms of going down.
//   - A switch up to a spatial layer starts with its keyframe, several times the layer's
//     average frame: the receiver's link must pass it within keyframe_window_ms, or its
//     queue overflows and the receiver stalls until the next one. The preference is capped
//     at the highest layer whose last keyframe fits (keyframe_ceiling), at the estimate or
//     at the capacity the last probe ran into when that is lower: on a path that carries
//     less than the consumers want, the estimate grows past the path's limit while the media
//     leave it idle.
//   - Pacing: at pacing_factor times the estimate, or times what the current layers cost at
//     their peak when that is more (pacing below what is forwarded would only queue it
//     behind the pacer until it leaves in a burst the thin link drops).
//   - A probe is wanted when the consumers want more than the budget: for a quarter more
//     than they want.
// Pure: no clock of its own (now_ms passed in), no I/O; the vectors it works in are reused.
#pragma once

#include "rtp/layer_allocator.hpp"
#include "rtp/send_bwe.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace chorus::rtp {

// What one consumer tells its transport's plan.
struct consumer_demand {
  bool layered = false;
  bool active = true;
  uint8_t priority = 1;
  int8_t max_spatial = 0, max_temporal = 0; // its preference (layered)
  std::vector<uint32_t> bps;            // layered: layer_bitrates::bps; else bps[0]: its rate
  std::vector<uint32_t> keyframe_bytes; // layered: layer_bitrates::keyframe_bytes
  std::vector<uint32_t> peak_bps;       // layered: layer_bitrates::peak_bps
  std::vector<uint32_t> known_bps;      // layered: bps, an absent layer at its last rate
  bool can_probe = false;               // video with RTX: it can send probe padding
};

// One consumer in the plan: its demand, and what the plan last decided for it.
struct plan_consumer {
  consumer_demand demand;
  int8_t spatial = -2, temporal = -2; // the layers last told (-2: none yet; 127: uncapped)
  int8_t wanted = 127;                // the spatial layer it would take with everything sent
  int64_t lowered_ms = 0;             // when its layers last went down
};

struct plan_outcome {
  bool estimated = false;       // an estimate exists: budget, pacing and probing apply
  uint64_t pacing_bps = 0;      // 0: not paced
  uint64_t budget_bps = 0;      // what the consumers share (0: no estimate)
  uint64_t desired_bps = 0;     // what the active consumers would take with no limit
  uint64_t forwarded_bps = 0;   // what their layers cost now, at peak (with an estimate)
  uint64_t probe_bps = 0;       // the rate a probe should look for (0: none wanted)
  std::vector<std::size_t> told; // consumers whose layers or wanted layer changed
};

// The highest spatial layer whose last keyframe passes in keyframe_window_ms at
// `target_bps` (a layer whose keyframe is not known yet is allowed; the layers up to the
// current one stay allowed: going down needs only the smaller keyframe of the lower one).
int8_t keyframe_ceiling(const consumer_demand& d, int8_t current, uint64_t target_bps);

class bandwidth_plan {
public:
  static constexpr int64_t keyframe_window_ms = 300;
  static constexpr double pacing_factor = 2.0;
  static constexpr int64_t upgrade_hold_ms = 4000;

  // Plans `consumers` (at least one) at the estimate `b`; updates each one's layers.
  const plan_outcome& plan(std::vector<plan_consumer>& consumers, const send_bwe_stats& b,
                           int64_t now_ms);

  // The pacing with no consumer: at the estimate, if any.
  static uint64_t pacing_alone(const send_bwe_stats& b);

private:
  layer_allocator allocator_;
  std::vector<alloc_consumer> in_, in_up_, in_known_;
  std::vector<alloc_result> out_, up_, known_;
  plan_outcome outcome_;
};

} // namespace chorus::rtp
