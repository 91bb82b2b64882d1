// An actor system for the tests that spawn rooms and join them: sessions are scoped
// actors, joined with a grant by role; next() waits (bounded) for a message of a type.
#pragma once

#include "actors/messages.hpp"
#include "actors/room.hpp"
#include "protocol/permissions.hpp"

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace chorus::actors::testing {

inline constexpr auto bound = std::chrono::seconds(5); // every wait ends by then

struct room_system {
  caf::actor_system_config cfg;
  std::optional<caf::actor_system> sys;
  std::shared_ptr<node_context> ctx = std::make_shared<node_context>();
  room_system() {
    register_message_types(cfg);
    cfg.set("scheduler.max-threads", 2);
    sys.emplace(cfg);
    ctx->settings.node_id = "node-a";
  }
};

inline join_command joiner(const caf::scoped_actor& session, std::string peer_id,
                           std::string role) {
  join_command cmd;
  cmd.room_id = "class-1";
  cmd.peer_id = peer_id;
  cmd.name = "name of " + peer_id;
  cmd.session = caf::actor_cast<caf::actor>(session);
  auto set = protocol::permission_set::all();
  if (role == "student") {
    set.remove(protocol::permission::moderate);
    set.remove(protocol::permission::record);
  }
  cmd.grant = {"sub-" + peer_id, role, set.bits()};
  return cmd;
}

inline join_result join(const caf::scoped_actor& session, const caf::actor& room,
                        join_command cmd) {
  join_result out;
  session->request(room, bound, std::move(cmd))
    .receive([&](join_result& r) { out = std::move(r); },
             [](caf::error& e) { FAIL("join refused: " << to_string(e)); });
  return out;
}

// The next message of type T that `pred` accepts (others of that type are passed over;
// messages of other types stay in the mailbox).
template <class T, class Pred>
std::optional<T> next(const caf::scoped_actor& self, Pred pred) {
  auto end = std::chrono::steady_clock::now() + bound;
  std::optional<T> got;
  while (!got && std::chrono::steady_clock::now() < end) {
    bool timed_out = false;
    self->receive([&](T& x) {
                    if (pred(x))
                      got = std::move(x);
                  },
                  caf::after(std::chrono::duration_cast<std::chrono::milliseconds>(
                    end - std::chrono::steady_clock::now())) >>
                    [&] { timed_out = true; });
    if (timed_out)
      break;
  }
  return got;
}

template <class T>
std::optional<T> next(const caf::scoped_actor& self) {
  return next<T>(self, [](const T&) { return true; });
}

} // namespace chorus::actors::testing
