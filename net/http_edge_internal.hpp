// Private to the HTTP edge (net/http_*.cpp): the one header that names Boost.Beast. Nothing
// outside net/http_*.cpp includes it; the rest of Chorus sees net/http_server.hpp only.
//
// The edge is laid out as Boost.Beast's examples are, a file per session type and concern:
//   http_listener.cpp   accepts TCP connections, the connection limits (total, per IP)
//   http_session.cpp    one HTTP/1.1 connection (plain or TLS): reads requests, writes
//                       responses, holds a request open (long-polling)
//   http_routes.cpp     what a request is for: admission first (upgrades and Engine.IO),
//                       then /socket upgrades, Engine.IO, or the application's handler
//   http_admission.cpp  the Origin check and the per-address count (pure), and the one
//                       admission check every upgrade and Engine.IO request passes
//   http_ws_session.cpp one WebSocket connection (plain or TLS)
//   http_engineio.cpp   Engine.IO over HTTP and WebSocket: handshakes, polls, posts, the
//                       upgrade, and the glue applying net/engineio's decisions
//   http_server.cpp     the public http_server: TLS setup, run, shutdown, counters
//   http_query.cpp      query-string helpers
//   http_sniff.cpp      a shared port: what a connection carries by its first bytes, and
//                       the handover of ICE-TCP and TURN connections
//   http_turn_stream.cpp TURN inside TLS: the decrypted stream to the media I/O and back
#pragma once

#include "net/connection_kind.hpp"
#include "net/http_admission.hpp"
#include "net/http_server.hpp"

#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace chorus::net {

namespace edge {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

inline constexpr const char* component = "http";

// The two kinds of connection; the session classes are templates over them.
using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

template <class Stream>
inline constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

using request = http::request<http::string_body>;
using header_list = std::vector<std::pair<std::string, std::string>>;

template <class StringView>
std::string to_std(const StringView& sv) {
  return std::string(sv.data(), sv.size());
}

const std::string* find_header(const http_request_info& info, std::string_view name);

// The connection's remote address (http_sniff.cpp); none once the peer is gone.
std::optional<transport_address> remote_address(const tcp::socket& sock);

// A response for Beast, as every session writes it (Server, Cache-Control, keep-alive,
// HEAD and 204 rules).
std::shared_ptr<http::response<http::string_body>> make_response(const request& req,
                                                                   http_response r,
                                                                   bool keep_alive);

// One accepted TCP connection's place in the counts (total and per remote address). Moved
// from the HTTP session to the WebSocket session that takes the connection over; release()
// (or the destructor) gives the place back once.
class connection_slot {
public:
  connection_slot() = default;
  // Takes a place for a connection from `address`; false (and empty) when the address is
  // at its limit.
  bool take(std::shared_ptr<http_server::impl> srv, std::string address);
  connection_slot(connection_slot&& other) noexcept;
  connection_slot& operator=(connection_slot&& other) noexcept;
  connection_slot(const connection_slot&) = delete;
  connection_slot& operator=(const connection_slot&) = delete;
  ~connection_slot() { release(); }

