#include "actors/node_actor.hpp"

#include "actors/peer.hpp"
#include "actors/room.hpp"
#include "actors/wire_check.hpp"
#include "common/log.hpp"
#include "net/cluster.hpp"

#include <algorithm>
#include <memory>

namespace chorus::actors::nodes {

namespace {

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

} // namespace

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

caf::error draining_error() {
  return make_error(protocol::error_code::draining,
                    "this server is draining (shutting down): it takes no new rooms or "
                    "participants; connect to another server");
}

caf::expected<caf::actor> local_room(node_actor* self, const std::string& room_id,
                                     const std::string& lost) {
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
    // This node held the room's replica and its home is gone: the room starts from it. The
    // home a rejoin avoids is gone, whatever this node's view says yet: another node saw
    // it lost first and placed the room here.
    auto live = [&st, &lost](const std::string& home) { return home != lost && is_live(st, home); };
    if (auto copy = st.copies.take(room_id, live)) {
      LOG_INFO("node", "room '" << room_id << "' is made here from the copy of its lost home");
      self->send(room, std::move(*copy));
    }
    count_copies(st);
    st.ctx->counters->rooms.fetch_add(1);
    LOG_DEBUG("node", "room '" << room_id << "' created");
  }
  return it->second;
}

std::string node_text(const caf::actor& a) {
  return a ? to_string(a.node()) : std::string{};
}

caf::actor placed_home(node_actor* self, const std::string& room_id, const std::string& avoid) {
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

namespace {

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

} // namespace

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

namespace {

bool is_member(const node_state& st, const caf::actor& node) {
  return std::any_of(st.cluster.begin(), st.cluster.end(),
                     [&](const cluster_node& n) { return n.node == node; });
}

} // namespace

void answer_lookup(node_actor* self, get_room q, caf::typed_response_promise<caf::actor> rp) {
  auto& st = self->state;
  // A node whose view of the members differs (one joined or left just now) may ask here
  // for a room homed elsewhere: passed on once to the home this node sees. Kept until
  // answered: if that home leaves the live set first, the asker saw the newer view, and the
  // look-up is answered again here (replace_after_loss) rather than waiting out a hung home.
  if (!st.rooms.count(q.room_id) && !q.forwarded)
    if (auto home = placed_home(self, q.room_id, q.avoid)) {
      const auto id = ++st.lookups_forwarded;
      st.forwarded_lookups.emplace(id, node_state::forwarded_lookup{home, q, rp});
      auto settle = [self, id](auto&& answer) {
        auto it = self->state.forwarded_lookups.find(id);
        if (it == self->state.forwarded_lookups.end())
          return; // answered again here meanwhile
        auto promise = std::move(it->second.promise);
        self->state.forwarded_lookups.erase(it);
        promise.deliver(std::forward<decltype(answer)>(answer));
      };
      self->request(home, placement_timeout, get_room{q.room_id, true, q.avoid})
        .then([settle](caf::actor& room) { settle(std::move(room)); },
              [self, settle](caf::error& err) { settle(writable(self->system(), err)); });
      return;
    }
  if (st.leaving && !st.rooms.count(q.room_id)) {
    rp.deliver(make_error(protocol::error_code::internal, "this node is leaving the cluster"));
    return;
  }
  auto room = local_room(self, q.room_id, q.avoid);
  if (!room)
    rp.deliver(room.error());
  else
    rp.deliver(*room);
}

// Joins still waiting for a home that left the live set are placed again (the batch under
// way to it ends with its own answer or timeout); look-ups passed on to it are answered
// again.
void replace_after_loss(node_actor* self) {
  auto& st = self->state;
  std::vector<node_state::upstream_join> again;
  for (auto it = st.join_queues.begin(); it != st.join_queues.end();) {
    if (is_member(st, it->first.first)) {
      ++it;
      continue;
    }
    for (auto& j : it->second.waiting)
      again.push_back(std::move(j));
    it = st.join_queues.erase(it);
  }
  std::vector<node_state::forwarded_lookup> lookups;
  for (auto it = st.forwarded_lookups.begin(); it != st.forwarded_lookups.end();) {
    if (is_member(st, it->second.home)) {
      ++it;
      continue;
    }
    lookups.push_back(std::move(it->second));
    it = st.forwarded_lookups.erase(it);
  }
  for (auto& j : again)
    place_join(self, std::move(j.command), std::move(j.promise));
  for (auto& l : lookups)
    answer_lookup(self, std::move(l.query), std::move(l.promise));
}

void gather_class_request(node_actor* self, class_upstream& u,
                          caf::typed_response_promise<protocol::class_reply> rp) {
  auto& st = self->state;
  st.class_batches[u.room].push_back({std::move(u.command), std::move(rp)});
  if (!st.class_flush_scheduled) {
    st.class_flush_scheduled = true;
    self->delayed_send(self, class_batch_window, flush_class_batches_atom::value);
  }
}

} // namespace chorus::actors::nodes
