// What a publishing client must do with the RTCP its server sends back, whichever server it
// is (Chorus or Janus): resend the packets a NACK names from its history, and make a
// keyframe on PLI / FIR for its video SSRC. Pure: parses, the caller acts.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace chorus::bench {

struct publisher_rtcp_actions {
  std::vector<uint16_t> audio_nacked; // sequence numbers to resend, per stream
  std::vector<uint16_t> video_nacked;
  uint32_t nack_packets = 0;      // NACK packets about one of our SSRCs
  uint32_t keyframe_requests = 0; // PLI / FIR packets naming our video SSRC
};

// Appends what `packet` (one compound RTCP datagram) asks of a publisher with these SSRCs.
void read_publisher_rtcp(std::span<const uint8_t> packet, uint32_t audio_ssrc,
                         uint32_t video_ssrc, publisher_rtcp_actions& out);

} // namespace chorus::bench
