#include "actors/node.hpp"

#include <malloc.h>

#include "actors/messages.hpp"
#include "actors/operations.hpp"
#include "actors/peer.hpp"
#include "actors/rehome_messages.hpp"
#include "actors/relay.hpp"
#include "actors/room.hpp"
#include "actors/wire_check.hpp"
#include "common/log.hpp"
#include "net/cluster.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <map>
#include <memory>
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
  // Re-homing: the room-wide copies of rooms homed elsewhere that have participants here;
  // rejoins waiting until the node they avoid has left the live set; whether this node is
  // leaving (it homes no room any more).
  std::unordered_map<std::string, room_snapshot> copies;
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
  uint64_t drain_generation = 0;
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
  static inline const char* name = "chorus.node";
};

using node_actor = caf::stateful_actor<node_state>;

// How long a live-class request for a room elsewhere waits for others to cross with it: an
// audience's votes after a poll opens come within a second, so a window this short takes
// tens of them at once and adds little to a chat message's way.
constexpr auto class_batch_window = std::chrono::milliseconds(20);

// A room's answer to a batch (class_batch_reply, join_batch_reply), outcome by outcome in
// order: `ok(i, reply)` or `failed(i, error)`. False, with nothing called, when the answer
// does not match the batch.
template <class Reply, class Ok, class Failed>
bool each_outcome(size_t n, std::vector<Reply>& replies, std::vector<caf::error>& errors, Ok ok,
                  Failed failed) {
  if (replies.size() != n || errors.size() != n)
    return false;
  for (size_t i = 0; i < n; ++i)
    if (errors[i])
      failed(i, errors[i]);
    else
      ok(i, replies[i]);
  return true;
}

// Sends each room its gathered requests as one class_batch and answers each session with
// its outcome.
void flush_class_batches(node_actor* self) {
  auto& st = self->state;
  st.class_flush_scheduled = false;
  auto batches = std::move(st.class_batches);
  st.class_batches.clear();
  auto& c = *st.ctx->counters;
  for (auto& [room, items] : batches) {
    c.class_batches_out.fetch_add(1, std::memory_order_relaxed);
    c.class_batched_requests.fetch_add(items.size(), std::memory_order_relaxed);
    class_batch batch;
    batch.commands.reserve(items.size());
    std::vector<caf::typed_response_promise<protocol::class_reply>> promises;
    promises.reserve(items.size());
    for (auto& it : items) {
      batch.commands.push_back(std::move(it.command));
      promises.push_back(std::move(it.promise));
    }
    auto shared = std::make_shared<decltype(promises)>(std::move(promises));
    self->request(room, st.ctx->settings.request_timeout, std::move(batch))
      .then(
        [shared](class_batch_reply& r) {
          auto& ps = *shared;
          if (!each_outcome(
                ps.size(), r.replies, r.errors,
                [&](size_t i, protocol::class_reply& reply) { ps[i].deliver(std::move(reply)); },
                [&](size_t i, caf::error& err) { ps[i].deliver(std::move(err)); }))
            for (auto& p : ps)
              p.deliver(make_error(protocol::error_code::internal,
                                   "the room answered a batch of requests out of shape"));
        },
        [shared](caf::error& err) {
          for (auto& p : *shared)
            p.deliver(err);
        });
  }
}

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
    if (st.rooms.size() >= st.ctx->limits.max_rooms)
      return make_error(protocol::error_code::limit_exceeded,
                        "this server has reached its limit of " +
                          std::to_string(st.ctx->limits.max_rooms) + " rooms");
    std::shared_ptr<room_gauges> gauges;
    if (auto& reg = st.ctx->room_metrics) {
      gauges = std::make_shared<room_gauges>();
      std::lock_guard<std::mutex> lock{reg->mutex};
      reg->rooms[room_id] = gauges;
    }
    auto room = spawn_room(self->system(), caf::actor_cast<caf::actor>(self), room_id, st.ctx,
                           gauges);
    self->monitor(room);
    it = st.rooms.emplace(room_id, room).first;
    st.ctx->counters->rooms.fetch_add(1);
    LOG_DEBUG("node", "room '" << room_id << "' created");
  }
  return it->second;
}

// The CAF node of a live member's node actor, as text (what rehome_request.avoid names).
std::string node_text(const caf::actor& a) {
  return a ? to_string(a.node()) : std::string{};
}

