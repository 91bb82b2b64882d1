#include "bench/client/transport_set.hpp"

#include "bench/client/clock.hpp"

#include <algorithm>
#include <cerrno>
#include <limits>

#include <sys/epoll.h>
#include <unistd.h>

namespace chorus::client {

namespace {
constexpr std::size_t max_events = 256;
constexpr uint64_t never = std::numeric_limits<uint64_t>::max();
} // namespace

transport_set::transport_set()
    : epfd_(::epoll_create1(EPOLL_CLOEXEC)), events_(max_events) {}

transport_set::~transport_set() {
  if (epfd_ >= 0)
    ::close(epfd_);
}

transport_set::member* transport_set::find(uint64_t key) noexcept {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &members_[it->second];
}

void transport_set::unregister(member& m) noexcept {
  if (m.fd >= 0)
    ::epoll_ctl(epfd_, EPOLL_CTL_DEL, m.fd, nullptr); // fails harmlessly if already gone
  m.fd = -1;
  m.want_out = false;
}

void transport_set::sync(member& m) noexcept {
  auto& t = *m.t;
  if (t.finished()) {
    // The socket is shut down but still open (it closes when the transport is destroyed):
    // level-triggered, it would be ready forever.
    unregister(m);
    return;
  }
  const int fd = t.fd();
  const bool out = t.wants_write();
  if (fd != m.fd) {
    // New (or replaced by an ICE restart: the old fd is already closed, which removed it
    // from the epoll set).
    m.fd = -1;
    if (fd < 0)
      return;
    epoll_event ev{};
    ev.events = EPOLLIN | (out ? EPOLLOUT : 0u);
    ev.data.u64 = m.key;
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST)
      ::epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
    m.fd = fd;
    m.want_out = out;
  } else if (out != m.want_out && fd >= 0) {
    epoll_event ev{};
    ev.events = EPOLLIN | (out ? EPOLLOUT : 0u);
    ev.data.u64 = m.key;
    ::epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
    m.want_out = out;
  }
}

void transport_set::add(webrtc_client_transport& t) {
  for (auto& m : members_)
    if (m.t == &t)
      return;
  member m;
  m.t = &t;
  m.key = next_key_++;
  index_[m.key] = members_.size();
  members_.push_back(m);
  sync(members_.back());
  next_scan_ms_ = 0; // its timers (the first ICE check) count from now
}

void transport_set::remove(webrtc_client_transport& t) noexcept {
  auto it = std::find_if(members_.begin(), members_.end(), [&](const member& m) { return m.t == &t; });
  if (it == members_.end())
    return;
  // While the transport lives its socket is open, so its fd is still ours to deregister.
  if (it->fd >= 0 && it->fd == t.fd())
    ::epoll_ctl(epfd_, EPOLL_CTL_DEL, it->fd, nullptr);
  index_.erase(it->key);
  members_.erase(it);
  for (std::size_t i = 0; i < members_.size(); ++i)
    index_[members_[i].key] = i;
}

// Every member: due timers, registration; returns how many ran a timer. Sets the next scan.
std::size_t transport_set::scan(uint64_t now_ms) {
  std::size_t busy = 0;
  uint64_t earliest = never;
  // A member's timer may remove members (through the owner's callbacks): index by position
  // and re-check the size.
  for (std::size_t i = 0; i < members_.size(); ++i) {
    auto* t = members_[i].t;
    if (!t->finished())
      if (auto d = t->next_deadline_ms(); d && *d <= now_ms) {
        t->on_timer(now_ms);
        ++busy;
      }
    if (i >= members_.size() || members_[i].t != t)
      continue;
    sync(members_[i]);
    if (!t->finished())
      if (auto d = t->next_deadline_ms())
        earliest = std::min(earliest, *d);
  }
  next_scan_ms_ = std::min(earliest, now_ms + scan_interval_ms);
  return busy;
}

std::size_t transport_set::poll_once(uint64_t max_wait_ms) {
  uint64_t now = steady_now_ms();
  std::size_t busy = 0;
  if (now >= next_scan_ms_)
    busy += scan(now);
  const uint64_t until_scan = next_scan_ms_ > now ? next_scan_ms_ - now : 0;
  const int wait = int(std::min<uint64_t>({max_wait_ms, until_scan, 1u << 30}));
  int n;
  do {
    n = ::epoll_wait(epfd_, events_.data(), int(events_.size()), wait);
  } while (n < 0 && errno == EINTR);
  if (n <= 0)
    return busy;

  now = steady_now_ms();
  for (int i = 0; i < n; ++i) {
    member* m = find(events_[i].data.u64);
    if (!m)
      continue; // removed by an earlier handler of this batch
    auto* t = m->t;
    const uint64_t key = m->key;
    if (t->finished()) {
      unregister(*m);
      continue;
    }
    const uint32_t re = events_[i].events;
    if (re & EPOLLOUT)
      t->on_writable();
    if (re & (EPOLLIN | EPOLLERR | EPOLLHUP))
      t->on_readable(now);
    ++busy;
    // Handlers may have removed members (and so moved them): look it up again.
    if (member* again = find(key))
      sync(*again);
  }
  return busy;
}

} // namespace chorus::client
