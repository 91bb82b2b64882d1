// A black 16x16 keyframe per codec, as RTP payloads: what a spliced stream
// (rtp/spliced_stream.hpp) sends while no source feeds it, so that the decoder reading it
// always has a picture. The frames were encoded once with Debian 12's FFmpeg 5.1
// (`-f lavfi -i color=c=black:s=16x16`, libvpx; libx264 constrained baseline 3.1, its SEI
// left out) and are kept here as bytes. Pure.
#pragma once

#include "rtp/keyframe.hpp"

#include <cstdint>
#include <vector>

namespace chorus::rtp {

// The payloads of one filler frame in `codec` (VP8: one packet; H264: SPS, PPS and the IDR
// slice as single NAL unit packets, the marker on the last); empty for a codec without one.
std::vector<std::vector<uint8_t>> video_filler_payloads(payload_codec codec);

} // namespace chorus::rtp
