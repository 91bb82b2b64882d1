#include "actors/auth.hpp"

#include "actors/clock.hpp"
#include "protocol/jwt.hpp"

#include <algorithm>
#include <chrono>

namespace chorus::actors {

bool admission_ticket::covers(std::string_view room) const {
  return all_rooms || std::find(rooms.begin(), rooms.end(), room) != rooms.end();
}

namespace {

std::string known_roles(const protocol::role_table& roles) {
  std::string out;
  for (auto& n : roles.names())
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

} // namespace

value_or_error<admission_ticket, protocol::error_info>
admit(const auth_settings& auth, std::string_view token, std::string_view role) {
  using protocol::error_code;
  admission_ticket t;
  if (!auth.tokens()) {
    // Mode none: the chosen role, else the default role, else every permission.
    std::string_view chosen = !role.empty() ? role : std::string_view{auth.default_role};
    if (chosen.empty()) {
      t.grant.permissions = protocol::permission_set::all().bits();
      return t;
    }
    const auto* perms = auth.roles.find(chosen);
    if (!perms)
      return protocol::error_info{error_code::invalid_field,
                                  "role '" + std::string(chosen) + "' is unknown (known: " +
                                    known_roles(auth.roles) + ")"};
    t.grant.role = std::string(chosen);
    t.grant.permissions = perms->bits();
    return t;
  }
  if (token.empty())
    return protocol::error_info{error_code::unauthorized,
                                "a token is required (auth.mode is jwt): pass ?token= or "
                                "Socket.IO's auth.token"};
  auto now = wall_ms() / 1000;
  std::string detail;
  auto claims = auth.verifier->verify(token, now, &detail);
  if (!claims)
    return protocol::error_info{
      error_code::unauthorized,
      "the token was refused: " + std::string(protocol::to_string(claims.error())) +
        (detail.empty() ? std::string{} : " (" + detail + ")")};
  // A token without role (and without permissions) takes auth.defaultRole, else viewer.
  std::string role_name = !claims->role.empty() || claims->permissions ? claims->role
                          : !auth.default_role.empty()
                            ? auth.default_role
                            : std::string(protocol::default_token_role);
  auto perms = protocol::resolve_permissions(role_name, claims->permissions, auth.roles);
  if (!perms)
    return protocol::error_info{error_code::forbidden,
                                "the token's role '" + role_name +
                                  "' is unknown (known: " + known_roles(auth.roles) + ")"};
  t.grant.subject = claims->sub;
  t.grant.role = role_name;
  t.grant.permissions = perms->bits();
  t.name = claims->name;
  t.all_rooms = claims->covers_all_rooms();
  if (!t.all_rooms)
    t.rooms = claims->rooms;
  return t;
}

protocol::error_info room_not_covered(std::string_view room) {
  return {protocol::error_code::forbidden,
          "the token does not cover room '" + std::string(room) + "'"};
}

} // namespace chorus::actors