  void release();

private:
  std::shared_ptr<http_server::impl> srv_;
  std::string address_;
};

// What the server needs of every live WebSocket, whatever its stream type. It is also the
// application's ws_connection. Its own methods run on its strand (executor()); the
// ws_connection ones from any thread.
class ws_session_base : public ws_connection {
public:
  // The session, or null once it is being destroyed (the registry may still list it).
  virtual std::shared_ptr<ws_session_base> alive() = 0;
  virtual asio::any_io_executor executor() = 0;
  virtual void set_handler(std::shared_ptr<ws_handler> h) = 0;
  // Runs the WebSocket handshake answering `req`, then the session.
  virtual void accept(request req) = 0;
  // Refuses the upgrade with `r` (no handshake) and closes the connection.
  virtual void reject(const request& req, http_response r) = 0;
  virtual void start_close(uint16_t code, const std::string& reason) = 0;
  // Tears the TCP connection down without a closing handshake.
  virtual void drop() = 0;
};

// What the routes see of one HTTP connection and its current request, whatever its stream
// type. On the connection's strand only.
class http_exchange {
public:
  virtual ~http_exchange() = default;
  // Answers the current request.
  virtual void respond(http_response r) = 0;
  // Keeps the current request open; `headers` are added to the eventual response; a peer
  // that closes the connection meanwhile calls `on_abandon`.
  virtual void hold(header_list headers, std::function<void()> on_abandon) = 0;
  // A function completing the held request (no-op once the session is gone), callable from
  // any thread: it hops onto the connection's strand.
  virtual std::function<void(http_response)> completer() = 0;
  // The connection closes after the next response.
  virtual void close_after_response() = 0;
  // Hands the connection over to a new WebSocket session (the exchange is done with it).
  virtual std::shared_ptr<ws_session_base> take_websocket() = 0;
  // The request being answered (for the WebSocket handshake).
  virtual request& current_request() = 0;
  virtual const std::string& remote() const = 0;
};

// What shutdown needs of every HTTP connection (and of an over-limit refusal).
class http_session_base {
public:
  virtual ~http_session_base() = default;
  // The session, or null once it is being destroyed (the registry may still list it).
  virtual std::shared_ptr<http_session_base> alive() = 0;
  virtual asio::any_io_executor executor() = 0;
  // Closes the connection (on its strand).
  virtual void abort() = 0;
};

// ---- WebSocket session (http_ws_session.cpp) -------------------------------------------

template <class Stream>
class ws_session : public ws_session_base,
                   public std::enable_shared_from_this<ws_session<Stream>> {
public:
  ws_session(std::shared_ptr<http_server::impl> srv, Stream&& stream, std::string remote,
             connection_slot slot);
  ~ws_session() override;

  std::shared_ptr<ws_session_base> alive() override { return this->weak_from_this().lock(); }
  asio::any_io_executor executor() override { return ws_.get_executor(); }
  void set_handler(std::shared_ptr<ws_handler> h) override { handler_ = std::move(h); }
  void accept(request req) override;
  void reject(const request& req, http_response r) override;

  // ws_connection: thread-safe entry points hop onto the connection's strand.
  void send(std::string text) override;
  void close(uint16_t code, std::string reason) override;
  void message_processed() override;

  void start_close(uint16_t code, const std::string& reason) override;
  void drop() override;

private:
  void on_accept(beast::error_code ec);
  void do_read();
  void on_read(beast::error_code ec, std::size_t n);
  void enqueue(std::shared_ptr<const std::string> msg);
  void do_write();
  void on_write(beast::error_code ec);
  void do_close();
  void finished(uint16_t code);
  void arm_message_check(std::chrono::steady_clock::duration after);
  void check_message();

  std::shared_ptr<http_server::impl> srv_;
  websocket::stream<Stream> ws_;
  std::string remote_;
  connection_slot slot_;
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
  // The message deadline (http_server_options::message_timeout): messages read so far, and
  // since when (and at which count) a message has been seen in progress.
  asio::steady_timer message_timer_;
  uint64_t messages_read_ = 0;
  uint64_t in_progress_at_count_ = 0;
  std::optional<std::chrono::steady_clock::time_point> in_progress_since_;
};

// ---- HTTP session (http_session.cpp) -----------------------------------------------------

template <class Stream>
class http_session : public http_exchange,
                     public http_session_base,
                     public std::enable_shared_from_this<http_session<Stream>> {
public:
  // `tls` is the server's TLS context for a tls_stream session, null for a plain one. (One
  // constructor rather than two constrained ones: clang 14 instantiates both for the
  // explicit instantiations in http_session.cpp.) `head`: bytes already read from the
  // connection (a shared port's sniff): the request's first bytes, or the TLS handshake's.
  http_session(std::shared_ptr<http_server::impl> srv, tcp::socket&& sock, ssl::context* tls,
               connection_slot slot, std::vector<uint8_t> head = {});
  ~http_session() override;

  void start();
  std::shared_ptr<http_session_base> alive() override { return this->weak_from_this().lock(); }
  asio::any_io_executor executor() override { return executor_; }
  void abort() override;

  // http_exchange
  void respond(http_response r) override;
  void hold(header_list headers, std::function<void()> on_abandon) override;
  std::function<void(http_response)> completer() override;
  void close_after_response() override { force_close_ = true; }
  std::shared_ptr<ws_session_base> take_websocket() override;
  request& current_request() override { return req_; }
  const std::string& remote() const override { return remote_; }

private:
  void init();
  tcp::socket& socket() { return beast::get_lowest_layer(stream_).socket(); }
  void on_handshake(beast::error_code ec);
  // TLS on a shared port: reads the first decrypted bytes; TURN goes to the media I/O,
  // anything else is read as HTTP (the bytes stay in buffer_).
  void sniff_decrypted();
  void do_read();
  void on_read(beast::error_code ec);
  void deliver(http_response r);
  void wait_while_held();
  void on_held_readable(beast::error_code ec, uint64_t generation);
  void on_write(beast::error_code ec, bool close);

  std::shared_ptr<http_server::impl> srv_;
  asio::any_io_executor executor_; // the connection's strand (kept when stream_ moves on)
  Stream stream_;
  connection_slot slot_;
  std::vector<uint8_t> handshake_head_; // TLS: the handshake's bytes read by a sniff
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  request req_;
  std::string remote_;
  bool force_close_ = false;
  bool taken_ = false; // take_websocket() moved stream_ to a WebSocket session
  bool held_ = false;
  uint64_t hold_generation_ = 0;
  header_list held_headers_;
  std::function<void()> on_abandon_;
};

// The request as the application sees it (lower-case header names).
http_request_info request_info(const request& req, const std::string& remote);

// ---- Engine.IO ------------------------------------------------------------------------------

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

} // namespace edge

