#include "actors/room.hpp"

#include "actors/data_messages.hpp"
#include "actors/data_producer.hpp"
#include "common/ids.hpp"
#include "common/text.hpp"

#include "actors/media_messages.hpp"
#include "actors/messages.hpp"
#include "actors/clock.hpp"
#include "actors/events.hpp"
#include "actors/operations.hpp"
#include "actors/media_recorder.hpp"
#include "actors/meetings.hpp"
#include "actors/peer.hpp"
#include "actors/recorder.hpp"
#include "actors/rehome_messages.hpp"
#include "actors/rights.hpp"
#include "actors/speaker_observer.hpp"
#include "protocol/classroom.hpp"
#include "protocol/reply_json.hpp"
#include "rtp/ortc.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace chorus::actors {

namespace {

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

  const std::string& public_id() const { return user_id.empty() ? id : user_id; }
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
  struct poll_throttle {
    int64_t last_sent_ms = 0;
    bool scheduled = false;
  };
  std::map<std::string, poll_throttle> poll_throttles;
  bool list_flush_scheduled = false;
  // Re-homing (cluster): the version of the room-wide state the other nodes hold copies
  // of, the node actors that hold one, whether a copy is due; after a rebuild, who the old
  // room listed that has not rejoined yet (told gone when the rebuild settles).
  uint64_t version = 0;
  std::vector<caf::actor> copy_holders;
  room_snapshot last_copy; // the room-wide copy last sent (its version included)
  bool sync_scheduled = false;
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
  bool recording_stopping = false;
  static inline const char* name = "chorus.room";

  ~room_state() {
    if (!ctx)
      return;
    // Peers still present when the room ends (closed, shutdown or failure).
    ctx->counters->peers.fetch_sub(static_cast<int64_t>(peers.size()));
    if (!ctx->events || moved || !start_announced)
      return;
    // The webhooks hear of every departure, then of the room's end, however it comes.
    auto now = wall_ms();
    int64_t remaining = static_cast<int64_t>(peers.size());
    for (auto& p : peers) {
      ops_event ev;
      ev.type = "participant-left";
      ev.room_id = id;
      ev.node_id = ctx->settings.node_id;
      ev.at_ms = now;
      ev.peer_id = p.id;
      ev.user_id = p.public_id();
      ev.name = p.name;
      ev.role = p.grant.role;
      ev.duration_ms = p.joined_ms ? now - p.joined_ms : -1;
      ev.participants = --remaining;
      ev.reason = "room-closed";
      emit_event(*ctx, std::move(ev));
    }
    ops_event end;
    end.type = "room-finished";
    end.room_id = id;
    end.node_id = ctx->settings.node_id;
    end.at_ms = now;
    end.duration_ms = opened_ms ? now - opened_ms : -1;
    emit_event(*ctx, std::move(end));
  }
};

using room_actor = caf::stateful_actor<room_state>;

peer_entry* find_peer(room_state& st, const std::string& id) {
  for (auto& p : st.peers)
    if (p.id == id)
      return &p;
  return nullptr;
}

caf::error not_in_room(const room_state& st, const std::string& peer_id) {
  return make_error(protocol::error_code::not_joined,
                    "peer '" + peer_id + "' is not in room '" + st.id + "'");
}

bool is_creator(const room_state& st, const peer_entry& e) {
  return !st.creator.empty() && e.public_id() == st.creator;
}

// Host: the room's creator, a teacher, or one made host. Co-host: made so, or a moderator.
bool is_host(const room_state& st, const peer_entry& e) {
  return is_creator(st, e) || e.grant.role == "teacher" ||
         std::find(st.hosts.begin(), st.hosts.end(), e.public_id()) != st.hosts.end();
}

bool is_co_host(const room_state& st, const peer_entry& e) {
  return !is_host(st, e) && (e.co_host || e.grant.role == "moderator");
}

// 2: host, 1: co-host, 0: participant.
int rank_of(const room_state& st, const peer_entry& e) {
  return is_host(st, e) ? 2 : is_co_host(st, e) ? 1 : 0;
}

protocol::participant_list_update_event participant_list(const room_state& st) {
  protocol::participant_list_update_event ev;
  ev.participants.reserve(st.peers.size());
  for (auto& p : st.peers) {
    protocol::participant item;
    item.id = p.id;
    item.name = p.name;
    item.is_audio_muted = p.own_audio_muted.value_or(p.audio_muted);
    item.is_video_paused = p.own_video_paused.value_or(p.video_paused);
    item.user_id = p.public_id();
    item.image_url = p.image_url;
    item.is_host = is_host(st, p);
    item.is_co_host = is_co_host(st, p);
    item.audio_locked = (p.muted & protocol::publish_kinds::audio) != 0;
    item.screen_share_locked = st.screens_locked && rank_of(st, p) == 0;
    item.role = p.grant.role;
    item.is_screen_sharing =
      std::any_of(st.producers.begin(), st.producers.end(), [&](const producer_info& x) {
        return x.peer_id == p.id && x.is_screen_share;
      });
    ev.participants.push_back(std::move(item));
  }
  return ev;
}

// The identity a join or an update gives: user id, image, creator claim. Returns whether
// anything the participant list shows changed.
bool apply_identity(room_state& st, peer_entry& e, const identity& id) {
  bool changed = false;
  if (!id.user_id.empty() && id.user_id != e.user_id) {
    e.user_id = id.user_id;
    changed = true;
  }
  if (!id.image_url.empty() && id.image_url != e.image_url) {
    e.image_url = id.image_url;
    changed = true;
  }
  // A room registered as a meeting (POST /api/meetings) has its creator as host.
  if (st.creator.empty() && st.ctx->meetings)
    if (auto m = st.ctx->meetings->find(st.id)) {
      st.creator = m->creator_id;
      changed = true;
    }
  // With auth.mode none the first participant that says it created the room is its host
  // (kept by public id: the host's reconnect is the host again).
  if (id.is_creator && st.creator.empty()) {
    st.creator = e.public_id();
    changed = true;
  }
  return changed;
}

protocol::producer_closed_event closed_event(const room_state& st, const producer_info& p) {
  protocol::producer_closed_event ev;
  ev.producer_id = p.producer_id;
  ev.peer_id = p.peer_id;
  ev.kind = p.kind;
  ev.is_screen_share = p.is_screen_share;
  for (auto& e : st.peers)
    if (e.id == p.peer_id)
      ev.user_id = e.public_id();
  return ev;
}

// ---- copies for re-homing (cluster) ---------------------------------------------------
using sync_copies_atom = caf::atom_constant<caf::atom("synccopy")>;
constexpr auto sync_delay = std::chrono::milliseconds(100);
constexpr auto rehome_settle = std::chrono::seconds(3);

participant_snapshot snapshot_of(const peer_entry& e) {
  participant_snapshot s;
  s.peer_id = e.id;
  s.name = e.name;
  s.has_rtp_capabilities = e.has_rtp_capabilities;
  s.rtp_capabilities = e.rtp_capabilities;
  s.user_id = e.user_id;
  s.image_url = e.image_url;
  s.grant = e.grant;
  s.muted = e.muted;
  s.publisher = e.publisher;
  s.chat_disabled = e.chat_disabled;
  s.co_host = e.co_host;
  s.own_audio_muted = e.own_audio_muted ? int8_t(*e.own_audio_muted) : int8_t(-1);
  s.own_video_paused = e.own_video_paused ? int8_t(*e.own_video_paused) : int8_t(-1);
  s.joined_ms = e.joined_ms;
  return s;
}

// What of an entry its copy holds, as text: a copy is sent again only when this changes.
// (The capabilities are not in it: the entry's copy is cleared where they change.)
std::string copy_key(const peer_entry& e) {
  std::string k;
  for (auto* f : {&e.name, &e.user_id, &e.image_url, &e.grant.subject, &e.grant.role}) {
    k += *f;
    k += '\0';
  }
  k += std::to_string(e.grant.permissions) + ',' + std::to_string(e.muted) + ',' +
       char('0' + e.publisher) + char('0' + e.chat_disabled) + char('0' + e.co_host) +
       char('0' + e.has_rtp_capabilities) +
       char(e.own_audio_muted ? '0' + *e.own_audio_muted : '-') +
       char(e.own_video_paused ? '0' + *e.own_video_paused : '-');
  return k;
}

room_snapshot room_copy(const room_state& st) {
  room_snapshot s;
  s.room_id = st.id;
  s.version = st.version;
  s.creator = st.creator;
  s.hosts = st.hosts;
  s.locked = st.locked;
  s.screens_locked = st.screens_locked;
  s.chat_disabled = st.chat_disabled;
  s.blocks = st.blocks;
  s.roster.reserve(st.peers.size());
  for (auto& e : st.peers)
    s.roster.push_back({e.id, e.public_id()});
  return s;
}

// A change the copies must follow: sent once per sync_delay, and only in a room with
// participants on other nodes (or nodes that still hold a copy).
void schedule_sync(room_actor* self) {
  auto& st = self->state;
  if (st.sync_scheduled)
    return;
  bool remote = !st.copy_holders.empty() ||
                std::any_of(st.peers.begin(), st.peers.end(),
                            [](const peer_entry& e) { return static_cast<bool>(e.edge_node); });
  if (!remote)
    return;
  st.sync_scheduled = true;
  self->delayed_send(self, sync_delay, sync_copies_atom::value);
}

// Sends the copies: the room-wide state to every node with participants here (a forget to
// those that have none left), each remote participant's entry to its peer when it changed.
void sync_copies(room_actor* self) {
  auto& st = self->state;
  st.sync_scheduled = false;
  std::vector<caf::actor> holders;
  for (auto& e : st.peers)
    if (e.edge_node && std::find(holders.begin(), holders.end(), e.edge_node) == holders.end())
      holders.push_back(e.edge_node);
  // The room-wide copy goes out (with a new version) only when it changed or a node joined
  // the holders: a sync follows every command, most of which (chat, reactions) change none
  // of what it carries.
  auto copy = room_copy(st);
  const auto& last = st.last_copy;
  const bool changed = copy.creator != last.creator || copy.hosts != last.hosts ||
                       copy.locked != last.locked || copy.screens_locked != last.screens_locked ||
                       copy.chat_disabled != last.chat_disabled || copy.blocks != last.blocks ||
                       copy.roster != last.roster || holders != st.copy_holders;
  if (changed) {
    copy.version = ++st.version;
    for (auto& n : holders)
      self->send(n, copy);
    st.last_copy = std::move(copy);
  }
  for (auto& n : st.copy_holders)
    if (std::find(holders.begin(), holders.end(), n) == holders.end()) {
      room_snapshot forget;
      forget.room_id = st.id;
      forget.version = st.version;
      forget.forget = true;
      self->send(n, std::move(forget));
    }
  st.copy_holders = std::move(holders);
  for (auto& e : st.peers)
    if (e.edge_node) {
      auto key = copy_key(e);
      if (key != e.copy_sent) {
        e.copy_sent = std::move(key);
        self->send(e.peer, snapshot_of(e));
      }
    }
}

