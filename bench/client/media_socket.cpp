#include "bench/client/media_socket.hpp"

#include "net/segment_receive.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace chorus::client {

namespace {

constexpr std::size_t udp_batch = 16;           // datagrams per recvmmsg
constexpr std::size_t max_udp_message = 65536;  // a segmented message (UDP_GRO), whole
constexpr std::size_t frame_prefix = 2;         // RFC 4571 §2: 16-bit LENGTH
constexpr std::size_t max_frame = 0xffff;
constexpr std::size_t tcp_read_chunk = 64 * 1024;
constexpr int socket_buffer_bytes = 1 << 20;

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

} // namespace

std::string_view to_string(media_protocol p) noexcept {
  return p == media_protocol::tcp ? "tcp" : "udp";
}

struct media_socket::impl {
  int fd = -1;
  media_protocol protocol = media_protocol::udp;
  net::transport_address remote;
  net::transport_address local;
  media_socket_counters counters;
  bool closed = false;
  std::string close_reason;

  // UDP receive batch.
  std::unique_ptr<uint8_t[]> udp_buffers; // udp_batch datagrams; not zeroed (the kernel writes them)
  std::vector<mmsghdr> msgs;
  std::vector<iovec> iovs;
  // Receive timestamps and segment sizes (UDP, optional): one control buffer per message
  // of the batch.
  bool timestamps = false;
  bool segments = false;
  std::vector<uint8_t> controls;
  uint64_t last_rx_ns = 0;
  // TCP: bytes received but not yet a whole frame; bytes queued for sending.
  std::vector<uint8_t> rx;
  std::vector<uint8_t> tx;
  std::size_t tx_sent = 0; // bytes of tx already written

  ~impl() {
    if (fd >= 0)
      ::close(fd);
  }

  void fail(std::string why) {
    if (closed)
      return;
    closed = true;
    close_reason = std::move(why);
    if (fd >= 0)
      ::shutdown(fd, SHUT_RDWR);
  }

  void write_tx() {
    while (tx_sent < tx.size()) {
      ssize_t n = ::send(fd, tx.data() + tx_sent, tx.size() - tx_sent, MSG_NOSIGNAL);
      if (n > 0) {
        tx_sent += std::size_t(n);
        continue;
      }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      ++counters.send_errors;
      fail(errno_text("send"));
      return;
    }
    if (tx_sent == tx.size()) {
      tx.clear();
      tx_sent = 0;
    } else if (tx_sent > tx.size() / 2) {
      tx.erase(tx.begin(), tx.begin() + std::ptrdiff_t(tx_sent));
      tx_sent = 0;
    }
  }
};

media_socket::media_socket(std::unique_ptr<impl> p) noexcept : impl_(std::move(p)) {}
media_socket::media_socket(media_socket&&) noexcept = default;
media_socket& media_socket::operator=(media_socket&&) noexcept = default;
media_socket::~media_socket() = default;

result<media_socket> media_socket::open(media_protocol protocol,
                                        const net::transport_address& remote,
                                        uint64_t connect_timeout_ms) {
  sockaddr_storage sa{};
  const std::size_t sa_len = remote.to_sockaddr(sa);
  if (sa_len == 0)
    return failure{"no remote address"};
  auto s = std::make_unique<impl>();
  s->protocol = protocol;
  s->remote = remote;
  const int type = protocol == media_protocol::udp ? SOCK_DGRAM : SOCK_STREAM;
  s->fd = ::socket(sa.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->fd < 0)
    return failure{errno_text("socket")};
  int size = socket_buffer_bytes;
  ::setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  ::setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  if (protocol == media_protocol::tcp) {
    int one = 1;
    ::setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }

  if (::connect(s->fd, reinterpret_cast<const sockaddr*>(&sa), socklen_t(sa_len)) != 0) {
    if (errno != EINPROGRESS)
      return failure{errno_text("connect")};
    pollfd p{s->fd, POLLOUT, 0};
    int n;
    do {
      n = ::poll(&p, 1, int(connect_timeout_ms));
    } while (n < 0 && errno == EINTR);
    if (n == 0)
      return failure{"connect to " + remote.to_string() + " timed out"};
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (n < 0 || err != 0) {
      errno = n < 0 ? errno : err;
      return failure{errno_text(("connect to " + remote.to_string()).c_str())};
    }
  }
  sockaddr_storage local{};
  socklen_t local_len = sizeof local;
  if (::getsockname(s->fd, reinterpret_cast<sockaddr*>(&local), &local_len) == 0)
    if (auto a = net::transport_address::from_sockaddr(local))
      s->local = *a;

  if (protocol == media_protocol::udp) {
    s->udp_buffers = std::make_unique_for_overwrite<uint8_t[]>(udp_batch * max_udp_datagram);
    s->msgs.resize(udp_batch);
    s->iovs.resize(udp_batch);
  }
  return media_socket{std::move(s)};
}

