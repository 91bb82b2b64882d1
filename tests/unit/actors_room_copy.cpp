// Re-homing's copies (actors/room_copy.hpp): what another node holds of a room and of each
// entry, and the rebuild from them.
#include "actors/room_copy.hpp"
#include "actors_room_fixture.hpp"

#include <doctest/doctest.h>

// The fixtures name only the fields a case needs (designated initializers); GCC 12 still
// counts the others as missing.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

using namespace chorus::actors;
using namespace chorus::actors::rooms;
using namespace chorus::actors::rooms::testing;

TEST_CASE("room copy: an entry survives its snapshot") {
  auto st = make_room();
  auto& e = add(st, "p1", "moderator", "sub-1");
  e.user_id = "alice";
  e.image_url = "https://img/alice";
  e.muted = chorus::protocol::publish_kinds::video;
  e.publisher = true;
  e.chat_disabled = true;
  e.co_host = true;
  e.own_audio_muted = false;
  auto back = entry_of(snapshot_of(e));
  CHECK(back.id == "p1");
  CHECK(back.name == e.name);
  CHECK(back.user_id == "alice");
  CHECK(back.image_url == e.image_url);
  CHECK(back.grant.subject == "sub-1");
  CHECK(back.grant.role == "moderator");
  CHECK(back.grant.permissions == e.grant.permissions);
  CHECK(back.muted == e.muted);
  CHECK(back.publisher);
  CHECK(back.chat_disabled);
  CHECK(back.co_host);
  REQUIRE(back.own_audio_muted);
  CHECK_FALSE(*back.own_audio_muted);
  CHECK_FALSE(back.own_video_paused); // not said: stays unsaid
  CHECK(back.joined_ms == e.joined_ms);
  CHECK(copy_key(back) == copy_key(e));
}

TEST_CASE("room copy: the copy key changes with what the copy holds, not with the rest") {
  auto st = make_room();
  auto& e = add(st, "p1");
  const auto before = copy_key(e);
  e.audio_muted = false; // follows the producers, rebuilt from them: not in the copy
  CHECK(copy_key(e) == before);
  struct row {
    const char* name;
    void (*change)(peer_entry&);
  };
  const row rows[] = {
    {"name", [](peer_entry& x) { x.name = "other"; }},
    {"role", [](peer_entry& x) { x.grant.role = "teacher"; }},
    {"permissions", [](peer_entry& x) { x.grant.permissions = 0; }},
    {"moderator's mute", [](peer_entry& x) { x.muted = 1; }},
    {"co-host", [](peer_entry& x) { x.co_host = true; }},
    {"own video state", [](peer_entry& x) { x.own_video_paused = true; }},
  };
  for (auto& r : rows) {
    CAPTURE(r.name);
    auto changed = e;
    r.change(changed);
    CHECK(copy_key(changed) != before);
  }
}

TEST_CASE("room copy: the room-wide state, applied once per newer version") {
  auto st = make_room();
  add(st, "p1").user_id = "alice";
  st.creator = "alice";
  st.hosts = {"bob"};
  st.locked = true;
  st.blocks.push_back({"", "x", "x", "spam", "alice", 0});
  st.version = 4;
  auto copy = room_copy(st);
  CHECK(copy.version == 4);
  REQUIRE(copy.roster.size() == 1);
  CHECK(copy.roster[0].public_id == "alice");

  auto rebuilt = make_room();
  CHECK(apply_room_copy(rebuilt, copy));
  CHECK(rebuilt.creator == "alice");
  CHECK(rebuilt.hosts == st.hosts);
  CHECK(rebuilt.locked);
  CHECK(rebuilt.blocks == st.blocks);
  CHECK(rebuilt.version == 4);
  rebuilt.locked = false;
  CHECK_FALSE(apply_room_copy(rebuilt, copy)); // not newer: what changed since stays
  CHECK_FALSE(rebuilt.locked);
  copy.version = 5;
  CHECK(apply_room_copy(rebuilt, copy));
  CHECK(rebuilt.locked);
  CHECK_FALSE(apply_room_copy(rebuilt, room_snapshot{})); // no room in it
}

TEST_CASE("room copy: changed when its content or its holders change") {
  auto st = make_room();
  auto a = room_copy(st);
  auto b = a;
  CHECK_FALSE(copy_changed(a, b, {}, {}));
  b.screens_locked = true;
  CHECK(copy_changed(a, b, {}, {}));
  b = a;
  b.version = 9; // the version alone is no change
  CHECK_FALSE(copy_changed(a, b, {}, {}));
}

TEST_CASE("room copy: the live class goes along and is restored beside what came since") {
  auto st = make_room();
  st.hands.raise("p1", "alice", "Alice", 100);
  st.chat.add({.id = "m1", .from = "p1", .user_id = "alice", .name = "Alice", .text = "hello", .at = 200});
  st.next_chat_id = 2;
  std::string error;
  auto poll = chorus::protocol::poll::make("p1", "2+2?", {"3", "4"}, false, false, "t", 300,
                                           error);
  REQUIRE(poll);
  poll->vote("alice", {1});
  st.polls.push_back(std::move(*poll));
  st.next_poll_id = 2;
  st.applied.add(41, "p1", {"messageId", "m1"}, 200);
  auto cls = class_copy(st, 1000);
  CHECK(cls.present);
  REQUIRE(cls.applied.size() == 1);

  auto rebuilt = make_room();
  rebuilt.chat.add(
    {.id = "m7", .from = "p2", .user_id = "bob", .name = "Bob", .text = "said here since", .at = 400});
  rebuilt.next_chat_id = 1;
  restore_class(rebuilt, cls, 2000);
  CHECK(rebuilt.class_restored);
  // The chat message sent again by its session is known as applied, with its answer.
  auto again = rebuilt.applied.find(41, "p1", 2000);
  REQUIRE(again);
  CHECK(again->id == "m1");
  CHECK(rebuilt.hands.contains("p1"));
  auto chat = rebuilt.chat.items();
  REQUIRE(chat.size() == 2);
  CHECK(chat[0].id == "m1"); // the old history first
  CHECK(chat[1].id == "m7");
  CHECK(rebuilt.next_chat_id == 2);
  REQUIRE(rebuilt.polls.size() == 1);
  CHECK(rebuilt.polls[0].choices_of("alice") == std::vector<uint32_t>{1});
  CHECK(rebuilt.next_poll_id == 2);
}
