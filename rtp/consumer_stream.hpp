// The stream logic of one consumer: what it forwards of its producer and as what. Three
// kinds, as in mediasoup's worker:
//  - simple: one stream (audio, or video without layers), forwarded as it comes; video from
//    a keyframe on after each (re)start;
//  - simulcast: the producer's encodings are separate streams; one is forwarded at a time,
//    switched on a keyframe of the target encoding (layer_selector); each switch is a new
//    source for the sequence/timestamp rewrite (seq_munger) and the VP8 picture ids
//    (vp8_continuity); the consumer tells the producer which encodings it needs (demand);
//  - svc: one stream (VP9 SVC, or temporal layers only) whose layers above the target are
//    dropped with their sequence numbers closed; the top forwarded spatial layer ends the
//    picture (the marker is set on it).
// The layered kinds aim at a target: the receiver's preference capped by its transport's
// allocation, on a layer the producer sends now; a keyframe is asked for once per new
// spatial target (again on the report tick while it does not come).
//
// The actor (actors/consumer.cpp) rewrites the bytes, protects, paces, retransmits, reports
// and sends the requests this class decides.
//
// Pure code: time is passed in; no I/O, no allocation per packet.
#pragma once

#include "rtp/layer_selector.hpp"
#include "rtp/seq_munger.hpp"
#include "rtp/vp8_descriptor.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace chorus::rtp {

enum class consumer_kind : uint8_t { simple, simulcast, svc };

const char* to_string(consumer_kind k) noexcept;

struct consumer_stream_config {
  consumer_kind kind = consumer_kind::simple;
  bool video = false;
  uint32_t clock_rate = 90000;
  uint8_t spatial_layers = 1;  // simulcast: encodings; clamped to 1..4
  uint8_t temporal_layers = 1; // clamped to 1..3
  bool vp8 = false;            // a layered VP8 stream: picture ids continue across switches
};

// One packet of the producer, as the consumer sees it.
struct forward_input {
  uint16_t seq = 0;
  uint32_t timestamp = 0;
  layer_packet layer;        // simulcast: spatial is the encoding's index
  bool end_of_layer = false; // the last packet of this spatial layer's frame
};

enum class forward_verdict : uint8_t {
  forward,
  wait_keyframe, // video before the first keyframe after a (re)start, or one the sender
                 // cannot send yet (no keys or tuple): no start
  other_layer,   // simulcast: an encoding this consumer does not forward now
  dropped_layer, // a layer above the forwarded ones: its number is closed
  old,           // before the current base, or too far behind (seq_munger)
};

struct forward_decision {
  forward_verdict verdict = forward_verdict::old;
  uint16_t seq = 0; // the output values, when forwarded
  uint32_t timestamp = 0;
  bool switched_stream = false; // simulcast: this packet starts another encoding
  bool layers_changed = false;  // the forwarded layers changed (report them, new demand)
  bool end_of_picture = false;  // SVC: the top forwarded layer ends the picture (marker)
};

// What a keyframe request names: a layer of a layered producer, or any keyframe.
struct keyframe_ask {
  bool layered = false;
  uint8_t spatial = 0;
};

class consumer_stream {
public:
  explicit consumer_stream(const consumer_stream_config& config) noexcept;

  consumer_kind kind() const noexcept { return kind_; }
  bool layered() const noexcept { return kind_ != consumer_kind::simple; }
  bool video() const noexcept { return video_; }

  // One packet; sender_ready: the consumer's transport can send now. The common case (a
  // simple stream past its first keyframe) is inline: it is per packet and per consumer.
  forward_decision on_packet(const forward_input& p, bool sender_ready, int64_t now_ms) noexcept {
    if (kind_ != consumer_kind::simple || waiting_keyframe_)
      return on_packet_slow(p, sender_ready, now_ms);
    const auto m = munger_.process(p.seq, p.timestamp, now_ms);
    forward_decision d;
    d.verdict = m.forward() ? forward_verdict::forward : forward_verdict::old;
    d.seq = m.seq;
    d.timestamp = m.timestamp;
    return d;
  }

