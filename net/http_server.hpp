// The signaling edge: an HTTP/1.1 + WebSocket server on Boost.Beast, running on
// http_server_options::threads threads (each connection on a strand of its own; what they
// share is guarded: net/http_edge_internal.hpp). Beast stays inside net/http_*.cpp and net/http_edge_internal.hpp (the edge's
// file layout is listed there); the rest of Chorus sees only these
// interfaces. Every connection has limits: request size, message size, an outgoing queue
// bound (a slow reader is disconnected), handshake and idle timeouts (idle connections are
// pinged and closed when they stop answering).
//
// Engine.IO v4 (Socket.IO's transport) is served under `engineio_path` once an
// engineio_acceptor is set: long-polling and WebSocket, with the upgrade from one to the
// other (protocol logic in net/engineio.hpp). The application sees each Engine.IO session
// as one ws_connection / ws_handler pair, exactly like a plain WebSocket.
//
// With use_tls() the server speaks HTTPS and WSS only, on the same code paths.
//
// With set_stream_handoff() the port is shared: ICE-TCP and TURN connections (plain, or
// TURN inside the TLS this server terminates) are told from HTTP by their first bytes and
// handed over (net/stream_handoff.hpp).
//
// Admission: every WebSocket upgrade and every Engine.IO request passes one check of its
// Origin header against `allowed_origins` (net/http_admission.hpp) before anything is
// created, and a remote address may hold at most `max_connections_per_ip` connections.
#pragma once

#include "common/metric_field.hpp"
#include "net/engineio.hpp"
#include "net/stream_handoff.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chorus::net {

struct http_request_info {
  std::string method;
  std::string target; // path and query as received
  std::string path;   // target before '?'
  std::string query;  // target after '?', still percent-encoded
  std::string body;
  std::string remote; // "ip:port" of the client
  std::vector<std::pair<std::string, std::string>> headers; // lower-case names

  // The value of header `name` (lower-case), or nullptr.
  const std::string* header(std::string_view name) const;
};

struct http_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// An HTTP answer with a JSON body {"error": error, "message": message}.
http_response json_error(unsigned status, std::string_view error, std::string_view message);

// Thread-safe handle to one WebSocket connection, given to the application.
class ws_connection {
public:
  virtual ~ws_connection() = default;
  // Queues a text message. Past the outgoing-queue bound the connection is dropped.
  virtual void send(std::string text) = 0;
  // Starts the closing handshake with `code` (idempotent).
  virtual void close(uint16_t code, std::string reason) = 0;
  // Back-pressure: the application calls this once per message it has finished with.
  // The edge stops reading while `max_unprocessed` messages are outstanding.
  virtual void message_processed() = 0;
};

// The application's side of one WebSocket connection. Called on the connection's strand: one
// call at a time per connection, calls for different connections on several threads at once.
class ws_handler {
public:
  virtual ~ws_handler() = default;
  virtual void on_text(std::string text) = 0;
  virtual void on_binary(std::size_t size) = 0;
  // Exactly once, when the connection is gone. `code` is the peer's close code, or 1006
  // when the connection ended without a close frame (error, timeout, slow reader).
  virtual void on_closed(uint16_t code) = 0;
};

struct http_server_options {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  // Threads running the edge (run() uses the calling thread and starts the others). The
  // application's handlers (http_handler, ws_acceptor, engineio_acceptor, ws_handler) are
  // then called on several threads at once and must be thread-safe.
  std::size_t threads = 1;
  std::size_t max_message_bytes = 65536;
  std::size_t max_queued_bytes = 1 << 20;
  std::chrono::milliseconds idle_timeout{30000};
  std::chrono::milliseconds handshake_timeout{10000};
  // A WebSocket message whose first frame header has arrived must be complete within this
  // (checked at half-intervals: closed between 1x and 1.5x of it); the idle timeout alone
  // would let a client trickle one byte at a time forever. 0: no bound.
  std::chrono::milliseconds message_timeout{20000};
  std::size_t max_connections = 4096;
  std::size_t max_request_body = 1 << 20;
  std::size_t max_unprocessed = 64; // incoming messages handed over but not yet processed
  // Engine.IO: requests whose path starts with engineio_path (or equals it without the
  // trailing slash). engineio.max_queued_bytes is set from max_queued_bytes.
  std::string engineio_path = "/socket.io/";
  engineio::options engineio;
  // Origins whose pages may open WebSocket and Engine.IO sessions, and read the polling
  // answers (CORS): entries SCHEME://HOST[:PORT] or "*" (any). Empty: the server's own
  // origin and pages on localhost, 127.0.0.1 and [::1]. See net/http_admission.hpp.
  std::vector<std::string> allowed_origins;
  // Open connections from one remote address; a further one is answered 429 (plain HTTP)
  // or closed (TLS). 0: unlimited.
  std::size_t max_connections_per_ip = 1000;
};

