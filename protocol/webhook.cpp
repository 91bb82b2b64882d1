#include "protocol/webhook.hpp"

#include "common/text.hpp"
#include "protocol/jwt_internal.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace chorus::protocol {

namespace {

void field(std::string& out, std::string_view name, std::string_view value) {
  out += '"';
  out += name;
  out += "\":\"";
  text::json_escape(out, value);
  out += '"';
}

void number(std::string& out, std::string_view name, int64_t value) {
  out += '"';
  out += name;
  out += "\":";
  out += std::to_string(value);
}

} // namespace

std::string webhook_json(const webhook_event& ev, std::string_view delivery_id) {
  std::string out = "{";
  field(out, "event", ev.type);
  out += ',';
  field(out, "id", delivery_id);
  out += ',';
  number(out, "createdAt", ev.at_ms);
  out += ',';
  field(out, "node", ev.node_id);
  out += ",\"room\":{";
  field(out, "id", ev.room_id);
  const bool participant = !ev.peer_id.empty();
  if (ev.participants >= 0) {
    out += ',';
    number(out, "participants", ev.participants);
  }
  if (ev.type == "room-finished" && ev.duration_ms >= 0) {
    out += ',';
    number(out, "durationMs", ev.duration_ms);
  }
  out += '}';
  if (participant) {
    out += ",\"participant\":{";
    field(out, "peerId", ev.peer_id);
    out += ',';
    field(out, "userId", ev.user_id);
    out += ',';
    field(out, "name", ev.name);
    out += ',';
    field(out, "role", ev.role);
    if (!ev.reason.empty()) {
      out += ',';
      field(out, "reason", ev.reason);
    }
    if (ev.type == "participant-left" && ev.duration_ms >= 0) {
      out += ',';
      number(out, "durationMs", ev.duration_ms);
    }
    out += '}';
  }
  if (!ev.recording_id.empty() || !ev.file.empty()) {
    out += ",\"recording\":{";
    field(out, "id", ev.recording_id);
    out += ',';
    field(out, "file", ev.file);
    if (ev.bytes >= 0) {
      out += ',';
      number(out, "bytes", ev.bytes);
    }
    if (ev.duration_ms >= 0) {
      out += ',';
      number(out, "durationMs", ev.duration_ms);
    }
    out += '}';
  }
  if (!ev.live_stream_id.empty()) {
    out += ",\"liveStream\":{";
    field(out, "id", ev.live_stream_id);
    out += ',';
    field(out, "target", ev.target);
    out += ',';
    field(out, "where", ev.where);
    if (!ev.reason.empty()) {
      out += ',';
      field(out, "reason", ev.reason);
    }
    if (ev.cpu_ms >= 0) {
      out += ',';
      number(out, "cpuMs", ev.cpu_ms);
    }
    out += '}';
  }
  out += '}';
  return out;
}

std::string webhook_signature(std::string_view key, std::string_view body) {
  std::array<unsigned char, 32> mac{};
  if (!jwt_detail::hmac_sha256(key, body, mac))
    return {};
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "sha256=";
  for (auto b : mac) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 15]);
  }
  return out;
}

std::optional<http_url> parse_http_url(std::string_view url) {
  constexpr std::string_view plain = "http://", secure = "https://";
  http_url out;
  if (url.substr(0, plain.size()) == plain) {
    url.remove_prefix(plain.size());
  } else if (url.substr(0, secure.size()) == secure) {
    url.remove_prefix(secure.size());
    out.tls = true;
    out.port = 443;
  } else {
    return std::nullopt;
  }
  auto slash = url.find('/');
  auto authority = url.substr(0, slash);
  if (slash != std::string_view::npos)
    out.target = std::string{url.substr(slash)};
  if (authority.empty() || authority.find('@') != std::string_view::npos)
    return std::nullopt;
  std::string_view host = authority, port;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return std::nullopt;
    host = authority.substr(1, close - 1);
    auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return std::nullopt;
      port = rest.substr(1);
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty())
    return std::nullopt;
  for (unsigned char c : host)
    if (c <= 0x20 || c >= 0x7f || c == '/' || c == '?' || c == '#')
      return std::nullopt;
  if (!port.empty() || authority.back() == ':') {
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || p == 0 ||
        p > 65535)
      return std::nullopt;
    out.port = static_cast<uint16_t>(p);
  }
  for (unsigned char c : out.target)
    if (c <= 0x20 || c >= 0x7f)
      return std::nullopt;
  out.host = std::string{host};
  return out;
}

uint32_t webhook_backoff_ms(uint32_t attempt) {
  if (attempt < 2)
    return 0;
  uint64_t ms = 500;
  for (uint32_t i = 2; i < attempt && ms < 30000; ++i)
    ms *= 2;
  return static_cast<uint32_t>(std::min<uint64_t>(ms, 30000));
}

} // namespace chorus::protocol
