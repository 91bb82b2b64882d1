// Messages of the operator's view (docs/design/operator-view.md): the admin API's questions to the node, rooms
// and peers, and the node's drain. Declared with CHORUS_MESSAGE like every
// other message, so that they can cross nodes like every message.
//
//   drain_begin          -> node: refuse new rooms and joins from now on; the answer, a
//                           drain_report, comes when the last room has ended or timeout_ms
//                           has passed (rooms_left > 0); timeout_ms 0: at once. Asked again
//                           during a drain, the earliest deadline ends it for every asker.
//                           The drain's one entry point: the cluster's hand-over of rooms
//                           to other nodes starts here too.
//   find_room            -> node: the room actor homed here (null: none).
//   admin_nodes_query    -> node: cluster_nodes (the live members; empty alone).
//   admin_room_query     -> room: admin_room_snapshot.
//   admin_kick           -> room: the participant is told (kicked, by "admin") and closed;
//                           empty_reply, or unknown-user.
//   admin_close          -> room: everyone is told (room ended by "admin") and closed.
//   peer_inventory_query -> peer: its transports, producers and consumers (ids).
#pragma once

#include "actors/message_declaration.hpp"

#include "actors/serialization.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace chorus::actors {

// A drain's timeout that never passes: the drain ends with the last room.
inline constexpr uint64_t drain_until_rooms_end = UINT64_MAX;
struct drain_begin {
  uint64_t timeout_ms = 0; // or drain_until_rooms_end
};
struct drain_report {
  uint32_t rooms_left = 0; // rooms still open when the drain ended (0: all ended)
};
// node -> itself: a drain's time is up.
struct drain_deadline {};

struct find_room {
  std::string room_id;
};

struct admin_room_query {};

// -> node: the cluster's live members and their node actors (this node included), as the
// cluster actor last told it (cluster_nodes); empty without a cluster.
struct admin_nodes_query {};

struct admin_participant {
  std::string peer_id;
  std::string user_id;
  std::string name;
  std::string role;
  bool host = false;
  int64_t joined_ms = 0; // Unix ms
  caf::actor peer;       // its transports, producers and consumers
};

struct admin_producer {
  std::string producer_id;
  std::string peer_id;
  std::string kind; // audio | video
  bool paused = false;
  bool screen_share = false;
};

struct admin_room_snapshot {
  std::string room_id;
  bool locked = false;
  int64_t opened_ms = 0; // Unix ms
  std::vector<admin_participant> participants;
  std::vector<admin_producer> producers;
};

struct admin_kick {
  std::string peer_id; // or a user id
  std::string reason;
};

struct admin_close {
  std::string reason;
};

// admin API -> room: start or stop the room's recording (answered like start-recording /
// stop-recording: class_reply with recordingId, or with manifest).
struct admin_recording {
  bool start = true;
};

struct peer_inventory_query {};

struct peer_inventory {
  std::vector<std::string> transports;
  std::vector<std::string> producers;
  std::vector<std::string> consumers;
};

CHORUS_MESSAGE(drain_begin, x.timeout_ms);
CHORUS_MESSAGE(drain_report, x.rooms_left);
CHORUS_MESSAGE(drain_deadline);
CHORUS_MESSAGE(find_room, x.room_id);
CHORUS_MESSAGE(admin_room_query);
CHORUS_MESSAGE(admin_nodes_query);
CHORUS_MESSAGE(admin_participant, x.peer_id, x.user_id, x.name, x.role, x.host, x.joined_ms,
               x.peer);
CHORUS_MESSAGE(admin_producer, x.producer_id, x.peer_id, x.kind, x.paused, x.screen_share);
CHORUS_MESSAGE(admin_room_snapshot, x.room_id, x.locked, x.opened_ms, x.participants, x.producers);
CHORUS_MESSAGE(admin_recording, x.start);
CHORUS_MESSAGE(admin_kick, x.peer_id, x.reason);
CHORUS_MESSAGE(admin_close, x.reason);
CHORUS_MESSAGE(peer_inventory_query);
CHORUS_MESSAGE(peer_inventory, x.transports, x.producers, x.consumers);

} // namespace chorus::actors
