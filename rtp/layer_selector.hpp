// Which packets of a layered producer one consumer forwards: simulcast (each spatial layer
// is its own stream, an encoding) or SVC (the spatial layers travel in one stream, VP9),
// each with temporal layers. The consumer sets a target (its preference capped by its
// transport's bandwidth allocation); the selector moves the current layers toward it only
// where the receiver's decoder can follow:
//
//  - spatial, simulcast: the stream switches on a keyframe of the target encoding (or, to
//    get going, on the first keyframe of any encoding below the target while nothing is
//    forwarded yet);
//  - spatial, SVC: up at a keyframe, down at the start of any picture (spatial 0's first
//    packet); layers above the current one are dropped;
//  - temporal: down at the start of any frame; up at the start of a frame of a higher layer
//    (up to the target) that is a switching point (`sync`: VP8 Y, VP9 U, or any TL0
//    frame), or, with the Dependency Descriptor, at any frame whose indications allow a
//    higher layer up to the target (`switch_mask`); a keyframe takes the target at once.
//
// Verdicts: forward; drop (a packet of the forwarded stream that this receiver does not
// get: its sequence number must be closed up, see seq_munger::drop); other (a packet of
// another simulcast stream: not in this receiver's sequence space at all). One stream
// (SVC, or temporal layers only: construct with simulcast = false) never says other.
// Spatial ids from 4 and temporal ids from 3 are never forwarded.
//
// Pure code, no allocation.
#pragma once

#include <cstdint>

namespace chorus::rtp {

struct layer_packet {
  uint8_t spatial = 0;  // simulcast: the encoding's index; SVC: the spatial id
  uint8_t temporal = 0; // temporal id (0 when the stream tells none)
  bool keyframe = false;
  bool sync = false;        // a switching point up to this temporal layer
  bool frame_start = false; // first packet of a (layer) frame
  // Where the stream says it per target (the Dependency Descriptor's switch indications):
  // bit t set, a receiver may move up to temporal layer t at this frame, whatever the
  // frame's own layer. 0: `sync` tells.
  uint8_t switch_mask = 0;
};

enum class layer_verdict : uint8_t { forward, drop, other };

struct layer_decision {
  layer_verdict verdict = layer_verdict::other;
  bool switched_stream = false; // simulcast: this packet starts another encoding
  bool layers_changed = false;  // current_spatial() or current_temporal() changed
};

class layer_selector {
public:
  static constexpr uint8_t max_spatial = 4, max_temporal = 3;

  explicit layer_selector(bool simulcast) noexcept : simulcast_(simulcast) {}

  // -1 spatial: forward nothing (the consumer is not allocated any layer).
  void set_target(int8_t spatial, int8_t temporal) noexcept {
    target_spatial_ = spatial;
    target_temporal_ = temporal < 0 ? int8_t(0) : temporal;
  }
  // Forget the current layers (pause, resume, a new transport): the next keyframe restarts.
  void reset() noexcept {
    current_spatial_ = -1;
    current_temporal_ = -1;
  }

  layer_decision on_packet(const layer_packet& p) noexcept;

  int8_t target_spatial() const noexcept { return target_spatial_; }
  int8_t target_temporal() const noexcept { return target_temporal_; }
  int8_t current_spatial() const noexcept { return current_spatial_; }
  int8_t current_temporal() const noexcept { return current_temporal_; }
  // A keyframe of target_spatial() is what the selector waits for (ask the producer).
  bool wants_keyframe() const noexcept {
    return target_spatial_ >= 0 &&
           (current_spatial_ < 0 || (simulcast_ ? target_spatial_ != current_spatial_
                                                : target_spatial_ > current_spatial_));
  }

private:
  layer_decision simulcast_packet(const layer_packet& p) noexcept;
  layer_decision svc_packet(const layer_packet& p) noexcept;
  // Temporal switching within the forwarded stream; true when the current layer changed.
  bool follow_temporal(const layer_packet& p) noexcept;

  bool simulcast_;
  int8_t target_spatial_ = -1, target_temporal_ = 0;
  int8_t current_spatial_ = -1, current_temporal_ = -1;
};

} // namespace chorus::rtp
