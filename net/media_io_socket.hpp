// Thin Linux socket helpers for the media I/O thread: an owning file descriptor, address
// conversion for a socket's family (IPv4 peers of an IPv6 socket are v4-mapped), bound UDP
// and listening TCP sockets, batched receive (recvmmsg) and batched send (sendmmsg).
// No state beyond what each object owns; a udp_receiver is used by one thread only.
#pragma once

#include "net/stun.hpp"

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

struct mmsghdr;
struct iovec;

namespace chorus::net::sock {

class unique_fd {
public:
  unique_fd() = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(o.release()) {}
  unique_fd& operator=(unique_fd&& o) noexcept;
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  int release() noexcept;
  void reset() noexcept;

private:
  int fd_ = -1;
};

// AF_INET or AF_INET6 for the address family (AF_UNSPEC for none).
int socket_family(const transport_address& a) noexcept;

// sockaddr for sending to `a` from a socket of family `af`: an IPv4 address is v4-mapped
// for an AF_INET6 socket. 0 when not representable (IPv6 address, AF_INET socket).
socklen_t to_socket_address(const transport_address& a, int af, sockaddr_storage& out) noexcept;

// The peer address of a received packet or accepted connection; a v4-mapped IPv6 address
// (dual-stack socket) is returned as IPv4, so that replies and ICE see one form.
std::optional<transport_address> from_socket_address(const sockaddr_storage& sa) noexcept;

struct open_result {
  unique_fd fd;
  int error = 0; // errno of the failing call when !fd
};

// Nonblocking, close-on-exec UDP socket bound to `local` (port 0: any), with 4 MiB
// SO_RCVBUF/SO_SNDBUF (best effort). No SO_REUSEADDR: a port in use fails with EADDRINUSE.
// `reuse_port`: SO_REUSEPORT, so that sockets of the same user may share the port and the
// kernel spreads arrivals over them by a hash of the source and destination.
open_result bind_udp(const transport_address& local, bool reuse_port = false);
// Nonblocking listening TCP socket with SO_REUSEADDR (only lets TIME_WAIT leftovers be
// reused; an active listener still makes bind fail); `reuse_port` as for bind_udp.
open_result listen_tcp(const transport_address& local, int backlog = 128,
                       bool reuse_port = false);
// Nonblocking, close-on-exec accepted connection with TCP_NODELAY; fd < 0 when none left.
struct accepted {
  unique_fd fd;
  transport_address remote;
  int error = 0; // EAGAIN when nothing is pending
};
accepted accept_tcp(int listen_fd);

uint16_t local_port(int fd) noexcept;

// recvmmsg with reusable buffers: `batch` datagrams of up to `datagram_size` bytes each.
// Room for one SCM_TIMESTAMPNS control message (CMSG_SPACE(sizeof(timespec)) on Linux),
// aligned as cmsghdr wants.
struct alignas(8) control_space {
  unsigned char bytes[32];
};

class udp_receiver {
public:
  explicit udp_receiver(std::size_t batch, std::size_t datagram_size = 2048);
  ~udp_receiver();
  udp_receiver(const udp_receiver&) = delete;
  udp_receiver& operator=(const udp_receiver&) = delete;

  // Datagrams received by one recvmmsg (0 when none, -errno on error).
  int receive(int fd) noexcept;
  std::size_t batch() const noexcept { return batch_; }

  std::span<const uint8_t> payload(std::size_t i) const noexcept;
  bool truncated(std::size_t i) const noexcept; // larger than datagram_size: cut, drop it
  const sockaddr_storage& source(std::size_t i) const noexcept { return addrs_[i]; }
  // The kernel's receive time (CLOCK_REALTIME, ns) of datagram i on a socket with
  // SO_TIMESTAMPNS (bind_udp sets it); 0 when it carried none.
  int64_t realtime_ns(std::size_t i) const noexcept;

private:
  std::size_t batch_;
  std::size_t datagram_size_;
  std::vector<uint8_t> buffers_;
  std::vector<sockaddr_storage> addrs_;
  std::vector<iovec> iovs_;
  std::vector<mmsghdr> msgs_;
  std::vector<control_space> controls_;
};

// Writes what `out` holds from `offset` on a nonblocking stream socket, advancing `offset`,
// until all is written or the socket takes no more. False: the connection failed (EPIPE,
// ECONNRESET, ...); what is left stays unwritten.
bool send_pending(int fd, const std::vector<uint8_t>& out, std::size_t& offset) noexcept;

// One datagram; false on any error (EAGAIN included).
bool send_datagram(int fd, const sockaddr_storage& to, socklen_t to_len,
                   std::span<const uint8_t> payload) noexcept;

// All `packets` to one destination with as few sendmmsg calls as the kernel allows (one
// for up to 64). Returns how many were sent; a packet the kernel rejects on its own
// (EMSGSIZE) is skipped, EAGAIN/ENOBUFS abandons the rest.
// A send error that means "not now" (the socket buffer is full), not "never".
bool is_transient(int err) noexcept;
std::size_t send_datagrams(int fd, const sockaddr_storage& to, socklen_t to_len,
                           std::span<const std::span<const uint8_t>> packets) noexcept;

// Raises the RLIMIT_NOFILE soft limit to the hard limit (best effort).
void raise_fd_limit() noexcept;

} // namespace chorus::net::sock
