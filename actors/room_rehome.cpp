// Re-homing (docs/design/cluster.md, "Re-homing"): the copies of the room the other nodes
// hold, the rebuild from them when participants rejoin after a move, and the hand-over to
// another node. What the copies hold: room_copy.
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
constexpr auto rehome_settle = std::chrono::seconds(3);

} // namespace

// Sent once per sync_delay, and only in a room with participants on other nodes (or nodes
// that still hold a copy).
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
  const bool changed = copy_changed(copy, last, holders, st.copy_holders);
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
  apply_room_copy(st, cmd.room);
  if (cmd.room.cls.present && !st.class_restored)
    restore_class(st, cmd.room.cls);
  for (auto& x : cmd.room.roster)
    if (!find_peer(st, x.peer_id) &&
        std::none_of(st.expected.begin(), st.expected.end(),
                     [&](const roster_entry& y) { return y.peer_id == x.peer_id; }))
      st.expected.push_back(x);
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
    st.producers.push_back(std::move(p));
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
  if (!st.settle_scheduled && !st.expected.empty()) {
    st.settle_scheduled = true;
    self->delayed_send(self, rehome_settle, rehome_settle_atom::value);
  }
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
  copy.cls = class_copy(st); // the live class goes along
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

} // namespace chorus::actors::rooms
