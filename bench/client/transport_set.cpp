#include "bench/client/transport_set.hpp"

#include "bench/client/clock.hpp"

#include <algorithm>
#include <cerrno>

#include <poll.h>

namespace chorus::client {

transport_set::transport_set() = default;
transport_set::~transport_set() = default;

void transport_set::add(webrtc_client_transport& t) {
  if (std::find(members_.begin(), members_.end(), &t) == members_.end())
    members_.push_back(&t);
}

void transport_set::remove(webrtc_client_transport& t) noexcept {
  std::erase(members_, &t);
}

std::size_t transport_set::poll_once(uint64_t max_wait_ms) {
  uint64_t now = steady_now_ms();
  uint64_t wait = max_wait_ms;
  fds_.clear();
  polled_.clear();
  for (auto* t : members_) {
    if (t->finished())
      continue;
    if (auto d = t->next_deadline_ms())
      wait = std::min(wait, *d > now ? *d - now : 0);
    short events = POLLIN;
    if (t->wants_write())
      events |= POLLOUT;
    fds_.push_back({t->fd(), events, 0});
    polled_.push_back(t);
  }
  if (fds_.empty() && wait > 0) {
    // Nothing to watch: honour the wait so that callers' loops do not spin.
    ::poll(nullptr, 0, int(wait));
  } else {
    int n;
    do {
      n = ::poll(fds_.data(), fds_.size(), int(wait));
    } while (n < 0 && errno == EINTR);
    if (n < 0)
      fds_.clear();
  }

  now = steady_now_ms();
  std::size_t busy = 0;
  for (std::size_t i = 0; i < fds_.size(); ++i) {
    auto* t = polled_[i];
    const short re = fds_[i].revents;
    bool worked = false;
    if (re & POLLOUT) {
      t->on_writable();
      worked = true;
    }
    if (re & (POLLIN | POLLERR | POLLHUP)) {
      t->on_readable(now);
      worked = true;
    }
    if (auto d = t->next_deadline_ms(); d && *d <= now) {
      t->on_timer(now);
      worked = true;
    }
    busy += worked ? 1 : 0;
  }
  return busy;
}

} // namespace chorus::client
