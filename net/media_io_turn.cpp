#include "net/media_io_turn.hpp"

#include "net/media_io_core.hpp"

#include <sys/socket.h>

namespace chorus::net::detail {

namespace {
constexpr int64_t expiry_period_ns = 1'000'000'000;
} // namespace

turn_relay::turn_relay(io_group& group, const media_io_options& opts,
                       const transport_address& listen)
  : group_(group), single_port_(opts.single_port),
    relay_min_(std::min(opts.turn.relay_min_port, opts.turn.relay_max_port)),
    relay_max_(std::max(opts.turn.relay_min_port, opts.turn.relay_max_port)), listen_(listen),
    relay_ip_(listen), requested_port_(opts.turn.udp_port),
    rx_(std::max<std::size_t>(opts.recv_batch, 1), 2048) {
  if (auto ip = transport_address::from_string(opts.turn.relay_ip, 0))
    relay_ip_ = *ip;
  peer_ips_.push_back(listen_);
  for (const auto& text : opts.turn.peer_ips)
    if (auto ip = transport_address::from_string(text, 0))
      peer_ips_.push_back(*ip);
  server_ = std::make_unique<turn_server>(
    opts.turn.server, [this](const transport_address& a) { return peer_allowed(a); },
    [this](ip_family f) { return open_relay(f); },
    [this](const transport_address& a) { close_relay(a); });
}

turn_relay::~turn_relay() { server_.reset(); }

int turn_relay::open() {
  transport_address local = listen_;
  local.port = requested_port_;
  auto udp = sock::bind_udp(local);
  if (!udp.fd)
    return udp.error;
  udp_ = std::move(udp.fd);
  port_ = sock::local_port(udp_.get());
  return 0;
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
  std::erase_if(routes_, [&](const auto& r) { return r.first.relay == relay; });
  std::erase_if(backs_, [&](const auto& b) { return b.first.relay == relay; });
}

std::shared_ptr<endpoint_state> turn_relay::route(const transport_address& relay,
                                                  const transport_address& peer,
                                                  std::span<const uint8_t> payload) {
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
  backs_[back_key{relay, ep->id}] = peer;
  return ep;
}

void turn_relay::send_to_client(const turn_client& to, std::span<const uint8_t> bytes) {
  sockaddr_storage sa{};
  const socklen_t len = sock::to_socket_address(to.remote, sock::socket_family(listen_), sa);
  if (len != 0)
    sock::send_datagram(udp_.get(), sa, len, bytes);
}

void turn_relay::on_readable(io_core& core) {
  for (int round = 0; round < 4; ++round) {
    const int n = rx_.receive(udp_.get());
    if (n <= 0)
      return;
    const int64_t now = now_ms();
    const int64_t arrival_us = steady_now_us();
    for (int i = 0; i < n; ++i) {
      const auto k = std::size_t(i);
      auto from = sock::from_socket_address(rx_.source(k));
      if (!from || rx_.truncated(k))
        continue;
      const auto bytes = rx_.payload(k);
      const turn_client client{turn_protocol::udp, *from, 0};
      std::shared_ptr<endpoint_state> target;
      std::optional<turn_relay_send> relayed;
      {
        std::lock_guard lock(mutex_);
        auto r = server_->on_client(client, bytes, now);
        if (!r.reply.empty())
          send_to_client(client, r.reply);
        if (r.relay) {
          relayed = r.relay;
          target = route(r.relay->relay, r.relay->peer, r.relay->payload);
        }
      }
      if (target)
        core.route_to(*target, ice_tuple{ice_protocol::turn, relayed->relay, 0}, relayed->payload,
                      arrival_us);
    }
    if (std::size_t(n) < rx_.batch())
      return;
  }
}

void turn_relay::send_from(endpoint_state& ep, const transport_address& relay,
                           const packet_batch& packets) {
  std::lock_guard lock(mutex_);
  auto back = backs_.find(back_key{relay, ep.id});
  if (back == backs_.end()) { // it never heard from that relayed address
    ep.tx_errors.add(packets.packets.size());
    return;
  }
  const int64_t now = now_ms();
  for (const auto& p : packets.packets) {
    const auto payload = p.bytes(packets.data);
    auto r = server_->on_peer(relay, back->second, payload, now);
    if (!r) {
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
    next_expiry_ns_ = now_ns + expiry_period_ns;
  }
  return server_->stats().allocations == 0 ? no_timer_due : next_expiry_ns_;
}

turn_server::counters turn_relay::stats() const {
  std::lock_guard lock(mutex_);
  return server_->stats();
}

} // namespace chorus::net::detail
