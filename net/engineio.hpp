// Engine.IO v4 (the transport under Socket.IO 3/4), server side, as pure logic: no I/O,
// no Beast, no CAF. Time comes in as milliseconds; requests and frames come in as
// strings; what to do comes out as a reply or as a list of effects the I/O layer applies
// (net/http_server.cpp is that layer).
//
// One `server` holds every session (by sid). A session starts on HTTP long-polling
// (GET /socket.io/?EIO=4&transport=polling) or directly on a WebSocket
// (transport=websocket). Polling sessions may upgrade: the client opens a WebSocket with
// the sid and sends "2probe"; the server answers "3probe" and ends a pending poll with a
// noop "6" (within upgrade_check_ms); the client sends "5" and from then on only the
// WebSocket carries packets.
// The server pings every ping_interval_ms and closes a session whose pong has not arrived
// ping_timeout_ms after the ping.
//
// Packets: 0 open, 1 close, 2 ping, 3 pong, 4 message, 5 upgrade, 6 noop. A polling
// payload joins packets with the record separator \x1e; a binary packet in a payload is
// "b" + base64. Errors answer HTTP 400 with {"code":N,"message":"..."}.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace chorus::net::engineio {

inline constexpr char record_separator = '\x1e';

enum class packet_type : char {
  open = '0',
  close = '1',
  ping = '2',
  pong = '3',
  message = '4',
  upgrade = '5',
  noop = '6',
};

struct packet {
  packet_type type = packet_type::noop;
  std::string data;
  bool binary = false; // a binary message: `data` holds the decoded bytes
};

// One packet as text: a WebSocket text frame, or one record of a polling payload
// (binary messages as "b" + base64).
std::string encode_packet(const packet& p);
// Decodes one text packet. False when empty, of an unknown type, or bad base64.
bool decode_packet(std::string_view text, packet& out);
// Packets joined with \x1e.
std::string encode_payload(const std::vector<packet>& packets);
// Splits a polling payload. False (and `out` unspecified) when any record is invalid.
bool decode_payload(std::string_view payload, std::vector<packet>& out);

// Engine.IO's error codes (HTTP 400, or 403 for forbidden).
enum class error_code : int {
  unknown_transport = 0,
  unknown_sid = 1,
  bad_handshake_method = 2,
  bad_request = 3,
  forbidden = 4,
  unsupported_protocol_version = 5,
};
std::string_view error_message(error_code code);
// {"code":N,"message":"..."}; the standard message when `message` is empty.
std::string error_json(error_code code, std::string_view message = {});

enum class transport_kind { polling, websocket };
std::string_view transport_name(transport_kind t);

struct options {
  uint32_t ping_interval_ms = 25000;
  uint32_t ping_timeout_ms = 20000;
  uint32_t max_payload = 1000000;     // largest POST body (bytes), announced to the client
  // Most packets one POST may carry: its body could otherwise hold half a million one-byte
  // messages, all handed to the session at once (the edge's back-pressure counts them only
  // afterwards). More ends the session as a payload too large (413).
  uint32_t max_packets_per_post = 1024;
  uint32_t upgrade_timeout_ms = 10000; // a probe WebSocket not upgraded by then is closed
  // After "3probe", a pending poll is ended with a noop at this interval (Engine.IO's
  // 100 ms check), so that answers already on their way still leave by polling; 0: at once.
  uint32_t upgrade_check_ms = 100;
  std::size_t max_queued_bytes = 0;   // outgoing bytes waiting for a poll (0: unbounded)
};

// "0{"sid":..,"upgrades":[..],"pingInterval":..,"pingTimeout":..,"maxPayload":..}"
std::string open_packet(const std::string& sid, transport_kind transport, const options& o);

// Why a session ended.
enum class close_reason {
  client_close,    // the client sent a close packet
  transport_close, // the client closed the WebSocket transport
  transport_error, // overlapping polls, poll connection lost, ping from the client
  parse_error,     // an undecodable packet or payload
  ping_timeout,    // no pong within ping_timeout_ms of a ping
  payload_too_large,
  slow_reader,     // more than max_queued_bytes waiting for a poll
  server_close,    // the application closed it
  server_shutdown,
};
std::string_view reason_name(close_reason r);

// What the I/O layer must do.
enum class effect_kind {
  message,    // give `data` to the application's handler of `sid`
  binary,     // a binary message of data.size() bytes for the application
  closed,     // the session ended (exactly once): tell the application (`code`, `reason`)
  poll_reply, // answer the held GET of `sid`: 200, text/plain, body `data`
  ws_send,    // send `data` as a text frame on WebSocket `ws`
  ws_close,   // close WebSocket `ws` with `code` (it no longer belongs to a session)
};

struct effect {
  effect_kind kind = effect_kind::message;
  std::string sid;
  std::string data;
  uint64_t ws = 0;
  uint16_t code = 0; // closed: WebSocket-style code for the application; ws_close: close code
  close_reason reason = close_reason::server_close;
};
using effects = std::vector<effect>;

// An immediate HTTP answer.
struct reply {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=UTF-8";
  std::string body;
};
reply error_reply(error_code code, std::string_view message = {});

// How a request to the Engine.IO path is to be handled (after the checks Engine.IO
// makes, in its order: transport, sid, handshake method, protocol version).
struct route {
  enum class kind { error, handshake, poll, post, upgrade };
  kind what = kind::error;
  transport_kind transport = transport_kind::polling;
  std::string sid;         // poll, post, upgrade
  reply error;             // what == error
};

