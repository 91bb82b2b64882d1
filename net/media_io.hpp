// Media socket I/O for WebRTC transports: UDP with batched receive and send (recvmmsg /
// sendmmsg) and ICE-TCP passive connections with RFC 4571 framing, in one of two modes:
//   - port mode: each transport (media_endpoint) gets its own UDP socket and TCP listener
//     from [min_port, max_port];
//   - single-port mode: all transports share one UDP port and one TCP port; packets are
//     demultiplexed by the STUN USERNAME's local ufrag, then by source address (UDP) or
//     connection (TCP); see net/media_io_demux.hpp.
//
// `io_threads` I/O threads (never a thread per transport), each with its own epoll set,
// its own sockets and its own send outbox. Port mode: each endpoint's sockets are watched
// by one thread, its home. Single-port mode: each thread has its own UDP socket and TCP
// listener on the shared port (SO_REUSEPORT), and the kernel steers each source address
// (each TCP connection) to one of them by a hash of its addresses, stable while the
// sockets stay open (they do, from start() to the end). An endpoint is placed on its home
// when it opens (net/thread_placement.hpp: with its group, a room, while the group has
// fewer than group_per_thread there, else the least loaded thread), in either mode; single
// port, without a group: its home is the thread that bound its first address or
// connection. Its sink is only ever called at home. An address the kernel steers to
// another thread has its datagrams handed to the home thread (one command per endpoint per
// wakeup, counted in packets_handed_over), and a TCP connection accepted by another thread
// moves to the home thread when its first frame binds it (tcp_connections_moved). Packets are handed to each endpoint's sink in batches, one
// sink call per endpoint per wakeup.
//
// Thread-safety:
//   - media_io: construct, start() and destroy from one owning thread; open() and stats()
//     may be called from any thread, concurrently.
//   - media_endpoint: every member may be called from any thread, concurrently, also from
//     inside a sink. send()/send_batch() over UDP are direct nonblocking syscalls on the
//     caller's thread (a full socket buffer counts tx_errors, nothing blocks). TCP sends
//     are queued to the endpoint's home thread (one command per call; the data is copied).
//   - close() waits for the home thread (microseconds): when it returns on a thread that is
//     not an I/O thread, the sink is never called again. On an I/O thread close() does not
//     wait for another one (two could wait for each other): the sink may then still be
//     called once with what that thread had read. open() queues its sockets to their
//     thread without waiting; set_ufrag() takes a lock.
//   - A sink runs on its endpoint's home I/O thread. It must not block, throw, or wait for
//     anything that waits for an I/O thread (post the batch to an actor and return).
//   - An endpoint may outlive its media_io: then it is closed and every call is a no-op.
//   - Never destroy the media_io on an I/O thread (from a sink): it joins those threads.
#pragma once

#include "common/metric_field.hpp"
#include "net/ice_server.hpp"
#include "net/frame_burst.hpp"
#include "net/stream_handoff.hpp"
#include "net/stun.hpp"
#include "net/timer_hook.hpp"
#include "net/turn_server.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace chorus::net {

struct inbound_packet {
  ice_tuple source;
  uint32_t offset = 0; // into packet_batch::data
  uint32_t size = 0;
  // A TCP connection of this endpoint closed (EOF, error, refused buffer): `source` names
  // it and size is 0. The owner should forget the tuple (ice_server::remove_tuple).
  bool connection_closed = false;
  // When it arrived, in steady_clock microseconds (the clock of actors/clock.hpp): the
  // kernel's receive timestamp for UDP (SO_TIMESTAMPNS), the read for TCP. Transport-wide
  // feedback reports this, so a late turn of the transport actor on a busy machine is not
  // mistaken by the sender for delay on the path. 0: not known.
  int64_t arrival_us = 0;

  std::span<const uint8_t> bytes(const std::vector<uint8_t>& data) const noexcept {
    return {data.data() + offset, size};
  }
};

// One delivery for one endpoint: the payloads concatenated in `data`, in arrival order.
struct packet_batch {
  std::vector<uint8_t> data;
  std::vector<inbound_packet> packets;
};

