// Helpers for the media_io socket tests: a sink that queues packets for a waiting test
// thread, plain loopback UDP and TCP clients, and a port base per process so that two test
// runs on one machine do not collide. Every wait has a deadline; nothing sleeps to
// synchronise (the one polling helper, wait_until, re-checks a counter until a deadline).
#pragma once

#include "net/media_io.hpp"
#include "net/stun.hpp"
#include "net/tcp_framing.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace media_io_test {

using namespace chorus::net;
using namespace std::chrono_literals;
using bytes = std::vector<uint8_t>;

inline constexpr auto deadline = 5s;

inline bytes text(const std::string& s) { return bytes(s.begin(), s.end()); }

// An RTP packet (RFC 3550 §5.1) of `size` bytes: version 2, payload type 96, the given
// sequence number, timestamp, SSRC and marker, then filler (as SRTP leaves the header,
// in the clear).
inline bytes rtp_bytes(uint16_t seq, uint32_t ts, uint32_t ssrc = 0x11223344,
                       bool marker = false, std::size_t size = 32) {
  bytes b = {0x80,
             uint8_t((marker ? 0x80 : 0) | 96),
             uint8_t(seq >> 8),
             uint8_t(seq),
             uint8_t(ts >> 24),
             uint8_t(ts >> 16),
             uint8_t(ts >> 8),
             uint8_t(ts),
             uint8_t(ssrc >> 24),
             uint8_t(ssrc >> 16),
             uint8_t(ssrc >> 8),
             uint8_t(ssrc)};
  b.resize(size, 0xAB);
  return b;
}

// A port range of 40 ports below the ephemeral range, different per process.
inline uint16_t port_base() {
  static const uint16_t base = uint16_t(20000 + (unsigned(::getpid()) % 240) * 40);
  return base;
}

struct received {
  ice_tuple source;
  bytes data;
  bool connection_closed = false;
  int64_t arrival_us = 0;
};

// Collects what a sink is given; the test thread waits on it with a deadline.
class packet_queue {
public:
  packet_sink sink() {
    return [this](packet_batch&& b) {
      std::lock_guard lock(mutex_);
      ++batches_;
      for (const auto& p : b.packets) {
        auto span = p.bytes(b.data);
        items_.push_back({p.source, bytes(span.begin(), span.end()), p.connection_closed,
                          p.arrival_us});
      }
      cv_.notify_all();
    };
  }
  // The next `n` packets in arrival order; fewer when the deadline passes.
  std::vector<received> wait(std::size_t n, std::chrono::milliseconds timeout = deadline) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout, [&] { return items_.size() >= n; });
    std::vector<received> out;
    while (!items_.empty() && out.size() < n) {
      out.push_back(std::move(items_.front()));
      items_.pop_front();
    }
    return out;
  }
  std::optional<received> pop(std::chrono::milliseconds timeout = deadline) {
    auto v = wait(1, timeout);
    if (v.empty())
      return std::nullopt;
    return std::move(v.front());
  }
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return items_.size();
  }
  std::size_t batches() {
    std::lock_guard lock(mutex_);
    return batches_;
  }

private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<received> items_;
  std::size_t batches_ = 0;
};

// Re-checks `pred` until it holds or the deadline passes (for counters on the I/O thread).
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds timeout = deadline) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= end)
      return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

inline bool wait_readable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, int(timeout.count())) == 1;
}

inline sockaddr_storage loopback(uint16_t port, bool v6 = false) {
  auto a = v6 ? transport_address::from_string("::1", port)
              : std::optional(transport_address::v4(127, 0, 0, 1, port));
  sockaddr_storage sa{};
  a->to_sockaddr(sa);
  return sa;
}

inline socklen_t sa_len(bool v6) { return v6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in); }

