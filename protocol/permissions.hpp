// Who may do what in a room: permissions, roles as named permission sets, and how a peer's
// permissions follow from its role and its token (docs/operations.md, "Tokens and roles").
// Pure values: no I/O, no CAF; every type here is cheap to copy and safe to share.
#pragma once

#include "common/result.hpp"

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chorus::protocol {

enum class permission : uint8_t {
  publish_audio,  // "publish-audio": produce kind audio
  publish_video,  // "publish-video": produce kind video (camera)
  publish_screen, // "publish-screen": produce with appData.source "screen" (either kind)
  subscribe,      // "subscribe": consume others' media
  chat,           // "chat": send chat messages
  moderate,       // "moderate": mute, allow/disallow publishing, kick, block, lock, end
  record,         // "record": start and stop recordings
};

inline constexpr std::size_t permission_count = 7;

// The stable wire name ("publish-audio", ...).
std::string_view to_string(permission p) noexcept;

// The permission of a wire name; nullopt for anything else (names are case-sensitive).
std::optional<permission> parse_permission(std::string_view name) noexcept;

// A set of permissions (a bitset of permission_count bits).
class permission_set {
public:
  constexpr permission_set() noexcept = default;
  constexpr permission_set(std::initializer_list<permission> ps) noexcept {
    for (auto p : ps)
      add(p);
  }

  static constexpr permission_set all() noexcept {
    return from_bits(static_cast<uint8_t>((1u << permission_count) - 1));
  }
  // Bits outside the known permissions are dropped (for values carried in messages).
  static constexpr permission_set from_bits(uint8_t bits) noexcept {
    permission_set s;
    s.bits_ = static_cast<uint8_t>(bits & ((1u << permission_count) - 1));
    return s;
  }
  constexpr uint8_t bits() const noexcept { return bits_; }

  constexpr bool has(permission p) const noexcept { return (bits_ & mask(p)) != 0; }
  constexpr bool empty() const noexcept { return bits_ == 0; }
  constexpr void add(permission p) noexcept { bits_ = static_cast<uint8_t>(bits_ | mask(p)); }
  constexpr void remove(permission p) noexcept {
    bits_ = static_cast<uint8_t>(bits_ & ~mask(p));
  }
  constexpr permission_set& operator|=(permission_set o) noexcept {
    bits_ = static_cast<uint8_t>(bits_ | o.bits_);
    return *this;
  }
  // Removes every permission of o.
  constexpr permission_set& operator-=(permission_set o) noexcept {
    bits_ = static_cast<uint8_t>(bits_ & ~o.bits_);
    return *this;
  }
  friend constexpr permission_set operator|(permission_set a, permission_set b) noexcept {
    return a |= b;
  }
  friend constexpr permission_set operator-(permission_set a, permission_set b) noexcept {
    return a -= b;
  }
  friend constexpr bool operator==(permission_set, permission_set) noexcept = default;

  // The wire names of the members, in the enum's order.
  std::vector<std::string_view> names() const;
  // The names joined with ',' ("" for the empty set): for logs.
  std::string to_string() const;

private:
  static constexpr uint8_t mask(permission p) noexcept {
    return static_cast<uint8_t>(1u << static_cast<unsigned>(p));
  }
  uint8_t bits_ = 0;
};

// A list of wire names into a set; an unknown name fails with
// "unknown permission 'X' (known: publish-audio, ...)". Duplicates are fine.
result<permission_set> parse_permissions(const std::vector<std::string>& names);

// Role name -> permission set. The defaults:
//   teacher   every permission
//   moderator every permission but record
//   student   subscribe, chat (publishing is granted at run time by allow-publish, or by a
//             configured role or a token's permissions claim)
//   viewer    subscribe
// Configuration may change these four and add roles; it cannot remove one.
class role_table {
public:
  static role_table defaults();

  // The role's permissions, or nullptr for an unknown role (names are case-sensitive).
  const permission_set* find(std::string_view role) const noexcept;
  // Adds the role or replaces its permissions.
  void set(std::string role, permission_set permissions);
  // Role names in the order they were added (the defaults first).
  std::vector<std::string> names() const;

  friend bool operator==(const role_table&, const role_table&) = default;

private:
  std::vector<std::pair<std::string, permission_set>> roles_;
};

// The role of a token that names none (and carries no permissions claim).
inline constexpr std::string_view default_token_role = "viewer";

// A peer's permissions: the token's permissions claim when there is one (the role is then
// only a label, and may be unknown); otherwise the role's permissions, an empty role meaning
// default_token_role. nullopt: the role is unknown and there is no claim (refuse the peer).
std::optional<permission_set> resolve_permissions(std::string_view role,
                                                  const std::optional<permission_set>& claimed,
                                                  const role_table& roles);

// The permission a produce needs: publish-screen when appData.source is "screen" (whatever
// the kind), else publish-audio for kind "audio" and publish-video for kind "video";
// nullopt for another kind. `source` is "" when appData or its source is absent.
std::optional<permission> permission_for_produce(std::string_view kind,
                                                 std::string_view source) noexcept;

} // namespace chorus::protocol