// The node actor of the room's home by rendezvous over the live members, leaving out the
// node `avoid` names and this node when it is leaving; null for this node (alone, homed
// here, or no other candidate).
caf::actor placed_home(node_actor* self, const std::string& room_id, const std::string& avoid = {}) {
  auto& st = self->state;
  if (st.cluster.empty())
    return nullptr;
  std::vector<std::string> ids;
  for (auto& n : st.cluster)
    if ((avoid.empty() || node_text(n.node) != avoid) && !(st.leaving && n.node_id == st.self_id))
      ids.push_back(n.node_id);
  auto home = net::cluster::home_node(room_id, ids);
  if (home.empty() || home == st.self_id)
    return nullptr;
  for (auto& n : st.cluster)
    if (n.node_id == home)
      return n.node;
  return nullptr;
}

// In a cluster, the node actor of the room's home; null when the room lives here (alone,
// homed here, or already made here).
caf::actor remote_home(node_actor* self, const std::string& room_id) {
  if (self->state.rooms.count(room_id))
    return nullptr;
  return placed_home(self, room_id);
}

// Joins for a room homed on another node: the room's handle from that node, a peer here for
// each (where the client's transports will be), then the joins at the room in one batch.
// The next batch for the room leaves when this one is answered.
void send_joins(node_actor* self, const caf::actor& home, const std::string& room_id) {
  auto& st = self->state;
  const auto key = std::make_pair(home, room_id);
  auto q = st.join_queues.find(key);
  if (q == st.join_queues.end())
    return;
  if (q->second.waiting.empty()) {
    st.join_queues.erase(q);
    return;
  }
  q->second.in_flight = true;
  auto items = std::make_shared<std::vector<node_state::upstream_join>>(std::move(q->second.waiting));
  q->second.waiting.clear();
  auto& c = *st.ctx->counters;
  c.join_batches_out.fetch_add(1, std::memory_order_relaxed);
  c.join_batched_requests.fetch_add(items->size(), std::memory_order_relaxed);
  auto answered = [self, key] {
    auto it = self->state.join_queues.find(key);
    if (it == self->state.join_queues.end())
      return;
    it->second.in_flight = false;
    send_joins(self, key.first, key.second);
  };
  // The home's errors go on to whoever asked, which may be another node: only what CAF can
  // write again (actors/wire_check.hpp).
  auto refuse_all = [self, items](caf::error& err) {
    for (auto& it : *items) {
      if (it.peer)
        self->send_exit(it.peer, caf::exit_reason::user_shutdown);
      it.promise.deliver(writable(self->system(), err));
    }
  };
  self->request(home, placement_timeout, get_room{room_id, false, {}})
    .then(
      [self, items, answered, refuse_all](caf::actor& room) mutable {
        join_batch batch;
        batch.commands.reserve(items->size());
        for (auto& it : *items) {
          auto& cmd = it.command;
          it.peer = spawn_peer_for(self->system(), room, caf::actor_cast<caf::actor>(self),
                                   cmd.peer_id, cmd.room_id, cmd.session, self->state.ctx);
          cmd.peer = it.peer;
          cmd.placed = true;
          cmd.edge_node = caf::actor_cast<caf::actor>(self);
          batch.commands.push_back(std::move(cmd));
        }
        self->request(room, placement_timeout, std::move(batch))
          .then(
            [self, items, answered, refuse_all](join_batch_reply& r) mutable {
              auto& js = *items;
              if (!each_outcome(
                    js.size(), r.results, r.errors,
                    [&](size_t i, join_result& joined) { js[i].promise.deliver(std::move(joined)); },
                    [&](size_t i, caf::error& err) {
                      self->send_exit(js[i].peer, caf::exit_reason::user_shutdown);
                      js[i].promise.deliver(writable(self->system(), std::move(err)));
                    })) {
                auto err = make_error(protocol::error_code::internal,
                                      "the room answered a batch of joins out of shape");
                refuse_all(err);
              }
              answered();
            },
            [answered, refuse_all](caf::error& err) mutable {
              refuse_all(err);
              answered();
            });
      },
      [answered, refuse_all](caf::error& err) mutable {
        refuse_all(err);
        answered();
      });
}