// Runs on the endpoint's home I/O thread with its packets; must not block (see above).
using packet_sink = std::function<void(packet_batch&&)>;

// The TURN server inside the media I/O (net/media_io_turn.hpp): UDP and TCP on its own port;
// it relays only to this media_io's WebRTC transports, and a relayed packet goes straight
// into the transport's receive path (and its answer straight back), never through a socket
// of its own: the relayed addresses are names, not bound ports.
struct media_io_turn_options {
  bool enabled = false;
  uint16_t udp_port = 3478; // and TCP on the same number; 0: any free port (tests)
  turn_server_config server;
  // The IP addresses clients reach the transports at (the announced ones) besides
  // listen_ip: a peer must be one of them with the port of an open WebRTC transport (the
  // single port in single-port mode).
  std::vector<std::string> peer_ips;
  // The relayed addresses handed to clients: this IP (empty: listen_ip) and a port of the
  // range, unique among the open allocations.
  std::string relay_ip;
  uint16_t relay_min_port = 50000;
  uint16_t relay_max_port = 59999;
  // Clients over TCP and TLS at once; when full, the oldest one holding no allocation is
  // closed for a newcomer, and only when every one holds an allocation is it refused.
  std::size_t max_tcp_connections = 10000;
};

struct media_io_options {
  std::string listen_ip = "127.0.0.1"; // IPv4 or IPv6 literal ("::" is dual-stack)
  uint16_t min_port = 40000;
  uint16_t max_port = 49999;
  bool single_port = false;        // one shared UDP socket + TCP listener
  uint16_t single_port_number = 0; // 0: min_port
  std::size_t recv_batch = 32;     // datagrams per recvmmsg
  // ICE-TCP: an accepted connection whose first frame is not a STUN binding request naming
  // the transport's ufrag is closed (tcp_bind_failures), one that sends none within
  // tcp_bind_timeout_ms too (tcp_bind_timeouts). Until then it is unbound: when a
  // transport's places (or the single port's pending places) are full, the oldest unbound
  // connection is evicted for a new one (tcp_connections_evicted), so half-open connections
  // cannot lock anyone out; a new one is refused only when every place is bound.
  std::size_t max_tcp_connections_per_endpoint = 8;
  std::size_t max_tcp_send_buffer = 1 << 20;     // per connection; beyond: frames dropped
  std::size_t max_pending_tcp_connections = 256; // single-port: accepted, not yet bound
  uint32_t tcp_bind_timeout_ms = 10000;          // first STUN frame within this (both modes)
  std::size_t max_tuples_per_endpoint = 16;      // single-port UDP: oldest bound evicted
  // UDP sends from a thread with a send outbox (the scheduler's workers, the I/O threads)
  // are queued there and leave with other senders' datagrams in one call
  // (net/send_outbox.hpp): sendmmsg on the shared socket (single port), one io_uring
  // submission over the transports' own sockets (port mode, where the outbox has a ring).
  // Off: every send is its own system call.
  bool batch_sends = true;
  // With batch_sends: the datagrams a sender queues in a row for one destination (a
  // frame's packets) leave as one segmented message (UDP GSO, net/send_outbox.hpp) where
  // they are the same size. Off: one message per datagram.
  bool udp_segmentation = true;
  // The rest of a frame sent at once (net/frame_burst.hpp): after a receive that ended
  // within a frame whose packets arrive microseconds apart, the socket is polled until
  // the next one or this long after the last (burst_waits, burst_waits_joined). 0: off.
  frame_burst::settings burst{};
  // I/O threads (see the file comment); at least 1, at most max_io_threads.
  std::size_t io_threads = 1;
  static constexpr std::size_t max_io_threads = 64;
  // With several threads: an endpoint opened with a group (a room) goes to a thread its
  // group already uses until the group has this many endpoints there, then to the least
  // loaded one (net/thread_placement.hpp); single port: it is its home from open() on, and
  // the datagrams the kernel steers to another thread are handed over. 0: each endpoint to
  // the least loaded thread (port mode) or the thread that binds its first address.
  std::size_t group_per_thread = 500;
  media_io_turn_options turn; // runs on the first I/O thread
};

