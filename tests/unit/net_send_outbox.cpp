// The send outbox (net/send_outbox.hpp): single-port datagrams of several endpoints queued
// on a thread that has one and sent together at its flush. Every outbox use runs on a
// thread of its own (the outbox is per thread; the test runner's thread has none, so the
// other media_io tests send at once). Results are collected there and checked here.
#include "net/media_io_core.hpp"
#include "net/segment_receive.hpp"
#include "net/send_outbox.hpp"
#include "net/udp_uring.hpp"

#include <arpa/inet.h>
#include <netinet/udp.h>

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

// Runs `fn` on a new thread that has an outbox (with an io_uring if `use_uring` and the
// kernel allows it).
template <class Fn>
void on_outbox_thread(Fn fn, bool use_uring = true) {
  std::thread t([&] {
    send_outbox::install(use_uring);
    fn(*send_outbox::current());
  });
  t.join();
}

// Whether this machine's kernel lets a process open an io_uring (tests of the ring's path
// say which path they took; both are checked, whichever the machine has).
bool uring_available() {
  int err = 0;
  const bool ok = udp_uring::open(8, &err) != nullptr;
  if (!ok)
    MESSAGE("io_uring not available here (errno " << err << "): port mode sends at once");
  return ok;
}

// A datagram and the port it came from.
std::optional<std::pair<bytes, uint16_t>> recv_from(int fd) {
  if (!wait_readable(fd, deadline))
    return std::nullopt;
  bytes b(2048);
  sockaddr_in from{};
  socklen_t len = sizeof from;
  const ssize_t n = ::recvfrom(fd, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
  if (n < 0)
    return std::nullopt;
  b.resize(std::size_t(n));
  return std::pair{b, ntohs(from.sin_port)};
}

// A loopback UDP socket bound to an ephemeral port.
struct bound_socket {
  bool v6 = false;
  int fd = -1;
  uint16_t port = 0;
  explicit bound_socket(bool ipv6 = false)
      : v6(ipv6), fd(::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    auto sa = loopback(0, v6);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sa_len(v6)) == 0);
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
    port = ntohs(v6 ? reinterpret_cast<sockaddr_in6&>(local).sin6_port
                    : reinterpret_cast<sockaddr_in&>(local).sin_port);
  }
  ~bound_socket() { ::close(fd); }
  sockaddr_storage address() const { return loopback(port, v6); }
};

// An endpoint's send state of the test's own, for driving an outbox directly: on the
// socket `s` (single-port style: endpoints share it), segmentation on.
std::shared_ptr<detail::endpoint_state> raw_endpoint(const bound_socket& s) {
  auto ep = std::make_shared<detail::endpoint_state>();
  ep->family = s.v6 ? AF_INET6 : AF_INET;
  ep->udp_fd = s.fd;
  ep->shared_socket = true;
  ep->batch_sends = true;
  ep->segment_sends = true;
  return ep;
}

// A datagram of `size` bytes that says which one it is (its first two bytes, then its
// index's low byte throughout).
bytes numbered(std::size_t index, std::size_t size) {
  bytes b(size, uint8_t(index));
  b[0] = uint8_t(index >> 8);
  if (size > 1)
    b[1] = uint8_t(index);
  return b;
}

// A port-mode media_io with two endpoints (a socket each), and a receiving socket for each.
struct two_port_endpoints {
  packet_queue qa, qb;
  std::unique_ptr<media_io> io;
  std::shared_ptr<media_endpoint> a, b;
  bound_socket ra, rb;
  two_port_endpoints() {
    io = std::make_unique<media_io>(port_mode_options(uint16_t(port_base() + 40), 10));
    io->start();
    a = io->open("pa", qa.sink());
    b = io->open("pb", qb.sink());
    REQUIRE(a);
    REQUIRE(b);
  }
  ice_tuple to_a() const { return {ice_protocol::udp, transport_address::v4(127, 0, 0, 1, ra.port), 0}; }
  ice_tuple to_b() const { return {ice_protocol::udp, transport_address::v4(127, 0, 0, 1, rb.port), 0}; }
};

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

