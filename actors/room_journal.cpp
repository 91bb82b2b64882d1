#include "actors/room_journal.hpp"

#include "actors/clock.hpp"

#include <utility>

namespace chorus::actors::rooms {

namespace {

ops_event about_room(const room_state& st, const char* type, int64_t at_ms) {
  ops_event ev;
  ev.type = type;
  ev.room_id = st.id;
  ev.node_id = st.ctx->settings.node_id;
  ev.at_ms = at_ms;
  return ev;
}

ops_event about_participant(const room_state& st, const char* type, const peer_entry& e,
                            int64_t at_ms) {
  auto ev = about_room(st, type, at_ms);
  ev.peer_id = e.id;
  ev.user_id = e.public_id();
  ev.name = e.name;
  ev.role = e.grant.role;
  return ev;
}

} // namespace

ops_event room_started(const room_state& st, const char* reason) {
  auto ev = about_room(st, "room-started", st.opened_ms);
  ev.reason = reason;
  return ev;
}

ops_event participant_joined(const room_state& st, const peer_entry& e) {
  auto ev = about_participant(st, "participant-joined", e, e.joined_ms);
  ev.participants = static_cast<int64_t>(st.peers.size());
  return ev;
}

ops_event participant_left(const room_state& st, const peer_entry& e, int64_t now_ms,
                           int64_t remaining, std::string reason) {
  auto ev = about_participant(st, "participant-left", e, now_ms);
  ev.duration_ms = e.joined_ms ? now_ms - e.joined_ms : -1;
  ev.participants = remaining;
  ev.reason = std::move(reason);
  return ev;
}

std::string departure_reason(const room_state& st) {
  if (!st.leave_reason.empty())
    return st.leave_reason;
  return st.ctx->counters->stopping.load() ? "room-closed" : "left";
}

ops_event room_finished(const room_state& st, int64_t now_ms) {
  auto ev = about_room(st, "room-finished", now_ms);
  ev.duration_ms = st.opened_ms ? now_ms - st.opened_ms : -1;
  return ev;
}

room_state::~room_state() {
  if (!ctx)
    return;
  ctx->counters->peers.fetch_sub(static_cast<int64_t>(peers.size()));
  if (!ctx->events || moved || !start_announced)
    return;
  // The webhooks hear of every departure, then of the room's end, however it comes.
  auto now = wall_ms();
  int64_t remaining = static_cast<int64_t>(peers.size());
  for (auto& p : peers)
    emit_event(*ctx, participant_left(*this, p, now, --remaining, "room-closed"));
  emit_event(*ctx, room_finished(*this, now));
}

} // namespace chorus::actors::rooms
