// RTCP (RFC 3550 §6): compound datagram iteration, SR, RR, report blocks, SDES, BYE, and
// NTP timestamp helpers. Feedback messages (NACK, PLI, FIR, REMB) are in rtcp_feedback.hpp,
// transport-wide congestion control feedback in transport_cc.hpp.
//
// Pure code: spans in, structs or errors out; explicit big-endian reads with a bounds check
// before every read; no clock (time is passed in). Every packet type has
//   static rtcp_result<T> parse(const rtcp_packet&)  -- from one packet of a compound
//   size_t size() const                              -- bytes write() needs
//   rtcp_result<size_t> write(std::span<uint8_t>) const -- into a caller buffer, no allocation
// and to_bytes(p) returns a vector for convenience.
//
// Common header of every RTCP packet (RFC 3550 §6.4.1):
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |V=2|P|   RC    |      PT       |             length            |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// RC is the report / source count, or FMT for feedback messages (RFC 4585 §6.1); length is
// the packet length in 32-bit words minus one, header and padding included.
#pragma once

#include "common/result.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace chorus::rtp {

enum class rtcp_error : uint8_t {
  truncated,   // fewer bytes than a header or a field needs
  bad_version, // V != 2
  bad_length,  // length field points past the datagram, or is inconsistent with the body
  bad_padding, // padding count 0, larger than the body, or padding not in the last packet
  wrong_type,  // parse of a packet of another type / format
  malformed,   // a field value that the format forbids (reserved symbol, bad identifier)
  no_space,    // the output buffer is too small
  too_many,    // more items than the count field can carry
  bad_value,   // an argument out of range (unsorted input, delta that cannot be encoded)
};

std::string_view to_string(rtcp_error e) noexcept;

// A value or an rtcp_error.
template <class T>
using rtcp_result = value_or_error<T, rtcp_error>;

enum class rtcp_type : uint8_t {
  sr = 200,    // RFC 3550 §6.4.1
  rr = 201,    // RFC 3550 §6.4.2
  sdes = 202,  // RFC 3550 §6.5
  bye = 203,   // RFC 3550 §6.6
  app = 204,   // RFC 3550 §6.7
  rtpfb = 205, // RFC 4585 §6.2 transport layer feedback
  psfb = 206,  // RFC 4585 §6.3 payload-specific feedback
};

inline constexpr size_t rtcp_header_size = 4;
inline constexpr uint8_t rtcp_max_count = 31; // 5-bit RC / SC field

// The SSRC after the first header of a compound datagram (bytes 4-7: the sender of an SR,
// RR, SDES chunk, BYE or feedback packet), read without parsing, for a caller that has
// checked there are at least rtcp_header_size + 4 bytes.
inline uint32_t rtcp_sender_ssrc_of(std::span<const uint8_t> p) noexcept {
  return (uint32_t(p[4]) << 24) | (uint32_t(p[5]) << 16) | (uint32_t(p[6]) << 8) | p[7];
}

struct rtcp_header {
  bool padding = false;
  uint8_t count = 0; // RC, SC or FMT
  uint8_t type = 0;  // PT
  uint16_t length = 0; // in 32-bit words minus one
  size_t packet_size() const noexcept { return (size_t(length) + 1) * 4; }
};

// One packet of a compound datagram: its header, all its bytes (header and padding
// included) and the body after the 4-byte header, padding removed.
struct rtcp_packet {
  rtcp_header header;
  std::span<const uint8_t> bytes;
  std::span<const uint8_t> body;
};

// Parses the 4-byte common header (version checked, nothing else).
rtcp_result<rtcp_header> parse_rtcp_header(std::span<const uint8_t> data) noexcept;
// Writes the common header; length in words minus one is computed from packet_size.
void write_rtcp_header(std::span<uint8_t> out, uint8_t count, rtcp_type type,
                       size_t packet_size, bool padding = false) noexcept;

