// The peer actor: one participant of a room, owner of its transports, producers and
// consumers.
//
// Messages (from its session), each answered with a protocol reply or a chorus error:
//   create_transport_request, connect_transport_request, restart_ice_request,
//   get_transport_stats_request, produce_request, consume_request, producer_request,
//   consumer_request.
// From its room: participant_snapshot, room_moving, room_rebound (re-homing); from its data
// consumers of the room's own data producer: data_source_lost (found again at the room).
// The peer is linked to its room and ends with it (unless the room's home is lost: then it
// rejoins the room at its next home).
#pragma once

#include "actors/context.hpp"

#include <caf/fwd.hpp>

#include <string>

namespace chorus::actors {

// `node`: the node actor of this node (the peer asks it for relays of remote producers).
caf::actor spawn_peer(caf::event_based_actor* room, caf::actor node, std::string peer_id,
                      std::string room_id, caf::actor session, node_context_ptr ctx);

// A peer on this node (the client's, where its transports are) for a room homed on another
// node of the cluster: the room links itself to it when the join succeeds.
caf::actor spawn_peer_for(caf::actor_system& sys, const caf::actor& room, caf::actor node,
                          std::string peer_id, std::string room_id, caf::actor session,
                          node_context_ptr ctx);

} // namespace chorus::actors
