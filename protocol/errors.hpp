// Error codes of the signaling protocol. Each has a stable wire name (see
// docs/protocol.md); actors report failures with these codes and a message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace chorus::protocol {

enum class error_code : uint8_t {
  malformed_json,    // "malformed-json": not JSON, or not a JSON object
  invalid_message,   // "invalid-message": `type` missing or not a string, `data` or
                     //   `requestId` of the wrong type
  unknown_type,      // "unknown-type": no such request
  missing_field,     // "missing-field": data.X is required
  invalid_field,     // "invalid-field": data.X has the wrong type or value
  not_joined,        // "not-joined": the request needs room membership first
  already_joined,    // "already-joined": joining a second room on one connection
  wrong_room,        // "wrong-room": roomId names another room than the joined one
  limit_exceeded,    // "limit-exceeded": a configured bound (peers per room, ...)
  unknown_transport, // "unknown-transport"
  unknown_producer,  // "unknown-producer"
  unknown_consumer,  // "unknown-consumer"
  unknown_user,      // "unknown-user": no participant of that user id in the room
  invalid_state,     // "invalid-state": request out of order (e.g. connect twice)
  cannot_consume,    // "cannot-consume": capabilities cannot receive the producer
  nothing_to_consume, // "nothing-to-consume": consume without producerId found no producer
                      //   left that this peer could consume (yet: worth a retry later)
  unsupported,       // "unsupported": valid request this server version cannot serve
  // Who may do what (auth.*, docs/operations.md "Tokens and roles"):
  unauthorized,      // "unauthorized": no token, or a bad or expired one (at connect)
  forbidden,         // "forbidden": the token or role does not allow it (the message
                     //   names the permission or the room)
  rate_limited,      // "rate-limited": over the connection's request rate
  room_full,         // "room-full": the room has limits.maxPeersPerRoom participants
  room_locked,       // "room-locked": a moderator locked the room (no new joins)
  blocked,           // "blocked": a moderator blocked this participant from the room
  id_taken,          // "id-taken": another live connection uses this peer or user id
  draining,          // "draining": the server is draining (SIGTERM, POST /drain): no new
                     //   rooms or joins; join another node
  internal,          // "internal": a server-side failure or timeout
};

inline constexpr std::size_t error_code_count = static_cast<std::size_t>(error_code::internal) + 1;

std::string_view to_string(error_code c) noexcept;

// A protocol failure: code plus a human-readable message naming the field or id.
struct error_info {
  error_code code = error_code::internal;
  std::string message;
};

} // namespace chorus::protocol