namespace detail {
class io_core;
class io_group;
struct endpoint_state;
} // namespace detail

// One WebRTC transport's sockets (port mode) or its registration on the shared ones.
class media_endpoint {
public:
  ~media_endpoint(); // close()
  media_endpoint(const media_endpoint&) = delete;
  media_endpoint& operator=(const media_endpoint&) = delete;

  uint16_t udp_port() const noexcept;
  uint16_t tcp_port() const noexcept;
  // The I/O thread that receives for it (its home, above; 0-based): -1 until single-port
  // binds its first address or connection, and for a closed endpoint's late readers the
  // last home. Set once.
  int home_thread() const noexcept;

  // UDP: one sendto. TCP: one RFC 4571 frame on `to.connection_id` (which must be one of
  // this endpoint's connections), queued to its home I/O thread; true means queued, and a frame
  // the connection cannot take (gone, over max_tcp_send_buffer) counts tx_errors there.
  // TURN: queued to the TURN server's thread, which sends it to the client through the
  // allocation named by `to.remote` (one this endpoint has heard from; else tx_errors).
  // False when closed, the size is 0 or over 65535 (TCP), or the send failed (UDP).
  bool send(const ice_tuple& to, const uint8_t* data, std::size_t size);
  bool send(const ice_tuple& to, std::span<const uint8_t> data) {
    return send(to, data.data(), data.size());
  }
  // All packets to one destination: UDP with sendmmsg (one syscall per 64 packets), TCP as
  // consecutive frames in one command. Returns how many were sent (UDP) or queued (TCP).
  // UDP with batch_sends, from a thread with a send outbox (one with an io_uring in port
  // mode): queued there (counted as sent; a later failure counts tx_errors), sent at the
  // outbox's flush.
  std::size_t send_batch(const ice_tuple& to, std::span<const std::span<const uint8_t>> packets);

  // ICE restart (single-port mode): demultiplex by `ufrag` from now on, the old one is
  // released; bound addresses and connections stay. False when another endpoint uses it.
  // In port mode it only records the ufrag.
  bool set_ufrag(std::string ufrag);

  // Stops delivery (after return the sink is never called again), closes this endpoint's
  // sockets (port mode) or unregisters it (single-port), closes its TCP connections.
  // Idempotent.
  void close();
  bool closed() const noexcept;

  struct counters {
    uint64_t rx_packets = 0, rx_bytes = 0; // delivered to the sink (payload bytes)
    uint64_t tx_packets = 0, tx_bytes = 0; // sent (UDP) or accepted into a TCP buffer
    uint64_t tx_errors = 0;                // UDP send failed (EAGAIN too), TCP frame dropped
    uint64_t rx_dropped = 0;               // truncated datagrams on its own socket
  };
  counters stats() const noexcept;

  // Where the state a send reads lives, for a caller that prefetches it ahead of a send
  // (actors/consumer.cpp's direct lanes); never dereferenced by the caller.
  const void* state_address() const noexcept { return state_.get(); }

private:
  friend class detail::io_group;
  media_endpoint(std::shared_ptr<detail::io_group> group,
                 std::shared_ptr<detail::endpoint_state> state);
  // UDP at once (sendto / sendmmsg under the send lock).
  std::size_t send_batch_now(const ice_tuple& to,
                             std::span<const std::span<const uint8_t>> packets);

  std::shared_ptr<detail::io_group> group_;
  std::shared_ptr<detail::endpoint_state> state_;
};

class media_io {
public:
  explicit media_io(media_io_options opts);
  ~media_io(); // stops the thread, closes every socket and endpoint
  media_io(const media_io&) = delete;
  media_io& operator=(const media_io&) = delete;

  // Raises RLIMIT_NOFILE to its hard limit, opens the shared sockets (single-port mode) and
  // starts the I/O threads. Throws std::runtime_error (bad listen_ip, single port in use).
  void start();

