// The session actor: one per signaling connection. It decodes frames with its dialect
// into typed requests, answers what it can itself (router capabilities), sends the rest
// to its room or peer actor, and encodes replies and events back. It never parses JSON
// itself and holds no room state.
//
// Messages: ws_text, ws_binary, ws_closed (from the WebSocket edge); replaced_atom and
// peer_lost_atom (from the room); protocol events (participant_list_update_event, ...).
#pragma once

#include "actors/auth.hpp"
#include "actors/context.hpp"

#include <caf/fwd.hpp>

#include <memory>
#include <optional>
#include <string>

namespace chorus::net {
class ws_connection;
}
namespace chorus::protocol {
class dialect;
}

namespace chorus::actors {

struct session_params {
  std::string peer_id;
  std::string name;
  std::string room_id; // joined at start when not empty (channelId)
  // The room the connection's handshake names (a Socket.IO handshake's roomId or
  // channelId), joined implicitly on the first request that needs a room; empty: the
  // configured default room. See join rules in docs/protocol.md.
  std::string connection_room;
  // Admission: a plain WebSocket is admitted by the gateway before the upgrade (`ticket`
  // set); an Engine.IO session at its Socket.IO CONNECT, with the CONNECT's auth.token or
  // else this handshake-query `token`, and `role` (mode none) likewise.
  std::optional<admission_ticket> ticket;
  std::string token;
  std::string role;
  std::string host; // the connection's Host header (the turns: URL names it)
};

caf::actor spawn_session(caf::actor_system& sys, caf::actor node, node_context_ptr ctx,
                         std::shared_ptr<net::ws_connection> conn,
                         std::shared_ptr<protocol::dialect> dialect, session_params params);

} // namespace chorus::actors