// One message for all: the list is written as JSON once (not once per peer) and the
// sessions share the message (their handler takes it by const reference: no copy).
void send_participants_now(room_actor* self) {
  auto ev = participant_list(self->state);
  protocol::prepare_json(ev);
  const caf::message msg = caf::make_message(std::move(ev));
  for (auto& p : self->state.peers)
    self->send(p.session, msg);
}

// participant-list-update carries the whole list to every peer, so a room that N peers
// join costs O(N^2) events of O(N) size. Changes are therefore coalesced: the list goes
// out once per interval, which grows with the room (50 ms, up to 2 s at 1000 peers).
void broadcast_participants(room_actor* self) {
  auto& st = self->state;
  schedule_sync(self);
  if (st.list_flush_scheduled)
    return;
  st.list_flush_scheduled = true;
  auto interval = std::chrono::milliseconds(
    std::clamp<int64_t>(int64_t(st.peers.size()) * 2, 50, 2000));
  self->delayed_send(self, interval, flush_participants_atom::value);
}

// isAudioMuted / isVideoPaused of a peer follow its producers: muted unless it has an
// unpaused producer of that kind. Returns true when a flag changed.
bool update_flags(room_state& st, peer_entry& e) {
  bool audio_muted = true, video_paused = true;
  for (auto& p : st.producers)
    if (p.peer_id == e.id && !p.paused) {
      if (p.kind == rtp::media_kind::audio)
        audio_muted = false;
      else
        video_paused = false;
    }
  bool changed = audio_muted != e.audio_muted || video_paused != e.video_paused;
  e.audio_muted = audio_muted;
  e.video_paused = video_paused;
  return changed;
}

void flags_changed_for(room_actor* self, const std::string& peer_id) {
  if (auto* e = find_peer(self->state, peer_id); e && update_flags(self->state, *e))
    broadcast_participants(self);
}

void send_to_all(room_actor* self, const protocol::class_event& ev) {
  for (auto& p : self->state.peers)
    self->send(p.session, ev);
}

void send_hands(room_actor* self) {
  protocol::class_event ev;
  ev.kind = protocol::class_event_kind::hands_update;
  ev.hands = self->state.hands.items();
  send_to_all(self, ev);
}

// The room no longer lists this producer: the speaker observer forgets it.
void unobserve(room_actor* self, const producer_info& p) {
  auto& st = self->state;
  if (p.kind != rtp::media_kind::audio)
    return;
  if (st.speaker_observer)
    self->send(st.speaker_observer, producer_removed{p.producer_id});
  if (st.active_speaker == p.producer_id)
    st.active_speaker.clear();
}

// A new audio producer: the observer (spawned now if there is none) observes it, and the
// producer learns where to send its levels (it ignores that when its sender did not
// negotiate ssrc-audio-level).
void observe(room_actor* self, const producer_info& p) {
  auto& st = self->state;
  if (p.kind != rtp::media_kind::audio || !p.producer)
    return;
  if (!st.speaker_observer) {
    speaker_observer_settings settings;
    settings.levels_interval_ms = st.ctx->settings.audio_levels_interval_ms;
    st.speaker_observer = spawn_speaker_observer(self, settings);
  }
  self->send(st.speaker_observer, observe_producer{p.producer_id});
  self->send(p.producer, attach_speaker_observer{st.speaker_observer});
}

const producer_info* find_listed(const room_state& st, const std::string& producer_id) {
  for (auto& p : st.producers)
    if (p.producer_id == producer_id)
      return &p;
  return nullptr;
}

std::optional<protocol::active_speaker_event> speaker_event(const room_state& st) {
  auto* p = st.active_speaker.empty() ? nullptr : find_listed(st, st.active_speaker);
  if (!p)
    return std::nullopt;
  protocol::active_speaker_event ev;
  ev.peer_id = p->peer_id;
  ev.producer_id = p->producer_id;
  for (auto& e : st.peers)
    if (e.id == p->peer_id)
      ev.user_id = e.public_id();
  return ev;
}

// Removes the peer at `it`; tells the others: producer-closed for each of its producers,
// then participant-left. `who` is the actor whose end removes it (none: replaced).
void remove_peer_at(room_actor* self, std::vector<peer_entry>::iterator it,
                    const caf::actor_addr& who) {
  auto& st = self->state;
  std::vector<protocol::producer_closed_event> closed;
  for (auto& p : st.producers)
    if (p.peer_id == it->id)
      closed.push_back(closed_event(st, p));
  auto entry = std::move(*it);
  st.peers.erase(it);
  for (auto& p : st.producers)
    if (p.peer_id == entry.id)
      unobserve(self, p);
  std::erase_if(st.producers, [&](const producer_info& p) { return p.peer_id == entry.id; });
  for (auto& ev : closed)
    for (auto& p : st.peers)
      self->send(p.session, ev);
  for (auto it = st.data_producers.begin(); it != st.data_producers.end();) {
    if (it->peer_id != entry.id) {
      ++it;
      continue;
    }
    protocol::data_producer_closed_event ev{it->data_producer_id, entry.id};
    it = st.data_producers.erase(it);
    for (auto& p : st.peers)
      self->send(p.session, ev);
  }
  st.ctx->counters->peers.fetch_sub(1);
  if (st.gauges) {
    st.gauges->peers.store(static_cast<int64_t>(st.peers.size()), std::memory_order_relaxed);
    st.gauges->producers.store(static_cast<int64_t>(st.producers.size()), std::memory_order_relaxed);
  }
  self->demonitor(entry.session);
  self->send_exit(entry.peer, caf::exit_reason::user_shutdown);
  if (entry.peer.address() == who) // the peer actor failed: end its session too
    self->send(entry.session, peer_lost_atom::value);
  LOG_INFO_IDS("room", (log::ids{.room = st.id, .peer = entry.id}),
               "'" << st.id << "': peer '" << entry.id << "' left (" << st.peers.size()
                   << " remain)");
  record(self, *st.ctx, store::peer_left{st.id, entry.id, wall_ms()});
  {
    ops_event ev;
    ev.type = "participant-left";
    ev.room_id = st.id;
    ev.node_id = st.ctx->settings.node_id;
    ev.at_ms = wall_ms();
    ev.peer_id = entry.id;
    ev.user_id = entry.public_id();
    ev.name = entry.name;
    ev.role = entry.grant.role;
    ev.duration_ms = entry.joined_ms ? ev.at_ms - entry.joined_ms : -1;
    ev.participants = static_cast<int64_t>(st.peers.size());
    ev.reason = !st.leave_reason.empty()          ? st.leave_reason
                : st.ctx->counters->stopping.load() ? "room-closed"
                                                    : "left";
    emit_event(*st.ctx, std::move(ev));
  }
  protocol::participant_left_event left{entry.id, entry.public_id()};
  for (auto& p : st.peers)
    self->send(p.session, left);
  if (st.hands.lower(entry.id))
    send_hands(self);
  broadcast_participants(self);
  if (st.peers.empty())
    self->send(st.node, room_idle{st.id});
}

// Removes the peer whose session or peer actor is `who`.
void remove_peer(room_actor* self, const caf::actor_addr& who) {
  auto& st = self->state;
  auto it = std::find_if(st.peers.begin(), st.peers.end(), [&](const peer_entry& p) {
    return p.session.address() == who || p.peer.address() == who;
  });
  if (it != st.peers.end())
    remove_peer_at(self, it, who);
}

// The joiner's peer actor: the one its node made (a client on another node of the cluster;
// linked here, so that either end's loss is seen), else a new one on this node.
caf::actor peer_for(room_actor* self, const join_command& cmd) {
  if (cmd.peer) {
    self->link_to(cmd.peer);
    return cmd.peer;
  }
  return spawn_peer(self, self->state.node, cmd.peer_id, self->state.id, cmd.session,
                    self->state.ctx);
}

// The block entry that refuses this joiner, if any (expired entries are dropped).
const block_entry* find_block(room_state& st, const std::string& subject,
                              const std::string& peer_id, const std::string& user_id) {
  auto now = wall_ms();
  std::erase_if(st.blocks, [now](const block_entry& b) { return b.until_ms && b.until_ms <= now; });
  for (auto& b : st.blocks)
    if ((!subject.empty() && b.subject == subject) || b.peer_id == peer_id ||
        (!user_id.empty() && b.user_id == user_id) || b.user_id == peer_id)
      return &b;
  return nullptr;
}

// Whether a join may proceed: not blocked, the room not locked (moderators may still
// join), not full, and no silent takeover: a peer id or user id that a live participant
// holds is taken over only by a connection whose token proves the same subject.
std::optional<caf::error> admission(room_state& st, const join_command& cmd) {
  const auto& user_id = cmd.identity.user_id;
  if (auto* b = find_block(st, cmd.grant.subject, cmd.peer_id, user_id))
    return make_error(protocol::error_code::blocked,
                      "blocked from room '" + st.id + "'" +
                        (b->reason.empty() ? std::string{} : ": " + b->reason));
  const peer_entry* holder = find_peer(st, cmd.peer_id);
  if (!holder && !user_id.empty())
    for (auto& p : st.peers)
      if (p.id != cmd.peer_id && p.public_id() == user_id)
        holder = &p;
  if (holder) {
    if (cmd.grant.subject.empty() || cmd.grant.subject != holder->grant.subject)
      return make_error(protocol::error_code::id_taken,
                        "'" + (user_id.empty() ? cmd.peer_id : user_id) +
                          "' is connected to room '" + st.id +
                          "' on another connection: close that one first (only a token "
                          "for the same subject may take over a connection)");
    return std::nullopt; // a reconnect: the room's size does not change
  }
  if (st.locked && !allows(cmd.grant.permissions, protocol::permission::moderate))
    return make_error(protocol::error_code::room_locked,
                      "room '" + st.id + "' is locked by a moderator: no new participants");
  if (st.peers.size() >= st.ctx->settings.max_peers_per_room)
    return make_error(protocol::error_code::room_full,
                      "room '" + st.id + "' is full (" +
                        std::to_string(st.ctx->settings.max_peers_per_room) + " peers)");
  return std::nullopt;
}

join_result make_join_result(room_actor* self, const peer_entry& e) {
  join_result r;
  r.room = caf::actor_cast<caf::actor>(self);
  r.peer = e.peer;
  r.is_host = is_host(self->state, e);
  r.is_co_host = is_co_host(self->state, e);
  for (auto& p : self->state.producers)
    if (p.peer_id != e.id)
      r.existing_producers.push_back(p.producer_id);
  return r;
}

