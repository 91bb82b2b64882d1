#include "net/media_io_socket.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace chorus::net::sock {

namespace {
constexpr int socket_buffer_bytes = 4 << 20;
constexpr std::size_t send_chunk = 64; // datagrams per sendmmsg call (stack arrays)

// 0:0:0:0:0:ffff:a.b.c.d (RFC 4291 §2.5.5.2)
constexpr uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void set_buffers(int fd) noexcept {
  const int size = socket_buffer_bytes;
  // Best effort: the kernel caps these at net.core.{r,w}mem_max.
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}

} // namespace

bool is_transient(int err) noexcept {
  return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS || err == ENOMEM;
}

unique_fd& unique_fd::operator=(unique_fd&& o) noexcept {
  if (this != &o) {
    reset();
    fd_ = o.release();
  }
  return *this;
}

int unique_fd::release() noexcept {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

void unique_fd::reset() noexcept {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
}

int socket_family(const transport_address& a) noexcept {
  switch (a.family) {
  case ip_family::ipv4: return AF_INET;
  case ip_family::ipv6: return AF_INET6;
  default: return AF_UNSPEC;
  }
}

socklen_t to_socket_address(const transport_address& a, int af, sockaddr_storage& out) noexcept {
  if (af == AF_INET6 && a.family == ip_family::ipv4) {
    transport_address mapped = a;
    mapped.family = ip_family::ipv6;
    std::memcpy(mapped.bytes.data(), v4_mapped_prefix, sizeof v4_mapped_prefix);
    std::memcpy(mapped.bytes.data() + sizeof v4_mapped_prefix, a.bytes.data(),
                transport_address::ipv4_size);
    return socklen_t(mapped.to_sockaddr(out));
  }
  if (socket_family(a) != af)
    return 0;
  return socklen_t(a.to_sockaddr(out));
}

std::optional<transport_address> from_socket_address(const sockaddr_storage& sa) noexcept {
  auto a = transport_address::from_sockaddr(sa);
  if (a && a->family == ip_family::ipv6 &&
      std::memcmp(a->bytes.data(), v4_mapped_prefix, sizeof v4_mapped_prefix) == 0) {
    std::array<uint8_t, 16> v4{};
    std::memcpy(v4.data(), a->bytes.data() + sizeof v4_mapped_prefix,
                transport_address::ipv4_size);
    a->family = ip_family::ipv4;
    a->bytes = v4;
  }
  return a;
}

open_result bind_udp(const transport_address& local, bool reuse_port) {
  open_result r;
  const int af = socket_family(local);
  sockaddr_storage sa{};
  const socklen_t len = to_socket_address(local, af, sa);
  if (len == 0) {
    r.error = EAFNOSUPPORT;
    return r;
  }
  unique_fd fd(::socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  const int on = 1;
  if (!fd ||
      (reuse_port && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) ||
      ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), len) != 0) {
    r.error = errno;
    return r;
  }
  set_buffers(fd.get());
  const int one = 1; // best effort: without it arrivals are stamped when read
  ::setsockopt(fd.get(), SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  r.fd = std::move(fd);
  return r;
}

open_result listen_tcp(const transport_address& local, int backlog, bool reuse_port) {
  open_result r;
  const int af = socket_family(local);
  sockaddr_storage sa{};
  const socklen_t len = to_socket_address(local, af, sa);
  if (len == 0) {
    r.error = EAFNOSUPPORT;
    return r;
  }
  unique_fd fd(::socket(af, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  const int one = 1;
  if (!fd || ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      (reuse_port && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) ||
      ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), len) != 0 ||
      ::listen(fd.get(), backlog) != 0) {
    r.error = errno;
    return r;
  }
  r.fd = std::move(fd);
  return r;
}

accepted accept_tcp(int listen_fd) {
  accepted a;
  sockaddr_storage sa{};
  socklen_t len = sizeof sa;
  const int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&sa), &len,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) {
    a.error = errno;
    return a;
  }
  a.fd = unique_fd(fd);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  set_buffers(fd);
  if (auto remote = from_socket_address(sa))
    a.remote = *remote;
  return a;
}

uint16_t local_port(int fd) noexcept {
  sockaddr_storage sa{};
  socklen_t len = sizeof sa;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0)
    return 0;
  auto a = transport_address::from_sockaddr(sa);
  return a ? a->port : 0;
}

