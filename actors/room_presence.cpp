// The room's presence: joins, reconnects and departures, and the participant list everyone
// is sent.
#include "actors/room_actor.hpp"

#include "actors/clock.hpp"
#include "actors/events.hpp"
#include "actors/peer.hpp"
#include "actors/recorder.hpp"
#include "actors/room_audience.hpp"
#include "actors/room_journal.hpp"
#include "actors/room_roster.hpp"
#include "actors/room_rules.hpp"
#include "common/log.hpp"
#include "net/rate_limiter.hpp"
#include "protocol/reply_json.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>

namespace chorus::actors::rooms {

// One message for all: the list is written as JSON once (not once per peer) and the
// sessions share the message (their handler takes it by const reference: no copy).
void send_participants_now(room_actor* self) {
  auto& st = self->state;
  auto ev = participant_list(st);
  protocol::prepare_json(ev);
  st.last_list = caf::make_message(std::move(ev));
  to_everyone(self, st.last_list);
}

void audience_changed(room_actor* self) {
  auto& a = self->state.audience;
  schedule_sync(self);
  if (a.update_scheduled)
    return;
  a.update_scheduled = true;
  const int64_t now = mono_ms();
  const int64_t due = a.last_update_ms == 0 ? now : a.last_update_ms + audience_update_interval_ms;
  if (due <= now)
    self->send(self, flush_audience_atom::value);
  else
    self->delayed_send(self, std::chrono::milliseconds(due - now), flush_audience_atom::value);
}

void send_audience_update(room_actor* self) {
  auto& st = self->state;
  st.audience.update_scheduled = false;
  st.audience.last_update_ms = mono_ms();
  const caf::message msg = caf::make_message(take_audience_update(st));
  to_everyone(self, msg);
}

void apply_audience_change(room_actor* self, const audience_change& change) {
  if (change.listed)
    broadcast_participants(self);
  else
    schedule_sync(self);
  if (change.audience)
    audience_changed(self);
}

void review_audience(room_actor* self) {
  auto& st = self->state;
  auto change = audience_review(st, st.ctx->limits.roster_limit);
  if (change.listed || change.audience)
    apply_audience_change(self, change);
}

void welcome(room_actor* self, const peer_entry& e) {
  auto& st = self->state;
  if (st.audience.active || st.audience.count > 0)
    self->send(e.session, audience_now(st));
  if (!e.in_audience)
    return; // the list that the join set due reaches it
  if (st.last_list.empty()) {
    auto ev = participant_list(st);
    protocol::prepare_json(ev);
    st.last_list = caf::make_message(std::move(ev));
  }
  self->send(e.session, st.last_list);
}

caf::result<protocol::participants_page_reply> participants(room_actor* self,
                                                            const participants_query& q) {
  auto& st = self->state;
  auto* e = find_peer(st, q.peer_id);
  if (!e)
    return not_in_room(st, q.peer_id);
  if (!allows(e->grant.permissions, protocol::permission::moderate))
    return need(*e, protocol::permission::moderate, "get-participants");
  return participants_page(st, q.request);
}

// participant-list-update carries the whole list to every peer, so a room that N peers
// join costs O(N^2) events of O(N) size. Changes are therefore coalesced: the list goes
// out once per interval, which grows with the room (50 ms, up to 2 s at 1000 peers).
void broadcast_participants(room_actor* self) {
  auto& st = self->state;
  schedule_sync(self);
  if (st.list_flush_scheduled)
    return;
  st.list_flush_scheduled = true;
  auto interval = std::chrono::milliseconds(
    std::clamp<int64_t>(int64_t(st.peers.size()) * 2, 50, 2000));
  self->delayed_send(self, interval, flush_participants_atom::value);
}

void flags_changed_for(room_actor* self, const std::string& peer_id) {
  if (auto* e = find_peer(self->state, peer_id); e && update_flags(self->state, *e))
    broadcast_participants(self);
}

// Written as JSON once and sent as one shared message, as the participant list: a chat
// message to a lecture of a thousand is one serialization, not a thousand.
void send_to_all(room_actor* self, const protocol::class_event& ev) {
  auto prepared = ev;
  protocol::prepare_json(prepared);
  class_emit(self, [self, msg = caf::make_message(std::move(prepared))] { to_everyone(self, msg); });
}

// The whole queue goes to everyone, so a lecture where hundreds raise their hands would
// send it hundreds of times: at most once per hands_update_interval_ms (the first change
// after a quiet interval at once, later ones gathered at the interval's end).
void send_hands(room_actor* self) {
  auto& t = self->state.hands_throttle;
  if (t.scheduled)
    return;
  const int64_t now = mono_ms();
  const int64_t wait = t.last_sent_ms == 0 ? 0 : t.last_sent_ms + hands_update_interval_ms - now;
  if (wait > 0) {
    t.scheduled = true;
    self->delayed_send(self, std::chrono::milliseconds(wait), flush_hands_atom::value);
    return;
  }
  t.last_sent_ms = now;
  protocol::class_event ev;
  ev.kind = protocol::class_event_kind::hands_update;
  ev.hands = self->state.hands.items();
  send_to_all(self, ev);
}

void flush_hands(room_actor* self) {
  self->state.hands_throttle.scheduled = false;
  send_hands(self);
}

void remove_peer_at(room_actor* self, std::vector<peer_entry>::iterator it,
                    const caf::actor_addr& who) {
  auto& st = self->state;
  std::vector<protocol::producer_closed_event> closed;
  for (auto& p : st.producers)
    if (p.peer_id == it->id)
      closed.push_back(closed_event(st, p));
  auto entry = std::move(*it);
  st.peers.erase(it);
  const auto change = audience_leave(st, entry, st.ctx->limits.roster_limit);
  for (auto& p : st.producers)
    if (p.peer_id == entry.id)
      unobserve(self, p);
  std::erase_if(st.producers, [&](const producer_info& p) { return p.peer_id == entry.id; });
  for (auto& ev : closed)
    to_everyone(self, ev);
  for (auto it = st.data_producers.begin(); it != st.data_producers.end();) {
    if (it->peer_id != entry.id) {
      ++it;
      continue;
    }
    protocol::data_producer_closed_event ev{it->data_producer_id, entry.id};
    it = st.data_producers.erase(it);
    to_everyone(self, ev);
  }
  st.ctx->counters->peers.fetch_sub(1);
  if (st.gauges) {
    st.gauges->peers.store(static_cast<int64_t>(st.peers.size()), std::memory_order_relaxed);
    st.gauges->producers.store(static_cast<int64_t>(st.producers.size()), std::memory_order_relaxed);
  }
  self->demonitor(entry.session);
  self->send_exit(entry.peer, caf::exit_reason::user_shutdown);
  if (entry.peer.address() == who) // the peer actor failed: end its session too
    self->send(entry.session, peer_lost_atom::value);
  LOG_INFO_IDS("room", (log::ids{.room = st.id, .peer = entry.id}),
               "'" << st.id << "': peer '" << entry.id << "' left (" << st.peers.size()
                   << " remain)");
  record(self, *st.ctx, store::peer_left{st.id, entry.id, wall_ms()});
  emit_event(*st.ctx, participant_left(st, entry, wall_ms(),
                                       static_cast<int64_t>(st.peers.size()),
                                       departure_reason(st)));
  if (!entry.in_audience) {
    protocol::participant_left_event left{entry.id, entry.public_id()};
    to_everyone(self, left);
  }
  if (st.hands.lower(entry.id))
    send_hands(self);
  apply_audience_change(self, change);
  if (st.peers.empty())
    self->send(st.node, room_idle{st.id});
}

void remove_peer(room_actor* self, const caf::actor_addr& who) {
  auto& st = self->state;
  auto it = std::find_if(st.peers.begin(), st.peers.end(), [&](const peer_entry& p) {
    return p.session.address() == who || p.peer.address() == who;
  });
  if (it != st.peers.end())
    remove_peer_at(self, it, who);
}

namespace {

// The joiner's peer actor: the one its node made (a client on another node of the cluster;
// linked here, so that either end's loss is seen), else a new one on this node.
caf::actor peer_for(room_actor* self, const join_command& cmd) {
  if (cmd.peer) {
    self->link_to(cmd.peer);
    return cmd.peer;
  }
  return spawn_peer(self, self->state.node, cmd.peer_id, self->state.id, cmd.session,
                    self->state.ctx);
}

} // namespace

join_result make_join_result(room_actor* self, const peer_entry& e) {
  join_result r;
  r.room = caf::actor_cast<caf::actor>(self);
  r.peer = e.peer;
  r.is_host = is_host(self->state, e);
  r.is_co_host = is_co_host(self->state, e);
  for (auto& p : self->state.producers)
    if (p.peer_id != e.id)
      r.existing_producers.push_back(p.producer_id);
  return r;
}

// room-finished comes when the state ends (~room_state), after the remaining departures;
// not for a room handed over.
void announce_start(room_actor* self, const char* reason) {
  auto& st = self->state;
  if (st.start_announced)
    return;
  st.start_announced = true;
  if (!st.ctx->events)
    return;
  emit_event(*st.ctx, room_started(st, reason));
}

caf::expected<join_result> join(room_actor* self, join_command& cmd) {
  auto& st = self->state;
  if (auto refused = admission(st, cmd, wall_ms()))
    return *refused;
  // Another connection of the same user (a reload, a second tab) replaces the older
  // one when its token proves the same subject (admission() refused it otherwise).
  if (!cmd.identity.user_id.empty()) {
    auto same_user = std::find_if(st.peers.begin(), st.peers.end(), [&](const peer_entry& p) {
      return p.id != cmd.peer_id && p.public_id() == cmd.identity.user_id;
    });
    if (same_user != st.peers.end()) {
      LOG_INFO("room", "'" << st.id << "': user '" << cmd.identity.user_id
                           << "' reconnected as peer '" << cmd.peer_id << "'");
      self->send(same_user->session, replaced_atom::value);
      remove_peer_at(self, same_user, caf::actor_addr{});
    }
  }
  if (auto* existing = find_peer(st, cmd.peer_id)) {
    // Reconnect with a token for the same subject: the newer connection replaces the
    // older one.
    LOG_INFO("room", "'" << st.id << "': peer '" << cmd.peer_id << "' reconnected");
    self->demonitor(existing->session);
    self->send(existing->session, replaced_atom::value);
    auto old_peer = existing->peer;
    existing->peer = nullptr; // its exit must not look like this entry's departure
    self->send_exit(old_peer, caf::exit_reason::user_shutdown);
    existing->session = cmd.session;
    for (auto& p : st.producers)
      if (p.peer_id == cmd.peer_id)
        unobserve(self, p);
    std::erase_if(st.producers,
                  [&](const producer_info& p) { return p.peer_id == cmd.peer_id; });
    existing->name = cmd.name.empty() ? cmd.peer_id : cmd.name;
    existing->audio_muted = existing->video_paused = true;
    existing->has_rtp_capabilities = cmd.has_rtp_capabilities;
    existing->rtp_capabilities = std::move(cmd.rtp_capabilities);
    existing->own_audio_muted.reset();
    existing->own_video_paused.reset();
    existing->publisher = false;
    // A moderator's mute and revocations stay with the participant across reconnects.
    apply_identity(st, *existing, cmd.identity);
    existing->peer = peer_for(self, cmd);
    existing->edge_node = cmd.peer ? cmd.edge_node : caf::actor{};
    existing->copy_sent.clear();
    self->monitor(existing->session);
    auto result = make_join_result(self, *existing);
    const auto change = audience_review(st, st.ctx->limits.roster_limit);
    apply_audience_change(self, {.listed = change.listed || !existing->in_audience, .audience = change.audience});
    catch_up(self, existing->session);
    welcome(self, *existing);
    return result;
  }
  peer_entry e;
  e.id = cmd.peer_id;
  e.name = cmd.name.empty() ? cmd.peer_id : cmd.name;
  e.session = cmd.session;
  e.has_rtp_capabilities = cmd.has_rtp_capabilities;
  e.rtp_capabilities = std::move(cmd.rtp_capabilities);
  e.grant = std::move(cmd.grant);
  e.chat_bucket = token_bucket{st.ctx->settings.chat_rate_per_s, st.ctx->settings.chat_burst,
                               net::bucket_ns(std::chrono::steady_clock::now())};
  apply_identity(st, e, cmd.identity);
  e.joined_ms = wall_ms();
  e.peer = peer_for(self, cmd);
  if (cmd.peer)
    e.edge_node = cmd.edge_node;
  self->monitor(e.session);
  record(self, *st.ctx,
         store::peer_joined{st.id, e.id, e.user_id, e.name, e.grant.role, wall_ms()});
  st.peers.push_back(std::move(e));
  st.ctx->counters->peers.fetch_add(1);
  if (st.gauges)
    st.gauges->peers.store(static_cast<int64_t>(st.peers.size()), std::memory_order_relaxed);
  LOG_INFO_IDS("room", (log::ids{.room = st.id, .peer = cmd.peer_id}),
               "'" << st.id << "': peer '" << cmd.peer_id << "' joined (" << st.peers.size()
                   << " peers)");
  announce_start(self, "");
  emit_event(*st.ctx, participant_joined(st, st.peers.back()));
  auto& joined = st.peers.back();
  auto result = make_join_result(self, joined);
  apply_audience_change(self, audience_join(st, joined, st.ctx->limits.roster_limit));
  catch_up(self, joined.session);
  welcome(self, joined);
  return result;
}

join_batch_reply join_all(room_actor* self, join_batch& batch) {
  join_batch_reply out;
  answer_each(batch.commands, out.results, out.errors,
              [self](join_command& cmd) { return join(self, cmd); });
  return out;
}

caf::result<join_result> update_peer(room_actor* self, peer_update& upd) {
  auto* e = find_peer(self->state, upd.peer_id);
  if (!e)
    return not_in_room(self->state, upd.peer_id);
  if (!upd.identity.user_id.empty())
    for (auto& p : self->state.peers)
      if (&p != e && p.public_id() == upd.identity.user_id)
        return make_error(protocol::error_code::id_taken,
                          "user id '" + upd.identity.user_id +
                            "' is connected to this room on another connection");
  if (upd.has_rtp_capabilities) {
    e->has_rtp_capabilities = true;
    e->rtp_capabilities = std::move(upd.rtp_capabilities);
    e->copy_sent.clear();
    schedule_sync(self);
  }
  bool changed = false;
  if (!upd.name.empty() && upd.name != e->name) {
    e->name = upd.name;
    changed = true;
  }
  changed = apply_identity(self->state, *e, upd.identity) || changed;
  auto result = make_join_result(self, *e);
  if (changed && !e->in_audience)
    broadcast_participants(self);
  review_audience(self); // a creator's claim makes a host
  return result;
}

caf::result<protocol::empty_reply> update_own_state(room_actor* self, own_state_update& u) {
  auto& st = self->state;
  auto* e = find_peer(st, u.peer_id);
  if (!e)
    return not_in_room(st, u.peer_id);
  protocol::participant_state_changed_event ev;
  ev.peer_id = e->id;
  ev.user_id = e->public_id();
  if (u.state.has_audio_muted) {
    e->own_audio_muted = u.state.audio_muted;
    ev.has_audio_muted = true;
    ev.audio_muted = u.state.audio_muted;
  }
  if (u.state.has_video_paused) {
    e->own_video_paused = u.state.video_paused;
    ev.has_video_paused = true;
    ev.video_paused = u.state.video_paused;
  }
  if (e->in_audience) // not listed: nobody shows its flags
    return protocol::empty_reply{};
  to_everyone(self, ev, u.peer_id);
  broadcast_participants(self);
  return protocol::empty_reply{};
}

caf::result<protocol::socket_id_reply> socket_id(room_actor* self,
                                                 const protocol::get_socket_id_request& q) {
  auto& st = self->state;
  // The newest connection of that user id (or a peer id given as the user id).
  for (auto it = st.peers.rbegin(); it != st.peers.rend(); ++it)
    if (it->public_id() == q.user_id)
      return protocol::socket_id_reply{it->id};
  for (auto& p : st.peers)
    if (p.id == q.user_id)
      return protocol::socket_id_reply{p.id};
  return make_error(protocol::error_code::unknown_user,
                    "no participant with user id '" + q.user_id + "' in room '" + st.id +
                      "'");
}

} // namespace chorus::actors::rooms