TEST_CASE("send outbox: not used in port mode without an io_uring, nor with batch_sends off") {
  udp_client c;
  std::size_t port_mode = 1, off = 1;
  {
    packet_queue q;
    auto io = std::make_unique<media_io>(port_mode_options(uint16_t(port_base()), 10));
    io->start();
    auto e = io->open("pppp", q.sink());
    REQUIRE(e);
    on_outbox_thread(
      [&](send_outbox& ob) {
        CHECK_FALSE(ob.mixes_sockets());
        e->send(udp_to(c), text("own socket"));
        port_mode = ob.size();
      },
      false);
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

TEST_CASE("udp_uring: datagrams on two sockets in one submission, each from its own socket") {
  if (!uring_available()) {
    int err = 0;
    CHECK(udp_uring::open(8, &err) == nullptr);
    CHECK(err != 0); // the reason is given
    return;
  }
  auto ring = udp_uring::open(8);
  REQUIRE(ring);
  CHECK(ring->capacity() == 8);
  bound_socket s1, s2, d1, d2;
  const bytes p1 = text("from one"), p2 = text("from two"), p3 = text("one again");
  sockaddr_storage to1{}, to2{};
  const socklen_t len = sa_len(false);
  to1 = loopback(d1.port, false);
  to2 = loopback(d2.port, false);
  iovec iov[3] = {{const_cast<uint8_t*>(p1.data()), p1.size()},
                  {const_cast<uint8_t*>(p2.data()), p2.size()},
                  {const_cast<uint8_t*>(p3.data()), p3.size()}};
  msghdr m[3]{};
  for (int i = 0; i < 3; ++i) {
    m[i].msg_iov = &iov[i];
    m[i].msg_iovlen = 1;
    m[i].msg_name = i == 1 ? &to2 : &to1;
    m[i].msg_namelen = len;
  }
  const udp_uring::op ops[3] = {{s1.fd, &m[0]}, {s2.fd, &m[1]}, {s1.fd, &m[2]}};
  int results[3] = {};
  CHECK(ring->send(ops, results) == 3);
  CHECK(ring->enters() == 1);
  CHECK(results[0] == int(p1.size()));
  CHECK(results[1] == int(p2.size()));
  CHECK(results[2] == int(p3.size()));
  auto r1 = recv_from(d1.fd), r3 = recv_from(d1.fd), r2 = recv_from(d2.fd);
  REQUIRE(r1);
  REQUIRE(r2);
  REQUIRE(r3);
  CHECK(r1->first == p1);
  CHECK(r1->second == s1.port);
  CHECK(r3->first == p3); // one socket's datagrams in their order
  CHECK(r2->first == p2);
  CHECK(r2->second == s2.port);
}

// One datagram's message for udp_uring: `payload` to 127.0.0.1:`port` (not copyable: the
// message points into it).
struct one_message {
  one_message(const bytes& payload, uint16_t port)
    : to(loopback(port, false)), iov{const_cast<uint8_t*>(payload.data()), payload.size()} {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_name = &to;
    msg.msg_namelen = sa_len(false);
  }
  one_message(const one_message&) = delete;
  one_message& operator=(const one_message&) = delete;
  sockaddr_storage to;
  iovec iov;
  msghdr msg{};
};

// A ring of `capacity` ops, a socket to send from, and one datagram's message to another.
struct ring_case {
  ring_case(unsigned capacity, const char* payload)
    : ring(udp_uring::open(capacity)), p(text(payload)), m(p, d.port) {
    REQUIRE(ring);
  }
  decltype(udp_uring::open(1)) ring;
  bound_socket s, d;
  const bytes p;
  one_message m;
};

TEST_CASE("udp_uring: a refused send fails alone; ops over the capacity are refused") {
  if (!uring_available())
    return; // the case above checked the refusal
  ring_case f{2, "x"};
  msghdr& ok = f.m.msg;
  const udp_uring::op ops[3] = {{-1, &ok}, {f.s.fd, &ok}, {f.s.fd, &ok}}; // a bad socket first
  int results[3] = {};
  CHECK(f.ring->send(ops, results) == 1);
  CHECK(results[0] == -EBADF);
  CHECK(results[1] == int(f.p.size()));
  CHECK(results[2] == -E2BIG);
  CHECK_FALSE(f.ring->broken());
  auto got = recv_from(f.d.fd);
  REQUIRE(got);
  CHECK(got->first == f.p);
}

TEST_CASE("send outbox: port mode with an io_uring: two endpoints' datagrams leave in one submission, each from its own port") {
  const bool ring = uring_available();
  two_port_endpoints f;
  std::size_t queued = 0;
  send_outbox::totals after{};
  on_outbox_thread([&](send_outbox& ob) {
    CHECK(ob.mixes_sockets() == ring);
    f.a->send(f.to_a(), text("a one"));
    f.b->send(f.to_b(), text("b one"));
    f.a->send(f.to_a(), text("a two"));
    queued = ob.size();
    send_outbox::flush_current();
    after = ob.stats();
  });
  if (ring) {
    CHECK(queued == 3);
    CHECK(after.flushes == 1);
    CHECK(after.ring_flushes == 1);
    CHECK(after.datagrams == 3);
  } else {
    CHECK(queued == 0); // sent at once
  }
  auto a1 = recv_from(f.ra.fd), a2 = recv_from(f.ra.fd), b1 = recv_from(f.rb.fd);
  REQUIRE(a1);
  REQUIRE(a2);
  REQUIRE(b1);
  CHECK(a1->first == text("a one"));
  CHECK(a2->first == text("a two"));
  CHECK(b1->first == text("b one"));
  CHECK(a1->second == f.a->udp_port());
  CHECK(a2->second == f.a->udp_port());
  CHECK(b1->second == f.b->udp_port());
  CHECK(f.a->stats().tx_packets == 2);
  CHECK(f.b->stats().tx_packets == 1);
  CHECK(f.a->stats().tx_bytes == 10);
}

TEST_CASE("send outbox: port mode with an io_uring: what a closed endpoint queued is dropped, the other's leaves") {
  if (!uring_available())
    return; // without a ring nothing is queued in port mode (checked above)
  two_port_endpoints f;
  send_outbox::totals after{};
  on_outbox_thread([&](send_outbox&) {
    f.a->send(f.to_a(), text("kept"));
    f.b->send(f.to_b(), text("dropped"));
    f.b->close(); // its socket is closed: the flush must not use it
    send_outbox::flush_current();
    after = send_outbox::current()->stats();
  });
  CHECK(after.datagrams == 1);
  CHECK(after.failed == 0);
  auto a = recv_from(f.ra.fd);
  REQUIRE(a);
  CHECK(a->first == text("kept"));
  CHECK_FALSE(wait_readable(f.rb.fd, 200ms));
}

TEST_CASE("udp_uring: an op failing as unsupported (EINVAL) breaks the ring; later sends fail at once") {
  if (!uring_available())
    return; // checked by the first udp_uring case
  ring_case f{4, "y"};
  msghdr& good = f.m.msg;
  msghdr bad = f.m.msg;
  bad.msg_namelen = 3; // too short for any address: EINVAL
  const udp_uring::op first[2] = {{f.s.fd, &good}, {f.s.fd, &bad}};
  int results[2] = {};
  CHECK(f.ring->send(first, results) == 1);
  CHECK(results[0] == int(f.p.size()));
  CHECK(results[1] == -EINVAL);
  CHECK(f.ring->broken());
  const udp_uring::op later[1] = {{f.s.fd, &good}};
  CHECK(f.ring->send(later, results) == 0);
  CHECK(results[0] == -EBADF);
  auto got = recv_from(f.d.fd);
  REQUIRE(got);
  CHECK(got->first == f.p);
  CHECK_FALSE(wait_readable(f.d.fd, 100ms)); // the later one was not sent
}

// ---- segmentation (UDP GSO) ------------------------------------------------------------

namespace {

// One datagram of a segmentation case: from which of two endpoints, to which of two
// receivers, how large.
struct queued_datagram {
  int from = 0;
  int to = 0;
  std::size_t size = 0;
};

struct segmentation_case {
  const char* name;
  std::vector<queued_datagram> datagrams;
  uint64_t segmented_messages; // messages of two or more datagrams
  uint64_t segmented_datagrams;
};

std::vector<queued_datagram> repeated(std::size_t n, std::size_t size) {
  return std::vector<queued_datagram>(n, queued_datagram{0, 0, size});
}

} // namespace

TEST_CASE("send outbox: a sender's run of equal-size datagrams to one receiver leaves as one segmented message") {
  const segmentation_case cases[] = {
    {"a frame: equal sizes, the last shorter", {{0, 0, 1000}, {0, 0, 1000}, {0, 0, 1000}, {0, 0, 300}}, 1, 4},
    {"all equal", {{0, 0, 1200}, {0, 0, 1200}}, 1, 2},
    {"one datagram alone", {{0, 0, 1200}}, 0, 0},
    {"a larger one starts a new run", {{0, 0, 300}, {0, 0, 1000}, {0, 0, 1000}}, 1, 2},
    {"a shorter one ends the run", {{0, 0, 1000}, {0, 0, 500}, {0, 0, 500}}, 1, 2},
    {"another receiver in between", {{0, 0, 1000}, {0, 1, 1000}, {0, 0, 1000}}, 0, 0},
    {"another sender to the same receiver", {{0, 0, 1000}, {1, 0, 1000}}, 0, 0},
    {"two senders' runs, one after the other", {{0, 0, 800}, {0, 0, 800}, {1, 1, 800}, {1, 1, 800}, {1, 1, 20}}, 2, 5},
    {"the byte limit: 59 of 1100 bytes, then 5", repeated(64, 1100), 2, 64},
    {"a full outbox of equal datagrams in one message (capacity == max_segments)", repeated(send_outbox::capacity, 100), 1, 64},
    {"over an Ethernet MTU's segment: not segmented", repeated(3, send_outbox::max_segment_bytes + 1), 0, 0},
    {"the largest segment", repeated(3, send_outbox::max_segment_bytes), 1, 3},
    {"tiny datagrams", repeated(3, 1), 1, 3},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    bound_socket shared, receivers[2];
    std::shared_ptr<detail::endpoint_state> senders[2] = {raw_endpoint(shared), raw_endpoint(shared)};
    send_outbox::totals t{};
    bool all_queued = true;
    on_outbox_thread([&](send_outbox& ob) {
      for (std::size_t i = 0; i < c.datagrams.size(); ++i) {
        const auto& d = c.datagrams[i];
        const auto to = receivers[d.to].address();
        all_queued = all_queued && ob.add(senders[d.from], to, sa_len(false),
                                          numbered(i, d.size), 1);
      }
      ob.flush();
      t = ob.stats();
    }, false);
    REQUIRE(all_queued);
    CHECK(t.flushes == 1); // one sendmmsg for all (one socket)
    CHECK(t.datagrams == c.datagrams.size());
    CHECK(t.failed == 0);
    CHECK(t.segment_fallbacks == 0);
    CHECK(t.segmented_messages == c.segmented_messages);
    CHECK(t.segmented_datagrams == c.segmented_datagrams);
    // Each receiver gets each datagram as it was queued, in order.
    for (std::size_t i = 0; i < c.datagrams.size(); ++i) {
      const auto& d = c.datagrams[i];
      auto got = recv_from(receivers[d.to].fd);
      REQUIRE(got);
      CHECK(got->first == numbered(i, d.size));
      CHECK(got->second == shared.port);
    }
    for (auto& r : receivers)
      CHECK_FALSE(wait_readable(r.fd, 0ms));
    uint64_t sent = 0;
    for (auto& e : senders)
      sent += e->tx_packets.get();
    CHECK(sent == c.datagrams.size());
  }
}

TEST_CASE("send outbox: a receiver that takes segments whole reads the outbox's run as one message with its segment size") {
  struct row {
    const char* name;
    std::vector<std::size_t> sizes; // queued in order to one receiver
    std::size_t message;            // bytes of the one message read
    std::size_t segment;            // its segment size as read back (0: a lone datagram)
  };
  const row rows[] = {
    {"a frame: three of 1000 and a shorter last", {1000, 1000, 1000, 300}, 3300, 1000},
    {"two equal", {1200, 1200}, 2400, 1200},
    {"a lone datagram: no segment size", {700}, 700, 0},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    bound_socket shared, receiver;
    REQUIRE(receive_segments_whole(receiver.fd));
    auto sender = raw_endpoint(shared);
    on_outbox_thread([&](send_outbox& ob) {
      for (std::size_t i = 0; i < r.sizes.size(); ++i)
        REQUIRE(ob.add(sender, receiver.address(), sa_len(false), numbered(i, r.sizes[i]), 1));
      ob.flush();
    }, false);
    REQUIRE(wait_readable(receiver.fd, deadline));
    bytes b(65536);
    iovec iov{b.data(), b.size()};
    alignas(cmsghdr) unsigned char control[received_segment_control_bytes];
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(receiver.fd, &m, 0);
    CHECK(n == ssize_t(r.message));
    CHECK(received_segment_size(m) == r.segment);
    CHECK_FALSE(wait_readable(receiver.fd, 0ms)); // nothing else: it came whole
  }
  SUBCASE("found behind another control message; none in a message without control data") {
    alignas(cmsghdr) unsigned char control[CMSG_SPACE(sizeof(timespec)) +
                                          received_segment_control_bytes]{};
    msghdr m{};
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_TIMESTAMPNS;
    c->cmsg_len = CMSG_LEN(sizeof(timespec));
    c = CMSG_NXTHDR(&m, c);
    REQUIRE(c != nullptr);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = 104; // UDP_GRO
    c->cmsg_len = CMSG_LEN(sizeof(int));
    const int size = 1186;
    std::memcpy(CMSG_DATA(c), &size, sizeof size);
    CHECK(received_segment_size(m) == 1186);
    msghdr none{};
    CHECK(received_segment_size(none) == 0);
  }
}

TEST_CASE("send outbox: segmentation off (media_io option, or the endpoint's) sends one message per datagram") {
  SUBCASE("media_io_options::udp_segmentation off") {
    media_io_options o;
    o.udp_segmentation = false;
    auto io = start_single_port(o);
    packet_queue q;
    auto a = io->open("off", q.sink());
    REQUIRE(a);
    udp_client c;
    send_outbox::totals t{};
    on_outbox_thread([&](send_outbox& ob) {
      for (int i = 0; i < 3; ++i)
        a->send(udp_to(c), numbered(std::size_t(i), 900));
      ob.flush();
      t = ob.stats();
    });
    CHECK(t.datagrams == 3);
    CHECK(t.segmented_messages == 0);
    for (int i = 0; i < 3; ++i)
      CHECK(c.recv() == numbered(std::size_t(i), 900));
  }
  SUBCASE("on by default, through media_endpoint::send") {
    two_endpoints f;
    send_outbox::totals t{};
    on_outbox_thread([&](send_outbox& ob) {
      for (int i = 0; i < 3; ++i)
        f.a->send(udp_to(f.ca), numbered(std::size_t(i), 900));
      ob.flush();
      t = ob.stats();
    });
    CHECK(t.segmented_messages == 1);
    CHECK(t.segmented_datagrams == 3);
    for (int i = 0; i < 3; ++i)
      CHECK(f.ca.recv() == numbered(std::size_t(i), 900));
    CHECK(f.a->stats().tx_packets == 3);
    CHECK(f.a->stats().tx_bytes == 2700);
  }
}

TEST_CASE("send outbox: a segmented message the route refuses (segment over its MTU) goes again datagram by datagram, and that endpoint stops segmenting") {
  bound_socket socket(true);
  const int mtu = 1280; // IPv6's minimum: a 1400-byte segment does not fit, a datagram is fragmented
  REQUIRE(::setsockopt(socket.fd, IPPROTO_IPV6, IPV6_MTU, &mtu, sizeof mtu) == 0);
  auto sender = raw_endpoint(socket);
  bound_socket receiver(true);
  send_outbox::totals first{}, second{};
  bool queued = true;
  on_outbox_thread([&](send_outbox& ob) {
    for (std::size_t i = 0; i < 3; ++i)
      queued = queued && ob.add(sender, receiver.address(), sa_len(true), numbered(i, 1400), 1);
    ob.flush();
    first = ob.stats();
    for (std::size_t i = 3; i < 5; ++i)
      queued = queued && ob.add(sender, receiver.address(), sa_len(true), numbered(i, 1400), 1);
    ob.flush();
    second = ob.stats();
  }, false);
  REQUIRE(queued);
  CHECK(first.segment_fallbacks == 1);
  CHECK(first.segmented_messages == 0);
  CHECK(first.datagrams == 3);
  CHECK(first.failed == 0);
  CHECK_FALSE(sender->segment_sends.load());
  CHECK(second.segment_fallbacks == 1); // no second attempt
  CHECK(second.segmented_messages == 0);
  CHECK(second.datagrams == 5);
  CHECK(send_outbox::segmentation_available()); // the process still segments elsewhere
  for (std::size_t i = 0; i < 5; ++i) {
    auto got = recv_from(receiver.fd);
    REQUIRE(got);
    CHECK(got->first == numbered(i, 1400));
  }
  CHECK(sender->tx_packets.get() == 5);
  CHECK(sender->tx_errors.get() == 0);
}

TEST_CASE("send outbox: port mode with an io_uring: each endpoint's run is one segmented op, from its own port") {
  if (!uring_available())
    return; // without a ring nothing is queued in port mode (checked above)
  two_port_endpoints f;
  send_outbox::totals t{};
  on_outbox_thread([&](send_outbox& ob) {
    for (std::size_t i = 0; i < 3; ++i)
      f.a->send(f.to_a(), numbered(i, 700));
    for (std::size_t i = 3; i < 5; ++i)
      f.b->send(f.to_b(), numbered(i, 700));
    ob.flush();
    t = ob.stats();
  });
  CHECK(t.ring_flushes == 1);
  CHECK(t.datagrams == 5);
  CHECK(t.segmented_messages == 2);
  CHECK(t.segmented_datagrams == 5);
  for (std::size_t i = 0; i < 5; ++i) {
    auto got = recv_from(i < 3 ? f.ra.fd : f.rb.fd);
    REQUIRE(got);
    CHECK(got->first == numbered(i, 700));
    CHECK(got->second == (i < 3 ? f.a : f.b)->udp_port());
  }
}

TEST_CASE("udp_uring: an op whose control data the kernel refuses fails alone; the ring stays usable") {
  if (!uring_available())
    return; // checked by the first udp_uring case
  ring_case f{4, "z"};
  msghdr& good = f.m.msg;
  msghdr bad = f.m.msg;
  alignas(cmsghdr) unsigned char control[CMSG_SPACE(sizeof(uint16_t))] = {};
  bad.msg_control = control;
  bad.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&bad);
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(1); // a segment size must be two bytes: EINVAL
  const udp_uring::op ops[2] = {{f.s.fd, &bad}, {f.s.fd, &good}};
  int results[2] = {};
  CHECK(f.ring->send(ops, results) == 1);
  CHECK(results[0] == -EINVAL);
  CHECK(results[1] == int(f.p.size()));
  CHECK_FALSE(f.ring->broken());
  const udp_uring::op later[1] = {{f.s.fd, &good}};
  CHECK(f.ring->send(later, results) == 1);
  for (int i = 0; i < 2; ++i) {
    auto got = recv_from(f.d.fd);
    REQUIRE(got);
    CHECK(got->first == f.p);
  }
}
