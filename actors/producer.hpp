// The producer actor: one incoming media stream (one SSRC, plus its RTX SSRC) of one peer.
//
// From its transport it gets the decrypted packets (rtp_in) and the sender's SRs. Per
// packet: RTX unwrapped, receive statistics (loss, jitter), NACKs for gaps (rtx-aware),
// keyframe detection, payload type and extension ids mapped to the router's, then ONE
// shared immutable packet that every consumer gets in the same message. Toward the
// sender it writes receiver reports, NACKs and rate-limited PLI/FIR (rtcp_out to its
// transport).
//
// Messages:
//   rtp_in, sender_report_in        <- transport
//   attach_consumer -> attach_reply <- consumer (the producer monitors its consumers)
//   keyframe_request_atom           <- consumer
//   protocol::producer_request      <- peer: pause / resume -> empty_reply,
//                                      get_stats -> stats_reply
// It is linked to its peer; closing it is an exit from the peer. Consumers monitor it.
#pragma once

#include "actors/context.hpp"
#include "rtp/ortc.hpp"

#include <caf/fwd.hpp>

#include <string>

namespace chorus::actors {

struct producer_spawn_args {
  std::string id;
  std::string peer_id;
  rtp::media_kind kind = rtp::media_kind::audio;
  rtp::rtp_parameters parameters; // as the client sent them
  rtp::producer_mapping mapping;
  bool paused = false;
};

caf::actor spawn_producer(caf::event_based_actor* peer, producer_spawn_args args,
                          caf::actor transport, node_context_ptr ctx);

struct rtp_in;

// The producer's lane (actors/lane.hpp): its transport hands a receive batch over by
// running the producer's handler itself when the producer is idle, instead of a message.
// producer_lane: nullptr for anything but a local producer actor. enter_producer_lane is
// false, doing nothing, unless the producer is idle; `eu` is the caller's execution unit.
caf::abstract_actor* producer_lane(const caf::actor& producer);
bool enter_producer_lane(caf::abstract_actor* lane, rtp_in& in, caf::execution_unit* eu);

} // namespace chorus::actors
