#include "net/media_io_turn.hpp"

#include "net/media_io_core.hpp"

#include "net/turn_message.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace chorus::net::detail {

namespace {
constexpr int64_t turn_expiry_period_ns = 1'000'000'000;
constexpr int64_t turn_allocate_within_ns = 10'000'000'000;   // a connection without an allocation
constexpr std::size_t turn_max_out_bytes = 1 << 20;           // per connection; beyond: dropped
constexpr std::size_t turn_max_in_bytes = 256 * 1024;         // a TLS stream's unframed bytes
constexpr std::size_t turn_read_chunk = 16 * 1024;
constexpr int turn_max_reads = 16;                            // per connection per wakeup
} // namespace

turn_relay::turn_relay(io_group& group, const media_io_options& opts,
                       const transport_address& listen)
  : group_(group), single_port_(opts.single_port),
    relay_min_(std::min(opts.turn.relay_min_port, opts.turn.relay_max_port)),
    relay_max_(std::max(opts.turn.relay_min_port, opts.turn.relay_max_port)), listen_(listen),
    relay_ip_(listen), requested_port_(opts.turn.udp_port),
    max_conns_(std::max<std::size_t>(opts.turn.max_tcp_connections, 1)),
    rx_(std::max<std::size_t>(opts.recv_batch, 1), 2048) {
  if (auto ip = transport_address::from_string(opts.turn.relay_ip, 0))
    relay_ip_ = *ip;
  peer_ips_.push_back(listen_);
  for (const auto& text : opts.turn.peer_ips)
    if (auto ip = transport_address::from_string(text, 0))
      peer_ips_.push_back(*ip);
  auto server_config = opts.turn.server;
  server_config.relay_family = relay_ip_.family;
  server_ = std::make_unique<turn_server>(
    std::move(server_config), [this](const transport_address& a) { return peer_allowed(a); },
    [this](ip_family f) { return open_relay(f); },
    [this](const transport_address& a) { close_relay(a); });
}

turn_relay::~turn_relay() {
  conns_.clear(); // their fds close; the threads have stopped
  server_.reset();
}

int turn_relay::open() {
  // Port 0 asks for any free one: the kernel picks a free UDP port, which another socket
  // may hold for TCP, so a few are tried. A named port is tried once.
  const int tries = requested_port_ == 0 ? 16 : 1;
  int err = 0;
  for (int i = 0; i < tries; ++i) {
    transport_address local = listen_;
    local.port = requested_port_;
    auto udp = sock::bind_udp(local);
    if (!udp.fd)
      return udp.error;
    local.port = sock::local_port(udp.fd.get());
    auto tcp = sock::listen_tcp(local);
    if (!tcp.fd) {
      err = tcp.error;
      if (err != EADDRINUSE)
        return err;
      continue;
    }
    udp_ = std::move(udp.fd);
    tcp_ = std::move(tcp.fd);
    port_ = local.port;
    return 0;
  }
  return err;
}

int64_t turn_relay::now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count(); // credentials carry Unix time
}

bool turn_relay::peer_allowed(const transport_address& peer) const {
  transport_address ip = peer;
  ip.port = 0;
  bool ours = false;
  for (const auto& a : peer_ips_)
    ours = ours || a == ip;
  if (!ours)
    return false;
  if (single_port_)
    return peer.port == group_.shared_port();
  return group_.endpoint_for_port(peer.port) != nullptr;
}

std::optional<transport_address> turn_relay::open_relay(ip_family family) {
  if (family != relay_ip_.family)
    return std::nullopt;
  const std::size_t range = std::size_t(relay_max_) - relay_min_ + 1;
  for (std::size_t i = 0; i < range; ++i) {
    const auto port = uint16_t(relay_min_ + (relay_cursor_ + i) % range);
    if (relay_ports_.insert(port).second) {
      relay_cursor_ = uint16_t((relay_cursor_ + i + 1) % range);
      transport_address a = relay_ip_;
      a.port = port;
      return a;
    }
  }
  return std::nullopt;
}

