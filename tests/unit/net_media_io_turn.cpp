// The TURN server inside media_io (net/media_io_turn.hpp) over real loopback sockets: a
// client allocates with REST credentials, reaches a transport through a permission and a
// channel, and the transport's answers come back through the allocation; a permission to
// anything that is not a transport (another loopback port) is refused and that port never
// receives a byte. Port mode, and single-port mode where the ufrag picks the transport.
#include "net_media_io_util.hpp"

#include "net/turn_credentials.hpp"
#include "net/turn_message.hpp"

#include <chrono>

using namespace media_io_test;

namespace {

const std::string secret = "turn-secret";

media_io_options with_turn(media_io_options o) {
  o.turn.enabled = true;
  o.turn.udp_port = 0; // any free one
  o.turn.server.secret = secret;
  o.turn.server.nonce_key = "nonce-key";
  return o;
}

turn_credential credential_for(const std::string& id) {
  return make_turn_credential(
    secret, id,
    std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count(),
    600);
}

// A request; with the long-term credentials once the server's nonce is known.
template <class Add>
bytes turn_request(uint16_t method, Add add, const turn_credential& cred, const std::string& nonce) {
  stun::builder b{stun::message_class::request, method, stun::random_transaction_id()};
  add(b);
  if (!nonce.empty())
    b.add_username(cred.username).add_realm("chorus").add_nonce(nonce).add_message_integrity(
      long_term_key(cred.username, "chorus", cred.password));
  return std::move(b).finish();
}

// The parsed answer (and the nonce it carries, learnt).
turn::message learn(const std::optional<bytes>& reply, std::string& nonce) {
  REQUIRE(reply);
  auto p = turn::parse(*reply);
  REQUIRE(p.ok());
  if (p.msg.stun.nonce)
    nonce = *p.msg.stun.nonce;
  return p.msg;
}

// A TURN client on a loopback UDP socket, as a browser's speaks to the server.
struct turn_test_client {
  udp_client socket;
  uint16_t server_port;
  turn_credential cred;
  std::string nonce;

  explicit turn_test_client(uint16_t port) : server_port(port), cred(credential_for("peer-1")) {}

  template <class Add>
  turn::message request(uint16_t method, Add add) {
    socket.send(server_port, turn_request(method, add, cred, nonce));
    return learn(socket.recv(), nonce);
  }
  transport_address allocate() {
    auto add = [](stun::builder& b) {
      b.add_uint32(turn::attr::requested_transport, uint32_t(turn::protocol_udp) << 24);
    };
    auto challenge = request(turn::method_allocate, add);
    REQUIRE(challenge.stun.error_code);
    CHECK(challenge.stun.error_code->code == 401);
    auto ok = request(turn::method_allocate, add);
    REQUIRE(ok.relayed);
    return *ok.relayed;
  }
  uint16_t permit(const transport_address& peer) {
    auto m = request(turn::method_create_permission, [&](stun::builder& b) {
      b.add_xor_address(turn::attr::xor_peer_address, peer);
    });
    return m.stun.error_code ? m.stun.error_code->code : 0;
  }
  uint16_t bind(uint16_t channel, const transport_address& peer) {
    auto m = request(turn::method_channel_bind, [&](stun::builder& b) {
      b.add_uint32(turn::attr::channel_number, uint32_t(channel) << 16)
        .add_xor_address(turn::attr::xor_peer_address, peer);
    });
    return m.stun.error_code ? m.stun.error_code->code : 0;
  }
  void send_indication(const transport_address& peer, const bytes& data) {
    stun::builder b{stun::message_class::indication, turn::method_send, stun::random_transaction_id()};
    b.add_xor_address(turn::attr::xor_peer_address, peer).add_raw(turn::attr::data, data);
    socket.send(server_port, std::move(b).finish());
  }
};

transport_address loopback_address(uint16_t port) { return transport_address::v4(127, 0, 0, 1, port); }

} // namespace

