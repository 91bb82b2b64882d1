// What the room, peer and session actors share about who may do what: the permission bits
// a grant carries (protocol/permissions.hpp), the kinds a moderator names
// (protocol::publish_kinds), and the close codes of connections the room ends.
#pragma once

#include "protocol/messages.hpp"
#include "protocol/permissions.hpp"
#include "rtp/rtp_parameters.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::actors {

// WebSocket close codes (docs/protocol.md, "WebSocket close codes").
inline constexpr uint16_t close_forbidden = 4004;     // the join at connect was refused
inline constexpr uint16_t close_kicked = 4005;        // kick-peer
inline constexpr uint16_t close_blocked = 4006;       // block-peer
inline constexpr uint16_t close_room_ended = 4007;    // end-room
inline constexpr uint16_t close_rate_limited = 4008;  // sustained request flood
inline constexpr uint16_t close_unauthorized = 4009;  // Socket.IO CONNECT refused (token)

inline bool allows(uint16_t bits, protocol::permission p) noexcept {
  return protocol::permission_set::from_bits(static_cast<uint8_t>(bits)).has(p);
}

// The publish_kinds bit of a producer.
inline uint8_t kind_bit(rtp::media_kind kind, bool is_screen_share) noexcept {
  if (is_screen_share)
    return protocol::publish_kinds::screen;
  return kind == rtp::media_kind::audio ? protocol::publish_kinds::audio
                                        : protocol::publish_kinds::video;
}

// The permission publishing media of one publish_kinds bit needs.
inline protocol::permission publish_permission(uint8_t kind) noexcept {
  if (kind & protocol::publish_kinds::screen)
    return protocol::permission::publish_screen;
  if (kind & protocol::publish_kinds::audio)
    return protocol::permission::publish_audio;
  return protocol::permission::publish_video;
}

inline std::string_view kind_name(uint8_t kind) noexcept {
  if (kind & protocol::publish_kinds::screen)
    return "a screen share";
  return (kind & protocol::publish_kinds::audio) ? "audio" : "video";
}

// `bits` with the publish permissions of `kinds` granted (allow) or revoked.
inline uint16_t with_publish(uint16_t bits, uint8_t kinds, bool allow) noexcept {
  auto set = protocol::permission_set::from_bits(static_cast<uint8_t>(bits));
  for (uint8_t k : {protocol::publish_kinds::audio, protocol::publish_kinds::video,
                    protocol::publish_kinds::screen})
    if (kinds & k) {
      if (allow)
        set.add(publish_permission(k));
      else
        set.remove(publish_permission(k));
    }
  return set.bits();
}

inline std::vector<std::string> permission_names(uint16_t bits) {
  std::vector<std::string> out;
  for (auto n : protocol::permission_set::from_bits(static_cast<uint8_t>(bits)).names())
    out.emplace_back(n);
  return out;
}

// For logs: the request's wire name.
inline std::string_view action_name(protocol::moderation_action a) noexcept {
  switch (a) {
    case protocol::moderation_action::mute:
      return "mute-peer";
    case protocol::moderation_action::allow_publish:
      return "allow-publish";
    case protocol::moderation_action::disallow_publish:
      return "disallow-publish";
    case protocol::moderation_action::kick:
      return "kick-peer";
    case protocol::moderation_action::block:
      return "block-peer";
    case protocol::moderation_action::unblock:
      return "unblock-peer";
    case protocol::moderation_action::lock:
      return "lock-room";
    case protocol::moderation_action::unlock:
      return "unlock-room";
    case protocol::moderation_action::end:
      return "end-room";
  }
  return "moderation";
}

} // namespace chorus::actors
