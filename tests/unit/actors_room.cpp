// The room actor in a real actor system: sessions (scoped actors here) join, the room
// spawns their peer actors, tells everyone of the others, carries the live class, and acts
// for moderators; its last departure tells the node the room is idle.
#include "actors/room_state.hpp"

#include "actors_room_system.hpp"

#include <optional>
#include <string>

using namespace chorus;
using namespace chorus::actors;
using namespace chorus::actors::testing;

TEST_CASE("room actor: joins are told to everyone, the class runs, a kick ends a session") {
  room_system rs;
  caf::scoped_actor node{*rs.sys};
  auto room = spawn_room(*rs.sys, caf::actor_cast<caf::actor>(node), "class-1", rs.ctx, nullptr);
  {
    caf::scoped_actor teacher{*rs.sys};
    caf::scoped_actor student{*rs.sys};
    auto t = join(teacher, room, joiner(teacher, "t", "teacher"));
    CHECK(t.is_host);
    CHECK(t.peer); // the room spawned the peer actor
    auto s = join(student, room, joiner(student, "s", "student"));
    CHECK_FALSE(s.is_host);
    CHECK(rs.ctx->counters->peers == 2);

    // The list goes out coalesced; the teacher sees both.
    auto list = next<protocol::participant_list_update_event>(
      teacher, [](const auto& ev) { return ev.participants.size() == 2; });
    REQUIRE(list);
    CHECK(list->participants[0].is_host);
    CHECK_FALSE(list->participants[1].is_host);

    // A joining peer id that is live on another connection, without its subject: refused.
    {
      caf::scoped_actor intruder{*rs.sys};
      auto cmd = joiner(intruder, "s", "student");
      cmd.grant.subject = "someone-else";
      bool refused = false;
      intruder->request(room, bound, std::move(cmd))
        .receive([](join_result&) {},
                 [&](caf::error& e) {
                   refused = to_error_info(e).code == protocol::error_code::id_taken;
                 });
      CHECK(refused);
    }

    // A chat message reaches the teacher.
    class_command chat;
    chat.peer_id = "s";
    chat.request.action = protocol::class_action::chat;
    chat.request.text = "hello";
    std::string message_id;
    student->request(room, bound, chat)
      .receive([&](protocol::class_reply& r) { message_id = r.id; },
               [](caf::error& e) { FAIL(to_string(e)); });
    CHECK_FALSE(message_id.empty());
    auto heard = next<protocol::class_event>(teacher, [](const protocol::class_event& ev) {
      return ev.kind == protocol::class_event_kind::chat_message;
    });
    REQUIRE(heard);
    REQUIRE(heard->chat.size() == 1);
    CHECK(heard->chat[0].text == "hello");

    // The student may not kick; the teacher may.
    moderation_command kick;
    kick.issuer = "s";
    kick.request.action = protocol::moderation_action::kick;
    kick.request.peer_id = "t";
    bool forbidden = false;
    student->request(room, bound, kick)
      .receive([](protocol::empty_reply&) {},
               [&](caf::error& e) {
                 forbidden = to_error_info(e).code == protocol::error_code::forbidden;
               });
    CHECK(forbidden);
    kick.issuer = "t";
    kick.request.peer_id = "s";
    kick.request.reason = "testing";
    bool done = false;
    teacher->request(room, bound, kick)
      .receive([&](protocol::empty_reply&) { done = true; },
               [](caf::error& e) { FAIL(to_string(e)); });
    CHECK(done);
    auto kicked = next<protocol::kicked_event>(student);
    REQUIRE(kicked);
    CHECK(kicked->reason == "testing");
    auto closed = next<close_session>(student);
    REQUIRE(closed);
    CHECK(closed->code == close_kicked);
    auto left = next<protocol::participant_left_event>(teacher);
    REQUIRE(left);
    CHECK(left->peer_id == "s");
    CHECK(rs.ctx->counters->peers == 1);
  } // the teacher's session ends: its departure empties the room
  auto idle = next<room_idle>(node);
  REQUIRE(idle);
  CHECK(idle->room_id == "class-1");
  CHECK(rs.ctx->counters->peers == 0);
  caf::anon_send_exit(room, caf::exit_reason::user_shutdown);
}

TEST_CASE("room actor: classroom.chatMaxBytes bounds a chat message") {
  room_system rs;
  rs.ctx->classroom.chat_max_bytes = 8; // the option, as the node hands it to its rooms
  caf::scoped_actor node{*rs.sys};
  auto room = spawn_room(*rs.sys, caf::actor_cast<caf::actor>(node), "class-1", rs.ctx, nullptr);
  {
    caf::scoped_actor student{*rs.sys};
    join(student, room, joiner(student, "s", "student"));
    auto say = [&](std::string text) -> std::optional<protocol::error_info> {
      class_command chat;
      chat.peer_id = "s";
      chat.request.action = protocol::class_action::chat;
      chat.request.text = std::move(text);
      std::optional<protocol::error_info> refusal;
      student->request(room, bound, chat)
        .receive([](protocol::class_reply&) {},
                 [&](caf::error& e) { refusal = to_error_info(e); });
      return refusal;
    };
    CHECK_FALSE(say("12345678")); // at the bound
    auto longer = say("123456789");
    REQUIRE(longer);
    CHECK(longer->code == protocol::error_code::invalid_field);
    CHECK(longer->message == "text is longer than 8 bytes");
  }
  caf::anon_send_exit(room, caf::exit_reason::user_shutdown);
}

TEST_CASE("room actor: an exit request from outside ends the room and, through the links, "
          "its peers") {
  room_system rs;
  caf::scoped_actor node{*rs.sys}, session{*rs.sys}, watcher{*rs.sys};
  auto room = spawn_room(*rs.sys, caf::actor_cast<caf::actor>(node), "class-1", rs.ctx, nullptr);
  auto peer = join(session, room, joiner(session, "s", "student")).peer;
  REQUIRE(peer);
  watcher->monitor(room);
  watcher->monitor(peer);
  // anon_send_exit: CAF 0.17 names the room itself as the request's source.
  caf::anon_send_exit(room, caf::exit_reason::user_shutdown);
  int down = 0;
  for (int i = 0; i < 2; ++i)
    watcher->receive([&](caf::down_msg& d) { down += d.reason == caf::exit_reason::user_shutdown; },
                     caf::after(bound) >> [] {});
  CHECK(down == 2);
}
