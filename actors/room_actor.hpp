// The room actor's handlers, by concept, each in its own file; actors/room.cpp only routes
// the room's messages to them (the routing table: room_impl there, the messages: room.hpp).
//   room_presence.cpp   joins, reconnects, departures, the participant list
//   room_media.cpp      the producers and data producers the room lists, the active speaker
//   room_moderation.cpp moderation, the frontend's host controls, the admin API's kick/close
//   room_classroom.cpp  hands, chat, polls, reactions
//   room_recording.cpp  the room's recording
//   room_rehome.cpp     copies for re-homing, rejoins after a move, hand-over
// The decisions they take are in the pure cores: room_roster, room_rules, room_audience,
// room_copy, room_journal.
#pragma once

#include "actors/data_messages.hpp"
#include "actors/media_messages.hpp"
#include "actors/messages.hpp"
#include "actors/operations.hpp"
#include "actors/rehome_messages.hpp"
#include "actors/room_audience.hpp"
#include "actors/room_state.hpp"

#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/make_message.hpp>
#include <caf/result.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chorus::actors::rooms {

// ---- delivery (actors/room_delivery.cpp) --------------------------------------------------
// A message to everyone's session but the participant with peer id `except`: directly on
// this node, one session_fanout per other node. (A message to one session is sent to it.)
void deliver_to_everyone(room_actor* self, const caf::message& msg, std::string_view except = {});
template <class T>
void to_everyone(room_actor* self, T&& x, std::string_view except = {}) {
  deliver_to_everyone(self, caf::make_message(std::forward<T>(x)), except);
}

// Another node's batch (join_batch, class_batch): each command through `one` (which answers
// a caf::expected), in order; replies[i] for a success, errors[i] for a failure.
template <class Command, class Reply, class One>
void answer_each(std::vector<Command>& commands, std::vector<Reply>& replies,
                 std::vector<caf::error>& errors, One one) {
  replies.resize(commands.size());
  errors.resize(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    auto r = one(commands[i]);
    if (r)
      replies[i] = std::move(*r);
    else
      errors[i] = std::move(r.error());
  }
}

// ---- presence ----------------------------------------------------------------------------
caf::expected<join_result> join(room_actor* self, join_command& cmd);
// Joins from another node's clients, each as join(), in order.
join_batch_reply join_all(room_actor* self, join_batch& batch);
caf::result<join_result> update_peer(room_actor* self, peer_update& upd);
caf::result<protocol::empty_reply> update_own_state(room_actor* self, own_state_update& u);
caf::result<protocol::socket_id_reply> socket_id(room_actor* self,
                                                 const protocol::get_socket_id_request& q);
// Removes the peer at `it`; tells the others: producer-closed for each of its producers,
// then participant-left. `who` is the actor whose end removes it (none: replaced).
void remove_peer_at(room_actor* self, std::vector<peer_entry>::iterator it,
                    const caf::actor_addr& who);
// Removes the peer whose session or peer actor is `who`.
void remove_peer(room_actor* self, const caf::actor_addr& who);
join_result make_join_result(room_actor* self, const peer_entry& e);
// The participant list, coalesced: out once per interval that grows with the room.
void broadcast_participants(room_actor* self);
void send_participants_now(room_actor* self);
void flags_changed_for(room_actor* self, const std::string& peer_id);
void send_to_all(room_actor* self, const protocol::class_event& ev);
// Sends now, or, while a live-class request is applied in a cluster, once the change is
// replicated (room_state::class_outbox, released with the request's reply).
template <class Send>
void class_emit(room_actor* self, Send&& send) {
  if (self->state.holding_class_events)
    self->state.class_outbox.emplace_back(std::forward<Send>(send));
  else
    send();
}
// hands-update to everyone, at most once per hands_update_interval_ms.
inline constexpr int64_t hands_update_interval_ms = 250;
void send_hands(room_actor* self);
void flush_hands(room_actor* self);
// The audience (actors/room_audience.hpp): a change announced (the list if the listed
// changed; audience-update within a second if the audience did); everyone decided again
// after a change of rights; what a joiner is sent of it (the count, and to an audience
// member the list, which its join did not change); get-participants.
void apply_audience_change(room_actor* self, const audience_change& change);
void audience_changed(room_actor* self);
void send_audience_update(room_actor* self);
void review_audience(room_actor* self);
void welcome(room_actor* self, const peer_entry& e);
caf::result<protocol::participants_page_reply> participants(room_actor* self,
                                                            const participants_query& q);
// room-started for the webhooks, once (reason "" at a first join, "moved" at a rejoin).
void announce_start(room_actor* self, const char* reason);

// ---- media -------------------------------------------------------------------------------
void producer_added(room_actor* self, producer_info& info);
void producer_gone(room_actor* self, const producer_removed& r);
void producer_paused(room_actor* self, const producer_paused_update& u);
caf::result<protocol::empty_reply> check_publish(room_actor* self, const publish_check& q);
caf::result<producer_info> producer_for(room_actor* self, const find_producer& q);
// The room's own data producer (label "room", first in the list) under `id`, in place of
// the one it had: a rebuilt room keeps its former home's id, so that the participants'
// consumers of it find it again (data_source_lost).
void make_own_data_producer(room_actor* self, std::string id);
// A public chat message on the room's own data producer (actors/room_classroom.cpp).
void push_room_data(room_actor* self, const protocol::chat_item& m);
void data_producer_added(room_actor* self, data_producer_info& info);
void data_producer_gone(room_actor* self, const data_producer_removed& r);
caf::result<protocol::empty_reply> check_data_publish(room_actor* self,
                                                      const data_publish_check& q);