// The application's answer to a WebSocket upgrade: accept it with a handler, or refuse it
// with an HTTP response sent instead of the handshake (then the connection closes).
struct ws_decision {
  std::shared_ptr<ws_handler> handler; // set: accepted
  http_response refusal{404, "text/plain", "not found\n", {}};

  static ws_decision accept(std::shared_ptr<ws_handler> h) {
    ws_decision d;
    d.handler = std::move(h);
    return d;
  }
  static ws_decision refuse(http_response r) {
    ws_decision d;
    d.refusal = std::move(r);
    return d;
  }
  // e.g. refuse(401, "unauthorized", "a valid token is required")
  static ws_decision refuse(unsigned status, std::string_view error, std::string_view message) {
    return refuse(json_error(status, error, message));
  }
};

struct http_server_counters {
  uint64_t connections_accepted = 0;
  uint64_t connections_refused = 0; // over max_connections (connections, Engine.IO sessions)
  uint64_t refused_per_ip = 0;      // over max_connections_per_ip
  uint64_t refused_origin = 0;      // Origin not allowed (upgrades, Engine.IO requests)
  uint64_t refused_by_application = 0; // ws_acceptor refusals, Engine.IO handshakes refused
  uint64_t slow_readers_dropped = 0;
  // Connections closed by a timeout, by what they had not finished in time:
  uint64_t timeouts_request = 0;      // an HTTP request begun (or TLS handshake): slow-loris
  uint64_t timeouts_http_idle = 0;    // no request begun (a silent or keep-alive connection)
  uint64_t timeouts_ws_handshake = 0; // the WebSocket handshake after the upgrade request
  uint64_t timeouts_ws_message = 0;   // a WebSocket message (message_timeout)
  uint64_t timeouts_ws_idle = 0;      // nothing received for idle_timeout (pings unanswered)
  // Connections handed over to the media I/O (set_stream_handoff), by what they carried:
  uint64_t handed_ice_tcp = 0;  // RFC 4571-framed binding requests (ICE-TCP)
  uint64_t handed_turn = 0;     // TURN over plain TCP
  uint64_t handed_turn_tls = 0; // TURN inside TLS
  // TURN over TLS: frames to a client over its send queue bound, and clients closed for
  // sending far ahead of the TURN server.
  uint64_t turn_tls_dropped = 0;
  uint64_t open_connections = 0; // gauge
};

// The edge's counters in GET /metrics (common/metric_field.hpp).
using http_metric = metric_field<http_server_counters, uint64_t>;
inline constexpr http_metric http_server_metrics[] = {
  {"chorus_edge_connections", "Open HTTP and WebSocket connections.", metric_type::gauge, "",
   &http_server_counters::open_connections},
  {"chorus_edge_connections_accepted_total", "Connections accepted.", metric_type::counter, "",
   &http_server_counters::connections_accepted},
  {"chorus_edge_refused_total", "Connections and requests refused at the edge, by reason.",
   metric_type::counter, "reason=\"max_connections\"", &http_server_counters::connections_refused},
  {"chorus_edge_refused_total", "", metric_type::counter, "reason=\"per_ip\"",
   &http_server_counters::refused_per_ip},
  {"chorus_edge_refused_total", "", metric_type::counter, "reason=\"origin\"",
   &http_server_counters::refused_origin},
  {"chorus_edge_refused_total", "", metric_type::counter, "reason=\"application\"",
   &http_server_counters::refused_by_application},
  {"chorus_edge_slow_readers_dropped_total", "Connections dropped for not reading.",
   metric_type::counter, "", &http_server_counters::slow_readers_dropped},
  {"chorus_edge_timeouts_total", "Connections closed by a timeout, by what was not finished in time.",
   metric_type::counter, "phase=\"http_request\"", &http_server_counters::timeouts_request},
  {"chorus_edge_timeouts_total", "", metric_type::counter, "phase=\"http_idle\"",
   &http_server_counters::timeouts_http_idle},
  {"chorus_edge_timeouts_total", "", metric_type::counter, "phase=\"ws_handshake\"",
   &http_server_counters::timeouts_ws_handshake},
  {"chorus_edge_timeouts_total", "", metric_type::counter, "phase=\"ws_message\"",
   &http_server_counters::timeouts_ws_message},
  {"chorus_edge_timeouts_total", "", metric_type::counter, "phase=\"ws_idle\"",
   &http_server_counters::timeouts_ws_idle},
  {"chorus_edge_handed_over_total",
   "Connections on the signaling port handed to the media I/O, by what they carried.",
   metric_type::counter, "kind=\"ice_tcp\"", &http_server_counters::handed_ice_tcp},
  {"chorus_edge_handed_over_total", "", metric_type::counter, "kind=\"turn\"",
   &http_server_counters::handed_turn},
  {"chorus_edge_handed_over_total", "", metric_type::counter, "kind=\"turn_tls\"",
   &http_server_counters::handed_turn_tls},
  {"chorus_edge_turn_tls_dropped_total",
   "TURN over TLS: frames to clients dropped (the connection's send queue was full), and "
   "clients closed for sending far ahead of the TURN server.",
   metric_type::counter, "", &http_server_counters::turn_tls_dropped},
};

