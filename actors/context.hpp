// Node-wide settings and counters shared by the actors of one process. Passed to actors
// when they are spawned (never inside messages).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace chorus::net {
class media_io;
class dtls_context;
} // namespace chorus::net

namespace chorus::actors {

struct transport_settings {
  std::string announced_address; // in ICE candidates
  uint64_t ice_consent_timeout_ms = 30000;
  uint64_t ice_disconnected_timeout_ms = 30000;
  uint64_t dtls_handshake_timeout_ms = 30000;
  uint32_t max_transports_per_peer = 4;
};

struct node_settings {
  uint32_t max_rooms = 1000;
  uint32_t max_peers_per_room = 500;
  uint32_t max_requests_in_flight = 32;
  std::chrono::milliseconds request_timeout{10000};
};

// Read by /healthz from the I/O thread; written by actors.
struct node_counters {
  std::atomic<int64_t> rooms{0};
  std::atomic<int64_t> peers{0};
  std::atomic<int64_t> sessions{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> request_errors{0};
  std::atomic<int64_t> transports{0};
};

struct node_context {
  node_settings settings;
  transport_settings transport;
  std::shared_ptr<net::media_io> media_io;                // media sockets
  std::shared_ptr<const net::dtls_context> dtls_context;  // the node's certificate
  std::string router_capabilities_json; // rendered once at start
  std::shared_ptr<node_counters> counters = std::make_shared<node_counters>();
};

using node_context_ptr = std::shared_ptr<const node_context>;

} // namespace chorus::actors
