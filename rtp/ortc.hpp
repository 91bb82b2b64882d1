// ORTC mapping between a client's RTP parameters and the router's capabilities, following
// the rules mediasoup uses so that the stock mediasoup-client accepts what Chorus answers:
//
//   producer rtpParameters (client payload types and extension ids)
//     --map_producer--> producer_mapping (client pt -> router pt, client ext id -> router id)
//                       + consumable parameters (the producer's stream in router space)
//   consumable parameters + a consumer's rtpCapabilities
//     --can_consume / consumer_parameters--> the consumer's rtpParameters
//
// Pure code: structs in, structs or a message naming the offending field out.
#pragma once

#include "common/result.hpp"
#include "rtp/rtp_parameters.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::rtp {

constexpr std::size_t max_encodings = 4;

struct payload_type_map_entry {
  uint8_t client = 0; // payload type on the producer's wire
  uint8_t router = 0; // the router capability's preferredPayloadType
  bool operator==(const payload_type_map_entry&) const = default;
};

struct extension_map_entry {
  uint8_t client = 0; // id on the producer's wire
  uint8_t router = 0; // the router capability's preferredId
  std::string uri;
  bool operator==(const extension_map_entry&) const = default;
};

// One encoding of a producer as the router receives it: a simulcast stream (one of up to
// four, lowest resolution first, as mediasoup-client lists them) or the only stream.
struct encoding_mapping {
  uint32_t ssrc = 0;     // 0: learnt from the first packet carrying `rid`
  uint32_t rtx_ssrc = 0; // 0: absent, or learnt from repaired-rid packets
  std::string rid;       // empty: bound by ssrc
  uint8_t spatial_layers = 1;  // inside this encoding (SVC: L3T3 and the like)
  uint8_t temporal_layers = 1; // from scalabilityMode (1 when absent)
  bool ksvc = false;           // *_KEY modes: spatial layers depend only at keyframes
  uint32_t max_bitrate = 0;    // as the client asked (0: absent)
  bool operator==(const encoding_mapping&) const = default;
};

// What the producer's rtpParameters mean in router terms.
struct producer_mapping {
  media_kind kind = media_kind::audio;
  std::vector<payload_type_map_entry> codecs; // media codecs (not rtx), in the client's order
  std::vector<payload_type_map_entry> rtx;    // rtx codecs (client rtx pt -> router rtx pt)
  std::vector<extension_map_entry> header_extensions; // only those the router knows
  uint32_t ssrc = 0;     // encodings[0].ssrc (0 when rid-bound)
  uint32_t rtx_ssrc = 0; // encodings[0].rtx.ssrc, 0 when absent
  std::vector<encoding_mapping> encodings; // 1 to 4, in the client's order
  std::string cname;     // rtcp.cname (may be empty)
  std::string mid;       // rtpParameters.mid: how a rid-bound stream's first packets are routed

  // simulcast: several encodings; svc: one encoding with several spatial layers;
  // simple otherwise (temporal layers alone travel in one stream).
  bool simulcast() const noexcept { return encodings.size() > 1; }
  bool svc() const noexcept { return encodings.size() == 1 && encodings[0].spatial_layers > 1; }
  bool operator==(const producer_mapping&) const = default;
};

// Validates a producer's rtpParameters against the router capabilities and maps them:
//  - kind must be the kind of every codec; at least one media codec;
//  - each media codec must match a router codec (matching rules below); codecs that do not
//    match fail the whole call, naming `rtpParameters.codecs[i]`;
//  - each rtx codec must have an `apt` naming a media codec of the same parameters; it maps
//    to the router rtx codec whose apt is the router pt of that media codec;
//  - header extensions the router does not know (uri + kind) are ignored (not mapped);
//    duplicate ids fail;
//  - 1 to max_encodings encodings, each with an ssrc or a rid (a rid needs the rtp-stream-id
//    extension: the SSRC is learnt from the first packets); more than one (simulcast) for
//    video only, each without spatial layers; spatial layers in one encoding (SVC) for VP9
//    only; scalabilityMode one of the W3C modes; rids and ssrcs unique; an rtx ssrc needs
//    an rtx codec.
// Matching (mediasoup ortc.matchCodecs): mimeType case-insensitive, clockRate, channels
// (audio; absent means 1), and for H264 packetization-mode (absent = 0) and profile-level-id
// profile (the level may differ), for VP9 profile-id (absent = 0).
result<producer_mapping> map_producer(const rtp_capabilities& router, media_kind kind,
                                      const rtp_parameters& params);

