// Re-homing (docs/design/cluster.md, "Re-homing"): the copies of the room the other nodes
// hold, the rebuild from them when participants rejoin after a move, and the hand-over to
// another node. What the copies hold: room_copy.
#include "actors/clock.hpp"
#include "actors/media_recorder.hpp"
#include "actors/recorder.hpp"
#include "actors/room_actor.hpp"

#include "actors/room_copy.hpp"
#include "actors/room_roster.hpp"
#include "common/log.hpp"
#include "net/rate_limiter.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>

namespace chorus::actors::rooms {

namespace {

constexpr auto sync_delay = std::chrono::milliseconds(100);
// A change of the live class: its sender's reply waits for the copy, so the copy leaves
// soon; the changes of this window go in one copy.
constexpr auto class_sync_delay = std::chrono::milliseconds(10);
// A replica that does not answer within this: the held replies go anyway (counted).
constexpr auto replica_ack_limit = std::chrono::seconds(2);
constexpr auto rehome_settle = std::chrono::seconds(3);

} // namespace

void release_replies(room_actor* self, uint64_t change, bool replicated) {
  auto& st = self->state;
  while (!st.held_replies.empty() && st.held_replies.front().change <= change) {
    if (!replicated)
      st.ctx->counters->class_replies_unreplicated.fetch_add(1, std::memory_order_relaxed);
    auto deliver = std::move(st.held_replies.front().deliver);
    st.held_replies.pop_front();
    deliver(replicated);
  }
}

namespace {

// The copy to the room's replica, through this node (replica_copy); the replies to the
// class changes it carries go when the replica has it.
void send_replica(room_actor* self, room_snapshot copy) {
  auto& st = self->state;
  const auto change = st.class_sent;
  self->request(st.node, replica_ack_limit, replica_copy{std::move(copy), false})
    .then([self, change](replica_stored& r) { release_replies(self, change, r.stored); },
          [self, change](caf::error&) { release_replies(self, change, false); });
}

bool has_remote_participants(const room_state& st) {
  return std::any_of(st.peers.begin(), st.peers.end(),
                     [](const peer_entry& e) { return static_cast<bool>(e.edge_node); });
}

// At most one sync of each delay is pending; any of them sends what changed.
void schedule_sync_in(room_actor* self, std::chrono::milliseconds delay) {
  auto& st = self->state;
  auto& pending = delay == sync_delay ? st.sync_scheduled : st.class_sync_scheduled;
  if (pending)
    return;
  if (!replicates(st) && st.copy_holders.empty() && !has_remote_participants(st))
    return;
  pending = true;
  self->delayed_send(self, delay, sync_copies_atom::value);
}

} // namespace

bool replicates(const room_state& st) {
  return st.ctx->counters->other_nodes.load(std::memory_order_relaxed) > 0;
}

// Sent once per sync_delay, and only in a room with participants on other nodes (or nodes
// that still hold a copy), or with a replica (a cluster).
void schedule_sync(room_actor* self) {
  schedule_sync_in(self, sync_delay);
}

void class_changed(room_actor* self) {
  auto& st = self->state;
  ++st.class_changes;
  schedule_sync_in(self, class_sync_delay);
}

void hold_reply(room_actor* self, std::function<void(bool replicated)> deliver) {
  auto& st = self->state;
  st.held_replies.push_back({st.class_changes, std::move(deliver)});
}

namespace {

// A forget for the copy `holder` keeps of the room (any version up to the room's).
void send_forget(room_actor* self, const caf::actor& holder) {
  room_snapshot forget;
  forget.room_id = self->state.id;
  forget.version = self->state.version;
  forget.forget = true;
  self->send(holder, std::move(forget));
}

} // namespace

void forget_everywhere(room_actor* self) {
  auto& st = self->state;
  for (auto& n : st.copy_holders)
    send_forget(self, n);
  st.copy_holders.clear();
}

// Sends the copies: the room-wide state with the live class to every node with
// participants here (a forget to those that have none left) and to the room's replica,
// each remote participant's entry to its peer when it changed.
void sync_copies(room_actor* self) {
  auto& st = self->state;
  st.sync_scheduled = false;
  st.class_sync_scheduled = false;
  std::vector<caf::actor> holders;
  for (auto& e : st.peers)
    if (e.edge_node && std::find(holders.begin(), holders.end(), e.edge_node) == holders.end())
      holders.push_back(e.edge_node);
  // The room-wide copy goes out (with a new version) only when it changed or a node joined
  // the holders: a sync follows every command, most of which (chat, reactions) change none
  // of what it carries.
  auto copy = room_copy(st);
  const auto& last = st.last_copy;
  const bool changed = copy_changed(copy, last, holders, st.copy_holders) ||
                       st.class_changes != st.class_sent ||
                       (replicates(st) && last.room_id.empty());
  if (changed) {
    copy.cls = class_copy(st, wall_ms());
    copy.version = ++st.version;
    st.class_sent = st.class_changes;
    for (auto& n : holders)
      self->send(n, copy);
    if (replicates(st))
      send_replica(self, copy);
    else
      release_replies(self, st.class_sent, true); // the cluster shrank to this node
    st.last_copy = std::move(copy);
  }
  bool forgot = false;
  for (auto& n : st.copy_holders)
    if (std::find(holders.begin(), holders.end(), n) == holders.end()) {
      send_forget(self, n);
      forgot = true;
    }
  // A node told to forget may be the replica too: it gets the copy again, newer than the
  // forget, whichever of the two arrives first.
  if (forgot && replicates(st)) {
    st.last_copy.version = ++st.version;
    send_replica(self, st.last_copy);
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

namespace {

// A rebuild takes a copy: its room-wide state when newer than what the room holds, its
// live class when none was restored yet, and who it lists is expected back (told gone
// when the rebuild settles).
void take_copy(room_actor* self, const room_snapshot& copy) {
  auto& st = self->state;
  const bool newer = apply_room_copy(st, copy);
  // The room's own data producer keeps its id while nobody consumes the one made here,
  // and starts with the copy's recent public chat: a consumer resuming on it catches up on
  // what the former home sent it last (data_replay).
  const bool adopt = !copy.own_data_producer_id.empty() && st.peers.empty() &&
                     !st.data_producers.empty() && st.data_producers.front().peer_id.empty() &&
                     st.data_producers.front().data_producer_id != copy.own_data_producer_id;
  if (adopt)
    make_own_data_producer(self, copy.own_data_producer_id);
  if (copy.cls.present && !st.class_restored)
    restore_class(st, copy.cls, wall_ms());
  if (adopt && copy.cls.present)
    for (auto& m : copy.cls.chat)
      push_room_data(self, m);
  // The recording goes on here, named by the first copy the rebuild takes that names one
  // (a node of a participant may have none, or an older one: the next rejoin's may).
  if (newer && !st.recording_resumed && !copy.recording_id.empty() && !st.media_recorder) {
    st.recording_resumed = true;
    resume_recording(self, copy);
  }
  for (auto& x : copy.roster)
    if (!find_peer(st, x.peer_id) &&
        std::none_of(st.expected.begin(), st.expected.end(),
                     [&](const roster_entry& y) { return y.peer_id == x.peer_id; }))
      st.expected.push_back(x);
}

void schedule_settle(room_actor* self) {
  auto& st = self->state;
  if (!st.settle_scheduled && !st.expected.empty()) {
    st.settle_scheduled = true;
    self->delayed_send(self, rehome_settle, rehome_settle_atom::value);
  }
}

} // namespace

namespace {

// The class record goes on in the lost home's class, with what its copy held of the live
// class written where the store lacks it (store::class_resumed): what that home had
// acknowledged but not written yet.
void record_resumed(room_actor* self, const room_snapshot& copy) {
  auto& st = self->state;
  if (!st.ctx->recorder || !copy.cls.present)
    return;
  store::class_resumed r;
  r.room_id = st.id;
  r.node_id = st.ctx->settings.node_id;
  r.at_ms = wall_ms();
  for (auto& m : copy.cls.chat)
    r.chat.push_back({st.id, m.id, m.from, m.user_id, m.name, m.text, m.to, m.at});
  auto peer_of = [&](const std::string& public_id) {
    for (auto& e : copy.roster)
      if (e.public_id == public_id)
        return e.peer_id;
    return public_id;
  };
  for (auto& p : copy.cls.polls) {
    const auto& i = p.item;
    r.polls.push_back({st.id, i.id, i.question, i.options, i.multiple, i.anonymous, i.by, i.created_at});
    for (std::size_t v = 0; v < p.voters.size() && v < p.choices.size(); ++v)
      r.votes.push_back({st.id, i.id, peer_of(p.voters[v]), p.voters[v], p.choices[v], {}, i.created_at});
  }
  record(self, *st.ctx, std::move(r));
}

} // namespace

void seed(room_actor* self, const room_snapshot& copy) {
  auto& st = self->state;
  record_resumed(self, copy);
  take_copy(self, copy);
  LOG_INFO("room", "'" << st.id << "': rebuilt from its replica (version " << copy.version
                       << ", " << copy.cls.chat.size() << " chat messages, "
                       << copy.cls.polls.size() << " polls, " << copy.roster.size()
                       << " listed)");
  schedule_settle(self);
}

// A participant of this room at its former home comes back (the home was lost, or the room
// moved): its entry, producers and data producers are restored without the events of a join, because
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
  take_copy(self, cmd.room);
  std::erase_if(st.expected, [&](const roster_entry& y) { return y.peer_id == snap.peer_id; });
  peer_entry e = entry_of(snap);
  e.session = cmd.session;
  e.peer = cmd.peer;
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
    if (st.media_recorder && !st.recording_stopping)
      self->send(st.media_recorder, with_owner(st, p));
    st.producers.push_back(std::move(p));
  }
  // The participant's data producers live on with it (their consumers elsewhere too).
  for (auto& d : cmd.data_producers) {
    if (!d.data_producer ||
        std::any_of(st.data_producers.begin(), st.data_producers.end(),
                    [&](const data_producer_info& x) { return x.data_producer_id == d.data_producer_id; }))
      continue;
    d.peer_id = e.id;
    st.data_producers.push_back(std::move(d));
  }
  st.peers.push_back(std::move(e));
  auto& entry = st.peers.back();
  update_flags(st, entry);
  const auto change = audience_join(st, entry, st.ctx->limits.roster_limit);
  st.ctx->counters->peers.fetch_add(1);
  LOG_INFO("room", "'" << st.id << "': peer '" << entry.id << "' rejoined after a move ("
                       << st.peers.size() << " peers, " << st.expected.size()
                       << " not back yet)");
  self->send(entry.peer, room_rebound{caf::actor_cast<caf::actor>(self)});
  self->send(entry.session, room_rebound{caf::actor_cast<caf::actor>(self)});
  schedule_settle(self);
  apply_audience_change(self, change);
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
    to_everyone(self, left);
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
  copy.cls = class_copy(st, wall_ms()); // the live class goes along
  LOG_INFO("room", "'" << st.id << "': handing over " << st.peers.size()
                       << " participants to the room's next home");
  release_replies(self, st.class_changes, true); // the class moves with the room
  for (auto& e : st.peers) {
    self->send(e.peer, room_moving{avoid, snapshot_of(e), copy});
    self->send(e.session, room_moving{avoid, {}, {}});
    self->unlink_from(e.peer);
    self->demonitor(e.session);
    if (e.peer.node() == self->node())
      ++here;
  }
  if (st.media_recorder) // the copy names the recording: it goes on at the new home
    self->send(st.media_recorder, recording_moves_atom::value);
  self->quit();
  return here;
}

} // namespace chorus::actors::rooms
