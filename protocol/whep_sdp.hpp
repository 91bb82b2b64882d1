// A WHEP player's offer (draft-ietf-wish-whep) in the server's terms, and the answer to it.
// Pure: the parsed offer (protocol/sdp.hpp) and the router's capabilities in; the m-lines
// the server can send on, each with what the player receives in its own numbers and in the
// router's, out; then the consumers' parameters and the transport in, the answer's text out.
//
// Reading the offer:
// - one transport for everything (protocol/offer_transport.hpp, take_transport);
// - an audio or video m-line that receives (recvonly, sendrecv) is a slot when the router
//   forwards one of its codecs; any other (sendonly, inactive, port 0, data channels, no
//   codec in common) is rejected in the answer;
// - a slot's capabilities: its codecs (repair formats but rtx left out) with their
//   feedback and fmtp, and the header extensions it receives, at the offer's numbers;
//   renumbered as the router's (rtp/receiver_numbering.hpp) for consumer_parameters.
// The answer: ICE-lite, our ICE credentials and fingerprint, DTLS passive to a client that
// offers actpass or active, per slot with a stream: sendonly, the consumer's codec and its
// rtx, extensions, msid, SSRCs with cname and the FID group, our candidates; per slot
// without one (nothing of that kind to play) and per other m-line: rejected.
#pragma once

#include "common/result.hpp"
#include "protocol/offer_transport.hpp"
#include "protocol/replies.hpp"
#include "protocol/sdp.hpp"
#include "rtp/receiver_numbering.hpp"
#include "rtp/rtp_parameters.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace chorus::protocol {

struct whep_slot {
  std::size_t m_line = 0; // its index in the offer
  rtp::media_kind kind = rtp::media_kind::audio;
  std::string mid;
  rtp::renumbered_capabilities receive; // in the router's numbers, and the map back
};

struct whep_offer {
  offer_transport transport; // the client's ICE credentials, fingerprint and DTLS role
  std::vector<whep_slot> slots;
};

result<whep_offer> read_whep_offer(const session_description& offer,
                                   const rtp::rtp_capabilities& router);

// What one slot sends: the consumer's rtpParameters in the player's numbers
// (rtp::receiver_numbered) and the a=msid value ("STREAM TRACK").
struct whep_stream {
  std::size_t m_line = 0;
  rtp::rtp_parameters parameters;
  std::string msid;
};

// `session_id`: the answer's o= session id (a random number, per resource). The BUNDLE
// group is the mids of the slots that have a stream.
std::string write_whep_answer(const session_description& offer, const whep_offer& accepted,
                              const std::vector<whep_stream>& streams,
                              const transport_params& transport, uint64_t session_id);

} // namespace chorus::protocol
