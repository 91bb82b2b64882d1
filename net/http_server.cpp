#include "net/http_server.hpp"

#include "common/log.hpp"

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <unordered_set>

namespace chorus::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

constexpr const char* component = "http";

template <class StringView>
std::string to_std(const StringView& sv) {
  return std::string(sv.data(), sv.size());
}

std::string endpoint_text(const tcp::socket& s) {
  boost::system::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec)
    return "?";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

} // namespace

// ---- shared server state ------------------------------------------------------------

class ws_session;
class http_session;

struct http_server::impl : std::enable_shared_from_this<http_server::impl> {
  http_server_options opts;
  http_handler on_http;
  ws_acceptor on_ws;
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  asio::signal_set signals{ioc, SIGINT, SIGTERM};
  std::function<void(int)> on_sig;
  asio::steady_timer grace_timer{ioc};
  bool shutting_down = false;
  uint16_t shutdown_code = 1001;
  std::unordered_set<ws_session*> websockets;   // I/O thread only
  std::unordered_set<http_session*> http_sessions; // I/O thread only

  mutable std::mutex counters_mutex;
  http_server_counters ctr;

  void connection_opened() {
    std::lock_guard<std::mutex> g{counters_mutex};
    ++ctr.open_connections;
    ++ctr.connections_accepted;
  }
  void connection_closed() {
    std::size_t open;
    {
      std::lock_guard<std::mutex> g{counters_mutex};
      open = --ctr.open_connections;
    }
    if (shutting_down && open == 0)
      grace_timer.cancel(); // nothing left: run() returns once handlers drain
  }
  std::size_t open_connections() const {
    std::lock_guard<std::mutex> g{counters_mutex};
    return ctr.open_connections;
  }
  void count_refused() {
    std::lock_guard<std::mutex> g{counters_mutex};
    ++ctr.connections_refused;
  }
  void count_slow_reader() {
    std::lock_guard<std::mutex> g{counters_mutex};
    ++ctr.slow_readers_dropped;
  }

  void do_accept();
  void begin_shutdown(uint16_t code, std::chrono::milliseconds grace);
  void abort_all();
};

// ---- WebSocket session ------------------------------------------------------------------

class ws_session : public ws_connection, public std::enable_shared_from_this<ws_session> {
public:
  ws_session(std::shared_ptr<http_server::impl> srv, tcp::socket&& sock, std::string remote)
    : srv_(std::move(srv)), ws_(std::move(sock)), remote_(std::move(remote)) {
  }

  ~ws_session() override {
    // Normally finished() already ran on the I/O thread; this covers an I/O context
    // that was torn down with the session's operations still pending.
    finished(1006);
  }

  void set_handler(std::shared_ptr<ws_handler> h) { handler_ = std::move(h); }

  void start(http::request<http::string_body> req) {
    srv_->websockets.insert(this);
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout t{};
    t.handshake_timeout = srv_->opts.handshake_timeout;
    t.idle_timeout = srv_->opts.idle_timeout;
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.read_message_max(srv_->opts.max_message_bytes);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::server, "chorus");
    }));
    ws_.async_accept(req, [self = shared_from_this()](beast::error_code ec) {
      self->on_accept(ec);
    });
  }

  // ws_connection: thread-safe entry points hop onto the I/O thread.
  void send(std::string text) override {
    auto msg = std::make_shared<const std::string>(std::move(text));
    asio::post(ws_.get_executor(), [self = shared_from_this(), msg] { self->enqueue(msg); });
  }

  void close(uint16_t code, std::string reason) override {
    asio::post(ws_.get_executor(), [self = shared_from_this(), code, r = std::move(reason)] {
      self->start_close(code, r);
    });
  }

  void message_processed() override {
    if (unprocessed_.fetch_sub(1) == srv_->opts.max_unprocessed)
      asio::post(ws_.get_executor(), [self = shared_from_this()] {
        if (self->read_paused_) {
          self->read_paused_ = false;
          self->do_read();
        }
      });
  }

  // I/O thread (also used at shutdown).
  void start_close(uint16_t code, const std::string& reason) {
    if (closing_ || finished_)
      return;
    closing_ = true;
    close_reason_ = websocket::close_reason{static_cast<websocket::close_code>(code), reason};
    if (open_ && !writing_)
      do_close();
    // else: on_accept or the write in flight runs do_close()
  }

