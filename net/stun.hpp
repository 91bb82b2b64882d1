// STUN messages (RFC 5389) as used by ICE connectivity checks (RFC 8445 §7), consent
// freshness (RFC 7675) and TURN (net/turn_message.hpp reads its attributes on top):
// parsing, MESSAGE-INTEGRITY and FINGERPRINT verification, and the few messages ICE needs
// built. Pure code: bytes in, structs or bytes out; no sockets, no clock. The integrity key
// is given as bytes: the password for short-term credentials (RFC 5389 §10.1), the MD5 of
// "username:realm:password" for long-term ones (§15.4, net/turn_credentials.hpp).
#pragma once

#include <array>
#include <cstring>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct sockaddr_storage;

namespace chorus::net {

enum class ip_family : uint8_t { none = 0, ipv4 = 4, ipv6 = 6 };

// An IP address and port. IPv4 uses bytes[0..4) and leaves the rest zero, so that two
// equal addresses compare equal with operator==.
struct transport_address {
  static constexpr std::size_t ipv4_size = 4;
  static constexpr std::size_t ipv6_size = 16;

  ip_family family = ip_family::none;
  std::array<uint8_t, 16> bytes{};
  uint16_t port = 0;

  static transport_address v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d,
                              uint16_t port) noexcept;
  // "192.0.2.1" or "2001:db8::1" (no brackets); nullopt when not a literal address.
  static std::optional<transport_address> from_string(std::string_view ip, uint16_t port);
  // AF_INET / AF_INET6; nullopt for any other family.
  static std::optional<transport_address> from_sockaddr(const sockaddr_storage& sa) noexcept;
  // Fills `out` and returns the length to pass to sendto(); 0 when family is none.
  std::size_t to_sockaddr(sockaddr_storage& out) const noexcept;

  std::string ip_string() const; // "192.0.2.1", "2001:db8::1"
  std::string to_string() const; // "192.0.2.1:32853", "[2001:db8::1]:32853"

  friend bool operator==(const transport_address&, const transport_address&) = default;
};

// For unordered containers keyed by address (splitmix64 over its bytes, port and family).
struct transport_address_hash {
  std::size_t operator()(const transport_address& a) const noexcept {
    uint64_t lo = 0, hi = 0;
    std::memcpy(&lo, a.bytes.data(), 8);
    std::memcpy(&hi, a.bytes.data() + 8, 8);
    uint64_t h = lo * 0x9E3779B97F4A7C15ULL ^ (hi + 0x632BE59BD9B4E019ULL);
    h ^= uint64_t(a.port) << 16 ^ uint64_t(a.family);
    h ^= h >> 31; // splitmix64 finalizer
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 27;
    return std::size_t(h);
  }
};

