// The client's UDP media socket taking segmented messages whole (UDP_GRO): what a sender
// sent as one UDP GSO message reaches the callback as the same datagrams, in order, with
// the message's kernel stamp, and single datagrams pass as before.
#include "bench/client/media_socket.hpp"
#include "net/send_outbox.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

using namespace chorus;

namespace {

// A plain UDP socket on 127.0.0.1 standing in for the server.
struct peer_socket {
  int fd = -1;
  sockaddr_in addr{};
  peer_socket() {
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  }
  ~peer_socket() { ::close(fd); }
  net::transport_address address() const {
    sockaddr_storage ss{};
    std::memcpy(&ss, &addr, sizeof addr);
    return *net::transport_address::from_sockaddr(ss);
  }
  // `payload` to `to`, as one message cut every `segment` bytes (0: one datagram).
  bool send(const std::vector<uint8_t>& payload, const net::transport_address& to,
            uint16_t segment) {
    sockaddr_storage ss{};
    const std::size_t ss_len = to.to_sockaddr(ss);
    iovec iov{const_cast<uint8_t*>(payload.data()), payload.size()};
    msghdr m{};
    m.msg_name = &ss;
    m.msg_namelen = socklen_t(ss_len);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    alignas(cmsghdr) unsigned char control[net::send_outbox::segment_control_bytes]{};
    if (segment != 0)
      net::send_outbox::set_segment_size(m, control, segment); // as the server segments
    return ::sendmsg(fd, &m, 0) == ssize_t(payload.size());
  }
};

// Bytes numbered by position, so that a wrong cut shows.
std::vector<uint8_t> numbered(std::size_t n) {
  std::vector<uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = uint8_t(i * 7 + i / 251);
  return v;
}

struct received {
  std::vector<std::vector<uint8_t>> datagrams;
  std::vector<uint64_t> stamps;
};

// Receives until `want` datagrams came or a second passed (poll-bounded).
received receive_all(client::media_socket& s, std::size_t want) {
  received r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (r.datagrams.size() < want && std::chrono::steady_clock::now() < deadline) {
    pollfd p{s.fd(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    s.receive([&](std::span<const uint8_t> d) {
      r.datagrams.emplace_back(d.begin(), d.end());
      r.stamps.push_back(s.last_receive_ns());
    });
  }
  return r;
}

} // namespace

TEST_CASE("media socket: a segmented message taken whole is handed on datagram by datagram") {
  struct row {
    const char* name;
    std::size_t bytes;
    uint16_t segment; // 0: sent as one plain datagram
    std::size_t want; // datagrams the callback sees
    std::size_t last; // the last one's size
  };
  const row rows[] = {
    {"a keyframe's 17 equal datagrams and a shorter last", 16 * 1186 + 400, 1186, 17, 400},
    {"equal datagrams only", 4 * 1186, 1186, 4, 1186},
    {"one segment's worth (the kernel sends it unsegmented)", 1186, 1186, 1, 1186},
    {"a plain datagram", 300, 0, 1, 300},
    {"the largest message of small segments", 64 * 100, 100, 64, 100},
  };
  for (const auto& c : rows) {
    CAPTURE(c.name);
    for (bool whole : {true, false}) {
      CAPTURE(whole);
      peer_socket server;
      auto s = client::media_socket::open(client::media_protocol::udp, server.address());
      REQUIRE(s.ok());
      REQUIRE(s->enable_receive_timestamps());
      if (whole)
        REQUIRE(s->enable_receive_segments());
      CHECK(s->receive_segments() == whole);
      const auto payload = numbered(c.bytes);
      REQUIRE(server.send(payload, s->local(), c.segment));
      const auto r = receive_all(*s, c.want);
      REQUIRE(r.datagrams.size() == c.want);
      CHECK(r.datagrams.back().size() == c.last);
      std::vector<uint8_t> joined;
      for (const auto& d : r.datagrams)
        joined.insert(joined.end(), d.begin(), d.end());
      CHECK(joined == payload);
      for (std::size_t i = 0; i + 1 < r.datagrams.size(); ++i)
        CHECK(r.datagrams[i].size() == c.segment);
      for (uint64_t t : r.stamps)
        CHECK(t != 0);
      CHECK(s->counters().packets_received == c.want);
      CHECK(s->counters().bytes_received == c.bytes);
    }
  }
}

TEST_CASE("media socket: taking segments whole is refused on TCP") {
  // A listening TCP socket to connect to.
  int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(l, 1) == 0);
  socklen_t len = sizeof a;
  ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
  sockaddr_storage ss{};
  std::memcpy(&ss, &a, sizeof a);
  auto s = client::media_socket::open(client::media_protocol::tcp,
                                      *net::transport_address::from_sockaddr(ss));
  REQUIRE(s.ok());
  CHECK_FALSE(s->enable_receive_segments());
  CHECK_FALSE(s->receive_segments());
  ::close(l);
}