private:
  void on_accept(beast::error_code ec) {
    if (ec) {
      LOG_DEBUG(component, "websocket handshake with " << remote_ << " failed: " << ec.message());
      finished(1006);
      return;
    }
    open_ = true;
    if (srv_->shutting_down)
      start_close(srv_->shutdown_code, "server shutting down");
    if (closing_) {
      queue_.clear();
      queued_bytes_ = 0;
      do_close();
    } else if (!queue_.empty()) {
      do_write();
    }
    do_read();
  }

  void do_read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      self->on_read(ec, n);
    });
  }

  void on_read(beast::error_code ec, std::size_t n) {
    if (ec) {
      uint16_t code = 1006;
      if (ec == websocket::error::closed)
        code = static_cast<uint16_t>(ws_.reason().code);
      else if (ec == websocket::error::message_too_big)
        code = 1009;
      LOG_DEBUG(component, "websocket " << remote_ << " ended: " << ec.message());
      open_ = false;
      finished(code);
      return; // the session is released when the last handler drops it
    }
    std::string data = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    if (handler_) {
      unprocessed_.fetch_add(1);
      if (ws_.got_text())
        handler_->on_text(std::move(data));
      else
        handler_->on_binary(n);
    }
    if (unprocessed_.load() >= srv_->opts.max_unprocessed) {
      read_paused_ = true; // message_processed() resumes
      return;
    }
    do_read();
  }

  void enqueue(std::shared_ptr<const std::string> msg) {
    if (finished_ || closing_)
      return;
    queued_bytes_ += msg->size();
    if (queued_bytes_ > srv_->opts.max_queued_bytes) {
      LOG_WARN(component, "websocket " << remote_ << ": slow reader ("
                                       << queued_bytes_ << " bytes queued), disconnecting");
      srv_->count_slow_reader();
      drop();
      return;
    }
    queue_.push_back(std::move(msg));
    if (open_ && !writing_)
      do_write();
  }

  void do_write() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(asio::buffer(*queue_.front()),
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      self->on_write(ec);
                    });
  }

  void on_write(beast::error_code ec) {
    writing_ = false;
    if (queue_.empty())
      return; // dropped meanwhile
    queued_bytes_ -= queue_.front()->size();
    queue_.pop_front();
    if (ec) {
      drop();
      return;
    }
    if (closing_) {
      queue_.clear();
      queued_bytes_ = 0;
      do_close();
      return;
    }
    if (!queue_.empty())
      do_write();
  }

  void do_close() {
    writing_ = true;
    ws_.async_close(close_reason_, [self = shared_from_this()](beast::error_code) {
      self->writing_ = false;
      // The read loop sees the peer's close frame (or the timeout) and finishes.
    });
  }

public:
  // Tears the TCP connection down without a closing handshake (I/O thread).
  void drop() {
    open_ = false;
    queue_.clear();
    queued_bytes_ = 0;
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(ws_).close();
    finished(1006);
  }

  // Refuses the upgrade with a plain 404 and closes.
  void reject(http::request<http::string_body> req) {
    srv_->websockets.insert(this);
    auto res = std::make_shared<http::response<http::string_body>>(http::status::not_found,
                                                                   req.version());
    res->set(http::field::server, "chorus");
    res->set(http::field::content_type, "text/plain");
    res->body() = "not found\n";
    res->keep_alive(false);
    res->prepare_payload();
    http::async_write(ws_.next_layer(), *res,
                      [self = shared_from_this(), res](beast::error_code, std::size_t) {
                        self->drop();
                      });
  }

private:
  // The connection is over: leave the registry, tell the handler, count it (once).
  void finished(uint16_t code) {
    if (finished_)
      return;
    finished_ = true;
    srv_->websockets.erase(this);
    if (handler_) {
      auto h = std::move(handler_);
      h->on_closed(code);
    }
    srv_->connection_closed();
  }

  std::shared_ptr<http_server::impl> srv_;
  websocket::stream<beast::tcp_stream> ws_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::shared_ptr<ws_handler> handler_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::size_t queued_bytes_ = 0;
  bool open_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool finished_ = false;
  bool read_paused_ = false;
  std::atomic<std::size_t> unprocessed_{0};
  websocket::close_reason close_reason_;
};

// ---- plain HTTP session -------------------------------------------------------------------

class http_session : public std::enable_shared_from_this<http_session> {
public:
  http_session(std::shared_ptr<http_server::impl> srv, tcp::socket&& sock)
    : srv_(std::move(srv)), stream_(std::move(sock)) {
    remote_ = endpoint_text(stream_.socket());
    srv_->http_sessions.insert(this);
  }

  ~http_session() {
    srv_->http_sessions.erase(this);
    if (!handed_over_)
      srv_->connection_closed();
  }

  void start() { do_read(); }

