// Re-homing's copies of a room (docs/design/cluster.md, "Re-homing"): what another node
// holds of the room-wide state and of each participant's entry, so that the room can be
// rebuilt elsewhere, and the rebuild from them. Pure: builds and applies snapshots.
#pragma once

#include "actors/rehome_messages.hpp"
#include "actors/room_state.hpp"

#include <string>

namespace chorus::actors::rooms {

// A participant's entry as its peer actor keeps a copy of it.
participant_snapshot snapshot_of(const peer_entry& e);

// The entry a rejoining participant's snapshot describes (no session, peer or chat bucket).
peer_entry entry_of(const participant_snapshot& s);

// What of an entry its copy holds, as text: a copy is sent again only when this changes.
// (The capabilities are not in it: the entry's copy is cleared where they change.)
std::string copy_key(const peer_entry& e);

// The room-wide state (locks, hosts, blocks, the roster) at st.version.
room_snapshot room_copy(const room_state& st);

// Whether the copy the other nodes hold must be sent again: its content changed, or the
// nodes that hold one did.
bool copy_changed(const room_snapshot& now, const room_snapshot& last,
                  const std::vector<caf::actor>& holders, const std::vector<caf::actor>& had);

// The live class (hands, chat, polls with their votes, the requests applied lately) as it
// goes along with a room that moves in good order, and in the copies against a lost home.
class_state class_copy(const room_state& st, int64_t now_ms);

// A rebuild takes the room-wide state of a copy newer than what it holds (the first copy
// always). Returns whether it did.
bool apply_room_copy(room_state& st, const room_snapshot& r);

// The live class of a room that moved in good order: what its participants see on screen
// already, and what a joiner catches up on. Kept in addition to anything said here since.
void restore_class(room_state& st, const class_state& cls, int64_t now_ms);

} // namespace chorus::actors::rooms
