#include "bench/load/media.hpp"

#include "rtp/rtcp_bytes.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>
#include <iterator>

namespace chorus::bench {

using rtp::rtcp_bytes::put16;
using rtp::rtcp_bytes::put32;

namespace {

constexpr uint64_t catch_up_limit_us = 500000; // further behind: skip, do not burst
constexpr std::size_t min_video_payload = 32;
constexpr uint8_t opus_toc = 0x78; // config 15 (hybrid fullband 20 ms), mono, one frame

} // namespace

uint64_t mono_us() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000u + uint64_t(ts.tv_nsec) / 1000u;
}

uint64_t stamp_clock_us() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000u + uint64_t(ts.tv_nsec) / 1000u;
}

void write_send_stamp(std::span<uint8_t> payload, uint64_t us) noexcept {
  if (payload.size() < send_stamp_size)
    return;
  uint8_t* p = payload.data() + payload.size() - send_stamp_size;
  for (int i = 7; i >= 0; --i) {
    p[i] = uint8_t(us);
    us >>= 8;
  }
}

std::optional<uint64_t> read_send_stamp(std::span<const uint8_t> payload) noexcept {
  if (payload.size() < send_stamp_size)
    return std::nullopt;
  const uint8_t* p = payload.data() + payload.size() - send_stamp_size;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | p[i];
  return v;
}

std::optional<uint8_t> read_encoding_tag(std::span<const uint8_t> payload) noexcept {
  if (payload.size() < send_stamp_size + 1)
    return std::nullopt;
  const uint8_t b = payload[payload.size() - send_stamp_size - 1];
  if ((b & 0xF0) != 0xE0 || (b & 0x0F) >= max_simulcast_encodings)
    return std::nullopt;
  return uint8_t(b & 0x0F);
}

void packet_pacer::push(uint64_t now_us, std::span<const uint8_t> packet,
                        std::size_t payload_offset, std::size_t tag) {
  if (empty() && next_us_ < now_us)
    next_us_ = now_us; // idle: no credit kept
  queue_.push_back({std::vector<uint8_t>(packet.begin(), packet.end()), payload_offset, tag});
}

std::vector<video_config> simulcast_ladder(const video_config& top) {
  static constexpr uint32_t ladder_kbps[] = {150, 400, 1200};
  constexpr std::size_t n = std::size(ladder_kbps);
  std::vector<video_config> out;
  for (std::size_t i = 0; i < n; ++i) {
    video_config c = top;
    const uint64_t scaled = (uint64_t(top.kbps) * ladder_kbps[i] + ladder_kbps[n - 1] / 2) /
                            ladder_kbps[n - 1];
    c.kbps = uint32_t(std::max<uint64_t>(1, scaled));
    const unsigned shift = unsigned(n - 1 - i); // a quarter, a half, the whole
    c.width = uint16_t(std::max(16, top.width >> shift));
    c.height = uint16_t(std::max(16, top.height >> shift));
    c.temporal_layers = 3;
    c.encoding = int8_t(i);
    out.push_back(c);
  }
  return out;
}

uint8_t temporal_id_of(uint64_t k, uint8_t layers) noexcept {
  static constexpr uint8_t l1t3[] = {0, 2, 1, 2};
  if (layers >= 3)
    return l1t3[k % 4];
  if (layers == 2)
    return uint8_t(k % 2);
  return 0;
}

bool layer_sync_of(uint64_t k, uint8_t layers) noexcept {
  if (k == 0)
    return true; // the keyframe refers to nothing
  if (layers >= 3)
    return k % 4 == 1 || k % 4 == 2; // TID 2 and TID 1 on the base frame alone
  if (layers == 2)
    return k % 2 == 1;
  return false;
}

std::size_t write_rtp_header(std::span<uint8_t> out, const rtp_fields& f,
                             const extension_ids& ids, std::string_view mid,
                             uint16_t transport_seq) noexcept {
  if (f.payload_type > 127 || ids.mid > 14 || ids.transport_cc > 14 || mid.size() > 16)
    return 0;
  const bool with_mid = ids.mid != 0 && !mid.empty();
  const bool with_tcc = ids.transport_cc != 0;
  std::size_t elements = (with_mid ? 1 + mid.size() : 0) + (with_tcc ? 3 : 0);
  const std::size_t ext_words = (elements + 3) / 4;
  const std::size_t header = 12 + (elements ? 4 + ext_words * 4 : 0);
  if (out.size() < header)
    return 0;
  uint8_t* p = out.data();
  p[0] = uint8_t(0x80 | (elements ? 0x10 : 0));
  p[1] = uint8_t((f.marker ? 0x80 : 0) | f.payload_type);
  put16(out, 2, f.sequence);
  put32(out, 4, f.timestamp);
  put32(out, 8, f.ssrc);
  if (!elements)
    return header;
  put16(out, 12, 0xBEDE);
  put16(out, 14, uint16_t(ext_words));
  std::size_t o = 16;
  if (with_mid) {
    p[o++] = uint8_t((ids.mid << 4) | (mid.size() - 1));
    std::memcpy(p + o, mid.data(), mid.size());
    o += mid.size();
  }
  if (with_tcc) {
    p[o++] = uint8_t((ids.transport_cc << 4) | 1);
    put16(out, o, transport_seq);
    o += 2;
  }
  while (o < header)
    p[o++] = 0; // RFC 8285 padding
  return header;
}

