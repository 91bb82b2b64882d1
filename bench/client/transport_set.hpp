// Drives many client transports from one thread: one poll() over their sockets, bounded
// by the earliest engine deadline among them, then their I/O and timers. The load
// generator runs hundreds of transports this way; the probe runs one.
// Members are not owned; remove one before destroying it. Not thread-safe.
#pragma once

#include "bench/client/webrtc_client_transport.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

struct pollfd;

namespace chorus::client {

class transport_set {
public:
  transport_set();
  ~transport_set();
  transport_set(const transport_set&) = delete;
  transport_set& operator=(const transport_set&) = delete;

  void add(webrtc_client_transport& t);
  void remove(webrtc_client_transport& t) noexcept;
  std::size_t size() const noexcept { return members_.size(); }

  // Waits at most `max_wait_ms` (less when a member's deadline is sooner) for a socket to
  // become ready, then services ready sockets and runs due timers. Returns the number of
  // members that had something to do. Finished members are skipped.
  std::size_t poll_once(uint64_t max_wait_ms);

private:
  std::vector<webrtc_client_transport*> members_;
  std::vector<::pollfd> fds_;
  std::vector<webrtc_client_transport*> polled_; // members_ of fds_, in order
};

} // namespace chorus::client
