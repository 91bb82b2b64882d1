// media_io in single-port mode on loopback: one UDP socket and one TCP listener shared by
// every endpoint, demultiplexed by STUN USERNAME then by address / connection.
#include "net_media_io_util.hpp"

using namespace media_io_test;

TEST_CASE("media_io single-port: UDP routed by ufrag, then by address") {
  packet_queue qa, qb;
  auto io = start_single_port({});
  const uint16_t port = io->shared_port();
  auto a = io->open("aaaa", qa.sink());
  auto b = io->open("bbbb", qb.sink());
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->udp_port() == port);
  CHECK(b->udp_port() == port);
  CHECK(b->tcp_port() == port);
  std::string error;
  packet_queue qx;
  CHECK(io->open("bbbb", qx.sink(), &error) == nullptr);
  CHECK(error.find("in use") != std::string::npos);
  CHECK(io->open("", qx.sink(), &error) == nullptr);

  udp_client client, stranger;
  const bytes check = binding_request("bbbb:xyz");
  client.send(port, check);
  auto p = qb.pop();
  REQUIRE(p);
  CHECK(p->data == check);
  CHECK(p->source == ice_tuple{ice_protocol::udp, client.address(), 0});
  client.send(port, text("media after the check"));
  p = qb.pop();
  REQUIRE(p);
  CHECK(p->data == text("media after the check"));
  CHECK(io->stats().tuples_bound == 1);

  // Garbage from an unknown address is dropped; the same socket's later check is not.
  stranger.send(port, text("garbage"));
  stranger.send(port, binding_request("zzzz:xyz")); // unknown ufrag
  stranger.send(port, binding_request("aaaa:xyz"));
  auto pa = qa.pop();
  REQUIRE(pa);
  CHECK(pa->source.remote == stranger.address());
  CHECK(io->stats().unknown_source_dropped == 2);
  CHECK(qa.size() == 0);
  CHECK(qb.size() == 0);

  CHECK(b->send(p->source, text("reply through the shared socket")));
  CHECK(client.recv() == text("reply through the shared socket"));
}

TEST_CASE("media_io single-port: ICE restart and close update the demultiplexer") {
  packet_queue qa, qb;
  auto io = start_single_port({});
  const uint16_t port = io->shared_port();
  auto a = io->open("aaaa", qa.sink());
  auto b = io->open("bbbb", qb.sink());
  REQUIRE(a);
  REQUIRE(b);
  udp_client bound;
  bound.send(port, binding_request("bbbb:r"));
  REQUIRE(qb.pop());

  CHECK_FALSE(b->set_ufrag("aaaa")); // taken
  CHECK(b->set_ufrag("bbb2"));
  udp_client fresh;
  fresh.send(port, binding_request("bbbb:r")); // the old ufrag: dropped
  fresh.send(port, binding_request("bbb2:r"));
  auto p = qb.pop();
  REQUIRE(p);
  CHECK(p->source.remote == fresh.address());
  CHECK(io->stats().unknown_source_dropped == 1);
  bound.send(port, text("still bound"));
  p = qb.pop();
  REQUIRE(p);
  CHECK(p->data == text("still bound"));

  // close(): ufrag and addresses gone, the sink never called again.
  b->close();
  const auto batches = qb.batches();
  bound.send(port, text("after close"));
  fresh.send(port, binding_request("bbb2:r"));
  udp_client marker;
  marker.send(port, binding_request("aaaa:r")); // arrives after the two above
  REQUIRE(qa.pop());
  CHECK(io->stats().unknown_source_dropped == 3);
  CHECK(qb.batches() == batches);
  CHECK(io->stats().endpoints_open == 1);
  // The ufrag can be registered again.
  auto b2 = io->open("bbb2", qb.sink());
  CHECK(b2);
}

TEST_CASE("media_io single-port: addresses per endpoint are capped") {
  packet_queue q;
  media_io_options opts;
  opts.max_tuples_per_endpoint = 2;
  auto io = start_single_port(opts);
  auto ep = io->open("aaaa", q.sink());
  REQUIRE(ep);
  udp_client c1, c2, c3;
  for (auto* c : {&c1, &c2, &c3})
    c->send(io->shared_port(), binding_request("aaaa:r"));
  REQUIRE(q.wait(3).size() == 3);
  CHECK(io->stats().tuples_evicted == 1);
  c1.send(io->shared_port(), text("evicted")); // c1 was the oldest: dropped
  c2.send(io->shared_port(), text("kept"));
  auto p = q.pop();
  REQUIRE(p);
  CHECK(p->data == text("kept"));
  CHECK(io->stats().unknown_source_dropped == 1);
}

