#include "protocol/rtmp_video_plan.hpp"

#include "rtp/h264_profile.hpp"

namespace chorus::protocol {

namespace {

// The router's H.264 codecs with packetization-mode 1 (the one FFmpeg's RTP muxer sends).
bool router_has(const rtp::rtp_capabilities& router, rtp::h264_profile profile) {
  for (const auto& c : router.codecs) {
    if (c.mime_type != "video/H264")
      continue;
    const auto* mode = rtp::find_param(c.parameters, "packetization-mode");
    if (!mode || mode->value != "1")
      continue;
    const auto* id = rtp::find_param(c.parameters, "profile-level-id");
    const auto parsed = rtp::parse_h264_profile_level_id(id ? id->value : "42e01f");
    if (parsed && parsed->profile == profile)
      return true;
  }
  return false;
}

} // namespace

std::optional<rtmp_video_mode> parse_rtmp_video_mode(std::string_view text) {
  if (text == "auto")
    return rtmp_video_mode::automatic;
  if (text == "copy")
    return rtmp_video_mode::copy;
  if (text == "transcode")
    return rtmp_video_mode::transcode;
  return std::nullopt;
}

result<rtmp_video_plan> plan_rtmp_video(rtmp_video_mode mode, std::string_view stream_profile_level_id,
                                        bool b_frames, const rtp::rtp_capabilities& router) {
  const auto stream = rtp::parse_h264_profile_level_id(stream_profile_level_id);
  std::string why;
  if (mode == rtmp_video_mode::transcode)
    why = "rtmp.video is transcode";
  else if (!stream)
    why = "its profile-level-id " + std::string(stream_profile_level_id) + " is not one of H.264's profiles";
  else if (!router_has(router, stream->profile))
    why = "the router does not take its profile (profile-level-id " + std::string(stream_profile_level_id) + ")";
  else if (b_frames)
    why = "it has B-frames, which browsers play badly";
  if (why.empty())
    return rtmp_video_plan{true, std::string(stream_profile_level_id), {}, {}};
  if (mode == rtmp_video_mode::copy)
    return failure{"the H.264 cannot be passed through (rtmp.video copy): " + why};
  if (router_has(router, rtp::h264_profile::constrained_baseline))
    return rtmp_video_plan{false, "42e01f", "baseline", why};
  if (router_has(router, rtp::h264_profile::main))
    return rtmp_video_plan{false, "4d001f", "main", why};
  return failure{"the router has no H.264 with packetization-mode 1 (mediaCodecs) to transcode to"};
}

} // namespace chorus::protocol
