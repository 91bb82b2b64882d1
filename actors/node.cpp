#include "actors/node.hpp"

#include <malloc.h>

#include "actors/meetings.hpp"
#include "actors/node_actor.hpp"
#include "actors/peer.hpp"
#include "actors/relay.hpp"
#include "actors/room.hpp"
#include "common/log.hpp"
#include "net/cluster.hpp"

#include <algorithm>
#include <memory>

namespace chorus::actors {

namespace nodes {

// The drain's end: every asker hears how many rooms are still open.
void finish_drain(node_actor* self) {
  auto& st = self->state;
  auto waiters = std::move(st.drain_waiters);
  st.drain_waiters.clear();
  if (waiters.empty())
    return;
  LOG_INFO("node", "drain finished: " << st.rooms.size() << " rooms still open");
  for (auto& rp : waiters)
    rp.deliver(drain_report{static_cast<uint32_t>(st.rooms.size())});
}

// A forget for the copy `to` holds of the room (any version).
void forget_copy(node_actor* self, const caf::actor& to, const std::string& room_id) {
  room_snapshot forget;
  forget.room_id = room_id;
  forget.version = UINT64_MAX;
  forget.forget = true;
  self->send(to, std::move(forget));
}

void forget_room(node_actor* self, const std::string& room_id, const caf::actor& room) {
  auto it = self->state.rooms.find(room_id);
  if (it != self->state.rooms.end() && it->second == room) {
    self->state.rooms.erase(it);
    if (auto r = self->state.replicas.find(room_id); r != self->state.replicas.end()) {
      for (auto& n : r->second)
        forget_copy(self, n, room_id);
      self->state.replicas.erase(r);
    }
    // metrics.perRoom: the node lists a room's series and counts it in the same places
    // (local_room), so a scrape never sees one without the other.
    if (auto& reg = self->state.ctx->room_metrics) {
      std::lock_guard<std::mutex> lock{reg->mutex};
      reg->rooms.erase(room_id);
    }
    self->state.ctx->counters->rooms.fetch_sub(1);
    LOG_DEBUG("node", "room '" << room_id << "' closed");
    if (self->state.draining && self->state.rooms.empty())
      finish_drain(self);
    // The node is idle: what the rooms' actors freed goes back to the system (glibc keeps
    // freed memory in its per-thread arenas otherwise; after a class of 300 that is tens
    // of MB a quiet node goes on holding).
    if (self->state.rooms.empty())
      malloc_trim(0);
  }
}

void count_copies(node_state& st) {
  st.ctx->counters->room_copies.store(static_cast<int64_t>(st.copies.size()));
}

copy_book::live_test live_test(const node_state& st) {
  return [&st](const std::string& home) { return is_live(st, home); };
}

// A copy from the room's home (the sender), or a forget.
void keep_copy(node_actor* self, room_snapshot copy) {
  auto& sender = self->current_sender();
  self->state.copies.keep(std::move(copy), sender ? to_string(sender->node()) : std::string{});
  count_copies(self->state);
}

// THE DRAIN'S ENTRY POINT (SIGTERM with drain.timeoutMs, the admin API's POST /drain):
// from now on no room is made here and no join is accepted (`draining`); the rooms that
// run keep their media until their last participant leaves. The answer (drain_report)
// comes when the last room has ended, or after `timeout_ms` with the rooms still open
// (then the caller stops the process, which ends them). In a cluster, the hand-over of
// this node's rooms to the other nodes starts here too (the cluster actor is told by the
// caller, or from this function).
caf::result<drain_report> drain_begin_step(node_actor* self, const drain_begin& d) {
  auto& st = self->state;
  const bool bounded = d.timeout_ms != drain_until_rooms_end;
  const std::string limit =
    bounded ? "for up to " + std::to_string(d.timeout_ms) + " ms" : "until they end";
  if (!st.draining) {
    st.draining = true;
    st.ctx->counters->draining.store(true);
    LOG_INFO("node", "draining: no new rooms or joins; " << st.rooms.size() << " rooms may run "
                                                         << limit);
  } else {
    LOG_INFO("node", "draining, asked again: " << st.rooms.size() << " rooms may run " << limit);
  }
  if (st.rooms.empty() || d.timeout_ms == 0) {
    finish_drain(self); // an earlier asker's wait ends with this one's
    return drain_report{static_cast<uint32_t>(st.rooms.size())};
  }
  auto rp = self->make_response_promise<drain_report>();
  st.drain_waiters.push_back(rp);
  if (bounded)
    self->delayed_send(self, std::chrono::milliseconds(d.timeout_ms), drain_deadline{});
  return rp;
}


// ---- re-homing -----------------------------------------------------------------------------
constexpr auto rehome_park_limit = std::chrono::seconds(10);
constexpr auto rehome_check_interval = std::chrono::milliseconds(250);
constexpr auto rebalance_delay = std::chrono::seconds(2);
// A lost home's rooms are rebuilt within the rejoins' park limit and the rebuild's settle;
// after this the copies that came from it and that no rebuild took are stale.
constexpr auto copy_grace = std::chrono::seconds(30);

// The members of `of` that `in` does not list (by node id).
std::vector<const cluster_node*> members_not_in(const std::vector<cluster_node>& of,
                                                const std::vector<cluster_node>& in) {
  std::vector<const cluster_node*> out;
  for (auto& n : of)
    if (std::none_of(in.begin(), in.end(),
                     [&](const cluster_node& m) { return m.node_id == n.node_id; }))
      out.push_back(&n);
  return out;
}

bool is_live(const node_state& st, const std::string& node) {
  return std::any_of(st.cluster.begin(), st.cluster.end(),
                     [&](const cluster_node& n) { return node_text(n.node) == node; });
}

// Answers the hand-over once every room said how many participants here it had and those
// have rejoined (or failed to).
void maybe_handed_over(node_actor* self) {
  auto& st = self->state;
  if (st.hand_over_waiters.empty() || st.rooms_answering > 0 || st.local_done < st.local_awaited)
    return;
  for (auto& rp : st.hand_over_waiters)
    rp.deliver(true);
  st.hand_over_waiters.clear();
}

// A rejoin ended (either way): a hand-over waiting for this node's own participants counts it.
void rehome_ended(node_actor* self, const rejoin_command& cmd) {
  auto& st = self->state;
  if (st.leaving && cmd.peer && cmd.peer.node() == self->node()) {
    ++st.local_done;
    maybe_handed_over(self);
  }
}

void rehome_failed(node_actor* self, const rejoin_command& cmd, const std::string& why) {
  LOG_WARN("node", "room '" << cmd.room_id << "': peer '" << cmd.participant.peer_id
                            << "' could not rejoin: " << why);
  self->send_exit(cmd.peer, caf::exit_reason::user_shutdown);
  self->send(cmd.session, close_session{1011, "the room found no new home in the cluster"});
  rehome_ended(self, cmd);
}

void rejoin_at(node_actor* self, const caf::actor& room, rejoin_command cmd) {
  self->request(room, placement_timeout, cmd)
    .then([self, cmd](join_result&) { rehome_ended(self, cmd); },
          [self, cmd](caf::error& err) { rehome_failed(self, cmd, to_string(err)); });
}

// Places the room anew (the node it avoids is gone from the live set by now, or the wait
// ran out) and rejoins the participant there, with the freshest room-wide copy.
void rehome(node_actor* self, rehome_request req) {
  auto& st = self->state;
  auto& cmd = req.cmd;
  if (auto* copy = st.copies.find(cmd.room_id);
      copy && (cmd.room.room_id.empty() || copy->version > cmd.room.version))
    cmd.room = *copy;
  if (auto home = placed_home(self, cmd.room_id, req.avoid)) {
    LOG_DEBUG("node", "room '" << cmd.room_id << "': peer '" << cmd.participant.peer_id
                               << "' rejoins at node " << node_text(home) << " (avoiding "
                               << req.avoid << ")");
    self->request(home, placement_timeout, get_room{cmd.room_id, false, req.avoid})
      .then([self, cmd](caf::actor& room) mutable { rejoin_at(self, room, std::move(cmd)); },
            [self, cmd](caf::error& err) { rehome_failed(self, cmd, to_string(err)); });
    return;
  }
  auto room = local_room(self, cmd.room_id, req.avoid);
  if (!room) {
    rehome_failed(self, cmd, to_string(room.error()));
    return;
  }
  rejoin_at(self, *room, std::move(cmd));
}

// Rejoins go ahead once the node they avoid has left the live set (or they waited long
// enough); a rejoin that avoids this node (it is leaving) or none goes at once.
void check_parked(node_actor* self) {
  auto& st = self->state;
  auto now = std::chrono::steady_clock::now();
  const auto here = to_string(self->node());
  std::vector<rehome_request> ready;
  std::erase_if(st.parked, [&](node_state::parked_rehome& p) {
    if (p.req.avoid != here && is_live(st, p.req.avoid) && now < p.until)
      return false;
    ready.push_back(std::move(p.req));
    return true;
  });
  for (auto& r : ready)
    rehome(self, std::move(r));
  if (!st.parked.empty() && !st.check_scheduled) {
    st.check_scheduled = true;
    self->delayed_send(self, rehome_check_interval, rehome_check_atom::value);
  }
}

// Rooms homed here that the live set now places elsewhere (a node joined, or this node is
// leaving) move there: each is handed over and forgotten here at once, so that a join
// arriving meanwhile is placed at the new home.
void move_rooms(node_actor* self, const std::string& avoid) {
  auto& st = self->state;
  std::vector<std::string> moving;
  for (auto& [id, room] : st.rooms)
    if (placed_home(self, id))
      moving.push_back(id);
  for (auto& id : moving) {
    auto room = st.rooms[id];
    self->demonitor(room);
    ++st.rooms_answering;
    self->request(room, placement_timeout, hand_over_atom::value, avoid)
      .then(
        [self](int64_t local_peers) {
          --self->state.rooms_answering;
          self->state.local_awaited += local_peers;
          maybe_handed_over(self);
        },
        [self](caf::error&) {
          --self->state.rooms_answering;
          maybe_handed_over(self);
        });
    forget_room(self, id, room);
    LOG_INFO("node", "room '" << id << "' moves to its home by the live nodes");
  }
}

caf::behavior node_impl(node_actor* self, node_context_ptr ctx) {
  self->state.ctx = ctx;
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& relays = self->state.relays;
    for (auto it = relays.begin(); it != relays.end(); ++it)
      if (it->second.address() == dm.source) {
        relays.erase(it);
        return;
      }
    // A room ended on its own (failure): forget it.
    for (auto& [id, room] : self->state.rooms)
      if (room.address() == dm.source) {
        LOG_WARN("node", "room '" << id << "' terminated: " << to_string(dm.reason));
        auto copy = id;
        forget_room(self, copy, room);
        break;
      }
  });
  // Shutdown: end every room explicitly (rooms are monitored, not linked, so that a room
  // closing or failing never takes the node down).
  self->set_exit_handler([self](caf::exit_msg& em) {
    finish_drain(self); // whoever waits for a drain hears now (the rooms are ending)
    for (auto& [id, room] : self->state.rooms)
      self->send_exit(room, em.reason);
    self->quit(em.reason);
  });
  return {
    [self](join_command& cmd) -> caf::result<join_result> {
      auto rp = self->make_response_promise<join_result>();
      place_join(self, std::move(cmd), rp);
      return rp;
    },
    // A live-class request for a room homed on another node, to go with the others.
    [self](class_upstream& u) -> caf::result<protocol::class_reply> {
      auto rp = self->make_response_promise<protocol::class_reply>();
      gather_class_request(self, u, rp);
      return rp;
    },
    [self](flush_class_batches_atom) { flush_class_batches(self); },
    // A room homed on another node: its message for sessions here, passed on as from it.
    [self](session_fanout& f) {
      auto& c = *self->state.ctx->counters;
      c.session_fanouts_in.fetch_add(1, std::memory_order_relaxed);
      c.session_fanout_deliveries.fetch_add(f.sessions.size(), std::memory_order_relaxed);
      for (auto& s : f.sessions)
        caf::send_as(f.room, s, f.msg);
    },
    // Another node's client joins a room homed here.
    [self](chat_history_query& q) -> caf::result<caf::message> {
      auto it = self->state.rooms.find(q.room_id);
      if (it == self->state.rooms.end()) {
        protocol::class_event ev;
        ev.kind = protocol::class_event_kind::chat_history;
        return caf::make_message(std::move(ev));
      }
      auto rp = self->make_response_promise();
      rp.delegate(it->second, std::move(q));
      return rp;
    },
    [self](get_room& q) -> caf::result<caf::actor> {
      auto rp = self->make_response_promise<caf::actor>();
      answer_lookup(self, std::move(q), rp);
      return rp;
    },
    // A consumer here of a producer on another node: one relay per producer.
    [self](get_relay& q) -> caf::actor {
      auto& st = self->state;
      auto it = st.relays.find(q.producer.address());
      if (it == st.relays.end()) {
        auto relay = spawn_relay(self->system(), q.producer, st.ctx);
        self->monitor(relay);
        it = st.relays.emplace(q.producer.address(), relay).first;
      }
      return it->second;
    },
    [self](drain_begin& d) -> caf::result<drain_report> { return drain_begin_step(self, d); },
    [self](drain_deadline&) { finish_drain(self); },
    // The admin API: the room homed here (null: none).
    [self](find_room& q) -> caf::actor {
      auto it = self->state.rooms.find(q.room_id);
      return it == self->state.rooms.end() ? caf::actor{} : it->second;
    },
    [self](admin_nodes_query&) {
      return cluster_nodes{self->state.self_id, self->state.cluster};
    },
    [self](list_rooms_atom) {
      std::vector<std::string> ids;
      for (auto& [id, room] : self->state.rooms)
        ids.push_back(id);
      std::sort(ids.begin(), ids.end());
      return ids;
    },
    [self](cluster_nodes& v) {
      auto& st = self->state;
      const auto joined = members_not_in(v.nodes, st.cluster);
      const bool grew = !joined.empty();
      const bool shrank = !members_not_in(st.cluster, v.nodes).empty();
      // A node that joined learns the meetings this node knows.
      if (grew)
        if (auto book = st.ctx->meetings->all(); !book.empty())
          for (auto* n : joined)
            if (n->node_id != v.self_id)
              self->send(n->node, meetings_shared{book, true});
      st.self_id = std::move(v.self_id);
      st.cluster = std::move(v.nodes);
      // A node left: the copies only it sent are dropped once the rebuilds had their time.
      if (shrank)
        self->delayed_send(self, copy_grace, drop_copies_atom::value);
      st.ctx->counters->other_nodes.store(
        st.cluster.empty() ? 0 : static_cast<int64_t>(st.cluster.size()) - 1);
      check_parked(self);
      replace_after_loss(self);
      // A node joined: the rooms it is now the home of move to it, once the view has
      // settled (a node that flaps does not drag rooms back and forth at once).
      if (grew && !st.rebalance_scheduled && !st.rooms.empty()) {
        st.rebalance_scheduled = true;
        self->delayed_send(self, rebalance_delay, rebalance_atom::value);
      }
    },
    [self](rebalance_atom) {
      self->state.rebalance_scheduled = false;
      move_rooms(self, {});
    },
    // Copies of the room-wide state of rooms homed elsewhere (re-homing).
    [self](room_snapshot& copy) { keep_copy(self, std::move(copy)); },
    // The copies whose home has left the live set and that no rebuild took: dropped.
    [self](drop_copies_atom) {
      auto& st = self->state;
      for (auto& room_id : st.copies.drop_orphans(live_test(st)))
        LOG_INFO("node", "room '" << room_id << "': the copy of a home that is gone is dropped");
      count_copies(st);
    },
    [self](meetings_shared& m) {
      auto& st = self->state;
      if (m.relayed) {
        for (auto& x : m.meetings)
          st.ctx->meetings->add(x);
        return;
      }
      m.relayed = true;
      for (auto& n : st.cluster)
        if (n.node_id != st.self_id)
          self->send(n.node, m);
    },
    // A room homed here: its copy to its replica, the node that would home it next.
    [self](replica_copy& r) -> caf::result<replica_stored> {
      auto& st = self->state;
      if (r.keep) { // this node is the replica
        const auto version = r.copy.version;
        keep_copy(self, std::move(r.copy));
        return replica_stored{version, true};
      }
      // Only the room homed here now: a copy its room sent just before it closed reaches
      // this node after the close (while it awaited the room's answer), and forwarded then
      // it would be a copy nobody ever forgets on a live node.
      auto room = st.rooms.find(r.copy.room_id);
      if (room == st.rooms.end() ||
          room->second.address() != caf::actor_cast<caf::actor_addr>(self->current_sender()))
        return replica_stored{r.copy.version, false};
      auto target = placed_home(self, r.copy.room_id, to_string(self->node()));
      if (!target)
        return replica_stored{r.copy.version, false};
      auto& targets = st.replicas[r.copy.room_id];
      if (std::find(targets.begin(), targets.end(), target) == targets.end())
        targets.push_back(target);
      r.keep = true;
      self->delegate(target, std::move(r)); // the replica answers the room
      return caf::delegated<replica_stored>{};
    },
    [self](rehome_request& req) {
      self->state.parked.push_back(
        {std::move(req), std::chrono::steady_clock::now() + rehome_park_limit});
      check_parked(self);
    },
    [self](rehome_check_atom) {
      self->state.check_scheduled = false;
      check_parked(self);
    },
    // This node leaves the cluster (SIGTERM): its rooms move to the other nodes. Answered
    // once the participants here have rejoined them (bounded by the caller's timeout).
    [self](hand_over_atom) -> caf::result<bool> {
      auto& st = self->state;
      if (st.cluster.size() < 2)
        return false;
      st.leaving = true;
      auto rp = self->make_response_promise<bool>();
      st.hand_over_waiters.push_back(rp);
      move_rooms(self, to_string(self->node()));
      maybe_handed_over(self);
      return rp;
    },
    [self](room_idle& msg) {
      auto it = self->state.rooms.find(msg.room_id);
      if (it == self->state.rooms.end())
        return;
      auto room = it->second;
      // await: no join for this room is forwarded until the room has answered.
      self->request(room, std::chrono::seconds(5), close_if_empty_atom::value)
        .await(
          [self, id = msg.room_id, room](bool closed) {
            if (closed)
              forget_room(self, id, room);
          },
          [self, id = msg.room_id, room](caf::error&) { forget_room(self, id, room); });
    },
  };
}

} // namespace nodes

caf::actor spawn_node(caf::actor_system& sys, node_context_ptr ctx) {
  return sys.spawn(nodes::node_impl, std::move(ctx));
}

} // namespace chorus::actors
