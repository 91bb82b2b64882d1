// media_io with several I/O threads on loopback: each endpoint read by one thread (its
// home) in both modes, the kernel's spreading of the shared port's clients over the
// threads, an address steered to another thread handed over, a TCP connection accepted by
// another thread moved to the home one, and endpoints closed on one thread while others
// send and receive (run under the sanitizers by scripts/sanitize.sh).
#include "net_media_io_util.hpp"

#include "net/send_outbox.hpp"

#include <atomic>
#include <map>
#include <set>

using namespace media_io_test;

namespace {

// Which I/O thread called a sink, and what it was given, per endpoint.
class thread_log {
public:
  packet_sink sink(std::size_t endpoint) {
    return [this, endpoint](packet_batch&& b) {
      std::lock_guard lock(mutex_);
      auto& e = entries_[endpoint];
      e.threads.insert(media_io::current_thread());
      for (const auto& p : b.packets) {
        auto span = p.bytes(b.data);
        e.packets.push_back({p.source, bytes(span.begin(), span.end())});
      }
      ++total_;
      cv_.notify_all();
    };
  }
  // Waits until `endpoint` has been given `n` packets (false at the deadline).
  bool wait(std::size_t endpoint, std::size_t n) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, deadline, [&] { return entries_[endpoint].packets.size() >= n; });
  }
  std::set<int> threads(std::size_t endpoint) {
    std::lock_guard lock(mutex_);
    return entries_[endpoint].threads;
  }
  std::vector<std::pair<ice_tuple, bytes>> packets(std::size_t endpoint) {
    std::lock_guard lock(mutex_);
    return entries_[endpoint].packets;
  }

private:
  struct entry {
    std::set<int> threads;
    std::vector<std::pair<ice_tuple, bytes>> packets;
  };
  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::size_t, entry> entries_;
  std::size_t total_ = 0;
};

bytes numbered(std::size_t client, std::size_t i) {
  return text("c" + std::to_string(client) + "-" + std::to_string(i));
}

std::unique_ptr<media_io> start_port_mode(std::size_t threads) {
  auto o = port_mode_options(port_base(), 30);
  o.io_threads = threads;
  auto io = std::make_unique<media_io>(o);
  io->start();
  return io;
}

// A single-port media_io of `threads` threads with one endpoint (sink 0 of `log`) whose
// first address, `first`, has bound it: its home is the thread that address reached.
struct bound_endpoint {
  std::unique_ptr<media_io> io;
  thread_log log;
  std::shared_ptr<media_endpoint> ep;
  uint16_t port = 0;
  udp_client first;
  int home = -1;

  bound_endpoint(std::size_t threads, const std::string& ufrag) {
    media_io_options o;
    o.io_threads = threads;
    io = start_single_port(o);
    ep = io->open(ufrag, log.sink(0));
    REQUIRE(ep);
    port = io->shared_port();
    first.send(port, binding_request(ufrag + ":c"));
    REQUIRE(log.wait(0, 1));
    home = *log.threads(0).begin();
  }
};

} // namespace