void turn_relay::close_relay(const transport_address& relay) {
  relay_ports_.erase(relay.port);
  auto peers = route_peers_.find(relay);
  if (peers == route_peers_.end())
    return;
  for (const auto& peer : peers->second)
    if (auto r = routes_.find(route_key{relay, peer}); r != routes_.end()) {
      backs_.erase(back_key{relay, r->second});
      routes_.erase(r);
    }
  route_peers_.erase(peers);
}

std::shared_ptr<endpoint_state> turn_relay::route(const turn_relay_send& relayed) {
  const auto& [relay, peer, payload, allocation] = relayed;
  const route_key key{relay, peer};
  if (auto it = routes_.find(key); it != routes_.end()) {
    if (auto ep = group_.endpoint(it->second))
      return ep;
    backs_.erase(back_key{relay, it->second});
    routes_.erase(it); // that transport closed: found again below
  }
  std::shared_ptr<endpoint_state> ep;
  if (single_port_) {
    if (auto ufrag = binding_request_local_ufrag(payload))
      ep = group_.endpoint_for_ufrag(*ufrag);
  } else {
    ep = group_.endpoint_for_port(peer.port);
  }
  if (!ep)
    return nullptr;
  routes_.emplace(key, ep->id);
  backs_[back_key{relay, ep->id}] = back_route{peer, allocation};
  auto& peers = route_peers_[relay];
  if (std::find(peers.begin(), peers.end(), peer) == peers.end())
    peers.push_back(peer);
  return ep;
}

void turn_relay::send_to_client(const turn_client& to, std::span<const uint8_t> bytes) {
  if (to.protocol != turn_protocol::udp) {
    if (auto it = conns_.find(to.connection_id); it != conns_.end())
      write_conn(*it->second, bytes);
    return;
  }
  sockaddr_storage sa{};
  const socklen_t len = sock::to_socket_address(to.remote, sock::socket_family(listen_), sa);
  if (len != 0)
    sock::send_datagram(udp_.get(), sa, len, bytes);
}

void turn_relay::handle(io_core& core, const turn_client& client, std::span<const uint8_t> bytes,
                        int64_t arrival_us) {
  std::shared_ptr<endpoint_state> target;
  std::optional<turn_relay_send> relayed;
  {
    std::lock_guard lock(mutex_);
    auto r = server_->on_client(client, bytes, now_ms());
    if (!r.reply.empty())
      send_to_client(client, r.reply);
    if (r.relay) {
      relayed = r.relay;
      target = route(*r.relay);
    }
  }
  if (target) // the payload lies in `bytes`, which the caller keeps until this returns
    core.route_to(*target, ice_tuple{ice_protocol::turn, relayed->relay, relayed->allocation},
                  relayed->payload, arrival_us);
}

void turn_relay::on_readable(io_core& core) {
  for (int round = 0; round < 4; ++round) {
    const int n = rx_.receive(udp_.get());
    if (n <= 0)
      return;
    const int64_t arrival_us = steady_now_us();
    for (int i = 0; i < n; ++i) {
      const auto k = std::size_t(i);
      auto from = sock::from_socket_address(rx_.source(k));
      if (!from || rx_.truncated(k))
        continue;
      handle(core, turn_client{turn_protocol::udp, *from, 0}, rx_.payload(k), arrival_us);
    }
    if (std::size_t(n) < rx_.batch())
      return;
  }
}

turn_relay::turn_conn* turn_relay::add_conn(uint64_t id, const transport_address& remote) {
  if (conns_.size() >= max_conns_ && !evict_unallocated()) {
    ++conns_refused_;
    return nullptr;
  }
  auto c = std::make_unique<turn_conn>();
  c->id = id;
  c->remote = remote;
  c->deadline_ns = steady_now_us() * 1000 + turn_allocate_within_ns;
  auto* raw = c.get();
  conns_.emplace(c->id, std::move(c));
  return raw;
}

