// Messages of the operator's view (docs/design/operator-view.md): the admin API's questions to the node, rooms
// and peers, and the node's drain. Registered with the others (register_message_types calls
// register_operations_types), so that they can cross nodes like every message.
//
//   drain_begin          -> node: refuse new rooms and joins from now on; the answer, a
//                           drain_report, comes when the last room has ended or timeout_ms
//                           has passed (rooms_left > 0). The drain's one entry point: the
//                           cluster's hand-over of rooms to other nodes starts here too.
//   find_room            -> node: the room actor homed here (null: none).
//   admin_nodes_query    -> node: cluster_nodes (the live members; empty alone).
//   admin_room_query     -> room: admin_room_snapshot.
//   admin_kick           -> room: the participant is told (kicked, by "admin") and closed;
//                           empty_reply, or unknown-user.
//   admin_close          -> room: everyone is told (room ended by "admin") and closed.
//   peer_inventory_query -> peer: its transports, producers and consumers (ids).
#pragma once

#include "actors/serialization.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace chorus::actors {

struct drain_begin {
  uint64_t timeout_ms = 0;
};
struct drain_report {
  uint32_t rooms_left = 0; // rooms still open when the drain ended (0: all ended)
};
// node -> itself: the drain's time is up.
struct drain_deadline {
  uint64_t generation = 0;
};

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

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drain_begin& x) {
  return f(caf::meta::type_name("drain_begin"), x.timeout_ms);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drain_report& x) {
  return f(caf::meta::type_name("drain_report"), x.rooms_left);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drain_deadline& x) {
  return f(caf::meta::type_name("drain_deadline"), x.generation);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, find_room& x) {
  return f(caf::meta::type_name("find_room"), x.room_id);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, admin_room_query&) {
  return f(caf::meta::type_name("admin_room_query"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, admin_nodes_query&) {
  return f(caf::meta::type_name("admin_nodes_query"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, admin_participant& x) {
  return f(caf::meta::type_name("admin_participant"), x.peer_id, x.user_id, x.name, x.role,
           x.host, x.joined_ms, x.peer);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, admin_producer& x) {
  return f(caf::meta::type_name("admin_producer"), x.producer_id, x.peer_id, x.kind, x.paused,
           x.screen_share);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, admin_room_snapshot& x) {
  return f(caf::meta::type_name("admin_room_snapshot"), x.room_id, x.locked, x.opened_ms,
           x.participants, x.producers);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, admin_recording& x) {
  return f(caf::meta::type_name("admin_recording"), x.start);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, admin_kick& x) {
  return f(caf::meta::type_name("admin_kick"), x.peer_id, x.reason);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, admin_close& x) {
  return f(caf::meta::type_name("admin_close"), x.reason);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_inventory_query&) {
  return f(caf::meta::type_name("peer_inventory_query"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_inventory& x) {
  return f(caf::meta::type_name("peer_inventory"), x.transports, x.producers, x.consumers);
}

void register_operations_types(caf::actor_system_config& cfg);

} // namespace chorus::actors
