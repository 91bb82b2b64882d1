#include "net/http_server.hpp"

#include "common/log.hpp"

#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <openssl/ssl.h>

#include <atomic>
#include <deque>
#include <fstream>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace chorus::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr const char* component = "http";

// The two kinds of connection; every session class below is a template over them.
using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

template <class Stream>
constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

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

const std::string* find_header(const http_request_info& info, std::string_view name) {
  for (auto& [k, v] : info.headers)
    if (k == name)
      return &v;
  return nullptr;
}

http_response to_response(const engineio::reply& r,
                          const std::vector<std::pair<std::string, std::string>>& headers) {
  return http_response{r.status, r.content_type, r.body, headers};
}

} // namespace

// ---- shared server state ------------------------------------------------------------

// What the server needs of every live connection, whatever its stream type.
class ws_session_base {
public:
  virtual ~ws_session_base() = default;
  virtual void start_close(uint16_t code, const std::string& reason) = 0;
  virtual void drop() = 0;
};

class http_session_base {
public:
  virtual ~http_session_base() = default;
  virtual void abort() = 0;
};

// The I/O side of one Engine.IO session (the protocol state is in engineio::server).
struct eio_link {
  std::shared_ptr<ws_handler> handler;
  // Completes the held GET poll / the POST held back for back-pressure.
  std::function<void(http_response)> held_get;
  std::function<void(http_response)> held_post;
  // Per message handed to the application, where it came from: a WebSocket id, or 0
  // for polling; message_processed() releases them in order.
  std::deque<uint64_t> origins;
  std::size_t polling_unprocessed = 0;
};

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
  std::unordered_set<ws_session_base*> websockets;     // I/O thread only
  std::unordered_set<http_session_base*> http_sessions; // I/O thread only
  std::optional<ssl::context> tls;

  // Engine.IO (I/O thread only).
  engineio_acceptor on_eio;
  std::optional<engineio::server> eio;
  std::unordered_map<std::string, eio_link> eio_links;
  std::unordered_map<uint64_t, std::shared_ptr<ws_connection>> eio_websockets;
  uint64_t next_ws_id = 1;
  asio::steady_timer eio_timer{ioc};
  std::optional<int64_t> eio_armed;
  std::chrono::steady_clock::time_point epoch = std::chrono::steady_clock::now();

  mutable std::mutex counters_mutex;
  http_server_counters ctr;

  ~impl() {
    // Normally begin_shutdown() ended every Engine.IO session; this covers a server
    // destroyed without it, so that every handler still hears on_closed once.
    for (auto& [sid, link] : eio_links)
      if (link.handler)
        std::exchange(link.handler, nullptr)->on_closed(1001);
  }

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

  // ---- Engine.IO ----
  bool eio_path(const std::string& path) const {
    if (!eio)
      return false;
    const auto& base = opts.engineio_path;
    if (path.rfind(base, 0) == 0)
      return true;
    return !base.empty() && base.back() == '/' && path == base.substr(0, base.size() - 1);
  }
  int64_t now_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now() - epoch)
      .count();
  }
  eio_link* link(const std::string& sid) {
    auto it = eio_links.find(sid);
    return it == eio_links.end() ? nullptr : &it->second;
  }
  std::size_t eio_apply(engineio::effects& fx, uint64_t origin);
  void eio_rearm();
  void eio_send(const std::string& sid, std::string text);
  void eio_close(const std::string& sid, uint16_t code);
  void eio_processed(const std::string& sid);
  void eio_poll_aborted(const std::string& sid);
  void eio_ws_text(const std::string& sid, uint64_t ws, std::string text);
  void eio_ws_binary(const std::string& sid, uint64_t ws, std::size_t size);
  void eio_ws_closed(const std::string& sid, uint64_t ws, uint16_t code);
};

// ---- Engine.IO handles given to the application ------------------------------------------

// The application's handle on one Engine.IO session. Thread-safe: every call hops onto
// the I/O thread.
class eio_connection : public ws_connection {
public:
  eio_connection(std::weak_ptr<http_server::impl> srv, std::string sid)
    : srv_(std::move(srv)), sid_(std::move(sid)) {}

