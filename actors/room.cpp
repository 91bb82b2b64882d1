// The room actor: its start (the room's own data producer, the record's room-opened, the
// handlers of ends and strays) and its routing table, which hands each message to the
// handler of its concept (actors/room_actor.hpp).
#include "actors/room.hpp"

#include "actors/clock.hpp"
#include "actors/data_producer.hpp"
#include "actors/exit_request.hpp"
#include "actors/room_actor.hpp"
#include "actors/room_roster.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "actors/recorder.hpp"

#include <caf/all.hpp>

namespace chorus::actors {

namespace {

// A class change's reply: in a cluster, held until the room's replica holds the change, so
// that nothing acknowledged to its sender is lost with the home; alone, at once.
// What the change said to the participants (class_outbox) is held the same way, and goes
// out just before the reply.
template <class Reply>
caf::result<Reply> after_replicated(rooms::room_actor* self, Reply reply) {
  rooms::class_changed(self);
  auto& st = self->state;
  if (!rooms::replicates(st) || st.class_outbox.empty())
    rooms::release_class_events(self);
  else
    rooms::hold_reply(self, [self, events = std::move(st.class_outbox)](bool) mutable {
      for (auto& send : events)
        send();
    });
  st.class_outbox.clear();
  if (!rooms::replicates(st))
    return reply;
  auto rp = self->make_response_promise<Reply>();
  rooms::hold_reply(self, [rp, r = std::move(reply)](bool) mutable { rp.deliver(std::move(r)); });
  return rp;
}

using namespace rooms;

caf::behavior room_impl(room_actor* self, std::string room_id, node_context_ptr ctx,
                        caf::actor node, std::shared_ptr<room_gauges> gauges) {
  self->state.id = std::move(room_id);
  self->state.ctx = std::move(ctx);
  self->state.chat = protocol::chat_history{self->state.ctx->settings.chat_history};
  self->state.opened_ms = wall_ms();
  self->state.gauges = std::move(gauges);
  if (auto& rec = self->state.ctx->recorder) {
    auto& st = self->state;
    self->send(rec, store::record_event{store::room_opened{st.id, st.ctx->settings.node_id,
                                                           wall_ms()}});
    // The room's end, however it comes (its last participant left, the node stops).
    self->attach_functor([rec, id = st.id, node = st.ctx->settings.node_id] {
      caf::anon_send(rec, store::record_event{store::room_closed{id, node, wall_ms()}});
    });
  }
  self->state.node = std::move(node);
  make_own_data_producer(self, ids::uuid4());
  // Sessions are monitored: a session that ends is a departure.
  self->set_down_handler([self](caf::down_msg& dm) { remove_peer(self, dm.source); });
  // A stray message or error (a bug elsewhere, or a message from another node) must not
  // end the room: CAF's defaults would print it and answer, or quit the actor.
  self->set_default_handler([self](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
    LOG_WARN("room", "'" << self->state.id << "': unexpected message dropped: "
                         << to_string(x.copy_content_to_message()));
    return caf::message{};
  });
  self->set_error_handler([self](caf::error& err) {
    LOG_WARN("room", "'" << self->state.id << "': error message ignored: " << to_string(err));
  });
  // Peers are linked: a peer that fails is a departure. The node's exit request
  // (shutdown) ends the room, and through the links its peers.
  self->set_exit_handler([self](caf::exit_msg& em) {
    if (em.source == self->state.node.address() || anonymous_exit(self, em)) {
      self->quit(em.reason);
      return;
    }
    if (auto& obs = self->state.speaker_observer; obs && em.source == obs.address()) {
      // Not expected; the next audio producer starts a new one (the current ones are no
      // longer observed).
      LOG_WARN("room", "'" << self->state.id << "': the speaker observer failed: "
                           << to_string(em.reason));
      obs = nullptr;
      self->state.active_speaker.clear();
      return;
    }
    if (auto& live = self->state.live_streamer; live && em.source == live.address()) {
      if (em.reason)
        LOG_WARN("room", "'" << self->state.id << "': the live streamer ended: "
                             << to_string(em.reason));
      forget_live_streamer(self->state);
      return;
    }
    if (auto& rec = self->state.media_recorder; rec && em.source == rec.address()) {
      if (em.reason)
        LOG_WARN("room", "'" << self->state.id << "': the media recorder ended: "
                             << to_string(em.reason));
      forget_recorder(self->state);
      return;
    }
    if (em.reason != caf::exit_reason::user_shutdown && em.reason)
      LOG_WARN("room", "'" << self->state.id << "': a peer actor failed: "
                           << to_string(em.reason));
    remove_peer(self, em.source);
  });
  return {
    [self](join_command& cmd) { return join(self, cmd); },
    [self](join_batch& b) { return join_all(self, b); },
    [self](peer_update& upd) { return update_peer(self, upd); },
    [self](own_state_update& u) { return update_own_state(self, u); },
    [self](protocol::get_socket_id_request& q) { return socket_id(self, q); },
    [self](room_info_query& q) -> caf::result<protocol::room_info_reply> {
      auto* e = find_peer(self->state, q.peer_id);
      if (!e)
        return not_in_room(self->state, q.peer_id);
      return room_info(self->state, *e);
    },
    [self](flush_participants_atom) {
      self->state.list_flush_scheduled = false;
      send_participants_now(self);
    },
    [self](flush_audience_atom) { send_audience_update(self); },
    [self](flush_hands_atom) { flush_hands(self); },
    [self](participants_query& q) { return participants(self, q); },
    [self](close_if_empty_atom) -> bool {
      if (!self->state.peers.empty())
        return false;
      release_replies(self, self->state.class_changes, true); // nobody left to lose them
      forget_everywhere(self); // the nodes of its last participants still hold copies
      self->quit();
      return true;
    },
    // media
    [self](producer_info& info) { producer_added(self, info); },
    [self](producer_removed& r) { producer_gone(self, r); },
    [self](producer_paused_update& u) { producer_paused(self, u); },
    [self](publish_check& q) { return check_publish(self, q); },
    [self](find_producer& q) { return producer_for(self, q); },
    [self](data_producer_info& info) { data_producer_added(self, info); },
    [self](data_producer_removed& r) { data_producer_gone(self, r); },
    [self](data_publish_check& q) { return check_data_publish(self, q); },
    [self](data_producers_query& q) { list_data_producers(self, q); },
    [self](find_data_producer& q) { return data_producer_for(self, q); },
    [self](dominant_speaker& d) { speaker_named(self, d); },
    [self](audio_levels_report& r) { levels_reported(self, r); },
    // moderation, the host controls, the live class: each may change what the copies hold
    [self](moderation_command& cmd) {
      class_changed(self);
      auto r = moderate(self, cmd);
      review_audience(self); // publishing allowed or taken back: on stage or back
      return r;
    },
    [self](host_command& cmd) {
      class_changed(self);
      auto r = host_control(self, cmd);
      review_audience(self); // a host or co-host made or unmade
      return r;
    },
    [self](class_command& cmd) -> caf::result<protocol::class_reply> {
      auto r = classroom(self, cmd);
      if (!r) // refused: nothing changed
        return std::move(r.error());
      return after_replicated(self, std::move(*r));
    },
    [self](class_batch& b) -> caf::result<class_batch_reply> {
      return after_replicated(self, classroom_batch(self, b));
    },
    [self](poll_flush& f) { flush_poll(self, f); },
    [self](chat_history_query&) { return chat_history_event(self->state); },
    // recording (from the media recorder: an ffmpeg that exited, a full disk)
    [self](recording_command& cmd) { return recording(self, cmd); },
    [self](protocol::recording_event& ev) { recorder_event(self, ev); },
    // live streaming (from the live streamer: a composer that exited, a stream given up)
    [self](live_stream_command& cmd) { return live_stream(self, cmd); },
    [self](protocol::live_stream_event& ev) { live_streamer_event(self, ev); },
    // re-homing
    [self](rejoin_command& cmd) { return rejoin(self, cmd); },
    [self](rehome_settle_atom) { settle(self); },
    [self](sync_copies_atom) { sync_copies(self); },
    [self](room_snapshot& copy) { seed(self, copy); },
    [self](hand_over_atom, std::string& avoid) -> int64_t { return hand_over(self, avoid); },
    // the admin API (actors/operations.hpp)
    [self](admin_room_query&) { return admin_snapshot(self->state); },
    [self](admin_recording& r) { return admin_recording_command(self, r); },
    [self](admin_kick& k) { return admin_kick_peer(self, k); },
    [self](admin_close& c) { return admin_close_room(self, c); },
  };
}

} // namespace

caf::actor spawn_room(caf::actor_system& sys, caf::actor node, std::string room_id,
                      node_context_ptr ctx, std::shared_ptr<room_gauges> gauges) {
  return sys.spawn(room_impl, std::move(room_id), std::move(ctx), std::move(node),
                   std::move(gauges));
}

} // namespace chorus::actors
