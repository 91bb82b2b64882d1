#include "net/turn_url.hpp"

#include "net/stun.hpp"

#include <cctype>
#include <charconv>

namespace chorus::net {

namespace {

struct host_port {
  std::string_view host;
  std::optional<uint16_t> port;
  bool bracketed = false; // an IPv6 literal
};

std::optional<host_port> split(std::string_view text) {
  host_port out;
  std::string_view rest;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos)
      return std::nullopt;
    out.host = text.substr(1, close - 1);
    out.bracketed = true;
    rest = text.substr(close + 1);
  } else {
    const auto colon = text.find(':');
    out.host = text.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : text.substr(colon);
  }
  if (!rest.empty()) {
    if (rest[0] != ':' || rest.size() == 1)
      return std::nullopt;
    unsigned port = 0;
    const auto digits = rest.substr(1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc{} || end != digits.data() + digits.size() || port == 0 || port > 65535)
      return std::nullopt;
    out.port = uint16_t(port);
  }
  if (out.host.empty())
    return std::nullopt;
  return out;
}

bool is_name(const host_port& h) {
  if (h.bracketed || transport_address::from_string(std::string{h.host}, 0))
    return false;
  for (char c : h.host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.'))
      return false;
  return h.host.size() <= 253;
}

} // namespace

std::optional<std::string> turns_url(std::string_view configured_host,
                                     std::string_view host_header) {
  const auto client = split(host_header);
  if (!client)
    return std::nullopt; // no Host header (or a malformed one): no port to name
  const auto name = configured_host.empty() ? client : split(configured_host);
  if (!name || !is_name(*name))
    return std::nullopt;
  const uint16_t port = client->port.value_or(443);
  return "turns:" + std::string{name->host} + ":" + std::to_string(port) + "?transport=tcp";
}

} // namespace chorus::net
