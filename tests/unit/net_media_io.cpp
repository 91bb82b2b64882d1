// media_io in port mode on loopback: a UDP socket and TCP listener per endpoint, batched
// receive and send, RFC 4571 over TCP, limits, close() and port reuse.
#include "net_media_io_util.hpp"
#include "net/media_io_socket.hpp"

#include <atomic>
#include <thread>

using namespace media_io_test;

TEST_CASE("media_io port: two endpoints on different ports, UDP both ways") {
  packet_queue qa, qb;
  media_io io(port_mode_options(port_base(), 10));
  io.start();
  std::string error;
  auto a = io.open("ua", qa.sink(), &error);
  auto b = io.open("ub", qb.sink(), &error);
  REQUIRE_MESSAGE(a, error);
  REQUIRE_MESSAGE(b, error);
  CHECK(a->udp_port() != b->udp_port());
  for (uint16_t p : {a->udp_port(), a->tcp_port(), b->udp_port(), b->tcp_port()}) {
    CHECK(p >= port_base());
    CHECK(p < port_base() + 10);
  }
  CHECK(io.stats().endpoints_open == 2);

  udp_client c1, c2;
  c1.send(a->udp_port(), text("to a"));
  c2.send(b->udp_port(), text("to b"));
  auto pa = qa.pop();
  auto pb = qb.pop();
  REQUIRE(pa);
  REQUIRE(pb);
  CHECK(pa->data == text("to a"));
  CHECK(pa->source == ice_tuple{ice_protocol::udp, c1.address(), 0});
  CHECK(pb->data == text("to b"));
  CHECK(pb->source == ice_tuple{ice_protocol::udp, c2.address(), 0});
  CHECK(qa.size() == 0);

  CHECK(a->send(pa->source, text("reply from a")));
  CHECK(c1.recv() == text("reply from a"));
  CHECK(b->send(pb->source, text("reply from b")));
  CHECK(c2.recv() == text("reply from b"));

  const auto s = a->stats();
  CHECK(s.rx_packets == 1);
  CHECK(s.rx_bytes == 4);
  CHECK(s.tx_packets == 1);
  CHECK(s.tx_bytes == 12);
  CHECK(s.tx_errors == 0);
}

TEST_CASE("media_io port: 32 datagrams each way, batched") {
  packet_queue q;
  auto opts = port_mode_options(port_base(), 10);
  opts.recv_batch = 8;
  media_io io(opts);
  io.start();
  auto ep = io.open("u", q.sink());
  REQUIRE(ep);
  udp_client c;
  const ice_tuple to{ice_protocol::udp, c.address(), 0};

  std::vector<bytes> payloads;
  for (int i = 0; i < 32; ++i)
    payloads.push_back(bytes(100 + std::size_t(i), uint8_t(i)));
  std::vector<std::span<const uint8_t>> spans(payloads.begin(), payloads.end());
  CHECK(ep->send_batch(to, spans) == 32);
  for (int i = 0; i < 32; ++i) {
    auto got = c.recv();
    REQUIRE(got);
    CHECK(*got == payloads[std::size_t(i)]);
  }
  CHECK(ep->stats().tx_packets == 32);

  for (const auto& p : payloads)
    c.send(ep->udp_port(), p);
  auto got = q.wait(32);
  REQUIRE(got.size() == 32);
  for (std::size_t i = 0; i < 32; ++i) {
    CHECK(got[i].data == payloads[i]);
    CHECK(got[i].source == to);
  }
  CHECK(q.batches() <= 32);
  CHECK(ep->stats().rx_packets == 32);
}

