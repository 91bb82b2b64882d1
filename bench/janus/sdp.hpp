// The SDP a WebRTC client of Janus's VideoRoom writes: the publisher's offer (one Opus audio
// and one VP8 video m-line, sendonly) and the answer to Janus's subscriber offer (recvonly).
// Janus's descriptions are read with the server's parser (protocol/sdp.hpp).
// Pure: strings in, strings and structs out. No sockets, no randomness.
#pragma once

#include "common/result.hpp"
#include "protocol/sdp.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::janus {

// The RTP header extensions the client understands (RFC 8843 §15.2, abs-send-time, TWCC).
inline constexpr std::string_view ext_mid = "urn:ietf:params:rtp-hdrext:sdes:mid";
inline constexpr std::string_view ext_abs_send_time =
  "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
inline constexpr std::string_view ext_transport_cc =
  "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

// The description and its parse are the server's (protocol/sdp.hpp).
using protocol::parse_candidate;
using protocol::parse_sdp;
using protocol::sdp_candidate;
using protocol::sdp_codec;
using protocol::sdp_extmap;
using protocol::sdp_fingerprint;
using protocol::sdp_media;
using protocol::session_description;

// Our side of the transport in the descriptions we build.
struct local_transport_params {
  std::string ice_ufrag;
  std::string ice_pwd;
  sdp_fingerprint fingerprint;
  // Our host candidate, when known (else the m-lines carry 9 / 0.0.0.0 and the peer learns
  // us as peer-reflexive from our checks).
  std::optional<sdp_candidate> candidate;
  bool end_of_candidates = true;
};

struct publisher_offer_params {
  local_transport_params transport;
  uint64_t session_id = 1; // o= line
  std::string cname = "chorus-bench";
  std::string stream_id = "chorus-bench-stream";
  bool audio = true;
  bool video = true;
  uint32_t audio_ssrc = 0;
  uint32_t video_ssrc = 0;
  uint8_t audio_pt = 111;
  uint8_t video_pt = 96;
  // extmap ids (same on both m-lines, as browsers do)
  uint8_t ext_mid_id = 4;
  uint8_t ext_abs_send_time_id = 2;
  uint8_t ext_transport_cc_id = 3;
};

// The publisher's offer: BUNDLE, rtcp-mux, rtcp-rsize, audio (mid "0", opus/48000/2,
// transport-cc feedback) then video (mid "1", VP8/90000 with nack, nack pli, ccm fir,
// goog-remb, transport-cc), a=ssrc with cname and msid, setup:actpass, sendonly.
std::string build_publisher_offer(const publisher_offer_params& p);

struct subscriber_answer_params {
  local_transport_params transport;
  uint64_t session_id = 2;
  std::string cname = "chorus-bench-sub";
  // Our receiver SSRCs for RTCP (one per accepted media m-line, 0 = leave out a=ssrc).
  uint32_t audio_ssrc = 0;
  uint32_t video_ssrc = 0;
};

// The answer to Janus's subscriber offer: per m-line, the first Opus (audio) or VP8 (video)
// payload type with its feedback and the extensions we understand at the offer's ids,
// recvonly (inactive when the offer is inactive or recvonly), setup:active; other m-lines
// (data channels, other codecs) are rejected with port 0. Fails when nothing is accepted or
// the offer has no ICE credentials / fingerprint.
result<std::string> build_subscriber_answer(const session_description& offer,
                                            const subscriber_answer_params& p);

} // namespace chorus::janus
