// The room's recording (actors/media_recorder.hpp): started and stopped by a participant
// with permission record, by the admin API, or at the first producer (recording.autoStart);
// the recorder is handed every producer the room lists.
#include "actors/room_actor.hpp"

#include "actors/clock.hpp"
#include "actors/media_recorder.hpp"
#include "actors/room_roster.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"

#include <caf/all.hpp>

#include <chrono>

namespace chorus::actors::rooms {

namespace {

// Starts the room's recording; `by` is the starter's public id ("" for autoStart).
caf::expected<std::string> start_recording(room_actor* self, const std::string& by) {
  auto& st = self->state;
  if (st.media_recorder)
    return make_error(protocol::error_code::invalid_state,
                      "room '" + st.id + "' is being recorded already (" + st.recording_id + ")");
  auto id = ids::uuid4();
  const int64_t started = wall_ms(); // names its directory, where a next home goes on too
  auto spawned =
    spawn_media_recorder(self, media_recorder_args{st.id, id, by, started, {}}, st.ctx, st.node);
  if (!spawned)
    return make_error(protocol::error_code::invalid_state, spawned.error());
  st.media_recorder = *spawned;
  st.recording_id = id;
  st.recording_by = by;
  st.recording_started_ms = started;
  st.recording_stopping = false;
  schedule_sync(self); // the copies say it runs: it goes on at the next home
  for (auto& p : st.producers)
    self->send(st.media_recorder, with_owner(st, p));
  protocol::recording_event ev;
  ev.kind = protocol::recording_event_kind::started;
  ev.recording_id = id;
  ev.by = by;
  to_everyone(self, ev);
  LOG_INFO("room", "'" << st.id << "': recording " << id << " started"
                       << (by.empty() ? std::string(" (autoStart)") : " by " + by));
  return id;
}

// Stops the room's recording: recording-stopped to everyone, the manifest's path answered.
caf::result<protocol::class_reply> stop_recording(room_actor* self) {
  auto& st = self->state;
  if (!st.media_recorder || st.recording_stopping)
    return make_error(protocol::error_code::invalid_state,
                      "room '" + st.id + "' is not being recorded");
  st.recording_stopping = true;
  return stop_worker<protocol::recording_event>(
    self, &room_state::media_recorder, recording_stop_atom::value, forget_recorder,
    [](const protocol::recording_event& ev) { return protocol::class_reply{"manifest", ev.manifest_path}; });
}

} // namespace

caf::result<protocol::class_reply> recording(room_actor* self, recording_command& cmd) {
  auto& st = self->state;
  auto* me = find_peer(st, cmd.peer_id);
  if (!me)
    return not_in_room(st, cmd.peer_id);
  if (!allows(me->grant.permissions, protocol::permission::record))
    return need(*me, protocol::permission::record,
                cmd.request.start ? "start-recording" : "stop-recording");
  if (cmd.request.start) {
    auto id = start_recording(self, me->public_id());
    if (!id)
      return id.error();
    return protocol::class_reply{"recordingId", *id};
  }
  return stop_recording(self);
}

caf::result<protocol::class_reply> admin_recording_command(room_actor* self,
                                                           const admin_recording& r) {
  if (!r.start)
    return stop_recording(self);
  auto id = start_recording(self, "admin");
  if (!id)
    return id.error();
  return protocol::class_reply{"recordingId", *id};
}

void record_producer(room_actor* self, const producer_info& info) {
  auto& st = self->state;
  if (!st.media_recorder && st.ctx->recording.auto_start && !st.ctx->recording.directory.empty())
    if (auto started = start_recording(self, {}); !started)
      LOG_WARN("room", "'" << st.id << "': recording.autoStart: " << to_string(started.error()));
  if (st.media_recorder && !st.recording_stopping)
    self->send(st.media_recorder, with_owner(st, info));
}

void forget_recorder(room_state& st) {
  st.media_recorder = nullptr;
  st.recording_id.clear();
  st.recording_by.clear();
  st.recording_started_ms = 0;
  st.recording_stopping = false;
}

void resume_recording(room_actor* self, const room_snapshot& copy) {
  auto& st = self->state;
  if (st.media_recorder || copy.recording_id.empty())
    return;
  media_recorder_args args{st.id, copy.recording_id, copy.recording_by,
                           copy.recording_started_ms, copy.recording_node};
  auto spawned = spawn_media_recorder(self, std::move(args), st.ctx, st.node);
  if (!spawned) {
    LOG_WARN("room", "'" << st.id << "': recording " << copy.recording_id
                         << " cannot go on here: " << spawned.error());
    return;
  }
  st.media_recorder = *spawned;
  st.recording_id = copy.recording_id;
  st.recording_by = copy.recording_by;
  st.recording_started_ms = copy.recording_started_ms;
  st.recording_stopping = false;
  for (auto& p : st.producers)
    self->send(st.media_recorder, with_owner(st, p));
  LOG_INFO("room", "'" << st.id << "': recording " << st.recording_id
                       << " goes on here (its home was " << copy.recording_node << ")");
}

void recorder_event(room_actor* self, const protocol::recording_event& ev) {
  to_everyone(self, ev);
}

} // namespace chorus::actors::rooms