  void send(std::string text) override {
    post([sid = sid_, t = std::move(text)](http_server::impl& s) mutable {
      s.eio_send(sid, std::move(t));
    });
  }
  void close(uint16_t code, std::string) override {
    post([sid = sid_, code](http_server::impl& s) { s.eio_close(sid, code); });
  }
  void message_processed() override {
    post([sid = sid_](http_server::impl& s) { s.eio_processed(sid); });
  }

private:
  template <class F>
  void post(F&& f) {
    auto s = srv_.lock();
    if (!s)
      return;
    asio::post(s->ioc, [w = srv_, f = std::forward<F>(f)]() mutable {
      if (auto s = w.lock())
        f(*s);
    });
  }

  std::weak_ptr<http_server::impl> srv_;
  std::string sid_;
};

// Feeds the frames of a WebSocket that carries (or probes for) an Engine.IO session.
class eio_ws_bridge : public ws_handler {
public:
  eio_ws_bridge(std::weak_ptr<http_server::impl> srv, std::string sid, uint64_t ws)
    : srv_(std::move(srv)), sid_(std::move(sid)), ws_(ws) {}

  void on_text(std::string text) override {
    if (auto s = srv_.lock())
      s->eio_ws_text(sid_, ws_, std::move(text));
  }
  void on_binary(std::size_t size) override {
    if (auto s = srv_.lock())
      s->eio_ws_binary(sid_, ws_, size);
  }
  void on_closed(uint16_t code) override {
    if (auto s = srv_.lock())
      s->eio_ws_closed(sid_, ws_, code);
  }

private:
  std::weak_ptr<http_server::impl> srv_;
  std::string sid_;
  uint64_t ws_;
};

// ---- WebSocket session ------------------------------------------------------------------

