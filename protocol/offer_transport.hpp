// What WHIP (RFC 9725) and WHEP read alike from a client's SDP offer and write alike in the
// answer: the one transport the m-lines share (BUNDLE, RFC 8843; ICE, RFC 8839; DTLS,
// RFC 8842), codecs in rtp/ terms, and the transport's part of an answer. Pure.
#pragma once

#include "common/result.hpp"
#include "net/dtls_parameters.hpp"
#include "protocol/replies.hpp"
#include "protocol/sdp.hpp"
#include "rtp/rtp_parameters.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::protocol {

// The client's side of the transport: its ICE credentials and DTLS fingerprint and role.
struct offer_transport {
  std::string ice_ufrag;
  std::string ice_pwd;
  net::dtls_parameters dtls; // the client's fingerprint, and the role the server takes
};

// "m-line 2 (mid 1)": how errors name an m-line.
std::string m_line_name(const sdp_media& m, std::size_t index);

// Reads the transport of m-line `index`, which the answer takes part in, and checks it
// against those taken before (`bundle_mids`, `first`): ICE credentials and a fingerprint
// present, a=setup one of actpass, active, passive (the server is then the DTLS client to
// actpass and active, the server to passive), a mid, in the BUNDLE group when there is one,
// and the same credentials and fingerprint as the first (one transport). The first m-line
// sets `first`; each appends its mid to `bundle_mids`. Returns what is wrong, or "".
std::string take_transport(const session_description& offer, std::size_t index,
                            std::optional<offer_transport>& first,
                            std::vector<std::string>& bundle_mids);

// An a=fmtp value as codec parameters: a value of digits alone is a number, as
// mediasoup-client reads fmtp (sdp-transform), so that the router's matching sees the same.
rtp::codec_params parameters_of(std::string_view fmtp);
// "nack pli" as {"nack", "pli"}.
rtp::rtcp_feedback feedback_of(std::string_view value);
// An m-line's codec as RTP parameters of `kind` ("video/" + its name), feedback left out.
rtp::codec_parameters codec_of(const sdp_codec& c, rtp::media_kind kind);
// Whether a codec is a retransmission format (rtx, in any case).
bool is_rtx_format(std::string_view name);
// Whether a codec is a repair or redundancy format rather than media (rtx, red, FEC).
bool is_repair_format(std::string_view name);
// The m-line's retransmission codec for payload type `pt` (its apt), or nullptr.
const sdp_codec* offered_rtx_for(const sdp_media& m, uint8_t pt);

// ---- the answer -------------------------------------------------------------------------

// The answer's session: o= with `session_id`, the BUNDLE group of `bundle_mids`, ICE-lite
// as the transport is, a=extmap-allow-mixed when the offer has it, a=msid-semantic.
session_description answer_session(const session_description& offer,
                                   const std::vector<std::string>& bundle_mids,
                                   const transport_params& transport, uint64_t session_id);
// An m-line the answer rejects (RFC 8829 §5.3.1): port 0, the offer's formats, inactive.
sdp_media rejected_media(const sdp_media& offered);
// An m-line the answer takes: the offer's kind, protocol and mid; the server's ICE
// credentials, fingerprint (in the client's algorithm when the server has one), DTLS role
// (`client` from take_transport: active, else passive), rtcp-mux, candidates and
// end-of-candidates; c= and the port of the first UDP candidate. The RTP part (answer_rtp)
// and the direction are the caller's.
sdp_media answer_media(const sdp_media& offered, const offer_transport& client,
                       const transport_params& transport);
// The RTP part of an answer's m-line from the parameters it sends or receives: rtcp-rsize,
// the header extensions, and the codecs as formats, each named as the offer names it (its
// fmtp too) where it lists it.
void answer_rtp(sdp_media& m, const rtp::rtp_parameters& p, const sdp_media& offered);

// The ICE part of an answer after an ICE restart, as an RFC 8840 fragment: ICE-lite, the
// transport's credentials, and per bundled mid its candidates and end-of-candidates.
std::string write_ice_fragment(const std::vector<std::string>& bundle_mids,
                               const transport_params& transport);

} // namespace chorus::protocol
