#include "rtp/vp8_descriptor.hpp"

namespace chorus::rtp {

namespace {

// First byte: |X|R|N|S|R| PID |
constexpr uint8_t bit_x = 0x80;
constexpr uint8_t bit_n = 0x20;
constexpr uint8_t bit_s = 0x10;
constexpr uint8_t mask_pid = 0x07;
// Extension byte: |I|L|T|K| RSV |
constexpr uint8_t bit_i = 0x80;
constexpr uint8_t bit_l = 0x40;
constexpr uint8_t bit_t = 0x20;
constexpr uint8_t bit_k = 0x10;
// Picture id: |M| PictureID (7) | [PictureID (8)]
constexpr uint8_t bit_m = 0x80;
// T/K byte: |TID|Y| KEYIDX |
constexpr uint8_t bit_y = 0x20;
constexpr uint8_t mask_keyidx = 0x1f;
// VP8 payload header, first byte: |Size0|H| VER |P|
constexpr uint8_t bit_p = 0x01;

constexpr uint16_t mask15 = 0x7fff;
constexpr uint16_t mask7 = 0x7f;

// a is newer than b on a circle of mask + 1 values (mask + 1 a power of two): the forward
// distance from b to a is in 1 .. half - 1.
bool newer(uint16_t a, uint16_t b, uint16_t mask) noexcept {
  const uint16_t diff = uint16_t(a - b) & mask;
  return diff != 0 && diff < (mask + 1) / 2;
}

} // namespace

std::optional<vp8_descriptor> parse_vp8_descriptor(std::span<const uint8_t> p) noexcept {
  if (p.empty())
    return std::nullopt;
  vp8_descriptor d;
  const uint8_t b0 = p[0];
  d.non_reference = b0 & bit_n;
  d.start_of_partition = b0 & bit_s;
  d.partition_index = b0 & mask_pid;
  size_t off = 1;
  if (b0 & bit_x) {
    if (off >= p.size())
      return std::nullopt;
    const uint8_t ext = p[off++];
    if (ext & bit_i) {
      if (off >= p.size())
        return std::nullopt;
      const uint8_t hi = p[off++];
      d.has_picture_id = true;
      if (hi & bit_m) {
        if (off >= p.size())
          return std::nullopt;
        d.picture_id_15bit = true;
        d.picture_id = uint16_t(((hi & 0x7f) << 8) | p[off++]);
      } else {
        d.picture_id = hi & 0x7f;
      }
    }
    if (ext & bit_l) {
      if (off >= p.size())
        return std::nullopt;
      d.has_tl0picidx = true;
      d.tl0picidx = p[off++];
    }
    if (ext & (bit_t | bit_k)) {
      if (off >= p.size())
        return std::nullopt;
      const uint8_t tk = p[off++];
      if (ext & bit_t) {
        d.has_tid = true;
        d.tid = uint8_t(tk >> 6);
        d.layer_sync = tk & bit_y;
      }
      if (ext & bit_k) {
        d.has_keyidx = true;
        d.keyidx = tk & mask_keyidx;
      }
    }
  }
  d.size = off;
  d.start_of_frame = d.start_of_partition && d.partition_index == 0;
  d.keyframe = d.start_of_frame && off < p.size() && (p[off] & bit_p) == 0;
  return d;
}

bool rewrite_vp8_descriptor(std::span<uint8_t> p, const vp8_descriptor& d, uint16_t picture_id,
                            uint8_t tl0picidx) noexcept {
  if (!d.has_picture_id && !d.has_tl0picidx)
    return false;
  // Both fields live in the extension: X set, and the I / L bits as d says.
  if (p.size() < d.size || p.size() < 2 || (p[0] & bit_x) == 0 ||
      bool(p[1] & bit_i) != d.has_picture_id || bool(p[1] & bit_l) != d.has_tl0picidx)
    return false;
  size_t off = 2;
  const size_t pid_at = off;
  if (d.has_picture_id) {
    if (off >= p.size() || bool(p[off] & bit_m) != d.picture_id_15bit)
      return false;
    off += d.picture_id_15bit ? 2 : 1;
  }
  const size_t tl0_at = off;
  if (d.has_tl0picidx)
    off += 1;
  if (off > d.size || off > p.size())
    return false;
  // Checked: write.
  if (d.has_picture_id) {
    if (d.picture_id_15bit) {
      p[pid_at] = uint8_t(bit_m | ((picture_id >> 8) & 0x7f));
      p[pid_at + 1] = uint8_t(picture_id & 0xff);
    } else {
      p[pid_at] = uint8_t(picture_id & mask7);
    }
  }
  if (d.has_tl0picidx)
    p[tl0_at] = tl0picidx;
  return true;
}

bool vp8_continuity::rewrite(std::span<uint8_t> payload) noexcept {
  const auto d = parse_vp8_descriptor(payload);
  if (!d)
    return false;
  if (!d->has_picture_id && !d->has_tl0picidx)
    return true;

  uint16_t pid_out = d->picture_id;
  if (d->has_picture_id) {
    const uint16_t mask = d->picture_id_15bit ? mask15 : mask7;
    if (pid_pending_) {
      // Offset modulo 2^15; taken modulo 2^7 below for a 7-bit id, which is the same
      // offset on that circle.
      pid_offset_ =
        have_pid_out_ ? uint16_t(uint16_t(d->picture_id - uint16_t(high_pid_out_ + 1)) & mask15)
                      : 0;
      pid_pending_ = false;
    }
    pid_out = uint16_t(d->picture_id - pid_offset_) & mask;
    if (!have_pid_out_ || newer(pid_out, high_pid_out_, mask))
      high_pid_out_ = pid_out;
    have_pid_out_ = true;
  }

  uint8_t tl0_out = d->tl0picidx;
  if (d->has_tl0picidx) {
    if (tl0_pending_) {
      tl0_offset_ = have_tl0_out_ ? uint8_t(d->tl0picidx - uint8_t(high_tl0_out_ + 1)) : 0;
      tl0_pending_ = false;
    }
    tl0_out = uint8_t(d->tl0picidx - tl0_offset_);
    if (!have_tl0_out_ || newer(tl0_out, high_tl0_out_, 0xff))
      high_tl0_out_ = tl0_out;
    have_tl0_out_ = true;
  }

  return rewrite_vp8_descriptor(payload, *d, pid_out, tl0_out);
}

bool vp8_continuity::apply_tag(std::span<uint8_t> payload, uint32_t tag) noexcept {
  const auto d = parse_vp8_descriptor(payload);
  if (!d)
    return false;
  if (!d->has_picture_id && !d->has_tl0picidx)
    return true;
  const uint16_t mask = d->picture_id_15bit ? mask15 : mask7;
  const uint16_t pid_out = uint16_t(d->picture_id - uint16_t(tag & mask15)) & mask;
  const uint8_t tl0_out = uint8_t(d->tl0picidx - uint8_t(tag >> 16));
  return rewrite_vp8_descriptor(payload, *d, pid_out, tl0_out);
}

} // namespace chorus::rtp