// Iterates the packets of a compound datagram (RFC 3550 §6.1), validating each header:
// version 2, length within the datagram, padding only in the last packet and within the
// body. RFC 5506 reduced-size RTCP (a single packet of any type) is accepted: this reader
// does not require the first packet to be SR/RR; is_rfc3550_compound() checks that.
class rtcp_compound_reader {
public:
  explicit rtcp_compound_reader(std::span<const uint8_t> datagram) noexcept : data_(datagram) {}
  // The next packet; nullopt at the end or on error (then error() says which).
  std::optional<rtcp_packet> next() noexcept;
  std::optional<rtcp_error> error() const noexcept { return error_; }
  bool done() const noexcept { return offset_ >= data_.size() || error_.has_value(); }

private:
  std::span<const uint8_t> data_;
  size_t offset_ = 0;
  std::optional<rtcp_error> error_;
};

// All packets of a datagram, or the first error. Allocates; for tests and slow paths.
rtcp_result<std::vector<rtcp_packet>> split_compound(std::span<const uint8_t> datagram);
// True when the datagram is a valid full compound (first packet SR or RR, RFC 3550 §6.1).
bool is_rfc3550_compound(std::span<const uint8_t> datagram) noexcept;

// Report block (RFC 3550 §6.4.1):
//
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//  |                 SSRC_1 (SSRC of first source)                 |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  | fraction lost |       cumulative number of packets lost       |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |           extended highest sequence number received           |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                      interarrival jitter                      |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                         last SR (LSR)                         |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                   delay since last SR (DLSR)                  |
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
struct report_block {
  static constexpr size_t size = 24;
  static constexpr int32_t max_cumulative_lost = 0x7FFFFF;
  static constexpr int32_t min_cumulative_lost = -0x800000;

  uint32_t ssrc = 0;
  uint8_t fraction_lost = 0;   // fixed point, /256
  int32_t cumulative_lost = 0; // 24-bit signed on the wire; clamped when written
  uint32_t extended_highest_seq = 0;
  uint32_t jitter = 0;              // RTP timestamp units
  uint32_t last_sr = 0;             // compact NTP of the last SR received
  uint32_t delay_since_last_sr = 0; // 1/65536 s

  static rtcp_result<report_block> parse(std::span<const uint8_t> data) noexcept;
  void write(std::span<uint8_t, size> out) const noexcept;
  bool operator==(const report_block&) const = default;
};

// Sender report (RFC 3550 §6.4.1), PT=200:
//
//  |V=2|P|    RC   |   PT=SR=200   |             length            | header
//  |                         SSRC of sender                        |
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//  |              NTP timestamp, most significant word             | sender
//  |             NTP timestamp, least significant word             | info
//  |                         RTP timestamp                         |
//  |                     sender's packet count                     |
//  |                      sender's octet count                     |
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//  |                 report blocks (RC x 24 bytes)                 |
//  |                  profile-specific extensions                  |
struct sender_report {
  uint32_t ssrc = 0;
  uint64_t ntp_timestamp = 0; // 32.32 fixed point seconds since 1900
  uint32_t rtp_timestamp = 0;
  uint32_t packet_count = 0;
  uint32_t octet_count = 0;
  std::vector<report_block> reports; // at most 31

  static rtcp_result<sender_report> parse(const rtcp_packet& p);
  size_t size() const noexcept { return 28 + reports.size() * report_block::size; }
  rtcp_result<size_t> write(std::span<uint8_t> out) const noexcept;
  bool operator==(const sender_report&) const = default;
};

// Receiver report (RFC 3550 §6.4.2), PT=201:
//
//  |V=2|P|    RC   |   PT=RR=201   |             length            | header
//  |                     SSRC of packet sender                     |
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//  |                 report blocks (RC x 24 bytes)                 |
struct receiver_report {
  uint32_t ssrc = 0;
  std::vector<report_block> reports; // at most 31

  static rtcp_result<receiver_report> parse(const rtcp_packet& p);
  size_t size() const noexcept { return 8 + reports.size() * report_block::size; }
  rtcp_result<size_t> write(std::span<uint8_t> out) const noexcept;
  bool operator==(const receiver_report&) const = default;
};

