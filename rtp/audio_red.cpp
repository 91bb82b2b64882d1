#include "rtp/audio_red.hpp"

#include <cstring>

namespace chorus::rtp {

namespace {

// One parsed header: where it ends and what it says.
struct header_walk {
  red_payload out;
  size_t data_at = 0; // where the first block's data begins
  std::array<size_t, red_max_blocks> lengths{};
};

std::optional<header_walk> walk_headers(std::span<const uint8_t> p) noexcept {
  header_walk w;
  size_t at = 0;
  for (;;) {
    if (at >= p.size() || w.out.count == red_max_blocks)
      return std::nullopt;
    auto& b = w.out.blocks[w.out.count];
    b.payload_type = uint8_t(p[at] & 0x7F);
    if ((p[at] & 0x80) == 0) { // the primary's header ends the chain
      ++w.out.count;
      ++at;
      break;
    }
    if (at + 4 > p.size())
      return std::nullopt;
    b.timestamp_offset = uint16_t((uint32_t(p[at + 1]) << 6) | (p[at + 2] >> 2));
    w.lengths[w.out.count] = (size_t(p[at + 2] & 0x03) << 8) | p[at + 3];
    ++w.out.count;
    at += 4;
  }
  w.data_at = at;
  return w;
}

void write_header(uint8_t* at, uint8_t pt, uint32_t offset, size_t length) noexcept {
  at[0] = uint8_t(0x80 | (pt & 0x7F));
  at[1] = uint8_t(offset >> 6);
  at[2] = uint8_t(((offset & 0x3F) << 2) | ((length >> 8) & 0x03));
  at[3] = uint8_t(length & 0xFF);
}

} // namespace

std::optional<red_payload> parse_red(std::span<const uint8_t> payload) noexcept {
  auto w = walk_headers(payload);
  if (!w)
    return std::nullopt;
  size_t at = w->data_at;
  for (size_t i = 0; i + 1 < w->out.count; ++i) {
    if (w->lengths[i] > payload.size() - at)
      return std::nullopt;
    w->out.blocks[i].data = payload.subspan(at, w->lengths[i]);
    at += w->lengths[i];
  }
  w->out.blocks[w->out.count - 1].data = payload.subspan(at);
  return w->out;
}

bool map_red_payload_types(std::span<uint8_t> payload,
                           const std::array<int16_t, 128>& map) noexcept {
  auto parsed = parse_red(payload);
  if (!parsed)
    return false;
  for (size_t i = 0; i < parsed->count; ++i)
    if (map[parsed->blocks[i].payload_type] < 0)
      return false;
  // Each header's first byte: 4 bytes apart, the primary's last.
  for (size_t i = 0; i < parsed->count; ++i) {
    auto& b = payload[i * 4];
    b = uint8_t((b & 0x80) | (map[b & 0x7F] & 0x7F));
  }
  return true;
}

size_t write_red_alone(uint8_t payload_type, std::span<const uint8_t> primary,
                       std::span<uint8_t> out) noexcept {
  if (out.size() < primary.size() + 1)
    return 0;
  out[0] = uint8_t(payload_type & 0x7F);
  if (!primary.empty())
    std::memcpy(out.data() + 1, primary.data(), primary.size());
  return primary.size() + 1;
}

size_t red_encoder::wrap(uint16_t seq, uint32_t timestamp, std::span<const uint8_t> primary,
                         std::span<uint8_t> out) noexcept {
  if (out.size() < max_size(primary.size()))
    return 0;
  // The blocks to repeat, newest first: the packets just before this one, within bounds.
  std::array<const entry*, max_distance> chosen{};
  size_t n = 0;
  size_t total = primary.size() + 1;
  for (size_t i = 0; i < distance_; ++i) {
    const auto& e = recent(i);
    const uint16_t back = uint16_t(seq - e.seq);
    const uint32_t offset = timestamp - e.timestamp;
    if (!e.valid || back == 0 || back > distance_ || offset == 0 ||
        offset > red_max_timestamp_offset || total + 4 + e.size > max_payload)
      continue;
    chosen[n++] = &e;
    total += 4 + e.size;
  }
  // Oldest first: the headers, then the data in the same order.
  uint8_t* at = out.data();
  for (size_t i = n; i-- > 0; at += 4)
    write_header(at, pt_, timestamp - chosen[i]->timestamp, chosen[i]->size);
  *at++ = pt_;
  for (size_t i = n; i-- > 0;) {
    std::memcpy(at, chosen[i]->bytes.data(), chosen[i]->size);
    at += chosen[i]->size;
  }
  if (!primary.empty())
    std::memcpy(at, primary.data(), primary.size());
  at += primary.size();
  remember(seq, timestamp, primary);
  return size_t(at - out.data());
}

void red_encoder::remember(uint16_t seq, uint32_t timestamp,
                           std::span<const uint8_t> primary) noexcept {
  // Only a packet after the newest one joins the history (a late one would push out a
  // newer entry).
  if (remembered_) {
    const uint16_t ahead = uint16_t(seq - recent(0).seq);
    if (ahead == 0 || ahead >= 0x8000)
      return;
  }
  remembered_ = true;
  newest_ = (newest_ + 1) % max_distance;
  auto& e = history_[newest_];
  e.valid = primary.size() <= max_remembered; // a longer one cannot be repeated
  e.seq = seq;
  e.timestamp = timestamp;
  e.size = uint16_t(e.valid ? primary.size() : 0);
  if (e.valid && !primary.empty())
    std::memcpy(e.bytes.data(), primary.data(), primary.size());
}

std::optional<size_t> red_converter::convert(uint16_t seq, uint32_t timestamp,
                                             std::span<const uint8_t> payload, bool again,
                                             int64_t now_ms, std::span<uint8_t> out) noexcept {
  if (to_red_) {
    encoder_->set_distance(protection_.distance(now_ms));
    const size_t n = again ? write_red_alone(opus_pt_, payload, out)
                           : encoder_->wrap(seq, timestamp, payload, out);
    return n == 0 ? std::nullopt : std::optional<size_t>(n);
  }
  auto red = parse_red(payload);
  if (!red || red->primary().data.empty() || red->primary().payload_type != opus_pt_ ||
      out.size() < red->primary().data.size())
    return std::nullopt;
  std::memcpy(out.data(), red->primary().data.data(), red->primary().data.size());
  return red->primary().data.size();
}

} // namespace chorus::rtp