void list_data_producers(room_actor* self, const data_producers_query& q);
caf::result<data_producer_info> data_producer_for(room_actor* self, const find_data_producer& q);
void speaker_named(room_actor* self, dominant_speaker& d);
void levels_reported(room_actor* self, const audio_levels_report& r);
// The speaker observer starts (at the first audio producer) or stops observing `p`.
void observe(room_actor* self, const producer_info& p);
void unobserve(room_actor* self, const producer_info& p);

// ---- moderation --------------------------------------------------------------------------
caf::result<protocol::empty_reply> moderate(room_actor* self, moderation_command& cmd);
caf::result<protocol::empty_reply> host_control(room_actor* self, host_command& cmd);
caf::result<protocol::empty_reply> admin_kick_peer(room_actor* self, const admin_kick& k);
protocol::empty_reply admin_close_room(room_actor* self, const admin_close& c);
// A frontend event (force-mute, host-granted, ...) to one session.
void tell(room_actor* self, const caf::actor& session, std::string name, std::string by,
          std::string reason = {}, std::string participant = {}, bool value = false);

// ---- the live class ----------------------------------------------------------------------
caf::expected<protocol::class_reply> classroom(room_actor* self, class_command& cmd);
// Sends what the live-class requests applied so far said (room_state::class_outbox) now.
void release_class_events(room_actor* self);
// The live-class requests a node gathered from its sessions, answered in order.
class_batch_reply classroom_batch(room_actor* self, class_batch& batch);
void flush_poll(room_actor* self, const poll_flush& f);
protocol::class_event chat_history_event(const room_state& st);
// What a joiner catches up on: the hand queue, the chat history, the polls, the speaker.
void catch_up(room_actor* self, const caf::actor& session);

// ---- the room's FFmpeg workers: the media recorder, the live streamer ------------------------
// Stops the worker in `field` with `stop`, which it answers with its last event once its
// FFmpeg child is done: the event goes to everyone, `forget` clears the room's hold on that
// worker (unless another took its place meanwhile), and the request is answered with
// `reply(event)`. A stop that fails forgets the worker too and answers the error.
template <class Event, class Atom, class Reply>
caf::result<protocol::class_reply> stop_worker(room_actor* self, caf::actor room_state::*field,
                                               Atom stop, void (*forget)(room_state&),
                                               Reply reply) {
  auto rp = self->make_response_promise<protocol::class_reply>();
  auto worker = self->state.*field;
  auto forget_it = [self, field, worker, forget] {
    if (self->state.*field == worker)
      forget(self->state);
  };
  self->request(worker, std::chrono::seconds(15), stop)
    .then(
      [self, rp, forget_it, reply](Event& ev) mutable {
        forget_it();
        to_everyone(self, ev);
        rp.deliver(reply(ev));
      },
      [rp, forget_it](caf::error& err) mutable {
        forget_it();
        rp.deliver(err);
      });
  return rp;
}

// ---- recording ---------------------------------------------------------------------------
caf::result<protocol::class_reply> recording(room_actor* self, recording_command& cmd);
caf::result<protocol::class_reply> admin_recording_command(room_actor* self,
                                                           const admin_recording& r);
// recording.autoStart: the room's first producer starts a recording; each new producer
// is handed to the recorder.
void record_producer(room_actor* self, const producer_info& info);
void recorder_event(room_actor* self, const protocol::recording_event& ev);
// The recording ended (stopped, or its recorder exited): the room records nothing now.
void forget_recorder(room_state& st);
// A rebuilt or moved room: the recording its copy says ran at the former home goes on here
// (the same id and directory; the manifest joins both parts with the gap).
void resume_recording(room_actor* self, const room_snapshot& copy);

// ---- live streaming (actors/room_live.cpp) ------------------------------------------------
caf::result<protocol::class_reply> live_stream(room_actor* self, live_stream_command& cmd);
// What the live streamer needs to hear of the stage: a producer came, went, paused; the
// speaker changed.
template <class Message>
void tell_live_streamer(room_actor* self, const Message& m) {
  auto& st = self->state;
  if (st.live_streamer && !st.live_stopping)
    self->send(st.live_streamer, m);
}
void live_streamer_event(room_actor* self, const protocol::live_stream_event& ev);
void forget_live_streamer(room_state& st);

// ---- re-homing ---------------------------------------------------------------------------
using sync_copies_atom = caf::atom_constant<caf::atom("synccopy")>;
// A change the copies on other nodes must follow (sent once per interval, if any).
void schedule_sync(room_actor* self);
void sync_copies(room_actor* self);
// A change of the live class (chat, hands, polls, moderation): the copies follow within
// class_sync_delay.
void class_changed(room_actor* self);
// Whether the room has a replica (a cluster of more than this node).
bool replicates(const room_state& st);
// The room ends: every node holding a copy for its participants drops it (its replicas
// hear it from the node, forget_room).
void forget_everywhere(room_actor* self);
// Holds the reply to the latest class change until the room's replica holds a copy with it
// (`deliver(true)`), or the replica did not answer in time (`deliver(false)`, counted).
void hold_reply(room_actor* self, std::function<void(bool replicated)> deliver);
// The held replies up to the class change `change` go to their senders.
void release_replies(room_actor* self, uint64_t change, bool replicated);
caf::result<join_result> rejoin(room_actor* self, rejoin_command& cmd);
// A room made on the node that held its replica after its home was lost: it starts from
// the replica's copy (room-wide state, live class; who it lists is expected back).
void seed(room_actor* self, const room_snapshot& copy);
void settle(room_actor* self);
int64_t hand_over(room_actor* self, const std::string& avoid);

} // namespace chorus::actors::rooms
