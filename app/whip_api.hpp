// WHIP's HTTP side (RFC 9725), under /whip/ on the signaling port, and WHEP's under /whep/:
//   POST    /whip/ROOM            an SDP offer (application/sdp), Authorization: Bearer TOKEN
//                                 (the same tokens as the WebSocket's; auth.mode none: none,
//                                 or ?role=): 201 with the answer, Location and ETag
//   PATCH   /whip/ROOM/RESOURCE   application/trickle-ice-sdpfrag: new ICE credentials restart
//                                 ICE (200 with ours), candidates alone are taken as read (204)
//   DELETE  /whip/ROOM/RESOURCE   ends it
//   OPTIONS                       CORS preflight for the pages signaling.allowedOrigins allows
//   POST    /whep/ROOM            a player's offer (receive-only m-lines): 201 with the answer;
//                                 ?participant=ID (peer or user id) plays that participant,
//                                 ?producer=ID that producer only, else the room's oldest
//                                 producer of each m-line's kind; ?spatialLayer=N and
//                                 ?temporalLayer=N cap the layers of a simulcast or SVC video
//   PATCH, DELETE /whep/ROOM/RESOURCE   as for WHIP
// Bad input gets a 4xx naming what is wrong (400 SDP, 401/403 token, 404 resource, 413 body,
// 415 content type, 503 a bound on resources reached) and leaves nothing behind. The
// resources themselves: actors/whip.hpp.
#pragma once

#include "actors/context.hpp"
#include "actors/whip.hpp"
#include "net/http_server.hpp"

#include <caf/fwd.hpp>

#include <memory>
#include <string>
#include <vector>

namespace chorus::app {

inline constexpr std::string_view whip_prefix = "/whip/";
inline constexpr std::string_view whep_prefix = "/whep/";

struct whip_api_context {
  caf::actor_system* sys = nullptr;
  caf::actor node;
  actors::node_context_ptr ctx;
  std::shared_ptr<actors::whip_resources> resources;
  std::vector<std::string> allowed_origins;
};

// The deferred handler of requests under whip_prefix and whep_prefix
// (net::http_server::set_deferred_route).
void whip_request(const whip_api_context& api, const net::http_request_info& req,
                  actors::http_responder respond);

} // namespace chorus::app
