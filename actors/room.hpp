// The room actor (mediasoup's router): the peers of one room id and their sessions.
//
// Messages:
//   join_command        -> join_result; spawns the peer actor (linked to the room). A join
//                          with a peer id already present is a reconnect: the old session
//                          gets replaced_atom, the old peer actor is closed, the new one
//                          takes its place. Refused with limit-exceeded when full.
//   peer_update         -> join_result (name / capabilities of a joined peer)
//   close_if_empty_atom -> bool: quits when no peer is left (asked by the node)
// Events sent to sessions: participant_list_update_event (to all, on join and leave),
// participant_left_event (to the others, on leave).
// The room monitors every session: a session that ends is a departure.
#pragma once

#include "actors/context.hpp"

#include <caf/fwd.hpp>

#include <string>

namespace chorus::actors {

// Spawns a room reporting to `node`. `gauges`: the room's metrics.perRoom entry (null when
// off), which the node lists and unlists with its count of rooms; the room keeps it current.
caf::actor spawn_room(caf::actor_system& sys, caf::actor node, std::string room_id,
                      node_context_ptr ctx, std::shared_ptr<room_gauges> gauges);

} // namespace chorus::actors
