// SDP (RFC 8866) as WebRTC peers write it (RFC 8829 JSEP, RFC 8843 BUNDLE, RFC 8839 ICE,
// RFC 8122 fingerprints, RFC 8851/8853 rid and simulcast, RFC 8841 SCTP): a session
// description parsed into a struct, and the struct written again. Pure: text in, structs
// out, and back. What the model does not know (unknown attributes, b= of other kinds) is
// skipped when parsing, so write(parse(x)) keeps what WebRTC needs of x, not x itself.
//
// Outside bytes: a text over `max_sdp_bytes`, more than `max_media` m-lines, lines over
// `max_line_bytes`, numbers out of range and malformed lines of the known attributes fail
// the parse with the line's number and what is wrong.
#pragma once

#include "common/result.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chorus::protocol {

inline constexpr std::size_t max_sdp_bytes = 128 * 1024;
inline constexpr std::size_t max_line_bytes = 4096;
inline constexpr std::size_t max_media = 64;

// The parameters of an a=fmtp value ("a=b;c=d"), in order, as written (a part without '='
// is skipped).
std::vector<std::pair<std::string_view, std::string_view>> fmtp_parameters(std::string_view fmtp);

struct sdp_codec {
  uint8_t payload_type = 0;
  std::string name;         // as written in a=rtpmap ("opus", "VP8", "rtx")
  uint32_t clock_rate = 0;
  uint8_t channels = 0;     // 0 when absent
  std::vector<std::string> feedback; // a=rtcp-fb values: "nack", "nack pli", "ccm fir", ...
  std::string fmtp;         // a=fmtp parameters, as written

  // One parameter of the fmtp ("apt" of "apt=96"); nullopt when absent.
  std::optional<std::string_view> parameter(std::string_view key) const;
};

struct sdp_extmap {
  uint8_t id = 0;           // 1-14 (one-byte) or 15-255 (two-byte, RFC 8285)
  std::string direction;    // "" or "sendonly", "recvonly", "sendrecv", "inactive"
  std::string uri;
};

struct sdp_candidate {
  std::string foundation;
  uint32_t component = 1;
  std::string transport; // "udp", "tcp" (lower-cased)
  uint32_t priority = 0;
  std::string address;   // an IP address or an mDNS name ("....local")
  uint16_t port = 0;
  std::string type;      // "host", "srflx", "prflx", "relay"
  std::string tcp_type;  // "active", "passive", "so" (TCP candidates)
  std::string related_address; // raddr, for srflx / prflx / relay
  uint16_t related_port = 0;

  // "candidate:..." without the "a=" (the form trickle messages carry).
  std::string to_attribute() const;
};
// Parses "candidate:..." or "a=candidate:..." (RFC 8839 §5.1); unknown extensions are skipped.
result<sdp_candidate> parse_candidate(std::string_view line);

struct sdp_fingerprint {
  std::string algorithm; // lower-case, "sha-256"
  std::string value;     // upper-case hex bytes separated by ':'
};

struct sdp_ssrc_group {
  std::string semantics; // "FID", "SIM", "FEC-FR", ...
  std::vector<uint32_t> ssrcs;
};

struct sdp_rid {
  std::string id;
  std::string direction;    // "send" or "recv"
  std::string restrictions; // "pt=96;max-width=1280", as written ("" when none)
};

struct sdp_media {
  std::string kind;     // "audio", "video", "application"
  uint16_t port = 0;    // 0: rejected
  std::string protocol; // "UDP/TLS/RTP/SAVPF", "UDP/DTLS/SCTP"
  std::vector<std::string> formats; // the m-line's format list, as written
  std::string connection_address = "0.0.0.0"; // c= (its own, else the session's)
  uint32_t bandwidth_as = 0;        // b=AS (kbit/s), 0 when absent
  uint32_t bandwidth_tias = 0;      // b=TIAS (bit/s), 0 when absent
  std::string mid;
  std::string direction; // "sendrecv", "sendonly", "recvonly", "inactive" ("" when absent)
  bool rtcp_mux = false;
  bool rtcp_mux_only = false;
  bool rtcp_rsize = false;
  bool bundle_only = false; // a=bundle-only (RFC 8843 §6): port 0, yet taken in the bundle
  std::vector<sdp_codec> codecs; // in m-line order (formats without a=rtpmap are skipped)
  std::vector<sdp_extmap> extmaps;
  std::vector<uint32_t> ssrcs;   // in order of first appearance
  std::vector<sdp_ssrc_group> ssrc_groups;
  std::string cname;             // first a=ssrc:... cname:
  std::string msid;              // a=msid value, as written
  std::vector<sdp_rid> rids;
  std::string simulcast;         // a=simulcast value, as written ("send q;h;f")
  // ICE and DTLS as written at media level (see session_description::effective_*).
  std::string ice_ufrag;
  std::string ice_pwd;
  std::vector<std::string> ice_options; // "trickle", "renomination", ...
  std::optional<sdp_fingerprint> fingerprint;
  std::string setup; // "actpass", "active", "passive"
  std::vector<sdp_candidate> candidates;
  bool end_of_candidates = false;
  uint16_t sctp_port = 0;        // a=sctp-port (data channels)
  uint32_t max_message_size = 0; // a=max-message-size, 0 when absent

  const sdp_codec* codec(std::string_view name) const;      // case-insensitive name
  const sdp_codec* codec(uint8_t payload_type) const;
  std::optional<uint8_t> extmap_id(std::string_view uri) const;
  // The (media, retransmission) pairs of a=ssrc-group:FID.
  std::vector<std::pair<uint32_t, uint32_t>> fid_pairs() const;
  // The rid ids this side sends, in the order a=simulcast lists them (else as a=rid lists).
  std::vector<std::string> send_rids() const;
  bool rejected() const noexcept { return port == 0 && !bundle_only; }
};

struct session_description {
  std::string origin_username = "-";
  std::string origin_session_id = "0"; // o= line, second field
  std::string origin_version = "0";
  std::string origin_address = "127.0.0.1";
  std::string name = "-";               // s=
  std::vector<std::string> bundle_mids; // a=group:BUNDLE (the first such group)
  bool ice_lite = false;
  std::vector<std::string> ice_options;
  std::string ice_ufrag; // session level
  std::string ice_pwd;
  std::optional<sdp_fingerprint> fingerprint;
  std::string setup;
  bool extmap_allow_mixed = false;
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
  const sdp_media* find_mid(std::string_view mid) const;
};

// Parses an SDP text (CRLF or LF line ends). Fails on a missing v=, a malformed m= line,
// numbers out of range, malformed known attributes and the bounds above; unknown
// attributes are skipped.
result<session_description> parse_sdp(std::string_view text);

// Writes a description: v, o, s, t, the session's attributes, then each m-line with its
// c=, b=, transport, mid, extensions, direction, codecs, streams, rids and candidates,
// CRLF line ends (RFC 8866 §5). Fields left empty are left out.
std::string write_sdp(const session_description& d);

} // namespace chorus::protocol