protocol::room_info_reply room_info(const room_state& st, const peer_entry& asker) {
  protocol::room_info_reply r;
  r.room_id = st.id;
  r.locked = st.locked;
  r.participants = participant_list(st).participants;
  r.role = asker.grant.role;
  r.permissions = permission_names(asker.grant.permissions);
  r.hands = st.hands.items();
  for (auto& p : st.polls)
    r.polls.push_back(p.snapshot());
  r.chat_enabled = allows(asker.grant.permissions, protocol::permission::chat) &&
                   !asker.chat_disabled &&
                   (!st.chat_disabled || allows(asker.grant.permissions, protocol::permission::moderate));
  if (allows(asker.grant.permissions, protocol::permission::moderate)) {
    r.has_blocked = true;
    for (auto& b : st.blocks)
      r.blocked.push_back({b.peer_id, b.user_id, b.reason, b.by, b.until_ms});
  }
  return r;
}

// The participant a moderation request names: by peer id, else by user id.
peer_entry* find_target(room_state& st, const std::string& id) {
  if (auto* e = find_peer(st, id))
    return e;
  for (auto& p : st.peers)
    if (p.public_id() == id)
      return &p;
  return nullptr;
}

// Announces a moderator's action to the room, and records it in the class record (every
// action that took effect passes here).
void tell_all(room_actor* self, const protocol::moderation_event& ev) {
  auto& st = self->state;
  record(self, *st.ctx,
         store::moderation_taken{st.id, std::string(action_name(ev.action)),
                                 ev.user_id.empty() ? ev.peer_id : ev.user_id, ev.by, ev.reason,
                                 wall_ms()});
  for (auto& p : st.peers)
    self->send(p.session, ev);
}

// Ends a participant's connection on a moderator's behalf: `kicked` to it, then the close.
void eject(room_actor* self, peer_entry& target, const protocol::kicked_event& ev,
           uint16_t close_code) {
  self->send(target.session, ev);
  self->send(target.session, close_session{close_code, ev.blocked ? "blocked" : "kicked"});
  auto it = std::find_if(self->state.peers.begin(), self->state.peers.end(),
                         [&](const peer_entry& p) { return &p == &target; });
  auto before = std::exchange(self->state.leave_reason, ev.blocked ? "blocked" : "kicked");
  remove_peer_at(self, it, caf::actor_addr{});
  self->state.leave_reason = std::move(before);
}

// ---- the admin API (actors/operations.hpp) --------------------------------------------

admin_room_snapshot admin_snapshot(const room_state& st) {
  admin_room_snapshot r;
  r.room_id = st.id;
  r.locked = st.locked;
  r.opened_ms = st.opened_ms;
  for (auto& p : st.peers)
    r.participants.push_back(
      {p.id, p.public_id(), p.name, p.grant.role, is_host(st, p), p.joined_ms, p.peer});
  for (auto& p : st.producers)
    r.producers.push_back({p.producer_id, p.peer_id,
                           p.kind == rtp::media_kind::audio ? "audio" : "video", p.paused,
                           p.is_screen_share});
  return r;
}

caf::result<protocol::empty_reply> moderate(room_actor* self, moderation_command& cmd) {
  using protocol::moderation_action;
  auto& st = self->state;
  auto& req = cmd.request;
  auto* issuer = find_peer(st, cmd.issuer);
  if (!issuer)
    return not_in_room(st, cmd.issuer);
  if (!allows(issuer->grant.permissions, protocol::permission::moderate))
    return make_error(protocol::error_code::forbidden,
                      "moderation needs permission moderate");
  protocol::moderation_event ev;
  ev.action = req.action;
  ev.by = issuer->public_id();
  ev.reason = req.reason;
  ev.kinds = req.kinds;
  const auto by = ev.by;
  switch (req.action) {
    case moderation_action::lock:
    case moderation_action::unlock:
      st.locked = req.action == moderation_action::lock;
      LOG_INFO("room", "'" << st.id << "': " << (st.locked ? "locked" : "unlocked") << " by '"
                           << by << "'");
      tell_all(self, ev);
      return protocol::empty_reply{};
    case moderation_action::end: {
      LOG_INFO("room", "'" << st.id << "': ended by '" << by << "'"
                           << (req.reason.empty() ? "" : ": " + req.reason));
      tell_all(self, ev);
      // Everyone else's connection closes now; the moderator's session closes itself once
      // it has sent the answer.
      st.leave_reason = "room-closed";
      for (auto& p : st.peers)
        if (&p != issuer)
          self->send(p.session, close_session{close_room_ended, "room ended"});
      return protocol::empty_reply{};
    }
    case moderation_action::unblock: {
      auto n = std::erase_if(st.blocks, [&](const block_entry& b) {
        return b.peer_id == req.peer_id || b.user_id == req.peer_id ||
               (!b.subject.empty() && b.subject == req.peer_id);
      });
      if (n == 0)
        return make_error(protocol::error_code::unknown_user,
                          "'" + req.peer_id + "' is not blocked in room '" + st.id + "'");
      LOG_INFO("room", "'" << st.id << "': '" << req.peer_id << "' unblocked by '" << by << "'");
      ev.peer_id = req.peer_id;
      tell_all(self, ev);
      return protocol::empty_reply{};
    }
    default:
      break;
  }
  auto* target = find_target(st, req.peer_id);
  if (!target && req.action == moderation_action::block) {
    // Blocking someone who is not here: the id is refused when it comes.
    st.blocks.push_back({req.peer_id, req.peer_id, req.peer_id, req.reason, by,
                         req.seconds ? wall_ms() + int64_t(req.seconds) * 1000 : 0});
    LOG_INFO("room", "'" << st.id << "': '" << req.peer_id << "' blocked by '" << by << "'");
    ev.peer_id = req.peer_id;
    ev.seconds = req.seconds;
    tell_all(self, ev);
    return protocol::empty_reply{};
  }
  if (!target)
    return make_error(protocol::error_code::unknown_user,
                      "no participant '" + req.peer_id + "' in room '" + st.id + "'");
  if (target == issuer && (req.action == moderation_action::kick ||
                           req.action == moderation_action::block))
    return make_error(protocol::error_code::invalid_field,
                      "peerId: a moderator cannot kick or block itself (leave instead)");
  ev.peer_id = target->id;
  ev.user_id = target->public_id();
  switch (req.action) {
    case moderation_action::mute:
      target->muted |= req.kinds;
      self->send(target->peer, moderator_pause{req.kinds});
      break;
    case moderation_action::allow_publish:
      target->muted &= static_cast<uint8_t>(~req.kinds);
      target->grant.permissions = with_publish(target->grant.permissions, req.kinds, true);
      break;
    case moderation_action::disallow_publish:
      target->grant.permissions = with_publish(target->grant.permissions, req.kinds, false);
      self->send(target->peer, moderator_close{req.kinds});
      break;
    case moderation_action::kick:
    case moderation_action::block: {
      const bool block = req.action == moderation_action::block;
      if (block) {
        st.blocks.push_back({target->grant.subject, target->id, target->public_id(), req.reason,
                             by, req.seconds ? wall_ms() + int64_t(req.seconds) * 1000 : 0});
        ev.seconds = req.seconds;
      }
      LOG_INFO("room", "'" << st.id << "': '" << ev.user_id << "' "
                           << (block ? "blocked" : "kicked") << " by '" << by << "'"
                           << (req.reason.empty() ? "" : ": " + req.reason));
      eject(self, *target, protocol::kicked_event{req.reason, by, block},
            block ? close_blocked : close_kicked);
      tell_all(self, ev);
      return protocol::empty_reply{};
    }
    default:
      break;
  }
  LOG_INFO("room", "'" << st.id << "': " << action_name(req.action) << " of '"
                       << ev.user_id << "' by '" << by << "'");
  tell_all(self, ev);
  return protocol::empty_reply{};
}

// ---- the live class ------------------------------------------------------------------------

protocol::class_event poll_event(protocol::class_event_kind kind, const protocol::poll& p) {
  protocol::class_event ev;
  ev.kind = kind;
  ev.poll = p.snapshot();
  return ev;
}

protocol::poll* find_poll(room_state& st, const std::string& id) {
  for (auto& p : st.polls)
    if (p.id() == id)
      return &p;
  return nullptr;
}

// Live results go out at most once per poll_results_interval per poll: the first vote after
// a quiet interval at once, later ones gathered into one update at the interval's end.
constexpr int64_t poll_results_interval_ms = 250;
constexpr std::size_t max_polls_per_room = 100;

void send_poll_results(room_actor* self, const std::string& poll_id) {
  auto& st = self->state;
  auto* p = find_poll(st, poll_id);
  if (!p || p->closed())
    return;
  auto& t = st.poll_throttles[poll_id];
  auto now = wall_ms();
  if (t.scheduled)
    return;
  auto wait = t.last_sent_ms + poll_results_interval_ms - now;
  if (wait > 0) {
    t.scheduled = true;
    self->delayed_send(self, std::chrono::milliseconds(wait), poll_flush{poll_id});
    return;
  }
  t.last_sent_ms = now;
  send_to_all(self, poll_event(protocol::class_event_kind::poll_results, *p));
}

// What a joiner catches up on: the hand queue, the chat history, the polls.
// The room's own data producer (label "room"): public chat messages go out on it too, as
// JSON text, to every participant that consumes it over its data channel.
void push_room_data(room_actor* self, const protocol::chat_item& m) {
  auto& st = self->state;
  if (st.data_producers.empty() || !st.data_producers.front().peer_id.empty())
    return;
  std::string text = "{\"type\":\"chat-message\",\"id\":\"";
  text::json_escape(text, m.id);
  text += "\",\"peerId\":\"";
  text::json_escape(text, m.from);
  text += "\",\"userId\":\"";
  text::json_escape(text, m.user_id);
  text += "\",\"name\":\"";
  text::json_escape(text, m.name);
  text += "\",\"text\":\"";
  text::json_escape(text, m.text);
  text += "\",\"at\":" + std::to_string(m.at) + "}";
  self->send(st.data_producers.front().data_producer,
             data_message{51, std::vector<uint8_t>(text.begin(), text.end()), mono_us()});
}

void catch_up(room_actor* self, const caf::actor& session) {
  auto& st = self->state;
  if (!st.hands.items().empty()) {
    protocol::class_event ev;
    ev.kind = protocol::class_event_kind::hands_update;
    ev.hands = st.hands.items();
    self->send(session, ev);
  }
  if (st.chat.size() > 0) {
    protocol::class_event ev;
    ev.kind = protocol::class_event_kind::chat_history;
    ev.chat = st.chat.items();
    self->send(session, ev);
  }
  for (auto& p : st.polls)
    self->send(session, poll_event(p.closed() ? protocol::class_event_kind::poll_closed
                                              : protocol::class_event_kind::poll_started,
                                   p));
  if (auto ev = speaker_event(st))
    self->send(session, *ev);
}

