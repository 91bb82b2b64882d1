// FLV (Adobe's Flash Video file format, 10.1 Annex E): the container RTMP's audio and video
// messages are tag bodies of. Chorus writes an RTMP publisher's messages as an FLV stream
// onto the pipe of the FFmpeg child that turns them into RTP (actors/rtmp_ingest.hpp), and
// reads the tag bodies' first bytes to learn what the stream carries before it produces.
// Pure.
#pragma once

#include "common/result.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace chorus::protocol {

inline constexpr uint8_t flv_audio_tag = 8;
inline constexpr uint8_t flv_video_tag = 9;

// The file header (with the first PreviousTagSize, 0).
std::vector<uint8_t> flv_header(bool audio, bool video);
// Appends one tag: its 11-byte header, `body`, and its PreviousTagSize.
void append_flv_tag(std::vector<uint8_t>& out, uint8_t type, uint32_t timestamp,
                    std::span<const uint8_t> body);

// What a publisher's first tags say: whether it sends video (H.264 only: its SPS's profile
// and level as an SDP profile-level-id, from the AVC sequence header; and whether it has
// B-frames, which browsers' WebRTC decoders play badly: a composition time offset in its
// first rtmp_probe_frames pictures) and audio (any codec: FFmpeg transcodes it to Opus).
// `ready` once both kinds are known (video: the sequence header and those pictures), or
// once rtmp_probe_window_ms of the stream's time has gone by with one of them only.
class flv_stream_probe {
public:
  static constexpr uint32_t rtmp_probe_window_ms = 2000;
  static constexpr uint32_t rtmp_probe_frames = 8;

  // A tag of the publisher's; an error for video that is not H.264 (enhanced RTMP's
  // HEVC or AV1, VP6, Sorenson).
  result<bool> add(uint8_t type, uint32_t timestamp, std::span<const uint8_t> body);
  bool ready() const noexcept { return ready_; }
  bool has_audio() const noexcept { return audio_; }
  bool has_video() const noexcept { return !profile_level_id_.empty(); }
  const std::string& profile_level_id() const noexcept { return profile_level_id_; }
  uint8_t audio_format() const noexcept { return audio_format_; } // SoundFormat (10: AAC)
  bool b_frames() const noexcept { return b_frames_; }

private:
  bool ready_ = false;
  bool audio_ = false;
  bool video_seen_ = false;
  bool b_frames_ = false;
  uint32_t frames_ = 0;
  uint8_t audio_format_ = 0;
  std::string profile_level_id_;
  std::optional<uint32_t> first_;
};

} // namespace chorus::protocol
