// What a publishing client must do with the RTCP its server sends back, whichever server it
// is (Chorus or Janus): resend the packets a NACK names from its history, and make a
// keyframe on PLI / FIR for its video SSRC (for one of them: a simulcast publisher has one
// per encoding). Pure: parses, the caller acts.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace chorus::bench {

struct publisher_rtcp_actions {
  std::vector<uint16_t> audio_nacked; // sequence numbers to resend, per stream
  std::vector<uint16_t> video_nacked;
  // The video SSRC (index into the caller's list) of each video_nacked entry.
  std::vector<uint8_t> video_nacked_encoding;
  uint32_t nack_packets = 0;      // NACK packets about one of our SSRCs
  uint32_t keyframe_requests = 0; // PLI / FIR packets naming one of our video SSRCs
  uint32_t keyframe_encodings = 0; // bit i: video SSRC i was asked for a keyframe
};

// Appends what `packet` (one compound RTCP datagram) asks of a publisher with these SSRCs.
void read_publisher_rtcp(std::span<const uint8_t> packet, uint32_t audio_ssrc,
                         uint32_t video_ssrc, publisher_rtcp_actions& out);
// The same for a publisher with several video SSRCs (simulcast encodings, at most 32).
void read_publisher_rtcp(std::span<const uint8_t> packet, uint32_t audio_ssrc,
                         std::span<const uint32_t> video_ssrcs, publisher_rtcp_actions& out);

} // namespace chorus::bench