// ---- shared server state ------------------------------------------------------------------

// The edge runs on opts.threads threads, all running one io_context. Every connection has a
// strand of its own (its reads, writes, timers and the routes of its requests run there, on
// any of the threads); what the connections share is guarded:
//   - the listener, the signals and the shutdown's grace timer: the `core` strand;
//   - the registries of connections (for shutdown): registry_mutex;
//   - Engine.IO's sessions (one protocol state for all of them, its timer, the table of
//     its WebSockets): eio_mutex, held by every entry point into them;
//   - the counts: counters_mutex; shutting_down and shutdown_code: atomics.
// A lock is never held across a call that takes another one, but counters_mutex (a leaf),
// and nothing under a lock runs another connection's code: it posts to that strand.
struct http_server::impl : std::enable_shared_from_this<http_server::impl> {
  explicit impl(std::size_t threads)
    : ioc{static_cast<int>(std::max<std::size_t>(threads, 1))} {}

  http_server_options opts;
  http_handler on_http;
  ws_acceptor on_ws;
  std::vector<std::pair<std::string, http_deferred_handler>> deferred; // set_deferred_route
  edge::asio::io_context ioc;
  edge::asio::strand<edge::asio::io_context::executor_type> core{edge::asio::make_strand(ioc)};
  edge::tcp::acceptor acceptor{core};
  edge::asio::signal_set signals{core, SIGINT, SIGTERM};
  std::function<void(int)> on_sig;
  edge::asio::steady_timer grace_timer{core};
  std::atomic<bool> shutting_down{false};
  std::atomic<uint16_t> shutdown_code{1001};
  std::mutex registry_mutex;
  std::unordered_set<edge::ws_session_base*> websockets;      // under registry_mutex
  std::unordered_set<edge::http_session_base*> http_sessions; // under registry_mutex
  std::optional<edge::ssl::context> tls;
  std::shared_ptr<stream_handoff> handoff; // set_stream_handoff

