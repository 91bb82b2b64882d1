// How the room's messages reach its participants' sessions. A message for one session goes
// to it directly. A message for everyone goes directly to the sessions on this node and to
// each other node once (session_fanout to its node actor, which passes it on as from the
// room), instead of once per session there. A session on another node therefore gets the
// room's broadcasts in order among themselves and its single messages in order among
// themselves; a single message may overtake a broadcast sent just before it (benign for
// what the room sends: a list, a count, an event of the class; the room's end and the
// closes that follow it are both broadcasts, room_moderation.cpp).
#include "actors/room_actor.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

namespace chorus::actors::rooms {

void deliver_to_everyone(room_actor* self, const caf::message& msg, std::string_view except) {
  // The other nodes' sessions, by node (a handful of nodes at most).
  struct node_batch {
    caf::actor node;
    std::vector<caf::actor> sessions;
  };
  std::vector<node_batch> remote;
  for (auto& p : self->state.peers) {
    if (!except.empty() && p.id == except)
      continue;
    if (!p.edge_node) {
      self->send(p.session, msg);
      continue;
    }
    auto it = std::find_if(remote.begin(), remote.end(),
                           [&](const node_batch& b) { return b.node == p.edge_node; });
    if (it == remote.end())
      it = remote.insert(remote.end(), node_batch{p.edge_node, {}});
    it->sessions.push_back(p.session);
  }
  const auto me = caf::actor_cast<caf::actor>(self);
  for (auto& b : remote)
    self->send(b.node, session_fanout{me, std::move(b.sessions), msg});
}

} // namespace chorus::actors::rooms