  // After a pause, at the first resume, or when the sender becomes ready: the next packet
  // is a new base (no sequence gap on the wire), and video waits for a keyframe.
  void restart() noexcept;

  // ---- the target (layered kinds; the simple kind ignores these) ----
  // The receiver's preference, clamped to the layers there are; temporal < 0: the highest.
  void set_preferred(int spatial, int temporal) noexcept;
  // The transport's allocation (layer_allocation): spatial -1 forwards nothing.
  void set_allocation(int8_t spatial, int8_t temporal, int8_t wanted_spatial) noexcept;
  // The producer's layer bitrates, three per spatial layer (0: not received now).
  void set_bitrates(std::vector<uint32_t> bps);
  // Recomputes the target from the above. True when a keyframe of the new spatial target
  // should be asked for now (it was not asked for yet).
  bool update_target() noexcept;

  // The encodings this consumer needs from its producer now, one bit each (simulcast): the
  // one it forwards and the one it switches to (while it forwards nothing yet, every one
  // up to the target: it starts on the first keyframe at or below it); and those up to its
  // preference that the producer does not send now but its transport's budget would pay for
  // at what they last cost (it would take them if they came back). None while paused.
  uint8_t demand(bool paused) const noexcept;

  // ---- keyframes ----
  // A keyframe request for a (re)start or a new target: the target layer (remembered), any
  // keyframe for the simple kind, none for a layered consumer without a target.
  std::optional<keyframe_ask> keyframe_request() noexcept;
  // Waiting for a keyframe (the request may have been lost): ask again on the tick.
  bool wants_keyframe() const noexcept;
  // The receiver lost its picture (PLI, FIR): the encoding it receives or waits for.
  std::optional<keyframe_ask> keyframe_for_receiver() const noexcept;

  // ---- state for the actor's reports and the sender ----
  const seq_munger& munger() const noexcept { return munger_; }
  // The picture-id rewrite of a layered VP8 stream; null otherwise.
  vp8_continuity* continuity() noexcept { return layered() && vp8_ ? &continuity_ : nullptr; }
  const layer_selector& selector() const noexcept { return selector_; }
  uint8_t spatial_layers() const noexcept { return spatial_layers_; }
  uint8_t temporal_layers() const noexcept { return temporal_layers_; }
  int8_t preferred_spatial() const noexcept { return preferred_spatial_; }
  int8_t preferred_temporal() const noexcept { return preferred_temporal_; }
  // 127: no allocation yet.
  int8_t allocated_spatial() const noexcept { return allocated_spatial_; }
  int8_t allocated_temporal() const noexcept { return allocated_temporal_; }
  const std::vector<uint32_t>& bitrates() const noexcept { return bps_; }
  // bitrates(), an absent layer at its last nonzero rate.
  const std::vector<uint32_t>& known_bitrates() const noexcept { return known_bps_; }
  // The spatial layer whose producer score and sender clock count: the forwarded encoding
  // (simulcast), 0 otherwise.
  int forwarded_encoding() const noexcept {
    return kind_ == consumer_kind::simulcast ? selector_.current_spatial() : 0;
  }

private:
  // Whether spatial layer s is being received (as far as the bitrates tell; everything is
  // before the first).
  bool layer_present(int s) const noexcept;
  forward_decision on_packet_slow(const forward_input& p, bool sender_ready, int64_t now_ms) noexcept;
  forward_decision layered_packet(const forward_input& p, bool sender_ready, int64_t now_ms) noexcept;

  consumer_kind kind_;
  bool video_;
  bool vp8_;
  uint8_t spatial_layers_, temporal_layers_;
  bool waiting_keyframe_;
  seq_munger munger_;
  layer_selector selector_;
  vp8_continuity continuity_;
  int8_t preferred_spatial_, preferred_temporal_;
  int8_t allocated_spatial_ = 127, allocated_temporal_ = 127;
  int8_t wanted_spatial_ = 127;
  int8_t keyframe_asked_for_ = -1; // the spatial target whose keyframe was last asked for
  std::vector<uint32_t> bps_;
  std::vector<uint32_t> known_bps_;
};

} // namespace chorus::rtp