TEST_CASE("media_io TURN (port mode): relayed into the transport and back, nowhere else") {
  auto io = std::make_unique<media_io>(with_turn(port_mode_options(port_base(), 10)));
  io->start();
  REQUIRE(io->turn_port() != 0);
  packet_queue q;
  auto ep = io->open("aaaa", q.sink());
  REQUIRE(ep);
  udp_client bystander; // another port on the same address: not a transport
  const auto transport = loopback_address(ep->udp_port());

  turn_test_client client(io->turn_port());
  const auto relayed = client.allocate();
  CHECK(relayed.ip_string() == "127.0.0.1");
  CHECK(client.permit(bystander.address()) == 403);
  CHECK(client.permit(transport) == 0);

  // A Send indication to the bystander goes nowhere; one to the transport arrives there,
  // from the relayed address, as TURN. (The server handles them in order: once the second
  // has arrived, the first was dropped.)
  client.send_indication(bystander.address(), text("to a third party"));
  const auto check = binding_request("aaaa:cli1");
  client.send_indication(transport, check);
  auto got = q.pop();
  REQUIRE(got);
  CHECK(got->source.protocol == ice_protocol::turn);
  CHECK(got->source.remote == relayed);
  CHECK(got->data == check);
  CHECK_FALSE(bystander.recv(std::chrono::milliseconds(0)));

  // A tuple of another allocation of the same relayed address (one since ended, its
  // address handed out again) gets nothing: an error is counted.
  auto stale = got->source;
  stale.connection_id += 1000;
  REQUIRE(ep->send(stale, text("to an allocation that is gone")));
  CHECK(wait_until([&] { return ep->stats().tx_errors == 1; }));

  // The transport answers the relayed address: a Data indication from the transport.
  REQUIRE(ep->send(got->source, text("answer")));
  auto back = client.socket.recv();
  REQUIRE(back);
  auto indication = turn::parse(*back);
  REQUIRE(indication.ok());
  CHECK(indication.msg.stun.method == turn::method_data);
  REQUIRE(indication.msg.peers.size() == 1);
  CHECK(indication.msg.peers[0] == transport);
  CHECK(indication.msg.data(*back).size() == 6);

  // A channel: ChannelData both ways.
  CHECK(client.bind(0x4000, transport) == 0);
  bytes cd;
  turn::append_channel_data(cd, 0x4000, rtp_bytes(7, 90000), false);
  client.socket.send(client.server_port, cd);
  auto rtp = q.pop();
  REQUIRE(rtp);
  CHECK(rtp->data == rtp_bytes(7, 90000));
  REQUIRE(ep->send(rtp->source, rtp_bytes(8, 90000)));
  auto channel_back = client.socket.recv();
  REQUIRE(channel_back);
  auto parsed = turn::parse_channel_data(*channel_back);
  REQUIRE(parsed);
  CHECK(parsed->channel == 0x4000);
  CHECK(bytes(parsed->payload.begin(), parsed->payload.end()) == rtp_bytes(8, 90000));

  const auto s = io->turn_stats();
  CHECK(s.allocations == 1);
  CHECK(s.refused_peer == 1);
  CHECK(s.relayed_to_peer_packets == 2);
  CHECK(s.relayed_to_client_packets == 2);
  CHECK(s.dropped == 1); // the Send to the bystander
  CHECK_FALSE(bystander.recv(std::chrono::milliseconds(0)));
}

TEST_CASE("media_io TURN (single port): the binding request's ufrag picks the transport") {
  auto io = start_single_port(with_turn({}));
  packet_queue qa, qb;
  auto a = io->open("aaaa", qa.sink());
  auto b = io->open("bbbb", qb.sink());
  REQUIRE(a);
  REQUIRE(b);
  const auto shared = loopback_address(io->shared_port());

  turn_test_client client(io->turn_port());
  const auto relayed = client.allocate();
  CHECK(client.permit(shared) == 0);
  CHECK(client.permit(loopback_address(uint16_t(io->shared_port() + 1))) == 403);

  client.send_indication(shared, text("not a binding request: no transport yet"));
  const auto check = binding_request("bbbb:cli1");
  client.send_indication(shared, check);
  auto got = qb.pop();
  REQUIRE(got);
  CHECK(got->source.remote == relayed);
  CHECK(got->data == check);
  client.send_indication(shared, text("then by the relayed address"));
  auto next = qb.pop();
  REQUIRE(next);
  CHECK(next->data == text("then by the relayed address"));
  CHECK(qa.size() == 0);

  // An address the transport never heard from: nothing is sent, an error is counted.
  REQUIRE(b->send(ice_tuple{ice_protocol::turn, loopback_address(59999), 0}, text("x")));
  REQUIRE(b->send(got->source, text("answer")));
  auto back = client.socket.recv();
  REQUIRE(back);
  CHECK(turn::parse(*back).msg.stun.method == turn::method_data);
  CHECK(wait_until([&] { return b->stats().tx_errors == 1; }));
}

namespace {

// A TURN client over TCP: frames cut from the stream by their own lengths.
struct turn_tcp_client {
  int fd = -1;
  std::vector<uint8_t> in;
  turn_credential cred = credential_for("peer-tcp");
  std::string nonce;

  explicit turn_tcp_client(uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto sa = loopback(port);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sockaddr_in)) != 0)
      throw std::runtime_error("turn_tcp_client: connect");
  }
  ~turn_tcp_client() { close_now(); }
  void close_now() {
    if (fd >= 0)
      ::close(fd);
    fd = -1;
  }
  void write(const bytes& b) { REQUIRE(::send(fd, b.data(), b.size(), MSG_NOSIGNAL) == ssize_t(b.size())); }
  std::optional<bytes> frame() {
    const auto end = std::chrono::steady_clock::now() + deadline;
    for (;;) {
      auto size = turn::stream_frame_size(in);
      REQUIRE(size);
      if (*size != 0 && *size <= in.size()) {
        bytes f(in.begin(), in.begin() + std::ptrdiff_t(*size));
        in.erase(in.begin(), in.begin() + std::ptrdiff_t(*size));
        return f;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !wait_readable(fd, left))
        return std::nullopt;
      uint8_t buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0)
        return std::nullopt;
      in.insert(in.end(), buf, buf + n);
    }
  }
  template <class Add>
  turn::message request(uint16_t method, Add add) {
    write(turn_request(method, add, cred, nonce));
    return learn(frame(), nonce);
  }
};

} // namespace

