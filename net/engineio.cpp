#include "net/engineio.hpp"

#include "common/ids.hpp"
#include "common/text.hpp"
#include "net/http_server.hpp" // query_param (Beast-free header)

#include <algorithm>
#include <limits>

namespace chorus::net::engineio {

namespace {

constexpr int64_t never = std::numeric_limits<int64_t>::max();

constexpr char b64_alphabet[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) |
                 uint32_t(uint8_t(in[i + 2]));
    out.push_back(b64_alphabet[(v >> 18) & 63]);
    out.push_back(b64_alphabet[(v >> 12) & 63]);
    out.push_back(b64_alphabet[(v >> 6) & 63]);
    out.push_back(b64_alphabet[v & 63]);
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    out.push_back(b64_alphabet[(v >> 18) & 63]);
    out.push_back(b64_alphabet[(v >> 12) & 63]);
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8);
    out.push_back(b64_alphabet[(v >> 18) & 63]);
    out.push_back(b64_alphabet[(v >> 12) & 63]);
    out.push_back(b64_alphabet[(v >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

bool base64_decode(std::string_view in, std::string& out) {
  out.clear();
  if (in.size() % 4 != 0)
    return false;
  std::size_t pad = 0;
  if (!in.empty() && in.back() == '=')
    ++pad;
  if (in.size() >= 2 && in[in.size() - 2] == '=')
    ++pad;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    bool last = i + 4 == in.size();
    int v[4];
    for (int k = 0; k < 4; ++k) {
      char c = in[i + k];
      if (c == '=' && last && k >= 4 - static_cast<int>(pad)) {
        v[k] = 0;
        continue;
      }
      v[k] = b64_value(c);
      if (v[k] < 0)
        return false;
    }
    uint32_t n = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) |
                 uint32_t(v[3]);
    out.push_back(static_cast<char>((n >> 16) & 0xff));
    if (!(last && pad >= 2))
      out.push_back(static_cast<char>((n >> 8) & 0xff));
    if (!(last && pad >= 1))
      out.push_back(static_cast<char>(n & 0xff));
  }
  return true;
}

// 15 random bytes as 20 url-safe base64 characters (Engine.IO's base64id).
std::string random_sid() {
  return ids::random_base64url(15);
}

// A close code that may be sent in a WebSocket close frame.
uint16_t sendable_close_code(uint16_t code) {
  if (code < 1000 || code >= 5000 || code == 1005 || code == 1006 || code == 1015)
    return 1000;
  return code;
}

effect make_effect(effect_kind kind, const std::string& sid, std::string data = {},
                   uint64_t ws = 0, uint16_t code = 0) {
  effect e;
  e.kind = kind;
  e.sid = sid;
  e.data = std::move(data);
  e.ws = ws;
  e.code = code;
  return e;
}

reply ok_reply() { return reply{200, "text/html", "ok"}; }

} // namespace

// ---- packets ---------------------------------------------------------------------------

std::string encode_packet(const packet& p) {
  std::string out;
  if (p.binary) {
    out.push_back('b');
    out += base64_encode(p.data);
    return out;
  }
  out.reserve(1 + p.data.size());
  out.push_back(static_cast<char>(p.type));
  out += p.data;
  return out;
}

bool decode_packet(std::string_view text, packet& out) {
  if (text.empty())
    return false;
  out = packet{};
  char t = text.front();
  if (t == 'b') {
    out.type = packet_type::message;
    out.binary = true;
    return base64_decode(text.substr(1), out.data);
  }
  if (t < '0' || t > '6')
    return false;
  out.type = static_cast<packet_type>(t);
  out.data.assign(text.substr(1));
  return true;
}

std::string encode_payload(const std::vector<packet>& packets) {
  std::string out;
  for (std::size_t i = 0; i < packets.size(); ++i) {
    if (i > 0)
      out.push_back(record_separator);
    out += encode_packet(packets[i]);
  }
  return out;
}

bool decode_payload(std::string_view payload, std::vector<packet>& out) {
  out.clear();
  for (;;) {
    auto sep = payload.find(record_separator);
    packet p;
    if (!decode_packet(payload.substr(0, sep), p))
      return false;
    out.push_back(std::move(p));
    if (sep == std::string_view::npos)
      return true;
    payload.remove_prefix(sep + 1);
  }
}

// ---- errors ----------------------------------------------------------------------------

std::string_view error_message(error_code code) {
  switch (code) {
  case error_code::unknown_transport: return "Transport unknown";
  case error_code::unknown_sid: return "Session ID unknown";
  case error_code::bad_handshake_method: return "Bad handshake method";
  case error_code::bad_request: return "Bad request";
  case error_code::forbidden: return "Forbidden";
  case error_code::unsupported_protocol_version: return "Unsupported protocol version";
  }
  return "Bad request";
}

std::string error_json(error_code code, std::string_view message) {
  std::string out = "{\"code\":" + std::to_string(static_cast<int>(code)) + ",\"message\":\"";
  text::json_escape(out, message.empty() ? error_message(code) : message);
  out += "\"}";
  return out;
}

reply error_reply(error_code code, std::string_view message) {
  return reply{code == error_code::forbidden ? 403u : 400u, "application/json",
               error_json(code, message)};
}

std::string_view transport_name(transport_kind t) {
  return t == transport_kind::websocket ? "websocket" : "polling";
}

std::string_view reason_name(close_reason r) {
  switch (r) {
  case close_reason::client_close: return "client close";
  case close_reason::transport_close: return "transport close";
  case close_reason::transport_error: return "transport error";
  case close_reason::parse_error: return "parse error";
  case close_reason::ping_timeout: return "ping timeout";
  case close_reason::payload_too_large: return "payload too large";
  case close_reason::slow_reader: return "slow reader";
  case close_reason::server_close: return "server close";
  case close_reason::server_shutdown: return "server shutdown";
  }
  return "?";
}

std::string open_packet(const std::string& sid, transport_kind transport, const options& o) {
  std::string out = "0{\"sid\":\"";
  text::json_escape(out, sid);
  out += "\",\"upgrades\":";
  out += transport == transport_kind::polling ? "[\"websocket\"]" : "[]";
  out += ",\"pingInterval\":" + std::to_string(o.ping_interval_ms) +
         ",\"pingTimeout\":" + std::to_string(o.ping_timeout_ms) +
         ",\"maxPayload\":" + std::to_string(o.max_payload) + "}";
  return out;
}

// ---- server ----------------------------------------------------------------------------

server::server(options opts, std::function<std::string()> make_sid)
  : opts_(opts), make_sid_(make_sid ? std::move(make_sid) : std::function<std::string()>{random_sid}) {
}

server::session* server::find(const std::string& sid) {
  auto it = sessions_.find(sid);
  return it == sessions_.end() ? nullptr : &it->second;
}

const server::session* server::find(const std::string& sid) const {
  auto it = sessions_.find(sid);
  return it == sessions_.end() ? nullptr : &it->second;
}

route server::classify(std::string_view method, std::string_view query,
                       bool websocket_upgrade) const {
  route r;
  auto fail = [&r](error_code code) {
    r.what = route::kind::error;
    r.error = error_reply(code);
    return r;
  };
  std::string transport;
  if (query_param(query, "transport", transport) != query_lookup::found)
    return fail(error_code::unknown_transport);
  if (transport == "polling")
    r.transport = transport_kind::polling;
  else if (transport == "websocket")
    r.transport = transport_kind::websocket;
  else
    return fail(error_code::unknown_transport);

  std::string sid;
  auto has_sid = query_param(query, "sid", sid);
  if (has_sid == query_lookup::malformed)
    return fail(error_code::bad_request);
  if (has_sid == query_lookup::found && !sid.empty()) {
    auto* s = find(sid);
    if (!s)
      return fail(error_code::unknown_sid);
    r.sid = std::move(sid);
    if (websocket_upgrade) {
      if (r.transport != transport_kind::websocket)
        return fail(error_code::bad_request);
      r.what = route::kind::upgrade;
      return r;
    }
    if (s->transport != r.transport) // transport mismatch
      return fail(error_code::bad_request);
    if (method == "GET")
      r.what = route::kind::poll;
    else if (method == "POST")
      r.what = route::kind::post;
    else
      return fail(error_code::bad_request);
    return r;
  }

  // A handshake: GET only, protocol 4, WebSocket only as an upgrade.
  if (method != "GET")
    return fail(error_code::bad_handshake_method);
  std::string eio;
  if (query_param(query, "EIO", eio) != query_lookup::found || eio != "4")
    return fail(error_code::unsupported_protocol_version);
  if ((r.transport == transport_kind::websocket) != websocket_upgrade)
    return fail(error_code::bad_request);
  r.what = route::kind::handshake;
  return r;
}

std::string server::new_sid() const {
  // The generator is injectable (tests): a few tries, then the built-in random one, which
  // cannot realistically collide (120 random bits).
  for (int attempt = 0; attempt < 8; ++attempt) {
    auto sid = make_sid_();
    if (!sid.empty() && !sessions_.count(sid))
      return sid;
  }
  for (;;) {
    auto sid = random_sid();
    if (!sessions_.count(sid))
      return sid;
  }
}

std::string server::open_session(const std::string& sid, transport_kind transport, uint64_t ws,
                                 int64_t now_ms) {
  erase(sid); // a sid is never reused; this only guards the invariants
  auto& s = sessions_[sid];
  s.sid = sid;
  s.transport = transport;
  s.ws = transport == transport_kind::websocket ? ws : 0;
  s.next_ping = now_ms + opts_.ping_interval_ms;
  s.pong_deadline = never;
  s.scheduled = never;
  reschedule(s);
  return open_packet(sid, transport, opts_);
}

void server::reschedule(session& s) {
  int64_t d = never;
  if (s.closing) {
    d = s.close_deadline;
  } else {
    d = std::min(s.next_ping, s.pong_deadline);
    if (s.probe_ws != 0)
      d = std::min(d, s.probe_deadline);
    if (s.probe_ws != 0 && s.probed && opts_.upgrade_check_ms != 0)
      d = std::min(d, s.noop_at);
  }
  if (d == s.scheduled)
    return;
  if (s.scheduled != never)
    timeline_.erase({s.scheduled, s.sid});
  s.scheduled = d;
  if (d != never)
    timeline_.insert({d, s.sid});
}

void server::erase(const std::string& sid) {
  auto it = sessions_.find(sid);
  if (it == sessions_.end())
    return;
  if (it->second.scheduled != never)
    timeline_.erase({it->second.scheduled, sid});
  sessions_.erase(it);
}

std::string server::take_payload(session& s) {
  std::string out;
  out.reserve(s.outbox_bytes + s.outbox.size());
  for (std::size_t i = 0; i < s.outbox.size(); ++i) {
    if (i > 0)
      out.push_back(record_separator);
    out += s.outbox[i];
  }
  s.outbox.clear();
  s.outbox_bytes = 0;
  return out;
}

void server::flush(session& s, effects& out) {
  if (s.transport == transport_kind::websocket) {
    for (auto& p : s.outbox)
      out.push_back(make_effect(effect_kind::ws_send, s.sid, std::move(p), s.ws));
    s.outbox.clear();
    s.outbox_bytes = 0;
  } else if (s.poll_held && !s.outbox.empty()) {
    s.poll_held = false;
    out.push_back(make_effect(effect_kind::poll_reply, s.sid, take_payload(s)));
  }
}

void server::queue(session& s, std::string encoded, int64_t now_ms, effects& out) {
  if (s.closing)
    return;
  s.outbox_bytes += encoded.size();
  s.outbox.push_back(std::move(encoded));
  if (s.transport == transport_kind::polling && opts_.max_queued_bytes != 0 &&
      s.outbox_bytes > opts_.max_queued_bytes) {
    end(s, close_reason::slow_reader, 1006, now_ms, out);
    return;
  }
  flush(s, out);
}

void server::close_probe(session& s, effects& out) {
  if (s.probe_ws == 0)
    return;
  out.push_back(make_effect(effect_kind::ws_close, s.sid, {}, s.probe_ws, 1000));
  s.probe_ws = 0;
  s.probed = false;
  reschedule(s);
}

// The session is over for the application. A WebSocket session is gone at once; a
// polling one keeps its close packet for the next poll (until ping_timeout_ms).
void server::end(session& s, close_reason reason, uint16_t code, int64_t now_ms, effects& out) {
  if (s.closing)
    return;
  close_probe(s, out);
  std::string sid = s.sid;
  effect closed = make_effect(effect_kind::closed, sid, {}, 0, code);
  closed.reason = reason;
  if (s.transport == transport_kind::websocket) {
    if (reason != close_reason::transport_close) {
      if (reason == close_reason::server_close || reason == close_reason::server_shutdown)
        flush(s, out); // what the application sent before closing still goes out
      out.push_back(make_effect(effect_kind::ws_close, sid, {}, s.ws, sendable_close_code(code)));
    }
    erase(sid);
    out.push_back(std::move(closed));
    return;
  }
  if (reason == close_reason::client_close) {
    // The client said goodbye: a pending poll is ended with a noop, nothing else is sent.
    if (s.poll_held)
      out.push_back(make_effect(effect_kind::poll_reply, sid, "6"));
    erase(sid);
    out.push_back(std::move(closed));
    return;
  }
  if (reason == close_reason::slow_reader) {
    s.outbox.clear();
    s.outbox_bytes = 0;
  }
  s.outbox.push_back("1");
  s.outbox_bytes += 1;
  bool delivered = s.poll_held;
  flush(s, out);
  if (delivered) {
    erase(sid);
  } else {
    s.closing = true;
    s.close_deadline = now_ms + opts_.ping_timeout_ms;
    s.next_ping = never;
    s.pong_deadline = never;
    reschedule(s);
  }
  out.push_back(std::move(closed));
}

server::poll_result server::on_poll(const std::string& sid, int64_t now_ms, effects& out) {
  auto* s = find(sid);
  if (!s)
    return {false, error_reply(error_code::unknown_sid)};
  if (s->transport != transport_kind::polling)
    return {false, error_reply(error_code::bad_request)};
  if (s->poll_held) {
    // Two concurrent polls: an error that ends the session (the first poll gets "1").
    end(*s, close_reason::transport_error, 1006, now_ms, out);
    return {false, error_reply(error_code::bad_request)};
  }
  if (s->closing) {
    reply r{200, "text/plain; charset=UTF-8", take_payload(*s)};
    erase(sid);
    return {false, std::move(r)};
  }
  if (!s->outbox.empty())
    return {false, reply{200, "text/plain; charset=UTF-8", take_payload(*s)}};
  if (s->probed && opts_.upgrade_check_ms == 0) // the client must see its poll end
    return {false, reply{200, "text/plain; charset=UTF-8", "6"}};
  s->poll_held = true; // while probed: until a packet, or the noop of the next check
  return {true, {}};
}

void server::on_poll_aborted(const std::string& sid, int64_t now_ms, effects& out) {
  auto* s = find(sid);
  if (!s || !s->poll_held)
    return;
  s->poll_held = false;
  end(*s, close_reason::transport_error, 1006, now_ms, out);
}

reply server::on_post(const std::string& sid, std::string_view body, int64_t now_ms,
                      effects& out) {
  auto* s = find(sid);
  if (!s)
    return error_reply(error_code::unknown_sid);
  if (s->transport != transport_kind::polling)
    return error_reply(error_code::bad_request);
  if (body.size() > opts_.max_payload)
    return on_post_too_large(sid, now_ms, out);
  if (s->closing)
    return ok_reply();
  if (std::size_t(std::count(body.begin(), body.end(), record_separator)) >=
      opts_.max_packets_per_post)
    return on_post_too_large(sid, now_ms, out);
  std::vector<packet> packets;
  if (!decode_payload(body, packets)) {
    end(*s, close_reason::parse_error, 1007, now_ms, out);
    return error_reply(error_code::bad_request);
  }
  for (auto& p : packets) {
    s = find(sid);
    if (!s || s->closing)
      break;
    handle_packet(*s, p, now_ms, out);
  }
  return ok_reply();
}

reply server::on_post_too_large(const std::string& sid, int64_t now_ms, effects& out) {
  if (auto* s = find(sid))
    end(*s, close_reason::payload_too_large, 1009, now_ms, out);
  return reply{413, "text/plain; charset=UTF-8", "Payload Too Large"};
}

void server::handle_packet(session& s, const packet& p, int64_t now_ms, effects& out) {
  switch (p.type) {
  case packet_type::message: {
    auto e = make_effect(p.binary ? effect_kind::binary : effect_kind::message, s.sid, p.data);
    out.push_back(std::move(e));
    break;
  }
  case packet_type::pong:
    if (s.pong_deadline != never) {
      s.pong_deadline = never;
      s.next_ping = now_ms + opts_.ping_interval_ms;
      reschedule(s);
    }
    break;
  case packet_type::close:
    end(s, close_reason::client_close, 1000, now_ms, out);
    break;
  case packet_type::ping: // protocol 4: only the server pings
    end(s, close_reason::transport_error, 1006, now_ms, out);
    break;
  default: // open, upgrade, noop: nothing to do
    break;
  }
}

bool server::attach_probe(const std::string& sid, uint64_t ws, int64_t now_ms) {
  auto* s = find(sid);
  if (!s || s->closing || s->transport != transport_kind::polling || s->probe_ws != 0 || ws == 0)
    return false;
  s->probe_ws = ws;
  s->probed = false;
  s->probe_deadline = now_ms + opts_.upgrade_timeout_ms;
  reschedule(*s);
  return true;
}

void server::on_ws_text(const std::string& sid, uint64_t ws, std::string_view text,
                        int64_t now_ms, effects& out) {
  auto* s = find(sid);
  if (s && s->transport == transport_kind::websocket && ws == s->ws) {
    packet p;
    if (!decode_packet(text, p) || p.binary) {
      end(*s, close_reason::parse_error, 1007, now_ms, out);
      return;
    }
    handle_packet(*s, p, now_ms, out);
    return;
  }
  if (s && ws != 0 && ws == s->probe_ws) {
    packet p;
    bool ok = decode_packet(text, p) && !p.binary;
    if (ok && p.type == packet_type::ping && p.data == "probe") {
      out.push_back(make_effect(effect_kind::ws_send, sid, "3probe", ws));
      s->probed = true;
      if (opts_.upgrade_check_ms != 0) { // the pending poll gets its noop at the next check
        s->noop_at = now_ms + opts_.upgrade_check_ms;
        reschedule(*s);
      } else if (s->poll_held) { // end the pending poll so that the client can pause polling
        s->poll_held = false;
        out.push_back(make_effect(effect_kind::poll_reply, sid,
                                  s->outbox.empty() ? std::string{"6"} : take_payload(*s)));
      }
      return;
    }
    if (ok && p.type == packet_type::upgrade) {
      s->transport = transport_kind::websocket;
      s->ws = ws;
      s->probe_ws = 0;
      s->probed = false;
      if (s->poll_held) {
        s->poll_held = false;
        out.push_back(make_effect(effect_kind::poll_reply, sid, "6"));
      }
      reschedule(*s);
      flush(*s, out); // what waited for a poll now goes over the WebSocket
      return;
    }
    close_probe(*s, out); // anything else aborts the upgrade; polling goes on
    return;
  }
  out.push_back(make_effect(effect_kind::ws_close, sid, {}, ws, 1000)); // a stale WebSocket
}

void server::on_ws_binary(const std::string& sid, uint64_t ws, std::size_t size, int64_t now_ms,
                          effects& out) {
  auto* s = find(sid);
  if (s && s->transport == transport_kind::websocket && ws == s->ws) {
    auto e = make_effect(effect_kind::binary, sid);
    e.data.assign(size, '\0');
    out.push_back(std::move(e));
    return;
  }
  if (s && ws != 0 && ws == s->probe_ws) {
    close_probe(*s, out);
    return;
  }
  out.push_back(make_effect(effect_kind::ws_close, sid, {}, ws, 1000));
}

void server::on_ws_closed(const std::string& sid, uint64_t ws, uint16_t code, int64_t now_ms,
                          effects& out) {
  auto* s = find(sid);
  if (!s || ws == 0)
    return;
  if (s->transport == transport_kind::websocket && ws == s->ws) {
    end(*s, close_reason::transport_close, code, now_ms, out);
    return;
  }
  if (ws == s->probe_ws) { // the upgrade failed; polling goes on
    s->probe_ws = 0;
    s->probed = false;
    reschedule(*s);
  }
}

void server::send(const std::string& sid, std::string_view text, int64_t now_ms, effects& out) {
  auto* s = find(sid);
  if (!s || s->closing)
    return;
  std::string p;
  p.reserve(1 + text.size());
  p.push_back(static_cast<char>(packet_type::message));
  p += text;
  queue(*s, std::move(p), now_ms, out);
}

void server::close(const std::string& sid, close_reason reason, uint16_t code, int64_t now_ms,
                   effects& out) {
  if (auto* s = find(sid))
    end(*s, reason, code, now_ms, out);
}

void server::close_all(close_reason reason, uint16_t code, int64_t now_ms, effects& out) {
  std::vector<std::string> all;
  all.reserve(sessions_.size());
  for (auto& [sid, s] : sessions_)
    all.push_back(sid);
  for (auto& sid : all)
    close(sid, reason, code, now_ms, out);
  sessions_.clear(); // nothing waits for a poll any more
  timeline_.clear();
}

void server::on_time(int64_t now_ms, effects& out) {
  while (!timeline_.empty() && timeline_.begin()->first <= now_ms) {
    std::string sid = timeline_.begin()->second;
    auto* s = find(sid);
    if (!s) { // cannot happen: erase() keeps the timeline in step
      timeline_.erase(timeline_.begin());
      continue;
    }
    if (s->closing) { // the close packet was never collected
      erase(sid);
      continue;
    }
    if (s->pong_deadline <= now_ms) {
      end(*s, close_reason::ping_timeout, 1006, now_ms, out);
      continue;
    }
    if (s->probe_ws != 0 && s->probe_deadline <= now_ms)
      close_probe(*s, out);
    if (s->probe_ws != 0 && s->probed && opts_.upgrade_check_ms != 0 && s->noop_at <= now_ms) {
      // Engine.IO's upgrade check: a pending poll ends with a noop, so that the client
      // can pause polling and send "5".
      if (s->poll_held) {
        s->poll_held = false;
        out.push_back(make_effect(effect_kind::poll_reply, sid, "6"));
      }
      s->noop_at = now_ms + opts_.upgrade_check_ms;
    }
    if (s->next_ping <= now_ms) {
      s->next_ping = never;
      s->pong_deadline = now_ms + opts_.ping_timeout_ms;
      reschedule(*s);
      queue(*s, "2", now_ms, out); // may end the session (slow reader)
      continue;
    }
    reschedule(*s);
  }
}

std::optional<int64_t> server::next_deadline() const {
  if (timeline_.empty())
    return std::nullopt;
  return timeline_.begin()->first;
}

std::optional<session_info> server::info(const std::string& sid) const {
  auto* s = find(sid);
  if (!s)
    return std::nullopt;
  session_info i;
  i.transport = s->transport;
  i.poll_held = s->poll_held;
  i.upgrading = s->probe_ws != 0;
  i.probed = s->probed;
  i.closing = s->closing;
  i.awaiting_pong = s->pong_deadline != never;
  i.queued_packets = s->outbox.size();
  i.queued_bytes = s->outbox_bytes;
  return i;
}

// ---- CORS ------------------------------------------------------------------------------

std::vector<std::pair<std::string, std::string>> cors_headers(std::string_view origin) {
  if (origin.empty())
    return {};
  return {{"Access-Control-Allow-Origin", std::string{origin}},
          {"Access-Control-Allow-Credentials", "true"},
          {"Vary", "Origin"}};
}

std::vector<std::pair<std::string, std::string>> cors_preflight_headers(
  std::string_view origin, std::string_view request_headers) {
  auto h = cors_headers(origin);
  if (h.empty())
    return h;
  h.emplace_back("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
  h.emplace_back("Access-Control-Allow-Headers",
                 request_headers.empty() ? std::string{"Content-Type"}
                                         : std::string{request_headers});
  h.emplace_back("Access-Control-Max-Age", "600");
  return h;
}

} // namespace chorus::net::engineio
