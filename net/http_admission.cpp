// Admission at the HTTP edge: the pure decisions of net/http_admission.hpp, and the one
// admission check (http_server::impl::admit) that the routes run for every WebSocket
// upgrade and every Engine.IO request.
#include "net/http_admission.hpp"

#include "common/log.hpp"
#include "common/text.hpp"
#include "net/http_edge_internal.hpp"

#include <algorithm>
#include <array>

namespace chorus::net {

namespace {

// SCHEME://HOST[:PORT] (or HOST[:PORT] of a Host header), lower-cased.
struct authority {
  std::string scheme;
  std::string host; // IPv6 literals keep their brackets
  std::optional<uint16_t> port;
};

std::optional<uint16_t> default_port(std::string_view scheme) {
  if (scheme == "http" || scheme == "ws")
    return 80;
  if (scheme == "https" || scheme == "wss")
    return 443;
  return std::nullopt;
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// HOST[:PORT] with HOST a name, an IPv4 address or a bracketed IPv6 address.
bool parse_host_port(std::string_view text, authority& out) {
  std::string_view host, rest;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close < 2)
      return false;
    host = text.substr(0, close + 1);
    for (char c : host.substr(1, host.size() - 2))
      if (!(is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
            c == '.'))
        return false;
    rest = text.substr(close + 1);
  } else {
    auto colon = text.find(':');
    host = text.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : text.substr(colon);
    if (host.empty())
      return false;
    for (char c : host)
      if (!(is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_'))
        return false;
  }
  out.host = text::lowercase(host);
  out.port.reset();
  if (rest.empty())
    return true;
  if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6)
    return false;
  uint32_t port = 0;
  for (char c : rest.substr(1)) {
    if (!is_digit(c))
      return false;
    port = port * 10 + uint32_t(c - '0');
  }
  if (port == 0 || port > 65535)
    return false;
  out.port = static_cast<uint16_t>(port);
  return true;
}

// SCHEME://HOST[:PORT], nothing after it (browsers send no path, query or user).
bool parse_origin(std::string_view text, authority& out) {
  auto sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0 || !is_alpha(text.front()))
    return false;
  auto scheme = text.substr(0, sep);
  for (char c : scheme)
    if (!(is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.'))
      return false;
  if (!parse_host_port(text.substr(sep + 3), out))
    return false;
  out.scheme = text::lowercase(scheme);
  return true;
}

std::optional<uint16_t> effective_port(const authority& a, std::string_view scheme) {
  return a.port ? a.port : default_port(scheme);
}

bool same_place(const authority& a, const authority& b) {
  return a.scheme == b.scheme && a.host == b.host &&
         effective_port(a, a.scheme) == effective_port(b, b.scheme);
}

} // namespace

std::string_view entry_point_name(entry_point e) {
  switch (e) {
  case entry_point::websocket:
    return "websocket";
  case entry_point::engineio_polling:
    return "engine.io polling";
  case entry_point::engineio_websocket:
    return "engine.io websocket";
  }
  return "?";
}

std::string_view origin_verdict_name(origin_verdict v) {
  switch (v) {
  case origin_verdict::no_origin:
    return "no-origin";
  case origin_verdict::same_origin:
    return "same-origin";
  case origin_verdict::local_page:
    return "local-page";
  case origin_verdict::listed:
    return "listed";
  case origin_verdict::any:
    return "any";
  case origin_verdict::foreign:
    return "foreign";
  case origin_verdict::opaque:
    return "opaque";
  case origin_verdict::malformed:
    return "malformed";
  }
  return "?";
}

origin_verdict check_origin(std::optional<std::string_view> origin,
                            std::optional<std::string_view> host,
                            const std::vector<std::string>& allowed) {
  if (!origin)
    return origin_verdict::no_origin;
  if (std::find(allowed.begin(), allowed.end(), "*") != allowed.end())
    return origin_verdict::any;
  if (*origin == "null")
    return origin_verdict::opaque;
  authority o;
  if (!parse_origin(*origin, o))
    return origin_verdict::malformed;
  if (host) {
    authority h;
    if (parse_host_port(*host, h) && h.host == o.host &&
        effective_port(h, o.scheme) == effective_port(o, o.scheme))
      return origin_verdict::same_origin;
  }
  for (auto& entry : allowed) {
    authority a;
    if (parse_origin(entry, a) && same_place(a, o))
      return origin_verdict::listed;
  }
  static constexpr std::array<std::string_view, 3> local_hosts{"localhost", "127.0.0.1",
                                                               "[::1]"};
  if (allowed.empty() &&
      std::find(local_hosts.begin(), local_hosts.end(), o.host) != local_hosts.end())
    return origin_verdict::local_page;
  return origin_verdict::foreign;
}

bool valid_allowed_origin(std::string_view entry) {
  authority a;
  return entry == "*" || (entry.size() <= 512 && parse_origin(entry, a));
}

bool per_address_counter::try_add(const std::string& address) {
  auto& n = counts_[address];
  if (limit_ != 0 && n >= limit_) {
    if (n == 0)
      counts_.erase(address);
    return false;
  }
  ++n;
  return true;
}

void per_address_counter::remove(const std::string& address) {
  auto it = counts_.find(address);
  if (it == counts_.end())
    return;
  if (--it->second == 0)
    counts_.erase(it);
}

std::size_t per_address_counter::count(const std::string& address) const {
  auto it = counts_.find(address);
  return it == counts_.end() ? 0 : it->second;
}

http_response json_error(unsigned status, std::string_view error, std::string_view message) {
  std::string body = "{\"error\":\"";
  text::json_escape(body, error);
  body += "\",\"message\":\"";
  text::json_escape(body, message);
  body += "\"}";
  return http_response{status, "application/json", std::move(body), {}};
}

std::optional<http_response> http_server::impl::admit(const http_request_info& info,
                                                      entry_point entry) {
  auto header = [&](std::string_view name) -> std::optional<std::string_view> {
    if (auto* v = edge::find_header(info, name))
      return std::string_view{*v};
    return std::nullopt;
  };
  auto origin = header("origin");
  auto verdict = check_origin(origin, header("host"), opts.allowed_origins);
  if (origin_allowed(verdict))
    return std::nullopt;
  count(&http_server_counters::refused_origin);
  // The Origin is the client's text: shortened for the log and the answer.
  std::string shown{origin->substr(0, 200)};
  LOG_DEBUG(edge::component, info.remote << ": " << entry_point_name(entry) << " " << info.path
                                         << " refused: Origin '" << shown << "' ("
                                         << origin_verdict_name(verdict) << ")");
  return json_error(403, "origin-not-allowed",
                    "Origin '" + shown + "' may not connect here (signaling.allowedOrigins)");
}

} // namespace chorus::net