TEST_CASE("media_io port: a batch's reused buffers carry only its own packets") {
  // A sink that only reads its batch leaves its buffers to the next batch (io_core's
  // spares); one that moves it away leaves nothing. Either way each delivery holds exactly
  // the datagrams that arrived for it: a long packet first, then shorter ones, one at a
  // time, alternating between the two kinds of sink.
  struct seen {
    std::mutex m;
    std::condition_variable cv;
    std::vector<std::vector<bytes>> batches;
  };
  seen kept_seen, moved_seen;
  auto record = [](seen& s, const packet_batch& b) {
    std::vector<bytes> one;
    for (const auto& p : b.packets) {
      auto span = p.bytes(b.data);
      one.emplace_back(span.begin(), span.end());
    }
    std::lock_guard lock(s.m);
    s.batches.push_back(std::move(one));
    s.cv.notify_all();
  };
  auto wait_for = [](seen& s, std::size_t n) {
    std::unique_lock lock(s.m);
    return s.cv.wait_for(lock, deadline, [&] { return s.batches.size() >= n; });
  };
  media_io io(port_mode_options(port_base(), 10));
  io.start();
  auto kept = io.open("uk", [&](packet_batch&& b) { record(kept_seen, b); });
  auto moved = io.open("um", [&](packet_batch&& b) {
    packet_batch taken = std::move(b); // as a message would
    record(moved_seen, taken);
  });
  REQUIRE(kept);
  REQUIRE(moved);
  udp_client c;
  const std::vector<bytes> payloads{bytes(1200, 0xAA), bytes(3, 0x01), bytes(700, 0x02),
                                    bytes(1, 0x03), bytes(1500, 0x04), bytes(20, 0x05)};
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    c.send(kept->udp_port(), payloads[i]);
    REQUIRE(wait_for(kept_seen, i + 1));
    c.send(moved->udp_port(), payloads[i]);
    REQUIRE(wait_for(moved_seen, i + 1));
  }
  for (seen* s : {&kept_seen, &moved_seen}) {
    std::lock_guard lock(s->m);
    REQUIRE(s->batches.size() == payloads.size());
    for (std::size_t i = 0; i < payloads.size(); ++i) {
      REQUIRE(s->batches[i].size() == 1);
      CHECK(s->batches[i][0] == payloads[i]);
    }
  }
}

TEST_CASE("udp_receiver: the kernel's receive time, not the read's") {
  // A datagram waits 30 ms in the socket before it is read: its timestamp is when it came.
  auto sock = chorus::net::sock::bind_udp(transport_address::v4(127, 0, 0, 1, 0));
  REQUIRE(sock.fd);
  const uint16_t port = chorus::net::sock::local_port(sock.fd.get());
  const auto wall_us = [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
  };
  udp_client c;
  const int64_t before = wall_us();
  c.send(port, text("early"));
  REQUIRE(wait_readable(sock.fd.get(), deadline));
  const int64_t in_socket = wall_us();
  while (wall_us() - in_socket < 30'000) {
  } // not a synchronisation: the datagram is there; this only ages it
  chorus::net::sock::udp_receiver rx(4);
  REQUIRE(rx.receive(sock.fd.get()) == 1);
  const int64_t read_at = wall_us();
  const int64_t stamped = rx.realtime_ns(0) / 1000;
  CHECK(stamped >= before - 1000); // the two clocks are one; a little slack for rounding
  CHECK(stamped <= in_socket + 1000);
  CHECK(read_at - stamped >= 30'000);
}

TEST_CASE("media_io port: each datagram carries its arrival on the steady clock") {
  packet_queue q;
  media_io io(port_mode_options(port_base(), 10));
  io.start();
  auto ep = io.open("u", q.sink());
  REQUIRE(ep);
  const auto steady_us = [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch()).count();
  };
  udp_client c;
  const int64_t before = steady_us();
  c.send(ep->udp_port(), text("one"));
  c.send(ep->udp_port(), text("two"));
  auto got = q.wait(2);
  const int64_t after = steady_us();
  REQUIRE(got.size() == 2);
  for (auto& r : got) {
    CHECK(r.arrival_us >= before - 1000);
    CHECK(r.arrival_us <= after);
  }
  CHECK(got[0].arrival_us <= got[1].arrival_us);
}

