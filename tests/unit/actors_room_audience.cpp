// The room's audience (actors/room_audience.hpp): who is in it, when a room has one, what
// each change announces, and the moderators' pages.
#include "actors/room_audience.hpp"
#include "actors/room_roster.hpp"
#include "actors_room_fixture.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace chorus::actors;
using namespace chorus::actors::rooms;
using namespace chorus::actors::rooms::testing;

namespace {

uint16_t viewer_permissions() {
  chorus::protocol::permission_set s;
  s.add(chorus::protocol::permission::subscribe);
  return s.bits();
}

uint16_t listener_permissions() { // a student as configured by default: subscribe and chat
  chorus::protocol::permission_set s;
  s.add(chorus::protocol::permission::subscribe);
  s.add(chorus::protocol::permission::chat);
  return s.bits();
}

// Joins `id` with `permissions` as the room does: appended, then decided.
audience_change join(room_state& st, const std::string& id, uint16_t permissions,
                     uint32_t limit, std::string role = "viewer") {
  auto& e = add(st, id, role);
  e.grant.permissions = permissions;
  return audience_join(st, st.peers.back(), limit);
}

audience_change leave(room_state& st, const std::string& id, uint32_t limit) {
  for (auto it = st.peers.begin(); it != st.peers.end(); ++it)
    if (it->id == id) {
      auto e = std::move(*it);
      st.peers.erase(it);
      return audience_leave(st, e, limit);
    }
  FAIL("no participant " << id);
  return {};
}

std::size_t listed(const room_state& st) { return participant_list(st).participants.size(); }

} // namespace

TEST_CASE("room audience: who may be in it") {
  struct row {
    const char* name;
    const char* role;
    uint16_t permissions;
    bool co_host;
    bool eligible;
  };
  const row rows[] = {
    {"a viewer (subscribe only)", "viewer", viewer_permissions(), false, true},
    {"a student who may not publish", "student", listener_permissions(), false, true},
    {"a student allowed to publish", "student", student_permissions(), false, false},
    {"a teacher", "teacher", all_permissions(), false, false},
    {"a viewer made co-host", "viewer", viewer_permissions(), true, false},
    {"a moderator without publish permissions", "moderator", viewer_permissions(), false, false},
  };
  for (auto& r : rows) {
    CAPTURE(r.name);
    auto st = make_room();
    auto& e = add(st, "p1", r.role);
    e.grant.permissions = r.permissions;
    e.co_host = r.co_host;
    CHECK(audience_eligible(st, e) == r.eligible);
  }
}

TEST_CASE("room audience: under the limit every join and departure changes the list") {
  auto st = make_room(small_node(100));
  add(st, "teacher", "teacher");
  CHECK(audience_join(st, st.peers.back(), 3).listed);
  for (std::string id : {"v1", "v2", "v3"}) {
    auto c = join(st, id, viewer_permissions(), 3);
    CHECK(c.listed);
    CHECK_FALSE(c.audience);
  }
  CHECK_FALSE(st.audience.active);
  CHECK(st.audience.eligible == 3);
  CHECK(st.audience.count == 0);
  CHECK(listed(st) == 4);
  auto c = leave(st, "v2", 3);
  CHECK(c.listed);
  CHECK_FALSE(c.audience);
}

TEST_CASE("room audience: one more than the limit makes all of them the audience") {
  auto st = make_room(small_node(100));
  add(st, "teacher", "teacher");
  audience_join(st, st.peers.back(), 3);
  for (std::string id : {"v1", "v2", "v3"})
    join(st, id, viewer_permissions(), 3);
  auto c = join(st, "v4", viewer_permissions(), 3);
  CHECK(c.listed);   // the three listed ones leave the list
  CHECK(c.audience);
  CHECK(st.audience.active);
  CHECK(st.audience.count == 4);
  CHECK(listed(st) == 1);
  CHECK(participant_list(st).participants[0].id == "teacher");
  auto ev = take_audience_update(st);
  CHECK(ev.count == 4);
  CHECK(ev.joined == 4);
  CHECK(ev.left == 0);
  CHECK(take_audience_update(st).joined == 0); // counted once

  SUBCASE("then a join or a departure of the audience only counts") {
    auto j = join(st, "v5", listener_permissions(), 3, "student");
    CHECK_FALSE(j.listed);
    CHECK(j.audience);
    auto l = leave(st, "v1", 3);
    CHECK_FALSE(l.listed);
    CHECK(l.audience);
    auto u = take_audience_update(st);
    CHECK(u.count == 4);
    CHECK(u.joined == 1);
    CHECK(u.left == 1);
  }
  SUBCASE("a participant who may publish is listed as before") {
    auto j = join(st, "s1", student_permissions(), 3, "student");
    CHECK(j.listed);
    CHECK_FALSE(j.audience);
    CHECK(listed(st) == 2);
  }
  SUBCASE("allowed to publish: on stage; taken back: in the audience again") {
    find_peer(st, "v2")->grant.permissions = student_permissions();
    auto on = audience_review(st, 3);
    CHECK(on.listed);
    CHECK(on.audience);
    CHECK_FALSE(find_peer(st, "v2")->in_audience);
    CHECK(listed(st) == 2);
    CHECK(st.audience.count == 3);
    // 3 eligible is above half the limit: the room keeps its audience.
    CHECK(st.audience.active);
    find_peer(st, "v2")->grant.permissions = viewer_permissions();
    auto off = audience_review(st, 3);
    CHECK(off.listed);
    CHECK(find_peer(st, "v2")->in_audience);
    CHECK(listed(st) == 1);
  }
  SUBCASE("a review with nothing changed announces nothing") {
    auto c = audience_review(st, 3);
    CHECK_FALSE(c.listed);
    CHECK_FALSE(c.audience);
  }
}

