// GET /turn of the admin API (docs/admin-api.yaml): this node's TURN server as JSON, its
// URLs and its counters (the same as /metrics' chorus_turn_*).
#pragma once

#include "actors/settings.hpp"
#include "net/media_io.hpp"

#include <string>

namespace chorus::app {

// {"enabled", "port", "urls", "iceTransportPolicy", "allocations", "allocationsCreated",
//  "allocationsEnded", "challenges", "refusals": {...}, "relayed": {...}, "dropped": {...}}
std::string turn_status_json(const net::media_io& media, const actors::turn_settings& turn);

} // namespace chorus::app
