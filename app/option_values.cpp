#include "app/option_values.hpp"

#include "common/text.hpp"
#include "net/http_admission.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace chorus::app {

bool valid_ip(const std::string& ip) {
  unsigned char buf[16];
  return inet_pton(AF_INET, ip.c_str(), buf) == 1 || inet_pton(AF_INET6, ip.c_str(), buf) == 1;
}

bool parse_u32(std::string_view text, uint32_t& out) {
  if (text.empty())
    return false;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && p == text.data() + text.size();
}

bool parse_port_range(std::string_view text, uint16_t& lo, uint16_t& hi) {
  auto dash = text.find('-');
  if (dash == std::string_view::npos)
    return false;
  uint32_t a = 0, b = 0;
  if (!parse_u32(text.substr(0, dash), a) || !parse_u32(text.substr(dash + 1), b))
    return false;
  if (a < 1024 || b > 65535 || a > b)
    return false;
  lo = static_cast<uint16_t>(a);
  hi = static_cast<uint16_t>(b);
  return true;
}

bool parse_host_port(std::string_view text, std::string& host, uint16_t& port) {
  std::string h;
  uint16_t p = 0;
  if (!text::split_host_port(text, h, p) || !valid_ip(h))
    return false;
  host = std::move(h);
  port = p;
  return true;
}

bool valid_peer_address(std::string_view text) {
  std::string host;
  uint16_t port = 0;
  if (text.size() > 260 || !text::split_host_port(text, host, port) || port == 0)
    return false;
  for (unsigned char c : host)
    if (c <= 0x20 || c >= 0x7f || c == '/' || c == ',')
      return false;
  return true;
}

bool loopback_host(const std::string& host) {
  if (host == "localhost" || host == "::1")
    return true;
  in_addr a{};
  return inet_pton(AF_INET, host.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

std::string invalid_origin(const std::vector<std::string>& origins) {
  for (auto& o : origins)
    if (!net::valid_allowed_origin(o))
      return "'" + o + "' is neither \"*\" nor an origin like https://host:port";
  return {};
}

} // namespace chorus::app