TEST_CASE("media_io threads: every endpoint is read by one thread, in order") {
  constexpr std::size_t endpoints = 12, per_client = 40;
  struct row {
    const char* name;
    bool single_port;
    std::size_t threads;
  } rows[] = {
    {"single port, 2 threads", true, 2},
    {"single port, 4 threads", true, 4},
    {"port range, 2 threads", false, 2},
    {"port range, 4 threads", false, 4},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    media_io_options o;
    o.io_threads = r.threads;
    auto io = r.single_port ? start_single_port(o) : start_port_mode(r.threads);
    REQUIRE(io->threads() == r.threads);
    thread_log log;
    std::vector<std::shared_ptr<media_endpoint>> eps;
    std::vector<std::unique_ptr<udp_client>> clients;
    for (std::size_t i = 0; i < endpoints; ++i) {
      eps.push_back(io->open("ep" + std::to_string(i), log.sink(i)));
      REQUIRE(eps.back());
      clients.push_back(std::make_unique<udp_client>());
    }
    // Each client checks first (single port binds its address by it), then sends media.
    for (std::size_t i = 0; i < endpoints; ++i) {
      clients[i]->send(eps[i]->udp_port(), binding_request("ep" + std::to_string(i) + ":c"));
      REQUIRE(log.wait(i, 1));
    }
    for (std::size_t k = 0; k < per_client; ++k)
      for (std::size_t i = 0; i < endpoints; ++i)
        clients[i]->send(eps[i]->udp_port(), numbered(i, k));
    std::set<int> used;
    for (std::size_t i = 0; i < endpoints; ++i) {
      CAPTURE(i);
      REQUIRE(log.wait(i, 1 + per_client));
      const auto threads = log.threads(i);
      CHECK(threads.size() == 1); // one thread only, always the same
      CHECK(*threads.begin() >= 0);
      CHECK(*threads.begin() < int(r.threads));
      used.insert(*threads.begin());
      const auto got = log.packets(i);
      REQUIRE(got.size() == 1 + per_client);
      for (std::size_t k = 0; k < per_client; ++k) // once each, in the order sent
        CHECK(got[1 + k].second == numbered(i, k));
    }
    // Spread over the threads: port range places them evenly; on the shared port the
    // kernel's hash of twelve client addresses leaves no thread without one but by a
    // chance below one in a thousand (4 threads: 4 * (3/4)^12 = 0.13; so: more than one).
    const auto stats = io->thread_stats();
    REQUIRE(stats.size() == r.threads);
    uint64_t homes = 0, packets = 0;
    for (const auto& t : stats) {
      homes += t.endpoints;
      packets += t.packets;
      if (!r.single_port)
        CHECK(t.endpoints == endpoints / r.threads);
    }
    CHECK(homes == endpoints);
    CHECK(packets == endpoints * (1 + per_client));
    CHECK(used.size() > 1);
    CHECK(io->stats().packets_handed_over == 0);
    // Replies leave through the shared port (any thread's socket) or the endpoint's own.
    for (std::size_t i = 0; i < endpoints; ++i) {
      const auto source = log.packets(i).front().first;
      CHECK(eps[i]->send(source, numbered(i, 999)));
      CHECK(clients[i]->recv() == numbered(i, 999));
    }
    for (auto& ep : eps)
      ep->close();
    CHECK(io->stats().endpoints_open == 0);
    for (const auto& t : io->thread_stats())
      CHECK(t.endpoints == 0);
  }
}

TEST_CASE("media_io threads: an endpoint's home thread is the thread that reads it") {
  struct row {
    const char* name;
    bool single_port;
  } rows[] = {{"single port", true}, {"port range", false}};
  for (const auto& r : rows) {
    CAPTURE(r.name);
    media_io_options o;
    o.io_threads = 3;
    auto io = r.single_port ? start_single_port(o) : start_port_mode(3);
    thread_log log;
    auto ep = io->open("homed", log.sink(0));
    REQUIRE(ep);
    // Port mode homes it at open; the shared port only once an address binds it.
    if (r.single_port)
      CHECK(ep->home_thread() == -1);
    udp_client client;
    client.send(ep->udp_port(), binding_request("homed:c"));
    REQUIRE(log.wait(0, 1));
    CHECK(ep->home_thread() == *log.threads(0).begin());
    ep->close();
  }
}