TEST_CASE("room audience: listed again once down to half the limit") {
  auto st = make_room(small_node(100));
  for (std::string id : {"v1", "v2", "v3", "v4", "v5"})
    join(st, id, viewer_permissions(), 4);
  REQUIRE(st.audience.active);
  REQUIRE(st.audience.count == 5);
  // 4 and 3 eligible: above half of 4, still an audience.
  CHECK_FALSE(leave(st, "v1", 4).listed);
  CHECK_FALSE(leave(st, "v2", 4).listed);
  CHECK(st.audience.active);
  auto c = leave(st, "v3", 4); // 2 left: half the limit
  CHECK(c.listed);
  CHECK(c.audience);
  CHECK_FALSE(st.audience.active);
  CHECK(st.audience.count == 0);
  CHECK(listed(st) == 2);
  auto ev = take_audience_update(st);
  CHECK(ev.count == 0);
  CHECK(ev.left == 5); // three departed, two listed again
}

TEST_CASE("room audience: a limit of 0 makes every eligible participant the audience") {
  auto st = make_room(small_node(100));
  auto c = join(st, "v1", viewer_permissions(), 0);
  CHECK(c.audience);
  CHECK(find_peer(st, "v1")->in_audience);
  CHECK(listed(st) == 0);
}

TEST_CASE("room audience: moderators page everyone, filtered") {
  auto st = make_room(small_node(100));
  add(st, "teacher", "teacher");
  audience_join(st, st.peers.back(), 2);
  for (int i = 0; i < 6; ++i)
    join(st, "v" + std::to_string(i), viewer_permissions(), 2);
  find_peer(st, "v3")->name = "Ada Lovelace";
  st.hands.raise("v3", "v3", "Ada Lovelace", 5'000);

  struct row {
    const char* name;
    uint32_t offset, limit;
    const char* filter;
    uint32_t total, audience;
    std::vector<std::string> ids;
  };
  const row rows[] = {
    {"the first page", 0, 3, "", 7, 6, {"teacher", "v0", "v1"}},
    {"the second page", 3, 3, "", 7, 6, {"v2", "v3", "v4"}},
    {"the last, short page", 6, 3, "", 7, 6, {"v5"}},
    {"past the end", 9, 3, "", 7, 6, {}},
    {"by name, any case", 0, 10, "lovelace", 1, 1, {"v3"}},
    {"by user id", 0, 10, "TEACH", 1, 0, {"teacher"}},
    {"no match", 0, 10, "zed", 0, 0, {}},
  };
  for (auto& r : rows) {
    CAPTURE(r.name);
    chorus::protocol::get_participants_request q;
    q.offset = r.offset;
    q.limit = r.limit;
    q.filter = r.filter;
    auto page = participants_page(st, q);
    CHECK(page.total == r.total);
    CHECK(page.audience == r.audience);
    CHECK(page.offset == r.offset);
    std::vector<std::string> ids;
    for (auto& p : page.participants)
      ids.push_back(p.id);
    CHECK(ids == r.ids);
  }
  chorus::protocol::get_participants_request q;
  q.filter = "ada";
  auto page = participants_page(st, q);
  REQUIRE(page.participants.size() == 1);
  CHECK(page.participants[0].in_audience);
  CHECK(page.participants[0].hand_raised);
  q.filter = "teacher";
  CHECK_FALSE(participants_page(st, q).participants.at(0).in_audience);
}
