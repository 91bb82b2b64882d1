// The media the room lists: its participants' producers and data producers (who is told of
// them, who may publish and consume them), and the active speaker.
#include "actors/room_actor.hpp"

#include "actors/data_producer.hpp"
#include "actors/room_roster.hpp"
#include "actors/speaker_observer.hpp"
#include "common/log.hpp"
#include "rtp/ortc.hpp"

#include <caf/all.hpp>

#include <algorithm>

namespace chorus::actors::rooms {

// The room no longer lists this producer: the speaker observer forgets it.
void unobserve(room_actor* self, const producer_info& p) {
  auto& st = self->state;
  if (p.kind != rtp::media_kind::audio)
    return;
  if (st.speaker_observer)
    self->send(st.speaker_observer, producer_removed{p.producer_id});
  if (st.active_speaker == p.producer_id)
    st.active_speaker.clear();
}

// A new audio producer: the observer (spawned now if there is none) observes it, and the
// producer learns where to send its levels (it ignores that when its sender did not
// negotiate ssrc-audio-level).
void observe(room_actor* self, const producer_info& p) {
  auto& st = self->state;
  if (p.kind != rtp::media_kind::audio || !p.producer)
    return;
  if (!st.speaker_observer) {
    speaker_observer_settings settings;
    settings.levels_interval_ms = st.ctx->classroom.audio_levels_interval_ms;
    st.speaker_observer = spawn_speaker_observer(self, settings);
  }
  self->send(st.speaker_observer, observe_producer{p.producer_id});
  self->send(p.producer, attach_speaker_observer{st.speaker_observer});
}

void producer_added(room_actor* self, producer_info& info) {
  auto& st = self->state;
  auto* e = find_peer(st, info.peer_id);
  if (!e || e->peer.address() != caf::actor_cast<caf::actor_addr>(self->current_sender()))
    return; // from a peer replaced meanwhile
  protocol::new_producer_event ev{info.producer_id, info.peer_id, info.kind,
                                  e->public_id(), e->name, info.is_screen_share,
                                  info.source};
  const bool share_started = info.is_screen_share;
  auto peer_id = info.peer_id;
  // A moderator acted while this producer was being made: apply it now.
  auto bit = kind_bit(info.kind, info.is_screen_share);
  if (!allows(e->grant.permissions, publish_permission(bit)))
    self->send(e->peer, moderator_close{bit});
  else if (e->muted & bit)
    self->send(e->peer, moderator_pause{bit});
  observe(self, info);
  record_producer(self, info);
  tell_live_streamer(self, with_owner(st, info));
  st.producers.push_back(std::move(info));
  if (st.gauges)
    st.gauges->producers.store(static_cast<int64_t>(st.producers.size()), std::memory_order_relaxed);
  to_everyone(self, ev, peer_id);
  flags_changed_for(self, peer_id);
  if (share_started) // the list shows who shares a screen
    broadcast_participants(self);
}

caf::result<protocol::empty_reply> check_publish(room_actor* self, const publish_check& q) {
  auto& st = self->state;
  auto* e = find_peer(st, q.peer_id);
  if (!e)
    return not_in_room(st, q.peer_id);
  auto needed = publish_permission(q.kind);
  if (!allows(e->grant.permissions, needed))
    return make_error(protocol::error_code::forbidden,
                      "publishing " + std::string(kind_name(q.kind)) + " needs permission " +
                        std::string(protocol::to_string(needed)));
  if (e->muted & q.kind) {
    std::string why = std::string(kind_name(q.kind)) +
                      " was muted by a moderator: it may resume after allow-publish";
    if (q.kind == protocol::publish_kinds::audio)
      tell(self, e->session, "audio-locked", {}, "your microphone was muted by the host");
    return make_error(protocol::error_code::forbidden, why);
  }
  if (q.kind == protocol::publish_kinds::screen && st.screens_locked && rank_of(st, *e) == 0) {
    tell(self, e->session, "screenshare-denied", {}, "screen sharing is disabled by the host");
    return make_error(protocol::error_code::forbidden, "screen sharing is disabled by the host");
  }
  if (!q.resume && !e->publisher) {
    auto limit = st.ctx->limits.max_publishers_per_room;
    auto publishers = std::count_if(st.peers.begin(), st.peers.end(),
                                    [](const peer_entry& p) { return p.publisher; });
    if (limit > 0 && static_cast<uint32_t>(publishers) >= limit)
      return make_error(protocol::error_code::limit_exceeded,
                        "room '" + st.id + "' has its " + std::to_string(limit) +
                          " publishers (limits.maxPublishersPerRoom)");
    e->publisher = true;
  }
  return protocol::empty_reply{};
}

void producer_gone(room_actor* self, const producer_removed& r) {
  auto& st = self->state;
  if (st.media_recorder)
    self->send(st.media_recorder, r);
  tell_live_streamer(self, r);
  for (auto it = st.producers.begin(); it != st.producers.end(); ++it)
    if (it->producer_id == r.producer_id) {
      auto peer_id = it->peer_id;
      auto ev = closed_event(st, *it);
      const bool share_ended = it->is_screen_share;
      unobserve(self, *it);
      st.producers.erase(it);
      if (st.gauges)
        st.gauges->producers.store(static_cast<int64_t>(st.producers.size()),
                                   std::memory_order_relaxed);
      if (share_ended)
        broadcast_participants(self);
      // Its last producer gone, the participant no longer counts as a publisher.
      if (auto* e = find_peer(st, peer_id);
          e && std::none_of(st.producers.begin(), st.producers.end(),
                            [&](const producer_info& p) { return p.peer_id == peer_id; }))
        e->publisher = false;
      to_everyone(self, ev, peer_id);
      flags_changed_for(self, peer_id);
      return;
    }
}

void producer_paused(room_actor* self, const producer_paused_update& u) {
  auto& st = self->state;
  for (auto& p : st.producers)
    if (p.producer_id == u.producer_id) {
      p.paused = u.paused;
      tell_live_streamer(self, u);
      flags_changed_for(self, p.peer_id);
      return;
    }
}

void make_own_data_producer(room_actor* self, std::string id) {
  auto& st = self->state;
  auto& list = st.data_producers;
  if (!list.empty() && list.front().peer_id.empty()) {
    self->send_exit(list.front().data_producer, caf::exit_reason::user_shutdown);
    list.erase(list.begin());
  }
  data_producer_info own;
  own.data_producer_id = std::move(id);
  own.label = "room";
  own.data_producer = spawn_data_producer(self, {own.data_producer_id, "", "room", "", {}},
                                          st.ctx);
  // Linked, but a room that ends normally (idle) does not end its links: end it here.
  self->attach_functor([dp = own.data_producer] {
    caf::anon_send_exit(dp, caf::exit_reason::user_shutdown);
  });
  list.insert(list.begin(), std::move(own));
}

void data_producer_added(room_actor* self, data_producer_info& info) {
  auto& st = self->state;
  auto* e = find_peer(st, info.peer_id);
  if (!e || e->peer.address() != caf::actor_cast<caf::actor_addr>(self->current_sender()))
    return; // from a peer replaced meanwhile
  protocol::new_data_producer_event ev{info.data_producer_id, info.peer_id, info.label,
                                       info.protocol};
  auto peer_id = info.peer_id;
  st.data_producers.push_back(std::move(info));
  to_everyone(self, ev, peer_id);
}

void data_producer_gone(room_actor* self, const data_producer_removed& r) {
  auto& st = self->state;
  for (auto it = st.data_producers.begin(); it != st.data_producers.end(); ++it)
    if (it->data_producer_id == r.data_producer_id && !it->peer_id.empty()) {
      protocol::data_producer_closed_event ev{it->data_producer_id, it->peer_id};
      st.data_producers.erase(it);
      to_everyone(self, ev, ev.peer_id);
      return;
    }
}

caf::result<protocol::empty_reply> check_data_publish(room_actor* self,
                                                      const data_publish_check& q) {
  auto& st = self->state;
  auto* e = find_peer(st, q.peer_id);
  if (!e)
    return not_in_room(st, q.peer_id);
  if (!allows(e->grant.permissions, protocol::permission::chat))
    return make_error(protocol::error_code::forbidden, "producing data needs permission chat");
  return protocol::empty_reply{};
}

void list_data_producers(room_actor* self, const data_producers_query& q) {
  auto& st = self->state;
  auto* e = find_peer(st, q.peer_id);
  if (!e)
    return;
  // The data producers there are (the room's own first): new-data-producer for each.
  for (auto& d : st.data_producers)
    if (d.peer_id != q.peer_id)
      self->send(e->session, protocol::new_data_producer_event{d.data_producer_id, d.peer_id,
                                                               d.label, d.protocol});
}

caf::result<data_producer_info> data_producer_for(room_actor* self, const find_data_producer& q) {
  auto& st = self->state;
  if (auto* asker = find_peer(st, q.peer_id);
      asker && !allows(asker->grant.permissions, protocol::permission::subscribe))
    return make_error(protocol::error_code::forbidden,
                      "consuming data needs permission subscribe");
  for (auto& d : st.data_producers)
    if (d.data_producer_id == q.data_producer_id)
      return d;
  return make_error(protocol::error_code::unknown_producer,
                    "no data producer with id '" + q.data_producer_id + "' in room '" +
                      st.id + "'");
}

caf::result<producer_info> producer_for(room_actor* self, const find_producer& q) {
  auto& st = self->state;
  if (auto* asker = find_peer(st, q.peer_id);
      asker && !allows(asker->grant.permissions, protocol::permission::subscribe))
    return make_error(protocol::error_code::forbidden,
                      "consuming needs permission subscribe");
  // The answer names the producing participant (the frontend keys streams by user id).
  if (!q.producer_id.empty()) {
    for (auto& p : st.producers)
      if (p.producer_id == q.producer_id)
        return with_owner(st, p);
    return make_error(protocol::error_code::unknown_producer,
                      "no producer with id '" + q.producer_id + "' in room '" + st.id + "'");
  }
  const auto of_participant = [&](const producer_info& p) {
    if (q.from_participant.empty() || p.peer_id == q.from_participant)
      return true;
    const auto* owner = find_peer(st, p.peer_id);
    return owner && owner->user_id == q.from_participant;
  };
  for (auto& p : st.producers)
    if (p.peer_id != q.peer_id &&
        std::find(q.exclude.begin(), q.exclude.end(), p.producer_id) == q.exclude.end() &&
        (!q.has_rtp_capabilities || rtp::can_consume(p.consumable, q.rtp_capabilities)) &&
        of_participant(p))
      return with_owner(st, p);
  if (!q.from_participant.empty())
    return make_error(protocol::error_code::nothing_to_consume,
                      "participant '" + q.from_participant + "' of room '" + st.id +
                        "' has no producer left that this peer could consume");
  return make_error(protocol::error_code::nothing_to_consume,
                    "room '" + st.id + "' has no producer left that this peer could "
                    "consume (it consumes all the others' producers it can receive); "
                    "try again after a new-producer event");
}

void speaker_named(room_actor* self, dominant_speaker& d) {
  auto& st = self->state;
  if (!find_listed(st, d.producer_id))
    return; // removed meanwhile
  st.active_speaker = std::move(d.producer_id);
  tell_live_streamer(self, dominant_speaker{st.active_speaker});
  if (auto ev = speaker_event(st))
    to_everyone(self, *ev);
}

void levels_reported(room_actor* self, const audio_levels_report& r) {
  auto& st = self->state;
  protocol::audio_levels_event ev;
  const auto n = std::min(r.producer_ids.size(), r.volumes_dbov.size());
  for (size_t i = 0; i < n; ++i)
    if (auto* p = find_listed(st, r.producer_ids[i]))
      ev.levels.push_back({p->peer_id, p->producer_id, r.volumes_dbov[i]});
  if (ev.levels.empty())
    return;
  to_everyone(self, ev);
}

} // namespace chorus::actors::rooms
