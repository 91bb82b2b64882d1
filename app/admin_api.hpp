// The admin API (docs/admin-api.yaml): JSON over HTTP on its own address
// (admin.listen), every request with "Authorization: Bearer TOKEN" (admin.tokenFile).
//   GET    /rooms                               rooms homed on this node
//   GET    /rooms/{id}                          participants with their transports,
//                                               producers and consumers and their stats
//   DELETE /rooms/{id}                          everyone is told and disconnected
//   POST   /rooms/{id}/peers/{peerId}/kick      the peer is told (kicked) and disconnected
//   POST   /drain                               the node drains (see actors/operations.hpp)
//   GET    /turn                                this node's TURN server (app/turn_status.hpp)
// Errors: {"error": CODE, "message": TEXT} with 400, 401, 404, 405, 409, 503, 504.
// It runs its own I/O thread; each request asks the actors and waits (bounded) for them,
// never on the signaling edge's thread.
#pragma once

#include <caf/fwd.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace chorus::net {
struct http_request_info;
struct http_response;
} // namespace chorus::net

namespace chorus::app {

struct admin_options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string token; // the bearer token (at least 16 bytes)
  // GET /turn's JSON (app/turn_status.hpp); empty: {"enabled":false}.
  std::function<std::string()> turn_view;
};

// What POST /drain does: starts the drain with this timeout (0: stop at once;
// actors::drain_until_rooms_end: no deadline), or shortens a running drain to it.
using drain_starter = std::function<void(uint64_t timeout_ms)>;

class admin_api {
public:
  admin_api(caf::actor_system& sys, const caf::actor& node, admin_options opts,
            drain_starter start_drain, uint64_t drain_timeout_ms);
  // drain_timeout_ms: drain.timeoutMs, the wait of a POST /drain that names none (0: until
  // the rooms end; a drain stops at once only when asked to by "timeoutMs": 0).
  ~admin_api(); // stops
  admin_api(const admin_api&) = delete;
  admin_api& operator=(const admin_api&) = delete;

  // Binds and starts serving on its own thread; returns the bound port (throws on failure).
  uint16_t start();
  // Stops accepting and ends the thread (idempotent).
  void stop();

  // One request (exposed for tests): routing, token check, the actors' answers.
  net::http_response handle(const net::http_request_info& req);

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace chorus::app