namespace {
// Room for both control messages a datagram may carry: its stamp and its segment size.
constexpr std::size_t control_size =
  CMSG_SPACE(sizeof(timespec)) + net::received_segment_control_bytes;

// The buffers of segmented messages (up to 64 KiB each), one set per thread: a thread
// drains its sockets one at a time and the datagrams are handed on before the next read,
// so a thousand sockets need not hold a megabyte each. Not zeroed: a page is touched only
// once a message reaches it, so a storm's hundreds of threads do not each fault in a
// megabyte up front.
uint8_t* thread_message_buffers() {
  thread_local auto buffers = std::make_unique_for_overwrite<uint8_t[]>(udp_batch * max_udp_message);
  return buffers.get();
}
} // namespace

// Makes the batch's control buffers, once a receive option that brings a control message
// (a stamp, a segment size) is set. False on TCP or once closed.
static bool can_take_option(media_socket::impl& s) noexcept {
  return s.protocol == media_protocol::udp && !s.closed;
}

bool media_socket::enable_receive_timestamps() noexcept {
  auto& s = *impl_;
  int one = 1;
  if (!can_take_option(s) || ::setsockopt(s.fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) != 0)
    return false;
  s.controls.assign(udp_batch * control_size, 0);
  s.timestamps = true;
  return true;
}

uint64_t media_socket::last_receive_ns() const noexcept { return impl_->last_rx_ns; }

bool media_socket::enable_receive_segments() noexcept {
  auto& s = *impl_;
  if (!can_take_option(s) || !net::receive_segments_whole(s.fd))
    return false;
  s.controls.assign(udp_batch * control_size, 0);
  s.segments = true;
  s.udp_buffers.reset(); // the thread's buffers serve from now on
  return true;
}

bool media_socket::receive_segments() const noexcept { return impl_->segments; }

int media_socket::fd() const noexcept { return impl_->fd; }
media_protocol media_socket::protocol() const noexcept { return impl_->protocol; }
const net::transport_address& media_socket::remote() const noexcept { return impl_->remote; }
const net::transport_address& media_socket::local() const noexcept { return impl_->local; }
bool media_socket::closed() const noexcept { return impl_->closed; }
const std::string& media_socket::close_reason() const noexcept { return impl_->close_reason; }
const media_socket_counters& media_socket::counters() const noexcept { return impl_->counters; }

bool media_socket::wants_write() const noexcept {
  return !impl_->closed && impl_->tx_sent < impl_->tx.size();
}

void media_socket::flush() {
  if (!impl_->closed && impl_->protocol == media_protocol::tcp)
    impl_->write_tx();
}

void media_socket::close() noexcept {
  impl_->fail("closed locally");
}

