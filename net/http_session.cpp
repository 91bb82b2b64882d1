// One HTTP/1.1 connection, plain or TLS: reads requests (with size limits and a timeout),
// hands each to the routes (http_routes.cpp), writes the answers, and can hold a request
// open until the application completes it (Engine.IO long-polling). A WebSocket upgrade
// hands the connection over to a ws_session.
#include "net/http_edge_internal.hpp"

#include "common/log.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>

#include <sys/socket.h>

namespace chorus::net::edge {

namespace {

std::string endpoint_text(const tcp::socket& s) {
  boost::system::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec)
    return "?";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

} // namespace

const std::string* find_header(const http_request_info& info, std::string_view name) {
  for (auto& [k, v] : info.headers)
    if (k == name)
      return &v;
  return nullptr;
}

http_request_info request_info(const request& req, const std::string& remote) {
  http_request_info info;
  info.method = to_std(req.method_string());
  info.target = to_std(req.target());
  auto q = info.target.find('?');
  info.path = info.target.substr(0, q);
  if (q != std::string::npos)
    info.query = info.target.substr(q + 1);
  info.remote = remote;
  for (auto& f : req) {
    std::string name = to_std(f.name_string());
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    info.headers.emplace_back(std::move(name), to_std(f.value()));
  }
  return info;
}

std::shared_ptr<http::response<http::string_body>> make_response(const request& req,
                                                                   http_response r,
                                                                   bool keep_alive) {
  auto res = std::make_shared<http::response<http::string_body>>(
    static_cast<http::status>(r.status), req.version());
  res->set(http::field::server, "chorus");
  if (r.status != 204)
    res->set(http::field::content_type, r.content_type);
  res->set(http::field::cache_control, "no-store");
  for (auto& [k, v] : r.headers)
    res->set(k, v);
  res->keep_alive(keep_alive);
  if (req.method() != http::verb::head)
    res->body() = std::move(r.body);
  res->prepare_payload();
  if (req.method() == http::verb::head)
    res->content_length(r.body.size());
  if (r.status == 204)
    res->erase(http::field::content_length); // RFC 9110: none in a 204
  return res;
}

template <class Stream>
static Stream make_stream(tcp::socket&& sock, ssl::context* tls) {
  if constexpr (is_tls<Stream>)
    return Stream(std::move(sock), *tls);
  else
    return Stream(std::move(sock));
}

template <class Stream>
http_session<Stream>::http_session(std::shared_ptr<http_server::impl> srv, tcp::socket&& sock,
                                   ssl::context* tls, connection_slot slot,
                                   std::vector<uint8_t> head)
  : srv_(std::move(srv)), executor_(sock.get_executor()),
    stream_(make_stream<Stream>(std::move(sock), tls)),
    slot_(std::move(slot)) {
  if constexpr (is_tls<Stream>)
    handshake_head_ = std::move(head);
  else
    buffer_.commit(asio::buffer_copy(buffer_.prepare(head.size()), asio::buffer(head)));
  init();
}

template <class Stream>
http_session<Stream>::~http_session() {
  srv_->remove_session(this);
  // slot_ (unless a WebSocket session took it) gives the connection's place back.
}

template <class Stream>
void http_session<Stream>::init() {
  remote_ = endpoint_text(socket());
  srv_->add_session(this);
}

template <class Stream>
void http_session<Stream>::start() {
  if constexpr (is_tls<Stream>) {
    beast::get_lowest_layer(stream_).expires_after(srv_->opts.handshake_timeout);
    auto done = [self = this->shared_from_this()](beast::error_code ec, std::size_t = 0) {
      self->handshake_head_.clear();
      self->on_handshake(ec);
    };
    if (handshake_head_.empty())
      stream_.async_handshake(ssl::stream_base::server, std::move(done));
    else
      stream_.async_handshake(ssl::stream_base::server, asio::buffer(handshake_head_),
                              std::move(done));
  } else {
    do_read();
  }
}

template <class Stream>
void http_session<Stream>::on_handshake(beast::error_code ec) {
  if (ec) {
    if (ec == beast::error::timeout)
      srv_->count(&http_server_counters::timeouts_request);
    LOG_DEBUG(component, remote_ << ": TLS handshake failed: " << ec.message());
    abort();
    return;
  }
  if (srv_->handoff && srv_->handoff->takes_turn())
    sniff_decrypted();
  else
    do_read();
}

template <class Stream>
void http_session<Stream>::sniff_decrypted() {
  if constexpr (is_tls<Stream>) {
    stream_.async_read_some(
      buffer_.prepare(512), [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
        self->buffer_.commit(n);
        if (ec) {
          if (ec == beast::error::timeout)
            self->srv_->count(&http_server_counters::timeouts_request);
          self->abort();
          return;
        }
        const auto data = self->buffer_.cdata();
        const std::span<const uint8_t> head{static_cast<const uint8_t*>(data.data()), data.size()};
        const auto kind = classify_connection(head);
        if (kind == connection_kind::undecided && head.size() < 512)
          return self->sniff_decrypted();
        if (kind != connection_kind::turn)
          return self->do_read(); // HTTP (or what its parser refuses), from buffer_
        self->taken_ = true;
        self->slot_.release(); // the TURN server's own limits apply from here
        self->srv_->start_turn_stream(std::move(self->stream_), self->remote_,
                                      std::vector<uint8_t>(head.begin(), head.end()));
      });
  }
}

// Shutdown: stop reading further requests.
template <class Stream>
void http_session<Stream>::abort() {
  if (taken_)
    return; // the WebSocket session has the connection
  held_ = false;
  beast::error_code ec;
  socket().shutdown(tcp::socket::shutdown_both, ec);
  socket().close(ec);
}

// Completes a held request (an Engine.IO poll, or a POST held back).
template <class Stream>
void http_session<Stream>::deliver(http_response r) {
  if (!held_)
    return;
  held_ = false;
  ++hold_generation_;
  beast::error_code ec;
  socket().cancel(ec); // the wait for the peer's close
  for (auto& h : held_headers_)
    r.headers.push_back(std::move(h));
  held_headers_.clear();
  on_abandon_ = nullptr;
  beast::get_lowest_layer(stream_).expires_after(srv_->opts.handshake_timeout);
  respond(std::move(r));
}

template <class Stream>
std::function<void(http_response)> http_session<Stream>::completer() {
  return [self = this->shared_from_this()](http_response res) {
    asio::dispatch(self->executor_,
                   [self, res = std::move(res)]() mutable { self->deliver(std::move(res)); });
  };
}

template <class Stream>
void http_session<Stream>::do_read() {
  parser_.emplace();
  parser_->body_limit(std::max<std::size_t>(srv_->opts.max_request_body,
                                            srv_->eio ? srv_->opts.engineio.max_payload : 0));
  parser_->header_limit(16 * 1024);
  beast::get_lowest_layer(stream_).expires_after(srv_->opts.handshake_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                     self->on_read(ec);
                   });
}

