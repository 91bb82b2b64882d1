// The pure parts of a room's live stream (actors/live_streamer.hpp): where it goes, the SDP
// of the composer's inputs and the FFmpeg command that composes and encodes them.
//
// The composer is one FFmpeg reading one SDP of `live_video_inputs` video and
// `live_audio_inputs` audio m-lines on 127.0.0.1, each a spliced stream
// (rtp/spliced_stream.hpp) that Chorus keeps going. Each place of the picture (main, pip)
// has a VP8 and an H264 input, so that a source of either codec takes it without a restart;
// the one not in use carries the 16x16 filler, which the filter graph moves off the canvas
// (inputs of 16x16 or less are not shown). Main is scaled to fit 1280x720 on black, pip to
// fit 320x180 in the lower right corner; the audio inputs are mixed. Out: H264 (libx264,
// veryfast, zerolatency, a keyframe every 2 s) and AAC, to FLV for RTMP or to HLS segments
// of 2 s.
#pragma once

#include "common/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::protocol {

// The composer's inputs, in this order in the SDP: main VP8, main H264, pip VP8, pip H264,
// then the audio.
inline constexpr std::size_t live_video_inputs = 4;
inline constexpr std::size_t live_audio_inputs = 4;
inline constexpr uint8_t live_vp8_payload_type = 96;
inline constexpr uint8_t live_h264_payload_type = 102;
inline constexpr uint8_t live_opus_payload_type = 111;

// The input at `index` (0 .. live_video_inputs + live_audio_inputs - 1).
struct live_input {
  bool video = false;
  bool h264 = false; // video: H264, else VP8
  uint8_t payload_type = 0;
  uint32_t clock_rate = 0;
};
live_input live_input_at(std::size_t index);

// An RTMP target checked: rtmp:// or rtmps://, a host, at most 2048 bytes, no spaces or
// control characters. The error says what is wrong.
result<std::string> check_live_url(std::string_view url);
// The URL without its stream key (events, logs): scheme, host, port and the first path
// segment (the application), "/..." for the rest.
std::string redact_live_url(std::string_view url);

// Where a stream goes, as events, webhooks and logs show it: target "rtmp" with the URL
// without its key, or "hls" (`rtmp_url` empty) with the playlist's path,
// /live/ROOM/index.m3u8.
struct live_destination {
  std::string target;
  std::string where;
};
live_destination live_destination_of(std::string_view room_id, std::string_view rtmp_url);

// A room's HLS directory (its playlist and segments) under live.directory `directory`; the
// room's name made file-safe as the recordings' is (protocol::file_part).
std::string live_room_directory(std::string_view directory, std::string_view room_id);

// The SDP of the composer's inputs: input i on `ports[i]` of 127.0.0.1.
std::string live_inputs_sdp(const std::vector<uint16_t>& ports);

struct live_encoding {
  uint32_t video_kbps = 2500;
  uint32_t audio_kbps = 128;
  uint32_t fps = 30;
  uint32_t hls_list_size = 0; // 0: every segment stays listed (the playlist is a replay)
  bool continuing = false;    // a restarted composer: HLS goes on after a discontinuity
};

// The FFmpeg arguments after the binary: read `sdp_path`, compose, encode, and write to
// `rtmp_url` (FLV) or, when that is empty, HLS into `hls_dir` (index.m3u8, segment_N.ts;
// a composer `continuing` the stream appends to the playlist after a discontinuity).
std::vector<std::string> live_ffmpeg_args(const std::string& sdp_path, const std::string& rtmp_url,
                                          const std::string& hls_dir, const live_encoding& enc);

} // namespace chorus::protocol
