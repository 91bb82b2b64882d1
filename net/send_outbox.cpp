#include "net/send_outbox.hpp"

#include "net/media_io_core.hpp"
#include "net/media_io_socket.hpp"
#include "net/udp_uring.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <shared_mutex>

#include <netinet/udp.h>
#include <sys/uio.h>
#include <unistd.h>

namespace chorus::net {

namespace {

thread_local std::unique_ptr<send_outbox> t_outbox;

struct process_counters {
  std::atomic<uint64_t> flushes{0}, datagrams{0}, failed{0}, ring_flushes{0};
  std::atomic<uint64_t> segmented_messages{0}, segmented_datagrams{0}, segment_fallbacks{0};
};
process_counters g_process;

// Whether this kernel segments UDP (Linux 4.18 and later): asked once, of a socket, since
// an older kernel would not refuse a UDP_SEGMENT control message but ignore it, sending a
// run as one large datagram.
bool kernel_segments() noexcept {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  int value = 0;
  socklen_t len = sizeof value;
  const bool ok = ::getsockopt(fd, SOL_UDP, UDP_SEGMENT, &value, &len) == 0;
  ::close(fd);
  return ok;
}

std::atomic<bool> g_segmentation{kernel_segments()};

// A ring result that send_unsegmented has counted already.
constexpr int counted = -EINPROGRESS;

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
  const int fd = ep->shared_socket && shared_fd_ >= 0 ? shared_fd_ : ep->udp_fd;
  if (count_ == 0)
    oldest_ns_ = now_ns;
  else if (fd != entries_[0].fd)
    mixed_ = true;
  auto& e = entries_[count_];
  e.ep = ep;
  e.fd = fd;
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
  message parts[capacity];
  iovec iovs[capacity]; // slot j's at j
  alignas(cmsghdr) unsigned char controls[capacity][segment_control_bytes];
  std::size_t i = 0;
  while (i < count_) {
    // A run of datagrams on one socket (with single-port mode, usually all of them).
    // The socket is one of the I/O threads' shared ones, closed only after every open
    // endpoint has been marked closed under its send lock: holding the send lock of one
    // endpoint still open keeps the socket open through the sendmmsg.
    const int fd = entries_[i].fd;
    std::size_t end = i;
    while (end < count_ && entries_[end].fd == fd)
      ++end;
    std::shared_lock<std::shared_mutex> anchor;
    std::size_t n = 0;
    for (std::size_t j = i; j < end;) {
      auto& e = entries_[j];
      if (!anchor.owns_lock()) {
        std::shared_lock<std::shared_mutex> lock(e.ep->send_mutex);
        if (!e.ep->closed.load(std::memory_order_relaxed))
          anchor = std::move(lock);
      }
      const std::size_t len = run_length(j, end);
      if (anchor.owns_lock() && !e.ep->closed.load(std::memory_order_acquire)) {
        parts[n] = {uint16_t(j), uint16_t(len)};
        msgs[n] = mmsghdr{};
        describe(parts[n], msgs[n].msg_hdr, iovs, controls[n]);
        ++n;
      } // else closed since: its datagrams go nowhere
      j += len;
    }
    std::size_t k = 0;
    while (k < n) {
      const int r = ::sendmmsg(fd, msgs + k, unsigned(n - k), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (r > 0) {
        ++totals_.flushes;
        count_results(parts + k, std::size_t(r), nullptr);
        k += std::size_t(r);
        continue;
      }
      const int err = r < 0 ? errno : EAGAIN;
      if (err == EINTR)
        continue;
      if (parts[k].count > 1 && send_unsegmented(fd, parts[k], err)) {
        ++k; // sent again one by one
        continue;
      }
      if (sock::is_transient(err)) { // the socket's buffer is full: the rest is dropped
        const int failed[1] = {-err};
        for (std::size_t m = k; m < n; ++m)
          count_results(parts + m, 1, failed);
        break;
      }
      const int refused[1] = {-err}; // this message is refused: skip it
      count_results(parts + k, 1, refused);
      ++k;
    }
    i = end;
  }
  clear();
}

// Datagrams on several sockets (port mode): one sendmsg operation per message, all in one
// io_uring submission. Every endpoint's socket is its own and closed with it, so each
// endpoint's send lock is held (shared) through the submission, which has completed every
// send when it returns.
void send_outbox::flush_ring() {
  msghdr hdrs[capacity];
  iovec iovs[capacity];
  alignas(cmsghdr) unsigned char controls[capacity][segment_control_bytes];
  udp_uring::op ops[capacity];
  int results[capacity];
  message parts[capacity];
  std::shared_lock<std::shared_mutex> locks[capacity];
  const detail::endpoint_state* locked[capacity]; // the endpoints whose lock is held
  bool open[capacity];                            // ... and whether each was still open
  std::size_t nlocked = 0, n = 0;
  for (std::size_t j = 0; j < count_;) {
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
    const std::size_t len = run_length(j, count_);
    if (open[k]) {
      parts[n] = {uint16_t(j), uint16_t(len)};
      hdrs[n] = msghdr{};
      describe(parts[n], hdrs[n], iovs, controls[n]);
      ops[n] = {e.fd, &hdrs[n]};
      ++n;
    } // else closed since: its datagrams go nowhere
    j += len;
  }
  if (n != 0) {
    ring_->send(std::span<const udp_uring::op>(ops, n), results);
    ++totals_.flushes;
    ++totals_.ring_flushes;
    // A refused segmented op goes again one by one after the submission, so after any
    // later op of the same endpoint in it (a datagram or two out of order, once).
    for (std::size_t m = 0; m < n; ++m)
      if (results[m] < 0 && parts[m].count > 1 &&
          send_unsegmented(ops[m].fd, parts[m], -results[m]))
        results[m] = counted; // by send_unsegmented
    count_results(parts, n, results);
  }
  // Before clear() lets go of the endpoints (and so perhaps of their mutexes).
  for (std::size_t k = 0; k < nlocked; ++k)
    locks[k].unlock();
  clear();
}

// How many datagrams from slot j (before `end`) leave as one message: those after it that
// go from the same endpoint to the same destination, as long as they are the size of the
// first (the last of them may be shorter; it ends the run), within the kernel's limits.
std::size_t send_outbox::run_length(std::size_t j, std::size_t end) const noexcept {
  const auto& first = entries_[j];
  if (!first.ep->segment_sends.load(std::memory_order_relaxed) ||
      !g_segmentation.load(std::memory_order_relaxed))
    return 1;
  const std::size_t segment = first.size;
  if (segment > max_segment_bytes)
    return 1;
  std::size_t bytes = segment;
  std::size_t k = j + 1;
  for (; k < end && k - j < max_segments; ++k) {
    const auto& e = entries_[k];
    if (e.ep != first.ep || e.size > segment || bytes + e.size > max_segmented_bytes ||
        e.to_len != first.to_len || std::memcmp(&e.to, &first.to, first.to_len) != 0)
      break;
    bytes += e.size;
    if (e.size < segment)
      return k + 1 - j; // a shorter one is the last
  }
  return k - j;
}

// Message m as a msghdr: its slots' bytes in the arena (iovs[first .. first + count)), its
// destination, and for two or more datagrams the segment size (the first one's).
void send_outbox::describe(const message& m, msghdr& hdr, iovec* iovs, void* control) noexcept {
  auto& e = entries_[m.first];
  for (std::size_t j = m.first; j < std::size_t(m.first) + m.count; ++j) {
    iovs[j].iov_base = arena_.data() + j * slot_bytes;
    iovs[j].iov_len = entries_[j].size;
  }
  hdr.msg_name = &e.to;
  hdr.msg_namelen = e.to_len;
  hdr.msg_iov = iovs + m.first;
  hdr.msg_iovlen = m.count;
  if (m.count > 1)
    set_segment_size(hdr, control, e.size);
}

void send_outbox::set_segment_size(msghdr& hdr, void* control, uint16_t segment) noexcept {
  hdr.msg_control = control;
  hdr.msg_controllen = segment_control_bytes;
  cmsghdr* c = CMSG_FIRSTHDR(&hdr);
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  std::memcpy(CMSG_DATA(c), &segment, sizeof segment);
}

// A segmented message the kernel refused with `error`: when the refusal is about
// segmentation, its datagrams go again one by one (counted here) and that endpoint stops
// segmenting: EMSGSIZE or EINVAL, a route whose MTU is below the segment size (EMSGSIZE
// since the fix in 5.x stable kernels, EINVAL before); EIO, a route through IPsec (or, in
// older kernels, a device without checksum offload). False for any other error (the
// caller's to count).
bool send_outbox::send_unsegmented(int fd, const message& m, int error) noexcept {
  if (error != EINVAL && error != EMSGSIZE && error != EIO)
    return false;
  auto& ep = *entries_[m.first].ep;
  ep.segment_sends.store(false, std::memory_order_relaxed);
  ++totals_.segment_fallbacks;
  const auto& e = entries_[m.first];
  uint64_t sent = 0, bytes = 0;
  for (std::size_t j = m.first; j < std::size_t(m.first) + m.count; ++j) {
    const std::span<const uint8_t> datagram(arena_.data() + j * slot_bytes, entries_[j].size);
    ++totals_.flushes;
    if (sock::send_datagram(fd, e.to, e.to_len, datagram)) {
      ++sent;
      bytes += datagram.size();
    }
  }
  if (sent) {
    ep.tx_packets.add(sent);
    ep.tx_bytes.add(bytes);
    totals_.datagrams += sent;
  }
  if (sent < m.count) {
    ep.tx_errors.add(m.count - sent);
    totals_.failed += m.count - sent;
  }
  return true;
}

// The counters for the `n` messages msgs[0..n): each endpoint's once per run of its
// messages (a consumer's batch), not once per datagram. `results`: each message's outcome
// (bytes sent, or -errno: all its datagrams failed; `counted`: skipped); null when all
// were sent.
void send_outbox::count_results(const message* msgs, std::size_t n, const int* results) noexcept {
  for (std::size_t m = 0; m < n;) {
    auto* ep = entries_[msgs[m].first].ep.get();
    uint64_t packets = 0, bytes = 0, errors = 0;
    for (; m < n && entries_[msgs[m].first].ep.get() == ep; ++m) {
      const auto& msg = msgs[m];
      if (results && results[m] == counted)
        continue;
      if (results && results[m] <= 0) {
        errors += msg.count;
        continue;
      }
      packets += msg.count;
      for (std::size_t j = msg.first; j < std::size_t(msg.first) + msg.count; ++j)
        bytes += entries_[j].size;
      if (msg.count > 1) {
        ++totals_.segmented_messages;
        totals_.segmented_datagrams += msg.count;
      }
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
  g_process.segmented_messages.fetch_add(
    totals_.segmented_messages - published_.segmented_messages, std::memory_order_relaxed);
  g_process.segmented_datagrams.fetch_add(
    totals_.segmented_datagrams - published_.segmented_datagrams, std::memory_order_relaxed);
  g_process.segment_fallbacks.fetch_add(
    totals_.segment_fallbacks - published_.segment_fallbacks, std::memory_order_relaxed);
  published_ = totals_;
}

send_outbox::totals send_outbox::process_totals() noexcept {
  totals t;
  t.flushes = g_process.flushes.load(std::memory_order_relaxed);
  t.datagrams = g_process.datagrams.load(std::memory_order_relaxed);
  t.failed = g_process.failed.load(std::memory_order_relaxed);
  t.ring_flushes = g_process.ring_flushes.load(std::memory_order_relaxed);
  t.segmented_messages = g_process.segmented_messages.load(std::memory_order_relaxed);
  t.segmented_datagrams = g_process.segmented_datagrams.load(std::memory_order_relaxed);
  t.segment_fallbacks = g_process.segment_fallbacks.load(std::memory_order_relaxed);
  return t;
}

bool send_outbox::segmentation_available() noexcept {
  return g_segmentation.load(std::memory_order_relaxed);
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
