// The room's roster (actors/room_roster.hpp): ranks, the participant list's flags, the
// flags that follow the producers, identities, and the answers built from the roster.
#include "actors/room_roster.hpp"
#include "actors_room_fixture.hpp"

#include <doctest/doctest.h>

using namespace chorus::actors;
using namespace chorus::actors::rooms;
using namespace chorus::actors::rooms::testing;
using chorus::rtp::media_kind;

TEST_CASE("room roster: ranks, by creator, teacher, made host, co-host and moderator") {
  struct row {
    const char* name;
    const char* role;
    bool creator, made_host, co_host;
    int rank;
  };
  const row rows[] = {
    {"a student", "student", false, false, false, 0},
    {"the creator", "student", true, false, false, 2},
    {"a teacher", "teacher", false, false, false, 2},
    {"one made host", "student", false, true, false, 2},
    {"one made co-host", "student", false, false, true, 1},
    {"a moderator", "moderator", false, false, false, 1},
    {"a teacher made co-host stays host", "teacher", false, false, true, 2},
  };
  for (auto& r : rows) {
    CAPTURE(r.name);
    auto st = make_room();
    auto& e = add(st, "p1", r.role);
    e.user_id = "u1";
    if (r.creator)
      st.creator = "u1";
    if (r.made_host)
      st.hosts.push_back("u1");
    e.co_host = r.co_host;
    CHECK(rank_of(st, e) == r.rank);
    CHECK(is_host(st, e) == (r.rank == 2));
    CHECK(is_co_host(st, e) == (r.rank == 1));
  }
}

TEST_CASE("room roster: the participant list shows each one's flags") {
  auto st = make_room();
  auto& t = add(st, "teacher", "teacher");
  t.own_audio_muted = false; // says unmuted, whatever its producers say
  auto& s = add(st, "student");
  s.muted = chorus::protocol::publish_kinds::audio;
  st.screens_locked = true;
  st.producers.push_back(producer("v1", "student", media_kind::video, false, true));
  update_flags(st, s);
  auto list = participant_list(st).participants;
  REQUIRE(list.size() == 2);
  CHECK(list[0].id == "teacher");
  CHECK(list[0].is_host);
  CHECK_FALSE(list[0].is_audio_muted);
  CHECK(list[0].is_video_paused);
  CHECK_FALSE(list[0].screen_share_locked); // the lock is for participants only
  CHECK(list[1].id == "student");
  CHECK(list[1].user_id == "student"); // no user id: the peer id
  CHECK(list[1].audio_locked);
  CHECK(list[1].screen_share_locked);
  CHECK(list[1].is_screen_sharing);
  CHECK_FALSE(list[1].is_video_paused);
}

TEST_CASE("room roster: isAudioMuted and isVideoPaused follow the unpaused producers") {
  auto st = make_room();
  auto& e = add(st, "p1");
  CHECK_FALSE(update_flags(st, e)); // muted and paused from the start
  st.producers.push_back(producer("a1", "p1", media_kind::audio));
  CHECK(update_flags(st, e));
  CHECK_FALSE(e.audio_muted);
  CHECK(e.video_paused);
  st.producers.back().paused = true;
  CHECK(update_flags(st, e));
  CHECK(e.audio_muted);
  st.producers.push_back(producer("v1", "other", media_kind::video));
  CHECK_FALSE(update_flags(st, e)); // another's producer changes nothing
}

TEST_CASE("room roster: identities, the first creator claim, and changes reported") {
  auto st = make_room();
  auto& a = add(st, "a");
  CHECK(apply_identity(st, a, identity{"ua", "https://img/a", true}));
  CHECK(st.creator == "ua");
  CHECK(a.public_id() == "ua");
  CHECK_FALSE(apply_identity(st, a, identity{"ua", "https://img/a", true})); // no change
  auto& b = add(st, "b");
  CHECK(apply_identity(st, b, identity{"ub", {}, true}));
  CHECK(st.creator == "ua"); // a second claim does not take the room
}

TEST_CASE("room roster: a moderation target by peer id, else by user id") {
  auto st = make_room();
  add(st, "p1").user_id = "alice";
  add(st, "alice"); // a peer id that is another's user id: the peer id wins
  CHECK(find_target(st, "alice")->id == "alice");
  CHECK(find_target(st, "p1")->id == "p1");
  st.peers.pop_back();
  CHECK(find_target(st, "alice")->id == "p1");
  CHECK(find_target(st, "nobody") == nullptr);
}

TEST_CASE("room roster: room info shows the block list to moderators only") {
  auto st = make_room();
  add(st, "t", "teacher");
  add(st, "s");
  const auto& t = st.peers[0]; // taken after both are added: an add moves the others
  const auto& s = st.peers[1];
  st.blocks.push_back({"sub", "x", "ux", "spam", "t", 0});
  st.chat_disabled = true;
  auto for_teacher = room_info(st, t);
  CHECK(for_teacher.has_blocked);
  REQUIRE(for_teacher.blocked.size() == 1);
  CHECK(for_teacher.chat_enabled); // moderators chat in a room with chat disabled
  auto for_student = room_info(st, s);
  CHECK_FALSE(for_student.has_blocked);
  CHECK(for_student.blocked.empty());
  CHECK_FALSE(for_student.chat_enabled);
  CHECK(for_student.participants.size() == 2);
}

TEST_CASE("room roster: closed events and answers name the producing participant") {
  auto st = make_room();
  add(st, "p1").user_id = "alice";
  auto p = producer("a1", "p1", media_kind::audio);
  CHECK(closed_event(st, p).user_id == "alice");
  auto owned = with_owner(st, p);
  CHECK(owned.user_id == "alice");
  CHECK(owned.user_name == "name of p1");
  st.producers.push_back(p);
  st.active_speaker = "a1";
  REQUIRE(speaker_event(st));
  CHECK(speaker_event(st)->user_id == "alice");
  st.producers.clear(); // no longer listed: no speaker to name
  CHECK_FALSE(speaker_event(st));
}