// The producer's stream as the router forwards it (mediasoup's "consumable parameters"):
// codecs with router payload types and the router codec's rtcpFeedback, parameters kept
// from the producer; header extensions with router ids (only the mapped ones); one encoding
// {ssrc = mapping.ssrc}; rtcp.cname from the producer.
rtp_parameters consumable_parameters(const rtp_capabilities& router,
                                     const rtp_parameters& producer,
                                     const producer_mapping& mapping);

// How a consumable's stream is layered (what a consumer of it selects from): simulcast
// (several encodings), SVC (spatial or temporal layers in one stream, as mediasoup calls
// it), or simple.
struct layering {
  bool simulcast = false;
  uint8_t spatial = 1;
  uint8_t temporal = 1;
  std::string_view type() const noexcept {
    return simulcast ? "simulcast" : (spatial > 1 || temporal > 1) ? "svc" : "simple";
  }
};
layering layering_of(const rtp_parameters& consumable);

// The router's media codec that a stream of `codec` is received as (the matching rules of
// map_producer), or nullptr; and the router's rtx codec for it, or nullptr.
const codec_capability* router_codec_for(const rtp_capabilities& router,
                                         const codec_parameters& codec);
const codec_capability* router_rtx_codec_for(const rtp_capabilities& router,
                                             const codec_capability& media);
// Whether the router receives header extension `uri` on streams of `kind`.
bool router_receives_extension(const rtp_capabilities& router, media_kind kind,
                               std::string_view uri);

// True when `caps` (a consumer's rtpCapabilities) can receive at least one media codec of
// `consumable` (same matching as above, against the codecs of `caps`).
bool can_consume(const rtp_parameters& consumable, const rtp_capabilities& caps);

// The payload types of RED and of the Opus inside it, when `consumable` offers both (an
// Opus stream on a router with RED): a consumer converts between the two forms.
struct red_payload_types {
  uint8_t red = 0;
  uint8_t opus = 0;
};
std::optional<red_payload_types> red_payload_types_of(const rtp_parameters& consumable);

struct consumer_options {
  uint32_t ssrc = 0;     // the consumer's own SSRC (caller picks it randomly)
  uint32_t rtx_ssrc = 0; // used only when rtx is negotiated
  std::string mid;       // per receive transport, unique ("0", "1", ...)
  std::string cname;     // rtcp.cname (the producer's)
};

// The consumer's rtpParameters (mediasoup ortc.getConsumerRtpParameters + SimpleConsumer):
//  - codecs: the first media codec of `consumable` that `caps` supports, with the router
//    payload type, its rtcpFeedback reduced to what the caps codec lists, followed by its rtx
//    codec when the caps have an rtx codec with apt = that payload type;
//  - header extensions: those of `consumable` whose uri and id the caps list for the
//    consumer's kind;
//  - feedback "transport-cc" dropped when the transport-cc extension is not kept;
//    "goog-remb" dropped when abs-send-time is not kept or transport-cc is kept;
//  - one encoding {ssrc, rtx: {ssrc: rtx_ssrc} when rtx}, mid, rtcp {cname, reducedSize}.
// Fails with a message when nothing can be consumed (no common codec).
result<rtp_parameters> consumer_parameters(const rtp_parameters& consumable,
                                           const rtp_capabilities& caps,
                                           const consumer_options& options);

} // namespace chorus::rtp
