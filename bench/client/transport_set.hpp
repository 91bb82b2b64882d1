// Drives many client transports from one thread: one epoll set over their sockets, waits
// bounded by the earliest engine deadline among them, then their I/O and timers. The load
// generator runs hundreds of transports this way; the probe runs one.
//
// Sockets are registered once (epoll, level-triggered), so a wait costs O(ready sockets),
// not O(members). What epoll cannot see is reconciled by a scan of every member at most
// every scan_interval_ms (and whenever the earliest known deadline has come): due timers
// run, finished members leave the epoll set, a socket replaced by an ICE restart is
// registered anew, and TCP sockets with queued bytes get write interest. Timers therefore
// run within scan_interval_ms of their deadline.
// Members are not owned; remove one before destroying it. Not thread-safe.
#pragma once

#include "bench/client/webrtc_client_transport.hpp"

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

struct epoll_event;

namespace chorus::client {

class transport_set {
public:
  static constexpr uint64_t scan_interval_ms = 5;

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
  struct member {
    webrtc_client_transport* t = nullptr;
    uint64_t key = 0;       // epoll data: stale events of removed members match nothing
    int fd = -1;            // registered fd, -1 when not registered
    bool want_out = false;  // EPOLLOUT registered
  };

  member* find(uint64_t key) noexcept;
  void sync(member& m) noexcept; // registration follows the transport's fd / state
  void unregister(member& m) noexcept;
  std::size_t scan(uint64_t now_ms);

  int epfd_ = -1;
  uint64_t next_key_ = 1;
  std::vector<member> members_;
  std::unordered_map<uint64_t, std::size_t> index_; // key -> position in members_
  std::vector<::epoll_event> events_;
  uint64_t next_scan_ms_ = 0;     // the scan is due at this time (0: at once)
};

} // namespace chorus::client