TEST_CASE("media_io TURN over TCP: framed both ways, the allocation ends with its connection") {
  auto io = std::make_unique<media_io>(with_turn(port_mode_options(uint16_t(port_base() + 12), 8)));
  io->start();
  packet_queue q;
  auto ep = io->open("tcpa", q.sink());
  REQUIRE(ep);
  const auto transport = loopback_address(ep->udp_port());

  turn_tcp_client client(io->turn_port());
  auto add_transport = [](stun::builder& b) {
    b.add_uint32(turn::attr::requested_transport, uint32_t(turn::protocol_udp) << 24);
  };
  CHECK(client.request(turn::method_allocate, add_transport).stun.error_code->code == 401);
  auto ok = client.request(turn::method_allocate, add_transport);
  REQUIRE(ok.relayed);
  auto bound = client.request(turn::method_channel_bind, [&](stun::builder& b) {
    b.add_uint32(turn::attr::channel_number, 0x4002u << 16)
      .add_xor_address(turn::attr::xor_peer_address, transport);
  });
  CHECK_FALSE(bound.stun.error_code);

  // Two ChannelData messages in one write, the first of an odd size (padded).
  bytes two;
  turn::append_channel_data(two, 0x4002, rtp_bytes(1, 0, 0x11223344, false, 33), true);
  turn::append_channel_data(two, 0x4002, rtp_bytes(2, 0), true);
  client.write(two);
  auto got = q.wait(2);
  REQUIRE(got.size() == 2);
  CHECK(got[0].data == rtp_bytes(1, 0, 0x11223344, false, 33));
  CHECK(got[1].data == rtp_bytes(2, 0));
  CHECK(got[0].source.remote == *ok.relayed);

  REQUIRE(ep->send(got[0].source, rtp_bytes(3, 0, 0x55667788, false, 37)));
  auto back = client.frame();
  REQUIRE(back);
  CHECK(back->size() == 4 + 40); // padded on a stream
  auto cd = turn::parse_channel_data(*back);
  REQUIRE(cd);
  CHECK(bytes(cd->payload.begin(), cd->payload.end()) == rtp_bytes(3, 0, 0x55667788, false, 37));

  CHECK(io->turn_stats().allocations == 1);
  client.close_now();
  CHECK(wait_until([&] { return io->turn_stats().allocations == 0; }));
}

TEST_CASE("media_io TURN over TCP: a stream that is not TURN is closed") {
  auto io = std::make_unique<media_io>(with_turn(port_mode_options(uint16_t(port_base() + 20), 4)));
  io->start();
  turn_tcp_client client(io->turn_port());
  client.write(text("PUT / HTTP/1.1\r\n\r\n")); // 'P': neither STUN nor ChannelData
  const auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(client.frame()); // closed, nothing answered ...
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2)); // ... at once
}

TEST_CASE("media_io TURN over TCP: when full, the oldest connection without an allocation makes room") {
  auto opts = with_turn(port_mode_options(uint16_t(port_base() + 24), 4));
  opts.turn.max_tcp_connections = 2;
  auto io = std::make_unique<media_io>(opts);
  io->start();
  auto add_transport = [](stun::builder& b) {
    b.add_uint32(turn::attr::requested_transport, uint32_t(turn::protocol_udp) << 24);
  };
  auto binding = [] {
    stun::builder b{stun::message_class::request, stun::method_binding, stun::random_transaction_id()};
    return std::move(b).finish();
  };
  turn_tcp_client holder(io->turn_port());
  CHECK(holder.request(turn::method_allocate, add_transport).stun.error_code->code == 401);
  REQUIRE(holder.request(turn::method_allocate, add_transport).relayed);
  turn_tcp_client idle(io->turn_port()); // answered, but holds no allocation
  idle.write(binding());
  REQUIRE(idle.frame());

  turn_tcp_client newcomer(io->turn_port());
  newcomer.write(binding());
  CHECK(newcomer.frame()); // let in ...
  CHECK_FALSE(idle.frame()); // ... in the idle one's place: closed
  CHECK(io->turn_stats().refused_capacity == 1);
  // The one holding an allocation keeps it.
  auto refreshed = holder.request(turn::method_refresh, [](stun::builder& b) {
    b.add_uint32(turn::attr::lifetime, 600);
  });
  CHECK_FALSE(refreshed.stun.error_code);
  CHECK(io->turn_stats().allocations == 1);
}
