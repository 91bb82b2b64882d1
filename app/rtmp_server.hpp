// RTMP ingest (docs/protocol.md, "RTMP ingest"): encoders that speak only RTMP publish
// into a room with rtmp://HOST:PORT/APP/KEY, the stream key a token (the same JWTs as
// every client's; with auth.mode none, any key). APP names the room; "live", what encoders
// are set up with by default, stands for the token's only room (when it names exactly one).
// On its own address (rtmp.listen) and its own I/O thread:
// each connection speaks RTMP (protocol/rtmp_publish.hpp), admits the key at the publish,
// and hands the room's side to an ingest actor (actors/rtmp_ingest.hpp), to whose FFmpeg
// child it then writes the stream as FLV, reading from the encoder only as fast as FFmpeg
// takes it.
// Bounds: connections in all and per address; a publish accepted within publish_within
// of the connection, the stream's first tags known within the probe window; nothing read
// for idle_timeout ends the connection; what is held before FFmpeg runs is bounded.
#pragma once

#include "actors/context.hpp"

#include <caf/fwd.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace chorus::app {

struct rtmp_server_options {
  std::string host = "127.0.0.1";
  uint16_t port = 1935;
  std::size_t max_connections = 64;
  std::size_t max_per_address = 8;
  std::chrono::milliseconds publish_within{10000};
  std::chrono::milliseconds idle_timeout{30000};
  std::size_t max_held_bytes = 8u << 20;   // the stream held before FFmpeg runs
  std::size_t max_queued_bytes = 4u << 20; // written to FFmpeg and not yet taken: reading pauses
};

class rtmp_server {
public:
  rtmp_server(caf::actor_system& sys, caf::actor node, actors::node_context_ptr ctx,
              rtmp_server_options opts);
  ~rtmp_server(); // stops
  rtmp_server(const rtmp_server&) = delete;
  rtmp_server& operator=(const rtmp_server&) = delete;

  // Binds and starts serving on its own thread; returns the bound port (throws on failure).
  uint16_t start();
  // Closes every connection (their ingests end) and ends the thread (idempotent).
  void stop();

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace chorus::app
