// The room's journal (actors/room_journal.hpp): the webhook events of a room's life.
#include "actors/room_journal.hpp"
#include "actors_room_fixture.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace chorus::actors;
using namespace chorus::actors::rooms;
using namespace chorus::actors::rooms::testing;

namespace {

// Keeps what the room emits.
struct kept_events : event_sink {
  std::vector<ops_event> events;
  void emit(ops_event ev) noexcept override { events.push_back(std::move(ev)); }
};

} // namespace

TEST_CASE("room journal: joined, left and started carry the room, the node and the person") {
  auto st = make_room();
  auto& e = add(st, "p1", "teacher");
  e.user_id = "alice";
  auto joined = participant_joined(st, e);
  CHECK(joined.type == "participant-joined");
  CHECK(joined.room_id == "class-1");
  CHECK(joined.node_id == "node-a");
  CHECK(joined.user_id == "alice");
  CHECK(joined.role == "teacher");
  CHECK(joined.at_ms == 2'000);
  CHECK(joined.participants == 1);
  auto left = participant_left(st, e, 5'000, 0, "kicked");
  CHECK(left.type == "participant-left");
  CHECK(left.duration_ms == 3'000);
  CHECK(left.participants == 0);
  CHECK(left.reason == "kicked");
  e.joined_ms = 0;
  CHECK(participant_left(st, e, 5'000, 0, "left").duration_ms == -1); // join time unknown
  auto started = room_started(st, "moved");
  CHECK(started.type == "room-started");
  CHECK(started.at_ms == 1'000);
  CHECK(started.reason == "moved");
}

TEST_CASE("room journal: why a participant leaves") {
  auto st = make_room();
  CHECK(departure_reason(st) == "left");
  st.ctx->counters->stopping = true;
  CHECK(departure_reason(st) == "room-closed");
  st.leave_reason = "blocked";
  CHECK(departure_reason(st) == "blocked");
}

TEST_CASE("room journal: a room's end tells of each one still there, then of the end") {
  auto ctx = small_node();
  auto sink = std::make_shared<kept_events>();
  ctx->events = sink;
  {
    auto st = make_room(ctx);
    add(st, "p1");
    add(st, "p2");
    st.start_announced = true;
    ctx->counters->peers = 2;
  }
  REQUIRE(sink->events.size() == 3);
  CHECK(sink->events[0].type == "participant-left");
  CHECK(sink->events[0].participants == 1);
  CHECK(sink->events[0].reason == "room-closed");
  CHECK(sink->events[1].participants == 0);
  CHECK(sink->events[2].type == "room-finished");
  CHECK(ctx->counters->peers == 0);
  sink->events.clear();
  {
    auto st = make_room(ctx);
    add(st, "p1");
    st.start_announced = true;
    st.moved = true; // handed over: it goes on elsewhere
    ctx->counters->peers = 1;
  }
  CHECK(sink->events.empty());
  CHECK(ctx->counters->peers == 0);
}
