#include "net/send_outbox.hpp"

#include "net/media_io_core.hpp"
#include "net/media_io_socket.hpp"
#include "net/udp_uring.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <shared_mutex>

#include <sys/uio.h>

namespace chorus::net {

namespace {

thread_local std::unique_ptr<send_outbox> t_outbox;

struct process_counters {
  std::atomic<uint64_t> flushes{0}, datagrams{0}, failed{0}, ring_flushes{0};
};
process_counters g_process;

} // namespace

send_outbox::send_outbox(bool use_uring)
    : entries_(capacity), arena_(capacity * slot_bytes),
      ring_(use_uring ? udp_uring::open(unsigned(capacity)) : nullptr) {}

bool send_outbox::mixes_sockets() const noexcept { return ring_ && !ring_->broken(); }

send_outbox::~send_outbox() = default;

bool send_outbox::add(const std::shared_ptr<detail::endpoint_state>& ep,
                      const sockaddr_storage& to, socklen_t to_len,
                      std::span<const uint8_t> bytes, int64_t now_ns) {
  if (bytes.size() > slot_bytes || bytes.empty() || !ep)
    return false;
  if (count_ == capacity)
    flush();
  if (count_ == 0)
    oldest_ns_ = now_ns;
  else if (ep->udp_fd != entries_[0].ep->udp_fd)
    mixed_ = true;
  auto& e = entries_[count_];
  e.ep = ep;
  e.to = to;
  e.to_len = to_len;
  e.size = uint16_t(bytes.size());
  std::memcpy(arena_.data() + count_ * slot_bytes, bytes.data(), bytes.size());
  ++count_;
  return true;
}

void send_outbox::flush() {
  if (mixed_ && mixes_sockets()) {
    flush_ring();
    return;
  }
  mmsghdr msgs[capacity];
  iovec iovs[capacity];
  std::size_t index[capacity];
  std::size_t i = 0;
  while (i < count_) {
    // A run of datagrams on one socket (with single-port mode, usually all of them).
    // The socket is the I/O core's shared one, closed only after every open endpoint has
    // been marked closed under its send lock: holding the send lock of one endpoint still
    // open keeps the socket open through the sendmmsg.
    const int fd = entries_[i].ep->udp_fd;
    std::shared_lock<std::shared_mutex> anchor;
    std::size_t n = 0;
    std::size_t j = i;
    for (; j < count_ && entries_[j].ep->udp_fd == fd; ++j) {
      auto& e = entries_[j];
      if (!anchor.owns_lock()) {
        std::shared_lock<std::shared_mutex> lock(e.ep->send_mutex);
        if (!e.ep->closed.load(std::memory_order_relaxed))
          anchor = std::move(lock);
      }
      if (!anchor.owns_lock() || e.ep->closed.load(std::memory_order_acquire))
        continue; // closed since: its datagrams go nowhere
      msgs[n] = mmsghdr{};
      describe(j, msgs[n].msg_hdr, iovs[n]);
      index[n] = j;
      ++n;
    }
    std::size_t k = 0;
    while (k < n) {
      const int r = ::sendmmsg(fd, msgs + k, unsigned(n - k), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (r > 0) {
        ++totals_.flushes;
        count_results(index + k, std::size_t(r), nullptr);
        k += std::size_t(r);
        continue;
      }
      if (r < 0 && errno == EINTR)
        continue;
      if (r == 0 || sock::is_transient(errno)) { // the socket's buffer is full: the rest is dropped
        for (std::size_t m = k; m < n; ++m)
          entries_[index[m]].ep->tx_errors.add();
        totals_.failed += n - k;
        break;
      }
      entries_[index[k]].ep->tx_errors.add(); // this datagram is refused: skip it
      ++totals_.failed;
      ++k;
    }
    i = j;
  }
  clear();
}

// Datagrams on several sockets (port mode): one sendmsg operation each, all in one
// io_uring submission. Every endpoint's socket is its own and closed with it, so each
// endpoint's send lock is held (shared) through the submission, which has completed every
// send when it returns.
void send_outbox::flush_ring() {
  msghdr hdrs[capacity];
  iovec iovs[capacity];
  udp_uring::op ops[capacity];
  int results[capacity];
  std::size_t index[capacity];
  std::shared_lock<std::shared_mutex> locks[capacity];
  const detail::endpoint_state* locked[capacity]; // the endpoints whose lock is held
  bool open[capacity];                            // ... and whether each was still open
  std::size_t nlocked = 0, n = 0;
  for (std::size_t j = 0; j < count_; ++j) {
    auto& e = entries_[j];
    std::size_t k = 0;
    while (k < nlocked && locked[k] != e.ep.get())
      ++k;
    if (k == nlocked) {
      locks[k] = std::shared_lock<std::shared_mutex>(e.ep->send_mutex);
      locked[k] = e.ep.get();
      open[k] = !e.ep->closed.load(std::memory_order_acquire);
      ++nlocked;
    }
    if (!open[k])
      continue; // closed since: its datagrams go nowhere
    hdrs[n] = msghdr{};
    describe(j, hdrs[n], iovs[n]);
    ops[n] = {e.ep->udp_fd, &hdrs[n]};
    index[n] = j;
    ++n;
  }
  if (n != 0) {
    ring_->send(std::span<const udp_uring::op>(ops, n), results);
    ++totals_.flushes;
    ++totals_.ring_flushes;
    count_results(index, n, results);
  }
  // Before clear() lets go of the endpoints (and so perhaps of their mutexes).
  for (std::size_t k = 0; k < nlocked; ++k)
    locks[k].unlock();
  clear();
}

// Slot j's datagram as one message (its bytes in the arena, its destination).
void send_outbox::describe(std::size_t j, msghdr& hdr, iovec& iov) noexcept {
  auto& e = entries_[j];
  iov.iov_base = arena_.data() + j * slot_bytes;
  iov.iov_len = e.size;
  hdr.msg_name = &e.to;
  hdr.msg_namelen = e.to_len;
  hdr.msg_iov = &iov;
  hdr.msg_iovlen = 1;
}

// The counters for `n` datagrams sent, the slots index[0..n): each endpoint's once per run
// of its datagrams (a consumer's batch), not once per datagram. `results`: each one's
// outcome (bytes sent, or -errno: a failure); null when all were sent.
void send_outbox::count_results(const std::size_t* index, std::size_t n, const int* results) noexcept {
  for (std::size_t m = 0; m < n;) {
    auto* ep = entries_[index[m]].ep.get();
    uint64_t packets = 0, bytes = 0, errors = 0;
    for (; m < n && entries_[index[m]].ep.get() == ep; ++m) {
      if (results && results[m] <= 0) {
        ++errors;
        continue;
      }
      ++packets;
      bytes += entries_[index[m]].size;
    }
    if (packets) {
      ep->tx_packets.add(packets);
      ep->tx_bytes.add(bytes);
      totals_.datagrams += packets;
    }
    if (errors) {
      ep->tx_errors.add(errors);
      totals_.failed += errors;
    }
  }
}

// After a flush: the slots are free, and the totals go into the process's.
void send_outbox::clear() {
  for (std::size_t m = 0; m < count_; ++m)
    entries_[m].ep.reset();
  count_ = 0;
  mixed_ = false;
  g_process.flushes.fetch_add(totals_.flushes - published_.flushes, std::memory_order_relaxed);
  g_process.datagrams.fetch_add(totals_.datagrams - published_.datagrams,
                                std::memory_order_relaxed);
  g_process.failed.fetch_add(totals_.failed - published_.failed, std::memory_order_relaxed);
  g_process.ring_flushes.fetch_add(totals_.ring_flushes - published_.ring_flushes,
                                   std::memory_order_relaxed);
  published_ = totals_;
}

send_outbox::totals send_outbox::process_totals() noexcept {
  totals t;
  t.flushes = g_process.flushes.load(std::memory_order_relaxed);
  t.datagrams = g_process.datagrams.load(std::memory_order_relaxed);
  t.failed = g_process.failed.load(std::memory_order_relaxed);
  t.ring_flushes = g_process.ring_flushes.load(std::memory_order_relaxed);
  return t;
}

send_outbox* send_outbox::current() noexcept {
  return t_outbox.get();
}

void send_outbox::install(bool use_uring) {
  if (!t_outbox)
    t_outbox = std::make_unique<send_outbox>(use_uring);
}

void send_outbox::flush_current() {
  if (t_outbox && t_outbox->size() != 0)
    t_outbox->flush();
}

void send_outbox::flush_current_if_waited(int64_t now_ns) {
  if (t_outbox && t_outbox->size() != 0 && now_ns - t_outbox->oldest_ns() >= max_wait_ns)
    t_outbox->flush();
}

} // namespace chorus::net