  // Port mode: a UDP socket and a TCP listener on listen_ip, on the same port number when
  // one is free for both, else each on the next free port of the range (tried from a
  // rotating cursor). Single-port mode: registers `local_ufrag` (non-empty, unique) with
  // the shared sockets. `group` (non-zero: the room's) places it on a thread with the
  // group's other endpoints (group_per_thread). nullptr and *error set on failure (not
  // started, range exhausted, ufrag empty or taken).
  std::shared_ptr<media_endpoint> open(const std::string& local_ufrag, packet_sink sink,
                                       std::string* error = nullptr, uint64_t group = 0);

  // A plain UDP socket of its own (no TCP, no ufrag), in either mode, on the next free port
  // of [min_port, max_port] (the single port itself is never free): the plain RTP
  // transports (actors/plain_transport.hpp), whose remote side speaks no STUN. `listen_ip`
  // empty means the configured one; another literal must be of the same family.
  // nullptr and *error set on failure.
  std::shared_ptr<media_endpoint> open_udp(packet_sink sink, const std::string& listen_ip = {},
                                           std::string* error = nullptr);

  // Single-port mode: the shared port (UDP and TCP); 0 in port mode or before start().
  uint16_t shared_port() const noexcept;
  // The TURN server's port (UDP and TCP); 0 when it is off or before start().
  uint16_t turn_port() const noexcept;
  // The TURN server's counters (all zero when it is off).
  turn_server::counters turn_stats() const;

  // What the signaling edge hands over from its port (net/stream_handoff.hpp): ICE-TCP
  // connections when `ice_tcp` (bound by their first binding request's ufrag, as on the
  // single port), TURN ones when `turn` and the TURN server runs. The handoff keeps the
  // I/O alive; what it is handed after stop is closed.
  std::shared_ptr<stream_handoff> handoff(bool ice_tcp, bool turn);

  // Timers the first I/O thread runs before each of its waits (net/timer_hook.hpp), and
  // waits no longer than until the next of them. Runs on that thread and waits for it: when it
  // returns the previous hook is never called again. nullptr: none. False when the thread
  // is not running (the hook is not set).
  bool set_timer_hook(io_timer_hook* hook);
  // Ends the timer hook's thread's current wait (or its next one) early; any thread.
  void wake();

  // The I/O threads (media_io_options::io_threads), and which of them the caller is
  // (0-based; -1 on any other thread). The threads are named "chorus-io-N".
  std::size_t threads() const noexcept;
  static int current_thread() noexcept;
  // Runs `fn` on I/O thread `thread` at its next wakeup, before it reads its sockets, in
  // the order posted from one caller; what it sends leaves with that thread's send outbox.
  // Any thread, also an I/O thread (its own included); never waits. Used to hand work to
  // the thread where its data lives (a producer's batch to the thread of a group of its
  // consumers: actors/thread_fanout.hpp). `fn` must not block. False when `thread` is out
  // of range or not running: `fn` is destroyed without running. Posted work still queued
  // when the threads stop is destroyed without running.
  bool post(std::size_t thread, std::function<void()> fn);

  struct counters {
    uint64_t unknown_source_dropped = 0; // single-port: UDP from an unbound address, not a
                                         // binding request with a registered ufrag
    uint64_t tuples_bound = 0;           // single-port: UDP addresses bound by a request
    uint64_t tuples_evicted = 0;         // single-port: oldest address of a full endpoint
    uint64_t truncated_dropped = 0;      // single-port: datagrams over 2048 bytes
    uint64_t tcp_connections_accepted = 0;
    uint64_t tcp_connections_refused = 0;   // over a per-endpoint or pending limit, all bound
    uint64_t tcp_connections_evicted = 0;   // unbound, closed to make room for a new one
    uint64_t tcp_bind_timeouts = 0;         // no first frame (binding request) in time
    uint64_t tcp_bind_failures = 0;         // first frame not a binding request for it
    uint64_t tcp_connections_closed = 0;    // every closed accepted connection
    uint64_t receive_errors = 0;            // recvmmsg / read failures other than EAGAIN
    uint64_t endpoints_open = 0;            // gauge
    uint64_t burst_waits = 0;        // polls for the rest of a frame sent at once
    uint64_t burst_waits_joined = 0; // ... that brought more of it (net/frame_burst.hpp)
    // Single-port with several threads: datagrams of an address the kernel steered to
    // another thread than its endpoint's home, handed over; TCP connections moved there.
    uint64_t packets_handed_over = 0;
    uint64_t tcp_connections_moved = 0;
  };
  counters stats() const noexcept; // all threads together

