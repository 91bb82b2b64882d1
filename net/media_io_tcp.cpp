// ICE-TCP passive side (RFC 6544) on the I/O threads: accepting connections, RFC 4571 frame
// reassembly, single-port binding by the first frame (and the move of a connection to its
// endpoint's home thread), bounded framed writes.
#include "net/media_io_core.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace chorus::net::detail {

namespace {
constexpr int max_accepts = 64;   // per listener per wakeup
constexpr int max_reads = 16;     // per connection per wakeup
constexpr std::size_t compact_threshold = 64 * 1024;
} // namespace

void io_core::on_accept(int listen_fd, endpoint_state* ep) {
  for (int i = 0; i < max_accepts; ++i) {
    auto a = sock::accept_tcp(listen_fd);
    if (!a.fd) {
      if (a.error == EINTR || a.error == ECONNABORTED)
        continue;
      if (a.error != EAGAIN && a.error != EWOULDBLOCK)
        counters_.receive_errors.add();
      return;
    }
    add_conn(std::move(a.fd), a.remote, ep);
  }
}

tcp_conn* io_core::add_conn(sock::unique_fd fd, const transport_address& remote,
                            endpoint_state* ep) {
  // Full: the oldest connection that has not yet sent its binding request makes room
  // (half-open connections cannot lock a transport, or the shared port, out of ICE-TCP);
  // only when every place holds a bound connection is the new one refused.
  const bool full = ep ? ep->tcp_connections.size() >= opts_.max_tcp_connections_per_endpoint
                       : pending_count_ >= opts_.max_pending_tcp_connections;
  if (full && !evict_unbound(ep)) {
    counters_.tcp_refused.add(); // fd closes here
    return nullptr;
  }
  counters_.tcp_accepted.add();
  auto c = std::make_unique<tcp_conn>();
  c->id = group_.next_id(); // unique across the threads: a connection may move
  c->remote = remote;
  c->fd = std::move(fd);
  c->owner = ep;
  if (ep)
    ep->tcp_connections.push_back(c->id);
  else
    ++pending_count_;
  pending_conns_.emplace_back(
    clock::now() + std::chrono::milliseconds(opts_.tcp_bind_timeout_ms), c->id);
  add_poll(c->fd.get(), EPOLLIN, c->id);
  auto* raw = c.get();
  conns_.emplace(raw->id, std::move(c));
  return raw;
}

void io_core::take_connection(sock::unique_fd fd, const transport_address& remote,
                              std::span<const uint8_t> head) {
  auto* c = add_conn(std::move(fd), remote, nullptr);
  if (!c)
    return;
  c->reader.feed(head);
  take_frames(*c);
}

void io_core::on_conn(tcp_conn& c, uint32_t events) {
  if ((events & EPOLLOUT) && !flush(c))
    return;
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
    read_conn(c);
}

