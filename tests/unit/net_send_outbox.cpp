// The send outbox (net/send_outbox.hpp): single-port datagrams of several endpoints queued
// on a thread that has one and sent together at its flush. Every outbox use runs on a
// thread of its own (the outbox is per thread; the test runner's thread has none, so the
// other media_io tests send at once). Results are collected there and checked here.
#include "net/send_outbox.hpp"

#include "net_media_io_util.hpp"

using namespace media_io_test;

namespace {

ice_tuple udp_to(const udp_client& c) {
  return ice_tuple{ice_protocol::udp, c.address(), 0};
}

// A single-port media_io with two endpoints, and a loopback client for each to send to.
struct two_endpoints {
  packet_queue qa, qb;
  std::unique_ptr<media_io> io = start_single_port({});
  std::shared_ptr<media_endpoint> a = io->open("aaaa", qa.sink());
  std::shared_ptr<media_endpoint> b = io->open("bbbb", qb.sink());
  udp_client ca, cb;
  two_endpoints() {
    REQUIRE(a);
    REQUIRE(b);
  }
};

// Runs `fn` on a new thread that has an outbox.
template <class Fn>
void on_outbox_thread(Fn fn) {
  std::thread t([&] {
    send_outbox::install();
    fn(*send_outbox::current());
  });
  t.join();
}

} // namespace

TEST_CASE("send outbox: datagrams of two endpoints leave in one sendmmsg at the flush") {
  two_endpoints f;
  auto &a = f.a, &b = f.b;
  auto &ca = f.ca, &cb = f.cb;
  std::size_t queued = 0, readable_before = 0;
  send_outbox::totals after{};
  on_outbox_thread([&](send_outbox& ob) {
    a->send(udp_to(ca), text("one"));
    b->send(udp_to(cb), text("two"));
    b->send(udp_to(cb), text("three"));
    queued = ob.size();
    readable_before = (ca.recv(0ms) ? 1 : 0) + (cb.recv(0ms) ? 1 : 0);
    send_outbox::flush_current();
    after = ob.stats();
  });
  CHECK(queued == 3);
  CHECK(readable_before == 0);
  CHECK(after.flushes == 1);
  CHECK(after.datagrams == 3);
  CHECK(ca.recv() == text("one"));
  CHECK(cb.recv() == text("two"));
  CHECK(cb.recv() == text("three"));
  CHECK(a->stats().tx_packets == 1);
  CHECK(b->stats().tx_packets == 2);
  CHECK(b->stats().tx_bytes == 8);
}

TEST_CASE("send outbox: what a closed endpoint queued is dropped at the flush") {
  two_endpoints f;
  auto &a = f.a, &b = f.b;
  auto &ca = f.ca, &cb = f.cb;
  send_outbox::totals after{};
  bool sent_after_close = true;
  on_outbox_thread([&](send_outbox& ob) {
    a->send(udp_to(ca), text("kept"));
    b->send(udp_to(cb), text("dropped"));
    b->close();
    sent_after_close = b->send(udp_to(cb), text("refused after close"));
    send_outbox::flush_current();
    after = ob.stats();
  });
  CHECK_FALSE(sent_after_close);
  CHECK(after.datagrams == 1);
  CHECK(ca.recv() == text("kept"));
  CHECK_FALSE(cb.recv(200ms));
}

TEST_CASE("send outbox: a full outbox flushes; a datagram over a slot goes at once, after what was queued") {
  two_endpoints f;
  auto& a = f.a;
  auto& ca = f.ca;
  std::size_t left = 0, after_big = 0;
  send_outbox::totals t{};
  on_outbox_thread([&](send_outbox& ob) {
    for (std::size_t i = 0; i <= send_outbox::capacity; ++i)
      a->send(udp_to(ca), text("n" + std::to_string(i)));
    left = ob.size();
    t = ob.stats();
    const bytes big(send_outbox::slot_bytes + 1, 0x5a);
    a->send(udp_to(ca), big);
    after_big = ob.size();
    send_outbox::flush_current();
  });
  CHECK(left == 1);
  CHECK(t.flushes == 1);
  CHECK(t.datagrams == send_outbox::capacity);
  CHECK(after_big == 0); // the queued one was flushed ahead of the big one
  for (std::size_t i = 0; i <= send_outbox::capacity; ++i)
    REQUIRE(ca.recv() == text("n" + std::to_string(i)));
  // The big one last: the datagrams of one sender keep their order.
  auto big = ca.recv();
  REQUIRE(big);
  CHECK(big->size() == send_outbox::slot_bytes + 1);
}

TEST_CASE("send outbox: flushed after a turn only once the oldest has waited max_wait_ns") {
  two_endpoints f;
  auto& a = f.a;
  auto& ca = f.ca;
  std::size_t before = 0, at = 0;
  on_outbox_thread([&](send_outbox& ob) {
    a->send(udp_to(ca), text("waiting"));
    const int64_t oldest = ob.oldest_ns();
    send_outbox::flush_current_if_waited(oldest + send_outbox::max_wait_ns - 1);
    before = ob.size();
    send_outbox::flush_current_if_waited(oldest + send_outbox::max_wait_ns);
    at = ob.size();
  });
  CHECK(before == 1);
  CHECK(at == 0);
  CHECK(ca.recv() == text("waiting"));
}

TEST_CASE("send outbox: not used in port mode, nor with batch_sends off") {
  udp_client c;
  std::size_t port_mode = 1, off = 1;
  {
    packet_queue q;
    auto io = std::make_unique<media_io>(port_mode_options(uint16_t(port_base()), 10));
    io->start();
    auto e = io->open("pppp", q.sink());
    REQUIRE(e);
    on_outbox_thread([&](send_outbox& ob) {
      e->send(udp_to(c), text("own socket"));
      port_mode = ob.size();
    });
    CHECK(c.recv() == text("own socket"));
  }
  {
    packet_queue q;
    media_io_options o;
    o.batch_sends = false;
    auto io = start_single_port(o);
    auto e = io->open("ssss", q.sink());
    REQUIRE(e);
    on_outbox_thread([&](send_outbox& ob) {
      e->send(udp_to(c), text("batching off"));
      off = ob.size();
    });
    CHECK(c.recv() == text("batching off"));
  }
  CHECK(port_mode == 0);
  CHECK(off == 0);
}
