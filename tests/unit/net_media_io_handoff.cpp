// Connections the signaling edge hands to the media I/O (net/stream_handoff.hpp) over real
// loopback sockets: an ICE-TCP connection accepted elsewhere, with the bytes already read
// from it, reaches the transport its first binding request's ufrag names (port mode, where
// nothing else looks transports up by ufrag), and the transport's answers go back on it; a
// first frame naming no transport closes it.
#include "net_media_io_util.hpp"

#include <fcntl.h>

using namespace media_io_test;

namespace {

// A loopback listener standing in for the signaling port: accepts one connection and reads
// `head_bytes` of it, as the edge's sniff does.
struct edge_stand_in {
  int listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  uint16_t port = 0;

  edge_stand_in() {
    auto sa = loopback(0);
    REQUIRE(::bind(listen_fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sockaddr_in)) == 0);
    REQUIRE(::listen(listen_fd, 8) == 0);
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    ::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&local), &len);
    port = transport_address::from_sockaddr(local)->port;
  }
  ~edge_stand_in() { ::close(listen_fd); }

  // The accepted connection (nonblocking) and the first `head_bytes` read from it.
  std::pair<int, bytes> take(std::size_t head_bytes) {
    REQUIRE(wait_readable(listen_fd, deadline));
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    REQUIRE(fd >= 0);
    bytes head(head_bytes);
    std::size_t got = 0;
    while (got < head_bytes) {
      REQUIRE(wait_readable(fd, deadline));
      const ssize_t n = ::recv(fd, head.data() + got, head_bytes - got, 0);
      REQUIRE(n > 0);
      got += std::size_t(n);
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    return {fd, head};
  }
};

} // namespace

TEST_CASE("media_io handoff: ICE-TCP from the signaling port reaches its transport by ufrag") {
  auto io = std::make_unique<media_io>(port_mode_options(uint16_t(port_base() + 40), 4));
  io->start();
  packet_queue q;
  auto ep = io->open("hand", q.sink());
  REQUIRE(ep);
  auto handoff = io->handoff(true, false);
  CHECK(handoff->takes_ice_tcp());
  CHECK_FALSE(handoff->takes_turn());
  edge_stand_in edge;

  tcp_client client(edge.port);
  const bytes check = binding_request("hand:tcp");
  client.write_frame(check);
  client.write_frame(text("media after the check"));
  auto [fd, head] = edge.take(7); // part of the first frame, as a sniff may leave it
  handoff->adopt_ice_tcp(fd, client.address(), head);

  auto got = q.wait(2);
  REQUIRE(got.size() == 2);
  CHECK(got[0].data == check);
  CHECK(got[1].data == text("media after the check"));
  const ice_tuple tuple = got[0].source;
  CHECK(tuple.protocol == ice_protocol::tcp);
  CHECK(tuple.remote == client.address());
  CHECK(ep->send(tuple, text("answer")));
  CHECK(client.read_frame() == text("answer"));

  SUBCASE("after an ICE restart, the new ufrag") {
    REQUIRE(ep->set_ufrag("hand2"));
    tcp_client again(edge.port);
    again.write_frame(binding_request("hand2:tcp"));
    auto [fd2, head2] = edge.take(10);
    handoff->adopt_ice_tcp(fd2, again.address(), head2);
    auto more = q.wait(1);
    REQUIRE(more.size() == 1);
    CHECK(more[0].source.remote == again.address());
  }
  SUBCASE("a first frame naming no transport closes the connection") {
    tcp_client stranger(edge.port);
    stranger.write_frame(binding_request("nobody:tcp"));
    auto [fd3, head3] = edge.take(10);
    handoff->adopt_ice_tcp(fd3, stranger.address(), head3);
    CHECK(stranger.wait_closed());
    CHECK(wait_until([&] { return io->stats().tcp_bind_failures == 1; }));
  }
}

TEST_CASE("media_io handoff: nothing is taken where it is off") {
  auto io = std::make_unique<media_io>(port_mode_options(uint16_t(port_base() + 48), 2));
  io->start();
  auto handoff = io->handoff(false, true); // TURN asked for, but no TURN server runs
  CHECK_FALSE(handoff->takes_ice_tcp());
  CHECK_FALSE(handoff->takes_turn());
  edge_stand_in edge;
  tcp_client client(edge.port);
  client.write_frame(binding_request("x:tcp"));
  auto [fd, head] = edge.take(4);
  handoff->adopt_ice_tcp(fd, client.address(), head); // closed at once
  CHECK(client.wait_closed());
  CHECK(handoff->open_turn_stream(client.address(), nullptr) == nullptr);
}