  // Engine.IO (under eio_mutex; recursive, so that an application handler called under it
  // may come back in).
  std::recursive_mutex eio_mutex;
  engineio_acceptor on_eio;
  std::optional<engineio::server> eio;
  std::unordered_map<std::string, edge::eio_link> eio_links;
  std::unordered_map<uint64_t, std::shared_ptr<ws_connection>> eio_websockets;
  uint64_t next_ws_id = 1;
  edge::asio::steady_timer eio_timer{ioc};
  std::optional<int64_t> eio_armed;
  std::chrono::steady_clock::time_point epoch = std::chrono::steady_clock::now();

  // Connections per remote address (under counters_mutex), and connections over that
  // limit being answered 429 (under registry_mutex).
  per_address_counter per_ip;
  std::size_t refusals_in_flight = 0;

  mutable std::mutex counters_mutex;
  http_server_counters ctr;

  ~impl();

  // ---- counts (http_listener.cpp) ----
  // False (nothing counted) when `address` is at max_connections_per_ip.
  bool connection_opened(const std::string& address);
  void connection_closed(const std::string& address);
  std::size_t open_connections() const;
  void count(uint64_t http_server_counters::*counter);

  // ---- listener (http_listener.cpp) ----
  void do_accept();
  void on_accepted(edge::tcp::socket sock);
  void refuse_over_limit(edge::tcp::socket sock, const std::string& address);
  // An HTTP session (plain or TLS) on `sock`, `head` already read from it.
  void start_http(edge::tcp::socket sock, edge::connection_slot slot, std::vector<uint8_t> head);

  // ---- shared port (http_sniff.cpp, http_turn_stream.cpp) ----
  // Reads the first bytes of a connection and hands it over, or starts HTTP on it.
  void sniff(edge::tcp::socket sock, edge::connection_slot slot);
  // A plain connection's socket to the media I/O.
  void hand_over(edge::tcp::socket sock, connection_kind kind, std::vector<uint8_t> head);
  // A TLS connection whose first decrypted bytes are TURN, `head` those bytes.
  void start_turn_stream(edge::tls_stream stream, std::string remote, std::vector<uint8_t> head);

  // ---- registries (http_server.cpp) ----
  void add_session(edge::http_session_base* s);
  void remove_session(edge::http_session_base* s);
  void add_websocket(edge::ws_session_base* s);
  void remove_websocket(edge::ws_session_base* s);

  // ---- shutdown (http_server.cpp; on the core strand) ----
  void begin_shutdown(uint16_t code, std::chrono::milliseconds grace);
  void abort_all();

  // ---- admission (http_admission.cpp) ----
  // The one check every WebSocket upgrade and every Engine.IO request (polling GET, POST,
  // OPTIONS, WebSocket) passes before anything is created or touched: the answer to
  // refuse with (403 origin-not-allowed, counted), or none.
  std::optional<http_response> admit(const http_request_info& info, entry_point entry);

  // ---- routes (http_routes.cpp) ----
  // `body_too_large`: the request's body was over the limit and not read.
  void route(const std::shared_ptr<edge::http_exchange>& ex, http_request_info info,
             bool websocket_upgrade, bool body_too_large);
  void route_websocket(const std::shared_ptr<edge::http_exchange>& ex,
                       const http_request_info& info);

  // ---- Engine.IO (http_engineio.cpp) ----
  bool eio_path(const std::string& path) const;
  int64_t now_ms() const;
  edge::eio_link* link(const std::string& sid);
  void eio_http(const std::shared_ptr<edge::http_exchange>& ex, const http_request_info& info);
  void eio_too_large(const std::shared_ptr<edge::http_exchange>& ex,
                     const http_request_info& info);
  void eio_upgrade(const std::shared_ptr<edge::http_exchange>& ex, const http_request_info& info);
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

} // namespace chorus::net