class http_server {
public:
  // Answers plain HTTP requests (anything that is not a WebSocket upgrade).
  using http_handler = std::function<http_response(const http_request_info&)>;
  // Decides a WebSocket upgrade that passed admission: ws_decision::accept(handler), or a
  // refusal with its HTTP status and body (ws_decision{} refuses with 404). `conn` is the
  // connection the handler will drive; it is only closed when the upgrade is refused.
  using ws_acceptor = std::function<ws_decision(const http_request_info&,
                                                std::shared_ptr<ws_connection>)>;
  // Decides an Engine.IO handshake (the first request of a session, polling or WebSocket):
  // returns the handler of the new session `sid`, or nullptr to refuse (403, code 4).
  // `conn.send(text)` queues a message packet "4" + text, `conn.close()` ends the session;
  // the handler gets on_text per message packet and on_closed once when the session ends
  // (close packet, transport closed, ping timeout, transport error, shutdown).
  using engineio_acceptor = std::function<std::shared_ptr<ws_handler>(
    const http_request_info&, const std::string& sid, std::shared_ptr<ws_connection>)>;

  http_server(http_server_options opts, http_handler on_http, ws_acceptor on_ws);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  // Serves Engine.IO at opts.engineio_path (call before listen()).
  void set_engineio_acceptor(engineio_acceptor on_engineio);

  // Answers requests whose path starts with `prefix` later (call before listen(); one call
  // per prefix, the first that matches a path takes it): the
  // handler gets the request and a function to call once, from any thread, with the
  // response; the connection waits for it (a client that closes meanwhile is forgotten,
  // and the call does nothing). These requests may also be PATCH.
  using http_deferred_handler =
    std::function<void(const http_request_info&, std::function<void(http_response)> respond)>;
  void set_deferred_route(std::string prefix, http_deferred_handler handler);

  enum class tls_problem { none, certificate, private_key };
  struct tls_result {
    tls_problem problem = tls_problem::none;
    std::string message; // what failed, naming the file
  };
  // Loads a PEM certificate chain and its private key (call before listen()): the server
  // then speaks HTTPS and WSS only.
  tls_result use_tls(const std::string& certificate_file, const std::string& private_key_file);
  bool uses_tls() const;

  // Shares the port (call before listen()): connections whose first bytes are ICE-TCP or
  // TURN (net/connection_kind.hpp), plain or, with TLS, inside it, go to `handoff` for
  // what it takes; everything else is HTTP as before. Without it no connection is sniffed.
  void set_stream_handoff(std::shared_ptr<stream_handoff> handoff);

  // Binds and listens; returns the bound port. Throws std::runtime_error on failure.
  uint16_t listen();
  // Calls `f` on an edge thread for every SIGINT and SIGTERM until the shutdown.
  void on_signal(std::function<void(int)> f);
  // Runs the edge on the calling thread and threads - 1 more (named chorus-edge-N) until
  // shutdown has completed.
  void run();
  // Thread-safe: stops accepting, closes every WebSocket with `code`, and ends run()
  // when all connections are gone or `grace` has passed.
  void shutdown(uint16_t code, std::chrono::milliseconds grace);
  // Thread-safe snapshot.
  http_server_counters counters() const;

  struct impl; // implementation detail (Beast types), net/http_edge_internal.hpp

private:
  std::shared_ptr<impl> impl_;
};

// Percent-decodes a query component ('+' is a space). Returns false on bad escapes.
bool url_decode(std::string_view in, std::string& out);

enum class query_lookup { absent, found, malformed };

// Looks up `key` in a query string ("a=1&b=2") and percent-decodes its value.
query_lookup query_param(std::string_view query, std::string_view key, std::string& out);

} // namespace chorus::net
