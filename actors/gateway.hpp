// The gateway between the WebSocket edge (net/http_server) and the actors: it accepts
// `/socket?auth=…&channelId=…&name=…` upgrades, spawns a session actor per connection,
// and forwards frames to it as ws_text / ws_binary / ws_closed messages.
#pragma once

#include "actors/context.hpp"
#include "net/http_server.hpp"

#include <caf/fwd.hpp>

namespace chorus::actors {

// WebSocket close code for a connection refused because of its query string.
inline constexpr uint16_t close_bad_query = 4002;

// Returns the acceptor to pass to net::http_server.
net::http_server::ws_acceptor make_ws_gateway(caf::actor_system& sys, caf::actor node,
                                              node_context_ptr ctx);

// The checks applied to auth, channelId and name: 1 to 128 bytes, no control characters.
bool valid_identifier(const std::string& s);

} // namespace chorus::actors
