#include "rtp/rtp_packet.hpp"

#include <algorithm>
#include <cstring>

namespace chorus::rtp {

namespace {

constexpr size_t seq_offset = 2;
constexpr size_t ts_offset = 4;
constexpr size_t ssrc_offset = 8;
constexpr uint8_t version_mask = 0xC0;
constexpr uint8_t version_2 = 0x80;
constexpr uint8_t padding_bit = 0x20;
constexpr uint8_t extension_bit = 0x10;
constexpr uint8_t cc_mask = 0x0F;
constexpr uint8_t one_byte_stop_id = 15;
constexpr uint8_t one_byte_max_id = 14;

// Callers check bounds before calling.
uint16_t get16(const uint8_t* p) noexcept { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t get24(const uint8_t* p) noexcept {
  return (uint32_t(p[0]) << 16) | (uint32_t(p[1]) << 8) | p[2];
}
uint32_t get32(const uint8_t* p) noexcept {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
void put16(uint8_t* p, uint16_t v) noexcept {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
void put32(uint8_t* p, uint32_t v) noexcept {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

} // namespace

std::string_view to_string(rtp_error e) noexcept {
  switch (e) {
    case rtp_error::truncated: return "truncated";
    case rtp_error::bad_version: return "bad version";
    case rtp_error::bad_extension: return "bad header extension";
    case rtp_error::bad_padding: return "bad padding";
    case rtp_error::no_space: return "no space";
    case rtp_error::bad_value: return "bad value";
  }
  return "unknown";
}

shared_packet make_shared_packet(std::span<const uint8_t> bytes) {
  return std::make_shared<const std::vector<uint8_t>>(bytes.begin(), bytes.end());
}

// ---- extension iteration ------------------------------------------------------------

std::optional<header_extension> extension_iterator::next() noexcept {
  if (form_ != extension_form::one_byte && form_ != extension_form::two_byte)
    return std::nullopt;
  while (pos_ < block_.size()) {
    const uint8_t first = block_[pos_];
    if (first == 0) { // padding byte (both forms)
      ++pos_;
      continue;
    }
    size_t id = 0, len = 0, hdr = 0;
    if (form_ == extension_form::one_byte) {
      //  0 1 2 3 4 5 6 7
      // +-+-+-+-+-+-+-+-+
      // |  ID   |  len  |   len = data bytes - 1
      // +-+-+-+-+-+-+-+-+
      id = first >> 4;
      if (id == one_byte_stop_id) { // RFC 8285 §4.2: stop processing the block
        pos_ = block_.size();
        return std::nullopt;
      }
      len = size_t(first & 0x0F) + 1;
      hdr = 1;
    } else {
      //  0                   1
      //  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
      // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
      // |       ID      |     length    |
      // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
      if (pos_ + 2 > block_.size()) {
        malformed_ = true;
        pos_ = block_.size();
        return std::nullopt;
      }
      id = first;
      len = block_[pos_ + 1];
      hdr = 2;
    }
    if (pos_ + hdr + len > block_.size()) {
      malformed_ = true;
      pos_ = block_.size();
      return std::nullopt;
    }
    last_ = pos_;
    header_extension e{uint8_t(id), block_.subspan(pos_ + hdr, len)};
    pos_ += hdr + len;
    return e;
  }
  return std::nullopt;
}

// ---- parse --------------------------------------------------------------------------

rtp_result<rtp_packet> rtp_packet::parse(std::span<uint8_t> b) noexcept {
  auto r = parse_header(b);
  if (!r || !(b[0] & padding_bit)) return r;
  rtp_packet p = *r;
  const size_t off = p.header_size_;
  if (b.size() == off) return rtp_error::bad_padding; // no room for the count octet
  const uint8_t pad = b[b.size() - 1];
  if (pad == 0 || pad > b.size() - off) return rtp_error::bad_padding;
  p.padding_ = pad;
  p.payload_size_ = b.size() - off - pad;
  return p;
}

rtp_result<rtp_packet> rtp_packet::parse_header(std::span<uint8_t> b) noexcept {
  if (b.size() < rtp_fixed_header_size) return rtp_error::truncated;
  if ((b[0] & version_mask) != version_2) return rtp_error::bad_version;
  rtp_packet p;
  p.data_ = b;
  size_t off = rtp_fixed_header_size + 4 * size_t(b[0] & cc_mask);
  if (off > b.size()) return rtp_error::truncated;
  if (b[0] & extension_bit) {
    //  |      defined by profile       |           length (words)      |
    if (off + 4 > b.size()) return rtp_error::truncated;
    p.profile_ = get16(&b[off]);
    const size_t words = get16(&b[off + 2]);
    p.ext_offset_ = off + 4;
    p.ext_size_ = words * 4;
    if (p.ext_offset_ + p.ext_size_ > b.size()) return rtp_error::bad_extension;
    if (p.profile_ == one_byte_profile)
      p.form_ = extension_form::one_byte;
    else if ((p.profile_ & two_byte_profile_mask) == two_byte_profile)
      p.form_ = extension_form::two_byte;
    else
      p.form_ = extension_form::other;
    auto it = p.extensions();
    while (it.next()) {
    }
    if (it.malformed()) return rtp_error::bad_extension;
    off = p.ext_offset_ + p.ext_size_;
  }
  p.header_size_ = off;
  p.payload_size_ = b.size() - off;
  return p;
}

uint16_t rtp_packet::sequence_number() const noexcept { return get16(&data_[seq_offset]); }
uint32_t rtp_packet::timestamp() const noexcept { return get32(&data_[ts_offset]); }
uint32_t rtp_packet::ssrc() const noexcept { return get32(&data_[ssrc_offset]); }
uint32_t rtp_packet::csrc(size_t i) const noexcept {
  return i < csrc_count() ? get32(&data_[rtp_fixed_header_size + 4 * i]) : 0;
}

extension_iterator rtp_packet::extensions() const noexcept {
  return extension_iterator(form_, ext_block());
}

std::optional<std::span<const uint8_t>> rtp_packet::find_extension(uint8_t id) const noexcept {
  if (id == 0) return std::nullopt;
  auto it = extensions();
  while (auto e = it.next())
    if (e->id == id) return e->value;
  return std::nullopt;
}

std::optional<uint32_t> rtp_packet::abs_send_time(uint8_t id) const noexcept {
  auto v = find_extension(id);
  if (!v || v->size() != 3) return std::nullopt;
  return get24(v->data());
}

std::optional<audio_level> parse_audio_level(std::span<const uint8_t> value) noexcept {
  // RFC 6464 §3:  |V| level (7) |
  if (value.size() != 1) return std::nullopt;
  return audio_level{(value[0] & 0x80) != 0, uint8_t(value[0] & 0x7F)};
}

std::optional<audio_level> rtp_packet::audio_level_of(uint8_t id) const noexcept {
  auto v = find_extension(id);
  if (!v) return std::nullopt;
  return parse_audio_level(*v);
}

std::optional<uint16_t> rtp_packet::transport_wide_seq(uint8_t id) const noexcept {
  auto v = find_extension(id);
  if (!v || v->size() != 2) return std::nullopt;
  return get16(v->data());
}

std::optional<std::string_view> rtp_packet::string_ext(uint8_t id) const noexcept {
  auto v = find_extension(id);
  if (!v || v->empty()) return std::nullopt;
  return std::string_view(reinterpret_cast<const char*>(v->data()), v->size());
}

// ---- rewriting ----------------------------------------------------------------------

void rtp_packet::set_marker(bool m) noexcept {
  data_[1] = uint8_t((data_[1] & 0x7F) | (m ? 0x80 : 0));
}
void rtp_packet::set_payload_type(uint8_t pt) noexcept {
  data_[1] = uint8_t((data_[1] & 0x80) | (pt & 0x7F));
}
void rtp_packet::set_sequence_number(uint16_t seq) noexcept { put16(&data_[seq_offset], seq); }
void rtp_packet::set_timestamp(uint32_t ts) noexcept { put32(&data_[ts_offset], ts); }
void rtp_packet::set_ssrc(uint32_t ssrc) noexcept { put32(&data_[ssrc_offset], ssrc); }

bool rtp_packet::set_transport_wide_seq(uint8_t id, uint16_t seq) noexcept {
  return id != 0 && write_transport_wide_seq(find_extensions(id, 0).a, seq);
}

rtp_packet::extension_values rtp_packet::find_extensions(uint8_t id_a, uint8_t id_b) noexcept {
  extension_values v;
  bool want_a = id_a != 0, want_b = id_b != 0;
  auto block = ext_block();
  auto it = extensions();
  while (want_a || want_b) {
    const auto e = it.next();
    if (!e) break;
    const size_t at = size_t(e->value.data() - block.data());
    if (want_a && e->id == id_a) {
      v.a = block.subspan(at, e->value.size());
      want_a = false;
    } else if (want_b && e->id == id_b) {
      v.b = block.subspan(at, e->value.size());
      want_b = false;
    }
  }
  return v;
}

bool rtp_packet::set_abs_send_time(uint8_t id, uint32_t value24) noexcept {
  return id != 0 && write_abs_send_time(find_extensions(id, 0).a, value24);
}

bool write_transport_wide_seq(std::span<uint8_t> value, uint16_t seq) noexcept {
  if (value.size() != 2) return false;
  put16(value.data(), seq);
  return true;
}

bool write_abs_send_time(std::span<uint8_t> value, uint32_t value24) noexcept {
  if (value.size() != 3) return false;
  value[0] = uint8_t(value24 >> 16);
  value[1] = uint8_t(value24 >> 8);
  value[2] = uint8_t(value24);
  return true;
}

rtp_packet::rewrite_result rtp_packet::rewrite_extension(
  uint8_t id, std::span<const uint8_t> value) noexcept {
  if (id == 0) return rewrite_result::absent;
  auto block = ext_block();
  auto it = extensions();
  while (auto e = it.next()) {
    if (e->id != id) continue;
    const size_t at = size_t(e->value.data() - block.data());
    if (e->value.size() == value.size()) {
      std::memcpy(&block[at], value.data(), value.size());
      return rewrite_result::replaced;
    }
    const size_t header = form_ == extension_form::one_byte ? 1 : 2;
    std::memset(&block[it.last_offset()], 0, header + e->value.size());
    return rewrite_result::disabled;
  }
  return rewrite_result::absent;
}

size_t rtp_packet::remap_extension_ids(const extension_id_map& map) noexcept {
  extension_values unused;
  return remap_extension_ids(map, 0, 0, unused);
}

size_t rtp_packet::remap_extension_ids(const extension_id_map& map, uint8_t id_a, uint8_t id_b,
                                       extension_values& found) noexcept {
  found = {};
  bool want_a = id_a != 0, want_b = id_b != 0;
  auto block = ext_block();
  auto it = extensions();
  size_t disabled = 0;
  while (auto e = it.next()) {
    const size_t at = it.last_offset();
    const uint8_t to = map.get(e->id);
    if (form_ == extension_form::one_byte) {
      if (to == 0 || to > one_byte_max_id) {
        std::memset(&block[at], 0, 1 + e->value.size());
        ++disabled;
        continue;
      }
      block[at] = uint8_t((to << 4) | (block[at] & 0x0F));
    } else {
      if (to == 0) {
        std::memset(&block[at], 0, 2 + e->value.size());
        ++disabled;
        continue;
      }
      block[at] = to;
    }
    const size_t value_at = size_t(e->value.data() - block.data());
    if (want_a && to == id_a) {
      found.a = block.subspan(value_at, e->value.size());
      want_a = false;
    } else if (want_b && to == id_b) {
      found.b = block.subspan(value_at, e->value.size());
      want_b = false;
    }
  }
  return disabled;
}

// ---- adding an element --------------------------------------------------------------

size_t add_extension(std::span<uint8_t> buffer, size_t size, uint8_t id,
                     std::span<const uint8_t> value) noexcept {
  if (size > buffer.size() || id == 0 || value.size() > 255) return 0;
  auto parsed = rtp_packet::parse_header(buffer.first(size));
  if (!parsed) return 0;
  const auto& p = *parsed;
  bool one_byte = p.ext_form() == extension_form::one_byte;
  const bool fits_one_byte = id <= one_byte_max_id && !value.empty() && value.size() <= 16;
  size_t block_header = 0; // the profile and length words, when the packet has no block yet
  switch (p.ext_form()) {
    case extension_form::none:
      one_byte = fits_one_byte;
      block_header = 4;
      break;
    case extension_form::one_byte:
      if (!fits_one_byte) return 0;
      break;
    case extension_form::two_byte:
      break;
    case extension_form::other:
      return 0;
  }
  const size_t at = p.header_size(); // the block's end, or the CSRCs' without a block
  const size_t element = (one_byte ? 1 : 2) + value.size();
  const size_t padded = (element + 3) / 4 * 4;
  const size_t grow = block_header + padded;
  if (buffer.size() - size < grow) return 0;
  std::memmove(&buffer[at + grow], &buffer[at], size - at);
  uint8_t* w = &buffer[at];
  if (block_header != 0) {
    put16(w, one_byte ? one_byte_profile : two_byte_profile);
    put16(w + 2, 0); // counted below with the element
    buffer[0] = uint8_t(buffer[0] | extension_bit);
    w += 4;
  }
  if (one_byte) {
    *w++ = uint8_t((id << 4) | (value.size() - 1));
  } else {
    *w++ = id;
    *w++ = uint8_t(value.size());
  }
  std::memcpy(w, value.data(), value.size());
  std::memset(w + value.size(), 0, padded - element); // padding bytes (RFC 8285 §4.1)
  // The block's length in words, now one word per 4 bytes added.
  const size_t length_at = rtp_fixed_header_size + 4 * size_t(buffer[0] & cc_mask) + 2;
  put16(&buffer[length_at], uint16_t(get16(&buffer[length_at]) + padded / 4));
  return size + grow;
}

// ---- RTX ----------------------------------------------------------------------------

size_t rtx_size(const rtp_packet& original) noexcept {
  return original.header_size() + 2 + original.payload().size();
}

rtp_result<size_t> write_rtx(const rtp_packet& original, const rtx_params& rtx,
                             std::span<uint8_t> out) noexcept {
  const size_t n = rtx_size(original);
  if (out.size() < n) return rtp_error::no_space;
  const auto in = original.bytes();
  const size_t hdr = original.header_size();
  std::memcpy(out.data(), in.data(), hdr);
  out[0] = uint8_t(out[0] & ~padding_bit);
  out[1] = uint8_t((out[1] & 0x80) | (rtx.payload_type & 0x7F));
  put16(&out[seq_offset], rtx.sequence_number);
  put32(&out[ssrc_offset], rtx.ssrc);
  put16(&out[hdr], original.sequence_number()); // OSN
  const auto payload = original.payload();
  if (!payload.empty()) std::memcpy(&out[hdr + 2], payload.data(), payload.size());
  return n;
}

rtp_result<rtp_packet> unwrap_rtx(rtp_packet rtx, uint8_t original_payload_type,
                                  uint32_t original_ssrc) noexcept {
  const size_t hdr = rtx.header_size();
  const size_t payload = rtx.payload().size();
  if (payload < 2) return rtp_error::bad_value; // padding-only probe or truncated OSN
  auto b = rtx.mutable_bytes();
  const uint16_t osn = get16(&b[hdr]);
  std::memmove(&b[hdr], &b[hdr + 2], payload - 2);
  b[0] = uint8_t(b[0] & ~padding_bit);
  b[1] = uint8_t((b[1] & 0x80) | (original_payload_type & 0x7F));
  put16(&b[seq_offset], osn);
  put32(&b[ssrc_offset], original_ssrc);
  return rtp_packet::parse(b.first(hdr + payload - 2));
}

} // namespace chorus::rtp