// A join: to the room's home's queue when that is another node, else to the room here.
void place_join(node_actor* self, join_command cmd, caf::typed_response_promise<join_result> rp) {
  auto& st = self->state;
  if (st.draining) {
    rp.deliver(draining_error());
    return;
  }
  if (!cmd.placed)
    if (auto home = remote_home(self, cmd.room_id)) {
      auto& q = st.join_queues[{home, cmd.room_id}];
      auto room_id = cmd.room_id;
      q.waiting.push_back({std::move(cmd), std::move(rp), {}});
      if (!q.in_flight)
        send_joins(self, home, room_id);
      return;
    }
  auto room = local_room(self, cmd.room_id);
  if (!room) {
    rp.deliver(room.error());
    return;
  }
  rp.delegate(*room, std::move(cmd));
}

// The live set changed: joins still waiting for a home that left it are placed again (the
// batch under way to it ends with its own answer or timeout).
void replace_joins(node_actor* self) {
  auto& st = self->state;
  std::vector<node_state::upstream_join> again;
  for (auto it = st.join_queues.begin(); it != st.join_queues.end();) {
    const auto& home = it->first.first;
    const bool live = std::any_of(st.cluster.begin(), st.cluster.end(),
                                  [&](const cluster_node& n) { return n.node == home; });
    if (live) {
      ++it;
      continue;
    }
    for (auto& j : it->second.waiting)
      again.push_back(std::move(j));
    it = st.join_queues.erase(it);
  }
  for (auto& j : again)
    place_join(self, std::move(j.command), std::move(j.promise));
}

// ---- re-homing -----------------------------------------------------------------------------
constexpr auto rehome_park_limit = std::chrono::seconds(10);
constexpr auto rehome_check_interval = std::chrono::milliseconds(250);
constexpr auto rebalance_delay = std::chrono::seconds(2);

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
  if (auto it = st.copies.find(cmd.room_id);
      it != st.copies.end() && (cmd.room.room_id.empty() || it->second.version > cmd.room.version))
    cmd.room = it->second;
  if (auto home = placed_home(self, cmd.room_id, req.avoid)) {
    LOG_DEBUG("node", "room '" << cmd.room_id << "': peer '" << cmd.participant.peer_id
                               << "' rejoins at node " << node_text(home) << " (avoiding "
                               << req.avoid << ")");
    self->request(home, placement_timeout, get_room{cmd.room_id, false, req.avoid})
      .then([self, cmd](caf::actor& room) mutable { rejoin_at(self, room, std::move(cmd)); },
            [self, cmd](caf::error& err) { rehome_failed(self, cmd, to_string(err)); });
    return;
  }
  auto room = local_room(self, cmd.room_id);
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
      auto& st = self->state;
      auto rp = self->make_response_promise<protocol::class_reply>();
      st.class_batches[u.room].push_back({std::move(u.command), rp});
      if (!st.class_flush_scheduled) {
        st.class_flush_scheduled = true;
        self->delayed_send(self, class_batch_window, flush_class_batches_atom::value);
      }
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
      // A node whose view of the members differs (one joined or left just now) may ask
      // here for a room homed elsewhere: passed on once to the home this node sees.
      if (!self->state.rooms.count(q.room_id) && !q.forwarded)
        if (auto home = placed_home(self, q.room_id, q.avoid)) {
          auto rp = self->make_response_promise();
          rp.delegate(home, get_room{q.room_id, true, q.avoid});
          return rp;
        }
      if (self->state.leaving && !self->state.rooms.count(q.room_id))
        return make_error(protocol::error_code::internal, "this node is leaving the cluster");
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
      auto& st = self->state;
      bool grew = std::any_of(v.nodes.begin(), v.nodes.end(), [&](const cluster_node& n) {
        return std::none_of(st.cluster.begin(), st.cluster.end(),
                            [&](const cluster_node& m) { return m.node_id == n.node_id; });
      });
      st.self_id = std::move(v.self_id);
      st.cluster = std::move(v.nodes);
      check_parked(self);
      replace_joins(self);
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
    [self](room_snapshot& copy) {
      auto& copies = self->state.copies;
      auto it = copies.find(copy.room_id);
      if (copy.forget) {
        if (it != copies.end() && it->second.version <= copy.version)
          copies.erase(it);
        return;
      }
      if (it == copies.end())
        copies.emplace(copy.room_id, std::move(copy));
      else if (copy.version >= it->second.version)
        it->second = std::move(copy);
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

} // namespace

caf::actor spawn_node(caf::actor_system& sys, node_context_ptr ctx) {
  return sys.spawn(node_impl, std::move(ctx));
}

} // namespace chorus::actors