frame_sizes plan_frames(const video_config& c) noexcept {
  const double bytes_per_s = double(c.kbps) * 1000.0 / 8.0;
  const double fps = std::max<uint32_t>(c.fps, 1);
  const double m = std::max(c.keyframe_factor, 1.0);
  double delta;
  if (c.keyframe_interval_s > 0) {
    const double frames = std::max(1.0, fps * c.keyframe_interval_s);
    delta = bytes_per_s * c.keyframe_interval_s / (frames - 1.0 + m);
  } else {
    delta = bytes_per_s / fps;
  }
  frame_sizes s;
  s.delta_bytes = std::max<std::size_t>(min_video_payload, std::size_t(std::lround(delta)));
  s.key_bytes = std::max<std::size_t>(min_video_payload, std::size_t(std::lround(delta * m)));
  return s;
}

// ---- video -------------------------------------------------------------------------------

video_source::video_source(const video_config& config, rtp_fields first, extension_ids ids,
                           std::string mid, uint64_t start_us) noexcept
    : c_(config), sizes_(plan_frames(config)), f_(first), ids_(ids), mid_(std::move(mid)),
      start_us_(start_us), ts0_(first.timestamp), next_us_(start_us) {
  if (c_.fps == 0)
    c_.fps = 30;
  c_.max_payload = std::clamp<std::size_t>(c_.max_payload, 64, max_rtp_packet - 40);
  c_.temporal_layers = std::clamp<uint8_t>(c_.temporal_layers, 1, 3);
  if (c_.encoding >= int8_t(max_simulcast_encodings))
    c_.encoding = -1;
  picture_id_ = uint16_t(first.sequence & 0x7FFF);
  tl0picidx_ = uint8_t(first.sequence >> 8);
}

std::size_t video_source::begin_frame(uint64_t now_us) noexcept {
  if (now_us > next_us_ + catch_up_limit_us) // far behind (a stall): skip the missed frames
    frame_index_ = (now_us - start_us_) * c_.fps / 1000000u;
  const bool periodic = c_.keyframe_interval_s > 0 && frame_index_ >= next_periodic_key_;
  frame_key_ = frames_ == 0 || key_requested_ || periodic;
  if (frame_key_) {
    key_requested_ = false;
    next_periodic_key_ =
      frame_index_ + std::max<uint64_t>(1, uint64_t(std::llround(c_.fps * c_.keyframe_interval_s)));
    ++keyframes_;
    since_key_ = 0; // the temporal pattern starts over at a keyframe
  }
  frame_tid_ = temporal_id_of(since_key_, c_.temporal_layers);
  frame_sync_ = layer_sync_of(since_key_, c_.temporal_layers);
  if (frame_tid_ == 0)
    ++tl0picidx_;
  ++since_key_;
  f_.timestamp = ts0_ + uint32_t(frame_index_ * 90000u / c_.fps);
  frame_bytes_ = frame_key_ ? sizes_.key_bytes : sizes_.delta_bytes;
  frame_packets_ = (frame_bytes_ + c_.max_payload - 1) / c_.max_payload;
  picture_id_ = uint16_t((picture_id_ + 1) & 0x7FFF);
  ++frame_index_;
  ++frames_;
  next_us_ = start_us_ + frame_index_ * 1000000u / c_.fps;
  return frame_packets_;
}