  // Shutdown: stop reading further requests (I/O thread).
  void abort() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(srv_->opts.max_request_body);
    parser_->header_limit(16 * 1024);
    stream_.expires_after(srv_->opts.handshake_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_read(ec);
                     });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      if (ec != http::error::end_of_stream)
        LOG_DEBUG(component, remote_ << ": " << ec.message());
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    auto req = parser_->release();
    http_request_info info;
    info.method = to_std(req.method_string());
    info.target = to_std(req.target());
    auto q = info.target.find('?');
    info.path = info.target.substr(0, q);
    if (q != std::string::npos)
      info.query = info.target.substr(q + 1);
    info.remote = remote_;
    for (auto& f : req) {
      std::string name = to_std(f.name_string());
      for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      info.headers.emplace_back(std::move(name), to_std(f.value()));
    }

    if (websocket::is_upgrade(req)) {
      if (srv_->shutting_down)
        return respond(req, http_response{503, "text/plain", "shutting down\n", {}});
      auto ws = std::make_shared<ws_session>(srv_, stream_.release_socket(), remote_);
      handed_over_ = true; // the ws_session now owns the connection count
      auto handler = srv_->on_ws(info, ws);
      if (!handler) {
        LOG_DEBUG(component, remote_ << ": websocket upgrade refused for " << info.path);
        ws->reject(std::move(req));
        return;
      }
      ws->set_handler(std::move(handler));
      ws->start(std::move(req));
      return;
    }
    info.body = std::move(req.body());
    http_response res;
    if (info.method != "GET" && info.method != "HEAD" && info.method != "POST" &&
        info.method != "OPTIONS")
      res = http_response{405, "text/plain", "method not allowed\n", {}};
    else
      res = srv_->on_http(info);
    respond(req, std::move(res));
  }

  void respond(const http::request<http::string_body>& req, http_response r) {
    auto res = std::make_shared<http::response<http::string_body>>(
      static_cast<http::status>(r.status), req.version());
    res->set(http::field::server, "chorus");
    res->set(http::field::content_type, r.content_type);
    res->set(http::field::cache_control, "no-store");
    for (auto& [k, v] : r.headers)
      res->set(k, v);
    res->keep_alive(req.keep_alive() && !srv_->shutting_down);
    if (req.method() != http::verb::head)
      res->body() = std::move(r.body);
    res->prepare_payload();
    if (req.method() == http::verb::head)
      res->content_length(r.body.size());
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                        self->on_write(ec, res->need_eof());
                      });
  }

  void on_write(beast::error_code ec, bool close) {
    if (ec || close) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    do_read();
  }

  std::shared_ptr<http_server::impl> srv_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string remote_;
  bool handed_over_ = false;
};

// ---- server ---------------------------------------------------------------------------------

void http_server::impl::do_accept() {
  acceptor.async_accept(asio::make_strand(ioc), [self = shared_from_this()](
                                                  beast::error_code ec, tcp::socket sock) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !self->acceptor.is_open())
        return;
      LOG_WARN(component, "accept failed: " << ec.message());
    } else if (self->open_connections() >= self->opts.max_connections) {
      self->count_refused();
      beast::error_code ignored;
      sock.close(ignored);
    } else {
      self->connection_opened();
      std::make_shared<http_session>(self, std::move(sock))->start();
    }
    self->do_accept();
  });
}

void http_server::impl::begin_shutdown(uint16_t code, std::chrono::milliseconds grace) {
  if (shutting_down)
    return;
  shutting_down = true;
  shutdown_code = code;
  beast::error_code ec;
  acceptor.close(ec);
  signals.cancel(ec);
  std::vector<ws_session*> all(websockets.begin(), websockets.end());
  for (auto* s : all)
    s->start_close(code, "server shutting down");
  std::vector<http_session*> plain(http_sessions.begin(), http_sessions.end());
  for (auto* s : plain)
    s->abort();
  if (open_connections() == 0)
    return;
  grace_timer.expires_after(grace);
  grace_timer.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec)
      self->abort_all();
  });
}

// Grace is over: connections still open are dropped, so that run() can return.
void http_server::impl::abort_all() {
  std::vector<ws_session*> all(websockets.begin(), websockets.end());
  for (auto* s : all)
    s->drop();
  std::vector<http_session*> plain(http_sessions.begin(), http_sessions.end());
  for (auto* s : plain)
    s->abort();
}

http_server::http_server(http_server_options opts, http_handler on_http, ws_acceptor on_ws)
  : impl_(std::make_shared<impl>()) {
  impl_->opts = std::move(opts);
  impl_->on_http = std::move(on_http);
  impl_->on_ws = std::move(on_ws);
}

http_server::~http_server() = default;

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

void http_server::on_signal(std::function<void(int)> f) {
  impl_->on_sig = std::move(f);
  impl_->signals.async_wait([self = impl_](beast::error_code ec, int sig) {
    if (!ec && self->on_sig)
      self->on_sig(sig);
  });
}

void http_server::run() {
  impl_->ioc.run();
}

void http_server::shutdown(uint16_t code, std::chrono::milliseconds grace) {
  asio::post(impl_->ioc, [self = impl_, code, grace] { self->begin_shutdown(code, grace); });
}

http_server_counters http_server::counters() const {
  std::lock_guard<std::mutex> g{impl_->counters_mutex};
  return impl_->ctr;
}

// ---- query strings ------------------------------------------------------------------------

bool url_decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size())
        return false;
      int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0)
        return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+') {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

query_lookup query_param(std::string_view query, std::string_view key, std::string& out) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto part = query.substr(0, amp);
    auto eq = part.find('=');
    auto k = part.substr(0, eq);
    if (k == key) {
      auto v = eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
      return url_decode(v, out) ? query_lookup::found : query_lookup::malformed;
    }
    if (amp == std::string_view::npos)
      break;
    query.remove_prefix(amp + 1);
  }
  return query_lookup::absent;
}

} // namespace chorus::net
