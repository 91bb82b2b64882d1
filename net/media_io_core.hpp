// Internals of media_io (net/media_io.hpp): the group of I/O threads (io_group: the
// endpoints, the ufrag table, port allocation), each I/O thread (io_core: its epoll set,
// command queue, sockets and connections), and the per-endpoint and per-connection state.
// Not for use outside net/media_io*.cpp (and the outbox, which reads an endpoint's socket).
//
// Ownership: the io_group owns the io_cores, each io_core the sockets it watches. Fields
// marked "home thread" are touched only on the endpoint's home I/O thread (or, after the
// threads have been joined, by the thread that stopped them). Other fields are immutable
// after open(), atomic, or guarded as marked.
#pragma once

#include "net/media_io.hpp"
#include "net/media_io_demux.hpp"
#include "net/media_io_socket.hpp"
#include "net/media_io_turn.hpp"
#include "net/tcp_framing.hpp"
#include "net/thread_placement.hpp"

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

struct epoll_event;

namespace chorus::net::detail {

using clock = std::chrono::steady_clock;
// Now on `clock`, in microseconds (inbound_packet::arrival_us).
inline int64_t steady_now_us() noexcept {
  return std::chrono::duration_cast<std::chrono::microseconds>(clock::now().time_since_epoch())
    .count();
}

// The index of the I/O thread running this (media_io::current_thread); -1 elsewhere.
extern thread_local int t_io_thread;

struct counter {
  std::atomic<uint64_t> value{0};
  void add(uint64_t n = 1) noexcept { value.fetch_add(n, std::memory_order_relaxed); }
  void sub(uint64_t n = 1) noexcept { value.fetch_sub(n, std::memory_order_relaxed); }
  uint64_t get() const noexcept { return value.load(std::memory_order_relaxed); }
};

struct endpoint_state : std::enable_shared_from_this<endpoint_state> {
  // What a send through a worker's outbox reads, first and on one cache line (a consumer
  // that sends one packet per turn finds it cold): immutable after open(), but `closed`.
  int family = 0;        // AF_INET / AF_INET6 of the sockets
  int udp_fd = -1;       // for sends: own socket (port mode) or the shared one
  bool batch_sends = false; // media_io_options::batch_sends
  bool shared_socket = false; // single-port: udp_fd is the I/O core's shared socket
  // media_io_options::udp_segmentation; cleared when this endpoint's route refuses it.
  std::atomic<bool> segment_sends{false};
  // send() holds send_mutex shared while using udp_fd; close() takes it exclusively to
  // set `closed`, so that the socket is never used after the I/O thread closed it.
  std::atomic<bool> closed{false};
  uint16_t udp_port = 0;
  uint16_t tcp_port = 0;
  uint64_t id = 0;
  bool ice = false; // a WebRTC transport's (open()), not a plain UDP socket (open_udp())
  packet_sink sink;
  mutable std::shared_mutex send_mutex;

  counter rx_packets, rx_bytes, tx_packets, tx_bytes, tx_errors, rx_dropped;

  // The I/O thread that calls the sink (index into the group); -1 until single-port binds
  // its first address or connection, unless it was placed. Set once.
  std::atomic<int> home{-1};
  uint64_t group = 0;  // media_io::open's group
  bool placed = false; // counted by io_group::placement_ on its home (set with it, at open)
  // Single-port: the threads whose address table may hold one of its addresses (a bit
  // each), set under the group's registry lock when a thread finds it by its ufrag.
  std::atomic<uint64_t> tuple_threads{0};
  std::string ufrag; // under the group's registry lock

  // Home thread.
  sock::unique_fd own_udp, own_tcp; // port mode
  uint64_t udp_token = 0, tcp_token = 0;
  std::vector<uint64_t> tcp_connections;
  packet_batch pending; // this wakeup's packets, delivered at its end
  bool dirty = false;   // queued in io_core::dirty_
};

struct tcp_conn {
  uint64_t id = 0; // also its epoll token and the ice_tuple connection_id
  sock::unique_fd fd;
  transport_address remote;
  endpoint_state* owner = nullptr; // nullptr: single-port, not bound yet
  // Its first frame was a STUN binding request naming the owner's ufrag. Until then it
  // holds a place on a deadline (tcp_bind_timeout_ms) and is the first to be evicted.
  bool bound = false;
  tcp_frame_reader reader;
  std::vector<uint8_t> out; // framed bytes not yet written
  std::size_t out_offset = 0;
  bool want_write = false;  // EPOLLOUT registered
};

class io_core;

// The I/O threads of one media_io and what they share.
class io_group {
public:
  explicit io_group(media_io_options opts);
  ~io_group();