class udp_client {
public:
  explicit udp_client(bool v6 = false) : v6_(v6) {
    fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    auto sa = loopback(0, v6);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sa_len(v6)) != 0)
      throw std::runtime_error("udp_client");
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &len);
    address_ = *transport_address::from_sockaddr(local);
  }
  ~udp_client() { ::close(fd_); }
  udp_client(const udp_client&) = delete;
  udp_client& operator=(const udp_client&) = delete;

  void send(uint16_t port, const bytes& b) const {
    auto sa = loopback(port, v6_);
    REQUIRE(::sendto(fd_, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&sa),
                     sa_len(v6_)) == ssize_t(b.size()));
  }
  std::optional<bytes> recv(std::chrono::milliseconds timeout = deadline) const {
    if (!wait_readable(fd_, timeout))
      return std::nullopt;
    bytes b(65536);
    const ssize_t n = ::recv(fd_, b.data(), b.size(), 0);
    if (n < 0)
      return std::nullopt;
    b.resize(std::size_t(n));
    return b;
  }
  const transport_address& address() const { return address_; }

private:
  bool v6_;
  int fd_ = -1;
  transport_address address_;
};

class tcp_client {
public:
  explicit tcp_client(uint16_t port, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rcvbuf > 0)
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    auto sa = loopback(port);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sockaddr_in)) != 0)
      throw std::runtime_error("tcp_client: connect");
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &len);
    address_ = *transport_address::from_sockaddr(local);
  }
  ~tcp_client() { ::close(fd_); }
  tcp_client(const tcp_client&) = delete;
  tcp_client& operator=(const tcp_client&) = delete;

  void write_raw(const bytes& b) const {
    REQUIRE(::send(fd_, b.data(), b.size(), MSG_NOSIGNAL) == ssize_t(b.size()));
  }
  static bytes frame(const bytes& payload) {
    bytes out(tcp_frame_header_size);
    put_tcp_frame_header(out.data(), payload.size());
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
  }
  void write_frame(const bytes& payload) const { write_raw(frame(payload)); }

  // The next frame from the server; nullopt on EOF, error or deadline.
  std::optional<bytes> read_frame(std::chrono::milliseconds timeout = deadline) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto f = reader_.next())
        return bytes(f->begin(), f->end());
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !wait_readable(fd_, left))
        return std::nullopt;
      auto area = reader_.write_area();
      const ssize_t n = ::recv(fd_, area.data(), area.size(), 0);
      if (n <= 0)
        return std::nullopt;
      reader_.commit(std::size_t(n));
    }
  }
  // True when the server closed the connection before the deadline.
  bool wait_closed(std::chrono::milliseconds timeout = deadline) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    uint8_t buf[4096];
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !wait_readable(fd_, left))
        return false;
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0)
        return true;
    }
  }
  const transport_address& address() const { return address_; }

private:
  int fd_ = -1;
  transport_address address_;
  tcp_frame_reader reader_;
};

// A binding request as a browser sends it: USERNAME "<server ufrag>:<client ufrag>".
inline bytes binding_request(const std::string& username) {
  stun::binding_request_params p;
  p.tid = stun::random_transaction_id();
  p.username = username;
  p.key = "password-of-the-server-side";
  p.priority = 1853817087;
  p.tie_breaker = 42;
  return stun::binding_request(p);
}

inline media_io_options port_mode_options(uint16_t first, uint16_t count) {
  media_io_options o;
  o.min_port = first;
  o.max_port = uint16_t(first + count - 1);
  return o;
}

// Starts a single-port media_io on the first free port at or after port_base() + 30.
inline std::unique_ptr<media_io> start_single_port(media_io_options o) {
  o.single_port = true;
  for (uint16_t port = uint16_t(port_base() + 30); port < port_base() + 40; ++port) {
    o.single_port_number = port;
    auto io = std::make_unique<media_io>(o);
    try {
      io->start();
      return io;
    } catch (const std::runtime_error&) {
    }
  }
  FAIL("no free single port");
  return nullptr;
}

} // namespace media_io_test
