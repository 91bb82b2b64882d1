// TURN messages (RFC 8656) on top of STUN (net/stun.hpp): the methods and attributes a
// TURN server reads and writes, ChannelData (§12), and the split of a TCP or TLS byte
// stream into messages (§12.5). Pure: bytes in, structs or bytes out.
#pragma once

#include "net/stun.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace chorus::net::turn {

// Methods (§18).
inline constexpr uint16_t method_allocate = 0x003;
inline constexpr uint16_t method_refresh = 0x004;
inline constexpr uint16_t method_send = 0x006;
inline constexpr uint16_t method_data = 0x007;
inline constexpr uint16_t method_create_permission = 0x008;
inline constexpr uint16_t method_channel_bind = 0x009;

// Attributes (§18).
namespace attr {
inline constexpr uint16_t channel_number = 0x000C;
inline constexpr uint16_t lifetime = 0x000D;
inline constexpr uint16_t xor_peer_address = 0x0012;
inline constexpr uint16_t data = 0x0013;
inline constexpr uint16_t xor_relayed_address = 0x0016;
inline constexpr uint16_t requested_address_family = 0x0017;
inline constexpr uint16_t even_port = 0x0018;
inline constexpr uint16_t requested_transport = 0x0019;
inline constexpr uint16_t dont_fragment = 0x001A;
inline constexpr uint16_t reservation_token = 0x0022;
inline constexpr uint16_t additional_address_family = 0x8000;
} // namespace attr

// Error codes (§19) beyond STUN's.
inline constexpr uint16_t error_forbidden = 403;
inline constexpr uint16_t error_allocation_mismatch = 437;
inline constexpr uint16_t error_stale_nonce = 438;
inline constexpr uint16_t error_address_family = 440;
inline constexpr uint16_t error_wrong_credentials = 441;
inline constexpr uint16_t error_unsupported_transport = 442;
inline constexpr uint16_t error_peer_family_mismatch = 443;
inline constexpr uint16_t error_quota = 486;
inline constexpr uint16_t error_capacity = 508;

inline constexpr uint8_t protocol_udp = 17;        // REQUESTED-TRANSPORT (§18.7)
inline constexpr uint8_t family_code_ipv4 = 0x01;  // REQUESTED-ADDRESS-FAMILY (§18.8)
inline constexpr uint8_t family_code_ipv6 = 0x02;
inline constexpr uint16_t channel_min = 0x4000;    // §12
inline constexpr uint16_t channel_max = 0x4FFF;
inline constexpr std::size_t channel_header_size = 4;
inline constexpr std::size_t max_peer_addresses = 16; // per CreatePermission; beyond: 400

// A STUN message with the TURN attributes read. Of a repeated attribute the first counts,
// except XOR-PEER-ADDRESS, which CreatePermission may repeat.
struct message {
  stun::message stun;
  std::vector<transport_address> peers; // XOR-PEER-ADDRESS, in order
  std::optional<transport_address> relayed; // XOR-RELAYED-ADDRESS (an Allocate's answer)
  std::optional<uint32_t> lifetime;     // seconds
  std::optional<uint16_t> channel;      // CHANNEL-NUMBER
  std::optional<uint8_t> requested_transport;
  std::optional<uint8_t> requested_family; // the code as sent (§18.8)
  bool dont_fragment = false;
  bool even_port = false;
  bool reservation_token = false;
  // DATA: its value's place in the parsed bytes.
  bool has_data = false;
  uint32_t data_offset = 0;
  uint32_t data_size = 0;
  // Comprehension-required types neither STUN nor TURN understands (STUN's list without
  // the TURN attributes).
  std::vector<uint16_t> unknown_required;

  std::span<const uint8_t> data(std::span<const uint8_t> bytes) const noexcept {
    return has_data ? bytes.subspan(data_offset, data_size) : std::span<const uint8_t>{};
  }
};

struct parse_result {
  message msg;
  stun::parse_error error = stun::parse_error::none;
  bool ok() const noexcept { return error == stun::parse_error::none; }
};

// The STUN parse plus the TURN attributes; a TURN attribute with a malformed value (a
// wrong length, a bad address family, too many peers) is bad_attribute.
parse_result parse(std::span<const uint8_t> bytes);

// ---- ChannelData (§12.4) ----------------------------------------------------------------
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |         Channel Number        |            Length             |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  /                       Application Data                        /
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

// RFC 7983's range for TURN channels: first byte 64..79.
bool is_channel_data(std::span<const uint8_t> bytes) noexcept;

struct channel_data {
  uint16_t channel = 0;
  std::span<const uint8_t> payload;
};

// A whole ChannelData message (a datagram, or a frame stream_frame_size() cut): a channel
// in range and a length that fits; trailing padding (up to 3 bytes, §12.5) is allowed.
std::optional<channel_data> parse_channel_data(std::span<const uint8_t> bytes) noexcept;

// Appends one ChannelData message; `pad` (TCP and TLS, §12.5) rounds it to 4 bytes.
void append_channel_data(std::vector<uint8_t>& out, uint16_t channel,
                         std::span<const uint8_t> payload, bool pad);

// The size of the frame at the head of a TCP or TLS stream (§12.5): a STUN message
// (20 + its length) or a ChannelData message (4 + its length rounded up to 4). 0: more
// bytes are needed to tell. nullopt: the head is neither, the stream is broken.
std::optional<std::size_t> stream_frame_size(std::span<const uint8_t> bytes) noexcept;

// A Data indication (§11.4): XOR-PEER-ADDRESS and DATA, a fresh transaction id.
std::vector<uint8_t> data_indication(const transport_address& peer,
                                     std::span<const uint8_t> payload);

} // namespace chorus::net::turn
