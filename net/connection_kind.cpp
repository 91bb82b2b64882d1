#include "net/connection_kind.hpp"

namespace chorus::net {

namespace {

constexpr uint8_t cookie[4] = {0x21, 0x12, 0xA4, 0x42};

bool cookie_at(std::span<const uint8_t> head, std::size_t at) noexcept {
  for (std::size_t i = 0; i < 4; ++i)
    if (head[at + i] != cookie[i])
      return false;
  return true;
}

uint16_t u16(std::span<const uint8_t> head, std::size_t at) noexcept {
  return uint16_t(head[at] << 8 | head[at + 1]);
}

} // namespace

connection_kind classify_connection(std::span<const uint8_t> head) noexcept {
  if (head.empty())
    return connection_kind::undecided;
  const uint8_t b0 = head[0];
  if (b0 >= 'A' && b0 <= 'Z')
    return connection_kind::http;
  if (b0 == 0x16) {
    if (head.size() < 2)
      return connection_kind::undecided;
    return head[1] == 0x03 ? connection_kind::tls : connection_kind::other;
  }
  // STUN's first byte is 0x00 or 0x01 (a request's class bits leave the top two bits zero
  // and the method is small); a framed binding request's length is at most 0x1FF here.
  if (b0 > 0x01)
    return connection_kind::other;
  if (head.size() < 8)
    return connection_kind::undecided;
  if (cookie_at(head, 4)) {
    const uint16_t type = u16(head, 0);
    const bool request = (type & 0x0110) == 0; // class bits C1 C0 = 00
    const bool length_ok = u16(head, 2) % 4 == 0;
    return request && length_ok ? connection_kind::turn : connection_kind::other;
  }
  if (head.size() < connection_kind_head_bytes)
    return connection_kind::undecided;
  if (cookie_at(head, 6) && u16(head, 2) == 0x0001 && u16(head, 0) == 20u + u16(head, 4) &&
      u16(head, 4) % 4 == 0)
    return connection_kind::ice_tcp;
  return connection_kind::other;
}

const char* to_string(connection_kind k) noexcept {
  switch (k) {
  case connection_kind::undecided: return "undecided";
  case connection_kind::http: return "http";
  case connection_kind::tls: return "tls";
  case connection_kind::turn: return "turn";
  case connection_kind::ice_tcp: return "ice_tcp";
  case connection_kind::other: return "other";
  }
  return "?";
}

} // namespace chorus::net