TEST_CASE("media_io threads: a room's endpoints live on one thread, rooms on threads of their own") {
  constexpr std::size_t rooms = 4, per_room = 5, per_client = 10;
  struct row {
    const char* name;
    bool single_port;
    std::size_t per_thread;     // media_io_options::group_per_thread
    std::size_t threads_a_room; // how many threads each room's endpoints are on
  } rows[] = {
    {"single port", true, 500, 1},
    {"port range", false, 500, 1},
    {"single port, two endpoints of a room to a thread", true, 2, 3},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    media_io_options o = r.single_port ? media_io_options{} : port_mode_options(port_base(), 30);
    o.io_threads = 4;
    o.group_per_thread = r.per_thread;
    std::unique_ptr<media_io> io;
    if (r.single_port) {
      io = start_single_port(o);
    } else {
      io = std::make_unique<media_io>(o);
      io->start();
    }
    thread_log log;
    std::vector<std::shared_ptr<media_endpoint>> eps;
    std::vector<std::unique_ptr<udp_client>> clients;
    // The rooms join interleaved, as classes starting at once do.
    for (std::size_t k = 0; k < per_room; ++k)
      for (std::size_t room = 0; room < rooms; ++room) {
        const std::size_t i = eps.size();
        eps.push_back(io->open("r" + std::to_string(i), log.sink(i), nullptr, 100 + room));
        REQUIRE(eps.back());
        clients.push_back(std::make_unique<udp_client>());
      }
    // Placed at open, in both modes: each room's threads, and which rooms share one.
    std::vector<std::set<int>> room_threads(rooms);
    for (std::size_t i = 0; i < eps.size(); ++i) {
      CHECK(eps[i]->home_thread() >= 0);
      room_threads[i % rooms].insert(eps[i]->home_thread());
    }
    std::set<int> firsts;
    for (const auto& t : room_threads) {
      CHECK(t.size() == r.threads_a_room);
      firsts.insert(*t.begin());
    }
    if (r.threads_a_room == 1)
      CHECK(firsts.size() == rooms); // a thread each
    for (std::size_t i = 0; i < eps.size(); ++i) {
      clients[i]->send(eps[i]->udp_port(), binding_request("r" + std::to_string(i) + ":c"));
      for (std::size_t k = 0; k < per_client; ++k)
        clients[i]->send(eps[i]->udp_port(), numbered(i, k));
    }
    for (std::size_t i = 0; i < eps.size(); ++i) {
      CAPTURE(i);
      REQUIRE(log.wait(i, 1 + per_client));
      CHECK(log.threads(i) == std::set<int>{eps[i]->home_thread()}); // read at home only
      const auto got = log.packets(i);
      REQUIRE(got.size() == 1 + per_client);
      for (std::size_t k = 0; k < per_client; ++k)
        CHECK(got[1 + k].second == numbered(i, k));
    }
    // On the shared port the kernel steers 20 clients by its hash, not by room: some of
    // them reach another thread and are handed over (all 20 at home: (1/4)^20).
    if (r.single_port)
      CHECK(io->stats().packets_handed_over > 0);
    else
      CHECK(io->stats().packets_handed_over == 0);
    for (auto& ep : eps)
      ep->close();
    CHECK(io->stats().endpoints_open == 0);
    for (const auto& t : io->thread_stats())
      CHECK(t.endpoints == 0);
  }
}

TEST_CASE("media_io threads: work posted to a thread runs there, in order, and not after stop") {
  media_io_options o;
  o.io_threads = 3;
  auto io = start_single_port(o);
  std::mutex mutex;
  std::condition_variable cv;
  std::map<std::size_t, std::vector<std::pair<int, int>>> ran; // thread -> (on, seq)
  std::size_t count = 0;
  constexpr int per_thread = 200;
  // From a thread of the test and from an I/O thread (posting to itself and the others).
  for (int k = 0; k < per_thread; ++k)
    for (std::size_t t = 0; t < 3; ++t)
      REQUIRE(io->post(t, [&, t, k] {
        std::lock_guard lock(mutex);
        ran[t].push_back({media_io::current_thread(), k});
        ++count;
        cv.notify_all();
      }));
  {
    std::unique_lock lock(mutex);
    REQUIRE(cv.wait_for(lock, deadline, [&] { return count == 3 * per_thread; }));
  }
  for (std::size_t t = 0; t < 3; ++t) {
    CAPTURE(t);
    REQUIRE(ran[t].size() == std::size_t(per_thread));
    for (int k = 0; k < per_thread; ++k) {
      CHECK(ran[t][std::size_t(k)].first == int(t));  // on its thread
      CHECK(ran[t][std::size_t(k)].second == k);      // in the order posted
    }
  }
  std::atomic<int> from_io{-2};
  REQUIRE(io->post(0, [&] {
    // An I/O thread posts to itself: runs at its next wakeup, never inline.
    const bool posted = io->post(0, [&] { from_io = media_io::current_thread(); });
    if (!posted || from_io != -2)
      from_io = -3;
  }));
  CHECK(wait_until([&] { return from_io != -2; }));
  CHECK(from_io == 0);
  // Out of range: refused, not run.
  bool ran_bad = false;
  CHECK_FALSE(io->post(3, [&] { ran_bad = true; }));
  CHECK_FALSE(ran_bad);
  // A media_io whose threads do not run: refused, destroyed unrun (what it holds is released).
  auto held = std::make_shared<int>(7);
  io.reset();
  media_io_options o2;
  o2.io_threads = 2;
  media_io stopped(o2); // never started
  bool ran_stopped = false;
  CHECK_FALSE(stopped.post(0, [&ran_stopped, held] { ran_stopped = true; }));
  CHECK_FALSE(ran_stopped);
  CHECK(held.use_count() == 1);
}