namespace stun {

// ---- RFC 5389 constants ---------------------------------------------------------------
inline constexpr uint32_t magic_cookie = 0x2112A442;        // §6
inline constexpr std::size_t header_size = 20;              // §6
inline constexpr std::size_t transaction_id_size = 12;      // §6
inline constexpr std::size_t attribute_header_size = 4;     // §15: type, length
inline constexpr std::size_t integrity_size = 20;           // §15.4: HMAC-SHA1
inline constexpr std::size_t fingerprint_size = 4;          // §15.5: CRC-32
inline constexpr uint32_t fingerprint_xor = 0x5354554E;     // §15.5: "STUN"
inline constexpr std::size_t max_username_size = 512;       // §15.3: less than 513 bytes
inline constexpr std::size_t max_reason_size = 763;         // §15.6
inline constexpr std::size_t max_realm_size = 763;          // §15.7
inline constexpr std::size_t max_nonce_size = 763;          // §15.8
inline constexpr std::size_t max_message_size = header_size + 0xFFFF;

enum class message_class : uint8_t {
  request = 0,
  indication = 1,
  success_response = 2,
  error_response = 3,
};

inline constexpr uint16_t method_binding = 0x001; // §18.1

// Attribute types (RFC 5389 §18.2, RFC 8445 §16.1). Types below 0x8000 are
// comprehension-required: a message carrying an unknown one must not be acted upon.
namespace attr {
inline constexpr uint16_t mapped_address = 0x0001;
inline constexpr uint16_t username = 0x0006;
inline constexpr uint16_t message_integrity = 0x0008;
inline constexpr uint16_t error_code = 0x0009;
inline constexpr uint16_t unknown_attributes = 0x000A;
inline constexpr uint16_t realm = 0x0014;
inline constexpr uint16_t nonce = 0x0015;
inline constexpr uint16_t xor_mapped_address = 0x0020;
inline constexpr uint16_t priority = 0x0024;
inline constexpr uint16_t use_candidate = 0x0025;
inline constexpr uint16_t comprehension_optional_min = 0x8000;
inline constexpr uint16_t software = 0x8022;
inline constexpr uint16_t alternate_server = 0x8023;
inline constexpr uint16_t fingerprint = 0x8028;
inline constexpr uint16_t ice_controlled = 0x8029;
inline constexpr uint16_t ice_controlling = 0x802A;
} // namespace attr

// ERROR-CODE values used by ICE (RFC 5389 §15.6, RFC 8445 §7.3.1.1).
inline constexpr uint16_t error_bad_request = 400;
inline constexpr uint16_t error_unauthorized = 401;
inline constexpr uint16_t error_unknown_attribute = 420;
inline constexpr uint16_t error_role_conflict = 487;
inline constexpr uint16_t error_server_error = 500;

using transaction_id = std::array<uint8_t, transaction_id_size>;

// The 14-bit message type of §6 from class and 12-bit method.
uint16_t message_type(message_class cls, uint16_t method) noexcept;
// "Bad Request", "Unauthorized", "Unknown Attribute", "Role Conflict", ... ("" if unknown).
std::string_view reason_phrase(uint16_t code) noexcept;
// Cryptographically random transaction id (§6: "uniformly and randomly chosen").
transaction_id random_transaction_id();

// ---- parsing --------------------------------------------------------------------------
enum class parse_error : uint8_t {
  none,
  too_short,            // fewer than 20 bytes
  not_stun,             // the two leading bits are not 0
  bad_cookie,           // magic cookie is not 0x2112A442
  bad_length,           // message length is not a multiple of 4
  length_mismatch,      // header length disagrees with the bytes received
  truncated_attribute,  // an attribute header or value runs past the end
  bad_attribute,        // a known attribute with an invalid value or length
  fingerprint_not_last, // FINGERPRINT followed by more attributes
  bad_fingerprint,      // FINGERPRINT present but its CRC does not match
};
std::string_view to_string(parse_error e) noexcept;

struct error_code_value {
  uint16_t code = 0; // class * 100 + number, 300..699
  std::string reason;
  friend bool operator==(const error_code_value&, const error_code_value&) = default;
};

// The attributes ICE uses. Attributes after MESSAGE-INTEGRITY (other than FINGERPRINT)
// are ignored (§15.4); of a repeated attribute only the first counts (§15).
struct message {
  message_class cls = message_class::request;
  uint16_t method = 0;
  transaction_id tid{};

  std::optional<std::string> username; // raw bytes, padding stripped
  std::optional<std::string> realm;    // long-term credentials (§10.2)
  std::optional<std::string> nonce;
  std::optional<uint32_t> priority;
  bool use_candidate = false;
  std::optional<uint64_t> ice_controlling; // tie-breaker
  std::optional<uint64_t> ice_controlled;  // tie-breaker
  std::optional<transport_address> xor_mapped_address;
  std::optional<error_code_value> error_code;
  std::vector<uint16_t> unknown_attributes; // UNKNOWN-ATTRIBUTES of a 420 response

  // MESSAGE-INTEGRITY: the offset of its attribute header in the parsed bytes, and value.
  std::optional<std::size_t> integrity_offset;
  std::array<uint8_t, integrity_size> integrity{};
  bool has_fingerprint = false; // present and valid (an invalid one fails the parse)