  // Each I/O thread's share, by thread index.
  struct thread_counters {
    uint64_t packets = 0;   // datagrams and TCP frames read
    uint64_t wakeups = 0;   // returns from its epoll wait
    uint64_t endpoints = 0; // gauge: endpoints whose home it is
  };
  std::vector<thread_counters> thread_stats() const;

private:
  std::shared_ptr<detail::io_group> group_;
};

// media_io's counters in GET /metrics (common/metric_field.hpp); the burst waits without
// a join (burst_waits - burst_waits_joined) are worked out where they are rendered.
inline constexpr metric_field<media_io::counters, uint64_t> media_io_metrics[] = {
  {"chorus_media_dropped_total", "Media packets dropped before any transport, by reason.",
   metric_type::counter, "reason=\"unknown_source\"", &media_io::counters::unknown_source_dropped},
  {"chorus_media_dropped_total", "", metric_type::counter, "reason=\"truncated\"",
   &media_io::counters::truncated_dropped},
  {"chorus_media_receive_errors_total", "Receive errors on the media sockets.",
   metric_type::counter, "", &media_io::counters::receive_errors},
  {"chorus_ice_tcp_connections_total",
   "ICE-TCP media connections: accepted, refused (every place bound), evicted (unbound, for a "
   "newer one), closed without a binding request in time or with a wrong first frame, and "
   "closed in all.",
   metric_type::counter, "event=\"accepted\"", &media_io::counters::tcp_connections_accepted},
  {"chorus_ice_tcp_connections_total", "", metric_type::counter, "event=\"refused\"",
   &media_io::counters::tcp_connections_refused},
  {"chorus_ice_tcp_connections_total", "", metric_type::counter, "event=\"evicted\"",
   &media_io::counters::tcp_connections_evicted},
  {"chorus_ice_tcp_connections_total", "", metric_type::counter, "event=\"bind_timeout\"",
   &media_io::counters::tcp_bind_timeouts},
  {"chorus_ice_tcp_connections_total", "", metric_type::counter, "event=\"bind_failure\"",
   &media_io::counters::tcp_bind_failures},
  {"chorus_ice_tcp_connections_total", "", metric_type::counter, "event=\"closed\"",
   &media_io::counters::tcp_connections_closed},
  {"chorus_media_handed_over_total",
   "Single port with several I/O threads: datagrams the kernel steered to another thread than "
   "their transport's, handed to it.",
   metric_type::counter, "", &media_io::counters::packets_handed_over},
  {"chorus_ice_tcp_connections_moved_total",
   "Single port with several I/O threads: ICE-TCP connections moved to their transport's "
   "thread when their first frame bound them.",
   metric_type::counter, "", &media_io::counters::tcp_connections_moved},
};

// Each I/O thread's counters in GET /metrics, one series per thread (thread="N").
inline constexpr metric_field<media_io::thread_counters, uint64_t> media_io_thread_metrics[] = {
  {"chorus_media_io_packets_total", "Datagrams and ICE-TCP frames read, by media I/O thread.",
   metric_type::counter, "", &media_io::thread_counters::packets},
  {"chorus_media_io_wakeups_total", "Returns from the epoll wait, by media I/O thread.",
   metric_type::counter, "", &media_io::thread_counters::wakeups},
  {"chorus_media_io_transports", "Transports whose media a media I/O thread reads (their home).",
   metric_type::gauge, "", &media_io::thread_counters::endpoints},
};

} // namespace chorus::net