  void start();
  void stop(); // joins every thread, then closes every endpoint and socket

  std::shared_ptr<media_endpoint> open(const std::shared_ptr<io_group>& self,
                                       const std::string& ufrag, packet_sink sink,
                                       std::string* error, uint64_t group);
  std::shared_ptr<media_endpoint> open_udp(const std::shared_ptr<io_group>& self,
                                           packet_sink sink, const std::string& listen_ip,
                                           std::string* error);
  // After `ep.closed` is set: forgets it everywhere (idempotent).
  void close(const std::shared_ptr<endpoint_state>& ep);
  bool set_ufrag(endpoint_state& ep, const std::string& ufrag);

  // Single-port: the endpoint registered under `ufrag`, marking `thread` as one whose
  // address table may now hold its addresses; null when none. The endpoint stays alive
  // through the caller's current wakeup (its release is queued behind it).
  endpoint_state* find_ufrag(std::string_view ufrag, std::size_t thread);
  // Port mode: whether `ufrag` is the endpoint's current one.
  bool has_ufrag(const endpoint_state& ep, std::string_view ufrag);
  // The endpoint's home: `thread` unless another thread claimed it first.
  int claim_home(endpoint_state& ep, std::size_t thread);

  // Open endpoints, for the TURN server (net/media_io_turn.hpp): by id; the WebRTC one on
  // a port (port mode); the one registered under a ufrag (single-port mode). Null: none.
  std::shared_ptr<endpoint_state> endpoint(uint64_t id);
  std::shared_ptr<endpoint_state> endpoint_for_port(uint16_t port);
  std::shared_ptr<endpoint_state> endpoint_for_ufrag(std::string_view ufrag);
  turn_relay* turn() noexcept { return turn_.get(); }

  io_core& core(std::size_t i) noexcept { return *cores_[i]; }
  std::size_t size() const noexcept { return cores_.size(); }
  uint64_t next_id() noexcept { return next_id_.fetch_add(1, std::memory_order_relaxed); }
  const media_io_options& options() const noexcept { return opts_; }
  uint16_t shared_port() const noexcept { return shared_port_; }
  media_io::counters stats() const noexcept;
  std::vector<media_io::thread_counters> thread_stats() const;

private:
  bool allocate_ports(endpoint_state& ep, std::string* error);
  // A new endpoint with its id, sink and family; null and *error when there is no sink or
  // the threads are not running.
  std::shared_ptr<endpoint_state> new_endpoint(packet_sink sink, std::string* error);
  std::shared_ptr<media_endpoint> place(const std::shared_ptr<io_group>& self,
                                        const std::shared_ptr<endpoint_state>& ep,
                                        std::string* error);
  // Runs `fn` on thread `i`: waits for it, but not from another I/O thread (post). False
  // when that thread has stopped (fn does not run).
  bool run_on(std::size_t i, std::function<void()> fn);

  media_io_options opts_;
  transport_address listen_; // listen_ip, port 0
  int family_ = 0;
  uint16_t shared_port_ = 0;
  std::vector<std::unique_ptr<io_core>> cores_;
  std::atomic<uint64_t> next_id_{1};
  std::atomic<bool> started_{false};

  std::unique_ptr<turn_relay> turn_; // media_io_options::turn

  std::mutex registry_mutex_;
  ufrag_table<endpoint_state*> ufrags_;
  std::unordered_map<uint64_t, std::shared_ptr<endpoint_state>> endpoints_; // open ones
  std::unordered_map<uint16_t, uint64_t> ice_ports_; // port mode: WebRTC endpoints' UDP ports
  // Closed while the threads stopped, before a thread could release them: kept (their TCP
  // connections still name them) and released by stop().
  std::vector<std::shared_ptr<endpoint_state>> unreleased_;
  counter endpoints_open_;

