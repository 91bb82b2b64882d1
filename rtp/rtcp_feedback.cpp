// RTCP feedback messages: generic NACK, PLI, FIR, REMB. See rtcp_feedback.hpp.
#include "rtp/rtcp_feedback.hpp"

#include <optional>

#include "rtp/rtcp_bytes.hpp"

namespace chorus::rtp {

using namespace rtcp_bytes;

namespace {

constexpr uint8_t remb_id[4] = {'R', 'E', 'M', 'B'};

bool is_type(const rtcp_packet& p, rtcp_type type, uint8_t fmt) noexcept {
  return p.header.type == uint8_t(type) && p.header.count == fmt;
}

void write_feedback_header(std::span<uint8_t> out, rtcp_type type, uint8_t fmt, size_t size,
                           uint32_t sender_ssrc, uint32_t media_ssrc) noexcept {
  write_rtcp_header(out, fmt, type, size);
  put32(out, 4, sender_ssrc);
  put32(out, 8, media_ssrc);
}

// The checks before writing a feedback packet with a list FCI (NACK items, FIR entries):
// at least one item, a length the 16-bit field can carry, room in `out`.
std::optional<rtcp_error> check_list_write(bool empty, size_t size, size_t room) noexcept {
  if (empty)
    return rtcp_error::bad_value;
  if (size / 4 - 1 > 0xFFFF)
    return rtcp_error::too_many;
  if (room < size)
    return rtcp_error::no_space;
  return std::nullopt;
}

} // namespace

rtcp_result<feedback_ssrcs> parse_feedback_ssrcs(const rtcp_packet& p) noexcept {
  if (p.body.size() < 8)
    return rtcp_error::truncated;
  return feedback_ssrcs{get32(p.body, 0), get32(p.body, 4)};
}

bool is_remb(const rtcp_packet& p) noexcept {
  if (!is_type(p, rtcp_type::psfb, psfb_afb) || p.body.size() < 12)
    return false;
  for (size_t i = 0; i < 4; ++i)
    if (get8(p.body, 8 + i) != remb_id[i])
      return false;
  return true;
}

// ---- generic NACK ----------------------------------------------------------------------

rtcp_result<generic_nack> generic_nack::parse(const rtcp_packet& p) {
  if (!is_type(p, rtcp_type::rtpfb, rtpfb_nack))
    return rtcp_error::wrong_type;
  auto ssrcs = parse_feedback_ssrcs(p);
  if (!ssrcs)
    return ssrcs.error();
  const auto fci = p.body.subspan(8);
  if (fci.size() % 4 != 0 || fci.empty())
    return rtcp_error::bad_length; // at least one item (RFC 4585 §6.2.1)
  generic_nack n;
  n.sender_ssrc = ssrcs->sender_ssrc;
  n.media_ssrc = ssrcs->media_ssrc;
  for (size_t at = 0; at + 4 <= fci.size(); at += 4)
    n.items.push_back({get16(fci, at), get16(fci, at + 2)});
  return n;
}

std::vector<uint16_t> generic_nack::lost_sequence_numbers() const {
  std::vector<uint16_t> lost;
  for (const auto& item : items) {
    lost.push_back(item.pid);
    for (unsigned bit = 0; bit < 16; ++bit)
      if (item.blp & (1u << bit))
        lost.push_back(static_cast<uint16_t>(item.pid + bit + 1));
  }
  return lost;
}

namespace {

// Walks lost sequence numbers and calls emit(item) for each PID+BLP item.
template <class Emit>
void for_each_nack_item(std::span<const uint16_t> lost, Emit&& emit) {
  size_t i = 0;
  while (i < lost.size()) {
    nack_item item{lost[i], 0};
    ++i;
    while (i < lost.size()) {
      const uint16_t diff = static_cast<uint16_t>(lost[i] - item.pid); // modular: wraps
      if (diff < 1 || diff > 16)
        break;
      item.blp = static_cast<uint16_t>(item.blp | (1u << (diff - 1)));
      ++i;
    }
    emit(item);
  }
}

} // namespace

generic_nack generic_nack::from_lost(uint32_t sender_ssrc, uint32_t media_ssrc,
                                     std::span<const uint16_t> lost) {
  generic_nack n;
  n.sender_ssrc = sender_ssrc;
  n.media_ssrc = media_ssrc;
  for_each_nack_item(lost, [&](nack_item item) { n.items.push_back(item); });
  return n;
}

rtcp_result<size_t> generic_nack::write(std::span<uint8_t> out) const noexcept {
  const size_t n = size();
  if (auto e = check_list_write(items.empty(), n, out.size()))
    return *e;
  write_feedback_header(out, rtcp_type::rtpfb, rtpfb_nack, n, sender_ssrc, media_ssrc);
  size_t at = rtcp_feedback_header_size;
  for (const auto& item : items) {
    put16(out, at, item.pid);
    put16(out, at + 2, item.blp);
    at += 4;
  }
  return n;
}

size_t nack_size(std::span<const uint16_t> lost) noexcept {
  size_t count = 0;
  for_each_nack_item(lost, [&](nack_item) { ++count; });
  return rtcp_feedback_header_size + count * 4;
}

rtcp_result<size_t> write_nack(uint32_t sender_ssrc, uint32_t media_ssrc,
                               std::span<const uint16_t> lost, std::span<uint8_t> out) noexcept {
  const size_t n = nack_size(lost);
  if (auto e = check_list_write(lost.empty(), n, out.size()))
    return *e;
  write_feedback_header(out, rtcp_type::rtpfb, rtpfb_nack, n, sender_ssrc, media_ssrc);
  size_t at = rtcp_feedback_header_size;
  for_each_nack_item(lost, [&](nack_item item) {
    put16(out, at, item.pid);
    put16(out, at + 2, item.blp);
    at += 4;
  });
  return n;
}

// ---- PLI -------------------------------------------------------------------------------

rtcp_result<picture_loss_indication> picture_loss_indication::parse(const rtcp_packet& p) noexcept {
  if (!is_type(p, rtcp_type::psfb, psfb_pli))
    return rtcp_error::wrong_type;
  auto ssrcs = parse_feedback_ssrcs(p);
  if (!ssrcs)
    return ssrcs.error();
  return picture_loss_indication{ssrcs->sender_ssrc, ssrcs->media_ssrc};
}

rtcp_result<size_t> picture_loss_indication::write(std::span<uint8_t> out) const noexcept {
  if (out.size() < size())
    return rtcp_error::no_space;
  write_feedback_header(out, rtcp_type::psfb, psfb_pli, size(), sender_ssrc, media_ssrc);
  return size();
}

// ---- FIR -------------------------------------------------------------------------------

rtcp_result<full_intra_request> full_intra_request::parse(const rtcp_packet& p) {
  if (!is_type(p, rtcp_type::psfb, psfb_fir))
    return rtcp_error::wrong_type;
  auto ssrcs = parse_feedback_ssrcs(p);
  if (!ssrcs)
    return ssrcs.error();
  const auto fci = p.body.subspan(8);
  if (fci.empty() || fci.size() % 8 != 0)
    return rtcp_error::bad_length;
  full_intra_request fir;
  fir.sender_ssrc = ssrcs->sender_ssrc;
  fir.media_ssrc = ssrcs->media_ssrc;
  for (size_t at = 0; at + 8 <= fci.size(); at += 8)
    fir.entries.push_back({get32(fci, at), get8(fci, at + 4)});
  return fir;
}

rtcp_result<size_t> full_intra_request::write(std::span<uint8_t> out) const noexcept {
  const size_t n = size();
  if (auto e = check_list_write(entries.empty(), n, out.size()))
    return *e;
  write_feedback_header(out, rtcp_type::psfb, psfb_fir, n, sender_ssrc, media_ssrc);
  size_t at = rtcp_feedback_header_size;
  for (const auto& e : entries) {
    put32(out, at, e.ssrc);
    put32(out, at + 4, uint32_t(e.seq_nr) << 24); // reserved bits zero
    at += 8;
  }
  return n;
}

// ---- REMB ------------------------------------------------------------------------------

rtcp_result<remb> remb::parse(const rtcp_packet& p) {
  if (!is_type(p, rtcp_type::psfb, psfb_afb))
    return rtcp_error::wrong_type;
  auto ssrcs = parse_feedback_ssrcs(p);
  if (!ssrcs)
    return ssrcs.error();
  const auto fci = p.body.subspan(8);
  if (fci.size() < 8)
    return rtcp_error::truncated;
  for (size_t i = 0; i < 4; ++i)
    if (get8(fci, i) != remb_id[i])
      return rtcp_error::malformed;
  const uint8_t num_ssrc = get8(fci, 4);
  const uint8_t exp = get8(fci, 5) >> 2;
  const uint32_t mantissa = get24(fci, 5) & 0x3FFFF;
  if (fci.size() < 8 + size_t(num_ssrc) * 4)
    return rtcp_error::truncated;
  const uint64_t bitrate = uint64_t(mantissa) << exp;
  if ((bitrate >> exp) != mantissa)
    return rtcp_error::malformed; // does not fit 64 bits
  remb r;
  r.sender_ssrc = ssrcs->sender_ssrc;
  r.media_ssrc = ssrcs->media_ssrc;
  r.bitrate_bps = bitrate;
  for (size_t i = 0; i < num_ssrc; ++i)
    r.ssrcs.push_back(get32(fci, 8 + i * 4));
  return r;
}

rtcp_result<size_t> remb::write(std::span<uint8_t> out) const noexcept {
  if (ssrcs.size() > 255)
    return rtcp_error::too_many;
  const size_t n = size();
  if (out.size() < n)
    return rtcp_error::no_space;
  constexpr uint64_t max_mantissa = (1u << 18) - 1;
  uint8_t exp = 0;
  while ((bitrate_bps >> exp) > max_mantissa)
    ++exp; // at most 46 for a 64-bit value, fits in 6 bits
  const uint32_t mantissa = uint32_t(bitrate_bps >> exp);
  write_feedback_header(out, rtcp_type::psfb, psfb_afb, n, sender_ssrc, media_ssrc);
  for (size_t i = 0; i < 4; ++i)
    put8(out, 12 + i, remb_id[i]);
  put8(out, 16, uint8_t(ssrcs.size()));
  put24(out, 17, (uint32_t(exp) << 18) | mantissa);
  size_t at = 20;
  for (uint32_t s : ssrcs) {
    put32(out, at, s);
    at += 4;
  }
  return n;
}

} // namespace chorus::rtp
