// RTCP compound iteration, SR, RR, SDES, BYE, NTP helpers (RFC 3550 §6). See rtcp.hpp.
#include "rtp/rtcp.hpp"

#include "rtp/rtcp_bytes.hpp"

#include <algorithm>

namespace chorus::rtp {

using namespace rtcp_bytes;

namespace {

constexpr uint8_t version_shift = 6;
constexpr uint8_t padding_bit = 0x20;
constexpr uint8_t count_mask = 0x1F;

} // namespace

std::string_view to_string(rtcp_error e) noexcept {
  switch (e) {
    case rtcp_error::truncated: return "truncated";
    case rtcp_error::bad_version: return "bad version";
    case rtcp_error::bad_length: return "bad length";
    case rtcp_error::bad_padding: return "bad padding";
    case rtcp_error::wrong_type: return "wrong packet type";
    case rtcp_error::malformed: return "malformed";
    case rtcp_error::no_space: return "output buffer too small";
    case rtcp_error::too_many: return "too many items";
    case rtcp_error::bad_value: return "bad value";
  }
  return "unknown";
}

// ---- header and compound -------------------------------------------------------------

rtcp_result<rtcp_header> parse_rtcp_header(std::span<const uint8_t> data) noexcept {
  if (data.size() < rtcp_header_size)
    return rtcp_error::truncated;
  const uint8_t first = get8(data, 0);
  if ((first >> version_shift) != 2)
    return rtcp_error::bad_version;
  rtcp_header h;
  h.padding = (first & padding_bit) != 0;
  h.count = first & count_mask;
  h.type = get8(data, 1);
  h.length = get16(data, 2);
  return h;
}

void write_rtcp_header(std::span<uint8_t> out, uint8_t count, rtcp_type type,
                       size_t packet_size, bool padding) noexcept {
  put8(out, 0, uint8_t((2u << version_shift) | (padding ? padding_bit : 0) | (count & count_mask)));
  put8(out, 1, static_cast<uint8_t>(type));
  put16(out, 2, static_cast<uint16_t>(packet_size / 4 - 1));
}

std::optional<rtcp_packet> rtcp_compound_reader::next() noexcept {
  if (done())
    return std::nullopt;
  const auto rest = data_.subspan(offset_);
  auto h = parse_rtcp_header(rest);
  if (!h) {
    error_ = h.error();
    return std::nullopt;
  }
  const size_t size = h->packet_size();
  if (size > rest.size()) {
    error_ = rtcp_error::bad_length;
    return std::nullopt;
  }
  rtcp_packet p;
  p.header = *h;
  p.bytes = rest.first(size);
  size_t body_size = size - rtcp_header_size;
  if (h->padding) {
    // RFC 3550 §6.4.1: padding only in the last packet of a compound; the last octet
    // counts the padding octets, itself included.
    const bool last = offset_ + size == data_.size();
    const uint8_t pad = get8(p.bytes, size - 1);
    if (!last || pad == 0 || pad > body_size) {
      error_ = rtcp_error::bad_padding;
      return std::nullopt;
    }
    body_size -= pad;
  }
  p.body = p.bytes.subspan(rtcp_header_size, body_size);
  offset_ += size;
  return p;
}

rtcp_result<std::vector<rtcp_packet>> split_compound(std::span<const uint8_t> datagram) {
  std::vector<rtcp_packet> packets;
  rtcp_compound_reader reader(datagram);
  while (auto p = reader.next())
    packets.push_back(*p);
  if (reader.error())
    return *reader.error();
  if (packets.empty())
    return rtcp_error::truncated;
  return packets;
}

bool is_rfc3550_compound(std::span<const uint8_t> datagram) noexcept {
  rtcp_compound_reader reader(datagram);
  auto first = reader.next();
  if (!first)
    return false;
  if (first->header.type != uint8_t(rtcp_type::sr) && first->header.type != uint8_t(rtcp_type::rr))
    return false;
  while (reader.next()) {
  }
  return !reader.error();
}

// ---- report blocks, SR, RR --------------------------------------------------------------

rtcp_result<report_block> report_block::parse(std::span<const uint8_t> data) noexcept {
  if (data.size() < size)
    return rtcp_error::truncated;
  report_block b;
  b.ssrc = get32(data, 0);
  b.fraction_lost = get8(data, 4);
  const uint32_t lost = get24(data, 5);
  // 24-bit two's complement, sign-extended.
  b.cumulative_lost = (lost & 0x800000) ? int32_t(lost) - 0x1000000 : int32_t(lost);
  b.extended_highest_seq = get32(data, 8);
  b.jitter = get32(data, 12);
  b.last_sr = get32(data, 16);
  b.delay_since_last_sr = get32(data, 20);
  return b;
}

void report_block::write(std::span<uint8_t, size> out) const noexcept {
  const int32_t lost = std::clamp(cumulative_lost, min_cumulative_lost, max_cumulative_lost);
  put32(out, 0, ssrc);
  put8(out, 4, fraction_lost);
  put24(out, 5, static_cast<uint32_t>(lost) & 0xFFFFFF);
  put32(out, 8, extended_highest_seq);
  put32(out, 12, jitter);
  put32(out, 16, last_sr);
  put32(out, 20, delay_since_last_sr);
}

namespace {

// Report blocks after `at` in a SR/RR body: RC of them must fit.
rtcp_result<std::vector<report_block>> parse_blocks(std::span<const uint8_t> body, size_t at,
                                                    uint8_t count) {
  if (body.size() < at + size_t(count) * report_block::size)
    return rtcp_error::bad_length;
  std::vector<report_block> blocks;
  blocks.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    auto b = report_block::parse(body.subspan(at + i * report_block::size));
    if (!b)
      return b.error();
    blocks.push_back(*b);
  }
  return blocks;
}

void write_blocks(std::span<uint8_t> out, size_t at, std::span<const report_block> blocks) {
  for (size_t i = 0; i < blocks.size(); ++i)
    blocks[i].write(out.subspan(at + i * report_block::size).first<report_block::size>());
}

} // namespace