TEST_CASE("media_io single-port: TCP bound by its first STUN frame") {
  packet_queue qa, qb;
  auto io = start_single_port({});
  const uint16_t port = io->shared_port();
  auto a = io->open("aaaa", qa.sink());
  auto b = io->open("bbbb", qb.sink());
  REQUIRE(a);
  REQUIRE(b);

  tcp_client client(port);
  const bytes check = binding_request("aaaa:tcp");
  // The first frame split over two writes, then media.
  const bytes f = tcp_client::frame(check);
  client.write_raw(bytes(f.begin(), f.begin() + 1));
  client.write_raw(bytes(f.begin() + 1, f.end()));
  client.write_frame(text("tcp media"));
  auto got = qa.wait(2);
  REQUIRE(got.size() == 2);
  CHECK(got[0].data == check);
  CHECK(got[1].data == text("tcp media"));
  const ice_tuple tuple = got[0].source;
  CHECK(tuple.protocol == ice_protocol::tcp);
  CHECK(tuple.remote == client.address());
  CHECK(got[1].source == tuple);

  CHECK(a->send(tuple, text("tcp reply")));
  CHECK(client.read_frame() == text("tcp reply"));
  CHECK(b->send(tuple, text("not b's connection")));             // queued...
  CHECK(wait_until([&] { return b->stats().tx_errors == 1; }));      // ...and refused
  CHECK(qb.size() == 0);

  // A connection whose first frame is not a check with a known ufrag is closed.
  tcp_client rude(port);
  rude.write_frame(text("hello?"));
  CHECK(rude.wait_closed());
  tcp_client wrong(port);
  wrong.write_frame(binding_request("zzzz:tcp"));
  CHECK(wrong.wait_closed());
  CHECK(io->stats().tcp_bind_failures == 2);

  // Closing the endpoint closes its connections (without a report: the sink is done).
  a->close();
  CHECK(client.wait_closed());
  CHECK(qa.size() == 0);
}

TEST_CASE("media_io single-port: TCP bind timeout, and the pending limit evicts the oldest") {
  packet_queue q;
  media_io_options opts;
  opts.tcp_bind_timeout_ms = 500; // long enough for the eviction below to come first
  opts.max_pending_tcp_connections = 1;
  auto io = start_single_port(opts);
  auto ep = io->open("aaaa", q.sink());
  REQUIRE(ep);

  tcp_client silent(io->shared_port());
  CHECK(wait_until([&] { return io->stats().tcp_connections_accepted == 1; }));
  // The pending place is taken: the newcomer evicts the oldest pending connection.
  tcp_client newcomer(io->shared_port());
  CHECK(silent.wait_closed());
  CHECK(io->stats().tcp_connections_evicted == 1);
  CHECK(io->stats().tcp_connections_refused == 0);
  CHECK(newcomer.wait_closed()); // nothing sent within 500 ms
  CHECK(io->stats().tcp_bind_timeouts == 1);

  // The pending slot is free again.
  tcp_client polite(io->shared_port());
  polite.write_frame(binding_request("aaaa:x"));
  auto p = q.pop();
  REQUIRE(p);
  CHECK(p->source.protocol == ice_protocol::tcp);
}

TEST_CASE("media_io single-port: the shared port in use fails start()") {
  auto first = start_single_port({});
  media_io_options opts;
  opts.single_port = true;
  opts.single_port_number = first->shared_port();
  media_io second(opts);
  CHECK_THROWS_AS(second.start(), std::runtime_error);
}

TEST_CASE("media_io open_udp: a plain UDP socket of its own, also in single-port mode") {
  packet_queue qa, qp;
  media_io_options o;
  auto io = start_single_port(o);
  const uint16_t shared = io->shared_port();
  // A second media_io whose range starts at the first one's shared port: that port is
  // taken, so open_udp must skip it.
  media_io_options r;
  r.min_port = shared;
  r.max_port = uint16_t(shared + 6);
  r.single_port = true;
  r.single_port_number = uint16_t(shared + 7);
  media_io io2(r);
  try {
    io2.start();
  } catch (const std::runtime_error&) {
    return; // port shared + 7 in use by someone else: nothing to check here
  }
  std::string error;
  auto plain = io2.open_udp(qp.sink(), {}, &error);
  REQUIRE_MESSAGE(plain, error);
  CHECK(plain->udp_port() != shared);
  CHECK(plain->udp_port() >= shared);
  CHECK(plain->udp_port() <= shared + 6);
  CHECK(plain->tcp_port() == 0);
  CHECK(io2.open_udp(qp.sink(), "::1", &error) == nullptr); // the other family
  CHECK(error.find("family") != std::string::npos);
  CHECK(io2.open_udp(qp.sink(), "not-an-ip", &error) == nullptr);

  // Anything from anyone is delivered: no STUN, no ufrag (the plain transport decides).
  udp_client sender;
  sender.send(plain->udp_port(), text("plain rtp"));
  auto p = qp.pop();
  REQUIRE(p);
  CHECK(p->data == text("plain rtp"));
  CHECK(p->source.remote == sender.address());
  CHECK(plain->send(p->source, text("back")));
  CHECK(sender.recv() == text("back"));
  const auto before = io2.stats().endpoints_open;
  plain->close();
  CHECK(io2.stats().endpoints_open == before - 1);
  sender.send(plain->udp_port(), text("after close"));
  CHECK_FALSE(qp.pop(std::chrono::milliseconds(100)));
}
