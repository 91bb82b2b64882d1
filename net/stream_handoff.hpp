// Connections the signaling edge takes on its port but does not serve itself: ICE-TCP and
// TURN (plain or inside TLS), told apart by their first bytes (net/connection_kind.hpp).
// The edge hands them to whoever implements this (the media I/O), so that port 443 reaches
// media for clients behind firewalls that let nothing else out.
#pragma once

#include "net/stun.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace chorus::net {

// Where a handed-over TLS stream's answers go: the edge's side of the connection. Both
// calls from any thread; write() takes one whole frame (STUN or ChannelData) and drops it
// when the connection's send queue is full.
class stream_sink {
public:
  virtual ~stream_sink() = default;
  virtual void write(std::span<const uint8_t> frame) = 0;
  virtual void close() = 0;
};

// The handed-over stream's input, fed by the edge as it decrypts: bytes in order, then
// closed() once. Any thread, one call at a time.
class stream_input {
public:
  virtual ~stream_input() = default;
  virtual void receive(std::vector<uint8_t> bytes) = 0;
  virtual void closed() = 0;
  // Bytes received and not yet taken by the other side: the edge stops a client that runs
  // far ahead of it.
  virtual std::size_t backlog() const = 0;
};

class stream_handoff {
public:
  virtual ~stream_handoff() = default;
  // What it takes: ICE-TCP connections; TURN connections.
  virtual bool takes_ice_tcp() const = 0;
  virtual bool takes_turn() const = 0;
  // A plain connection: `fd` (nonblocking, now the callee's to close) and the bytes the
  // edge already read from it.
  virtual void adopt_ice_tcp(int fd, const transport_address& remote,
                             std::vector<uint8_t> head) = 0;
  virtual void adopt_turn_tcp(int fd, const transport_address& remote,
                              std::vector<uint8_t> head) = 0;
  // A TLS connection the edge keeps decrypting: its input, or null when refused (full).
  virtual std::shared_ptr<stream_input> open_turn_stream(const transport_address& remote,
                                                         std::shared_ptr<stream_sink> out) = 0;
};

} // namespace chorus::net
