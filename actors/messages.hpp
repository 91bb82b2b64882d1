// Every message exchanged between Chorus actors: atoms, the actor-internal structs, and
// the protocol/ structs (requests, replies, events). All are registered with the actor
// system in register_message_types(), so that any actor can later live on another node
// (CAF remoting). Errors travel as caf::error in the "chorus" category, carrying a
// protocol::error_code and a message.
#pragma once

#include "actors/message_declaration.hpp"

#include "actors/serialization.hpp"

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace chorus::actors {

// ---- atoms --------------------------------------------------------------------------
using close_if_empty_atom = caf::atom_constant<caf::atom("clsifempty")>;
using replaced_atom = caf::atom_constant<caf::atom("replaced")>;
using peer_lost_atom = caf::atom_constant<caf::atom("peerlost")>;
using transport_tick_atom = caf::atom_constant<caf::atom("trtick")>;
using flush_participants_atom = caf::atom_constant<caf::atom("flushlist")>;
using flush_audience_atom = caf::atom_constant<caf::atom("flushaud")>;
using flush_hands_atom = caf::atom_constant<caf::atom("flushhand")>;
using flush_class_batches_atom = caf::atom_constant<caf::atom("flushcls")>;
using list_rooms_atom = caf::atom_constant<caf::atom("listrooms")>; // node: its room ids

// ---- session <- WebSocket edge -----------------------------------------------------------
struct ws_text {
  std::string text;
};
struct ws_binary {
  uint64_t size = 0;
};
struct ws_closed {
  uint16_t code = 1006;
};

// ---- session -> node -> room --------------------------------------------------------------
// Joins (or re-joins, for a reconnect) `peer_id` to `room_id`. The room replies join_result.
// The participant's identity as the seed 004 frontend gives it (all optional): the user
// id (the public id; another peer of the same user id in the room is replaced), the image,
// and whether it created the room (the first creator is the host).
struct identity {
  std::string user_id;
  std::string image_url;
  bool is_creator = false;
};

// Who a connection is and what it may do, as its token says (auth.mode jwt) or, with mode
// none, its chosen role or the default: the room keeps it with the participant and checks
// every request against it (protocol/permissions.hpp). `subject` is the token's `sub`
// (empty without a token): a second connection of the same subject replaces the first;
// without a token a taken id is refused.
struct grant {
  std::string subject;
  std::string role;
  uint16_t permissions = 0; // protocol::permission_set bits
};

struct join_command {
  std::string room_id;
  std::string peer_id;
  std::string name;
  caf::actor session;
  bool has_rtp_capabilities = false;
  rtp::rtp_capabilities rtp_capabilities;
  actors::identity identity;
  actors::grant grant;
  // In a cluster: the peer actor the client's node made for a room homed elsewhere (null:
  // the room spawns it), and whether the join already went to the room's home.
  caf::actor peer;
  bool placed = false;
  caf::actor edge_node; // the node actor of the client's node (set with `peer`)
};

// peer -> its node: the relay of a producer on another node (made if there is none).
struct get_relay {
  caf::actor producer;
};

// node -> node (in a cluster): the room `room_id`, made on the asked node if it has none.
struct get_room {
  std::string room_id;
  bool forwarded = false; // passed on once by a node whose view placed it elsewhere
  std::string avoid;      // a rejoin's: the CAF node (as text) of the lost home
};

// Meetings of the HTTP API (actors/meetings.hpp), so that every node of a cluster serves
// every meeting and knows every room's host: main -> its node, for a meeting registered
// there; node -> every other live node, `relayed` (the receiver only keeps them); and a
// node's whole book to a node that joined the cluster, `relayed` too.
struct meetings_shared {
  std::vector<protocol::meeting> meetings;
  bool relayed = false;
};

// cluster -> node: the live members (this node included) and their node actors; the
// node places rooms over them (rendezvous hashing, net/cluster.hpp).
struct cluster_node {
  std::string node_id;
  caf::actor node;
};
struct cluster_nodes {
  std::string self_id;
  std::vector<cluster_node> nodes;
};

// An already joined session updates its name / capabilities / identity (join-mediasoup-room
// again, set-user-id). Empty fields leave the entry as it is.
struct peer_update {
  std::string peer_id;
  std::string name;
  bool has_rtp_capabilities = false;
  rtp::rtp_capabilities rtp_capabilities;
  actors::identity identity;
};

struct join_result {
  caf::actor room;
  caf::actor peer;
  std::vector<std::string> existing_producers;
  bool is_host = false;
  bool is_co_host = false;
};

// node actor -> a room homed elsewhere: the joins of clients on the sending node. At most one
// batch per room is under way from a node; the joins that arrive meanwhile go together in
// the next, so a storm's joins cross in a few messages and a lone join waits for nothing.
// Answered with one outcome per command, in order: errors[i] when it failed, else
// results[i].
struct join_batch {
  std::vector<join_command> commands;
};
struct join_batch_reply {
  std::vector<join_result> results;
  std::vector<caf::error> errors;
};

// session -> room: update-my-state of `peer_id`.
struct own_state_update {
  std::string peer_id;
  protocol::update_state_request state;
};

// session -> room: get-room-info of `peer_id`.
struct room_info_query {
  std::string peer_id;
};

// session -> room: get-participants of `peer_id` (a moderator).
struct participants_query {
  std::string peer_id;
  protocol::get_participants_request request;
};

// session -> room: a moderation request of `issuer` (a peer id).
struct moderation_command {
  std::string issuer;
  protocol::moderation_request request;
};

// session -> room: a live-class request of `peer_id` (docs/protocol.md, "The live class").
// `op`: the session's id for it (unique per session, kept when the request is sent again
// after a lost home; 0: none), by which the room answers a repeat without applying it twice.
struct class_command {
  std::string peer_id;
  protocol::class_request request;
  uint64_t op = 0;
};

// session -> its node actor: a live-class request for a room homed on another node. The node
// gathers those of a short window into one class_batch per room, so that an audience's
// votes, chat and hands cross to the room's home in a few messages, not one per member.
struct class_upstream {
  caf::actor room;
  class_command command;
};

// node actor -> a room homed elsewhere: its sessions' live-class requests; answered with
// one outcome per command, in order: errors[i] when it failed, else replies[i].
struct class_batch {
  std::vector<class_command> commands;
};
struct class_batch_reply {
  std::vector<protocol::class_reply> replies;
  std::vector<caf::error> errors;
};

// session -> room: start-recording / stop-recording of `peer_id` (actors/media_recorder.hpp).
struct recording_command {
  std::string peer_id;
  protocol::recording_request request;
};

// session -> room: live-stream / stop-live-stream of `peer_id` (actors/live_streamer.hpp).
struct live_stream_command {
  std::string peer_id;
  protocol::live_stream_request request;
};

// session -> room: a host control of the seed 004 frontend, of `peer_id`.
struct host_command {
  std::string peer_id;
  protocol::host_request request;
};

// session -> node -> room: the chat history of `room_id` for a connection that has not
// joined yet (the frontend asks as its chat panel mounts). Answered with a class_event
// (chat_history); empty when the room is not homed on the asked node.
struct chat_history_query {
  std::string room_id;
};

// room -> itself: the gathered live results of a poll are due.
struct poll_flush {
  std::string poll_id;
};

// peer -> room: may `peer_id` publish (or resume) a producer of `kind` (a
// protocol::publish_kinds bit)? The room answers protocol::empty_reply or `forbidden`
// (permission, or muted by a moderator) or `limit-exceeded` (publishers per room).
struct publish_check {
  std::string peer_id;
  uint8_t kind = 0;
  bool resume = false;
};

// room -> peer: a moderator paused (mute-peer) or revoked (disallow-publish) the peer's
// producers of these kinds (protocol::publish_kinds bits).
struct moderator_pause {
  uint8_t kinds = 0;
};
struct moderator_close {
  uint8_t kinds = 0;
};

// room -> session: the room ends this connection (kick-peer, block-peer, end-room).
struct close_session {
  uint16_t code = 1000;
  std::string reason;
};

// peer -> its consumer, producer or transport, or session -> itself (inject-fault, only
// with --fault-injection): fail now, by an exception out of the handler (exit false) or by
// quitting with an error; what owns the actor must close only its subtree.
struct fault_command {
  bool exit = false;
};

// room -> node: the last peer left.
struct room_idle {
  std::string room_id;
};

// transport -> peer: the transport ended on its own (ICE consent lost, DTLS failed).
struct transport_closed {
  std::string transport_id;
  std::string reason;
};

CHORUS_MESSAGE(ws_text, x.text);
CHORUS_MESSAGE(ws_binary, x.size);
CHORUS_MESSAGE(ws_closed, x.code);
CHORUS_MESSAGE(identity, x.user_id, x.image_url, x.is_creator);
CHORUS_MESSAGE(grant, x.subject, x.role, x.permissions);
CHORUS_MESSAGE(join_command, x.room_id, x.peer_id, x.name, x.session, x.has_rtp_capabilities,
               x.rtp_capabilities, x.identity, x.grant, x.peer, x.placed, x.edge_node);
CHORUS_MESSAGE(room_info_query, x.peer_id);
CHORUS_MESSAGE(participants_query, x.peer_id, x.request);
CHORUS_MESSAGE(moderation_command, x.issuer, x.request);
CHORUS_MESSAGE(class_command, x.peer_id, x.request, x.op);
CHORUS_MESSAGE(class_upstream, x.room, x.command);
CHORUS_MESSAGE(class_batch, x.commands);
CHORUS_MESSAGE(class_batch_reply, x.replies, x.errors);
CHORUS_MESSAGE(recording_command, x.peer_id, x.request);
CHORUS_MESSAGE(live_stream_command, x.peer_id, x.request);
CHORUS_MESSAGE(host_command, x.peer_id, x.request);
CHORUS_MESSAGE(chat_history_query, x.room_id);
CHORUS_MESSAGE(poll_flush, x.poll_id);
CHORUS_MESSAGE(publish_check, x.peer_id, x.kind, x.resume);
CHORUS_MESSAGE(moderator_pause, x.kinds);
CHORUS_MESSAGE(moderator_close, x.kinds);
CHORUS_MESSAGE(close_session, x.code, x.reason);
CHORUS_MESSAGE(fault_command, x.exit);
CHORUS_MESSAGE(get_relay, x.producer);
CHORUS_MESSAGE(get_room, x.room_id, x.forwarded, x.avoid);
CHORUS_MESSAGE(meetings_shared, x.meetings, x.relayed);
CHORUS_MESSAGE(cluster_node, x.node_id, x.node);
CHORUS_MESSAGE(cluster_nodes, x.self_id, x.nodes);
CHORUS_MESSAGE(peer_update, x.peer_id, x.name, x.has_rtp_capabilities, x.rtp_capabilities,
               x.identity);
CHORUS_MESSAGE(join_result, x.room, x.peer, x.existing_producers, x.is_host, x.is_co_host);
CHORUS_MESSAGE(join_batch, x.commands);
CHORUS_MESSAGE(join_batch_reply, x.results, x.errors);
CHORUS_MESSAGE(own_state_update, x.peer_id, x.state);
CHORUS_MESSAGE(room_idle, x.room_id);
CHORUS_MESSAGE(transport_closed, x.transport_id, x.reason);

// ---- errors ---------------------------------------------------------------------------
inline constexpr caf::atom_value error_category = caf::atom("chorus");

// A caf::error in the chorus category (code offset by one: 0 means "no error" in CAF).
caf::error make_error(protocol::error_code code, std::string message);

// Maps any caf::error to a protocol error (foreign categories become `internal`).
protocol::error_info to_error_info(const caf::error& err);

// Registers every message type and the error category.
void register_message_types(caf::actor_system_config& cfg);

} // namespace chorus::actors