TEST_CASE("media_io port: TCP frames both ways, connection close reported") {
  packet_queue q;
  media_io io(port_mode_options(port_base(), 10));
  io.start();
  auto ep = io.open("u", q.sink());
  REQUIRE(ep);

  auto client = std::make_unique<tcp_client>(ep->tcp_port());
  const bytes check = binding_request("u:c"), p1 = text("first"), p2(1300, 0x42),
              p3 = text("third");
  client->write_frame(check); // ICE-TCP: a binding request first
  REQUIRE(q.pop());
  client->write_frame(p1);
  const bytes f2 = tcp_client::frame(p2);
  client->write_raw(bytes(f2.begin(), f2.begin() + 700)); // one frame over two writes
  client->write_raw(bytes(f2.begin() + 700, f2.end()));
  client->write_frame(p3);

  auto got = q.wait(3);
  REQUIRE(got.size() == 3);
  CHECK(got[0].data == p1);
  CHECK(got[1].data == p2);
  CHECK(got[2].data == p3);
  const ice_tuple tuple = got[0].source;
  CHECK(tuple.protocol == ice_protocol::tcp);
  CHECK(tuple.remote == client->address());
  CHECK(tuple.connection_id != 0);
  CHECK(got[1].source == tuple);
  CHECK(got[2].source == tuple);

  CHECK(ep->send(tuple, text("framed reply")));
  CHECK(client->read_frame() == text("framed reply"));
  const bytes r1 = text("b1"), r2(2000, 7);
  const std::span<const uint8_t> batch[] = {r1, r2};
  CHECK(ep->send_batch(tuple, batch) == 2);
  CHECK(client->read_frame() == r1);
  CHECK(client->read_frame() == r2);
  CHECK_FALSE(ep->send(tuple, bytes{})); // empty frame refused (and counted)
  CHECK(ep->stats().tx_errors == 1);

  client.reset(); // client closes: the endpoint hears about it
  auto closed = q.pop();
  REQUIRE(closed);
  CHECK(closed->connection_closed);
  CHECK(closed->source == tuple);
  CHECK(closed->data.empty());
  CHECK(wait_until([&] { return io.stats().tcp_connections_closed == 1; }));

  // A send on the closed connection is accepted into the queue but fails there.
  CHECK(ep->send(tuple, text("late")));
  CHECK(wait_until([&] { return ep->stats().tx_errors == 2; }));
}

TEST_CASE("media_io port: TCP connections per endpoint are limited") {
  packet_queue q;
  auto opts = port_mode_options(port_base(), 10);
  opts.max_tcp_connections_per_endpoint = 1;
  media_io io(opts);
  io.start();
  auto ep = io.open("u", q.sink());
  REQUIRE(ep);
  tcp_client first(ep->tcp_port());
  first.write_frame(binding_request("u:c"));
  REQUIRE(q.pop());
  tcp_client second(ep->tcp_port()); // the one place is bound: refused
  CHECK(second.wait_closed());
  CHECK(io.stats().tcp_connections_refused == 1);
  first.write_frame(text("still here"));
  auto p = q.pop();
  REQUIRE(p);
  CHECK(p->data == text("still here"));
}

TEST_CASE("media_io port: half-open TCP connections are evicted, timed out, or closed") {
  packet_queue q;
  auto opts = port_mode_options(port_base(), 10);
  opts.max_tcp_connections_per_endpoint = 2;
  opts.tcp_bind_timeout_ms = 1500;
  media_io io(opts);
  io.start();
  auto ep = io.open("u", q.sink());
  REQUIRE(ep);
  // Two silent connections fill the places; a third evicts the oldest silent one.
  tcp_client s1(ep->tcp_port()), s2(ep->tcp_port());
  CHECK(wait_until([&] { return io.stats().tcp_connections_accepted == 2; }));
  tcp_client s3(ep->tcp_port());
  CHECK(s1.wait_closed());
  CHECK(io.stats().tcp_connections_evicted == 1);
  CHECK(io.stats().tcp_connections_refused == 0);
  // A client that checks in binds its connection and is not evicted by newcomers.
  tcp_client good(ep->tcp_port()); // evicts s2
  good.write_frame(binding_request("u:c"));
  REQUIRE(q.pop());
  CHECK(s2.wait_closed());
  tcp_client s4(ep->tcp_port()); // evicts s3, the only unbound one
  CHECK(s3.wait_closed());
  CHECK(io.stats().tcp_connections_evicted == 3);
  // s4 sends nothing: closed at the bind timeout; the bound one stays.
  CHECK(s4.wait_closed());
  CHECK(io.stats().tcp_bind_timeouts == 1);
  // A first frame that is not a binding request for this transport closes the connection.
  tcp_client rude(ep->tcp_port());
  rude.write_frame(text("hello?"));
  CHECK(rude.wait_closed());
  tcp_client wrong(ep->tcp_port());
  wrong.write_frame(binding_request("zzzz:c"));
  CHECK(wrong.wait_closed());
  CHECK(io.stats().tcp_bind_failures == 2);
  good.write_frame(text("still here"));
  auto p = q.pop();
  REQUIRE(p);
  CHECK(p->data == text("still here"));
  CHECK(q.size() == 0); // nothing of the unbound ones reached the sink
}

