// The seed 004 frontend's meetings API over the node's HTTP server: POST /api/meetings,
// GET /api/meetings/ID, and their CORS preflights.
#pragma once

#include "actors/meetings.hpp"
#include "net/http_server.hpp"

#include <caf/actor.hpp>

#include <optional>
#include <string>
#include <vector>

namespace chorus::app {

// The answer to `req` when it is a meetings API request, for the pages whose origin is in
// `allowed` (the frontend is served from another origin than Chorus); nullopt: not such a
// request. A meeting created is recorded through `recorder` (may be null) and shared with
// the cluster's other nodes through `node` (the node actor).
std::optional<net::http_response> meetings_api(const net::http_request_info& req,
                                               actors::meeting_book& book,
                                               const std::vector<std::string>& allowed,
                                               const caf::actor& recorder,
                                               const caf::actor& node);

} // namespace chorus::app
