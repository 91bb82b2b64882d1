// libFuzzer: WebSocket frames (RFC 6455) as a client sends them after a valid upgrade, to
// the real edge (tests/fuzz/edge_harness.hpp): Beast's frame parser behind Chorus's read
// limit (signaling.maxMessageBytes), masking, fragmentation, control frames, the closing
// handshake, and each text message through the signaling dialect behind it. The first
// input byte picks the endpoint: even, the plain JSON WebSocket (/socket); odd, Engine.IO's
// WebSocket transport (/socket.io/), whose messages are Engine.IO and Socket.IO packets.
#include "edge_harness.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  const bool engineio = data[0] & 1;
  std::string bytes = engineio ? "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                               : "GET /socket?auth=fuzz&channelId=room HTTP/1.1\r\n";
  bytes += "Host: 127.0.0.1\r\n"
           "Upgrade: websocket\r\n"
           "Connection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\n"
           "\r\n";
  bytes.append(reinterpret_cast<const char*>(data + 1), size - 1);
  auto& edge = chorus::fuzz::edge_harness::instance();
  edge.exchange(bytes);
  return 0;
}