TEST_CASE("media_io port: TCP send buffer is bounded, overflow dropped and counted") {
  packet_queue q;
  auto opts = port_mode_options(port_base(), 10);
  opts.max_tcp_send_buffer = 64 * 1024;
  media_io io(opts);
  io.start();
  auto ep = io.open("u", q.sink());
  REQUIRE(ep);
  tcp_client reader_that_never_reads(ep->tcp_port(), 4096);
  reader_that_never_reads.write_frame(binding_request("u:c"));
  auto hello = q.pop();
  REQUIRE(hello);
  const bytes big(60000, 0x5A);
  constexpr int frames = 200; // 12 MB: more than the socket buffers and the bound together
  for (int i = 0; i < frames; ++i)
    CHECK(ep->send(hello->source, big));
  CHECK(wait_until([&] {
    const auto s = ep->stats();
    return s.tx_packets + s.tx_errors == frames;
  }));
  const auto s = ep->stats();
  CHECK(s.tx_errors > 0);
  CHECK(s.tx_packets < frames);
}

TEST_CASE("media_io port: close stops delivery, frees the port; exhausted range fails") {
  packet_queue q;
  std::unique_ptr<media_io> io;
  std::shared_ptr<media_endpoint> ep;
  for (uint16_t p = uint16_t(port_base() + 20); p < port_base() + 30 && !ep; ++p) {
    io = std::make_unique<media_io>(port_mode_options(p, 1)); // a range of one port
    io->start();
    ep = io->open("u", q.sink());
  }
  REQUIRE(ep);
  const uint16_t port = ep->udp_port();
  CHECK(ep->tcp_port() == port);

  std::string error;
  packet_queue q2;
  CHECK(io->open("v", q2.sink(), &error) == nullptr);
  CHECK(error.find("no free port") != std::string::npos);

  // Traffic in flight while closing: once close() returns, the sink is never called again.
  udp_client c;
  std::atomic<bool> stop{false};
  std::thread sender([&] {
    auto sa = loopback(port);
    const bytes b = text("flood");
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    while (!stop)
      ::sendto(fd, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof(sockaddr_in));
    ::close(fd);
  });
  REQUIRE(q.pop());
  ep->close();
  const std::size_t batches_at_close = q.batches();
  CHECK(ep->closed());
  CHECK_FALSE(ep->send({ice_protocol::udp, c.address(), 0}, text("x")));
  stop = true;
  sender.join();
  CHECK(q.batches() == batches_at_close);
  CHECK(io->stats().endpoints_open == 0);

  auto again = io->open("u", q2.sink(), &error);
  REQUIRE_MESSAGE(again, error);
  CHECK(again->udp_port() == port);
  c.send(port, text("new life"));
  auto p = q2.pop();
  REQUIRE(p);
  CHECK(p->data == text("new life"));
  CHECK(q.batches() == batches_at_close);
}

TEST_CASE("media_io port: IPv6 listen address") {
  {
    int probe = ::socket(AF_INET6, SOCK_DGRAM, 0);
    auto sa = loopback(0, true);
    const bool ok = probe >= 0 && ::bind(probe, reinterpret_cast<sockaddr*>(&sa), sa_len(true)) == 0;
    if (probe >= 0)
      ::close(probe);
    if (!ok) {
      MESSAGE("no IPv6 loopback here: skipped");
      return;
    }
  }
  packet_queue q;
  auto opts = port_mode_options(port_base(), 10);
  opts.listen_ip = "::1";
  media_io io(opts);
  io.start();
  auto ep = io.open("u", q.sink());
  REQUIRE(ep);
  udp_client c(true);
  c.send(ep->udp_port(), text("over v6"));
  auto p = q.pop();
  REQUIRE(p);
  CHECK(p->source.remote == c.address());
  CHECK(p->source.remote.family == ip_family::ipv6);
  CHECK(ep->send(p->source, text("back over v6")));
  CHECK(c.recv() == text("back over v6"));
}