  std::mutex port_mutex_; // port mode: cursor
  std::size_t port_cursor_ = 0;

  std::mutex placement_mutex_;
  thread_placement placement_; // where endpoints are placed (all but single port's ungrouped)
};

// One I/O thread: its epoll set, its command queue, its sockets and connections.
class io_core {
public:
  io_core(io_group& group, std::size_t index);
  ~io_core();

  // Single-port: this thread's UDP socket and TCP listener on the shared port (with
  // SO_REUSEPORT when the group has several threads); errno on failure.
  int open_shared(const transport_address& local, bool reuse_port);
  // Watches the TURN server's UDP socket and TCP listener (before start()).
  void watch_turn(int udp_fd, int tcp_fd);
  void start();
  void request_stop() noexcept;
  void join();

  // Runs `fn` on the I/O thread: post() returns at once, call() waits for it (inline when
  // already on the I/O thread). Both false when the thread is not running.
  bool post(std::function<void()> fn);
  bool call(const std::function<void()>& fn);
  // Work handed to this thread (media_io::post): run after the commands of the same
  // wakeup, dropped unrun when the thread stops. False when the thread is not running.
  bool post_work(std::function<void()> fn);
  void wake() noexcept;
  void set_timer_hook(io_timer_hook* hook) noexcept { timer_hook_ = hook; } // I/O thread
  bool on_io_thread() const noexcept;
  std::size_t index() const noexcept { return index_; }
  int shared_udp_fd() const noexcept { return shared_udp_.get(); }

  // I/O thread.
  // Port mode: watches the endpoint's own sockets; this thread is its home.
  void watch(endpoint_state& ep);
  // Forgets the endpoint's addresses here and, where this is its home, its connections,
  // sockets and undelivered packets. Idempotent.
  void release(endpoint_state& ep);
  void write_tcp(endpoint_state& ep, uint64_t connection_id, std::span<const uint8_t> framed);
  // An ICE-TCP connection accepted elsewhere (the signaling port, net/stream_handoff.hpp),
  // with the bytes already read from it: unbound until its first frame names a transport's
  // ufrag, as on the single port.
  void take_connection(sock::unique_fd fd, const transport_address& remote,
                       std::span<const uint8_t> head);
  // After the threads have been joined (the stopping thread).
  void teardown();

  media_io::counters stats() const noexcept;
  media_io::thread_counters thread_stats() const noexcept;
  // Endpoints whose home this thread is (gauge), read to place a port-mode endpoint.
  counter homed;

private:
  friend class turn_relay; // hands relayed packets on (route_to)
  enum class poll_kind : uint8_t { udp, tcp_listener, turn_udp, turn_tcp_listener, turn_conn };
  struct poll_entry {
    poll_kind kind;
    int fd;
    endpoint_state* endpoint; // nullptr: the shared socket
  };
  static constexpr uint64_t wake_token = 0;

  void run();
  bool enqueue(std::vector<std::function<void()>>& to, std::function<void()> fn);
  void drain_commands(); // and the posted work
  void dispatch(const epoll_event& ev);
  // How long the next wait may last: until the first unbound connection's deadline or the
  // timer hook's next due time (steady ns), whichever is first; -1: no bound.
  int64_t next_wait_ns(clock::time_point now, int64_t timer_due_ns) const;
  int wait(epoll_event* events, int max, clock::time_point now, int64_t timer_due_ns);
  uint64_t add_poll(int fd, uint32_t events, uint64_t token);
  void mod_poll(int fd, uint32_t events, uint64_t token);
  void del_poll(int fd);