bool media_socket::send(std::span<const uint8_t> packet) {
  auto& s = *impl_;
  if (s.closed)
    return false;
  if (s.protocol == media_protocol::udp) {
    ssize_t n;
    do {
      n = ::send(s.fd, packet.data(), packet.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      // ECONNREFUSED: an ICMP port unreachable for an earlier datagram; not fatal for UDP.
      ++s.counters.send_errors;
      return false;
    }
    ++s.counters.packets_sent;
    s.counters.bytes_sent += packet.size();
    return true;
  }
  if (packet.size() > max_frame || s.tx.size() - s.tx_sent + frame_prefix + packet.size() >
                                     max_tcp_queue) {
    ++s.counters.send_dropped;
    return false;
  }
  s.tx.push_back(static_cast<uint8_t>(packet.size() >> 8));
  s.tx.push_back(static_cast<uint8_t>(packet.size()));
  s.tx.insert(s.tx.end(), packet.begin(), packet.end());
  s.write_tx();
  if (s.closed)
    return false;
  ++s.counters.packets_sent;
  s.counters.bytes_sent += packet.size();
  return true;
}

bool media_socket::receive_impl(void* ctx, void (*cb)(void*, std::span<const uint8_t>)) {
  auto& s = *impl_;
  if (s.closed)
    return false;
  if (s.protocol == media_protocol::udp) {
    const bool with_control = s.timestamps || s.segments;
    uint8_t* const base = s.segments ? thread_message_buffers() : s.udp_buffers.get();
    const std::size_t stride = s.segments ? max_udp_message : max_udp_datagram;
    for (;;) {
      for (std::size_t i = 0; i < udp_batch; ++i) {
        s.iovs[i] = {base + i * stride, stride};
        s.msgs[i] = {};
        s.msgs[i].msg_hdr.msg_iov = &s.iovs[i];
        s.msgs[i].msg_hdr.msg_iovlen = 1;
        if (with_control) {
          s.msgs[i].msg_hdr.msg_control = s.controls.data() + i * control_size;
          s.msgs[i].msg_hdr.msg_controllen = control_size;
        }
      }
      int n = ::recvmmsg(s.fd, s.msgs.data(), unsigned(udp_batch), MSG_DONTWAIT, nullptr);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        // EAGAIN: drained. ECONNREFUSED: ICMP for an earlier datagram; keep the socket.
        return true;
      }
      for (int i = 0; i < n; ++i) {
        const std::size_t len = s.msgs[i].msg_len;
        s.last_rx_ns = 0;
        if (s.timestamps)
          for (cmsghdr* c = CMSG_FIRSTHDR(&s.msgs[i].msg_hdr); c;
               c = CMSG_NXTHDR(&s.msgs[i].msg_hdr, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
              timespec ts{};
              std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
              s.last_rx_ns = uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
            }
        // 0: one datagram
        std::size_t segment =
          s.segments ? net::received_segment_size(s.msgs[i].msg_hdr) : 0;
        const uint8_t* data = base + std::size_t(i) * stride;
        if (segment == 0 || segment >= len)
          segment = len;
        for (std::size_t at = 0; at < len; at += segment) {
          const std::size_t piece = std::min(segment, len - at);
          ++s.counters.packets_received;
          s.counters.bytes_received += piece;
          cb(ctx, {data + at, piece});
        }
      }
      if (std::size_t(n) < udp_batch)
        return true;
    }
  }

  for (;;) {
    const std::size_t old = s.rx.size();
    s.rx.resize(old + tcp_read_chunk);
    ssize_t n = ::recv(s.fd, s.rx.data() + old, tcp_read_chunk, MSG_DONTWAIT);
    s.rx.resize(old + (n > 0 ? std::size_t(n) : 0));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    if (n <= 0) {
      s.fail(n == 0 ? "the server closed the connection" : errno_text("recv"));
      break;
    }
    // Deliver every complete frame.
    std::size_t pos = 0;
    while (s.rx.size() - pos >= frame_prefix) {
      const std::size_t len = (std::size_t{s.rx[pos]} << 8) | s.rx[pos + 1];
      if (s.rx.size() - pos - frame_prefix < len)
        break;
      ++s.counters.packets_received;
      s.counters.bytes_received += len;
      cb(ctx, {s.rx.data() + pos + frame_prefix, len});
      pos += frame_prefix + len;
    }
    s.rx.erase(s.rx.begin(), s.rx.begin() + std::ptrdiff_t(pos));
  }
  return !s.closed;
}

} // namespace chorus::client
