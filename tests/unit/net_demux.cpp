// RFC 7983 / RFC 5761 classification of received datagrams.
#include "net/demux.hpp"

#include <doctest/doctest.h>

#include <vector>

using chorus::net::classify;
using chorus::net::packet_kind;

TEST_CASE("demux classify table") {
  struct tcase {
    const char* name;
    std::vector<uint8_t> bytes;
    packet_kind expected;
  };
  std::vector<uint8_t> stun(20, 0);
  stun[0] = 0x00;
  stun[1] = 0x01; // binding request
  std::vector<uint8_t> dtls(13, 0);
  dtls[0] = 22; // handshake record
  std::vector<uint8_t> rtp(12, 0);
  rtp[0] = 0x80;
  rtp[1] = 96; // VP8
  std::vector<uint8_t> rtp_marker = rtp;
  rtp_marker[1] = 0x80 | 111; // marker + opus
  std::vector<uint8_t> rtcp_sr(8, 0);
  rtcp_sr[0] = 0x80;
  rtcp_sr[1] = 200;
  std::vector<uint8_t> rtcp_rr = rtcp_sr;
  rtcp_rr[1] = 201;
  std::vector<uint8_t> rtcp_xr = rtcp_sr;
  rtcp_xr[1] = 207;
  std::vector<uint8_t> rtcp_fb = rtcp_sr;
  rtcp_fb[1] = 206; // PSFB
  std::vector<tcase> cases{
    {"empty", {}, packet_kind::unknown},
    {"stun binding", stun, packet_kind::stun},
    {"stun too short", std::vector<uint8_t>(stun.begin(), stun.begin() + 19), packet_kind::unknown},
    {"dtls handshake", dtls, packet_kind::dtls},
    {"dtls short", std::vector<uint8_t>(dtls.begin(), dtls.begin() + 5), packet_kind::unknown},
    {"rtp vp8", rtp, packet_kind::rtp},
    {"rtp with marker", rtp_marker, packet_kind::rtp},
    {"rtcp sender report", rtcp_sr, packet_kind::rtcp},
    {"rtcp receiver report", rtcp_rr, packet_kind::rtcp},
    {"rtcp xr", rtcp_xr, packet_kind::rtcp},
    {"rtcp psfb", rtcp_fb, packet_kind::rtcp},
    {"rtp too short", std::vector<uint8_t>(rtp.begin(), rtp.begin() + 10), packet_kind::unknown},
    {"zrtp / other range", {0x10, 1, 2, 3, 4, 5, 6, 7}, packet_kind::unknown},
    {"turn channel data (64..79)", {0x40, 0, 0, 4, 1, 2, 3, 4}, packet_kind::unknown},
    {"byte 200", {200, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}, packet_kind::unknown},
  };
  for (auto& c : cases) {
    CAPTURE(c.name);
    CHECK(classify(c.bytes) == c.expected);
  }
}