  // Comprehension-required attribute types this parser does not understand (§7.3).
  std::vector<uint16_t> unknown_required;
};

struct parse_result {
  message msg;
  parse_error error = parse_error::none;
  bool ok() const noexcept { return error == parse_error::none; }
};

// RFC 7983 §7 demultiplexing: first byte in 0..3, at least a header, and the cookie.
bool is_stun(std::span<const uint8_t> bytes) noexcept;

// Parses a whole message (one datagram, or one RFC 4571 frame). Verifies FINGERPRINT
// when present; MESSAGE-INTEGRITY needs the key, see verify_integrity().
parse_result parse(std::span<const uint8_t> bytes);

// §15.4: HMAC-SHA1 with `key` over `bytes` up to the MESSAGE-INTEGRITY attribute, with the
// header length counting up to and including that attribute. `msg` must come from
// parse(bytes). False when the message has no MESSAGE-INTEGRITY. Constant-time compare.
bool verify_integrity(std::span<const uint8_t> bytes, const message& msg, std::string_view key);

// CRC-32 (ISO-HDLC, the one of zlib and Ethernet) as FINGERPRINT uses before the XOR.
uint32_t crc32(std::span<const uint8_t> bytes) noexcept;

// The value of an XOR-MAPPED-ADDRESS-shaped attribute (also TURN's XOR-PEER-ADDRESS and
// XOR-RELAYED-ADDRESS); nullopt when the family or the length is wrong.
std::optional<transport_address> read_xor_address(std::span<const uint8_t> value,
                                                  const transaction_id& tid);

// Calls fn(type, value, header_offset) for each attribute of `bytes` before
// MESSAGE-INTEGRITY (or FINGERPRINT), in order; `bytes` must have passed parse().
template <class F>
void for_each_attribute(std::span<const uint8_t> bytes, F&& fn) {
  std::size_t off = header_size;
  while (off + attribute_header_size <= bytes.size()) {
    const uint16_t type = uint16_t(bytes[off] << 8 | bytes[off + 1]);
    const std::size_t length = std::size_t(bytes[off + 2] << 8 | bytes[off + 3]);
    const std::size_t value_off = off + attribute_header_size;
    if (type == attr::message_integrity || type == attr::fingerprint ||
        value_off + length > bytes.size())
      return;
    fn(type, bytes.subspan(value_off, length), off);
    off = value_off + ((length + 3) & ~std::size_t{3});
  }
}

// ---- building -------------------------------------------------------------------------
// Appends attributes in call order with zero padding; keeps the header length current.
// MESSAGE-INTEGRITY and FINGERPRINT, when wanted, must be added last, in that order.
class builder {
public:
  builder(message_class cls, uint16_t method, const transaction_id& tid);

  builder& add_username(std::string_view username); // clipped to max_username_size
  builder& add_priority(uint32_t priority);
  builder& add_use_candidate();
  builder& add_ice_controlling(uint64_t tie_breaker);
  builder& add_ice_controlled(uint64_t tie_breaker);
  builder& add_xor_mapped_address(const transport_address& address);
  // An XOR-MAPPED-ADDRESS-shaped attribute of another type (TURN's peer and relayed ones).
  builder& add_xor_address(uint16_t type, const transport_address& address);
  builder& add_uint32(uint16_t type, uint32_t value);
  builder& add_realm(std::string_view realm); // clipped to max_realm_size
  builder& add_nonce(std::string_view nonce); // clipped to max_nonce_size
  builder& add_error_code(uint16_t code, std::string_view reason); // reason clipped
  builder& add_unknown_attributes(std::span<const uint16_t> types);
  builder& add_raw(uint16_t type, std::span<const uint8_t> value); // tests, extensions
  builder& add_message_integrity(std::string_view key);
  builder& add_fingerprint();

  const std::vector<uint8_t>& bytes() const noexcept { return buf_; }
  std::vector<uint8_t> finish() && { return std::move(buf_); }

private:
  uint8_t* append_attribute(uint16_t type, std::size_t value_size);
  void set_length(std::size_t body_size) noexcept;

  std::vector<uint8_t> buf_;
};

// Binding success response (RFC 8445 §7.3.1.3): XOR-MAPPED-ADDRESS = the request's source,
// MESSAGE-INTEGRITY with `key` (the local password), FINGERPRINT.
std::vector<uint8_t> binding_success(const transaction_id& tid, const transport_address& mapped,
                                     std::string_view key);

// Binding error response: ERROR-CODE with `reason` (the standard phrase when empty),
// UNKNOWN-ATTRIBUTES for 420, MESSAGE-INTEGRITY only when `key` is not empty (§10.1.2:
// never for 400 and 401, whose request was not authenticated), FINGERPRINT.
std::vector<uint8_t> binding_error(const transaction_id& tid, uint16_t code,
                                   std::string_view key = {}, std::string_view reason = {},
                                   std::span<const uint16_t> unknown = {});

// An ICE connectivity check (RFC 8445 §7.2.2).
struct binding_request_params {
  transaction_id tid{};
  std::string username; // "remoteUfrag:localUfrag" from the sender's point of view
  std::string key;      // the remote password
  uint32_t priority = 0;
  bool controlling = true;
  uint64_t tie_breaker = 0;
  bool use_candidate = false; // only when controlling
};
std::vector<uint8_t> binding_request(const binding_request_params& p);

} // namespace stun
} // namespace chorus::net