void turn_relay::on_accept(io_core& core) {
  core_ = &core;
  for (int i = 0; i < 64; ++i) {
    auto a = sock::accept_tcp(tcp_.get());
    if (!a.fd) {
      if (a.error == EINTR || a.error == ECONNABORTED)
        continue;
      return;
    }
    std::lock_guard lock(mutex_);
    if (auto* c = add_conn(group_.next_id(), a.remote))
      watch(core, *c, std::move(a.fd));
    // else a.fd closes here
  }
}

void turn_relay::watch(io_core& core, turn_conn& c, sock::unique_fd fd) {
  c.fd = std::move(fd);
  core.polls_[c.id] = {io_core::poll_kind::turn_conn, c.fd.get(), nullptr};
  core.add_poll(c.fd.get(), EPOLLIN, c.id);
}

void turn_relay::adopt_conn(io_core& core, sock::unique_fd fd, const transport_address& remote,
                            std::span<const uint8_t> head) {
  core_ = &core;
  turn_conn* c = nullptr;
  {
    std::lock_guard lock(mutex_);
    c = add_conn(group_.next_id(), remote);
    if (!c)
      return; // fd closes here
    watch(core, *c, std::move(fd));
    c->in.assign(head.begin(), head.end());
  }
  take_frames(core, *c);
  if (c->broken) {
    std::lock_guard lock(mutex_);
    close_conn(c->id);
  }
}

void turn_relay::open_stream(io_core& core, uint64_t id, const transport_address& remote,
                             std::shared_ptr<stream_sink> out) {
  core_ = &core;
  std::lock_guard lock(mutex_);
  if (auto* c = add_conn(id, remote))
    c->sink = std::move(out);
  else
    out->close();
}

void turn_relay::stream_bytes(io_core& core, uint64_t id, std::span<const uint8_t> bytes) {
  turn_conn* c = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto it = conns_.find(id);
    if (it == conns_.end() || !it->second->sink)
      return; // refused or closed meanwhile
    c = it->second.get();
    if (c->in.size() + bytes.size() > turn_max_in_bytes)
      c->broken = true; // far more than one frame: a client that never completes one
    else
      c->in.insert(c->in.end(), bytes.begin(), bytes.end());
  }
  if (!c->broken)
    take_frames(core, *c);
  if (c->broken) {
    std::lock_guard lock(mutex_);
    close_conn(id);
  }
}

void turn_relay::stream_closed(uint64_t id) {
  std::lock_guard lock(mutex_);
  auto it = conns_.find(id);
  if (it != conns_.end() && it->second->sink)
    close_conn(id);
}

void turn_relay::take_frames(io_core& core, turn_conn& c) {
  const turn_client client{turn_protocol::tcp, c.remote, c.id};
  const int64_t arrival_us = steady_now_us();
  std::size_t used = 0;
  while (!c.broken) {
    const auto rest = std::span<const uint8_t>(c.in).subspan(used);
    auto size = turn::stream_frame_size(rest);
    if (!size) {
      c.broken = true;
      break;
    }
    if (*size == 0 || *size > rest.size())
      break;
    handle(core, client, rest.first(*size), arrival_us);
    used += *size;
  }
  c.in.erase(c.in.begin(), c.in.begin() + std::ptrdiff_t(used));
}

void turn_relay::on_conn(io_core& core, uint64_t token, uint32_t events) {
  turn_conn* c = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto it = conns_.find(token);
    if (it == conns_.end() || !it->second->fd)
      return;
    c = it->second.get();
    if (events & EPOLLOUT)
      flush(*c);
  }
  bool eof = false;
  for (int r = 0; r < turn_max_reads && !c->broken && !eof; ++r) {
    const std::size_t had = c->in.size();
    c->in.resize(had + turn_read_chunk);
    const ssize_t n = ::recv(c->fd.get(), c->in.data() + had, turn_read_chunk, MSG_DONTWAIT);
    c->in.resize(had + std::size_t(std::max<ssize_t>(n, 0)));
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      eof = true;
    } else if (n < 0) {
      break;
    }
    take_frames(core, *c);
  }
  if (eof || c->broken) {
    std::lock_guard lock(mutex_);
    close_conn(token);
  }
}

