// GET /turn of the admin API (docs/admin-api.yaml): this node's TURN server as JSON, its
// URLs and its counters (the same as /metrics' chorus_turn_*).
#pragma once

#include "actors/settings.hpp"
#include "net/media_io.hpp"

#include <string>

namespace chorus::app {

// What the signaling port takes besides HTTP (docs/operations.md, "One port for networks
// that let nothing else out").
struct signaling_port_sharing {
  bool turn = false;          // TURN over plain TCP, and inside TLS where it speaks TLS
  bool turn_tls = false;      // ... inside TLS: sessions add a turns: URL
  uint16_t ice_tcp_port = 0;  // the ICE-TCP candidate's port (0: none)
};

// {"enabled", "port", "urls", "iceTransportPolicy", "signalingPort": {"turn", "turnTls",
//  "iceTcpPort"}, "allocations", "allocationsCreated", "allocationsEnded", "challenges",
//  "refusals": {...}, "relayed": {...}, "dropped": {...}}
std::string turn_status_json(const net::media_io& media, const actors::turn_settings& turn,
                             const signaling_port_sharing& sharing);

} // namespace chorus::app
