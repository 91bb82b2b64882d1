// The Socket.IO v4 packet codec (socket.io-protocol revision 5), framing only:
//
//   <type>[<attachments>-][<namespace>,][<ackId>][<JSON payload>]
//
// The Engine.IO layer (net/) strips its own "4" message prefix and hands the rest here;
// it also adds that prefix to what encode_packet returns. The JSON payload is not parsed
// here: parse_packet only splits the header off and leaves the payload as text, which the
// dialect (dialect_socketio.cpp) parses with the shared JSON reader. Pure code, no JSON
// library in this header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chorus::protocol::socketio {

enum class packet_type : uint8_t {
  connect = 0,
  disconnect = 1,
  event = 2,
  ack = 3,
  connect_error = 4,
  binary_event = 5,
  binary_ack = 6,
};

std::string_view to_string(packet_type t) noexcept; // "CONNECT", "EVENT", ...

inline constexpr std::string_view default_namespace = "/";
// Longest namespace accepted (it is echoed in CONNECT_ERROR answers).
inline constexpr std::size_t max_namespace_bytes = 128;
// Ack ids are unsigned decimal integers; anything above this does not fit and is rejected.
inline constexpr uint64_t max_ack_id = UINT64_MAX;
// Attachment counts of binary packets, at most this many digits.
inline constexpr std::size_t max_attachment_digits = 9;

struct packet {
  packet_type type = packet_type::event;
  uint32_t attachments = 0;                  // BINARY_EVENT / BINARY_ACK only
  std::string nsp{default_namespace};        // "/" when the packet names none
  std::optional<uint64_t> ack_id;            // the acknowledgement id, when present
  std::string_view payload;                  // the JSON text after the header ("" if none);
                                             // a view into the parsed text
};

struct parse_result {
  bool ok = false;
  packet pkt;        // when !ok: the fields read before the problem (type, nsp, ack id)
  std::string error; // when !ok: what is wrong, e.g. "unknown packet type '9'"
};

// Splits one Socket.IO packet text. Never throws. Fails on: an empty text, a type that
// is not one of 0-6, a binary packet without a valid "<count>-", a namespace longer than
// max_namespace_bytes, an ack id larger than max_ack_id. A namespace runs from a leading
// '/' to the first ',' (or to the end of the text, as socket.io-parser reads it).
parse_result parse_packet(std::string_view text);

// Builds a packet text: the namespace is written only when it is not "/", the ack id only
// when given, the payload verbatim (it must be JSON text, or empty for none). Binary types
// are written with `attachments`.
std::string encode_packet(packet_type type, std::string_view nsp,
                          std::optional<uint64_t> ack_id, std::string_view payload,
                          uint32_t attachments = 0);

// A new random socket id: 20 characters of the URL-safe base64 alphabet (15 random bytes),
// like socket.io's own ids.
std::string make_socket_id();

} // namespace chorus::protocol::socketio
