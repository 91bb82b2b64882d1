#include "net/turn_message.hpp"

#include <algorithm>
#include <cstring>

namespace chorus::net::turn {

namespace {

uint16_t be16(const uint8_t* p) noexcept { return uint16_t(uint16_t(p[0]) << 8 | p[1]); }
uint32_t be32(const uint8_t* p) noexcept {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

constexpr std::size_t padded(std::size_t n) noexcept { return (n + 3) & ~std::size_t{3}; }
constexpr uint8_t channel_first_byte_min = 0x40; // RFC 7983 §7: 64..79
constexpr uint8_t channel_first_byte_max = 0x4F;

bool is_turn_attribute(uint16_t type) noexcept {
  switch (type) {
    case attr::channel_number:
    case attr::lifetime:
    case attr::xor_peer_address:
    case attr::data:
    case attr::xor_relayed_address:
    case attr::requested_address_family:
    case attr::even_port:
    case attr::requested_transport:
    case attr::dont_fragment:
    case attr::reservation_token:
      return true;
    default:
      return false;
  }
}

// Reads one TURN attribute into `m`; false when its value is malformed.
bool read_attribute(uint16_t type, std::span<const uint8_t> v, std::size_t header_offset,
                    message& m) {
  switch (type) {
    case attr::channel_number: // 2 bytes of number, 2 reserved (§18.1)
      if (v.size() != 4)
        return false;
      if (!m.channel)
        m.channel = be16(v.data());
      return true;
    case attr::lifetime:
      if (v.size() != 4)
        return false;
      if (!m.lifetime)
        m.lifetime = be32(v.data());
      return true;
    case attr::xor_peer_address: {
      auto a = stun::read_xor_address(v, m.stun.tid);
      if (!a || m.peers.size() >= max_peer_addresses)
        return false;
      m.peers.push_back(*a);
      return true;
    }
    case attr::data:
      if (!m.has_data) {
        m.has_data = true;
        m.data_offset = uint32_t(header_offset + stun::attribute_header_size);
        m.data_size = uint32_t(v.size());
      }
      return true;
    case attr::requested_transport: // protocol, 3 reserved (§18.7)
      if (v.size() != 4)
        return false;
      if (!m.requested_transport)
        m.requested_transport = v[0];
      return true;
    case attr::requested_address_family: // family, 3 reserved (§18.8)
      if (v.size() != 4)
        return false;
      if (!m.requested_family)
        m.requested_family = v[0];
      return true;
    case attr::even_port: // one byte: the R bit (§18.9)
      if (v.size() != 1)
        return false;
      m.even_port = true;
      return true;
    case attr::dont_fragment:
      if (!v.empty())
        return false;
      m.dont_fragment = true;
      return true;
    case attr::reservation_token:
      if (v.size() != 8)
        return false;
      m.reservation_token = true;
      return true;
    case attr::xor_relayed_address: { // in a server's answer
      auto a = stun::read_xor_address(v, m.stun.tid);
      if (!a)
        return false;
      if (!m.relayed)
        m.relayed = *a;
      return true;
    }
    default:
      return true;
  }
}

} // namespace

parse_result parse(std::span<const uint8_t> bytes) {
  parse_result r;
  auto base = stun::parse(bytes);
  r.error = base.error;
  if (!base.ok())
    return r;
  r.msg.stun = std::move(base.msg);
  bool valid = true;
  stun::for_each_attribute(bytes, [&](uint16_t type, std::span<const uint8_t> v, std::size_t at) {
    if (valid && is_turn_attribute(type))
      valid = read_attribute(type, v, at, r.msg);
  });
  if (!valid) {
    r.error = stun::parse_error::bad_attribute;
    return r;
  }
  for (uint16_t t : r.msg.stun.unknown_required)
    if (!is_turn_attribute(t))
      r.msg.unknown_required.push_back(t);
  return r;
}

bool is_channel_data(std::span<const uint8_t> bytes) noexcept {
  return bytes.size() >= channel_header_size && bytes[0] >= channel_first_byte_min &&
         bytes[0] <= channel_first_byte_max;
}

std::optional<channel_data> parse_channel_data(std::span<const uint8_t> bytes) noexcept {
  if (!is_channel_data(bytes))
    return std::nullopt;
  const uint16_t channel = be16(bytes.data());
  const std::size_t length = be16(bytes.data() + 2);
  const std::size_t available = bytes.size() - channel_header_size;
  if (length > available || available - length > 3)
    return std::nullopt;
  return channel_data{channel, bytes.subspan(channel_header_size, length)};
}

void append_channel_data(std::vector<uint8_t>& out, uint16_t channel,
                         std::span<const uint8_t> payload, bool pad) {
  const std::size_t at = out.size();
  const std::size_t size = channel_header_size + (pad ? padded(payload.size()) : payload.size());
  out.resize(at + size, 0);
  out[at] = uint8_t(channel >> 8);
  out[at + 1] = uint8_t(channel);
  out[at + 2] = uint8_t(payload.size() >> 8);
  out[at + 3] = uint8_t(payload.size());
  if (!payload.empty())
    std::memcpy(out.data() + at + channel_header_size, payload.data(), payload.size());
}

std::optional<std::size_t> stream_frame_size(std::span<const uint8_t> bytes) noexcept {
  if (bytes.empty())
    return std::size_t{0};
  if (bytes[0] >= channel_first_byte_min && bytes[0] <= channel_first_byte_max) {
    if (bytes.size() < channel_header_size)
      return std::size_t{0};
    return channel_header_size + padded(be16(bytes.data() + 2));
  }
  if (bytes[0] > 0x3F) // neither STUN (two leading zero bits) nor ChannelData
    return std::nullopt;
  if (bytes.size() < 8)
    return std::size_t{0};
  const std::size_t length = be16(bytes.data() + 2);
  if (length % 4 != 0 || be32(bytes.data() + 4) != stun::magic_cookie)
    return std::nullopt;
  return stun::header_size + length;
}

std::vector<uint8_t> data_indication(const transport_address& peer,
                                     std::span<const uint8_t> payload) {
  stun::builder b{stun::message_class::indication, method_data, stun::random_transaction_id()};
  b.add_xor_address(attr::xor_peer_address, peer).add_raw(attr::data, payload);
  return std::move(b).finish();
}

} // namespace chorus::net::turn