rtcp_result<sender_report> sender_report::parse(const rtcp_packet& p) {
  if (p.header.type != uint8_t(rtcp_type::sr))
    return rtcp_error::wrong_type;
  const auto body = p.body;
  if (body.size() < 24)
    return rtcp_error::truncated;
  sender_report sr;
  sr.ssrc = get32(body, 0);
  sr.ntp_timestamp = (uint64_t(get32(body, 4)) << 32) | get32(body, 8);
  sr.rtp_timestamp = get32(body, 12);
  sr.packet_count = get32(body, 16);
  sr.octet_count = get32(body, 20);
  auto blocks = parse_blocks(body, 24, p.header.count);
  if (!blocks)
    return blocks.error();
  sr.reports = std::move(*blocks);
  return sr;
}

rtcp_result<size_t> sender_report::write(std::span<uint8_t> out) const noexcept {
  if (reports.size() > rtcp_max_count)
    return rtcp_error::too_many;
  const size_t n = size();
  if (out.size() < n)
    return rtcp_error::no_space;
  write_rtcp_header(out, uint8_t(reports.size()), rtcp_type::sr, n);
  put32(out, 4, ssrc);
  put32(out, 8, uint32_t(ntp_timestamp >> 32));
  put32(out, 12, uint32_t(ntp_timestamp));
  put32(out, 16, rtp_timestamp);
  put32(out, 20, packet_count);
  put32(out, 24, octet_count);
  write_blocks(out, 28, reports);
  return n;
}