template <class Stream>
class ws_session : public ws_connection,
                   public ws_session_base,
                   public std::enable_shared_from_this<ws_session<Stream>> {
public:
  ws_session(std::shared_ptr<http_server::impl> srv, Stream&& stream, std::string remote)
    : srv_(std::move(srv)), ws_(std::move(stream)), remote_(std::move(remote)) {
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
    ws_.async_accept(req, [self = this->shared_from_this()](beast::error_code ec) {
      self->on_accept(ec);
    });
  }

  // ws_connection: thread-safe entry points hop onto the I/O thread.
  void send(std::string text) override {
    auto msg = std::make_shared<const std::string>(std::move(text));
    asio::post(ws_.get_executor(),
               [self = this->shared_from_this(), msg] { self->enqueue(msg); });
  }

  void close(uint16_t code, std::string reason) override {
    asio::post(ws_.get_executor(), [self = this->shared_from_this(), code, r = std::move(reason)] {
      self->start_close(code, r);
    });
  }

  void message_processed() override {
    if (unprocessed_.fetch_sub(1) == srv_->opts.max_unprocessed)
      asio::post(ws_.get_executor(), [self = this->shared_from_this()] {
        if (self->read_paused_) {
          self->read_paused_ = false;
          self->do_read();
        }
      });
  }

  // I/O thread (also used at shutdown).
  void start_close(uint16_t code, const std::string& reason) override {
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
    ws_.async_read(buffer_, [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
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
                    [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
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
    ws_.async_close(close_reason_, [self = this->shared_from_this()](beast::error_code) {
      self->writing_ = false;
      // The read loop sees the peer's close frame (or the timeout) and finishes.
    });
  }

public:
  // Tears the TCP connection down without a closing handshake (I/O thread).
  void drop() override {
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
                      [self = this->shared_from_this(), res](beast::error_code, std::size_t) {
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
  websocket::stream<Stream> ws_;
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

template <class Stream>
class http_session : public http_session_base,
                     public std::enable_shared_from_this<http_session<Stream>> {
public:
  http_session(std::shared_ptr<http_server::impl> srv, tcp::socket&& sock)
    requires(!is_tls<Stream>)
    : srv_(std::move(srv)), stream_(std::move(sock)) {
    init();
  }
  http_session(std::shared_ptr<http_server::impl> srv, tcp::socket&& sock, ssl::context& ctx)
    requires(is_tls<Stream>)
    : srv_(std::move(srv)), stream_(std::move(sock), ctx) {
    init();
  }

  ~http_session() override {
    srv_->http_sessions.erase(this);
    if (!handed_over_)
      srv_->connection_closed();
  }

  void start() {
    if constexpr (is_tls<Stream>) {
      beast::get_lowest_layer(stream_).expires_after(srv_->opts.handshake_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) {
                                  LOG_DEBUG(component, self->remote_ << ": TLS handshake failed: "
                                                                     << ec.message());
                                  self->abort();
                                  return;
                                }
                                self->do_read();
                              });
    } else {
      do_read();
    }
  }

  // Shutdown: stop reading further requests (I/O thread).
  void abort() override {
    held_ = false;
    beast::error_code ec;
    socket().shutdown(tcp::socket::shutdown_both, ec);
    socket().close(ec);
  }

  // Completes a held request (an Engine.IO poll, or a POST held back): I/O thread.
  void deliver(http_response r) {
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

private:
  void init() {
    remote_ = endpoint_text(socket());
    srv_->http_sessions.insert(this);
  }

  tcp::socket& socket() { return beast::get_lowest_layer(stream_).socket(); }

  void do_read() {
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

  http_request_info request_info(const http::request<http::string_body>& req) const {
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
    return info;
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit && parser_) {
      // An Engine.IO POST too large to read: 413, and its session ends. (The start line
      // and the fields are parsed: the limit is checked against Content-Length or the
      // body, after them.)
      req_ = parser_->release();
      auto info = request_info(req_);
      if (srv_->eio_path(info.path) && info.method == "POST") {
        std::string sid;
        query_param(info.query, "sid", sid);
        engineio::effects fx;
        auto r = srv_->eio->on_post_too_large(sid, srv_->now_ms(), fx);
        srv_->eio_apply(fx, 0);
        auto origin = find_header(info, "origin");
        force_close_ = true;
        respond(to_response(r, engineio::cors_headers(srv_->opts.cors_origins,
                                                      origin ? *origin : std::string{})));
        return;
      }
    }
    if (ec) {
      if (ec != http::error::end_of_stream)
        LOG_DEBUG(component, remote_ << ": " << ec.message());
      beast::error_code ignored;
      socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    req_ = parser_->release();
    force_close_ = false;
    auto info = request_info(req_);

    if (srv_->eio_path(info.path)) {
      if (websocket::is_upgrade(req_))
        return eio_upgrade(info);
      info.body = std::move(req_.body());
      return eio_http(info);
    }

    if (websocket::is_upgrade(req_)) {
      if (srv_->shutting_down)
        return respond(http_response{503, "text/plain", "shutting down\n", {}});
      auto ws = std::make_shared<ws_session<Stream>>(srv_, std::move(stream_), remote_);
      handed_over_ = true; // the ws_session now owns the connection count
      auto handler = srv_->on_ws(info, ws);
      if (!handler) {
        LOG_DEBUG(component, remote_ << ": websocket upgrade refused for " << info.path);
        ws->reject(std::move(req_));
        return;
      }
      ws->set_handler(std::move(handler));
      ws->start(std::move(req_));
      return;
    }
    info.body = std::move(req_.body());
    http_response res;
    if (info.method != "GET" && info.method != "HEAD" && info.method != "POST" &&
        info.method != "OPTIONS")
      res = http_response{405, "text/plain", "method not allowed\n", {}};
    else
      res = srv_->on_http(info);
    respond(std::move(res));
  }

  // ---- Engine.IO over HTTP: handshake, polls, posts, CORS preflight ----
  void eio_http(const http_request_info& info) {
    auto& srv = *srv_;
    auto* origin_header = find_header(info, "origin");
    std::string origin = origin_header ? *origin_header : std::string{};
    auto cors = engineio::cors_headers(srv.opts.cors_origins, origin);
    if (info.method == "OPTIONS") {
      auto* req_headers = find_header(info, "access-control-request-headers");
      return respond(http_response{
        204, "text/plain", "",
        engineio::cors_preflight_headers(srv.opts.cors_origins, origin,
                                         req_headers ? *req_headers : std::string{})});
    }
    if (srv.shutting_down)
      return respond(http_response{503, "text/plain", "shutting down\n", cors});
    auto now = srv.now_ms();
    auto route = srv.eio->classify(info.method, info.query, false);
    engineio::effects fx;
    switch (route.what) {
    case engineio::route::kind::error:
      LOG_DEBUG(component, remote_ << ": engine.io " << info.method << " refused: "
                                   << route.error.body);
      return respond(to_response(route.error, cors));
    case engineio::route::kind::handshake: {
      // An Engine.IO session outlives its HTTP requests: bound the sessions as the
      // connections are bounded, or a handshake loop would pile up sessions and actors.
      if (srv.eio->size() >= srv.opts.max_connections)
        return respond(to_response(engineio::error_reply(engineio::error_code::forbidden), cors));
      auto sid = srv.eio->new_sid();
      auto conn = std::make_shared<eio_connection>(srv_, sid);
      auto handler = srv.on_eio(info, sid, conn);
      if (!handler)
        return respond(to_response(engineio::error_reply(engineio::error_code::forbidden), cors));
      srv.eio_links[sid].handler = std::move(handler);
      auto open = srv.eio->open_session(sid, engineio::transport_kind::polling, 0, now);
      srv.eio_rearm();
      LOG_DEBUG(component, remote_ << ": engine.io session " << sid << " (polling)");
      return respond(http_response{200, "text/plain; charset=UTF-8", std::move(open), cors});
    }
    case engineio::route::kind::poll: {
      auto r = srv.eio->on_poll(route.sid, now, fx);
      if (r.hold) {
        if (auto* l = srv.link(route.sid)) {
          l->held_get = [self = this->shared_from_this()](http_response res) {
            self->deliver(std::move(res));
          };
          hold(std::move(cors), [w = std::weak_ptr<http_server::impl>(srv_), sid = route.sid] {
            if (auto s = w.lock())
              s->eio_poll_aborted(sid);
          });
        }
        srv.eio_apply(fx, 0);
        return;
      }
      srv.eio_apply(fx, 0);
      return respond(to_response(r.answer, cors));
    }
    case engineio::route::kind::post: {
      auto* l = srv.link(route.sid);
      if (l && l->held_post) {
        // A second POST while one is held: Engine.IO's "overlap", which ends the session.
        srv.eio->close(route.sid, engineio::close_reason::transport_error, 1006, now, fx);
        srv.eio_apply(fx, 0);
        return respond(
          to_response(engineio::error_reply(engineio::error_code::bad_request), cors));
      }
      auto r = srv.eio->on_post(route.sid, info.body, now, fx);
      srv.eio_apply(fx, 0);
      if (r.status == 413)
        force_close_ = true;
      l = srv.link(route.sid);
      if (r.status == 200 && l && l->polling_unprocessed >= srv.opts.max_unprocessed) {
        // Back-pressure: "ok" once the application caught up, so that the client's next
        // POST waits.
        l->held_post = [self = this->shared_from_this()](http_response res) {
          self->deliver(std::move(res));
        };
        hold(std::move(cors), nullptr);
        return;
      }
      return respond(to_response(r, cors));
    }
    case engineio::route::kind::upgrade:
      break; // not for plain HTTP (classify() does not return it)
    }
    respond(to_response(engineio::error_reply(engineio::error_code::bad_request), cors));
  }

  // ---- Engine.IO over WebSocket: a session started on it, or an upgrade probe ----
  void eio_upgrade(const http_request_info& info) {
    auto& srv = *srv_;
    force_close_ = true;
    if (srv.shutting_down)
      return respond(http_response{503, "text/plain", "shutting down\n", {}});
    auto now = srv.now_ms();
    auto route = srv.eio->classify(info.method, info.query, true);
    if (route.what == engineio::route::kind::error) {
      LOG_DEBUG(component, remote_ << ": engine.io upgrade refused: " << route.error.body);
      return respond(to_response(route.error, {}));
    }
    uint64_t ws_id = srv.next_ws_id++;
    std::string sid;
    std::string open;
    if (route.what == engineio::route::kind::handshake) {
      if (srv.eio->size() >= srv.opts.max_connections) // as for a polling handshake
        return respond(to_response(engineio::error_reply(engineio::error_code::forbidden), {}));
      sid = srv.eio->new_sid();
      auto conn = std::make_shared<eio_connection>(srv_, sid);
      auto handler = srv.on_eio(info, sid, conn);
      if (!handler)
        return respond(to_response(engineio::error_reply(engineio::error_code::forbidden), {}));
      srv.eio_links[sid].handler = std::move(handler);
      open = srv.eio->open_session(sid, engineio::transport_kind::websocket, ws_id, now);
      LOG_DEBUG(component, remote_ << ": engine.io session " << sid << " (websocket)");
    } else {
      sid = route.sid;
      if (!srv.eio->attach_probe(sid, ws_id, now)) {
        LOG_DEBUG(component, remote_ << ": engine.io session " << sid << " cannot upgrade");
        return respond(to_response(engineio::error_reply(engineio::error_code::bad_request), {}));
      }
    }
    auto ws = std::make_shared<ws_session<Stream>>(srv_, std::move(stream_), remote_);
    handed_over_ = true;
    ws->set_handler(std::make_shared<eio_ws_bridge>(srv_, sid, ws_id));
    srv.eio_websockets[ws_id] = ws;
    if (!open.empty())
      ws->send(std::move(open)); // queued until the handshake completes
    srv.eio_rearm();
    ws->start(std::move(req_));
  }

  // Keeps the current request open; a peer that closes the connection meanwhile calls
  // `on_abandon`.
  void hold(std::vector<std::pair<std::string, std::string>> headers,
            std::function<void()> on_abandon) {
    held_ = true;
    held_headers_ = std::move(headers);
    on_abandon_ = std::move(on_abandon);
    beast::get_lowest_layer(stream_).expires_never();
    socket().async_wait(tcp::socket::wait_read,
                        [self = this->shared_from_this(), gen = hold_generation_](
                          beast::error_code ec) { self->on_held_readable(ec, gen); });
  }

  void on_held_readable(beast::error_code ec, uint64_t generation) {
    if (ec || !held_ || generation != hold_generation_)
      return;
    beast::error_code e2;
    auto n = socket().available(e2);
    if (!e2 && n > 0)
      return; // data, not the end: it waits for the next read
    LOG_DEBUG(component, remote_ << ": held request abandoned by the client");
    held_ = false;
    auto f = std::move(on_abandon_);
    on_abandon_ = nullptr;
    abort();
    if (f)
      f();
  }

  void respond(http_response r) {
    const auto& req = req_;
    auto res = std::make_shared<http::response<http::string_body>>(
      static_cast<http::status>(r.status), req.version());
    res->set(http::field::server, "chorus");
    if (r.status != 204)
      res->set(http::field::content_type, r.content_type);
    res->set(http::field::cache_control, "no-store");
    for (auto& [k, v] : r.headers)
      res->set(k, v);
    res->keep_alive(req.keep_alive() && !srv_->shutting_down && !force_close_);
    if (req.method() != http::verb::head)
      res->body() = std::move(r.body);
    res->prepare_payload();
    if (req.method() == http::verb::head)
      res->content_length(r.body.size());
    if (r.status == 204)
      res->erase(http::field::content_length); // RFC 9110: none in a 204
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res](beast::error_code ec, std::size_t) {
                        self->on_write(ec, res->need_eof());
                      });
  }

  void on_write(beast::error_code ec, bool close) {
    if (ec || close) {
      beast::error_code ignored;
      socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    do_read();
  }

  std::shared_ptr<http_server::impl> srv_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> req_;
  std::string remote_;
  bool handed_over_ = false;
  bool force_close_ = false;
  bool held_ = false;
  uint64_t hold_generation_ = 0;
  std::vector<std::pair<std::string, std::string>> held_headers_;
  std::function<void()> on_abandon_;
};

// ---- Engine.IO glue -------------------------------------------------------------------------

// Applies the protocol's decisions. `origin`: where the input came from (a WebSocket id,
// 0 for polling), recorded for each message handed to the application. Returns the
// number of messages handed over.
std::size_t http_server::impl::eio_apply(engineio::effects& fx, uint64_t origin) {
  std::size_t delivered = 0;
  for (auto& e : fx) {
    switch (e.kind) {
    case engineio::effect_kind::message:
    case engineio::effect_kind::binary: {
      auto* l = link(e.sid);
      if (!l || !l->handler)
        break;
      l->origins.push_back(origin);
      if (origin == 0)
        ++l->polling_unprocessed;
      ++delivered;
      if (e.kind == engineio::effect_kind::message)
        l->handler->on_text(std::move(e.data));
      else
        l->handler->on_binary(e.data.size());
      break;
    }
    case engineio::effect_kind::poll_reply: {
      auto* l = link(e.sid);
      if (l && l->held_get) {
        auto f = std::move(l->held_get);
        l->held_get = nullptr;
        f(http_response{200, "text/plain; charset=UTF-8", std::move(e.data), {}});
      }
      break;
    }
    case engineio::effect_kind::ws_send:
      if (auto it = eio_websockets.find(e.ws); it != eio_websockets.end())
        it->second->send(std::move(e.data));
      break;
    case engineio::effect_kind::ws_close:
      if (auto it = eio_websockets.find(e.ws); it != eio_websockets.end())
        it->second->close(e.code, "");
      break;
    case engineio::effect_kind::closed: {
      auto it = eio_links.find(e.sid);
      if (it == eio_links.end())
        break;
      LOG_DEBUG(component, "engine.io session " << e.sid << " ended: "
                                                << engineio::reason_name(e.reason));
      auto l = std::move(it->second);
      eio_links.erase(it);
      if (l.held_get)
        l.held_get(http_response{200, "text/plain; charset=UTF-8", "1", {}});
      if (l.held_post)
        l.held_post(http_response{200, "text/html", "ok", {}});
      if (l.handler)
        l.handler->on_closed(e.code);
      break;
    }
    }
  }
  eio_rearm();
  return delivered;
}

void http_server::impl::eio_rearm() {
  if (!eio || shutting_down)
    return;
  auto next = eio->next_deadline();
  if (next == eio_armed)
    return;
  eio_armed = next;
  if (!next) {
    eio_timer.cancel();
    return;
  }
  eio_timer.expires_at(epoch + std::chrono::milliseconds(*next));
  eio_timer.async_wait([w = weak_from_this(), at = *next](beast::error_code ec) {
    auto s = w.lock();
    if (ec || !s || s->eio_armed != at || s->shutting_down)
      return;
    s->eio_armed.reset();
    engineio::effects fx;
    s->eio->on_time(s->now_ms(), fx);
    s->eio_apply(fx, 0);
  });
}

void http_server::impl::eio_send(const std::string& sid, std::string text) {
  if (!eio)
    return;
  engineio::effects fx;
  eio->send(sid, text, now_ms(), fx);
  eio_apply(fx, 0);
}

void http_server::impl::eio_close(const std::string& sid, uint16_t code) {
  if (!eio)
    return;
  engineio::effects fx;
  eio->close(sid, engineio::close_reason::server_close, code, now_ms(), fx);
  eio_apply(fx, 0);
}

void http_server::impl::eio_processed(const std::string& sid) {
  auto* l = link(sid);
  if (!l || l->origins.empty())
    return;
  auto origin = l->origins.front();
  l->origins.pop_front();
  if (origin != 0) {
    if (auto it = eio_websockets.find(origin); it != eio_websockets.end())
      it->second->message_processed();
    return;
  }
  if (l->polling_unprocessed > 0)
    --l->polling_unprocessed;
  if (l->held_post && l->polling_unprocessed < opts.max_unprocessed) {
    auto f = std::move(l->held_post);
    l->held_post = nullptr;
    f(http_response{200, "text/html", "ok", {}});
  }
}

void http_server::impl::eio_poll_aborted(const std::string& sid) {
  if (auto* l = link(sid))
    l->held_get = nullptr;
  engineio::effects fx;
  eio->on_poll_aborted(sid, now_ms(), fx);
  eio_apply(fx, 0);
}

void http_server::impl::eio_ws_text(const std::string& sid, uint64_t ws, std::string text) {
  engineio::effects fx;
  eio->on_ws_text(sid, ws, text, now_ms(), fx);
  if (eio_apply(fx, ws) == 0)
    if (auto it = eio_websockets.find(ws); it != eio_websockets.end())
      it->second->message_processed(); // consumed by the protocol itself
}

void http_server::impl::eio_ws_binary(const std::string& sid, uint64_t ws, std::size_t size) {
  engineio::effects fx;
  eio->on_ws_binary(sid, ws, size, now_ms(), fx);
  if (eio_apply(fx, ws) == 0)
    if (auto it = eio_websockets.find(ws); it != eio_websockets.end())
      it->second->message_processed();
}

void http_server::impl::eio_ws_closed(const std::string& sid, uint64_t ws, uint16_t code) {
  eio_websockets.erase(ws);
  if (!eio)
    return;
  engineio::effects fx;
  eio->on_ws_closed(sid, ws, code, now_ms(), fx);
  eio_apply(fx, 0);
}

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
      // Signaling is request/answer and small events: without TCP_NODELAY a reply written
      // while an earlier event is unacknowledged waits for the client's delayed ACK
      // (~40 ms per join, measured with chorus-bench).
      beast::error_code nodelay_ec;
      sock.set_option(tcp::no_delay(true), nodelay_ec);
      if (self->tls)
        std::make_shared<http_session<tls_stream>>(self, std::move(sock), *self->tls)->start();
      else
        std::make_shared<http_session<plain_stream>>(self, std::move(sock))->start();
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
  if (eio) {
    // Every Engine.IO session ends now (the application hears on_closed).
    engineio::effects fx;
    eio->close_all(engineio::close_reason::server_shutdown, code, now_ms(), fx);
    eio_apply(fx, 0);
    eio_timer.cancel();
  }
  std::vector<ws_session_base*> all(websockets.begin(), websockets.end());
  for (auto* s : all)
    s->start_close(code, "server shutting down");
  std::vector<http_session_base*> plain(http_sessions.begin(), http_sessions.end());
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
  std::vector<ws_session_base*> all(websockets.begin(), websockets.end());
  for (auto* s : all)
    s->drop();
  std::vector<http_session_base*> plain(http_sessions.begin(), http_sessions.end());
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

void http_server::set_engineio_acceptor(engineio_acceptor on_engineio) {
  impl_->on_eio = std::move(on_engineio);
  if (!impl_->on_eio) {
    impl_->eio.reset();
    return;
  }
  auto o = impl_->opts.engineio;
  o.max_queued_bytes = impl_->opts.max_queued_bytes;
  impl_->eio.emplace(o);
}

http_server::tls_result http_server::use_tls(const std::string& certificate_file,
                                             const std::string& private_key_file) {
  auto readable = [](const std::string& path) { return std::ifstream{path}.good(); };
  if (!readable(certificate_file))
    return {tls_problem::certificate, "cannot read '" + certificate_file + "'"};
  if (!readable(private_key_file))
    return {tls_problem::private_key, "cannot read '" + private_key_file + "'"};
  ssl::context ctx{ssl::context::tls_server};
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                  ssl::context::single_dh_use);
  beast::error_code ec;
  ctx.use_certificate_chain_file(certificate_file, ec);
  if (ec)
    return {tls_problem::certificate,
            "'" + certificate_file + "' is not a PEM certificate: " + ec.message()};
  ctx.use_private_key_file(private_key_file, ssl::context::pem, ec);
  if (ec)
    return {tls_problem::private_key,
            "'" + private_key_file + "' is not a PEM private key: " + ec.message()};
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1)
    return {tls_problem::private_key,
            "'" + private_key_file + "' does not match the certificate '" + certificate_file +
              "'"};
  impl_->tls.emplace(std::move(ctx));
  return {};
}

bool http_server::uses_tls() const { return impl_->tls.has_value(); }

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
