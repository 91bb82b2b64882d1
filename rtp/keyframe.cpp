#include "rtp/keyframe.hpp"

#include "common/text.hpp"

namespace chorus::rtp {

payload_codec payload_codec_of(std::string_view mime) noexcept {
  if (text::iequals(mime, "audio/opus"))
    return payload_codec::opus;
  if (text::iequals(mime, "video/VP8"))
    return payload_codec::vp8;
  if (text::iequals(mime, "video/VP9"))
    return payload_codec::vp9;
  if (text::iequals(mime, "video/H264"))
    return payload_codec::h264;
  if (text::iequals(mime, "video/AV1"))
    return payload_codec::av1;
  return payload_codec::other;
}

namespace {

constexpr uint8_t h264_nal_type_mask = 0x1F;
constexpr uint8_t h264_idr = 5;
constexpr uint8_t h264_sps = 7;
constexpr uint8_t h264_stap_a = 24;
constexpr uint8_t h264_fu_a = 28;

bool h264_key_nal(uint8_t type) noexcept { return type == h264_idr || type == h264_sps; }

} // namespace

bool is_vp8_keyframe(std::span<const uint8_t> p) noexcept {
  if (p.empty()) return false;
  const uint8_t b0 = p[0];
  const bool x = b0 & 0x80;
  const bool s = b0 & 0x10;
  const uint8_t pid = b0 & 0x07;
  size_t off = 1;
  if (x) {
    if (off >= p.size()) return false;
    const uint8_t ext = p[off++];
    if (ext & 0x80) { // I: PictureID, 7 or 15 bits
      if (off >= p.size()) return false;
      off += (p[off] & 0x80) ? 2 : 1;
    }
    if (ext & 0x40) off += 1;          // L: TL0PICIDX
    if (ext & 0x30) off += 1;          // T or K: TID/Y/KEYIDX
  }
  if (off >= p.size()) return false; // no VP8 payload header byte
  return s && pid == 0 && (p[off] & 0x01) == 0;
}

bool is_vp9_keyframe(std::span<const uint8_t> p) noexcept {
  if (p.empty()) return false;
  const uint8_t b0 = p[0];
  const bool i = b0 & 0x80;
  const bool inter = b0 & 0x40;
  const bool l = b0 & 0x20;
  const bool b = b0 & 0x08;
  size_t off = 1;
  if (i) {
    if (off >= p.size()) return false;
    off += (p[off] & 0x80) ? 2 : 1;
  }
  uint8_t sid = 0;
  if (l) {
    if (off >= p.size()) return false;
    sid = (p[off] >> 1) & 0x07;
  }
  return !inter && b && sid == 0;
}

namespace {

// Calls `nal(type, body)` for each NAL unit that starts in this payload (a single NAL unit,
// each unit of a STAP-A, the unit an FU-A's first fragment starts; `body`: what follows the
// unit's header, as far as this packet holds it) until one returns true.
template <class F>
bool any_h264_nal(std::span<const uint8_t> p, F&& nal) noexcept {
  if (p.empty()) return false;
  const uint8_t type = p[0] & h264_nal_type_mask;
  if (type == h264_stap_a) {
    size_t off = 1;
    while (off + 2 < p.size()) {
      const size_t size = (size_t(p[off]) << 8) | p[off + 1];
      off += 2;
      if (size == 0 || off + size > p.size()) return false; // malformed aggregate
      if (nal(uint8_t(p[off] & h264_nal_type_mask), p.subspan(off + 1, size - 1))) return true;
      off += size;
    }
    return false;
  }
  if (type == h264_fu_a) {
    if (p.size() < 2 || !(p[1] & 0x80)) return false; // not the fragments' first
    return nal(uint8_t(p[1] & h264_nal_type_mask), p.subspan(2));
  }
  return nal(type, p.subspan(1));
}

} // namespace

bool is_h264_keyframe(std::span<const uint8_t> p) noexcept {
  return any_h264_nal(p, [](uint8_t type, std::span<const uint8_t>) { return h264_key_nal(type); });
}

bool h264_keyframe_start(std::span<const uint8_t> p) noexcept {
  // An SPS, or an IDR slice whose header starts with first_mb_in_slice 0 (ue(v): a 1 bit).
  return any_h264_nal(p, [](uint8_t type, std::span<const uint8_t> body) {
    return type == h264_sps || (type == h264_idr && !body.empty() && (body[0] & 0x80));
  });
}

bool is_av1_keyframe(std::span<const uint8_t> p) noexcept {
  return !p.empty() && (p[0] & 0x08) && !(p[0] & 0x80); // N, not Z
}

bool is_keyframe(payload_codec codec, std::span<const uint8_t> payload) noexcept {
  switch (codec) {
    case payload_codec::vp8: return is_vp8_keyframe(payload);
    case payload_codec::vp9: return is_vp9_keyframe(payload);
    case payload_codec::h264: return is_h264_keyframe(payload);
    case payload_codec::av1: return is_av1_keyframe(payload);
    case payload_codec::opus:
    case payload_codec::other: return false;
  }
  return false;
}

bool keyframe_throttle::request(int64_t now_ms) noexcept {
  if (!sent_any_ || now_ms - last_sent_ms_ >= interval_ms_) {
    sent_any_ = true;
    last_sent_ms_ = now_ms;
    pending_ = false;
    return true;
  }
  pending_ = true;
  return false;
}

bool keyframe_throttle::due(int64_t now_ms) noexcept {
  if (!pending_ || now_ms - last_sent_ms_ < interval_ms_)
    return false;
  pending_ = false;
  last_sent_ms_ = now_ms;
  return true;
}

} // namespace chorus::rtp
