#include "rtp/vp9_frames.hpp"

#include "rtp/bit_reader.hpp"

#include <algorithm>

namespace chorus::rtp {

std::optional<vp9_descriptor> parse_vp9_descriptor(std::span<const uint8_t> p) noexcept {
  if (p.empty())
    return std::nullopt;
  vp9_descriptor d;
  const uint8_t b0 = p[0];
  const bool has_pid = b0 & 0x80;
  d.inter_picture = b0 & 0x40;
  d.layer_indices = b0 & 0x20;
  d.flexible = b0 & 0x10;
  d.begin = b0 & 0x08;
  d.end = b0 & 0x04;
  d.has_ss = b0 & 0x02;
  d.not_upper_reference = b0 & 0x01;
  std::size_t off = 1;
  auto byte = [&](uint8_t& v) {
    if (off >= p.size())
      return false;
    v = p[off++];
    return true;
  };
  uint8_t v = 0;
  if (has_pid) {
    if (!byte(v))
      return std::nullopt;
    if (v & 0x80) { // M: 15 bits
      uint8_t lo = 0;
      if (!byte(lo))
        return std::nullopt;
      d.picture_id = uint16_t(((v & 0x7F) << 8) | lo);
    } else {
      d.picture_id = uint16_t(v & 0x7F);
    }
  }
  if (d.layer_indices) {
    if (!byte(v))
      return std::nullopt;
    d.temporal_id = v >> 5;
    d.switching_up = v & 0x10;
    d.spatial_id = (v >> 1) & 0x07;
    d.inter_layer = v & 0x01;
    if (!d.flexible) {
      uint8_t tl0 = 0;
      if (!byte(tl0))
        return std::nullopt;
      d.tl0_pic_idx = tl0;
    }
  }
  if (d.flexible && d.inter_picture) {
    // Up to three P_DIFF bytes, each with N (another follows) in its low bit.
    for (int i = 0;; ++i) {
      if (i == 3 || !byte(v))
        return std::nullopt;
      d.p_diffs.push_back(uint8_t(v >> 1));
      if (!(v & 0x01))
        break;
    }
  }
  if (d.has_ss) {
    if (!byte(v))
      return std::nullopt;
    d.ss_spatial_layers = uint8_t((v >> 5) + 1);
    const bool y = v & 0x10;
    const bool g = v & 0x08;
    if (y)
      for (int i = 0; i < d.ss_spatial_layers; ++i) {
        uint8_t w0 = 0, w1 = 0, h0 = 0, h1 = 0;
        if (!byte(w0) || !byte(w1) || !byte(h0) || !byte(h1))
          return std::nullopt;
        d.ss_resolutions.emplace_back(uint16_t((w0 << 8) | w1), uint16_t((h0 << 8) | h1));
      }
    if (g) {
      uint8_t groups = 0;
      if (!byte(groups))
        return std::nullopt;
      for (int i = 0; i < groups; ++i) {
        if (!byte(v))
          return std::nullopt;
        const int refs = (v >> 2) & 0x03;
        if (off + std::size_t(refs) > p.size())
          return std::nullopt;
        off += std::size_t(refs);
      }
    }
  }
  // An SS-only packet may carry no data; every other one must.
  if (off > p.size() || (off == p.size() && !d.has_ss))
    return std::nullopt;
  d.size = off;
  return d;
}

std::optional<vp9_frame_info> parse_vp9_frame_header(std::span<const uint8_t> frame) noexcept {
  bit_reader r(frame);
  uint32_t marker = 0, lo = 0, hi = 0, bit = 0;
  if (!r.read(2, marker) || marker != 2 || !r.read(1, lo) || !r.read(1, hi))
    return std::nullopt;
  vp9_frame_info f;
  f.profile = uint8_t((hi << 1) | lo);
  if (f.profile == 3 && (!r.read(1, bit) || bit != 0))
    return std::nullopt;
  if (!r.read(1, bit))
    return std::nullopt;
  f.show_existing_frame = bit;
  if (f.show_existing_frame)
    return f;
  uint32_t frame_type = 0, show_frame = 0, error_resilient = 0;
  if (!r.read(1, frame_type) || !r.read(1, show_frame) || !r.read(1, error_resilient))
    return std::nullopt;
  f.keyframe = frame_type == 0;
  if (!f.keyframe)
    return f;
  uint32_t sync = 0;
  if (!r.read(24, sync) || sync != 0x498342)
    return std::nullopt;
  if (f.profile >= 2 && !r.read(1, bit)) // ten_or_twelve_bit
    return std::nullopt;
  uint32_t color_space = 0;
  if (!r.read(3, color_space))
    return std::nullopt;
  const bool odd_profile = f.profile == 1 || f.profile == 3;
  if (color_space != 7) { // not CS_RGB
    if (!r.read(1, bit)) // color_range
      return std::nullopt;
    if (odd_profile && !r.read(3, bit)) // subsampling_x, subsampling_y, reserved_zero
      return std::nullopt;
  } else if (odd_profile && !r.read(1, bit)) { // reserved_zero
    return std::nullopt;
  }
  uint32_t w = 0, h = 0;
  if (!r.read(16, w) || !r.read(16, h))
    return std::nullopt;
  f.width = uint16_t(w + 1);
  f.height = uint16_t(h + 1);
  return f;
}

std::vector<uint8_t> vp9_superframe(const std::vector<std::vector<uint8_t>>& frames) {
  if (frames.size() == 1)
    return frames.front();
  std::vector<uint8_t> out;
  std::size_t largest = 0, total = 0;
  for (auto& f : frames) {
    largest = std::max(largest, f.size());
    total += f.size();
  }
  // Bytes per size in the index: 1 to 4 (frames of a superframe are under 4 GiB).
  uint8_t mag = 1;
  while (mag < 4 && (largest >> (8 * mag)) != 0)
    ++mag;
  const std::size_t n = std::min<std::size_t>(frames.size(), 8); // the index holds 8 at most
  const uint8_t marker = uint8_t(0xC0 | ((mag - 1) << 3) | (n - 1));
  out.reserve(total + 2 + n * mag);
  for (std::size_t i = 0; i < n; ++i)
    out.insert(out.end(), frames[i].begin(), frames[i].end());
  out.push_back(marker);
  for (std::size_t i = 0; i < n; ++i)
    for (uint8_t k = 0; k < mag; ++k)
      out.push_back(uint8_t(frames[i].size() >> (8 * k)));
  out.push_back(marker);
  return out;
}

void vp9_assembler::discard() {
  if (open_)
    ++counters_.dropped_pictures;
  open_ = false;
  broken_ = false;
  in_layer_frame_ = false;
  frames_.clear();
  picture_bytes_ = 0;
}

void vp9_assembler::oversized() {
  if (!broken_)
    ++counters_.oversized;
  broken_ = true;
}

void vp9_assembler::finish(std::vector<picture>& out) {
  if (!open_)
    return;
  if (broken_ || in_layer_frame_ || frames_.empty()) { // a packet of it is missing
    waiting_keyframe_ = true;
    discard();
    return;
  }
  picture pic;
  pic.timestamp = timestamp_;
  auto info = parse_vp9_frame_header(frames_.front());
  pic.keyframe = !first_inter_ && info && info->keyframe;
  if (pic.keyframe) {
    pic.width = info->width ? info->width : ss_width_;
    pic.height = info->height ? info->height : ss_height_;
  }
  if (waiting_keyframe_ && !pic.keyframe) {
    discard();
    return;
  }
  waiting_keyframe_ = false;
  pic.data = vp9_superframe(frames_);
  open_ = false;
  frames_.clear();
  picture_bytes_ = 0;
  ++counters_.pictures;
  if (pic.keyframe)
    ++counters_.keyframes;
  out.push_back(std::move(pic));
}

void vp9_assembler::flush(std::vector<picture>& out) {
  finish(out);
}

void vp9_assembler::push(uint16_t seq, uint32_t timestamp, bool marker,
                         std::span<const uint8_t> payload, std::vector<picture>& out) {
  ++counters_.packets;
  // Packets come in order (rtp/reorder_buffer.hpp): a repeat or a straggler is ignored;
  // one far behind is the stream started over there, a gap like any other.
  const auto behind = int16_t(seq - next_seq_);
  if (have_seq_ && behind < 0 && behind >= -int(old_window))
    return;
  const bool gap = have_seq_ && seq != next_seq_;
  have_seq_ = true;
  next_seq_ = uint16_t(seq + 1);
  if (gap) {
    // The open picture lost a packet; whatever was lost, later pictures may refer to it:
    // nothing more until a keyframe (which may be the picture this packet starts).
    ++counters_.gaps;
    broken_ = open_;
    waiting_keyframe_ = true;
  }
  auto d = parse_vp9_descriptor(payload);
  if (!d) {
    ++counters_.malformed;
    broken_ = open_;
    return;
  }
  if (open_ && timestamp != timestamp_)
    finish(out); // the previous picture ended without a marker
  if (d->has_ss && !d->ss_resolutions.empty()) {
    ss_width_ = d->ss_resolutions.back().first; // the highest layer: what a decoder shows
    ss_height_ = d->ss_resolutions.back().second;
  }
  const auto data = payload.subspan(d->size);
  if (!open_) {
    if (!d->begin) // joined in the middle of a picture
      return;
    open_ = true;
    broken_ = false;
    timestamp_ = timestamp;
    first_inter_ = d->inter_picture;
  }
  if (d->begin) {
    if (in_layer_frame_)
      broken_ = true; // the previous layer frame never ended
    if (frames_.size() >= max_layer_frames)
      oversized();
    if (!broken_)
      frames_.emplace_back();
    in_layer_frame_ = true;
  }
  if (!in_layer_frame_) {
    broken_ = true;
  } else if (!broken_ && !data.empty()) {
    if (picture_bytes_ + data.size() > max_picture_bytes) {
      oversized();
    } else {
      frames_.back().insert(frames_.back().end(), data.begin(), data.end());
      picture_bytes_ += data.size();
    }
  }
  if (broken_) { // it will be dropped: nothing of it is kept meanwhile
    frames_.clear();
    picture_bytes_ = 0;
  }
  if (d->end)
    in_layer_frame_ = false;
  if (marker)
    finish(out);
}

namespace {
void put16(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(uint8_t(x));
  v.push_back(uint8_t(x >> 8));
}
void put32(std::vector<uint8_t>& v, uint32_t x) {
  for (int i = 0; i < 4; ++i)
    v.push_back(uint8_t(x >> (8 * i)));
}
} // namespace

std::vector<uint8_t> ivf_file_header(const char (&fourcc)[5], uint16_t width, uint16_t height,
                                     uint32_t rate, uint32_t frame_count) {
  std::vector<uint8_t> h{'D', 'K', 'I', 'F'};
  put16(h, 0);  // version
  put16(h, 32); // header size
  h.insert(h.end(), fourcc, fourcc + 4);
  put16(h, width);
  put16(h, height);
  put32(h, rate); // time base denominator
  put32(h, 1);    // numerator
  put32(h, frame_count);
  put32(h, 0);    // unused
  return h;
}

void append_ivf_frame(std::vector<uint8_t>& out, std::span<const uint8_t> frame, uint64_t pts) {
  put32(out, uint32_t(frame.size()));
  put32(out, uint32_t(pts));
  put32(out, uint32_t(pts >> 32));
  out.insert(out.end(), frame.begin(), frame.end());
}

} // namespace chorus::rtp
