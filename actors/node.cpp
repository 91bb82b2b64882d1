#include "actors/node.hpp"

#include "actors/messages.hpp"
#include "actors/operations.hpp"
#include "actors/peer.hpp"
#include "actors/relay.hpp"
#include "actors/room.hpp"
#include "common/log.hpp"
#include "net/cluster.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <unordered_map>

namespace chorus::actors {

namespace {

struct node_state {
  node_context_ptr ctx;
  std::unordered_map<std::string, caf::actor> rooms; // homed here
  // In a cluster: this node's id and the live members (this node included); empty alone.
  std::string self_id;
  std::vector<cluster_node> cluster;
  std::unordered_map<caf::actor_addr, caf::actor> relays; // by remote producer
  // Drain (drain_begin): no new rooms or joins; the askers wait for the rooms to end.
  bool draining = false;
  uint64_t drain_generation = 0;
  std::vector<caf::response_promise> drain_waiters;
  static inline const char* name = "chorus.node";
};

using node_actor = caf::stateful_actor<node_state>;

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

void forget_room(node_actor* self, const std::string& room_id, const caf::actor& room) {
  auto it = self->state.rooms.find(room_id);
  if (it != self->state.rooms.end() && it->second == room) {
    self->state.rooms.erase(it);
    self->state.ctx->counters->rooms.fetch_sub(1);
    LOG_DEBUG("node", "room '" << room_id << "' closed");
    if (self->state.draining && self->state.rooms.empty())
      finish_drain(self);
  }
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
  if (!st.draining) {
    st.draining = true;
    st.ctx->counters->draining.store(true);
    LOG_INFO("node", "draining: no new rooms or joins; " << st.rooms.size()
                                                         << " rooms may run for up to "
                                                         << d.timeout_ms << " ms");
  }
  if (st.rooms.empty() || d.timeout_ms == 0)
    return drain_report{static_cast<uint32_t>(st.rooms.size())};
  auto rp = self->make_response_promise<drain_report>();
  st.drain_waiters.push_back(rp);
  self->delayed_send(self, std::chrono::milliseconds(d.timeout_ms),
                     drain_deadline{++st.drain_generation});
  return rp;
}

caf::error draining_error() {
  return make_error(protocol::error_code::draining,
                    "this server is draining (shutting down): it takes no new rooms or "
                    "participants; connect to another server");
}

constexpr auto placement_timeout = std::chrono::seconds(10);

// The room `room_id` homed here, made if there is none yet (bounded by max_rooms).
caf::expected<caf::actor> local_room(node_actor* self, const std::string& room_id) {
  auto& st = self->state;
  auto it = st.rooms.find(room_id);
  if (it == st.rooms.end()) {
    if (st.draining)
      return draining_error();
    if (st.rooms.size() >= st.ctx->settings.max_rooms)
      return make_error(protocol::error_code::limit_exceeded,
                        "this server has reached its limit of " +
                          std::to_string(st.ctx->settings.max_rooms) + " rooms");
    auto room = spawn_room(self->system(), caf::actor_cast<caf::actor>(self), room_id, st.ctx);
    self->monitor(room);
    it = st.rooms.emplace(room_id, room).first;
    st.ctx->counters->rooms.fetch_add(1);
    LOG_DEBUG("node", "room '" << room_id << "' created");
  }
  return it->second;
}

// In a cluster, the node actor of the room's home (rendezvous over the live members); null
// when the room lives here (alone, homed here, or already made here).
caf::actor remote_home(node_actor* self, const std::string& room_id) {
  auto& st = self->state;
  if (st.cluster.empty() || st.rooms.count(room_id))
    return nullptr;
  std::vector<std::string> ids;
  for (auto& n : st.cluster)
    ids.push_back(n.node_id);
  auto home = net::cluster::home_node(room_id, ids);
  if (home == st.self_id)
    return nullptr;
  for (auto& n : st.cluster)
    if (n.node_id == home)
      return n.node;
  return nullptr;
}

// A join for a room homed on another node: the room's handle from that node, a peer here
// (where the client's transports will be), then the join at the room.
caf::result<join_result> join_remote(node_actor* self, caf::actor home, join_command cmd) {
  auto rp = self->make_response_promise<join_result>();
  auto room_id = cmd.room_id;
  self->request(home, placement_timeout, get_room{room_id})
    .then(
      [self, rp, cmd = std::move(cmd)](caf::actor& room) mutable {
        auto peer = spawn_peer_for(self->system(), room, caf::actor_cast<caf::actor>(self),
                                   cmd.peer_id, cmd.room_id, cmd.session, self->state.ctx);
        cmd.peer = peer;
        cmd.placed = true;
        self->request(room, placement_timeout, std::move(cmd))
          .then([rp](join_result& r) mutable { rp.deliver(std::move(r)); },
                [self, rp, peer](caf::error& err) mutable {
                  self->send_exit(peer, caf::exit_reason::user_shutdown);
                  rp.deliver(std::move(err));
                });
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
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
      if (self->state.draining)
        return draining_error();
      if (!cmd.placed)
        if (auto home = remote_home(self, cmd.room_id))
          return join_remote(self, home, std::move(cmd));
      auto room = local_room(self, cmd.room_id);
      if (!room)
        return room.error();
      auto rp = self->make_response_promise();
      rp.delegate(*room, std::move(cmd));
      return rp;
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
      auto room = local_room(self, q.room_id);
      if (!room)
        return room.error();
      return *room;
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
    [self](drain_deadline& d) {
      if (d.generation == self->state.drain_generation)
        finish_drain(self);
    },
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
      self->state.self_id = std::move(v.self_id);
      self->state.cluster = std::move(v.nodes);
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

} // namespace

caf::actor spawn_node(caf::actor_system& sys, node_context_ptr ctx) {
  return sys.spawn(node_impl, std::move(ctx));
}

} // namespace chorus::actors
