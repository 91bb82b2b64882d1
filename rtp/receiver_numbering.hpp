// A receiver that numbers payload types and header extensions its own way, against the
// router's numbering that consumers forward in. A mediasoup-client device takes the
// router's numbers (its rtpCapabilities come from the router's); an SDP offerer does not:
// a WHEP player offers its own payload types and extension ids, and the answer, and so the
// packets sent to it, must use them (RFC 3264 §6.1, RFC 8285 §6).
//
//   the receiver's capabilities (its numbers)
//     --router_numbered--> the same capabilities in the router's numbers + the map
//   consumable + those --consumer_parameters (ortc.hpp)--> the consumer's rtpParameters
//     --receiver_numbered(map)--> what the answer says and the consumer writes on the wire
//
// Pure: structs in, structs out.
#pragma once

#include "rtp/ortc.hpp"
#include "rtp/rtp_parameters.hpp"

#include <optional>
#include <vector>

namespace chorus::rtp {

// `client` is the receiver's number, `router` the router's.
struct numbering {
  std::vector<payload_type_map_entry> payload_types; // media and rtx codecs
  std::vector<extension_map_entry> extensions;

  std::optional<uint8_t> receiver_payload_type(uint8_t router) const;
  std::optional<uint8_t> receiver_extension_id(uint8_t router) const;
  bool operator==(const numbering&) const = default;
};

struct renumbered_capabilities {
  rtp_capabilities capabilities; // in the router's numbers
  numbering map;
};

// The receiver's capabilities in the router's numbers, in the receiver's order:
//  - each media codec that matches a router codec (ortc's matching rules), at the router
//    codec's payload type, with the receiver's feedback; a receiver codec that the router
//    does not have, or that matches a router codec an earlier one took, is left out;
//  - each rtx codec whose apt names a kept media codec, at the router's rtx payload type
//    for it (left out when the router has none);
//  - each header extension the router sends on streams of that kind (sendrecv or
//    sendonly), at the router's id.
renumbered_capabilities router_numbered(const rtp_capabilities& router,
                                        const rtp_capabilities& receiver);

// A consumer's rtpParameters (router numbers, from consumer_parameters over the
// renumbered capabilities) in the receiver's numbers: payload types, rtx apt and header
// extension ids. A number the map lacks is kept (consumer_parameters only picks mapped ones).
rtp_parameters receiver_numbered(const rtp_parameters& consumer, const numbering& map);

} // namespace chorus::rtp
