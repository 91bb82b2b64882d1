// Just enough SDP (RFC 8866, RFC 8829 JSEP, RFC 8843 BUNDLE) for a WebRTC client of Janus's
// VideoRoom: the publisher's offer (one Opus audio and one VP8 video m-line, sendonly) and
// the parse of Janus's answer; the parse of Janus's subscriber offer and our recvonly answer.
// Pure: strings in, strings and structs out. No sockets, no randomness.
#pragma once

#include "common/result.hpp"

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

struct sdp_codec {
  uint8_t payload_type = 0;
  std::string name;         // as written in a=rtpmap ("opus", "VP8", "rtx")
  uint32_t clock_rate = 0;
  uint8_t channels = 0;     // 0 when absent
  std::vector<std::string> feedback; // a=rtcp-fb values: "nack", "nack pli", "ccm fir", ...
  std::string fmtp;         // a=fmtp parameters, as written
};

struct sdp_extmap {
  uint8_t id = 0;
  std::string uri;
};

struct sdp_candidate {
  std::string foundation;
  uint32_t component = 1;
  std::string transport; // "udp", "tcp" (lower-cased)
  uint32_t priority = 0;
  std::string address;
  uint16_t port = 0;
  std::string type; // "host", "srflx", "prflx", "relay"

  // "candidate:..." without the "a=" (the form trickle messages carry).
  std::string to_attribute() const;
};
// Parses "candidate:..." or "a=candidate:..." (RFC 8839 §5.1).
result<sdp_candidate> parse_candidate(std::string_view line);

struct sdp_fingerprint {
  std::string algorithm; // lower-case, "sha-256"
  std::string value;     // upper-case hex bytes separated by ':'
};

struct sdp_media {
  std::string kind;     // "audio", "video", "application"
  uint16_t port = 0;    // 0: rejected
  std::string protocol; // "UDP/TLS/RTP/SAVPF"
  std::vector<std::string> formats; // the m-line's format list, as written
  std::string mid;
  std::string direction; // "sendrecv", "sendonly", "recvonly", "inactive"
  bool rtcp_mux = false;
  bool rtcp_rsize = false;
  std::vector<sdp_codec> codecs; // in m-line order (formats without a=rtpmap are skipped)
  std::vector<sdp_extmap> extmaps;
  std::vector<uint32_t> ssrcs;   // in order of first appearance
  std::vector<std::pair<uint32_t, uint32_t>> fid_groups; // (media, rtx) from a=ssrc-group:FID
  std::string cname;             // first a=ssrc:... cname:
  std::string msid;              // a=msid value, as written
  // ICE and DTLS as written at media level (see session_description::effective_*).
  std::string ice_ufrag;
  std::string ice_pwd;
  std::optional<sdp_fingerprint> fingerprint;
  std::string setup; // "actpass", "active", "passive"
  std::vector<sdp_candidate> candidates;
  bool end_of_candidates = false;

  const sdp_codec* codec(std::string_view name) const;      // case-insensitive name
  const sdp_codec* codec(uint8_t payload_type) const;
  std::optional<uint8_t> extmap_id(std::string_view uri) const;
  bool rejected() const noexcept { return port == 0; }
};

struct session_description {
  std::string origin_session_id; // o= line, second field
  std::string origin_version;
  std::vector<std::string> bundle_mids; // a=group:BUNDLE
  bool ice_lite = false;
  std::string ice_ufrag; // session level
  std::string ice_pwd;
  std::optional<sdp_fingerprint> fingerprint;
  std::string setup;
  std::string msid_semantic;
  std::vector<sdp_media> media;

  // Media level when present, else session level (RFC 8839 §5.4, RFC 8122 §5).
  const std::string& effective_ufrag(std::size_t m) const;
  const std::string& effective_pwd(std::size_t m) const;
  const std::optional<sdp_fingerprint>& effective_fingerprint(std::size_t m) const;
  const std::string& effective_setup(std::size_t m) const;
  // All candidates of the description (BUNDLE: one transport), in order, without duplicates.
  std::vector<sdp_candidate> all_candidates() const;
  const sdp_media* find_kind(std::string_view kind) const; // first m-line of that kind
};

// Parses an SDP text (CRLF or LF line ends). Fails on a missing v=, a malformed m= line or
// numbers out of range; unknown attributes are skipped.
result<session_description> parse_sdp(std::string_view text);

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
