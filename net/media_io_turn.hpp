// The TURN server inside the media I/O (media_io_turn_options in net/media_io.hpp): its
// UDP socket and TCP listener on one port number (TCP: STUN and ChannelData framed by their
// own lengths, RFC 8656 section 12.5), watched by the first I/O thread, and the pure server
// (net/turn_server.hpp) it drives. A client's relayed packet is handed to the transport it names as if it had
// arrived on the transport's own socket from the relayed address (an ice_tuple of protocol
// turn); what the transport sends to such a tuple comes back here and leaves to the client
// as ChannelData or a Data indication. The relayed addresses are names only: no socket is
// bound for them, and nothing relayed ever crosses the kernel between client and transport.
//
// Which transport a relayed packet is for: the one whose port the peer address names
// (port mode), or the one whose ufrag a binding request names (single-port mode), kept per
// (relayed address, peer) from then on, like an address on the single port.
//
// Internal to net/media_io*.cpp. Everything but stats() runs on the first I/O thread.
#pragma once

#include "net/media_io.hpp"
#include "net/media_io_socket.hpp"
#include "net/stream_handoff.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>
#include <vector>

namespace chorus::net::detail {

class io_core;
class io_group;
struct endpoint_state;

class turn_relay {
public:
  turn_relay(io_group& group, const media_io_options& opts, const transport_address& listen);
  ~turn_relay(); // the server first: it closes its relays here

  // Binds the UDP port and listens on TCP on the same number; errno on failure.
  int open();
  int fd() const noexcept { return udp_.get(); }
  int tcp_fd() const noexcept { return tcp_.get(); }
  uint16_t port() const noexcept { return port_; }

  // First I/O thread: reads what clients sent and answers or relays it.
  void on_readable(io_core& core);
  // First I/O thread: TCP connections accepted, and their events.
  void on_accept(io_core& core);
  void on_conn(io_core& core, uint64_t token, uint32_t events);
  // First I/O thread: connections the signaling edge handed over (net/stream_handoff.hpp):
  // a plain one with the bytes already read from it, or a TLS stream the edge decrypts
  // (connection `id`, its bytes fed with stream_bytes, its answers written to `out`).
  void adopt_conn(io_core& core, sock::unique_fd fd, const transport_address& remote,
                  std::span<const uint8_t> head);
  void open_stream(io_core& core, uint64_t id, const transport_address& remote,
                   std::shared_ptr<stream_sink> out);
  void stream_bytes(io_core& core, uint64_t id, std::span<const uint8_t> bytes);
  void stream_closed(uint64_t id);
  // First I/O thread: packets a transport sent to relayed address `relay` of allocation
  // `allocation` (the tuple's connection_id); those of an allocation since ended are dropped.
  void send_from(endpoint_state& ep, const transport_address& relay, uint64_t allocation,
                 const packet_batch& packets);
  // First I/O thread, each wakeup: expiry about once a second. Returns when it is next due
  // (steady ns), or no_timer_due when nothing is allocated.
  int64_t tick(int64_t now_ns);

  turn_server::counters stats() const;

private:
  struct route_key {
    transport_address relay, peer;
    friend bool operator==(const route_key&, const route_key&) = default;
  };
  struct route_hash {
    std::size_t operator()(const route_key& k) const noexcept {
      return transport_address_hash{}(k.relay) * 31 ^ transport_address_hash{}(k.peer);
    }
  };
  struct back_key {
    transport_address relay;
    uint64_t endpoint = 0;
    friend bool operator==(const back_key&, const back_key&) = default;
  };
  struct back_hash {
    std::size_t operator()(const back_key& k) const noexcept {
      return transport_address_hash{}(k.relay) ^ (k.endpoint * 0x9E3779B97F4A7C15ULL);
    }
  };

  // A client's TCP connection: its stream in, its frames out; or a TLS stream the edge
  // decrypts (no fd: its frames go out through `sink`).
  struct turn_conn {
    uint64_t id = 0; // its epoll token and turn_client::connection_id
    sock::unique_fd fd;
    std::shared_ptr<stream_sink> sink;
    transport_address remote;
    std::vector<uint8_t> in;
    std::vector<uint8_t> out;
    std::size_t out_offset = 0;
    bool want_write = false;
    bool broken = false;       // closed once the current read is done
    int64_t deadline_ns = 0;   // closed then unless it holds an allocation
  };

  bool peer_allowed(const transport_address& peer) const;
  std::optional<transport_address> open_relay(ip_family family);
  void close_relay(const transport_address& relay);
  // The transport a relayed packet for `peer` goes to; null: none (dropped).
  std::shared_ptr<endpoint_state> route(const turn_relay_send& relayed);
  // Full: closes the oldest connection that holds no allocation; false when there is none.
  bool evict_unallocated();
  // A new connection (mutex_ held): null when full and none could be evicted (counted).
  turn_conn* add_conn(uint64_t id, const transport_address& remote);
  // Reads `c`'s socket on `core` from now on (mutex_ held).
  void watch(io_core& core, turn_conn& c, sock::unique_fd fd);
  // Answers or relays every whole frame at the head of c.in; a head that is neither STUN
  // nor ChannelData breaks the connection.
  void take_frames(io_core& core, turn_conn& c);
  // A reply or relayed packet to a client over UDP or its connection (mutex_ held).
  void send_to_client(const turn_client& to, std::span<const uint8_t> bytes);
  void write_conn(turn_conn& c, std::span<const uint8_t> bytes);
  void flush(turn_conn& c);
  void close_conn(uint64_t id); // mutex_ held
  // One frame from a connection or a datagram: answered, relayed, or dropped.
  void handle(io_core& core, const turn_client& client, std::span<const uint8_t> bytes,
              int64_t arrival_us);
  static int64_t now_ms();

  io_group& group_;
  const bool single_port_;
  const uint16_t relay_min_, relay_max_;
  transport_address listen_;
  transport_address relay_ip_;
  std::vector<transport_address> peer_ips_; // port 0
  sock::unique_fd udp_, tcp_;
  io_core* core_ = nullptr; // the first I/O thread, once a connection was accepted
  uint16_t port_ = 0;
  uint16_t requested_port_ = 0;
  const std::size_t max_conns_;
  sock::udp_receiver rx_;

  mutable std::mutex mutex_; // stats() from other threads; everything else on one thread
  std::unique_ptr<turn_server> server_;
  std::set<uint16_t> relay_ports_; // in use
  uint16_t relay_cursor_ = 0;
  std::unordered_map<route_key, uint64_t, route_hash> routes_;        // -> endpoint id
  // The peers each relayed address has routes to: a relay's routes end with it without a
  // sweep of every route.
  std::unordered_map<transport_address, std::vector<transport_address>, transport_address_hash>
    route_peers_;
  struct back_route {
    transport_address peer;
    uint64_t allocation = 0;
  };
  std::unordered_map<back_key, back_route, back_hash> backs_; // -> the peer it heard from
  std::unordered_map<uint64_t, std::unique_ptr<turn_conn>> conns_;
  int64_t next_expiry_ns_ = 0;
  uint64_t conns_refused_ = 0;   // connections over max_conns (counted as capacity)
  uint64_t counters_dropped_ = 0; // frames a connection's full send buffer refused
};

} // namespace chorus::net::detail