bool io_core::read_conn(tcp_conn& c) {
  for (int round = 0; round < max_reads; ++round) {
    const auto area = c.reader.write_area();
    const ssize_t n = ::recv(c.fd.get(), area.data(), area.size(), MSG_DONTWAIT);
    if (n > 0) {
      c.reader.commit(std::size_t(n));
      if (!take_frames(c))
        return false;
      if (std::size_t(n) < area.size())
        return true; // drained (level-triggered epoll reports more)
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return true;
    if (n < 0)
      counters_.receive_errors.add();
    close_conn(c.id, true); // EOF or error
    return false;
  }
  return true;
}

bool io_core::take_frames(tcp_conn& c) {
  while (auto frame = c.reader.next()) {
    counters_.packets.add();
    if (!c.bound) { // the first frame must be a binding request naming a registered ufrag
      const auto ufrag = binding_request_local_ufrag(*frame);
      endpoint_state* ep = nullptr;
      if (ufrag)
        ep = c.owner ? (group_.has_ufrag(*c.owner, *ufrag) ? c.owner : nullptr)
                     : group_.find_ufrag(*ufrag, index_);
      if (!ep) {
        counters_.tcp_bind_failures.add();
        close_conn(c.id, false);
        return false;
      }
      if (!c.owner) // single-port: this is the transport it belongs to
        return bind_conn(c, *ep, *frame) && take_frames(c);
      c.bound = true;
    }
    append(*c.owner, ice_tuple{ice_protocol::tcp, c.remote, c.id}, *frame, steady_now_us());
  }
  return true;
}

bool io_core::bind_conn(tcp_conn& c, endpoint_state& ep, std::span<const uint8_t> first) {
  --pending_count_;
  auto it = conns_.find(c.id);
  auto owned = std::move(it->second);
  conns_.erase(it);
  del_poll(owned->fd.get());
  const int home = group_.claim_home(ep, index_);
  if (home == int(index_)) {
    const uint64_t id = c.id; // (`c` is gone when adopt refuses it)
    adopt(std::move(owned), ep, first);
    return conns_.count(id) != 0;
  }
  // The endpoint lives on another thread: the connection goes there, its reader with the
  // frames read after this one, and this one with it.
  counters_.tcp_moved.add();
  auto& target = group_.core(std::size_t(home));
  auto moving = std::shared_ptr<tcp_conn>(owned.release());
  if (!target.post([&target, moving, keep = ep.shared_from_this(),
                    frame = std::vector<uint8_t>(first.begin(), first.end())] {
        target.adopt(std::make_unique<tcp_conn>(std::move(*moving)), *keep, frame);
      }))
    counters_.tcp_closed.add(); // stopping: it closes here
  return false;
}

void io_core::adopt(std::unique_ptr<tcp_conn> c, endpoint_state& ep,
                    std::span<const uint8_t> first) {
  if (ep.closed.load(std::memory_order_acquire) ||
      (ep.tcp_connections.size() >= opts_.max_tcp_connections_per_endpoint &&
       !evict_unbound(&ep))) {
    counters_.tcp_refused.add(); // c->fd closes here
    counters_.tcp_closed.add();
    return;
  }
  c->owner = &ep;
  c->bound = true;
  c->want_write = false;
  ep.tcp_connections.push_back(c->id);
  tcp_conn& conn = *c;
  add_poll(conn.fd.get(), EPOLLIN, conn.id);
  conns_.emplace(conn.id, std::move(c));
  append(ep, ice_tuple{ice_protocol::tcp, conn.remote, conn.id}, first, steady_now_us());
  take_frames(conn); // what came with the first frame
}

void io_core::write_tcp(endpoint_state& ep, uint64_t connection_id,
                        std::span<const uint8_t> framed) {
  auto it = conns_.find(connection_id);
  tcp_conn* c = it == conns_.end() ? nullptr : it->second.get();
  if (c && (c->owner != &ep || !c->bound))
    c = nullptr; // another endpoint's connection (or not bound yet)
  if (c && c->out_offset == c->out.size()) {
    c->out.clear();
    c->out_offset = 0;
  }
  // Frame by frame against the send-buffer bound: what does not fit is dropped.
  while (framed.size() >= tcp_frame_header_size) {
    const std::size_t size = std::size_t(framed[0]) << 8 | framed[1];
    const std::size_t total = std::min(framed.size(), tcp_frame_header_size + size);
    const bool fits =
      c && c->out.size() - c->out_offset + total <= opts_.max_tcp_send_buffer;
    if (fits) {
      c->out.insert(c->out.end(), framed.begin(), framed.begin() + std::ptrdiff_t(total));
      ep.tx_packets.add();
      ep.tx_bytes.add(size);
    } else {
      ep.tx_errors.add();
    }
    framed = framed.subspan(total);
  }
  if (c)
    flush(*c);
}

bool io_core::flush(tcp_conn& c) {
  if (!sock::send_pending(c.fd.get(), c.out, c.out_offset)) {
    if (c.owner)
      c.owner->tx_errors.add();
    close_conn(c.id, true); // EPIPE, ECONNRESET: the connection is gone
    return false;
  }
  if (c.out_offset == c.out.size()) {
    c.out.clear();
    c.out_offset = 0;
  } else if (c.out_offset >= compact_threshold && c.out_offset * 2 >= c.out.size()) {
    c.out.erase(c.out.begin(), c.out.begin() + std::ptrdiff_t(c.out_offset));
    c.out_offset = 0;
  }
  const bool want = c.out_offset < c.out.size();
  if (want != c.want_write) {
    mod_poll(c.fd.get(), EPOLLIN | (want ? EPOLLOUT : 0u), c.id);
    c.want_write = want;
  }
  return true;
}

void io_core::close_conn(uint64_t id, bool report) {
  auto it = conns_.find(id);
  if (it == conns_.end())
    return;
  tcp_conn& c = *it->second;
  del_poll(c.fd.get());
  if (c.owner) {
    auto& list = c.owner->tcp_connections;
    list.erase(std::remove(list.begin(), list.end(), id), list.end());
    if (report && c.bound && !c.owner->closed.load(std::memory_order_acquire))
      append(*c.owner, ice_tuple{ice_protocol::tcp, c.remote, c.id}, {}, 0, true);
  } else {
    --pending_count_;
  }
  counters_.tcp_closed.add();
  conns_.erase(it);
}

void io_core::expire_pending(clock::time_point now) {
  while (!pending_conns_.empty() && pending_conns_.front().first <= now) {
    const uint64_t id = pending_conns_.front().second;
    pending_conns_.pop_front();
    auto it = conns_.find(id);
    if (it != conns_.end() && !it->second->bound) {
      counters_.tcp_bind_timeouts.add();
      close_conn(id, false);
    }
  }
}

bool io_core::evict_unbound(endpoint_state* ep) {
  if (ep) { // its connections, oldest first
    for (uint64_t id : ep->tcp_connections) {
      auto it = conns_.find(id);
      if (it != conns_.end() && !it->second->bound) {
        counters_.tcp_evicted.add();
        close_conn(id, false);
        return true;
      }
    }
    return false;
  }
  // Single-port: the oldest pending one; entries of connections bound or gone meanwhile
  // are dropped on the way (the deadline queue only skips them).
  while (!pending_conns_.empty()) {
    const uint64_t id = pending_conns_.front().second;
    pending_conns_.pop_front();
    auto it = conns_.find(id);
    if (it != conns_.end() && !it->second->owner) {
      counters_.tcp_evicted.add();
      close_conn(id, false);
      return true;
    }
  }
  return false;
}

} // namespace chorus::net::detail
