// The room's journal: the events the outside world hears of a room (webhooks: room-started,
// participant-joined, participant-left, room-finished), built from the room's state. Pure:
// the room actor hands them to the node's event sink (emit_event).
#pragma once

#include "actors/events.hpp"
#include "actors/room_state.hpp"

#include <cstdint>
#include <string>

namespace chorus::actors::rooms {

// room-started: at the room's first join (reason ""), or at its first rejoin with reason
// "moved" when it continues a room from another node.
ops_event room_started(const room_state& st, const char* reason);

// participant-joined for `e`, the newest entry (the count includes it).
ops_event participant_joined(const room_state& st, const peer_entry& e);

// participant-left for `e`, which has left the list; `remaining`: who is still there.
ops_event participant_left(const room_state& st, const peer_entry& e, int64_t now_ms,
                           int64_t remaining, std::string reason);

// Why the next departure happens: the reason a moderator's action or the room's end set,
// "room-closed" while the node stops, else "left".
std::string departure_reason(const room_state& st);

// room-finished: when the room's state ends (not for a room handed over to another node).
ops_event room_finished(const room_state& st, int64_t now_ms);

} // namespace chorus::actors::rooms
