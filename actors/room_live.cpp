// The room's live stream (actors/live_streamer.hpp): started and stopped by a participant
// with permission record; the streamer is handed the room's producers and its speaker.
#include "actors/room_actor.hpp"

#include "actors/live_streamer.hpp"
#include "actors/room_roster.hpp"
#include "protocol/live_stream.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"

#include <caf/all.hpp>

#include <chrono>

namespace chorus::actors::rooms {

namespace {

caf::expected<protocol::class_reply> start_live(room_actor* self, const std::string& by,
                                                 const protocol::live_stream_request& req) {
  auto& st = self->state;
  if (st.live_streamer)
    return make_error(protocol::error_code::invalid_state,
                      "room '" + st.id + "' is streamed live already (" + st.live_stream_id + ")");
  auto id = ids::uuid4();
  auto spawned = spawn_live_streamer(self, live_streamer_args{st.id, id, req.url}, st.ctx,
                                     st.node);
  if (!spawned)
    return make_error(protocol::error_code::invalid_state, spawned.error());
  st.live_streamer = *spawned;
  st.live_stream_id = id;
  st.live_stopping = false;
  for (auto& p : st.producers)
    self->send(st.live_streamer, with_owner(st, p));
  if (!st.active_speaker.empty())
    self->send(st.live_streamer, dominant_speaker{st.active_speaker});
  protocol::live_stream_event ev;
  ev.kind = protocol::live_stream_event_kind::started;
  ev.stream_id = id;
  ev.by = by;
  const auto destination = protocol::live_destination_of(st.id, req.url);
  ev.target = destination.target;
  ev.where = destination.where;
  to_everyone(self, ev);
  LOG_INFO("room", "'" << st.id << "': live stream " << id << " to " << ev.where
                       << " started by " << by);
  return protocol::class_reply{"liveStreamId", id};
}

caf::result<protocol::class_reply> stop_live(room_actor* self) {
  auto& st = self->state;
  if (!st.live_streamer || st.live_stopping)
    return make_error(protocol::error_code::invalid_state,
                      "room '" + st.id + "' is not streamed live");
  st.live_stopping = true;
  return stop_worker<protocol::live_stream_event>(
    self, &room_state::live_streamer, live_stop_atom::value, forget_live_streamer,
    [](const protocol::live_stream_event& ev) { return protocol::class_reply{"liveStreamId", ev.stream_id}; });
}

} // namespace

caf::result<protocol::class_reply> live_stream(room_actor* self, live_stream_command& cmd) {
  auto& st = self->state;
  auto* me = find_peer(st, cmd.peer_id);
  if (!me)
    return not_in_room(st, cmd.peer_id);
  if (!allows(me->grant.permissions, protocol::permission::record))
    return need(*me, protocol::permission::record,
                cmd.request.start ? "live-stream" : "stop-live-stream");
  if (!cmd.request.start)
    return stop_live(self);
  auto r = start_live(self, me->public_id(), cmd.request);
  if (!r)
    return std::move(r.error());
  return *r;
}

void live_streamer_event(room_actor* self, const protocol::live_stream_event& ev) {
  auto& st = self->state;
  // A streamer that gave up has quit: the room streams nothing now.
  if (ev.kind == protocol::live_stream_event_kind::stopped && ev.stream_id == st.live_stream_id)
    forget_live_streamer(st);
  to_everyone(self, ev);
}

void forget_live_streamer(room_state& st) {
  st.live_streamer = nullptr;
  st.live_stream_id.clear();
  st.live_stopping = false;
}

} // namespace chorus::actors::rooms
