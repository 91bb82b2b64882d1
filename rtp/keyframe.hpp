// Keyframe detection from an RTP payload, per codec: the first packet of a frame that the
// decoder can start from. Used to end a consumer's wait for a keyframe after a resume, and
// by the NACK generator (losses before a keyframe no longer matter).
//
// VP8 (RFC 7741 §4.2 payload descriptor, §4.3 VP8 payload header):
//        0 1 2 3 4 5 6 7
//       +-+-+-+-+-+-+-+-+
//       |X|R|N|S|R| PID |  S: start of a partition, PID: partition index
//       +-+-+-+-+-+-+-+-+
//  X:   |I|L|T|K| RSV   |
//  I:   |M| PictureID   |  (+ one more byte of PictureID if M)
//  L:   |   TL0PICIDX   |
//  T/K: |TID|Y| KEYIDX  |
//       +-+-+-+-+-+-+-+-+
//       |Size0|H| VER |P|  first byte of the VP8 frame: P = 0 for a key frame
//   Keyframe iff S = 1, PID = 0 and P = 0.
//
// VP9 (draft-ietf-payload-vp9 §4.2, flexible and non-flexible modes):
//        0 1 2 3 4 5 6 7
//       +-+-+-+-+-+-+-+-+
//       |I|P|L|F|B|E|V|Z|  P: inter-picture predicted, B: start of a frame
//       +-+-+-+-+-+-+-+-+
//  I:   |M| PICTURE ID  |  (+ one more byte if M)
//  L:   | TID |U| SID |D|  SID: spatial layer
//   Keyframe iff P = 0, B = 1 and SID = 0 (0 when L is absent).
//
// H264 (RFC 6184 §5.2-5.8): NAL unit header |F|NRI|Type(5)|.
//   Single NAL unit: type 5 (IDR slice) or 7 (SPS).
//   STAP-A (24): | hdr | size(16) | NAL | size(16) | NAL | ... : any NAL of type 5 or 7.
//   FU-A (28): | FU indicator | |S|E|R| Type(5)| ... : S = 1 and Type 5 or 7.
//
// AV1 (the AOM RTP payload format; rtp/av1_frames.hpp): the aggregation header's N bit
//   (the first packet of a coded video sequence) with Z clear.
//
// Opus and other audio codecs: never a keyframe.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace chorus::rtp {

enum class payload_codec : uint8_t { opus, vp8, vp9, h264, av1, other };
// From a codec's MIME type ("video/VP8"; case ignored).
payload_codec payload_codec_of(std::string_view mime_type) noexcept;

bool is_vp8_keyframe(std::span<const uint8_t> payload) noexcept;
bool is_vp9_keyframe(std::span<const uint8_t> payload) noexcept;
bool is_h264_keyframe(std::span<const uint8_t> payload) noexcept;
bool is_av1_keyframe(std::span<const uint8_t> payload) noexcept;
// H264: the first packet of a keyframe, not only a packet of one: an SPS (which encoders put
// before the frame's slices), or an IDR slice whose first_mb_in_slice is 0 (the slice
// header's first bit set: ue(v) of 0).
bool h264_keyframe_start(std::span<const uint8_t> payload) noexcept;
bool is_keyframe(payload_codec codec, std::span<const uint8_t> payload) noexcept;

// Rate limit for keyframe requests (PLI/FIR) toward one sender: many receivers asking at
// once (a class of 300 joining) must cost the sender one keyframe, not 300. A request is
// sent at once when the last one is at least interval_ms old; requests inside the interval
// are merged into one that becomes due when the interval ends.
class keyframe_throttle {
public:
  explicit keyframe_throttle(int64_t interval_ms) noexcept : interval_ms_(interval_ms) {}
  // A receiver asks at now_ms: true when a request should be sent now.
  bool request(int64_t now_ms) noexcept;
  // Called periodically: true when a merged request is due now.
  bool due(int64_t now_ms) noexcept;
  bool pending() const noexcept { return pending_; }

private:
  int64_t interval_ms_;
  int64_t last_sent_ms_ = 0;
  bool sent_any_ = false;
  bool pending_ = false;
};

} // namespace chorus::rtp
