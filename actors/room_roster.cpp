#include "actors/room_roster.hpp"

#include "actors/meetings.hpp"
#include "protocol/errors.hpp"

#include <algorithm>

namespace chorus::actors::rooms {

peer_entry* find_peer(room_state& st, const std::string& id) {
  for (auto& p : st.peers)
    if (p.id == id)
      return &p;
  return nullptr;
}

caf::error not_in_room(const room_state& st, const std::string& peer_id) {
  return make_error(protocol::error_code::not_joined,
                    "peer '" + peer_id + "' is not in room '" + st.id + "'");
}

bool is_creator(const room_state& st, const peer_entry& e) {
  return !st.creator.empty() && e.public_id() == st.creator;
}

bool is_host(const room_state& st, const peer_entry& e) {
  return is_creator(st, e) || e.grant.role == "teacher" ||
         std::find(st.hosts.begin(), st.hosts.end(), e.public_id()) != st.hosts.end();
}

bool is_co_host(const room_state& st, const peer_entry& e) {
  return !is_host(st, e) && (e.co_host || e.grant.role == "moderator");
}

int rank_of(const room_state& st, const peer_entry& e) {
  return is_host(st, e) ? 2 : is_co_host(st, e) ? 1 : 0;
}

protocol::participant participant_item(const room_state& st, const peer_entry& p) {
  protocol::participant item;
  item.id = p.id;
  item.name = p.name;
  item.is_audio_muted = p.own_audio_muted.value_or(p.audio_muted);
  item.is_video_paused = p.own_video_paused.value_or(p.video_paused);
  item.user_id = p.public_id();
  item.image_url = p.image_url;
  item.is_host = is_host(st, p);
  item.is_co_host = is_co_host(st, p);
  item.audio_locked = (p.muted & protocol::publish_kinds::audio) != 0;
  item.screen_share_locked = st.screens_locked && rank_of(st, p) == 0;
  item.role = p.grant.role;
  item.is_screen_sharing =
    std::any_of(st.producers.begin(), st.producers.end(), [&](const producer_info& x) {
      return x.peer_id == p.id && x.is_screen_share;
    });
  return item;
}

protocol::participant_list_update_event participant_list(const room_state& st) {
  protocol::participant_list_update_event ev;
  ev.participants.reserve(st.peers.size() - st.audience.count);
  for (auto& p : st.peers)
    if (!p.in_audience)
      ev.participants.push_back(participant_item(st, p));
  return ev;
}

bool apply_identity(room_state& st, peer_entry& e, const identity& id) {
  bool changed = false;
  if (!id.user_id.empty() && id.user_id != e.user_id) {
    e.user_id = id.user_id;
    changed = true;
  }
  if (!id.image_url.empty() && id.image_url != e.image_url) {
    e.image_url = id.image_url;
    changed = true;
  }
  // A room registered as a meeting (POST /api/meetings) has its creator as host.
  if (st.creator.empty() && st.ctx->meetings)
    if (auto m = st.ctx->meetings->find(st.id)) {
      st.creator = m->creator_id;
      changed = true;
    }
  // With auth.mode none the first participant that says it created the room is its host
  // (kept by public id: the host's reconnect is the host again).
  if (id.is_creator && st.creator.empty()) {
    st.creator = e.public_id();
    changed = true;
  }
  return changed;
}

protocol::producer_closed_event closed_event(const room_state& st, const producer_info& p) {
  protocol::producer_closed_event ev;
  ev.producer_id = p.producer_id;
  ev.peer_id = p.peer_id;
  ev.kind = p.kind;
  ev.is_screen_share = p.is_screen_share;
  for (auto& e : st.peers)
    if (e.id == p.peer_id)
      ev.user_id = e.public_id();
  return ev;
}


bool update_flags(room_state& st, peer_entry& e) {
  bool audio_muted = true, video_paused = true;
  for (auto& p : st.producers)
    if (p.peer_id == e.id && !p.paused) {
      if (p.kind == rtp::media_kind::audio)
        audio_muted = false;
      else
        video_paused = false;
    }
  bool changed = audio_muted != e.audio_muted || video_paused != e.video_paused;
  e.audio_muted = audio_muted;
  e.video_paused = video_paused;
  return changed;
}

const producer_info* find_listed(const room_state& st, const std::string& producer_id) {
  for (auto& p : st.producers)
    if (p.producer_id == producer_id)
      return &p;
  return nullptr;
}

std::optional<protocol::active_speaker_event> speaker_event(const room_state& st) {
  auto* p = st.active_speaker.empty() ? nullptr : find_listed(st, st.active_speaker);
  if (!p)
    return std::nullopt;
  protocol::active_speaker_event ev;
  ev.peer_id = p->peer_id;
  ev.producer_id = p->producer_id;
  for (auto& e : st.peers)
    if (e.id == p->peer_id)
      ev.user_id = e.public_id();
  return ev;
}

// Removes the peer at `it`; tells the others: producer-closed for each of its producers,

protocol::room_info_reply room_info(const room_state& st, const peer_entry& asker) {
  protocol::room_info_reply r;
  r.room_id = st.id;
  r.locked = st.locked;
  r.participants = participant_list(st).participants;
  r.role = asker.grant.role;
  r.permissions = permission_names(asker.grant.permissions);
  r.hands = st.hands.items();
  for (auto& p : st.polls)
    r.polls.push_back(p.snapshot());
  r.chat_enabled = allows(asker.grant.permissions, protocol::permission::chat) &&
                   !asker.chat_disabled &&
                   (!st.chat_disabled || allows(asker.grant.permissions, protocol::permission::moderate));
  if (allows(asker.grant.permissions, protocol::permission::moderate)) {
    r.has_blocked = true;
    for (auto& b : st.blocks)
      r.blocked.push_back({b.peer_id, b.user_id, b.reason, b.by, b.until_ms});
  }
  return r;
}

peer_entry* find_target(room_state& st, const std::string& id) {
  if (auto* e = find_peer(st, id))
    return e;
  for (auto& p : st.peers)
    if (p.public_id() == id)
      return &p;
  return nullptr;
}

// Announces a moderator's action to the room, and records it in the class record (every

caf::error need(const peer_entry& e, protocol::permission p, std::string_view what) {
  return make_error(protocol::error_code::forbidden,
                    std::string(what) + " needs permission " + std::string(protocol::to_string(p)));
}

producer_info with_owner(const room_state& st, const producer_info& p) {
  producer_info out = p;
  for (auto& e : st.peers)
    if (e.id == p.peer_id) {
      out.user_id = e.public_id();
      out.user_name = e.name;
    }
  return out;
}

admin_room_snapshot admin_snapshot(const room_state& st) {
  admin_room_snapshot r;
  r.room_id = st.id;
  r.locked = st.locked;
  r.opened_ms = st.opened_ms;
  for (auto& p : st.peers)
    r.participants.push_back(
      {p.id, p.public_id(), p.name, p.grant.role, is_host(st, p), p.joined_ms, p.peer});
  for (auto& p : st.producers)
    r.producers.push_back({p.producer_id, p.peer_id,
                           p.kind == rtp::media_kind::audio ? "audio" : "video", p.paused,
                           p.is_screen_share});
  return r;
}

} // namespace chorus::actors::rooms
