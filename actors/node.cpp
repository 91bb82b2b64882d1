#include "actors/node.hpp"

#include "actors/messages.hpp"
#include "actors/room.hpp"
#include "common/log.hpp"

#include <caf/all.hpp>

#include <unordered_map>

namespace chorus::actors {

namespace {

struct node_state {
  node_context_ptr ctx;
  std::unordered_map<std::string, caf::actor> rooms;
  static inline const char* name = "chorus.node";
};

using node_actor = caf::stateful_actor<node_state>;

void forget_room(node_actor* self, const std::string& room_id, const caf::actor& room) {
  auto it = self->state.rooms.find(room_id);
  if (it != self->state.rooms.end() && it->second == room) {
    self->state.rooms.erase(it);
    self->state.ctx->counters->rooms.fetch_sub(1);
    LOG_DEBUG("node", "room '" << room_id << "' closed");
  }
}

caf::behavior node_impl(node_actor* self, node_context_ptr ctx) {
  self->state.ctx = ctx;
  self->set_down_handler([self](caf::down_msg& dm) {
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
    for (auto& [id, room] : self->state.rooms)
      self->send_exit(room, em.reason);
    self->quit(em.reason);
  });
  return {
    [self](join_command& cmd) -> caf::result<join_result> {
      auto& st = self->state;
      auto it = st.rooms.find(cmd.room_id);
      if (it == st.rooms.end()) {
        if (st.rooms.size() >= st.ctx->settings.max_rooms)
          return make_error(protocol::error_code::limit_exceeded,
                            "this server has reached its limit of " +
                              std::to_string(st.ctx->settings.max_rooms) + " rooms");
        auto room = spawn_room(self->system(), caf::actor_cast<caf::actor>(self), cmd.room_id,
                               st.ctx);
        self->monitor(room);
        it = st.rooms.emplace(cmd.room_id, room).first;
        st.ctx->counters->rooms.fetch_add(1);
        LOG_DEBUG("node", "room '" << cmd.room_id << "' created");
      }
      auto rp = self->make_response_promise();
      rp.delegate(it->second, std::move(cmd));
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
