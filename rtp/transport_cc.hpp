// Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-
// extensions-01 §3.1), RTPFB FMT=15: which transport-wide sequence numbers arrived, and when.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |V=2|P|  FMT=15 |    PT=205     |           length              |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                     SSRC of packet sender                     |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                      SSRC of media source                     |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |      base sequence number     |      packet status count      |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                 reference time                | fb pkt. count |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |          packet chunk         |         packet chunk          |
//  :              ...              :  recv delta   |  recv delta   :
//
// Reference time: 24 bits, multiples of 64 ms. Packet chunks (16 bits):
//   run length     |0|S S|  run length (13)  |   S = status symbol for run length packets
//   status vector  |1|0|  14 x 1-bit symbols |   0 not received, 1 received (small delta)
//   status vector  |1|1|   7 x 2-bit symbols |
// Symbols: 00 not received, 01 received with a small delta (1 byte, 0..63.75 ms, unsigned),
// 10 received with a large or negative delta (2 bytes, signed), 11 reserved. Deltas are in
// 250 us units; the first is relative to the reference time, each next one to the previous
// received packet. The packet is padded to 32 bits (padding bit set, last octet the count).
#pragma once

#include "rtp/rtcp_feedback.hpp"

namespace chorus::rtp {

// One transport-wide sequence number and whether / when it arrived.
struct packet_arrival {
  uint16_t seq = 0;
  bool received = false;
  int64_t arrival_us = 0; // meaningful when received; 0 otherwise in parse output

  bool operator==(const packet_arrival&) const = default;
};

inline constexpr int64_t transport_cc_delta_us = 250;
// The most packets one feedback may report (libwebrtc's own bound); parse refuses more.
inline constexpr uint16_t max_feedback_packets = 0x7FFF;
inline constexpr int64_t transport_cc_reference_us = 64'000;
inline constexpr size_t transport_cc_header_size = 20; // common 12 + base/count/ref/fb count

struct transport_cc_feedback {
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;
  uint16_t base_seq = 0;
  uint32_t reference_time = 0; // 24-bit, 64 ms units
  uint8_t fb_pkt_count = 0;
  // packet_status_count entries, seq from base_seq (wrapping). Arrival times are
  // reference_time * 64 ms plus the deltas, so they are the sender's clock modulo
  // 2^24 * 64 ms (about 12.4 days).
  std::vector<packet_arrival> packets;

  static rtcp_result<transport_cc_feedback> parse(const rtcp_packet& p);
};

struct transport_cc_params {
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;
  uint8_t fb_pkt_count = 0;
};

struct transport_cc_written {
  size_t size = 0;     // bytes written
  size_t consumed = 0; // entries of the input that this packet covers
};

// Writes one feedback packet for a prefix of `packets` into `out` (its size is the maximum
// packet size). `packets` are in sequence order (each seq after the previous one, modulo
// 2^16; a gap is reported as not received); arrival times in microseconds on any clock.
// Stops before an entry that would not fit in `out`, exceed the status count, or need a
// delta that 16 bits cannot carry; the caller continues with the rest in a new packet.
// Chunks: run length for runs, 1-bit vectors when no large delta, 2-bit vectors otherwise.
// Errors: bad_value (empty or unordered input), no_space (not even one entry fits).
rtcp_result<transport_cc_written> write_transport_cc(const transport_cc_params& params,
                                                     std::span<const packet_arrival> packets,
                                                     std::span<uint8_t> out) noexcept;

// All of `packets` as as many feedback packets as needed, each at most max_size bytes,
// fb_pkt_count counting up from params.fb_pkt_count. Allocates.
rtcp_result<std::vector<std::vector<uint8_t>>>
build_transport_cc(const transport_cc_params& params, std::span<const packet_arrival> packets,
                   size_t max_size = 1200);

} // namespace chorus::rtp