caf::error need(const peer_entry& e, protocol::permission p, std::string_view what) {
  return make_error(protocol::error_code::forbidden,
                    std::string(what) + " needs permission " + std::string(protocol::to_string(p)));
}

// ---- recording (actors/media_recorder.hpp) -------------------------------------------------

// A producer as the recorder needs it: with the producing participant's ids.
producer_info with_owner(const room_state& st, const producer_info& p) {
  producer_info out = p;
  for (auto& e : st.peers)
    if (e.id == p.peer_id) {
      out.user_id = e.public_id();
      out.user_name = e.name;
    }
  return out;
}

// Starts the room's recording; `by` is the starter's public id ("" for autoStart).
caf::expected<std::string> start_recording(room_actor* self, const std::string& by) {
  auto& st = self->state;
  if (st.media_recorder)
    return make_error(protocol::error_code::invalid_state,
                      "room '" + st.id + "' is being recorded already (" + st.recording_id + ")");
  auto id = ids::uuid4();
  auto spawned = spawn_media_recorder(self, media_recorder_args{st.id, id, by}, st.ctx, st.node);
  if (!spawned)
    return make_error(protocol::error_code::invalid_state, spawned.error());
  st.media_recorder = *spawned;
  st.recording_id = id;
  st.recording_stopping = false;
  for (auto& p : st.producers)
    self->send(st.media_recorder, with_owner(st, p));
  protocol::recording_event ev;
  ev.kind = protocol::recording_event_kind::started;
  ev.recording_id = id;
  ev.by = by;
  for (auto& p : st.peers)
    self->send(p.session, ev);
  LOG_INFO("room", "'" << st.id << "': recording " << id << " started"
                       << (by.empty() ? std::string(" (autoStart)") : " by " + by));
  return id;
}

// Stops the room's recording: recording-stopped to everyone, the manifest's path answered.
caf::result<protocol::class_reply> stop_recording(room_actor* self) {
  auto& st = self->state;
  if (!st.media_recorder || st.recording_stopping)
    return make_error(protocol::error_code::invalid_state,
                      "room '" + st.id + "' is not being recorded");
  st.recording_stopping = true;
  auto rp = self->make_response_promise<protocol::class_reply>();
  auto recorder = st.media_recorder;
  self->request(recorder, std::chrono::seconds(15), recording_stop_atom::value)
    .then(
      [self, rp, recorder](protocol::recording_event& ev) mutable {
        auto& st = self->state;
        if (st.media_recorder == recorder) {
          st.media_recorder = nullptr;
          st.recording_id.clear();
          st.recording_stopping = false;
        }
        for (auto& p : st.peers)
          self->send(p.session, ev);
        rp.deliver(protocol::class_reply{"manifest", ev.manifest_path});
      },
      [self, rp, recorder](caf::error& err) mutable {
        auto& st = self->state;
        if (st.media_recorder == recorder) {
          st.media_recorder = nullptr;
          st.recording_id.clear();
          st.recording_stopping = false;
        }
        rp.deliver(err);
      });
  return rp;
}

caf::result<protocol::class_reply> recording(room_actor* self, recording_command& cmd) {
  auto& st = self->state;
  auto* me = find_peer(st, cmd.peer_id);
  if (!me)
    return not_in_room(st, cmd.peer_id);
  if (!allows(me->grant.permissions, protocol::permission::record))
    return need(*me, protocol::permission::record,
                cmd.request.start ? "start-recording" : "stop-recording");
  if (cmd.request.start) {
    auto id = start_recording(self, me->public_id());
    if (!id)
      return id.error();
    return protocol::class_reply{"recordingId", *id};
  }
  return stop_recording(self);
}

caf::result<protocol::class_reply> classroom(room_actor* self, class_command& cmd) {
  using protocol::class_action;
  using protocol::class_event_kind;
  using protocol::error_code;
  auto& st = self->state;
  auto& req = cmd.request;
  auto* me = find_peer(st, cmd.peer_id);
  if (!me)
    return not_in_room(st, cmd.peer_id);
  const bool moderator = allows(me->grant.permissions, protocol::permission::moderate);
  const auto now = wall_ms();
  // The participant a request names (lower-hand, disable-chat, enable-chat, a private
  // message), by peer id or user id; nullptr when `id` is empty.
  auto target = [&](const std::string& id) -> caf::expected<peer_entry*> {
    if (id.empty())
      return nullptr;
    if (auto* t = find_target(st, id))
      return t;
    return make_error(error_code::unknown_user,
                      "no participant '" + id + "' in room '" + st.id + "'");
  };
  switch (req.action) {
    case class_action::raise_hand:
      if (st.hands.raise(me->id, me->public_id(), me->name, now))
        send_hands(self);
      return protocol::class_reply{};
    case class_action::lower_hand: {
      auto t = target(req.peer_id);
      if (!t)
        return t.error();
      auto* whose = *t ? *t : me;
      if (whose != me && !moderator)
        return need(*me, protocol::permission::moderate, "lowering another's hand");
      if (st.hands.lower(whose->id))
        send_hands(self);
      return protocol::class_reply{};
    }
    case class_action::chat: {
      if (!allows(me->grant.permissions, protocol::permission::chat))
        return need(*me, protocol::permission::chat, "chatting");
      if ((st.chat_disabled && !moderator) || me->chat_disabled)
        return make_error(error_code::forbidden, "chat is disabled by a moderator");
      if (auto problem = protocol::check_chat_text(req.text, st.ctx->settings.chat_max_bytes);
          !problem.empty())
        return make_error(error_code::invalid_field, problem);
      auto to = target(req.to);
      if (!to)
        return to.error();
      if (!me->chat_bucket.try_take(1, net::bucket_ns(std::chrono::steady_clock::now())))
        return make_error(error_code::rate_limited,
                          "too many chat messages: at most " +
                            std::to_string(st.ctx->settings.chat_rate_per_s) + " per second");
      protocol::chat_item m{"m" + std::to_string(st.next_chat_id++), me->id, me->public_id(),
                            me->name, std::move(req.text), *to ? (*to)->id : std::string{}, now};
      m.client_id = std::move(req.client_id);
      m.avatar_url = std::move(req.avatar_url);
      m.reply_to = std::move(req.reply_to);
      record(self, *st.ctx,
             store::chat_posted{st.id, m.id, m.from, m.user_id, m.name, m.text, m.to, m.at});
      protocol::class_event ev;
      ev.kind = class_event_kind::chat_message;
      ev.chat.push_back(m);
      if (*to) { // private: to its target and back to its sender only
        self->send((*to)->session, ev);
        if (*to != me)
          self->send(me->session, ev);
      } else {
        push_room_data(self, m);
        st.chat.add(m);
        send_to_all(self, ev);
      }
      return protocol::class_reply{"id", m.id};
    }
    case class_action::disable_chat:
    case class_action::enable_chat: {
      if (!moderator)
        return need(*me, protocol::permission::moderate, "disable-chat and enable-chat");
      auto t = target(req.peer_id);
      if (!t)
        return t.error();
      const bool off = req.action == class_action::disable_chat;
      if (*t)
        (*t)->chat_disabled = off;
      else
        st.chat_disabled = off;
      protocol::class_event ev;
      ev.kind = off ? class_event_kind::chat_disabled : class_event_kind::chat_enabled;
      ev.peer_id = *t ? (*t)->id : std::string{};
      ev.by = me->public_id();
      record(self, *st.ctx,
             store::moderation_taken{st.id, off ? "disable-chat" : "enable-chat",
                                     *t ? (*t)->public_id() : std::string{}, me->id, {}, now});
      LOG_INFO("room", "'" << st.id << "': chat " << (off ? "disabled" : "enabled") << " for "
                           << (*t ? "'" + (*t)->public_id() + "'" : std::string("the room"))
                           << " by '" << ev.by << "'");
      send_to_all(self, ev);
      return protocol::class_reply{};
    }
    case class_action::delete_chat: {
      if (!moderator)
        return need(*me, protocol::permission::moderate, "delete-chat-message");
      if (!st.chat.erase(req.id))
        return make_error(error_code::invalid_field,
                          "id: no message '" + req.id + "' in the room's chat history");
      record(self, *st.ctx, store::chat_deleted{st.id, req.id, me->id, now});
      protocol::class_event ev;
      ev.kind = class_event_kind::chat_deleted;
      ev.id = req.id;
      ev.by = me->public_id();
      LOG_INFO("room", "'" << st.id << "': chat message " << req.id << " deleted by '" << ev.by
                           << "'");
      send_to_all(self, ev);
      return protocol::class_reply{};
    }
    case class_action::create_poll: {
      if (!moderator)
        return need(*me, protocol::permission::moderate, "create-poll");
      if (st.polls.size() >= max_polls_per_room)
        return make_error(error_code::limit_exceeded,
                          "a room keeps at most " + std::to_string(max_polls_per_room) +
                            " polls");
      std::string problem;
      auto p = protocol::poll::make("p" + std::to_string(st.next_poll_id++), std::move(req.text),
                                    std::move(req.options), req.multiple, req.anonymous,
                                    me->public_id(), now, problem);
      if (!p)
        return make_error(error_code::invalid_field, problem);
      st.polls.push_back(std::move(*p));
      auto& poll = st.polls.back();
      {
        auto snap = poll.snapshot();
        record(self, *st.ctx,
               store::poll_created{st.id, snap.id, snap.question, snap.options, snap.multiple,
                                   snap.anonymous, me->id, now});
      }
      send_to_all(self, poll_event(class_event_kind::poll_started, poll));
      return protocol::class_reply{"pollId", poll.id()};
    }
    case class_action::vote: {
      auto* p = find_poll(st, req.id);
      if (!p)
        return make_error(error_code::invalid_field, "pollId: no poll '" + req.id + "'");
      auto previous = p->choices_of(me->public_id());
      auto r = p->vote(me->public_id(), req.choices);
      if (r == protocol::poll::vote_result::closed)
        return make_error(error_code::invalid_state, "poll '" + req.id + "' is closed");
      if (r != protocol::poll::vote_result::counted && r != protocol::poll::vote_result::changed)
        return make_error(error_code::invalid_field, std::string(protocol::to_string(r)));
      record(self, *st.ctx,
             store::vote_cast{st.id, p->id(), me->id, me->public_id(),
                              p->choices_of(me->public_id()), std::move(previous), now});
      send_poll_results(self, p->id());
      return protocol::class_reply{};
    }
    case class_action::chat_history: {
      protocol::class_event ev;
      ev.kind = class_event_kind::chat_history;
      ev.chat = st.chat.items();
      self->send(me->session, ev);
      return protocol::class_reply{};
    }
    case class_action::typing_start:
    case class_action::typing_stop: {
      protocol::class_event ev;
      ev.kind = req.action == class_action::typing_start ? class_event_kind::typing_start
                                                         : class_event_kind::typing_stop;
      ev.peer_id = me->id;
      ev.name = req.text.empty() ? me->name : req.text;
      for (auto& p : st.peers)
        if (&p != me)
          self->send(p.session, ev);
      return protocol::class_reply{};
    }
    case class_action::react: {
      if (!allows(me->grant.permissions, protocol::permission::chat))
        return need(*me, protocol::permission::chat, "reacting to a message");
      auto* m = st.chat.find(req.id);
      if (!m)
        return make_error(error_code::invalid_field,
                          "messageId: no message '" + req.id + "' in the room's chat history");
      auto uid = me->public_id();
      auto r = std::find_if(m->reactions.begin(), m->reactions.end(),
                            [&](const protocol::chat_reaction& x) { return x.emoji == req.emoji; });
      bool added = true;
      if (r == m->reactions.end()) {
        if (m->reactions.size() >= 32)
          return make_error(error_code::limit_exceeded, "a message takes at most 32 emoji");
        m->reactions.push_back({req.emoji, {uid}});
      } else if (auto u = std::find(r->user_ids.begin(), r->user_ids.end(), uid);
                 u != r->user_ids.end()) {
        r->user_ids.erase(u); // a second reaction with the same emoji takes it back
        added = false;
        if (r->user_ids.empty())
          m->reactions.erase(r);
      } else {
        r->user_ids.push_back(uid);
      }
      protocol::class_event ev;
      ev.kind = class_event_kind::react_update;
      ev.id = req.id;
      ev.user_id = uid;
      ev.emoji = req.emoji;
      ev.flag = added;
      send_to_all(self, ev);
      return protocol::class_reply{};
    }
    case class_action::pin: {
      if (rank_of(st, *me) == 0) // the frontend's name: its host and co-hosts pin
        return make_error(error_code::forbidden, "pin-message is for the host and co-hosts");
      auto* m = st.chat.find(req.id);
      if (!m)
        return make_error(error_code::invalid_field,
                          "messageId: no message '" + req.id + "' in the room's chat history");
      m->pinned = req.pinned;
      protocol::class_event ev;
      ev.kind = class_event_kind::pin_update;
      ev.id = req.id;
      ev.flag = req.pinned;
      ev.by = me->public_id();
      send_to_all(self, ev);
      return protocol::class_reply{};
    }
    case class_action::video_reaction: {
      protocol::class_event ev;
      ev.kind = class_event_kind::video_reaction;
      ev.emoji = req.emoji;
      ev.session_id = req.session_id;
      ev.user_id = me->public_id();
      ev.name = req.text.empty() ? me->name : req.text;
      for (auto& p : st.peers)
        if (&p != me)
          self->send(p.session, ev);
      return protocol::class_reply{};
    }
    case class_action::close_poll: {
      if (!moderator)
        return need(*me, protocol::permission::moderate, "close-poll");
      auto* p = find_poll(st, req.id);
      if (!p)
        return make_error(error_code::invalid_field, "pollId: no poll '" + req.id + "'");
      if (!p->close())
        return make_error(error_code::invalid_state, "poll '" + req.id + "' is closed already");
      st.poll_throttles.erase(p->id());
      {
        auto snap = p->snapshot();
        record(self, *st.ctx, store::poll_closed{st.id, snap.id, snap.counts, snap.voters, now});
      }
      send_to_all(self, poll_event(class_event_kind::poll_closed, *p));
      return protocol::class_reply{};
    }
  }
  return make_error(error_code::unsupported, "unknown live-class request");
}