template <class Stream>
void http_session<Stream>::on_read(beast::error_code ec) {
  if (ec == http::error::body_limit && parser_) {
    // The start line and the fields are parsed (the limit is checked against
    // Content-Length or the body, after them): an Engine.IO POST too large to read gets
    // its answer; anything else is closed.
    req_ = parser_->release();
    auto info = request_info(req_, remote_);
    if (srv_->eio_path(info.path) && info.method == "POST") {
      force_close_ = true;
      srv_->route(this->shared_from_this(), std::move(info), false, true);
      return;
    }
  }
  if (ec) {
    // Nothing within the handshake timeout: an idle (keep-alive) connection; part of a
    // request only: a slow-loris client.
    if (ec == beast::error::timeout)
      srv_->count(parser_ && (parser_->got_some() || buffer_.size() > 0)
                    ? &http_server_counters::timeouts_request
                    : &http_server_counters::timeouts_http_idle);
    if (ec != http::error::end_of_stream)
      LOG_DEBUG(component, remote_ << ": " << ec.message());
    beast::error_code ignored;
    socket().shutdown(tcp::socket::shutdown_send, ignored);
    return;
  }
  req_ = parser_->release();
  force_close_ = false;
  auto info = request_info(req_, remote_);
  bool upgrade = websocket::is_upgrade(req_);
  if (!upgrade)
    info.body = std::move(req_.body());
  srv_->route(this->shared_from_this(), std::move(info), upgrade, false);
}

template <class Stream>
std::shared_ptr<ws_session_base> http_session<Stream>::take_websocket() {
  taken_ = true;
  return std::make_shared<ws_session<Stream>>(srv_, std::move(stream_), remote_,
                                              std::move(slot_));
}

template <class Stream>
void http_session<Stream>::hold(header_list headers, std::function<void()> on_abandon) {
  held_ = true;
  held_headers_ = std::move(headers);
  on_abandon_ = std::move(on_abandon);
  beast::get_lowest_layer(stream_).expires_never();
  wait_while_held();
}

template <class Stream>
void http_session<Stream>::wait_while_held() {
  socket().async_wait(tcp::socket::wait_read,
                      [self = this->shared_from_this(), gen = hold_generation_](
                        beast::error_code ec) { self->on_held_readable(ec, gen); });
}

template <class Stream>
void http_session<Stream>::on_held_readable(beast::error_code ec, uint64_t generation) {
  if (ec || !held_ || generation != hold_generation_)
    return;
  // A peek tells the three cases apart: data (a pipelined request: it waits for the next
  // read), nothing yet (a readiness that was not: several threads run the reactor, and one
  // may report the edge of bytes the request's own read already took), or the end of the
  // stream (or an error), which alone abandons the request.
  char byte;
  const auto r = ::recv(socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (r > 0)
    return;
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return wait_while_held();
  LOG_DEBUG(component, remote_ << ": held request abandoned by the client");
  held_ = false;
  auto f = std::move(on_abandon_);
  on_abandon_ = nullptr;
  abort();
  if (f)
    f();
}

template <class Stream>
void http_session<Stream>::respond(http_response r) {
  auto res = make_response(req_, std::move(r),
                           req_.keep_alive() && !srv_->shutting_down && !force_close_);
  http::async_write(stream_, *res,
                    [self = this->shared_from_this(), res](beast::error_code ec, std::size_t) {
                      self->on_write(ec, res->need_eof());
                    });
}

template <class Stream>
void http_session<Stream>::on_write(beast::error_code ec, bool close) {
  if (ec || close) {
    beast::error_code ignored;
    socket().shutdown(tcp::socket::shutdown_send, ignored);
    return;
  }
  do_read();
}

template class http_session<plain_stream>;
template class http_session<tls_stream>;

} // namespace chorus::net::edge