TEST_CASE("media_io: misuse is reported, not crashed on") {
  packet_queue q;
  std::string error;
  {
    media_io io(port_mode_options(port_base(), 10));
    CHECK(io.open("u", q.sink(), &error) == nullptr); // not started
    CHECK_FALSE(error.empty());
  }
  {
    auto opts = port_mode_options(port_base(), 10);
    opts.listen_ip = "localhost";
    media_io io(opts);
    CHECK_THROWS_AS(io.start(), std::runtime_error);
  }
  std::shared_ptr<media_endpoint> survivor;
  {
    media_io io(port_mode_options(port_base(), 10));
    io.start();
    CHECK(io.open("u", nullptr, &error) == nullptr); // no sink
    survivor = io.open("u", q.sink());
    REQUIRE(survivor);
  }
  // The endpoint outlived its media_io: closed, every call a no-op.
  CHECK(survivor->closed());
  CHECK_FALSE(survivor->send({}, text("x")));
  CHECK_FALSE(survivor->set_ufrag("new"));
  survivor->close();
}


TEST_CASE("media_io port: the rest of a frame sent at once is waited for") {
  // A wide gap (200 ms, a very slow sender's) so that neither the test's own timing nor an
  // I/O thread that reads late on a loaded machine can decide (a datagram the kernel stamped
  // longer ago than the gap is not waited for): the frame's first two packets are held until
  // its third, ending it, comes.
  packet_queue q;
  auto opts = port_mode_options(port_base(), 10);
  opts.burst = {.max_gap_ns = 200'000'000, .budget_share = 1, .max_budget_ns = 1'000'000'000};
  media_io io(opts);
  io.start();
  auto ep = io.open("u", q.sink());
  REQUIRE(ep);
  udp_client c;

  SUBCASE("a frame's packets leave in one batch") {
    c.send(ep->udp_port(), rtp_bytes(100, 3000, 0x01020304, false, 40));
    c.send(ep->udp_port(), rtp_bytes(101, 3000, 0x01020304, false, 40));
    // Held once two packets of the open frame are read: the second is not delivered while
    // the frame is open (well within its 200 ms). The first may leave alone, when the I/O
    // thread read it before the second came (nothing was open yet): the sanitizers' build
    // sends slowly enough for that.
    CHECK_FALSE(wait_until([&] { return q.size() >= 2; }, std::chrono::milliseconds(5)));
    const std::size_t before = q.batches();
    CHECK(before <= 1);
    c.send(ep->udp_port(), rtp_bytes(102, 3000, 0x01020304, true, 40));
    auto got = q.wait(3);
    REQUIRE(got.size() == 3);
    CHECK(got[2].data == rtp_bytes(102, 3000, 0x01020304, true, 40));
    CHECK(q.batches() == before + 1); // what was held left with the frame's end
    // A wait ends when the frame does, not by its timeout. (On a loaded machine the I/O
    // thread may read the second and third packets together: then nothing waited.)
    if (wait_until([&] { return io.stats().burst_waits >= 1; }, std::chrono::milliseconds(200)))
      CHECK(wait_until([&] { return io.stats().burst_waits_joined >= 1; }));
  }
  SUBCASE("an ended frame and audio are not held") {
    c.send(ep->udp_port(), rtp_bytes(100, 3000, 0x01020304, false, 40));
    c.send(ep->udp_port(), rtp_bytes(101, 3000, 0x01020304, true, 40)); // the frame's end
    REQUIRE(q.wait(2).size() == 2);
    c.send(ep->udp_port(), rtp_bytes(102, 3960, 0x01020304, false, 40)); // audio: a timestamp each
    c.send(ep->udp_port(), rtp_bytes(103, 4920, 0x01020304, false, 40));
    REQUIRE(q.wait(2).size() == 2);
    CHECK(io.stats().burst_waits == 0);
  }
  SUBCASE("a frame whose rest never comes leaves after the gap") {
    const auto start = std::chrono::steady_clock::now();
    c.send(ep->udp_port(), rtp_bytes(100, 3000, 0x01020304, false, 40));
    c.send(ep->udp_port(), rtp_bytes(101, 3000, 0x01020304, false, 40));
    REQUIRE(q.wait(2).size() == 2);
    // Held until 200 ms after the second packet's arrival, which came after `start`.
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(200));
    CHECK(wait_until([&] { return io.stats().burst_waits == 1; }));
    CHECK(io.stats().burst_waits_joined == 0);
  }
}
