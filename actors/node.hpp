// The node actor (mediasoup's worker): owns the registry of room actors on this process.
//
// Messages:
//   join_command        -> delegated to the room (created on first use); the room replies
//                          join_result, or an error (limit-exceeded when the node has
//                          limits.maxRooms rooms).
//   room_idle           <- from a room whose last peer left: the node asks it to close
//                          (close_if_empty_atom, awaited so that no join can slip in
//                          between) and forgets it.
// Rooms are monitored, not linked: a room that closes or fails never ends the node. When
// the node is told to exit (shutdown), it ends every room first.
#pragma once

#include "actors/context.hpp"

#include <caf/fwd.hpp>

namespace chorus::actors {

caf::actor spawn_node(caf::actor_system& sys, node_context_ptr ctx);

} // namespace chorus::actors