// ---- the seed 004 frontend's host controls ------------------------------------------------

void tell(room_actor* self, const caf::actor& session, std::string name, std::string by,
          std::string reason = {}, std::string participant = {}, bool value = false) {
  self->send(session, protocol::frontend_event{std::move(name), std::move(by), std::move(reason),
                                               std::move(participant), value});
}

// Mutes (on) or releases (off) media of `kind` of one participant, as mute-peer and
// allow-publish do, with the frontend's events to the target.
void force_media(room_actor* self, peer_entry& target, uint8_t kind, bool on,
                 const std::string& by) {
  protocol::moderation_event ev;
  ev.peer_id = target.id;
  ev.user_id = target.public_id();
  ev.kinds = kind;
  ev.by = by;
  const bool audio = kind == protocol::publish_kinds::audio;
  if (on) {
    target.muted |= kind;
    self->send(target.peer, moderator_pause{kind});
    ev.action = protocol::moderation_action::mute;
    if (audio)
      tell(self, target.session, "force-mute", by);
    else
      tell(self, target.session, "force-video-pause", by);
  } else {
    target.muted &= static_cast<uint8_t>(~kind);
    target.grant.permissions = with_publish(target.grant.permissions, kind, true);
    ev.action = protocol::moderation_action::allow_publish;
    tell(self, target.session, audio ? "allow-unmute" : "allow-unpause", by);
  }
  tell_all(self, ev);
}

caf::result<protocol::empty_reply> host_control(room_actor* self, host_command& cmd) {
  using protocol::host_action;
  using protocol::error_code;
  auto& st = self->state;
  auto& req = cmd.request;
  auto* me = find_peer(st, cmd.peer_id);
  if (!me)
    return not_in_room(st, cmd.peer_id);
  const int my_rank = rank_of(st, *me);
  if (my_rank == 0)
    return make_error(error_code::forbidden, "host controls are for the host and co-hosts");
  const auto by = me->public_id();
  namespace kinds = protocol::publish_kinds;
  // Every participant a room-wide action applies to: those below the actor's rank.
  auto each_participant = [&](auto f) {
    for (auto& p : st.peers)
      if (&p != me && rank_of(st, p) < my_rank && rank_of(st, p) == 0)
        f(p);
  };
  switch (req.action) {
    case host_action::mute_all:
    case host_action::unmute_all:
    case host_action::disable_cameras:
    case host_action::enable_cameras: {
      const bool audio = req.action == host_action::mute_all || req.action == host_action::unmute_all;
      const bool on = req.action == host_action::mute_all || req.action == host_action::disable_cameras;
      each_participant([&](peer_entry& p) {
        force_media(self, p, audio ? kinds::audio : kinds::video, on, by);
      });
      broadcast_participants(self);
      return protocol::empty_reply{};
    }
    case host_action::disable_screens:
    case host_action::enable_screens: {
      st.screens_locked = req.action == host_action::disable_screens;
      if (st.screens_locked)
        each_participant([&](peer_entry& p) { self->send(p.peer, moderator_close{kinds::screen}); });
      for (auto& p : st.peers)
        tell(self, p.session, "screenshare-control", by, {}, {}, !st.screens_locked);
      record(self, *st.ctx,
             store::moderation_taken{st.id,
                                     st.screens_locked ? "disable-all-screen-sharing"
                                                       : "enable-all-screen-sharing",
                                     {}, by, {}, wall_ms()});
      broadcast_participants(self);
      return protocol::empty_reply{};
    }
    default:
      break;
  }
  auto* target = find_target(st, req.target);
  if (!target)
    return make_error(error_code::unknown_user,
                      "no participant '" + req.target + "' in room '" + st.id + "'");
  const int target_rank = rank_of(st, *target);
  const bool host_only = req.action == host_action::make_cohost ||
                         req.action == host_action::remove_cohost ||
                         req.action == host_action::make_host ||
                         req.action == host_action::remove_host;
  if (host_only && my_rank < 2)
    return make_error(error_code::forbidden, "only a host may make or remove hosts and co-hosts");
  if (!host_only && target_rank >= my_rank)
    return make_error(error_code::forbidden,
                      my_rank == 1 ? "a co-host acts on participants only"
                                   : "a host does not act on another host");
  if (target == me)
    return make_error(error_code::invalid_field, "the target is the sender itself");
  switch (req.action) {
    case host_action::toggle_audio:
    case host_action::toggle_video:
      force_media(self, *target,
                  req.action == host_action::toggle_audio ? kinds::audio : kinds::video, req.on,
                  by);
      broadcast_participants(self);
      return protocol::empty_reply{};
    case host_action::remove: {
      if (is_creator(st, *target))
        return make_error(error_code::forbidden, "the room's creator cannot be removed");
      protocol::moderation_event ev;
      ev.action = protocol::moderation_action::kick;
      ev.peer_id = target->id;
      ev.user_id = target->public_id();
      ev.by = by;
      tell(self, target->session, "kicked-from-room", by, "removed by the host");
      eject(self, *target, protocol::kicked_event{"removed by the host", by, false}, close_kicked);
      tell_all(self, ev);
      return protocol::empty_reply{};
    }
    case host_action::make_cohost:
    case host_action::remove_cohost: {
      const bool grant = req.action == host_action::make_cohost;
      if (target_rank == 2)
        return make_error(error_code::invalid_state, "'" + req.target + "' is a host");
      target->co_host = grant;
      auto set = protocol::permission_set::from_bits(static_cast<uint8_t>(target->grant.permissions));
      if (grant)
        set.add(protocol::permission::moderate);
      else if (target->grant.role != "moderator")
        set.remove(protocol::permission::moderate);
      target->grant.permissions = set.bits();
      tell(self, target->session, grant ? "cohost-granted" : "cohost-revoked", by);
      for (auto& p : st.peers)
        tell(self, p.session, "participant-updated", by, "isCoHost", target->public_id(),
             is_co_host(st, *target));
      record(self, *st.ctx,
             store::moderation_taken{st.id, grant ? "make-cohost" : "remove-cohost",
                                     target->public_id(), by, {}, wall_ms()});
      broadcast_participants(self);
      return protocol::empty_reply{};
    }
    case host_action::make_host:
    case host_action::remove_host: {
      const bool grant = req.action == host_action::make_host;
      if (!grant && is_creator(st, *target))
        return make_error(error_code::forbidden, "the room's creator cannot be removed as host");
      auto id = target->public_id();
      std::erase(st.hosts, id);
      if (grant) {
        st.hosts.push_back(id);
        target->grant.permissions = protocol::permission_set::all().bits();
      } else if (target->grant.role != "teacher") {
        auto set = protocol::permission_set::from_bits(static_cast<uint8_t>(target->grant.permissions));
        set.remove(protocol::permission::moderate);
        target->grant.permissions = set.bits();
      }
      tell(self, target->session, grant ? "host-granted" : "host-revoked", by);
      for (auto& p : st.peers)
        tell(self, p.session, "participant-updated", by, "isHost", id, is_host(st, *target));
      record(self, *st.ctx,
             store::moderation_taken{st.id, grant ? "make-host" : "remove-host", id, by, {},
                                     wall_ms()});
      broadcast_participants(self);
      return protocol::empty_reply{};
    }
    default:
      break;
  }
  return make_error(error_code::unsupported, "unknown host control");
}

