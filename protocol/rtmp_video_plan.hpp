// What becomes of an RTMP publisher's H.264 (actors/rtmp_ingest.hpp): passed through as
// the encoder sent it, or transcoded by the ingest's FFmpeg. Pure: the stream's profile and
// B-frames (protocol::flv_stream_probe), the router's codecs and the operator's choice
// (rtmp.video) in; the plan, or why the stream cannot be taken, out.
//
// Browsers' WebRTC stacks receive only the H.264 profiles they list (Chromium: constrained
// baseline, baseline, main, High 4:4:4; Firefox with OpenH264: constrained baseline), and
// play B-frames badly; encoders send High profile with B-frames by default (OBS, x264). So:
//   copy:      passed through when the router takes the stream's profile and it has no
//              B-frames; refused otherwise, with the reason;
//   transcode: always transcoded;
//   auto:      passed through where copy would be, else transcoded.
// Transcoding makes constrained baseline without B-frames (what every browser decodes)
// when the router has it, else main; a router without H.264 cannot take the stream.
#pragma once

#include "common/result.hpp"
#include "rtp/rtp_parameters.hpp"

#include <string>
#include <optional>
#include <string_view>

namespace chorus::protocol {

enum class rtmp_video_mode { automatic, copy, transcode };

// "auto", "copy", "transcode"; nullopt for anything else.
std::optional<rtmp_video_mode> parse_rtmp_video_mode(std::string_view text);

struct rtmp_video_plan {
  bool copy = true;             // false: transcoded
  std::string profile_level_id; // what the producer declares
  std::string x264_profile;     // transcoded: "baseline" (constrained) or "main"
  std::string reason;           // why it is transcoded (for the log)
};

result<rtmp_video_plan> plan_rtmp_video(rtmp_video_mode mode, std::string_view stream_profile_level_id,
                                        bool b_frames, const rtp::rtp_capabilities& router);

} // namespace chorus::protocol
