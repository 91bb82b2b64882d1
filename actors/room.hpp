// The room actor (mediasoup's router): the participants of one room id, their sessions and
// peer actors, the media they produce, and the room-wide state. Its handlers, by concept:
// actors/room_actor.hpp; its pure cores: room_roster, room_rules, room_audience, room_copy,
// room_journal.
//
// Messages (request -> reply; the rest are one-way):
//   presence   join_command -> join_result (spawns the peer actor, linked; a join with a
//              peer id or user id already present and the same token subject replaces the
//              older connection: replaced_atom to its session); join_batch ->
//              join_batch_reply (another node's joins, each as join_command);
//              peer_update -> join_result;
//              own_state_update -> empty_reply; get_socket_id_request -> socket_id_reply;
//              room_info_query -> room_info_reply; participants_query ->
//              participants_page_reply; close_if_empty_atom -> bool (quits when no one is
//              left; asked by the node); flush_participants_atom, flush_audience_atom (itself)
//   media      producer_info, producer_removed, producer_paused_update (from peers);
//              publish_check -> empty_reply; find_producer -> producer_info;
//              data_producer_info, data_producer_removed, data_producers_query;
//              data_publish_check -> empty_reply; find_data_producer -> data_producer_info;
//              dominant_speaker, audio_levels_report (from the speaker observer)
//   moderation moderation_command, host_command -> empty_reply
//   class      class_command -> class_reply; class_batch -> class_batch_reply (another
//              node's, each as class_command); chat_history_query -> class_event; poll_flush,
//              flush_hands_atom (itself)
//   recording  recording_command -> class_reply; recording_event (from the media recorder)
//   live       live_stream_command -> class_reply; live_stream_event (from the live streamer)
//   re-homing  rejoin_command -> join_result; hand_over_atom -> int64 (participants on this
//              node); rehome_settle_atom, sync_copies_atom (itself)
//   admin API  admin_room_query -> admin_room_snapshot; admin_recording -> class_reply;
//              admin_kick, admin_close -> empty_reply
// Events to sessions: participant_list_update_event (coalesced), audience_update_event (at
// most once a second), participant_left_event,
// new_producer_event, producer_closed_event, class_event, moderation_event, ...
// The room monitors every session and links every peer actor: either end is a departure.
// When the last participant leaves it tells the node (room_idle).
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