TEST_CASE("media_io threads: a second address on another thread is handed to the home") {
  bound_endpoint b(2, "home");
  auto& io = b.io;
  auto& log = b.log;
  auto& ep = b.ep;
  const uint16_t port = b.port;
  const int home = b.home;
  // More addresses of the same endpoint (as a browser's other candidates would be) until
  // the kernel steers one to the other thread: each has one chance in two.
  std::vector<std::unique_ptr<udp_client>> more;
  std::size_t expected = 1;
  for (std::size_t i = 0; i < 15 && io->stats().packets_handed_over == 0; ++i) {
    more.push_back(std::make_unique<udp_client>());
    more.back()->send(port, binding_request("home:c"));
    for (std::size_t k = 0; k < 10; ++k)
      more.back()->send(port, numbered(i, k));
    expected += 11;
    REQUIRE(log.wait(0, expected));
  }
  REQUIRE(io->stats().packets_handed_over == 11);
  CHECK(io->stats().tuples_bound == 1 + more.size());
  CHECK(log.threads(0) == std::set<int>{home}); // the sink only ever ran at home
  // The handed-over address's datagrams arrived whole and in order.
  const auto got = log.packets(0);
  const auto last = more.back()->address();
  std::vector<bytes> from_last;
  for (const auto& [source, data] : got)
    if (source.remote == last)
      from_last.push_back(data);
  REQUIRE(from_last.size() == 11);
  for (std::size_t k = 0; k < 10; ++k)
    CHECK(from_last[1 + k] == numbered(more.size() - 1, k));
  // Closing forgets the address on both threads: what it sends now is dropped.
  ep->close();
  const auto dropped = io->stats().unknown_source_dropped;
  more.back()->send(port, text("after close"));
  b.first.send(port, text("after close"));
  CHECK(wait_until([&] { return io->stats().unknown_source_dropped == dropped + 2; }));
}

TEST_CASE("media_io threads: TCP connections move to their endpoint's thread") {
  // With one thread every connection is accepted at home (and a refused one refused there).
  std::size_t threads = 0;
  SUBCASE("one thread") { threads = 1; }
  SUBCASE("four threads") { threads = 4; }
  bound_endpoint b(threads, "tcpep"); // the home: where its UDP address landed
  auto& io = b.io;
  auto& log = b.log;
  auto& ep = b.ep;
  const uint16_t port = b.port;
  const int home = b.home;
  // Eight connections: each lands on the home thread with one chance in four, so some
  // are accepted elsewhere and move (all eight at home: one chance in 65 536).
  constexpr std::size_t conns = 8; // = max_tcp_connections_per_endpoint
  std::vector<std::unique_ptr<tcp_client>> clients;
  std::size_t expected = 1;
  for (std::size_t i = 0; i < conns; ++i) {
    clients.push_back(std::make_unique<tcp_client>(port));
    // The binding request and the first media in one write: the media comes with it.
    auto both = tcp_client::frame(binding_request("tcpep:t"));
    const auto media = tcp_client::frame(numbered(i, 0));
    both.insert(both.end(), media.begin(), media.end());
    clients.back()->write_raw(both);
    clients.back()->write_frame(numbered(i, 1));
    expected += 3;
    REQUIRE(log.wait(0, expected));
  }
  if (threads > 1)
    CHECK(io->stats().tcp_connections_moved > 0);
  else
    CHECK(io->stats().tcp_connections_moved == 0);
  CHECK(io->stats().tcp_connections_accepted == conns);
  CHECK(log.threads(0) == std::set<int>{home});
  // Each connection's frames in order, and a reply on each reaches its client.
  std::map<uint64_t, std::vector<bytes>> by_conn;
  for (const auto& [source, data] : log.packets(0))
    if (source.protocol == ice_protocol::tcp)
      by_conn[source.connection_id].push_back(data);
  REQUIRE(by_conn.size() == conns);
  for (std::size_t i = 0; i < conns; ++i) {
    CAPTURE(i);
    const auto packets = log.packets(0);
    const auto own = std::find_if(packets.begin(), packets.end(), [&](const auto& p) {
      return p.first.protocol == ice_protocol::tcp && p.first.remote == clients[i]->address();
    });
    REQUIRE(own != packets.end());
    const auto& frames = by_conn[own->first.connection_id];
    REQUIRE(frames.size() == 3);
    CHECK(frames[1] == numbered(i, 0));
    CHECK(frames[2] == numbered(i, 1));
    CHECK(ep->send(own->first, numbered(i, 9)));
    CHECK(clients[i]->read_frame() == numbered(i, 9));
  }
  // A ninth bound connection finds every place taken by a bound one: refused.
  tcp_client ninth(port);
  ninth.write_frame(binding_request("tcpep:t"));
  CHECK(ninth.wait_closed());
  // Closing the endpoint closes every connection, moved or not.
  ep->close();
  for (auto& c : clients)
    CHECK(c->wait_closed());
}

