// The steps only a WHEP resource takes (actors/whip.hpp), once its receive transport is
// connected:
//   consume   one consume per slot of the offer (protocol/whep_sdp.hpp), all at once: the
//             slot's capabilities (one kind, in the router's numbers) let the room pick the
//             oldest producer of that kind the resource does not consume yet (or the named
//             participant's); a named producer is asked for on the first slot of each kind
//             and taken on the one whose kind it is. A slot nothing is found for is
//             rejected in the answer; nothing found anywhere ends the resource (404).
//   layers    the player's layer choice on each video consumer (when it made one)
//   resume    every consumer (they start paused; a keyframe is asked for once the
//             transport can send)
// and then answers the POST with the streams in the player's own numbers.
#include "actors/whip_actor.hpp"

#include "common/ids.hpp"
#include "common/log.hpp"
#include "rtp/receiver_numbering.hpp"

#include <algorithm>

namespace chorus::actors::whips {

namespace {

bool nothing_found(const protocol::error_info& e) {
  return e.code == protocol::error_code::nothing_to_consume ||
         e.code == protocol::error_code::unknown_producer ||
         e.code == protocol::error_code::cannot_consume;
}

void ask_each_consumer(whip_actor* self, protocol::consumer_op op) {
  auto& st = self->state;
  st.waiting = 0;
  for (std::size_t i = 0; i < st.played.size(); ++i) {
    const auto& c = st.played[i];
    if (!c || (op == protocol::consumer_op::set_preferred_layers && c->kind != rtp::media_kind::video))
      continue;
    protocol::consumer_request r;
    r.room_id = st.start.handle->room_id;
    r.op = op;
    r.consumer_id = c->id;
    // A choice of temporal layer alone keeps every spatial one (the consumer clamps 15
    // to its highest).
    r.spatial_layer = st.start.choice.spatial_layer >= 0 ? st.start.choice.spatial_layer : 15;
    r.temporal_layer = st.start.choice.temporal_layer;
    ++st.waiting;
    ask(self, std::move(r), i);
  }
}

void resume_all(whip_actor* self) {
  next_step(self, step::resume);
  ask_each_consumer(self, protocol::consumer_op::resume);
}

// Every consume answered: the layer choice next, or the resume.
void all_consumed(whip_actor* self) {
  auto& st = self->state;
  const auto found = std::count_if(st.played.begin(), st.played.end(), [](const auto& c) { return c.has_value(); });
  if (found == 0) {
    const auto& e = st.refused.value_or(protocol::error_info{protocol::error_code::nothing_to_consume, ""});
    if (nothing_found(e))
      return fail(self, 404, "not-found",
                  "nothing to play in room '" + st.start.handle->room_id + "'" +
                    (e.message.empty() ? std::string{} : ": " + e.message));
    return fail_with(self, e, "consume");
  }
  const bool video = std::any_of(st.played.begin(), st.played.end(), [](const auto& c) {
    return c && c->kind == rtp::media_kind::video;
  });
  if (video && (st.start.choice.spatial_layer >= 0 || st.start.choice.temporal_layer >= 0)) {
    next_step(self, step::layers);
    return ask_each_consumer(self, protocol::consumer_op::set_preferred_layers);
  }
  resume_all(self);
}

void answer_play(whip_actor* self) {
  auto& st = self->state;
  const auto& play = *st.start.play;
  std::vector<protocol::whep_stream> streams;
  st.bundle_mids.clear();
  for (std::size_t i = 0; i < st.played.size(); ++i) {
    const auto& c = st.played[i];
    if (!c)
      continue;
    const auto& slot = play.slots[i];
    // The stream names its publisher, the track its consumer.
    streams.push_back({slot.m_line, rtp::receiver_numbered(c->rtp_parameters, slot.receive.map),
                       (c->user_id.empty() ? c->peer_id : c->user_id) + " " + c->id});
    st.bundle_mids.push_back(slot.mid);
  }
  LOG_INFO(whip_component, st.start.handle->id << ": playing " << streams.size() << " of "
                                               << play.slots.size() << " m-lines of room '"
                                               << st.start.handle->room_id << "' to '"
                                               << st.start.peer_id << "'");
  answer_post(self, protocol::write_whep_answer(st.start.offer, play, streams, st.transport,
                                                ids::random_u32()));
}

} // namespace

void whep_consume(whip_actor* self) {
  auto& st = self->state;
  const auto& play = *st.start.play;
  const auto& choice = st.start.choice;
  next_step(self, step::consume);
  st.played.assign(play.slots.size(), std::nullopt);
  st.waiting = 0;
  bool asked[2] = {false, false}; // a named producer: once per kind
  for (std::size_t i = 0; i < play.slots.size(); ++i) {
    const auto& slot = play.slots[i];
    const auto k = slot.kind == rtp::media_kind::video ? 1 : 0;
    if (!choice.producer_id.empty() && std::exchange(asked[k], true))
      continue;
    protocol::consume_request r;
    r.room_id = st.start.handle->room_id;
    r.producer_id = choice.producer_id;
    r.transport_id = st.transport.id;
    r.rtp_capabilities = slot.receive.capabilities;
    r.paused = true;
    r.mid = slot.mid;
    r.receiver_numbering = slot.receive.map;
    r.from_participant = choice.participant;
    ++st.waiting;
    ask(self, std::move(r), i);
  }
}

void whep_answer(whip_actor* self, std::size_t tag, protocol::typed_exchange::answer& a) {
  auto& st = self->state;
  switch (st.at) {
    case step::consume:
      if (a.ok) {
        if (auto* c = std::get_if<protocol::consumer_params_reply>(&a.reply); c && tag < st.played.size())
          st.played[tag] = std::move(*c);
      } else if (!st.refused || (nothing_found(*st.refused) && !nothing_found(a.error))) {
        st.refused = a.error; // a refusal of another kind (rights, limits) is the one told
      }
      if (--st.waiting == 0)
        all_consumed(self);
      return;
    case step::layers:
      if (!a.ok)
        return fail(self, 400, "invalid-field", "spatialLayer/temporalLayer: " + a.error.message);
      if (--st.waiting == 0)
        resume_all(self);
      return;
    case step::resume:
      if (!a.ok)
        return fail_with(self, a.error, "resume-consumer");
      if (--st.waiting == 0)
        answer_play(self);
      return;
    default:
      return;
  }
}

} // namespace chorus::actors::whips