// Writes a receiver report straight from a span of blocks (the per-packet path).
rtcp_result<size_t> write_receiver_report(uint32_t sender_ssrc,
                                          std::span<const report_block> reports,
                                          std::span<uint8_t> out) noexcept;

// Source description (RFC 3550 §6.5), PT=202:
//
//  |V=2|P|    SC   |  PT=SDES=202  |             length            | header
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//  |                          SSRC/CSRC_1                          | chunk
//  |                           SDES items                          |   1
//  |                              ...                              |
//
// Item: | type (8) | length (8) | text (length bytes) |; a chunk's items end with a null
// octet (type 0) and zero octets up to the next 32-bit boundary. CNAME is type 1 (§6.5.1).
enum class sdes_type : uint8_t { end = 0, cname = 1, name = 2, email = 3, phone = 4,
                                 loc = 5, tool = 6, note = 7, priv = 8 };

struct sdes_item {
  uint8_t type = 0;
  std::string text; // at most 255 bytes
  bool operator==(const sdes_item&) const = default;
};

struct sdes_chunk {
  uint32_t ssrc = 0;
  std::vector<sdes_item> items;
  size_t size() const noexcept; // padded to 32 bits
  std::optional<std::string_view> cname() const noexcept;
  bool operator==(const sdes_chunk&) const = default;
};

struct source_description {
  std::vector<sdes_chunk> chunks; // at most 31

  static source_description with_cname(uint32_t ssrc, std::string cname);
  static rtcp_result<source_description> parse(const rtcp_packet& p);
  size_t size() const noexcept;
  rtcp_result<size_t> write(std::span<uint8_t> out) const noexcept;
  bool operator==(const source_description&) const = default;
};

// Goodbye (RFC 3550 §6.6), PT=203:
//
//  |V=2|P|    SC   |   PT=BYE=203  |             length            |
//  |                           SSRC/CSRC                           |
//  :                              ...                              :
//  |     length    |               reason for leaving            ... (opt)
struct goodbye {
  std::vector<uint32_t> ssrcs; // at most 31
  std::string reason;          // at most 255 bytes; empty = absent

  static rtcp_result<goodbye> parse(const rtcp_packet& p);
  size_t size() const noexcept;
  rtcp_result<size_t> write(std::span<uint8_t> out) const noexcept;
  bool operator==(const goodbye&) const = default;
};

// Serializes any packet type above (or in rtcp_feedback.hpp / transport_cc.hpp) into a
// new vector. Allocates; the per-packet paths use write() into a caller buffer.
template <class Packet>
rtcp_result<std::vector<uint8_t>> to_bytes(const Packet& p) {
  std::vector<uint8_t> out(p.size());
  auto written = p.write(out);
  if (!written)
    return written.error();
  out.resize(*written);
  return out;
}

// ---- NTP timestamps (RFC 3550 §4) --------------------------------------------------------
// A 64-bit NTP timestamp is seconds since 1900-01-01 in 32.32 fixed point. The compact
// form (middle 32 bits, 16.16) is what LSR and DLSR carry.

// Milliseconds between the NTP epoch (1900) and the Unix epoch (1970).
inline constexpr int64_t ntp_unix_offset_ms = 2'208'988'800'000;

constexpr uint32_t compact_ntp(uint64_t ntp) noexcept {
  return static_cast<uint32_t>(ntp >> 16);
}

// NTP timestamp of a millisecond clock reading; ntp_offset_ms is the NTP time (in ms since
// 1900) at clock reading 0, e.g. ntp_unix_offset_ms for a Unix-epoch clock.
uint64_t ntp_from_ms(int64_t clock_ms, int64_t ntp_offset_ms) noexcept;
// The inverse, rounded to the nearest millisecond.
int64_t ms_from_ntp(uint64_t ntp, int64_t ntp_offset_ms) noexcept;

// A compact NTP duration (1/65536 s) in microseconds, and back (rounded).
int64_t compact_ntp_to_us(uint32_t compact) noexcept;
uint32_t us_to_compact_ntp(int64_t us) noexcept;

} // namespace chorus::rtp