// Test and diagnostics view of one session.
struct session_info {
  transport_kind transport = transport_kind::polling;
  bool poll_held = false;
  bool upgrading = false; // a probe WebSocket is attached
  bool probed = false;    // "3probe" sent, waiting for "5"
  bool closing = false;   // closed, the close packet waiting for a poll
  bool awaiting_pong = false;
  std::size_t queued_packets = 0;
  std::size_t queued_bytes = 0;
};

class server {
public:
  explicit server(options opts = {}, std::function<std::string()> make_sid = {});

  const options& opts() const noexcept { return opts_; }

  // Classifies a request. `query` is the raw (percent-encoded) query string.
  route classify(std::string_view method, std::string_view query, bool websocket_upgrade) const;

  // A fresh sid (20 url-safe characters unless the generator says otherwise), unused.
  std::string new_sid() const;

  // Starts a session and returns its open packet, which the caller sends: as the body of
  // the handshake GET (polling) or as the first frame of WebSocket `ws`.
  std::string open_session(const std::string& sid, transport_kind transport, uint64_t ws,
                           int64_t now_ms);

  // GET poll: an immediate reply (queued packets, a noop while upgrading, an error), or
  // `hold` (the I/O layer keeps the request until a poll_reply effect for this sid).
  struct poll_result {
    bool hold = false;
    reply answer;
  };
  poll_result on_poll(const std::string& sid, int64_t now_ms, effects& out);
  // The held GET's connection went away: Engine.IO closes the session.
  void on_poll_aborted(const std::string& sid, int64_t now_ms, effects& out);

  // POST: decodes the payload and delivers its packets.
  reply on_post(const std::string& sid, std::string_view body, int64_t now_ms, effects& out);
  // A POST whose body was too large to read at all: 413, and the session closes.
  reply on_post_too_large(const std::string& sid, int64_t now_ms, effects& out);

  // A WebSocket upgrade carrying `sid`: attaches `ws` as the probe transport. False when
  // the session cannot upgrade (not polling, already upgrading, closing).
  bool attach_probe(const std::string& sid, uint64_t ws, int64_t now_ms);
  void on_ws_text(const std::string& sid, uint64_t ws, std::string_view text, int64_t now_ms,
                  effects& out);
  void on_ws_binary(const std::string& sid, uint64_t ws, std::size_t size, int64_t now_ms,
                    effects& out);
  void on_ws_closed(const std::string& sid, uint64_t ws, uint16_t code, int64_t now_ms,
                    effects& out);

  // The application: queue a message packet ("4" + text), close the session.
  void send(const std::string& sid, std::string_view text, int64_t now_ms, effects& out);
  void close(const std::string& sid, close_reason reason, uint16_t code, int64_t now_ms,
             effects& out);
  void close_all(close_reason reason, uint16_t code, int64_t now_ms, effects& out);

  // Timers: pings, ping timeouts, upgrade timeouts, sessions waiting to deliver "1".
  void on_time(int64_t now_ms, effects& out);
  std::optional<int64_t> next_deadline() const;

  std::size_t size() const noexcept { return sessions_.size(); }
  std::optional<session_info> info(const std::string& sid) const;

private:
  struct session {
    std::string sid;
    transport_kind transport = transport_kind::polling;
    uint64_t ws = 0;       // the WebSocket transport
    uint64_t probe_ws = 0; // a WebSocket being upgraded to
    bool probed = false;
    int64_t probe_deadline = 0;
    int64_t noop_at = 0; // probed: when a pending poll gets its noop
    bool poll_held = false;
    bool closing = false;
    bool notified = false; // `closed` emitted
    int64_t close_deadline = 0;
    int64_t next_ping = 0;     // 0: not scheduled (waiting for a pong)
    int64_t pong_deadline = 0; // 0: not waiting
    std::deque<std::string> outbox; // encoded packets
    std::size_t outbox_bytes = 0;
    int64_t scheduled = -1; // key in timeline_, -1: none
  };

  session* find(const std::string& sid);
  const session* find(const std::string& sid) const;
  void queue(session& s, std::string packet, int64_t now_ms, effects& out);
  void flush(session& s, effects& out);
  std::string take_payload(session& s);
  void handle_packet(session& s, const packet& p, int64_t now_ms, effects& out);
  void end(session& s, close_reason reason, uint16_t code, int64_t now_ms, effects& out);
  void erase(const std::string& sid);
  void reschedule(session& s);
  void close_probe(session& s, effects& out);

  options opts_;
  std::function<std::string()> make_sid_;
  std::unordered_map<std::string, session> sessions_;
  std::set<std::pair<int64_t, std::string>> timeline_; // (deadline, sid)
};

// CORS for the polling responses of an admitted request (the edge checked its Origin
// against the allowed origins first, net/http_admission.hpp): the Origin echoed with
// credentials allowed; none for a request without an Origin.
std::vector<std::pair<std::string, std::string>> cors_headers(std::string_view origin);
// The OPTIONS preflight (answered 204): the above plus allowed methods and headers
// (`request_headers`: the request's Access-Control-Request-Headers, echoed).
std::vector<std::pair<std::string, std::string>> cors_preflight_headers(
  std::string_view origin, std::string_view request_headers);

} // namespace chorus::net::engineio
