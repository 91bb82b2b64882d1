// The gateway between the WebSocket edge (net/http_server) and the actors: it accepts
// `/socket?auth=…&channelId=…&name=…` upgrades, spawns a session actor per connection,
// and forwards frames to it as ws_text / ws_binary / ws_closed messages. Engine.IO
// sessions (/socket.io/) get a session actor the same way, with a caller-chosen dialect.
#pragma once

#include "actors/context.hpp"
#include "net/http_server.hpp"

#include <caf/fwd.hpp>

#include <functional>
#include <memory>
#include <string>

namespace chorus::protocol {
class dialect;
}

namespace chorus::actors {

// WebSocket close code for a connection refused because of its query string.
inline constexpr uint16_t close_bad_query = 4002;

// Returns the acceptor to pass to net::http_server.
net::http_server::ws_acceptor make_ws_gateway(caf::actor_system& sys, caf::actor node,
                                              node_context_ptr ctx);

// Makes the dialect of one Engine.IO session (`sid`: its Engine.IO session id).
using engineio_dialect_factory =
  std::function<std::unique_ptr<protocol::dialect>(const std::string& sid)>;

// Returns the Engine.IO acceptor to pass to net::http_server::set_engineio_acceptor. Each
// Engine.IO session gets a session actor whose peer id is the sid, speaking
// `make_dialect(sid)`, with no room joined at connect: it joins with join-mediasoup-room,
// or implicitly with its first request that needs a room (into the room its handshake
// query's roomId/channelId or CONNECT auth names, else the default room).
net::http_server::engineio_acceptor make_engineio_gateway(caf::actor_system& sys,
                                                          caf::actor node,
                                                          node_context_ptr ctx,
                                                          engineio_dialect_factory make_dialect);

// The checks applied to auth, channelId and name: 1 to 128 bytes, no control characters.
bool valid_identifier(const std::string& s);

} // namespace chorus::actors
