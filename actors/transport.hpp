// The WebRTC transport actor: ICE-lite, DTLS and SRTP for one transport of one peer.
// It sorts what its media endpoint receives (RFC 7983) into STUN (net::ice_server), DTLS
// (net::dtls_engine) and SRTP/SRTCP (rtp::srtp_session), runs their timers, and keeps the
// per-transport state and counters.
//
// Messages:
//   net::packet_batch             <- from the media I/O thread (its endpoint's packets)
//   connect_transport_request     -> empty_reply (invalid-state when already connected,
//                                    invalid-field for unusable dtlsParameters)
//   restart_ice_request           -> restart_ice_reply (new local credentials)
//   get_transport_stats_request   -> stats_reply
//   transport_tick_atom           (its own timer)
//   data_producer_route, data_consumer_route -> bool; data_out <- data consumers;
//   sctp_tick_atom, sctp_pending_atom (SCTP timers; see transport_data.hpp)
// It tells its peer `transport_closed` when ICE gives up (consent) or DTLS fails. It is
// linked to its peer and ends with it; ending closes its sockets.
#pragma once

#include "actors/context.hpp"
#include "common/result.hpp"
#include "protocol/messages.hpp"

#include <caf/actor.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace chorus::actors {

struct send_shared;
struct data_send_shared;

struct transport_spawn_result {
  caf::actor actor;
  protocol::transport_params params;
  std::shared_ptr<send_shared> send; // for the consumers' own senders (rtp_sender.hpp)
  std::shared_ptr<data_send_shared> data_send; // for its data consumers (SCTP on)
};

// Whether the transport carries data channels (SCTP), and the client's stream counts
// (its numStreams.OS / MIS; 0: the configured maximum).
struct transport_sctp_request {
  bool enable = false;
  uint16_t os = 0;
  uint16_t mis = 0;
};

// Opens the media endpoint and spawns the transport linked to `peer`. `room` places it on
// an I/O thread with the room's other transports (net/thread_placement.hpp). Fails (with a
// chorus error message) when no port is left.
result<transport_spawn_result> spawn_transport(caf::event_based_actor* peer,
                                               protocol::transport_direction direction,
                                               node_context_ptr ctx, std::string_view room,
                                               const transport_sctp_request& sctp = {});

} // namespace chorus::actors