void turn_relay::write_conn(turn_conn& c, std::span<const uint8_t> bytes) {
  if (c.sink && !c.broken) {
    c.sink->write(bytes); // the edge's queue bounds it
    return;
  }
  if (c.broken || c.out.size() - c.out_offset + bytes.size() > turn_max_out_bytes) {
    ++counters_dropped_;
    return;
  }
  c.out.insert(c.out.end(), bytes.begin(), bytes.end());
  flush(c);
}

void turn_relay::flush(turn_conn& c) {
  if (!sock::send_pending(c.fd.get(), c.out, c.out_offset)) {
    c.broken = true; // gone: closed by its reader (on_conn) or by tick()
    return;
  }
  if (c.out_offset == c.out.size()) {
    c.out.clear();
    c.out_offset = 0;
  } else if (c.out_offset >= turn_read_chunk * 4 && c.out_offset * 2 >= c.out.size()) {
    c.out.erase(c.out.begin(), c.out.begin() + std::ptrdiff_t(c.out_offset)); // written
    c.out_offset = 0;
  }
  const bool want = c.out_offset < c.out.size();
  if (want != c.want_write && core_) {
    core_->mod_poll(c.fd.get(), EPOLLIN | (want ? EPOLLOUT : 0u), c.id);
    c.want_write = want;
  }
}

bool turn_relay::evict_unallocated() {
  const turn_conn* oldest = nullptr;
  for (const auto& [id, c] : conns_)
    if (!server_->has_allocation(turn_client{turn_protocol::tcp, c->remote, c->id}) &&
        (!oldest || c->deadline_ns < oldest->deadline_ns))
      oldest = c.get();
  if (!oldest)
    return false;
  ++conns_refused_;
  close_conn(oldest->id);
  return true;
}

void turn_relay::close_conn(uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end())
    return;
  auto& c = *it->second;
  server_->connection_closed(turn_client{turn_protocol::tcp, c.remote, c.id});
  if (c.sink)
    c.sink->close();
  else if (core_) {
    core_->del_poll(c.fd.get());
    core_->polls_.erase(c.id);
  }
  conns_.erase(it);
}

void turn_relay::send_from(endpoint_state& ep, const transport_address& relay,
                           uint64_t allocation, const packet_batch& packets) {
  std::lock_guard lock(mutex_);
  auto back = backs_.find(back_key{relay, ep.id});
  // It never heard from that relayed address, or from this allocation of it.
  if (back == backs_.end() || back->second.allocation != allocation) {
    ep.tx_errors.add(packets.packets.size());
    return;
  }
  const transport_address peer = back->second.peer; // (on_peer may end the allocation)
  const int64_t now = now_ms();
  for (const auto& p : packets.packets) {
    const auto payload = p.bytes(packets.data);
    auto r = server_->on_peer(relay, peer, payload, now);
    if (!r || r->allocation != allocation) {
      ep.tx_errors.add();
      continue;
    }
    send_to_client(r->to, r->bytes);
    ep.tx_packets.add();
    ep.tx_bytes.add(payload.size());
  }
}

int64_t turn_relay::tick(int64_t now_ns) {
  std::lock_guard lock(mutex_);
  if (now_ns >= next_expiry_ns_) {
    server_->expire(now_ms());
    next_expiry_ns_ = now_ns + turn_expiry_period_ns;
    // Connections that broke on a write, or hold no allocation after their first seconds.
    std::vector<uint64_t> idle;
    for (const auto& [id, c] : conns_)
      if (c->broken ||
          (now_ns >= c->deadline_ns &&
           !server_->has_allocation(turn_client{turn_protocol::tcp, c->remote, c->id})))
        idle.push_back(id);
    for (uint64_t id : idle)
      close_conn(id);
  }
  return server_->stats().allocations == 0 && conns_.empty() ? no_timer_due : next_expiry_ns_;
}

turn_server::counters turn_relay::stats() const {
  std::lock_guard lock(mutex_);
  auto c = server_->stats();
  c.dropped += counters_dropped_;
  c.refused_capacity += conns_refused_;
  return c;
}

} // namespace chorus::net::detail