built_packet video_source::build_packet(std::size_t i, std::span<uint8_t> out,
                                        uint16_t& transport_seq) noexcept {
  built_packet b;
  if (i >= frame_packets_ || out.size() < max_rtp_packet)
    return b;
  const bool first = i == 0;
  const bool last = i + 1 == frame_packets_;
  std::size_t payload = last ? frame_bytes_ - (frame_packets_ - 1) * c_.max_payload
                             : c_.max_payload;
  payload = std::max(payload, min_video_payload);
  rtp_fields f = f_;
  f.marker = last;
  const std::size_t h = write_rtp_header(out, f, ids_, mid_, transport_seq);
  if (h == 0 || h + payload > out.size())
    return b;
  ++f_.sequence;
  ++transport_seq;
  uint8_t* p = out.data() + h;
  const bool layered = c_.temporal_layers > 1;
  // N: the top temporal layer's frames are references of nothing.
  const bool non_reference = layered && !frame_key_ && frame_tid_ + 1 == c_.temporal_layers;
  p[0] = uint8_t(0x80 | (non_reference ? 0x20 : 0) | (first ? 0x10 : 0)); // X, N, S; PID 0
  p[1] = uint8_t(0x80 | (layered ? 0x60 : 0)); // I: PictureID; L, T: TL0PICIDX, TID
  p[2] = uint8_t(0x80 | ((picture_id_ >> 8) & 0x7F));
  p[3] = uint8_t(picture_id_);
  std::size_t o = vp8_descriptor_size;
  if (layered) {
    p[o++] = tl0picidx_;
    p[o++] = uint8_t((frame_tid_ << 6) | (frame_sync_ ? 0x20 : 0)); // TID, Y, KEYIDX 0
  }
  if (first) {
    // RFC 6386 §9.1 frame tag: P (0 = keyframe), version 0, show_frame 1, first partition
    // size (19 bits).
    const uint32_t part = uint32_t(std::min<std::size_t>(frame_bytes_ / 4, 0x7FFFF));
    p[o++] = uint8_t(((part & 0x7) << 5) | 0x10 | (frame_key_ ? 0 : 1));
    p[o++] = uint8_t(part >> 3);
    p[o++] = uint8_t(part >> 11);
    if (frame_key_) {
      p[o++] = 0x9d;
      p[o++] = 0x01;
      p[o++] = 0x2a;
      p[o++] = uint8_t(c_.width);
      p[o++] = uint8_t((c_.width >> 8) & 0x3F);
      p[o++] = uint8_t(c_.height);
      p[o++] = uint8_t((c_.height >> 8) & 0x3F);
    }
  }
  if (payload > o + send_stamp_size) {
    std::memset(p + o, 0x5A, payload - o - send_stamp_size);
    if (c_.encoding >= 0)
      p[payload - send_stamp_size - 1] = uint8_t(0xE0 | c_.encoding);
  }
  std::memset(p + payload - send_stamp_size, 0, send_stamp_size);
  b.size = h + payload;
  b.payload_offset = h;
  return b;
}

uint32_t video_source::rtp_timestamp_at(uint64_t now_us) const noexcept {
  return ts0_ + uint32_t((now_us - start_us_) * 9 / 100); // 90 kHz
}

// ---- audio -------------------------------------------------------------------------------

audio_source::audio_source(rtp_fields first, extension_ids ids, std::string mid,
                           uint64_t start_us, std::size_t payload_bytes) noexcept
    : f_(first), ids_(ids), mid_(std::move(mid)), start_us_(start_us), ts0_(first.timestamp),
      next_us_(start_us),
      payload_bytes_(std::clamp<std::size_t>(payload_bytes, 1 + send_stamp_size, 1000)) {}

built_packet audio_source::build_packet(uint64_t now_us, std::span<uint8_t> out,
                                        uint16_t& transport_seq) noexcept {
  built_packet b;
  if (out.size() < max_rtp_packet)
    return b;
  if (now_us > next_us_ + catch_up_limit_us)
    index_ = (now_us - start_us_) / interval_us;
  rtp_fields f = f_;
  f.timestamp = ts0_ + uint32_t(index_ * samples_per_packet);
  f.marker = index_ == 0;
  const std::size_t h = write_rtp_header(out, f, ids_, mid_, transport_seq);
  if (h == 0)
    return b;
  ++f_.sequence;
  ++transport_seq;
  uint8_t* p = out.data() + h;
  p[0] = opus_toc;
  std::memset(p + 1, 0xA5, payload_bytes_ - 1 - send_stamp_size);
  std::memset(p + payload_bytes_ - send_stamp_size, 0, send_stamp_size);
  ++index_;
  next_us_ = start_us_ + index_ * interval_us;
  b.size = h + payload_bytes_;
  b.payload_offset = h;
  return b;
}

uint32_t audio_source::rtp_timestamp_at(uint64_t now_us) const noexcept {
  return ts0_ + uint32_t((now_us - start_us_) * 48 / 1000); // 48 kHz
}

// ---- history -----------------------------------------------------------------------------

void send_history::store(uint16_t seq, std::span<const uint8_t> packet) {
  if (slots_.empty())
    return;
  auto& s = slots_[seq % slots_.size()];
  s.used = true;
  s.seq = seq;
  s.bytes.assign(packet.begin(), packet.end());
}

std::optional<std::span<const uint8_t>> send_history::find(uint16_t seq) const noexcept {
  if (slots_.empty())
    return std::nullopt;
  auto& s = slots_[seq % slots_.size()];
  if (!s.used || s.seq != seq)
    return std::nullopt;
  return std::span<const uint8_t>(s.bytes);
}

} // namespace chorus::bench
