// The room's roster: who is in the room, what rank each holds (host, co-host,
// participant), and the lists and answers built from that (the participant list, room
// info, the admin view). Pure: reads and changes room_state, sends nothing.
#pragma once

#include "actors/operations.hpp"
#include "actors/room_state.hpp"
#include "protocol/messages.hpp"

#include <caf/error.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace chorus::actors::rooms {

peer_entry* find_peer(room_state& st, const std::string& id);
// The participant a moderation request names: by peer id, else by user id.
peer_entry* find_target(room_state& st, const std::string& id);
// The producer the room lists under this id (nullptr: none).
const producer_info* find_listed(const room_state& st, const std::string& producer_id);

caf::error not_in_room(const room_state& st, const std::string& peer_id);
// forbidden: `what` needs permission `p`.
caf::error need(const peer_entry& e, protocol::permission p, std::string_view what);

bool is_creator(const room_state& st, const peer_entry& e);
// Host: the room's creator, a teacher, or one made host. Co-host: made so, or a moderator.
bool is_host(const room_state& st, const peer_entry& e);
bool is_co_host(const room_state& st, const peer_entry& e);
// 2: host, 1: co-host, 0: participant.
int rank_of(const room_state& st, const peer_entry& e);

// One participant as the lists show it.
protocol::participant participant_item(const room_state& st, const peer_entry& p);
// participant-list-update: everyone but the audience (actors/room_audience.hpp).
protocol::participant_list_update_event participant_list(const room_state& st);

// The identity a join or an update gives: user id, image, creator claim. Returns whether
// anything the participant list shows changed.
bool apply_identity(room_state& st, peer_entry& e, const identity& id);

// isAudioMuted / isVideoPaused of a peer follow its producers: muted unless it has an
// unpaused producer of that kind. Returns true when a flag changed.
bool update_flags(room_state& st, peer_entry& e);

protocol::producer_closed_event closed_event(const room_state& st, const producer_info& p);
// The active speaker as joiners and everyone are told (none when it is no longer listed).
std::optional<protocol::active_speaker_event> speaker_event(const room_state& st);
// A producer as the recorder and consumers need it: with the producing participant's ids.
producer_info with_owner(const room_state& st, const producer_info& p);

protocol::room_info_reply room_info(const room_state& st, const peer_entry& asker);
admin_room_snapshot admin_snapshot(const room_state& st);

} // namespace chorus::actors::rooms
