// The listener: accepts TCP connections, applies the connection limit, and starts an HTTP
// session (plain or TLS) on each connection it keeps. Also the counts of open connections.
#include "net/http_edge_internal.hpp"

#include "common/log.hpp"

#include <algorithm>
#include <stdexcept>

namespace chorus::net {

namespace edge {

bool connection_slot::take(std::shared_ptr<http_server::impl> srv, std::string address) {
  release();
  if (!srv->connection_opened(address))
    return false;
  srv_ = std::move(srv);
  address_ = std::move(address);
  return true;
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

namespace {

// A connection over the per-address limit, on plain HTTP: its request header is read
// (small, briefly) so that the client gets an answer instead of a reset, then 429 and
// the connection closes. Registered with the HTTP sessions, so that shutdown ends it.
class over_limit_refusal : public http_session_base,
                           public std::enable_shared_from_this<over_limit_refusal> {
public:
  // Counted in refusals_in_flight by refuse_over_limit(), which made it.
  over_limit_refusal(std::shared_ptr<http_server::impl> srv, tcp::socket&& sock)
    : srv_(std::move(srv)), stream_(std::move(sock)) {
    srv_->add_session(this);
  }
  ~over_limit_refusal() override {
    srv_->remove_session(this);
    std::lock_guard<std::mutex> g{srv_->registry_mutex};
    --srv_->refusals_in_flight;
  }

  std::shared_ptr<http_session_base> alive() override { return weak_from_this().lock(); }
  asio::any_io_executor executor() override { return stream_.get_executor(); }

  void start() {
    parser_.header_limit(8 * 1024);
    stream_.expires_after(std::min<std::chrono::steady_clock::duration>(
      srv_->opts.handshake_timeout, std::chrono::seconds(2)));
    http::async_read_header(stream_, buffer_, parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec)
                                return self->abort();
                              self->answer();
                            });
  }

  void abort() override {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

private:
  void answer() {
    auto& req = parser_.get();
    res_.version(req.version());
    res_.result(http::status::too_many_requests);
    res_.set(http::field::server, "chorus");
    res_.set(http::field::content_type, "application/json");
    res_.set(http::field::retry_after, "10");
    res_.body() = json_error(429, "too-many-connections",
                             "too many connections from this address "
                             "(signaling.maxConnectionsPerIp)")
                    .body;
    res_.keep_alive(false);
    res_.prepare_payload();
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code, std::size_t) {
      beast::error_code ec;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      self->stream_.close();
    });
  }

  std::shared_ptr<http_server::impl> srv_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request_parser<http::empty_body> parser_;
  http::response<http::string_body> res_;
};

// At most this many over-limit connections are answered at once; others are just closed.
constexpr std::size_t max_refusals_in_flight = 64;

} // namespace

} // namespace edge

using namespace edge;

void http_server::impl::refuse_over_limit(tcp::socket sock, const std::string&) {
  bool answer = !tls && !shutting_down;
  if (answer) {
    std::lock_guard<std::mutex> g{registry_mutex};
    answer = refusals_in_flight < max_refusals_in_flight;
    if (answer)
      ++refusals_in_flight;
  }
  if (!answer) {
    // A TLS handshake is not cheap: closed without an answer.
    beast::error_code ignored;
    sock.shutdown(tcp::socket::shutdown_both, ignored);
    sock.close(ignored);
    return;
  }
  auto refusal = std::make_shared<over_limit_refusal>(shared_from_this(), std::move(sock));
  asio::dispatch(refusal->executor(), [refusal] { refusal->start(); });
}

bool http_server::impl::connection_opened(const std::string& address) {
  std::lock_guard<std::mutex> g{counters_mutex};
  if (!per_ip.try_add(address))
    return false;
  ++ctr.open_connections;
  ++ctr.connections_accepted;
  return true;
}

void http_server::impl::connection_closed(const std::string& address) {
  std::size_t open;
  {
    std::lock_guard<std::mutex> g{counters_mutex};
    per_ip.remove(address);
    open = --ctr.open_connections;
  }
  if (shutting_down && open == 0) // nothing left: run() returns once handlers drain
    asio::post(core, [self = shared_from_this()] { self->grace_timer.cancel(); });
}

std::size_t http_server::impl::open_connections() const {
  std::lock_guard<std::mutex> g{counters_mutex};
  return ctr.open_connections;
}

void http_server::impl::count(uint64_t http_server_counters::*counter) {
  std::lock_guard<std::mutex> g{counters_mutex};
  ++(ctr.*counter);
}

// On the core strand (the acceptor's executor); each connection gets a strand of its own.
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
  connection_slot slot;
  if (!slot.take(shared_from_this(), address)) {
    count(&http_server_counters::refused_per_ip);
    LOG_DEBUG(component, address << ": over " << opts.max_connections_per_ip
                                 << " connections from one address, refused");
    refuse_over_limit(std::move(sock), address);
    return;
  }
  // Signaling is request/answer and small events: without TCP_NODELAY a reply written
  // while an earlier event is unacknowledged waits for the client's delayed ACK
  // (~40 ms per join, measured with chorus-bench).
  sock.set_option(tcp::no_delay(true), ec);
  if (handoff)
    sniff(std::move(sock), std::move(slot));
  else
    start_http(std::move(sock), std::move(slot), {});
}

void http_server::impl::start_http(tcp::socket sock, connection_slot slot,
                                   std::vector<uint8_t> head) {
  // The session starts on its own strand (the socket's executor), on whichever edge thread.
  if (tls) {
    auto s = std::make_shared<http_session<tls_stream>>(shared_from_this(), std::move(sock),
                                                        &*tls, std::move(slot), std::move(head));
    asio::dispatch(s->executor(), [s] { s->start(); });
  } else {
    auto s = std::make_shared<http_session<plain_stream>>(shared_from_this(), std::move(sock),
                                                          nullptr, std::move(slot),
                                                          std::move(head));
    asio::dispatch(s->executor(), [s] { s->start(); });
  }
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
