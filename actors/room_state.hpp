// The room actor's state: who is in the room (peer_entry, in join order), what they
// produce, and the room-wide state (locks, hosts, blocks, the live class, re-homing).
// The room's cores (room_roster, room_rules, room_copy, room_journal) read and change it
// without messaging; the room actor's handlers (room_*.cpp) do the messaging.
#pragma once

#include "actors/context.hpp"
#include "actors/data_messages.hpp"
#include "actors/media_messages.hpp"
#include "actors/messages.hpp"
#include "actors/rehome_messages.hpp"
#include "actors/rights.hpp"
#include "common/token_bucket.hpp"
#include "protocol/classroom.hpp"
#include "rtp/ortc.hpp"

#include <caf/message.hpp>
#include <caf/stateful_actor.hpp>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chorus::actors::rooms {

struct peer_entry {
  std::string id;
  std::string name;
  caf::actor session;
  caf::actor peer;
  bool audio_muted = true;  // as the producers say (unpaused audio producer or not)
  bool video_paused = true;
  // As the participant says (update-my-state): shown instead of the producers' flags.
  std::optional<bool> own_audio_muted;
  std::optional<bool> own_video_paused;
  bool has_rtp_capabilities = false;
  rtp::rtp_capabilities rtp_capabilities;
  std::string user_id; // the public id; empty: the peer id
  std::string image_url;
  actors::grant grant;    // token subject, role, permissions (changed by moderators)
  uint8_t muted = 0;      // publish_kinds a moderator paused (mute-peer), until allowed
  bool publisher = false; // passed a publish check (counts toward maxPublishersPerRoom)
  bool chat_disabled = false; // disable-chat for this participant
  bool co_host = false;       // make-cohost (the seed 004 frontend's host controls)
  // In a cluster, a participant on another node: that node's node actor, and what its peer
  // actor last got of this entry (participant_snapshot, docs/design/cluster.md, "Re-homing").
  caf::actor edge_node;
  std::string copy_sent;
  token_bucket chat_bucket; // chat messages per second
  int64_t joined_ms = 0;         // Unix ms (admin API, webhooks)
  // The lecture's audience (actors/room_audience.hpp): may be in it; is in it (then not
  // listed, and its arrival and departure only counted).
  bool audience_eligible = false;
  bool in_audience = false;

  const std::string& public_id() const { return user_id.empty() ? id : user_id; }
};

// The room's audience: participants who may not publish, beyond rooms.rosterLimit of them
// (actors/room_audience.hpp decides; room_presence.cpp announces).
struct audience_state {
  bool active = false;   // the room has an audience now
  uint32_t eligible = 0; // participants who may be in it
  uint32_t count = 0;    // in it now
  uint32_t joined = 0;   // joined it since the last audience-update
  uint32_t left = 0;     // left it since then
  bool update_scheduled = false;
  int64_t last_update_ms = 0; // steady clock; 0: none sent yet
};

// One entry of the block list: matched by token subject, peer id and user id (until_ms:
// Unix ms, 0 for the room's life). The same record as the room-wide copy carries.
using block_entry = room_block;

struct room_state {
  std::string id;
  node_context_ptr ctx;
  caf::actor node;
  std::vector<peer_entry> peers; // in join order
  std::vector<producer_info> producers; // in creation order
  std::vector<data_producer_info> data_producers; // the room's own first, then in creation order
  std::string creator; // the public id of the first participant that created the room
  bool locked = false;  // lock-room: no new joins (moderators excepted)
  std::vector<std::string> hosts; // public ids made host (make-host), besides the creator
  bool screens_locked = false;    // disable-all-screen-sharing
  std::vector<block_entry> blocks;
  // The live class: raised hands, chat, polls (protocol/classroom.hpp).
  protocol::hand_queue hands;
  protocol::chat_history chat{200};
  bool chat_disabled = false; // disable-chat for the room
  uint64_t next_chat_id = 1;
  std::vector<protocol::poll> polls;
  uint64_t next_poll_id = 1;
  // Live-class requests applied lately, by the sessions' operation ids (class_command.op):
  // kept past any session's wait for an answer, carried in the copies.
  protocol::applied_requests applied{30000, 8192};
  struct poll_throttle {
    int64_t last_sent_ms = 0;
    bool scheduled = false;
  };
  std::map<std::string, poll_throttle> poll_throttles;
  poll_throttle hands_throttle; // hands-update, throttled as a poll's results
  bool list_flush_scheduled = false;
  // The participant list last sent to everyone, for a joiner that the list does not change
  // (an audience member); empty until a list went out.
  caf::message last_list;
  audience_state audience;
  // Re-homing (cluster): the version of the room-wide state the other nodes hold copies
  // of, the node actors that hold one, whether a copy is due; after a rebuild, who the old
  // room listed that has not rejoined yet (told gone when the rebuild settles).
  uint64_t version = 0;
  std::vector<caf::actor> copy_holders;
  room_snapshot last_copy; // the room-wide copy last sent (its version included)
  bool sync_scheduled = false;
  bool class_sync_scheduled = false;
  // The live class's replication (a cluster): its changes so far, the count the last copy
  // carried, and the replies to them held until the replica has that copy (in order).
  uint64_t class_changes = 0;
  uint64_t class_sent = 0;
  struct held_reply {
    uint64_t change = 0;
    std::function<void(bool replicated)> deliver;
  };
  std::deque<held_reply> held_replies;
  // While a live-class request is applied in a cluster (class_emit): what it sends to the
  // participants (events, the room's data channel), held with its reply until the replica
  // has the change, so that nobody sees a change a lost home takes with it.
  bool holding_class_events = false;
  std::vector<std::function<void()>> class_outbox;
  bool restored = false;
  bool class_restored = false;
  bool settle_scheduled = false;
  std::vector<roster_entry> expected;
  // Active speaker and audio levels: the observer (spawned with the first audio producer,
  // linked) and the producer it last named dominant (for joiners).
  caf::actor speaker_observer;
  std::string active_speaker;
  int64_t opened_ms = 0;    // Unix ms (admin API, webhooks)
  std::shared_ptr<room_gauges> gauges; // metrics.perRoom (null: off)
  std::string leave_reason; // the next departure's reason for the webhooks ("" : left)
  bool start_announced = false; // room-started went out (at the first join or rejoin)
  bool moved = false; // handed over to another node: it goes on there, no end events here
  // The room's recording (actors/media_recorder.hpp), linked; null when not recording.
  caf::actor media_recorder;
  std::string recording_id;
  std::string recording_by;      // who started it (its public id; "" autoStart)
  int64_t recording_started_ms = 0;
  bool recording_stopping = false;
  bool recording_resumed = false; // a rebuild resumed the recording its copy named (once)
  // The room's live stream (actors/live_streamer.hpp), linked; null when none.
  caf::actor live_streamer;
  std::string live_stream_id;
  bool live_stopping = false;
  static inline const char* name = "chorus.room";

  // Peers still present when the room ends (closed, shutdown or failure) leave the
  // counters, and the webhooks hear of each departure, then of the room's end
  // (room_journal.cpp).
  ~room_state();

};

using room_actor = caf::stateful_actor<room_state>;

} // namespace chorus::actors::rooms