// room-started for the webhooks, at the room's first join, or at its first rejoin with
// reason "moved" when it continues a room from another node (room-finished: when the
// state ends, ~room_state, after the remaining departures; not for a room handed over).
void announce_start(room_actor* self, const char* reason) {
  auto& st = self->state;
  if (st.start_announced)
    return;
  st.start_announced = true;
  if (!st.ctx->events)
    return;
  ops_event ev;
  ev.type = "room-started";
  ev.room_id = st.id;
  ev.node_id = st.ctx->settings.node_id;
  ev.at_ms = st.opened_ms;
  ev.reason = reason;
  emit_event(*st.ctx, ev);
}

// ---- re-homing ---------------------------------------------------------------------------
// The live class of a room that moved in good order: what its participants see on screen
// already, and what a joiner catches up on. Kept in addition to anything said here since.
void restore_class(room_state& st, const class_state& cls) {
  st.class_restored = true;
  for (auto& h : cls.hands)
    st.hands.raise(h.peer_id, h.user_id, h.name, h.raised_at);
  auto later = st.chat.items();
  st.chat = protocol::chat_history{st.ctx->settings.chat_history};
  for (auto& m : cls.chat)
    st.chat.add(m);
  for (auto& m : later)
    st.chat.add(std::move(m));
  st.next_chat_id = std::max(st.next_chat_id, cls.next_chat_id);
  for (auto& r : cls.polls) {
    std::string error;
    auto p = protocol::poll::make(r.item.id, r.item.question, r.item.options, r.item.multiple,
                                  r.item.anonymous, r.item.by, r.item.created_at, error);
    if (!p)
      continue;
    for (std::size_t i = 0; i < r.voters.size() && i < r.choices.size(); ++i)
      p->vote(r.voters[i], r.choices[i]);
    if (r.item.closed)
      p->close();
    st.polls.push_back(std::move(*p));
  }
  st.next_poll_id = std::max(st.next_poll_id, cls.next_poll_id);
}

// A participant of this room at its former home comes back (the home was lost, or the room
// moved): its entry and producers are restored without the events of a join, because
// everyone still in the room already knows them. The first rejoin also brings the
// room-wide state the participant's node held; who that state lists and who has not come
// back when the rebuild settles is told gone.
caf::result<join_result> rejoin(room_actor* self, rejoin_command& cmd) {
  auto& st = self->state;
  auto& snap = cmd.participant;
  if (auto* existing = find_peer(st, snap.peer_id)) {
    if (existing->peer == cmd.peer) // the same rejoin again
      return make_join_result(self, *existing);
    return make_error(protocol::error_code::id_taken,
                      "'" + snap.peer_id + "' joined room '" + st.id +
                        "' again on another connection while the room moved");
  }
  announce_start(self, "moved");
  if (!cmd.room.room_id.empty() && (!st.restored || cmd.room.version > st.version)) {
    auto& r = cmd.room;
    if (!r.creator.empty())
      st.creator = r.creator;
    st.hosts = r.hosts;
    st.locked = r.locked;
    st.screens_locked = r.screens_locked;
    st.chat_disabled = r.chat_disabled;
    st.blocks = r.blocks;
    st.version = std::max(st.version, r.version);
    st.restored = true;
  }
  if (cmd.room.cls.present && !st.class_restored)
    restore_class(st, cmd.room.cls);
  for (auto& x : cmd.room.roster)
    if (!find_peer(st, x.peer_id) &&
        std::none_of(st.expected.begin(), st.expected.end(),
                     [&](const roster_entry& y) { return y.peer_id == x.peer_id; }))
      st.expected.push_back(x);
  std::erase_if(st.expected, [&](const roster_entry& y) { return y.peer_id == snap.peer_id; });
  peer_entry e;
  e.id = snap.peer_id;
  e.name = snap.name;
  e.session = cmd.session;
  e.peer = cmd.peer;
  e.has_rtp_capabilities = snap.has_rtp_capabilities;
  e.rtp_capabilities = std::move(snap.rtp_capabilities);
  e.user_id = snap.user_id;
  e.image_url = snap.image_url;
  e.grant = snap.grant;
  e.muted = snap.muted;
  e.publisher = snap.publisher;
  e.chat_disabled = snap.chat_disabled;
  e.co_host = snap.co_host;
  if (snap.own_audio_muted >= 0)
    e.own_audio_muted = snap.own_audio_muted != 0;
  if (snap.own_video_paused >= 0)
    e.own_video_paused = snap.own_video_paused != 0;
  e.joined_ms = snap.joined_ms;
  e.chat_bucket = token_bucket{st.ctx->settings.chat_rate_per_s, st.ctx->settings.chat_burst,
                                net::bucket_ns(std::chrono::steady_clock::now())};
  if (cmd.peer.node() != self->node())
    e.edge_node = cmd.edge_node;
  self->link_to(cmd.peer);
  self->monitor(e.session);
  for (auto& p : cmd.producers) {
    if (!p.producer || find_listed(st, p.producer_id))
      continue;
    p.peer_id = e.id;
    observe(self, p);
    st.producers.push_back(std::move(p));
  }
  st.peers.push_back(std::move(e));
  auto& entry = st.peers.back();
  update_flags(st, entry);
  st.ctx->counters->peers.fetch_add(1);
  LOG_INFO("room", "'" << st.id << "': peer '" << entry.id << "' rejoined after a move ("
                       << st.peers.size() << " peers, " << st.expected.size()
                       << " not back yet)");
  self->send(entry.peer, room_rebound{caf::actor_cast<caf::actor>(self)});
  self->send(entry.session, room_rebound{caf::actor_cast<caf::actor>(self)});
  if (!st.settle_scheduled && !st.expected.empty()) {
    st.settle_scheduled = true;
    self->delayed_send(self, rehome_settle, rehome_settle_atom::value);
  }
  broadcast_participants(self);
  return make_join_result(self, entry);
}

// The rebuild has settled: whoever the old room listed and has not come back was on the
// lost node (or left meanwhile) and is gone for everyone.
void settle(room_actor* self) {
  auto& st = self->state;
  st.settle_scheduled = false;
  auto gone = std::move(st.expected);
  st.expected.clear();
  for (auto& x : gone) {
    if (find_peer(st, x.peer_id))
      continue;
    LOG_INFO("room", "'" << st.id << "': peer '" << x.peer_id
                         << "' did not come back after the move: gone");
    protocol::participant_left_event left{x.peer_id, x.public_id};
    for (auto& p : st.peers)
      self->send(p.session, left);
  }
  broadcast_participants(self);
  if (st.peers.empty())
    self->send(st.node, room_idle{st.id});
}

// The room moves to another node (this one stops, or the room belongs to a node that
// joined): every peer and session is told, with the peer's entry and the room-wide state,
// and let go (unlinked, no longer monitored), and the room ends. They rejoin at the new
// home, and the chat history, hands and polls go with the room state they are handed
// (class_state; docs/design/cluster.md, "Re-homing").
int64_t hand_over(room_actor* self, const std::string& avoid) {
  auto& st = self->state;
  st.moved = true;
  int64_t here = 0;
  ++st.version;
  auto copy = room_copy(st);
  // The live class goes along: hands, chat, polls with their votes.
  auto& cls = copy.cls;
  cls.present = true;
  cls.hands = st.hands.items();
  cls.chat = st.chat.items();
  cls.next_chat_id = st.next_chat_id;
  cls.next_poll_id = st.next_poll_id;
  for (auto& p : st.polls) {
    poll_record r;
    r.item = p.snapshot();
    for (auto& [voter, choices] : p.votes()) {
      r.voters.push_back(voter);
      r.choices.push_back(choices);
    }
    cls.polls.push_back(std::move(r));
  }
  LOG_INFO("room", "'" << st.id << "': handing over " << st.peers.size()
                       << " participants to the room's next home");
  for (auto& e : st.peers) {
    self->send(e.peer, room_moving{avoid, snapshot_of(e), copy});
    self->send(e.session, room_moving{avoid, {}, {}});
    self->unlink_from(e.peer);
    self->demonitor(e.session);
    if (e.peer.node() == self->node())
      ++here;
  }
  self->quit();
  return here;
}

