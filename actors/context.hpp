// Node-wide settings and counters shared by the actors of one process. Passed to actors
// when they are spawned (never inside messages).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace chorus::actors {

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
};

struct node_context {
  node_settings settings;
  std::string router_capabilities_json; // rendered once at start
  std::shared_ptr<node_counters> counters = std::make_shared<node_counters>();
};

using node_context_ptr = std::shared_ptr<const node_context>;

} // namespace chorus::actors
