// A WHIP publisher's offer (RFC 9725) in the server's terms, and the answer to it. Pure:
// the parsed offer (protocol/sdp.hpp) and the router's capabilities in; what to `produce`
// on one WebRTC transport, or an error naming the m-line and what is wrong, out; then the
// transport's parameters in and the answer's text out.
//
// Reading the offer (what mediasoup-client would have sent for the same transceivers):
// - one transport for everything (protocol/offer_transport.hpp, take_transport; WHIP
//   clients use max-bundle);
// - an audio or video m-line that sends (sendonly, sendrecv) is a track; any other
//   (recvonly, inactive, port 0, data channels) is rejected in the answer;
// - its codec: the first the offer lists that the router receives (map_producer's
//   matching), with the offer's retransmission codec for it when the router has one; the
//   feedback both list; the header extensions the router receives, at the offer's ids;
// - its encodings: one per rid of a=simulcast (video, at most four, taken lowest resolution
//   first as browsers list q;h;f), bound by the rtp-stream-id extension; else the first
//   SSRC with its FID partner for retransmission;
// - each track is checked by rtp::map_producer as a produce request would be.
// The answer: ICE-lite, our ICE credentials and fingerprint, DTLS passive to a client that
// offers actpass or active (active to one that offers passive), the chosen codecs, recvonly,
// a=rid recv and a=simulcast:recv for simulcast, our candidates and end-of-candidates.
#pragma once

#include "common/result.hpp"
#include "protocol/offer_transport.hpp"
#include "protocol/replies.hpp"
#include "protocol/sdp.hpp"
#include "rtp/rtp_parameters.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace chorus::protocol {

struct whip_track {
  std::size_t m_line = 0; // its index in the offer
  rtp::media_kind kind = rtp::media_kind::audio;
  rtp::rtp_parameters parameters; // a produce request's rtpParameters
};

struct whip_offer {
  offer_transport transport; // the client's ICE credentials, fingerprint and DTLS role
  std::vector<whip_track> tracks;
  std::vector<std::string> bundle_mids; // the tracks' mids, in offer order
};

result<whip_offer> read_whip_offer(const session_description& offer,
                                   const rtp::rtp_capabilities& router);

// `session_id`: the answer's o= session id (a random number, per resource).
std::string write_whip_answer(const session_description& offer, const whip_offer& accepted,
                              const transport_params& transport, uint64_t session_id);

} // namespace chorus::protocol
