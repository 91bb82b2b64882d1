// Admission at the HTTP edge, as pure decisions (no Beast, no I/O): which browser pages
// may open a signaling connection (the Origin check), and how many connections one remote
// address may hold. net/http_admission.cpp applies them to every WebSocket upgrade and
// every Engine.IO request; the listener applies the per-address limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chorus::net {

// Where a request enters the edge.
enum class entry_point {
  websocket,          // a WebSocket upgrade outside the Engine.IO path (/socket)
  engineio_polling,   // an Engine.IO request over HTTP: handshake, poll, post, preflight
  engineio_websocket, // an Engine.IO WebSocket: a session started on it, or an upgrade
};
std::string_view entry_point_name(entry_point e);

// The Origin check's verdict, with the reason.
enum class origin_verdict {
  no_origin,   // allowed: no Origin header (not a browser page: node ws, chorus-bench)
  same_origin, // allowed: the Origin's host and port are the Host header's
  local_page,  // allowed when no list is configured: a page on localhost, 127.0.0.1, [::1]
  listed,      // allowed: the Origin is in the configured list
  any,         // allowed: the configured list has "*"
  foreign,     // refused: none of the above
  opaque,      // refused: Origin "null" (sandboxed frame, file:// page)
  malformed,   // refused: not SCHEME://HOST[:PORT]
};
constexpr bool origin_allowed(origin_verdict v) {
  return v == origin_verdict::no_origin || v == origin_verdict::same_origin ||
         v == origin_verdict::local_page || v == origin_verdict::listed ||
         v == origin_verdict::any;
}
std::string_view origin_verdict_name(origin_verdict v);

// Decides a request's Origin. `origin` and `host`: the Origin and Host headers (nullopt:
// absent). `allowed`: signaling.allowedOrigins; entries are origins (SCHEME://HOST[:PORT])
// or "*" (any origin, "null" and malformed ones too). The server's own origin is always
// allowed; pages on localhost, 127.0.0.1 and [::1] (any scheme and port) only while the
// list is empty. Scheme and host compare without regard to case, and a missing port is
// the scheme's default (http/ws 80, https/wss 443); a Host without a port takes the
// Origin scheme's default, so that a TLS-terminating proxy in front of a plain server
// still counts as the own origin.
origin_verdict check_origin(std::optional<std::string_view> origin,
                            std::optional<std::string_view> host,
                            const std::vector<std::string>& allowed);

// An entry of signaling.allowedOrigins: "*", or SCHEME://HOST[:PORT] as browsers send it
// in Origin (no path, no user, a port from 1 to 65535).
bool valid_allowed_origin(std::string_view entry);

// Open connections per remote address, against a limit (0: unlimited). Not thread-safe.
class per_address_counter {
public:
  explicit per_address_counter(std::size_t limit = 0) : limit_(limit) {}
  void set_limit(std::size_t limit) { limit_ = limit; }
  std::size_t limit() const { return limit_; }
  // Counts a new connection from `address`; false (and not counted) at the limit.
  bool try_add(const std::string& address);
  // A connection from `address` is gone.
  void remove(const std::string& address);
  std::size_t count(const std::string& address) const;
  std::size_t addresses() const { return counts_.size(); }

private:
  std::size_t limit_ = 0;
  std::unordered_map<std::string, std::size_t> counts_;
};

} // namespace chorus::net
