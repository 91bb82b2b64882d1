// A room's state for the room cores' tests: a node context with small limits and
// participants added by name.
#pragma once

#include "actors/room_state.hpp"
#include "protocol/permissions.hpp"

#include <memory>
#include <string>

namespace chorus::actors::rooms::testing {

inline uint16_t all_permissions() { return protocol::permission_set::all().bits(); }

inline uint16_t student_permissions() {
  auto s = protocol::permission_set::all();
  s.remove(protocol::permission::moderate);
  s.remove(protocol::permission::record);
  return s.bits();
}

inline std::shared_ptr<node_context> small_node(uint32_t max_peers = 3) {
  auto ctx = std::make_shared<node_context>();
  ctx->settings.node_id = "node-a";
  ctx->limits.max_peers_per_room = max_peers;
  return ctx;
}

inline room_state make_room(std::shared_ptr<node_context> ctx = small_node()) {
  room_state st;
  st.id = "class-1";
  st.ctx = std::move(ctx);
  st.opened_ms = 1'000;
  return st;
}

// The entry added, valid until the next add (the roster is a vector).
inline peer_entry& add(room_state& st, std::string id, std::string role = "student",
                       std::string subject = {}) {
  peer_entry e;
  e.id = id;
  e.name = "name of " + id;
  e.grant.subject = std::move(subject);
  e.grant.permissions = role == "student" ? student_permissions() : all_permissions();
  e.grant.role = std::move(role);
  e.joined_ms = 2'000;
  st.peers.push_back(std::move(e));
  return st.peers.back();
}

inline producer_info producer(std::string id, std::string peer, rtp::media_kind kind,
                              bool paused = false, bool screen = false) {
  producer_info p;
  p.producer_id = std::move(id);
  p.peer_id = std::move(peer);
  p.kind = kind;
  p.paused = paused;
  p.is_screen_share = screen;
  return p;
}

} // namespace chorus::actors::rooms::testing