udp_receiver::udp_receiver(std::size_t batch, std::size_t datagram_size)
  : batch_(std::max<std::size_t>(batch, 1)), datagram_size_(datagram_size),
    buffers_(batch_ * datagram_size_), addrs_(batch_), iovs_(batch_), msgs_(batch_),
    controls_(batch_) {
  static_assert(sizeof(control_space) >= CMSG_SPACE(sizeof(timespec)));
  for (std::size_t i = 0; i < batch_; ++i) {
    iovs_[i].iov_base = buffers_.data() + i * datagram_size_;
    iovs_[i].iov_len = datagram_size_;
    msgs_[i] = mmsghdr{};
    msgs_[i].msg_hdr.msg_name = &addrs_[i];
    msgs_[i].msg_hdr.msg_iov = &iovs_[i];
    msgs_[i].msg_hdr.msg_iovlen = 1;
  }
}

udp_receiver::~udp_receiver() = default;

int udp_receiver::receive(int fd) noexcept {
  for (std::size_t i = 0; i < batch_; ++i) {
    msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    msgs_[i].msg_hdr.msg_flags = 0;
    msgs_[i].msg_hdr.msg_control = controls_[i].bytes;
    msgs_[i].msg_hdr.msg_controllen = sizeof controls_[i].bytes;
    msgs_[i].msg_len = 0;
  }
  for (;;) {
    const int n = ::recvmmsg(fd, msgs_.data(), unsigned(batch_), MSG_DONTWAIT, nullptr);
    if (n >= 0)
      return n;
    if (errno == EINTR)
      continue;
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
  }
}

std::span<const uint8_t> udp_receiver::payload(std::size_t i) const noexcept {
  return {buffers_.data() + i * datagram_size_,
          std::min<std::size_t>(msgs_[i].msg_len, datagram_size_)};
}

int64_t udp_receiver::realtime_ns(std::size_t i) const noexcept {
  auto& hdr = msgs_[i].msg_hdr;
  for (auto* c = CMSG_FIRSTHDR(&hdr); c != nullptr; c = CMSG_NXTHDR(const_cast<msghdr*>(&hdr), c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS &&
        c->cmsg_len >= CMSG_LEN(sizeof(timespec))) {
      timespec ts;
      std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
      return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
    }
  return 0;
}

bool udp_receiver::truncated(std::size_t i) const noexcept {
  return (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
}

bool send_pending(int fd, const std::vector<uint8_t>& out, std::size_t& offset) noexcept {
  while (offset < out.size()) {
    const ssize_t n =
      ::send(fd, out.data() + offset, out.size() - offset, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      offset += std::size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
  return true;
}

bool send_datagram(int fd, const sockaddr_storage& to, socklen_t to_len,
                   std::span<const uint8_t> payload) noexcept {
  for (;;) {
    const ssize_t n = ::sendto(fd, payload.data(), payload.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                               reinterpret_cast<const sockaddr*>(&to), to_len);
    if (n >= 0)
      return true;
    if (errno != EINTR)
      return false;
  }
}

std::size_t send_datagrams(int fd, const sockaddr_storage& to, socklen_t to_len,
                           std::span<const std::span<const uint8_t>> packets) noexcept {
  mmsghdr msgs[send_chunk];
  iovec iovs[send_chunk];
  std::size_t sent = 0;
  std::size_t i = 0;
  while (i < packets.size()) {
    const std::size_t n = std::min(send_chunk, packets.size() - i);
    for (std::size_t k = 0; k < n; ++k) {
      iovs[k].iov_base = const_cast<uint8_t*>(packets[i + k].data());
      iovs[k].iov_len = packets[i + k].size();
      msgs[k] = mmsghdr{};
      msgs[k].msg_hdr.msg_name = const_cast<sockaddr_storage*>(&to);
      msgs[k].msg_hdr.msg_namelen = to_len;
      msgs[k].msg_hdr.msg_iov = &iovs[k];
      msgs[k].msg_hdr.msg_iovlen = 1;
    }
    const int r = ::sendmmsg(fd, msgs, unsigned(n), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r > 0) {
      sent += std::size_t(r);
      i += std::size_t(r);
      continue;
    }
    if (r < 0 && errno == EINTR)
      continue;
    if (r == 0 || is_transient(errno))
      break;
    ++i; // the first packet itself is refused (e.g. EMSGSIZE): skip it, keep going
  }
  return sent;
}

void raise_fd_limit() noexcept {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

} // namespace chorus::net::sock
