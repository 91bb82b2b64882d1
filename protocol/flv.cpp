#include "protocol/flv.hpp"

#include <cstdio>

namespace chorus::protocol {

namespace {

void put_be(std::vector<uint8_t>& out, uint32_t v, int n) {
  for (int shift = 8 * (n - 1); shift >= 0; shift -= 8)
    out.push_back(static_cast<uint8_t>(v >> shift));
}

constexpr uint8_t codec_avc = 7;        // VideoTagHeader CodecID
constexpr uint8_t avc_sequence_header = 0; // AVCPacketType
constexpr uint8_t avc_nalu = 1;

} // namespace

std::vector<uint8_t> flv_header(bool audio, bool video) {
  std::vector<uint8_t> out{'F', 'L', 'V', 1, static_cast<uint8_t>((audio ? 4 : 0) | (video ? 1 : 0))};
  put_be(out, 9, 4);
  put_be(out, 0, 4);
  return out;
}

void append_flv_tag(std::vector<uint8_t>& out, uint8_t type, uint32_t timestamp,
                    std::span<const uint8_t> body) {
  out.push_back(type);
  put_be(out, static_cast<uint32_t>(body.size()), 3);
  put_be(out, timestamp & 0xffffff, 3);
  out.push_back(static_cast<uint8_t>(timestamp >> 24)); // TimestampExtended
  put_be(out, 0, 3);                                    // StreamID
  out.insert(out.end(), body.begin(), body.end());
  put_be(out, static_cast<uint32_t>(11 + body.size()), 4);
}

result<bool> flv_stream_probe::add(uint8_t type, uint32_t timestamp, std::span<const uint8_t> body) {
  if (ready_ || body.empty())
    return true;
  if (!first_)
    first_ = timestamp;
  if (type == flv_audio_tag && !audio_) {
    audio_ = true;
    audio_format_ = body[0] >> 4;
  } else if (type == flv_video_tag) {
    video_seen_ = true;
    if (body[0] & 0x80) // enhanced RTMP: a FourCC (HEVC, AV1, VP9) instead of a CodecID
      return failure{"enhanced RTMP video (HEVC, AV1 or VP9 by FourCC); only H.264 is taken"};
    if ((body[0] & 0x0f) != codec_avc)
      return failure{"video CodecID " + std::to_string(body[0] & 0x0f) + "; only H.264 (7) is taken"};
    // AVCPacketType 0: the AVCDecoderConfigurationRecord after 3 bytes of composition time:
    // version, AVCProfileIndication, profile_compatibility, AVCLevelIndication.
    if (body.size() >= 9 && body[1] == avc_sequence_header && profile_level_id_.empty()) {
      char text[7];
      std::snprintf(text, sizeof text, "%02x%02x%02x", body[6], body[7], body[8]);
      profile_level_id_ = text;
    } else if (body.size() >= 5 && body[1] == avc_nalu) {
      ++frames_;
      // CompositionTime (SI24): a picture shown later than decoded is a B-frame's reorder.
      b_frames_ = b_frames_ || (body[2] | body[3] | body[4]) != 0;
    }
  }
  const bool window_over = timestamp >= *first_ && timestamp - *first_ >= rtmp_probe_window_ms;
  const bool video_known = has_video() && frames_ >= rtmp_probe_frames;
  if ((audio_ && video_known) || (window_over && (audio_ || has_video())))
    ready_ = true;
  else if (window_over && video_seen_ && !has_video() && !audio_)
    return failure{"H.264 video without its sequence header (AVCDecoderConfigurationRecord)"};
  return true;
}

} // namespace chorus::protocol