rtcp_result<receiver_report> receiver_report::parse(const rtcp_packet& p) {
  if (p.header.type != uint8_t(rtcp_type::rr))
    return rtcp_error::wrong_type;
  if (p.body.size() < 4)
    return rtcp_error::truncated;
  receiver_report rr;
  rr.ssrc = get32(p.body, 0);
  auto blocks = parse_blocks(p.body, 4, p.header.count);
  if (!blocks)
    return blocks.error();
  rr.reports = std::move(*blocks);
  return rr;
}

rtcp_result<size_t> write_receiver_report(uint32_t sender_ssrc,
                                          std::span<const report_block> reports,
                                          std::span<uint8_t> out) noexcept {
  if (reports.size() > rtcp_max_count)
    return rtcp_error::too_many;
  const size_t n = 8 + reports.size() * report_block::size;
  if (out.size() < n)
    return rtcp_error::no_space;
  write_rtcp_header(out, uint8_t(reports.size()), rtcp_type::rr, n);
  put32(out, 4, sender_ssrc);
  write_blocks(out, 8, reports);
  return n;
}

rtcp_result<size_t> receiver_report::write(std::span<uint8_t> out) const noexcept {
  return write_receiver_report(ssrc, reports, out);
}

// ---- SDES ----------------------------------------------------------------------------

size_t sdes_chunk::size() const noexcept {
  size_t n = 4;
  for (const auto& item : items)
    n += 2 + item.text.size();
  return pad4(n + 1); // null item, then zeros to the boundary
}

std::optional<std::string_view> sdes_chunk::cname() const noexcept {
  for (const auto& item : items)
    if (item.type == uint8_t(sdes_type::cname))
      return std::string_view(item.text);
  return std::nullopt;
}

source_description source_description::with_cname(uint32_t ssrc, std::string cname) {
  source_description d;
  d.chunks.push_back({ssrc, {{uint8_t(sdes_type::cname), std::move(cname)}}});
  return d;
}

rtcp_result<source_description> source_description::parse(const rtcp_packet& p) {
  if (p.header.type != uint8_t(rtcp_type::sdes))
    return rtcp_error::wrong_type;
  const auto body = p.body;
  source_description d;
  size_t at = 0;
  for (size_t c = 0; c < p.header.count; ++c) {
    if (at + 4 > body.size())
      return rtcp_error::truncated;
    sdes_chunk chunk;
    chunk.ssrc = get32(body, at);
    at += 4;
    for (;;) {
      if (at + 1 > body.size())
        return rtcp_error::truncated;
      const uint8_t type = get8(body, at);
      if (type == uint8_t(sdes_type::end)) {
        at = pad4(at + 1); // null item and padding to the next 32-bit boundary
        break;
      }
      if (at + 2 > body.size())
        return rtcp_error::truncated;
      const uint8_t len = get8(body, at + 1);
      if (at + 2 + len > body.size())
        return rtcp_error::truncated;
      const auto text = body.subspan(at + 2, len);
      chunk.items.push_back({type, std::string(text.begin(), text.end())});
      at += 2 + len;
    }
    if (at > body.size())
      return rtcp_error::truncated;
    d.chunks.push_back(std::move(chunk));
  }
  return d;
}

size_t source_description::size() const noexcept {
  size_t n = rtcp_header_size;
  for (const auto& c : chunks)
    n += c.size();
  return n;
}

rtcp_result<size_t> source_description::write(std::span<uint8_t> out) const noexcept {
  if (chunks.size() > rtcp_max_count)
    return rtcp_error::too_many;
  for (const auto& c : chunks)
    for (const auto& item : c.items)
      if (item.text.size() > 255 || item.type == uint8_t(sdes_type::end))
        return rtcp_error::bad_value;
  const size_t n = size();
  if (out.size() < n)
    return rtcp_error::no_space;
  write_rtcp_header(out, uint8_t(chunks.size()), rtcp_type::sdes, n);
  size_t at = rtcp_header_size;
  for (const auto& c : chunks) {
    const size_t end = at + c.size();
    put32(out, at, c.ssrc);
    at += 4;
    for (const auto& item : c.items) {
      put8(out, at, item.type);
      put8(out, at + 1, uint8_t(item.text.size()));
      std::copy(item.text.begin(), item.text.end(), out.begin() + ptrdiff_t(at + 2));
      at += 2 + item.text.size();
    }
    std::fill(out.begin() + ptrdiff_t(at), out.begin() + ptrdiff_t(end), uint8_t{0});
    at = end;
  }
  return n;
}