caf::behavior room_impl(room_actor* self, std::string room_id, node_context_ptr ctx,
                        caf::actor node, std::shared_ptr<room_gauges> gauges) {
  self->state.id = std::move(room_id);
  self->state.ctx = std::move(ctx);
  self->state.chat = protocol::chat_history{self->state.ctx->settings.chat_history};
  self->state.opened_ms = wall_ms();
  self->state.gauges = std::move(gauges);
  if (auto& rec = self->state.ctx->recorder) {
    auto& st = self->state;
    self->send(rec, store::record_event{store::room_opened{st.id, st.ctx->settings.node_id,
                                                           wall_ms()}});
    // The room's end, however it comes (its last participant left, the node stops).
    self->attach_functor([rec, id = st.id, node = st.ctx->settings.node_id] {
      caf::anon_send(rec, store::record_event{store::room_closed{id, node, wall_ms()}});
    });
  }
  self->state.node = std::move(node);
  {
    auto& st = self->state;
    data_producer_info own;
    own.data_producer_id = ids::uuid4();
    own.label = "room";
    own.data_producer = spawn_data_producer(self, {own.data_producer_id, "", "room", "", {}},
                                            st.ctx);
    // Linked, but a room that ends normally (idle) does not end its links: end it here.
    self->attach_functor([dp = own.data_producer] {
      caf::anon_send_exit(dp, caf::exit_reason::user_shutdown);
    });
    st.data_producers.push_back(std::move(own));
  }
  // Sessions are monitored: a session that ends is a departure.
  self->set_down_handler([self](caf::down_msg& dm) { remove_peer(self, dm.source); });
  // A stray message or error (a bug elsewhere, or a message from another node) must not
  // end the room: CAF's defaults would print it and answer, or quit the actor.
  self->set_default_handler([self](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
    LOG_WARN("room", "'" << self->state.id << "': unexpected message dropped: "
                         << to_string(x.copy_content_to_message()));
    return caf::message{};
  });
  self->set_error_handler([self](caf::error& err) {
    LOG_WARN("room", "'" << self->state.id << "': error message ignored: " << to_string(err));
  });
  // Peers are linked: a peer that fails is a departure. The node's exit request
  // (shutdown) ends the room, and through the links its peers.
  self->set_exit_handler([self](caf::exit_msg& em) {
    if (em.source == self->state.node.address() || !em.source) {
      self->quit(em.reason);
      return;
    }
    if (auto& obs = self->state.speaker_observer; obs && em.source == obs.address()) {
      // Not expected; the next audio producer starts a new one (the current ones are no
      // longer observed).
      LOG_WARN("room", "'" << self->state.id << "': the speaker observer failed: "
                           << to_string(em.reason));
      obs = nullptr;
      self->state.active_speaker.clear();
      return;
    }
    if (auto& rec = self->state.media_recorder; rec && em.source == rec.address()) {
      if (em.reason)
        LOG_WARN("room", "'" << self->state.id << "': the media recorder ended: "
                             << to_string(em.reason));
      rec = nullptr;
      self->state.recording_id.clear();
      self->state.recording_stopping = false;
      return;
    }
    if (em.reason != caf::exit_reason::user_shutdown && em.reason)
      LOG_WARN("room", "'" << self->state.id << "': a peer actor failed: "
                           << to_string(em.reason));
    remove_peer(self, em.source);
  });
  return {
    [self](join_command& cmd) -> caf::result<join_result> {
      auto& st = self->state;
      if (auto refused = admission(st, cmd))
        return *refused;
      // Another connection of the same user (a reload, a second tab) replaces the older
      // one when its token proves the same subject (admission() refused it otherwise).
      if (!cmd.identity.user_id.empty()) {
        auto same_user = std::find_if(st.peers.begin(), st.peers.end(), [&](const peer_entry& p) {
          return p.id != cmd.peer_id && p.public_id() == cmd.identity.user_id;
        });
        if (same_user != st.peers.end()) {
          LOG_INFO("room", "'" << st.id << "': user '" << cmd.identity.user_id
                               << "' reconnected as peer '" << cmd.peer_id << "'");
          self->send(same_user->session, replaced_atom::value);
          remove_peer_at(self, same_user, caf::actor_addr{});
        }
      }
      if (auto* existing = find_peer(st, cmd.peer_id)) {
        // Reconnect with a token for the same subject: the newer connection replaces the
        // older one.
        LOG_INFO("room", "'" << st.id << "': peer '" << cmd.peer_id << "' reconnected");
        self->demonitor(existing->session);
        self->send(existing->session, replaced_atom::value);
        auto old_peer = existing->peer;
        existing->peer = nullptr; // its exit must not look like this entry's departure
        self->send_exit(old_peer, caf::exit_reason::user_shutdown);
        existing->session = cmd.session;
        for (auto& p : st.producers)
          if (p.peer_id == cmd.peer_id)
            unobserve(self, p);
        std::erase_if(st.producers,
                      [&](const producer_info& p) { return p.peer_id == cmd.peer_id; });
        existing->name = cmd.name.empty() ? cmd.peer_id : cmd.name;
        existing->audio_muted = existing->video_paused = true;
        existing->has_rtp_capabilities = cmd.has_rtp_capabilities;
        existing->rtp_capabilities = std::move(cmd.rtp_capabilities);
        existing->own_audio_muted.reset();
        existing->own_video_paused.reset();
        existing->publisher = false;
        // A moderator's mute and revocations stay with the participant across reconnects.
        apply_identity(st, *existing, cmd.identity);
        existing->peer = peer_for(self, cmd);
        existing->edge_node = cmd.peer ? cmd.edge_node : caf::actor{};
        existing->copy_sent.clear();
        self->monitor(existing->session);
        auto result = make_join_result(self, *existing);
        broadcast_participants(self);
        catch_up(self, existing->session);
        return result;
      }
      peer_entry e;
      e.id = cmd.peer_id;
      e.name = cmd.name.empty() ? cmd.peer_id : cmd.name;
      e.session = cmd.session;
      e.has_rtp_capabilities = cmd.has_rtp_capabilities;
      e.rtp_capabilities = std::move(cmd.rtp_capabilities);
      e.grant = std::move(cmd.grant);
      e.chat_bucket = token_bucket{st.ctx->settings.chat_rate_per_s, st.ctx->settings.chat_burst,
                                   net::bucket_ns(std::chrono::steady_clock::now())};
      apply_identity(st, e, cmd.identity);
      e.joined_ms = wall_ms();
      e.peer = peer_for(self, cmd);
      if (cmd.peer)
        e.edge_node = cmd.edge_node;
      self->monitor(e.session);
      record(self, *st.ctx,
             store::peer_joined{st.id, e.id, e.user_id, e.name, e.grant.role, wall_ms()});
      st.peers.push_back(std::move(e));
      st.ctx->counters->peers.fetch_add(1);
      if (st.gauges)
        st.gauges->peers.store(static_cast<int64_t>(st.peers.size()), std::memory_order_relaxed);
      LOG_INFO_IDS("room", (log::ids{.room = st.id, .peer = cmd.peer_id}),
                   "'" << st.id << "': peer '" << cmd.peer_id << "' joined (" << st.peers.size()
                       << " peers)");
      announce_start(self, "");
      {
        auto& joined = st.peers.back();
        ops_event ev;
        ev.type = "participant-joined";
        ev.room_id = st.id;
        ev.node_id = st.ctx->settings.node_id;
        ev.at_ms = joined.joined_ms;
        ev.peer_id = joined.id;
        ev.user_id = joined.public_id();
        ev.name = joined.name;
        ev.role = joined.grant.role;
        ev.participants = static_cast<int64_t>(st.peers.size());
        emit_event(*st.ctx, std::move(ev));
      }
      auto result = make_join_result(self, st.peers.back());
      broadcast_participants(self);
      catch_up(self, st.peers.back().session);
      return result;
    },
    [self](peer_update& upd) -> caf::result<join_result> {
      auto* e = find_peer(self->state, upd.peer_id);
      if (!e)
        return not_in_room(self->state, upd.peer_id);
      if (!upd.identity.user_id.empty())
        for (auto& p : self->state.peers)
          if (&p != e && p.public_id() == upd.identity.user_id)
            return make_error(protocol::error_code::id_taken,
                              "user id '" + upd.identity.user_id +
                                "' is connected to this room on another connection");
      if (upd.has_rtp_capabilities) {
        e->has_rtp_capabilities = true;
        e->rtp_capabilities = std::move(upd.rtp_capabilities);
        e->copy_sent.clear();
        schedule_sync(self);
      }
      bool changed = false;
      if (!upd.name.empty() && upd.name != e->name) {
        e->name = upd.name;
        changed = true;
      }
      changed = apply_identity(self->state, *e, upd.identity) || changed;
      auto result = make_join_result(self, *e);
      if (changed)
        broadcast_participants(self);
      return result;
    },
    [self](producer_info& info) {
      auto& st = self->state;
      auto* e = find_peer(st, info.peer_id);
      if (!e || e->peer.address() != caf::actor_cast<caf::actor_addr>(self->current_sender()))
        return; // from a peer replaced meanwhile
      protocol::new_producer_event ev{info.producer_id, info.peer_id, info.kind,
                                      e->public_id(), e->name, info.is_screen_share,
                                      info.source};
      const bool share_started = info.is_screen_share;
      auto peer_id = info.peer_id;
      // A moderator acted while this producer was being made: apply it now.
      auto bit = kind_bit(info.kind, info.is_screen_share);
      if (!allows(e->grant.permissions, publish_permission(bit)))
        self->send(e->peer, moderator_close{bit});
      else if (e->muted & bit)
        self->send(e->peer, moderator_pause{bit});
      observe(self, info);
      if (!st.media_recorder && st.ctx->recording.auto_start &&
          !st.ctx->recording.directory.empty())
        if (auto started = start_recording(self, {}); !started)
          LOG_WARN("room", "'" << st.id << "': recording.autoStart: "
                               << to_string(started.error()));
      if (st.media_recorder && !st.recording_stopping)
        self->send(st.media_recorder, with_owner(st, info));
      st.producers.push_back(std::move(info));
      if (st.gauges)
        st.gauges->producers.store(static_cast<int64_t>(st.producers.size()), std::memory_order_relaxed);
      for (auto& p : st.peers)
        if (p.id != peer_id)
          self->send(p.session, ev);
      flags_changed_for(self, peer_id);
      if (share_started) // the list shows who shares a screen
        broadcast_participants(self);
    },
    [self](publish_check& q) -> caf::result<protocol::empty_reply> {
      auto& st = self->state;
      auto* e = find_peer(st, q.peer_id);
      if (!e)
        return not_in_room(st, q.peer_id);
      auto needed = publish_permission(q.kind);
      if (!allows(e->grant.permissions, needed))
        return make_error(protocol::error_code::forbidden,
                          "publishing " + std::string(kind_name(q.kind)) + " needs permission " +
                            std::string(protocol::to_string(needed)));
      if (e->muted & q.kind) {
        std::string why = std::string(kind_name(q.kind)) +
                          " was muted by a moderator: it may resume after allow-publish";
        if (q.kind == protocol::publish_kinds::audio)
          tell(self, e->session, "audio-locked", {}, "your microphone was muted by the host");
        return make_error(protocol::error_code::forbidden, why);
      }
      if (q.kind == protocol::publish_kinds::screen && st.screens_locked && rank_of(st, *e) == 0) {
        tell(self, e->session, "screenshare-denied", {}, "screen sharing is disabled by the host");
        return make_error(protocol::error_code::forbidden, "screen sharing is disabled by the host");
      }
      if (!q.resume && !e->publisher) {
        auto limit = st.ctx->settings.max_publishers_per_room;
        auto publishers = std::count_if(st.peers.begin(), st.peers.end(),
                                        [](const peer_entry& p) { return p.publisher; });
        if (limit > 0 && static_cast<uint32_t>(publishers) >= limit)
          return make_error(protocol::error_code::limit_exceeded,
                            "room '" + st.id + "' has its " + std::to_string(limit) +
                              " publishers (limits.maxPublishersPerRoom)");
        e->publisher = true;
      }
      return protocol::empty_reply{};
    },
    [self](room_info_query& q) -> caf::result<protocol::room_info_reply> {
      auto& st = self->state;
      auto* e = find_peer(st, q.peer_id);
      if (!e)
        return not_in_room(st, q.peer_id);
      return room_info(st, *e);
    },
    [self](moderation_command& cmd) -> caf::result<protocol::empty_reply> {
      schedule_sync(self);
      return moderate(self, cmd);
    },
    [self](class_command& cmd) -> caf::result<protocol::class_reply> {
      schedule_sync(self);
      return classroom(self, cmd);
    },
    [self](host_command& cmd) -> caf::result<protocol::empty_reply> {
      schedule_sync(self);
      return host_control(self, cmd);
    },
    [self](recording_command& cmd) -> caf::result<protocol::class_reply> {
      return recording(self, cmd);
    },
    // From the media recorder: an ffmpeg that exited, a full disk (to everyone).
    [self](protocol::recording_event& ev) {
      for (auto& p : self->state.peers)
        self->send(p.session, ev);
    },
    [self](rejoin_command& cmd) -> caf::result<join_result> { return rejoin(self, cmd); },
    [self](rehome_settle_atom) { settle(self); },
    [self](sync_copies_atom) { sync_copies(self); },
    [self](hand_over_atom, std::string& avoid) -> int64_t { return hand_over(self, avoid); },
    [self](chat_history_query&) -> protocol::class_event {
      protocol::class_event ev;
      ev.kind = protocol::class_event_kind::chat_history;
      ev.chat = self->state.chat.items();
      return ev;
    },
    [self](poll_flush& f) {
      self->state.poll_throttles[f.poll_id].scheduled = false;
      send_poll_results(self, f.poll_id);
    },
    [self](producer_removed& r) {
      auto& st = self->state;
      if (st.media_recorder)
        self->send(st.media_recorder, r);
      for (auto it = st.producers.begin(); it != st.producers.end(); ++it)
        if (it->producer_id == r.producer_id) {
          auto peer_id = it->peer_id;
          auto ev = closed_event(st, *it);
          const bool share_ended = it->is_screen_share;
          unobserve(self, *it);
          st.producers.erase(it);
          if (st.gauges)
            st.gauges->producers.store(static_cast<int64_t>(st.producers.size()),
                                       std::memory_order_relaxed);
          if (share_ended)
            broadcast_participants(self);
          // Its last producer gone, the participant no longer counts as a publisher.
          if (auto* e = find_peer(st, peer_id);
              e && std::none_of(st.producers.begin(), st.producers.end(),
                                [&](const producer_info& p) { return p.peer_id == peer_id; }))
            e->publisher = false;
          for (auto& p : st.peers)
            if (p.id != peer_id)
              self->send(p.session, ev);
          flags_changed_for(self, peer_id);
          return;
        }
    },
    [self](producer_paused_update& u) {
      auto& st = self->state;
      for (auto& p : st.producers)
        if (p.producer_id == u.producer_id) {
          p.paused = u.paused;
          flags_changed_for(self, p.peer_id);
          return;
        }
    },
    [self](data_producer_info& info) {
      auto& st = self->state;
      auto* e = find_peer(st, info.peer_id);
      if (!e || e->peer.address() != caf::actor_cast<caf::actor_addr>(self->current_sender()))
        return; // from a peer replaced meanwhile
      protocol::new_data_producer_event ev{info.data_producer_id, info.peer_id, info.label,
                                           info.protocol};
      auto peer_id = info.peer_id;
      st.data_producers.push_back(std::move(info));
      for (auto& p : st.peers)
        if (p.id != peer_id)
          self->send(p.session, ev);
    },
    [self](data_producer_removed& r) {
      auto& st = self->state;
      for (auto it = st.data_producers.begin(); it != st.data_producers.end(); ++it)
        if (it->data_producer_id == r.data_producer_id && !it->peer_id.empty()) {
          protocol::data_producer_closed_event ev{it->data_producer_id, it->peer_id};
          st.data_producers.erase(it);
          for (auto& p : st.peers)
            if (p.id != ev.peer_id)
              self->send(p.session, ev);
          return;
        }
    },
    [self](data_publish_check& q) -> caf::result<protocol::empty_reply> {
      auto& st = self->state;
      auto* e = find_peer(st, q.peer_id);
      if (!e)
        return not_in_room(st, q.peer_id);
      if (!allows(e->grant.permissions, protocol::permission::chat))
        return make_error(protocol::error_code::forbidden, "producing data needs permission chat");
      return protocol::empty_reply{};
    },
    [self](data_producers_query& q) {
      auto& st = self->state;
      auto* e = find_peer(st, q.peer_id);
      if (!e)
        return;
      // The data producers there are (the room's own first): new-data-producer for each.
      for (auto& d : st.data_producers)
        if (d.peer_id != q.peer_id)
          self->send(e->session, protocol::new_data_producer_event{d.data_producer_id, d.peer_id,
                                                                   d.label, d.protocol});
    },
    [self](find_data_producer& q) -> caf::result<data_producer_info> {
      auto& st = self->state;
      if (auto* asker = find_peer(st, q.peer_id);
          asker && !allows(asker->grant.permissions, protocol::permission::subscribe))
        return make_error(protocol::error_code::forbidden,
                          "consuming data needs permission subscribe");
      for (auto& d : st.data_producers)
        if (d.data_producer_id == q.data_producer_id)
          return d;
      return make_error(protocol::error_code::unknown_producer,
                        "no data producer with id '" + q.data_producer_id + "' in room '" +
                          st.id + "'");
    },
    [self](find_producer& q) -> caf::result<producer_info> {
      auto& st = self->state;
      if (auto* asker = find_peer(st, q.peer_id);
          asker && !allows(asker->grant.permissions, protocol::permission::subscribe))
        return make_error(protocol::error_code::forbidden,
                          "consuming needs permission subscribe");
      // The answer names the producing participant (the frontend keys streams by user id).
      auto answer = [&st](const producer_info& p) {
        producer_info out = p;
        if (auto* e = find_peer(st, p.peer_id)) {
          out.user_id = e->public_id();
          out.user_name = e->name;
        }
        return out;
      };
      if (!q.producer_id.empty()) {
        for (auto& p : st.producers)
          if (p.producer_id == q.producer_id)
            return answer(p);
        return make_error(protocol::error_code::unknown_producer,
                          "no producer with id '" + q.producer_id + "' in room '" + st.id + "'");
      }
      for (auto& p : st.producers)
        if (p.peer_id != q.peer_id &&
            std::find(q.exclude.begin(), q.exclude.end(), p.producer_id) == q.exclude.end() &&
            (!q.has_rtp_capabilities || rtp::can_consume(p.consumable, q.rtp_capabilities)))
          return answer(p);
      return make_error(protocol::error_code::nothing_to_consume,
                        "room '" + st.id + "' has no producer left that this peer could "
                        "consume (it consumes all the others' producers it can receive); "
                        "try again after a new-producer event");
    },
    [self](protocol::get_socket_id_request& q) -> caf::result<protocol::socket_id_reply> {
      auto& st = self->state;
      // The newest connection of that user id (or a peer id given as the user id).
      for (auto it = st.peers.rbegin(); it != st.peers.rend(); ++it)
        if (it->public_id() == q.user_id)
          return protocol::socket_id_reply{it->id};
      for (auto& p : st.peers)
        if (p.id == q.user_id)
          return protocol::socket_id_reply{p.id};
      return make_error(protocol::error_code::unknown_user,
                        "no participant with user id '" + q.user_id + "' in room '" + st.id +
                          "'");
    },
    [self](own_state_update& u) -> caf::result<protocol::empty_reply> {
      auto& st = self->state;
      auto* e = find_peer(st, u.peer_id);
      if (!e)
        return not_in_room(st, u.peer_id);
      protocol::participant_state_changed_event ev;
      ev.peer_id = e->id;
      ev.user_id = e->public_id();
      if (u.state.has_audio_muted) {
        e->own_audio_muted = u.state.audio_muted;
        ev.has_audio_muted = true;
        ev.audio_muted = u.state.audio_muted;
      }
      if (u.state.has_video_paused) {
        e->own_video_paused = u.state.video_paused;
        ev.has_video_paused = true;
        ev.video_paused = u.state.video_paused;
      }
      for (auto& p : st.peers)
        if (p.id != u.peer_id)
          self->send(p.session, ev);
      broadcast_participants(self);
      return protocol::empty_reply{};
    },
    [self](dominant_speaker& d) {
      auto& st = self->state;
      if (!find_listed(st, d.producer_id))
        return; // removed meanwhile
      st.active_speaker = std::move(d.producer_id);
      if (auto ev = speaker_event(st))
        for (auto& p : st.peers)
          self->send(p.session, *ev);
    },
    [self](audio_levels_report& r) {
      auto& st = self->state;
      protocol::audio_levels_event ev;
      const auto n = std::min(r.producer_ids.size(), r.volumes_dbov.size());
      for (size_t i = 0; i < n; ++i)
        if (auto* p = find_listed(st, r.producer_ids[i]))
          ev.levels.push_back({p->peer_id, p->producer_id, r.volumes_dbov[i]});
      if (ev.levels.empty())
        return;
      for (auto& p : st.peers)
        self->send(p.session, ev);
    },
    [self](flush_participants_atom) {
      self->state.list_flush_scheduled = false;
      send_participants_now(self);
    },
    [self](admin_room_query&) { return admin_snapshot(self->state); },
    [self](admin_recording& r) -> caf::result<protocol::class_reply> {
      if (!r.start)
        return stop_recording(self);
      auto id = start_recording(self, "admin");
      if (!id)
        return id.error();
      return protocol::class_reply{"recordingId", *id};
    },
    [self](admin_kick& k) -> caf::result<protocol::empty_reply> {
      auto& st = self->state;
      auto* target = find_target(st, k.peer_id);
      if (!target)
        return make_error(protocol::error_code::unknown_user,
                          "no participant '" + k.peer_id + "' in room '" + st.id + "'");
      LOG_INFO("room", "'" << st.id << "': '" << target->public_id() << "' kicked by the admin API"
                           << (k.reason.empty() ? "" : ": " + k.reason));
      protocol::moderation_event ev;
      ev.action = protocol::moderation_action::kick;
      ev.by = "admin";
      ev.reason = k.reason;
      ev.peer_id = target->id;
      ev.user_id = target->public_id();
      eject(self, *target, protocol::kicked_event{k.reason, "admin", false}, close_kicked);
      tell_all(self, ev);
      return protocol::empty_reply{};
    },
    [self](admin_close& c) -> protocol::empty_reply {
      auto& st = self->state;
      LOG_INFO("room", "'" << st.id << "': closed by the admin API ("
                           << st.peers.size() << " participants)"
                           << (c.reason.empty() ? "" : ": " + c.reason));
      protocol::moderation_event ev;
      ev.action = protocol::moderation_action::end;
      ev.by = "admin";
      ev.reason = c.reason;
      tell_all(self, ev);
      // Each session closes; its end removes the participant (and the last one's, the room).
      st.leave_reason = "room-closed";
      for (auto& p : st.peers)
        self->send(p.session, close_session{close_room_ended, "room ended"});
      return protocol::empty_reply{};
    },
    [self](close_if_empty_atom) -> bool {
      if (!self->state.peers.empty())
        return false;
      self->quit();
      return true;
    },
  };
}

} // namespace

caf::actor spawn_room(caf::actor_system& sys, caf::actor node, std::string room_id,
                      node_context_ptr ctx, std::shared_ptr<room_gauges> gauges) {
  return sys.spawn(room_impl, std::move(room_id), std::move(ctx), std::move(node),
                   std::move(gauges));
}

} // namespace chorus::actors
