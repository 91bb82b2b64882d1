// The node actor's state and the helpers its files share. actors/node.cpp routes the
// node's messages (the routing table: node_impl) and keeps re-homing, the copies of rooms
// homed elsewhere and the drain; actors/node_placement.cpp places what is asked of a room
// at its home: rooms made here, joins and live-class requests for rooms elsewhere in
// batches, and other nodes' room look-ups.
#pragma once

#include "actors/context.hpp"
#include "actors/copy_book.hpp"
#include "actors/messages.hpp"
#include "actors/operations.hpp"
#include "actors/rehome_messages.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace chorus::actors::nodes {

struct node_state {
  node_context_ptr ctx;
  std::unordered_map<std::string, caf::actor> rooms; // homed here
  // In a cluster: this node's id and the live members (this node included); empty alone.
  std::string self_id;
  std::vector<cluster_node> cluster;
  std::unordered_map<caf::actor_addr, caf::actor> relays; // by remote producer
  // Re-homing: the copies of rooms homed elsewhere (with participants here, or whose
  // replica this node is); for the rooms homed here, the nodes their replica copies went to
  // (told to forget when the room ends: one that is no longer the replica may still hold
  // the room's copy for its participants meanwhile); rejoins waiting until the node they
  // avoid has left the live set; whether this node is leaving (it homes no room any more).
  copy_book copies;
  std::unordered_map<std::string, std::vector<caf::actor>> replicas;
  struct parked_rehome {
    rehome_request req;
    std::chrono::steady_clock::time_point until;
  };
  std::vector<parked_rehome> parked;
  bool check_scheduled = false;
  bool rebalance_scheduled = false;
  bool leaving = false;
  // The hand-over when leaving: rooms that have not said how many of their participants
  // are on this node, how many those are, and how many of them have rejoined elsewhere.
  int64_t rooms_answering = 0;
  int64_t local_awaited = 0;
  int64_t local_done = 0;
  std::vector<caf::typed_response_promise<bool>> hand_over_waiters;
  // Drain (drain_begin): no new rooms or joins; the askers wait for the rooms to end.
  bool draining = false;
  std::vector<caf::response_promise> drain_waiters;
  // Live-class requests of sessions here for rooms homed elsewhere, gathered per room until
  // the window's end (class_upstream).
  struct upstream_class {
    class_command command;
    caf::typed_response_promise<protocol::class_reply> promise;
  };
  std::map<caf::actor, std::vector<upstream_class>> class_batches;
  bool class_flush_scheduled = false;
  // Joins of clients here for rooms homed elsewhere, by the home's node actor and the room:
  // those waiting while the room's previous batch is under way (join_batch).
  struct upstream_join {
    join_command command;
    caf::typed_response_promise<join_result> promise;
    caf::actor peer; // made here once the room's handle is known
  };
  struct join_queue {
    std::vector<upstream_join> waiting;
    bool in_flight = false;
  };
  std::map<std::pair<caf::actor, std::string>, join_queue> join_queues;
  // Other nodes' room look-ups passed on to the home this node sees, until that answers:
  // asked again here if it leaves the live set first (the asker's view was the newer).
  struct forwarded_lookup {
    caf::actor home;
    get_room query;
    caf::typed_response_promise<caf::actor> promise;
  };
  std::map<uint64_t, forwarded_lookup> forwarded_lookups;
  uint64_t lookups_forwarded = 0;
  static inline const char* name = "chorus.node";
};

using node_actor = caf::stateful_actor<node_state>;

// ---- placement (actors/node_placement.cpp) ------------------------------------------------
constexpr auto placement_timeout = std::chrono::seconds(10);

caf::error draining_error();
// The room `room_id` homed here, made if there is none yet (bounded by max_rooms). `lost`:
// the node a rejoin or look-up avoids (its home is lost), whose copy the room starts from
// even while this node's view still counts it live.
caf::expected<caf::actor> local_room(node_actor* self, const std::string& room_id,
                                     const std::string& lost = {});
// The CAF node of a live member's node actor, as text (what rehome_request.avoid names).
std::string node_text(const caf::actor& a);
// The node actor of the room's home by rendezvous over the live members, leaving out the
// node `avoid` names and this node when it is leaving; null for this node (alone, homed
// here, or no other candidate).
caf::actor placed_home(node_actor* self, const std::string& room_id,
                       const std::string& avoid = {});
// A join: to the room's home's queue when that is another node, else to the room here.
void place_join(node_actor* self, join_command cmd, caf::typed_response_promise<join_result> rp);
// A room look-up (get_room): the room homed here (made if need be), or passed on once to
// the home this node sees.
void answer_lookup(node_actor* self, get_room q, caf::typed_response_promise<caf::actor> rp);
// The live set changed: joins waiting for a home that left it, and look-ups passed on to
// one, are placed again.
void replace_after_loss(node_actor* self);
// A live-class request of a session here for a room homed elsewhere, to go with the others
// in the window.
void gather_class_request(node_actor* self, class_upstream& u,
                          caf::typed_response_promise<protocol::class_reply> rp);
void flush_class_batches(node_actor* self);

// ---- shared with placement (actors/node.cpp) -----------------------------------------------
bool is_live(const node_state& st, const std::string& node);
copy_book::live_test live_test(const node_state& st);
void count_copies(node_state& st);

} // namespace chorus::actors::nodes
