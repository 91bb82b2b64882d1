// Admission of a connection: what its token says (auth.mode jwt) or, with mode none, the
// role it chose or the configured default. Used by the WebSocket gateway before the
// upgrade (`?token=` on /socket) and by the session at a Socket.IO CONNECT (`auth.token`,
// or `token` in the handshake query). Pure apart from reading the clock.
#pragma once

#include "actors/context.hpp"
#include "actors/messages.hpp"
#include "common/result.hpp"
#include "protocol/errors.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace chorus::actors {

struct admission_ticket {
  actors::grant grant;
  std::string name; // the token's `name` claim ("" without)
  bool all_rooms = true;
  std::vector<std::string> rooms; // with all_rooms false: the rooms the token covers

  bool covers(std::string_view room) const;
};

// `token`: the connection's token ("" when it gave none); `role`: the role it asks for
// (mode none only). Errors: unauthorized (mode jwt: no token, a bad or expired one; the
// message says which), invalid-field (mode none: an unknown role), forbidden (a token whose
// role is unknown and that carries no permissions claim).
value_or_error<admission_ticket, protocol::error_info>
admit(const auth_settings& auth, std::string_view token, std::string_view role);

// The refusal of a request for a room the ticket does not cover.
protocol::error_info room_not_covered(std::string_view room);

} // namespace chorus::actors
