// The plain RTP transport actor (mediasoup's PlainTransport): RTP and RTCP over UDP
// without ICE or DTLS, optionally protected with SRTP keyed by the signaling
// (srtpParameters, SDES style), for FFmpeg, GStreamer, OBS or a hardware encoder, and for
// the server's own recording (actors/media_recorder.hpp).
//
// It owns one UDP socket (rtcpMux) or two (RTP and RTCP), opened with
// net::media_io::open_udp in either port mode. The remote side is named by
// connect-plain-transport (ip, port, rtcpPort) or, with comedia, learnt from the first RTP
// packet (and the first RTCP packet for a separate RTCP port); without comedia, RTP from any
// other address is dropped and counted. Producers and consumers attach to it exactly as to
// a WebRTC transport (producer_route, consumer_route; transport_media routes by SSRC and
// RTCP by the SSRCs it names), so a consumer on it sends with its own rtp_sender (plain, or
// SRTP with the local key) and producers on it get SR/RR/NACK/PLI toward the ingest.
//
// Messages:
//   net::packet_batch                <- the media I/O thread (both sockets)
//   protocol::plain_transport_request (connect) -> empty_reply
//   get_transport_stats_request      -> stats_reply
//   producer_route -> bool, consumer_route, rtcp_out
// It is linked to its owner (a peer, or the media recorder) and ends with it.
#pragma once

#include "actors/context.hpp"
#include "common/result.hpp"
#include "protocol/messages.hpp"

#include <caf/actor.hpp>

#include <memory>

namespace caf {
class event_based_actor;
}

namespace chorus::actors {

struct send_shared;

struct plain_spawn_result {
  caf::actor actor;
  protocol::plain_transport_reply params;
  std::shared_ptr<send_shared> send; // for the consumers' own senders
};

// Opens the socket(s) and spawns the transport linked to `owner`. Fails with a message
// (unknown crypto suite, bad listenIp, no port left).
result<plain_spawn_result> spawn_plain_transport(caf::event_based_actor* owner,
                                                 const protocol::plain_transport_request& req,
                                                 node_context_ptr ctx);

} // namespace chorus::actors
