#include "protocol/errors.hpp"

namespace chorus::protocol {

std::string_view to_string(error_code c) noexcept {
  switch (c) {
    case error_code::malformed_json:
      return "malformed-json";
    case error_code::invalid_message:
      return "invalid-message";
    case error_code::unknown_type:
      return "unknown-type";
    case error_code::missing_field:
      return "missing-field";
    case error_code::invalid_field:
      return "invalid-field";
    case error_code::not_joined:
      return "not-joined";
    case error_code::already_joined:
      return "already-joined";
    case error_code::wrong_room:
      return "wrong-room";
    case error_code::limit_exceeded:
      return "limit-exceeded";
    case error_code::unknown_transport:
      return "unknown-transport";
    case error_code::unknown_producer:
      return "unknown-producer";
    case error_code::unknown_consumer:
      return "unknown-consumer";
    case error_code::unknown_user:
      return "unknown-user";
    case error_code::invalid_state:
      return "invalid-state";
    case error_code::cannot_consume:
      return "cannot-consume";
    case error_code::nothing_to_consume:
      return "nothing-to-consume";
    case error_code::unsupported:
      return "unsupported";
    case error_code::unauthorized:
      return "unauthorized";
    case error_code::forbidden:
      return "forbidden";
    case error_code::rate_limited:
      return "rate-limited";
    case error_code::room_full:
      return "room-full";
    case error_code::room_locked:
      return "room-locked";
    case error_code::blocked:
      return "blocked";
    case error_code::id_taken:
      return "id-taken";
    case error_code::draining:
      return "draining";
    case error_code::internal:
      return "internal";
  }
  return "internal";
}

} // namespace chorus::protocol