  // UDP (media_io.cpp).
  void on_udp(int fd, endpoint_state* ep);
  // A datagram for `ep`: appended here when this is its home, else handed over to it.
  void route_to(endpoint_state& ep, const ice_tuple& source, std::span<const uint8_t> bytes,
                int64_t arrival_us);
  void append(endpoint_state& ep, const ice_tuple& source, std::span<const uint8_t> bytes,
              int64_t arrival_us, bool connection_closed = false);
  // What another thread handed over (route_to), appended here, its home.
  void take_handover(endpoint_state& ep, const packet_batch& batch);
  void send_handovers();
  void deliver();
  // A delivered batch whose sink only read it (a direct lane) keeps its buffers for the
  // next one (at most spare_batches_max, each up to spare_batch_max_bytes), so that a
  // received packet allocates no batch; one the sink moved into a message leaves nothing.
  void recycle(packet_batch&& batch);
  void reuse_spare(packet_batch& batch);

  // TCP (media_io_tcp.cpp).
  void on_accept(int listen_fd, endpoint_state* ep);
  // A new connection of `ep` (null: unbound, bound by its first frame); null when full and
  // no unbound one could be evicted (counted).
  tcp_conn* add_conn(sock::unique_fd fd, const transport_address& remote, endpoint_state* ep);
  void on_conn(tcp_conn& c, uint32_t events);
  bool read_conn(tcp_conn& c);  // false: the connection was closed or moved
  bool take_frames(tcp_conn& c);
  // Single-port: `c`, accepted here, binds to `ep` by its first frame: kept here when this
  // is the endpoint's home, else moved there (adopt). False when it was closed or moved.
  bool bind_conn(tcp_conn& c, endpoint_state& ep, std::span<const uint8_t> first);
  // Home thread: a connection another thread accepted and bound to `ep`.
  void adopt(std::unique_ptr<tcp_conn> c, endpoint_state& ep, std::span<const uint8_t> first);
  bool flush(tcp_conn& c);
  void close_conn(uint64_t id, bool report);
  void expire_pending(clock::time_point now);
  // Makes room for one more connection by closing the oldest unbound one (of `ep`, or of
  // the single-port pending ones when null); false when there is none.
  bool evict_unbound(endpoint_state* ep);

  io_group& group_;
  const media_io_options& opts_;
  const std::size_t index_;

  // Command queue (any thread).
  std::mutex queue_mutex_;
  std::vector<std::function<void()>> queue_;
  std::vector<std::function<void()>> work_; // media_io::post
  bool running_ = false;
  bool stopped_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<std::thread::id> io_thread_id_{};
  std::thread thread_;

  sock::unique_fd epoll_fd_, wake_fd_;
  sock::unique_fd shared_udp_, shared_tcp_;

  // I/O thread.
  std::unordered_map<uint64_t, poll_entry> polls_;
  std::unordered_map<uint64_t, std::unique_ptr<tcp_conn>> conns_;
  tuple_table<endpoint_state*> tuples_; // single-port: the addresses it receives
  std::vector<std::shared_ptr<endpoint_state>> dirty_, delivering_;
  // Datagrams for endpoints homed elsewhere, sent there at the end of the wakeup.
  std::vector<std::pair<std::shared_ptr<endpoint_state>, packet_batch>> handovers_;
  // Unbound connections (both modes) by age, with their deadline; entries of connections
  // since bound, moved or closed are skipped.
  std::deque<std::pair<clock::time_point, uint64_t>> pending_conns_;
  std::size_t pending_count_ = 0; // single-port: accepted, no owner yet
  std::unique_ptr<sock::udp_receiver> rx_;
  io_timer_hook* timer_hook_ = nullptr; // see media_io::set_timer_hook
  std::vector<std::function<void()>> commands_, work_done_; // drained batches, reused
  std::vector<packet_batch> spare_batches_;      // see recycle()
  static constexpr std::size_t spare_batches_max = 4;
  static constexpr std::size_t spare_batch_max_bytes = 64 * 1024;

  struct io_counters {
    counter unknown_source_dropped, tuples_bound, tuples_evicted, truncated_dropped;
    counter tcp_accepted, tcp_refused, tcp_evicted, tcp_bind_timeouts, tcp_bind_failures,
      tcp_closed, tcp_moved;
    counter receive_errors;
    counter burst_waits, burst_waits_joined;
    counter handed_over, packets, wakeups;
  } counters_;
  frame_burst burst_; // the rest of a frame sent at once (on_udp)
};

} // namespace chorus::net::detail