// ---- BYE -----------------------------------------------------------------------------

rtcp_result<goodbye> goodbye::parse(const rtcp_packet& p) {
  if (p.header.type != uint8_t(rtcp_type::bye))
    return rtcp_error::wrong_type;
  const auto body = p.body;
  const size_t ssrc_bytes = size_t(p.header.count) * 4;
  if (body.size() < ssrc_bytes)
    return rtcp_error::truncated;
  goodbye bye;
  for (size_t i = 0; i < p.header.count; ++i)
    bye.ssrcs.push_back(get32(body, i * 4));
  if (body.size() > ssrc_bytes) {
    const uint8_t len = get8(body, ssrc_bytes);
    if (ssrc_bytes + 1 + len > body.size())
      return rtcp_error::truncated;
    const auto text = body.subspan(ssrc_bytes + 1, len);
    bye.reason.assign(text.begin(), text.end());
  }
  return bye;
}

size_t goodbye::size() const noexcept {
  size_t n = rtcp_header_size + ssrcs.size() * 4;
  if (!reason.empty())
    n += pad4(1 + reason.size());
  return n;
}

rtcp_result<size_t> goodbye::write(std::span<uint8_t> out) const noexcept {
  if (ssrcs.size() > rtcp_max_count)
    return rtcp_error::too_many;
  if (reason.size() > 255)
    return rtcp_error::bad_value;
  const size_t n = size();
  if (out.size() < n)
    return rtcp_error::no_space;
  write_rtcp_header(out, uint8_t(ssrcs.size()), rtcp_type::bye, n);
  size_t at = rtcp_header_size;
  for (uint32_t s : ssrcs) {
    put32(out, at, s);
    at += 4;
  }
  if (!reason.empty()) {
    put8(out, at, uint8_t(reason.size()));
    std::copy(reason.begin(), reason.end(), out.begin() + ptrdiff_t(at + 1));
    std::fill(out.begin() + ptrdiff_t(at + 1 + reason.size()), out.begin() + ptrdiff_t(n),
              uint8_t{0});
  }
  return n;
}

// ---- NTP -------------------------------------------------------------------------------

uint64_t ntp_from_ms(int64_t clock_ms, int64_t ntp_offset_ms) noexcept {
  const int64_t ms = clock_ms + ntp_offset_ms;
  const uint64_t seconds = uint64_t(ms / 1000);
  const uint64_t rem_ms = uint64_t(ms % 1000);
  // fraction = rem_ms / 1000 * 2^32, rounded.
  const uint64_t fraction = ((rem_ms << 32) + 500) / 1000;
  return (seconds << 32) + fraction;
}

int64_t ms_from_ntp(uint64_t ntp, int64_t ntp_offset_ms) noexcept {
  const int64_t seconds = int64_t(ntp >> 32);
  const uint64_t fraction = ntp & 0xFFFFFFFFu;
  const int64_t frac_ms = int64_t((fraction * 1000 + (uint64_t(1) << 31)) >> 32);
  return seconds * 1000 + frac_ms - ntp_offset_ms;
}

int64_t compact_ntp_to_us(uint32_t compact) noexcept {
  return (int64_t(compact) * 1'000'000 + 32768) >> 16;
}

uint32_t us_to_compact_ntp(int64_t us) noexcept {
  if (us <= 0)
    return 0;
  const int64_t v = (us * 65536 + 500'000) / 1'000'000;
  return v > int64_t(UINT32_MAX) ? UINT32_MAX : uint32_t(v);
}

} // namespace chorus::rtp
