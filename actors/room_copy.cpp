#include "actors/room_copy.hpp"

#include <algorithm>
#include <utility>

namespace chorus::actors::rooms {

participant_snapshot snapshot_of(const peer_entry& e) {
  participant_snapshot s;
  s.peer_id = e.id;
  s.name = e.name;
  s.has_rtp_capabilities = e.has_rtp_capabilities;
  s.rtp_capabilities = e.rtp_capabilities;
  s.user_id = e.user_id;
  s.image_url = e.image_url;
  s.grant = e.grant;
  s.muted = e.muted;
  s.publisher = e.publisher;
  s.chat_disabled = e.chat_disabled;
  s.co_host = e.co_host;
  s.own_audio_muted = e.own_audio_muted ? int8_t(*e.own_audio_muted) : int8_t(-1);
  s.own_video_paused = e.own_video_paused ? int8_t(*e.own_video_paused) : int8_t(-1);
  s.joined_ms = e.joined_ms;
  return s;
}

std::string copy_key(const peer_entry& e) {
  std::string k;
  for (auto* f : {&e.name, &e.user_id, &e.image_url, &e.grant.subject, &e.grant.role}) {
    k += *f;
    k += '\0';
  }
  k += std::to_string(e.grant.permissions) + ',' + std::to_string(e.muted) + ',' +
       char('0' + e.publisher) + char('0' + e.chat_disabled) + char('0' + e.co_host) +
       char('0' + e.has_rtp_capabilities) +
       char(e.own_audio_muted ? '0' + *e.own_audio_muted : '-') +
       char(e.own_video_paused ? '0' + *e.own_video_paused : '-');
  return k;
}

room_snapshot room_copy(const room_state& st) {
  room_snapshot s;
  s.room_id = st.id;
  s.version = st.version;
  s.creator = st.creator;
  s.hosts = st.hosts;
  s.locked = st.locked;
  s.screens_locked = st.screens_locked;
  s.chat_disabled = st.chat_disabled;
  s.blocks = st.blocks;
  s.roster.reserve(st.peers.size());
  for (auto& e : st.peers)
    s.roster.push_back({e.id, e.public_id()});
  if (!st.data_producers.empty() && st.data_producers.front().peer_id.empty())
    s.own_data_producer_id = st.data_producers.front().data_producer_id;
  if (st.media_recorder && !st.recording_stopping) {
    s.recording_id = st.recording_id;
    s.recording_by = st.recording_by;
    s.recording_started_ms = st.recording_started_ms;
    s.recording_node = st.ctx->settings.node_id;
  }
  return s;
}

peer_entry entry_of(const participant_snapshot& snap) {
  peer_entry e;
  e.id = snap.peer_id;
  e.name = snap.name;
  e.has_rtp_capabilities = snap.has_rtp_capabilities;
  e.rtp_capabilities = snap.rtp_capabilities;
  e.user_id = snap.user_id;
  e.image_url = snap.image_url;
  e.grant = snap.grant;
  e.muted = snap.muted;
  e.publisher = snap.publisher;
  e.chat_disabled = snap.chat_disabled;
  e.co_host = snap.co_host;
  if (snap.own_audio_muted >= 0)
    e.own_audio_muted = snap.own_audio_muted != 0;
  if (snap.own_video_paused >= 0)
    e.own_video_paused = snap.own_video_paused != 0;
  e.joined_ms = snap.joined_ms;
  return e;
}

bool copy_changed(const room_snapshot& now, const room_snapshot& last,
                  const std::vector<caf::actor>& holders, const std::vector<caf::actor>& had) {
  return now.creator != last.creator || now.hosts != last.hosts || now.locked != last.locked ||
         now.screens_locked != last.screens_locked || now.chat_disabled != last.chat_disabled ||
         now.blocks != last.blocks || now.roster != last.roster ||
         now.own_data_producer_id != last.own_data_producer_id ||
         now.recording_id != last.recording_id || holders != had;
}

class_state class_copy(const room_state& st, int64_t now_ms) {
  class_state cls;
  cls.present = true;
  cls.hands = st.hands.items();
  cls.chat = st.chat.items();
  cls.next_chat_id = st.next_chat_id;
  cls.next_poll_id = st.next_poll_id;
  for (auto& p : st.polls) {
    poll_record r;
    r.item = p.snapshot();
    for (auto& [voter, choices] : p.votes()) {
      r.voters.push_back(voter);
      r.choices.push_back(choices);
    }
    cls.polls.push_back(std::move(r));
  }
  cls.applied = st.applied.items(now_ms);
  return cls;
}

bool apply_room_copy(room_state& st, const room_snapshot& r) {
  if (r.room_id.empty() || (st.restored && r.version <= st.version))
    return false;
  if (!r.creator.empty())
    st.creator = r.creator;
  st.hosts = r.hosts;
  st.locked = r.locked;
  st.screens_locked = r.screens_locked;
  st.chat_disabled = r.chat_disabled;
  st.blocks = r.blocks;
  st.version = std::max(st.version, r.version);
  st.restored = true;
  return true;
}

void restore_class(room_state& st, const class_state& cls, int64_t now_ms) {
  st.class_restored = true;
  for (auto& h : cls.hands)
    st.hands.raise(h.peer_id, h.user_id, h.name, h.raised_at);
  auto later = st.chat.items();
  st.chat = protocol::chat_history{st.ctx->settings.chat_history};
  for (auto& m : cls.chat)
    st.chat.add(m);
  for (auto& m : later)
    st.chat.add(std::move(m));
  st.next_chat_id = std::max(st.next_chat_id, cls.next_chat_id);
  for (auto& r : cls.polls) {
    std::string error;
    auto p = protocol::poll::make(r.item.id, r.item.question, r.item.options, r.item.multiple,
                                  r.item.anonymous, r.item.by, r.item.created_at, error);
    if (!p)
      continue;
    for (std::size_t i = 0; i < r.voters.size() && i < r.choices.size(); ++i)
      p->vote(r.voters[i], r.choices[i]);
    if (r.item.closed)
      p->close();
    st.polls.push_back(std::move(*p));
  }
  st.next_poll_id = std::max(st.next_poll_id, cls.next_poll_id);
  st.applied.merge(cls.applied, now_ms);
}

} // namespace chorus::actors::rooms
