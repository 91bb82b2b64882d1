// The router's RTP capabilities, generated from the configured media codecs the way
// mediasoup's Router does it: each configured codec must match one that Chorus supports;
// it gets the supported codec's RTCP feedback and a dynamic payload type, and every video
// codec is followed by its rtx codec (`apt` = the video codec's payload type).
#pragma once

#include "common/result.hpp"
#include "rtp/rtp_parameters.hpp"

#include <vector>

namespace chorus::rtp {

// What an operator configures per codec (mediasoup's RtpCodecCapability without
// payload type and feedback): kind, mimeType, clockRate, channels, parameters.
struct media_codec_config {
  media_kind kind = media_kind::audio;
  std::string mime_type;
  uint32_t clock_rate = 0;
  uint16_t channels = 0; // 0: absent
  codec_params parameters;
};

// The codecs and header extensions Chorus can route (its "supported capabilities").
const rtp_capabilities& supported_capabilities();

// The default `mediaCodecs` of the embedded configuration: Opus 48000/2, VP8, VP9
// (profile 0), H264 constrained baseline (42e01f) and main (4d0032), packetization-mode 1.
std::vector<media_codec_config> default_media_codecs();

// Builds the router capabilities. Fails naming the codec (by index and mimeType)
// when it is not supported, duplicated, or its parameters do not match.
result<rtp_capabilities> generate_router_capabilities(
  const std::vector<media_codec_config>& media_codecs);

} // namespace chorus::rtp
