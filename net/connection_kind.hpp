// What a connection to the signaling port carries, told by its first bytes, so that one
// port (443) serves HTTPS/WSS, TURN over TLS, and ICE-TCP for networks that let nothing
// else out:
//   - TLS: a handshake record (0x16, version major 3);
//   - HTTP: a request line (a method token, upper-case letters);
//   - TURN: a STUN request header (type with the two top bits zero, magic cookie at 4);
//   - ICE-TCP: an RFC 4571 frame (16-bit length) holding a STUN binding request whose
//     length agrees with the frame's (RFC 6544).
// The cookie sits at offset 4 for STUN and 6 for framed STUN, so no head is both. After a
// TLS handshake the same test runs on the first decrypted bytes (TURN or HTTP).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace chorus::net {

enum class connection_kind : uint8_t {
  undecided, // too few bytes yet: read more (at most connection_kind_head_bytes decide)
  http,
  tls,
  turn,    // STUN/TURN framed by its own lengths (RFC 8656 section 12.5)
  ice_tcp, // RFC 4571 framing, first frame a binding request
  other,   // none of these: left to the HTTP parser, which refuses it
};

// Bytes that always suffice to decide.
inline constexpr std::size_t connection_kind_head_bytes = 10;

connection_kind classify_connection(std::span<const uint8_t> head) noexcept;

const char* to_string(connection_kind k) noexcept;

} // namespace chorus::net
