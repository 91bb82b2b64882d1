// The room's rules (actors/room_rules.hpp): who may join, and who may act on whom with the
// host controls.
#include "actors/room_rules.hpp"
#include "actors_room_fixture.hpp"

#include <doctest/doctest.h>

using namespace chorus::actors;
using namespace chorus::actors::rooms;
using namespace chorus::actors::rooms::testing;
using chorus::protocol::error_code;
using chorus::protocol::host_action;

namespace {

join_command newcomer(std::string peer_id, std::string user_id = {}, std::string subject = {},
                    uint16_t permissions = student_permissions()) {
  join_command cmd;
  cmd.room_id = "class-1";
  cmd.peer_id = std::move(peer_id);
  cmd.identity.user_id = std::move(user_id);
  cmd.grant.subject = std::move(subject);
  cmd.grant.permissions = permissions;
  return cmd;
}

// The refusal's protocol code, or none.
std::optional<error_code> code_of(const std::optional<caf::error>& e) {
  if (!e)
    return std::nullopt;
  return to_error_info(*e).code;
}

} // namespace

TEST_CASE("room rules: admission") {
  struct row {
    const char* name;
    join_command cmd;
    std::optional<error_code> want;
  };
  const row rows[] = {
    {"a newcomer", newcomer("new"), std::nullopt},
    {"a blocked peer id", newcomer("banned"), error_code::blocked},
    {"a blocked user id", newcomer("x", "banned-user"), error_code::blocked},
    {"a blocked subject under another id", newcomer("y", {}, "banned-sub"), error_code::blocked},
    {"a live peer id without a token", newcomer("p1"), error_code::id_taken},
    {"a live peer id with another subject", newcomer("p1", {}, "other"), error_code::id_taken},
    {"a live peer id with the same subject: a reconnect", newcomer("p1", {}, "sub-1"),
     std::nullopt},
    {"a live user id under another peer id", newcomer("p9", "alice"), error_code::id_taken},
    {"a live user id with the same subject", newcomer("p9", "alice", "sub-1"), std::nullopt},
  };
  for (auto& r : rows) {
    CAPTURE(r.name);
    auto st = make_room();
    add(st, "p1", "student", "sub-1").user_id = "alice";
    st.blocks.push_back({"banned-sub", "banned", "banned-user", "", "t", 0});
    CHECK(code_of(admission(st, r.cmd, 5'000)) == r.want);
  }
}

TEST_CASE("room rules: a locked room admits moderators only; a full one nobody new") {
  auto st = make_room(small_node(2));
  add(st, "p1");
  st.locked = true;
  CHECK(code_of(admission(st, newcomer("s"), 0)) == error_code::room_locked);
  CHECK_FALSE(admission(st, newcomer("m", {}, {}, all_permissions()), 0));
  st.locked = false;
  add(st, "p2");
  CHECK(code_of(admission(st, newcomer("s"), 0)) == error_code::room_full);
  CHECK_FALSE(admission(st, newcomer("p2"), 0) == std::nullopt); // taken, not a reconnect
}

TEST_CASE("room rules: a block ends at its time and is dropped then") {
  auto st = make_room();
  st.blocks.push_back({"", "p1", "p1", "", "t", 10'000});
  CHECK(find_block(st, "", "p1", "", 9'999) != nullptr);
  CHECK(find_block(st, "", "p1", "", 10'000) == nullptr);
  CHECK(st.blocks.empty());
}

TEST_CASE("room rules: host controls by rank") {
  struct row {
    const char* name;
    host_action action;
    int actor, target;
    bool self;
    std::optional<error_code> want;
  };
  const row rows[] = {
    {"a host mutes a participant", host_action::toggle_audio, 2, 0, false, std::nullopt},
    {"a host removes a co-host", host_action::remove, 2, 1, false, std::nullopt},
    {"a host does not act on a host", host_action::remove, 2, 2, false, error_code::forbidden},
    {"a co-host mutes a participant", host_action::toggle_audio, 1, 0, false, std::nullopt},
    {"a co-host does not act on a co-host", host_action::toggle_video, 1, 1, false,
     error_code::forbidden},
    {"a co-host makes no co-host", host_action::make_cohost, 1, 0, false, error_code::forbidden},
    {"a host makes a co-host", host_action::make_cohost, 2, 0, false, std::nullopt},
    {"a host makes a host of a host", host_action::make_host, 2, 2, false, std::nullopt},
    {"nobody aims at itself", host_action::remove_host, 2, 2, true, error_code::invalid_field},
  };
  for (auto& r : rows) {
    CAPTURE(r.name);
    CHECK(code_of(host_control_refusal(r.action, r.actor, r.target, r.self)) == r.want);
  }
}
