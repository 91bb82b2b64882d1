// Re-homing a room in a cluster (docs/design/cluster.md, "Re-homing"): what survives a
// room's home, and how its participants move to the room's new home. Registered in
// register_message_types() like every other message.
//
// The room keeps two copies of its state outside its home, so that a survivor can rebuild
// it when the home is lost:
//   room -> peer on another node   participant_snapshot: that participant's entry
//   room -> node actor elsewhere   room_snapshot: the room-wide state, the roster and the
//                                  live class (chat, hands, polls with their votes)
//   room -> its node -> replica    replica_copy: the same to the node that would home the
//                                  room next (answered replica_stored); the live class's
//                                  replies wait for it
// A participant's peer then rejoins the room at its new home:
//   peer -> its node               rehome_request (waits until the old home has left the
//                                  live set, so that every node places the room alike)
//   node -> new home's room        rejoin_command (answered with join_result)
//   room -> peer and session       room_rebound: the room's new handle
// A graceful move (the home stops, or a node joined that the room now belongs to) starts
// with room_moving from the old room to every peer and session.
#pragma once

#include "actors/message_declaration.hpp"

#include "actors/data_messages.hpp"
#include "actors/media_messages.hpp"
#include "actors/messages.hpp"
#include "protocol/applied_requests.hpp"

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/message.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace chorus::actors {

using hand_over_atom = caf::atom_constant<caf::atom("handover")>;   // node -> room, main -> node
using rehome_settle_atom = caf::atom_constant<caf::atom("rhsettle")>; // room -> itself
using rehome_check_atom = caf::atom_constant<caf::atom("rhcheck")>;   // node -> itself
using rebalance_atom = caf::atom_constant<caf::atom("rebalance")>;    // node -> itself
using rehome_timeout_atom = caf::atom_constant<caf::atom("rhtimeout")>; // peer, session
using drop_copies_atom = caf::atom_constant<caf::atom("dropcopy")>;   // node -> itself

// The room's entry for one participant, as far as it outlives the room's home.
struct participant_snapshot {
  std::string peer_id;
  std::string name;
  bool has_rtp_capabilities = false;
  rtp::rtp_capabilities rtp_capabilities;
  std::string user_id; // empty: the peer id
  std::string image_url;
  actors::grant grant;
  uint8_t muted = 0; // publish kinds a moderator paused
  bool publisher = false;
  bool chat_disabled = false;
  bool co_host = false;
  int8_t own_audio_muted = -1; // update-my-state: -1 never said, else 0 or 1
  int8_t own_video_paused = -1;
  int64_t joined_ms = 0; // Unix ms of the first join (the admin API, the webhooks' durations)
};

struct roster_entry {
  std::string peer_id;
  std::string public_id;
  bool operator==(const roster_entry&) const = default;
};

struct room_block {
  std::string subject;
  std::string peer_id;
  std::string user_id;
  std::string reason;
  std::string by;
  int64_t until_ms = 0;
  bool operator==(const room_block&) const = default;
};

// A poll as a moved room rebuilds it: its question, options and state, and every vote.
struct poll_record {
  protocol::poll_item item;
  std::vector<std::string> voters;
  std::vector<std::vector<uint32_t>> choices; // per voter
};

// The live class's state: in a hand-over, and in the copies kept against a lost home (sent
// at most every class_sync_delay while the class changes).
struct class_state {
  bool present = false;
  std::vector<protocol::hand_item> hands;
  std::vector<protocol::chat_item> chat;
  uint64_t next_chat_id = 1;
  std::vector<poll_record> polls;
  uint64_t next_poll_id = 1;
  // The requests applied lately with their answers (protocol/applied_requests.hpp): one
  // sent again after a lost home is answered, not applied twice.
  std::vector<protocol::applied_request> applied;
};

// The room-wide state, who is in the room and the live class. `version` grows with every
// change the room sends; a rebuilt room continues from the highest it is given. `forget`:
// the node has no participant of the room left (and is not its replica) and drops its copy.
struct room_snapshot {
  std::string room_id;
  uint64_t version = 0;
  bool forget = false;
  std::string creator;
  std::vector<std::string> hosts;
  bool locked = false;
  bool screens_locked = false;
  bool chat_disabled = false;
  std::vector<room_block> blocks;
  std::vector<roster_entry> roster;
  class_state cls;
  std::string own_data_producer_id; // the room's own (label "room"): its rebuild keeps the id
  // The recording running at the home (none: empty id): it goes on at the next home.
  std::string recording_id;
  std::string recording_by;
  int64_t recording_started_ms = 0;
  std::string recording_node; // the home's node id
};

// A participant returns to its room at the room's (new) home.
struct rejoin_command {
  std::string room_id;
  participant_snapshot participant;
  caf::actor session;
  caf::actor peer;
  caf::actor edge_node; // the node actor of the participant's node
  std::vector<producer_info> producers;
  std::vector<data_producer_info> data_producers;
  room_snapshot room; // the freshest room-wide state the participant's node holds
};

// peer -> its node actor: find the room's home anew and rejoin there. `avoid`: the CAF
// node (as text) of the home that was lost or is leaving; placement waits until it is no
// longer among the live nodes ("" when the old home stays, a rebalance).
struct rehome_request {
  std::string avoid;
  rejoin_command cmd;
};

// Room -> the node actor of a node where some of its participants are connected (a cluster):
// `msg` for each of those `sessions`, sent on as from `room`: a message for everyone crosses
// to each node once (actors/room_delivery.cpp).
struct session_fanout {
  caf::actor room;
  std::vector<caf::actor> sessions;
  caf::message msg;
};

// Room -> its node actor (request): keep `copy` on the room's replica, the node that would
// home the room if this one were lost, so that a room rebuilt there after a crash has its
// live class even when no participant of the room is on a survivor. The node passes the
// request on to the replica's node actor (delegated), which keeps the copy and answers
// replica_stored; alone, the node answers at once with `stored` false.
struct replica_copy {
  room_snapshot copy;
  bool keep = false; // set by the home's node: the receiver is the replica and keeps it
};
struct replica_stored {
  uint64_t version = 0;
  bool stored = false;
};

// Old room -> its peers and sessions: the room is moving; `avoid` as in rehome_request.
struct room_moving {
  std::string avoid;
  participant_snapshot participant;
  room_snapshot room;
};

// New room -> a rejoined peer and its session: the room's handle from now on.
struct room_rebound {
  caf::actor room;
};

CHORUS_MESSAGE(participant_snapshot, x.peer_id, x.name, x.has_rtp_capabilities, x.rtp_capabilities,
               x.user_id, x.image_url, x.grant, x.muted, x.publisher, x.chat_disabled, x.co_host,
               x.own_audio_muted, x.own_video_paused, x.joined_ms);
CHORUS_MESSAGE(roster_entry, x.peer_id, x.public_id);
CHORUS_MESSAGE(room_block, x.subject, x.peer_id, x.user_id, x.reason, x.by, x.until_ms);
CHORUS_MESSAGE(poll_record, x.item, x.voters, x.choices);
CHORUS_MESSAGE(class_state, x.present, x.hands, x.chat, x.next_chat_id, x.polls, x.next_poll_id,
               x.applied);
CHORUS_MESSAGE(room_snapshot, x.room_id, x.version, x.forget, x.creator, x.hosts, x.locked,
               x.screens_locked, x.chat_disabled, x.blocks, x.roster, x.cls, x.own_data_producer_id,
               x.recording_id, x.recording_by, x.recording_started_ms, x.recording_node);
CHORUS_MESSAGE(rejoin_command, x.room_id, x.participant, x.session, x.peer, x.edge_node,
               x.producers, x.data_producers, x.room);
CHORUS_MESSAGE(rehome_request, x.avoid, x.cmd);
CHORUS_MESSAGE(session_fanout, x.room, x.sessions, x.msg);
CHORUS_MESSAGE(replica_copy, x.copy, x.keep);
CHORUS_MESSAGE(replica_stored, x.version, x.stored);
CHORUS_MESSAGE(room_moving, x.avoid, x.participant, x.room);
CHORUS_MESSAGE(room_rebound, x.room);

} // namespace chorus::actors
