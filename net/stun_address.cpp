// transport_address (declared in net/stun.hpp): conversions to and from text and
// sockaddr_storage. Kept apart from the STUN codec, which only needs the bytes.
#include "net/stun.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace chorus::net {

transport_address transport_address::v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d,
                                        uint16_t port) noexcept {
  transport_address t;
  t.family = ip_family::ipv4;
  t.bytes[0] = a;
  t.bytes[1] = b;
  t.bytes[2] = c;
  t.bytes[3] = d;
  t.port = port;
  return t;
}

std::optional<transport_address> transport_address::from_string(std::string_view ip,
                                                                uint16_t port) {
  const std::string text{ip}; // inet_pton needs a terminated string
  transport_address t;
  t.port = port;
  if (inet_pton(AF_INET, text.c_str(), t.bytes.data()) == 1) {
    t.family = ip_family::ipv4;
    return t;
  }
  if (inet_pton(AF_INET6, text.c_str(), t.bytes.data()) == 1) {
    t.family = ip_family::ipv6;
    return t;
  }
  return std::nullopt;
}

std::optional<transport_address> transport_address::from_sockaddr(
  const sockaddr_storage& sa) noexcept {
  transport_address t;
  if (sa.ss_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, &sa, sizeof in);
    t.family = ip_family::ipv4;
    std::memcpy(t.bytes.data(), &in.sin_addr, ipv4_size);
    t.port = ntohs(in.sin_port);
    return t;
  }
  if (sa.ss_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, &sa, sizeof in6);
    t.family = ip_family::ipv6;
    std::memcpy(t.bytes.data(), &in6.sin6_addr, ipv6_size);
    t.port = ntohs(in6.sin6_port);
    return t;
  }
  return std::nullopt;
}

std::size_t transport_address::to_sockaddr(sockaddr_storage& out) const noexcept {
  std::memset(&out, 0, sizeof out);
  if (family == ip_family::ipv4) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    std::memcpy(&in.sin_addr, bytes.data(), ipv4_size);
    std::memcpy(&out, &in, sizeof in);
    return sizeof in;
  }
  if (family == ip_family::ipv6) {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(port);
    std::memcpy(&in6.sin6_addr, bytes.data(), ipv6_size);
    std::memcpy(&out, &in6, sizeof in6);
    return sizeof in6;
  }
  return 0;
}

std::string transport_address::ip_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  const int af = family == ip_family::ipv4 ? AF_INET : family == ip_family::ipv6 ? AF_INET6 : 0;
  if (af == 0 || inet_ntop(af, bytes.data(), text, sizeof text) == nullptr)
    return {};
  return text;
}

std::string transport_address::to_string() const {
  if (family == ip_family::ipv6)
    return std::string{"["}.append(ip_string()).append("]:").append(std::to_string(port));
  if (family == ip_family::ipv4)
    return ip_string() + ":" + std::to_string(port);
  return "none";
}

} // namespace chorus::net
