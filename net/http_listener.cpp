// The listener: accepts TCP connections, applies the connection limit, and starts an HTTP
// session (plain or TLS) on each connection it keeps. Also the counts of open connections.
#include "net/http_edge_internal.hpp"

#include "common/log.hpp"

#include <stdexcept>

namespace chorus::net {

namespace edge {

connection_slot::connection_slot(std::shared_ptr<http_server::impl> srv, std::string address)
  : srv_(std::move(srv)), address_(std::move(address)) {
  srv_->connection_opened(address_);
}

connection_slot::connection_slot(connection_slot&& other) noexcept
  : srv_(std::move(other.srv_)), address_(std::move(other.address_)) {
  other.srv_.reset();
}

connection_slot& connection_slot::operator=(connection_slot&& other) noexcept {
  if (this != &other) {
    release();
    srv_ = std::move(other.srv_);
    address_ = std::move(other.address_);
    other.srv_.reset();
  }
  return *this;
}

void connection_slot::release() {
  if (auto s = std::exchange(srv_, nullptr))
    s->connection_closed(address_);
}

} // namespace edge

using namespace edge;

void http_server::impl::connection_opened(const std::string&) {
  std::lock_guard<std::mutex> g{counters_mutex};
  ++ctr.open_connections;
  ++ctr.connections_accepted;
}

void http_server::impl::connection_closed(const std::string&) {
  std::size_t open;
  {
    std::lock_guard<std::mutex> g{counters_mutex};
    open = --ctr.open_connections;
  }
  if (shutting_down && open == 0)
    grace_timer.cancel(); // nothing left: run() returns once handlers drain
}

std::size_t http_server::impl::open_connections() const {
  std::lock_guard<std::mutex> g{counters_mutex};
  return ctr.open_connections;
}

void http_server::impl::count(uint64_t http_server_counters::*counter) {
  std::lock_guard<std::mutex> g{counters_mutex};
  ++(ctr.*counter);
}

void http_server::impl::do_accept() {
  acceptor.async_accept(asio::make_strand(ioc), [self = shared_from_this()](
                                                  beast::error_code ec, tcp::socket sock) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !self->acceptor.is_open())
        return;
      LOG_WARN(component, "accept failed: " << ec.message());
    } else {
      self->on_accepted(std::move(sock));
    }
    self->do_accept();
  });
}

void http_server::impl::on_accepted(tcp::socket sock) {
  if (open_connections() >= opts.max_connections) {
    count(&http_server_counters::connections_refused);
    beast::error_code ignored;
    sock.close(ignored);
    return;
  }
  beast::error_code ec;
  auto ep = sock.remote_endpoint(ec);
  std::string address = ec ? std::string{"?"} : ep.address().to_string();
  connection_slot slot{shared_from_this(), address};
  // Signaling is request/answer and small events: without TCP_NODELAY a reply written
  // while an earlier event is unacknowledged waits for the client's delayed ACK
  // (~40 ms per join, measured with chorus-bench).
  sock.set_option(tcp::no_delay(true), ec);
  if (tls)
    std::make_shared<http_session<tls_stream>>(shared_from_this(), std::move(sock), *tls,
                                               std::move(slot))
      ->start();
  else
    std::make_shared<http_session<plain_stream>>(shared_from_this(), std::move(sock),
                                                 std::move(slot))
      ->start();
}

uint16_t http_server::listen() {
  beast::error_code ec;
  auto addr = asio::ip::make_address(impl_->opts.host, ec);
  if (ec)
    throw std::runtime_error("invalid listen address '" + impl_->opts.host + "'");
  tcp::endpoint ep{addr, impl_->opts.port};
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec)
    a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec)
    a.bind(ep, ec);
  if (!ec)
    a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + impl_->opts.host + ":" +
                             std::to_string(impl_->opts.port) + ": " + ec.message());
  impl_->do_accept();
  return a.local_endpoint().port();
}

} // namespace chorus::net
