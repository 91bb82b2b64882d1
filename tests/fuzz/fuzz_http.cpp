// libFuzzer: the HTTP request path as any client on the network reaches it: the input is
// written as it is to the real edge (tests/fuzz/edge_harness.hpp) over one TCP connection:
// Beast's request parser behind Chorus's limits (16 KiB of header, the body limit, keep-alive
// requests one after the other), the routes, the Origin and per-address admission of
// WebSocket and Engine.IO requests, Engine.IO's polling handshake, polls and posts, and
// WebSocket upgrades with whatever follows them.
#include "edge_harness.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& edge = chorus::fuzz::edge_harness::instance();
  edge.exchange({reinterpret_cast<const char*>(data), size});
  return 0;
}