TEST_CASE("media_io threads: endpoints closed while other threads send and receive") {
  constexpr std::size_t endpoints = 24, rounds = 200;
  for (const bool single_port : {true, false}) {
    CAPTURE(single_port);
    media_io_options o;
    o.io_threads = 4;
    auto io = single_port ? start_single_port(o) : start_port_mode(4);
    std::vector<std::shared_ptr<media_endpoint>> eps;
    std::vector<std::unique_ptr<udp_client>> clients;
    std::atomic<uint64_t> delivered{0};
    for (std::size_t i = 0; i < endpoints; ++i) {
      eps.push_back(io->open("x" + std::to_string(i), [&delivered](packet_batch&& b) {
        delivered.fetch_add(b.packets.size());
      }));
      REQUIRE(eps.back());
      clients.push_back(std::make_unique<udp_client>());
      clients.back()->send(eps.back()->udp_port(), binding_request("x" + std::to_string(i) + ":c"));
    }
    REQUIRE(wait_until([&] { return delivered.load() >= endpoints; }));
    std::vector<ice_tuple> tuples;
    for (auto& c : clients)
      tuples.push_back(ice_tuple{ice_protocol::udp, c->address(), 0});
    // Two senders (one through a send outbox, as the workers send) and the clients keep
    // every thread busy while the endpoints close one by one.
    std::atomic<bool> stop{false};
    auto sender = [&](bool outbox) {
      if (outbox)
        send_outbox::install();
      for (std::size_t round = 0; round < rounds && !stop.load(); ++round) {
        for (std::size_t i = 0; i < endpoints; ++i)
          eps[i]->send(tuples[i], numbered(i, round));
        if (outbox)
          send_outbox::flush_current();
      }
    };
    std::thread a(sender, true), b(sender, false);
    for (std::size_t i = 0; i < endpoints; ++i) {
      for (std::size_t k = 0; k < 4; ++k)
        clients[i]->send(eps[i]->udp_port(), numbered(i, k));
      eps[i]->close();
      CHECK(eps[i]->closed());
      CHECK_FALSE(eps[i]->send(tuples[i], text("after close")));
    }
    stop = true;
    a.join();
    b.join();
    CHECK(io->stats().endpoints_open == 0);
    const auto after = delivered.load();
    for (std::size_t i = 0; i < endpoints; ++i) // nothing is delivered once closed
      clients[i]->send(eps[i]->udp_port(), text("late"));
    udp_client probe; // ... which a later endpoint's delivery shows
    auto live = io->open("live", [&delivered](packet_batch&& b) {
      delivered.fetch_add(b.packets.size() * 1000);
    });
    REQUIRE(live);
    probe.send(live->udp_port(), binding_request("live:p"));
    REQUIRE(wait_until([&] { return delivered.load() >= after + 1000; }));
    CHECK(delivered.load() == after + 1000);
  }
}

TEST_CASE("media_io threads: a shared port in use fails start() with several threads") {
  media_io_options o;
  o.io_threads = 3;
  auto first = start_single_port(o);
  o.single_port = true;
  o.single_port_number = first->shared_port();
  media_io second(o); // its sockets would join the first's group: refused instead
  CHECK_THROWS_AS(second.start(), std::runtime_error);
  media_io_options one = o;
  one.io_threads = 1;
  media_io third(one);
  CHECK_THROWS_AS(third.start(), std::runtime_error);
}
