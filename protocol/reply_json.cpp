#include "protocol/reply_json.hpp"

#include <array>
#include <type_traits>
#include <utility>

namespace chorus::protocol {

namespace {

void key(json_writer& w, std::string_view k) {
  w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}

void member(json_writer& w, std::string_view k, std::string_view s) {
  key(w, k);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void write_string_array(json_writer& w, const std::vector<std::string>& items) {
  w.StartArray();
  for (const auto& s : items)
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  w.EndArray();
}

// ---- replies ------------------------------------------------------------------------------

void write_reply(json_writer& w, request_style, const empty_reply&, bool) {
  w.StartObject();
  w.EndObject();
}

// seed 001 and seed 000: the capabilities themselves; seed 004: { rtpCapabilities }.
void write_reply(json_writer& w, request_style style, const rtp_capabilities_reply& r, bool) {
  if (style != request_style::seed004) {
    write_raw(w, r.json);
    return;
  }
  w.StartObject();
  key(w, "rtpCapabilities");
  write_raw(w, r.json);
  w.EndObject();
}

// { existingProducers }; the seed 004 frontend's: { success, existingProducers, isHost,
// isCoHost }.
void write_reply(json_writer& w, request_style, const join_room_reply& r, bool frontend) {
  w.StartObject();
  if (frontend) {
    key(w, "success");
    w.Bool(true);
  }
  key(w, "existingProducers");
  write_string_array(w, r.existing_producers);
  if (frontend) {
    key(w, "isHost");
    w.Bool(r.is_host);
    key(w, "isCoHost");
    w.Bool(r.is_co_host);
  }
  w.EndObject();
}

void write_reply(json_writer& w, request_style, const socket_id_reply& r, bool) {
  w.StartObject();
  member(w, "socketId", r.socket_id);
  w.EndObject();
}

// seed 001 and seed 000: { id, iceParameters, ... }; seed 004: { params: { id, ... } }.
void write_reply(json_writer& w, request_style style, const transport_params_reply& r, bool) {
  if (style != request_style::seed004) {
    write_json(w, r.params);
    return;
  }
  w.StartObject();
  key(w, "params");
  write_json(w, r.params);
  w.EndObject();
}

void write_reply(json_writer& w, request_style, const restart_ice_reply& r, bool) {
  w.StartObject();
  key(w, "iceParameters");
  write_json(w, r.ice_parameters);
  w.EndObject();
}

// { id }; seed 000's flow reads the new producer's id as `producerId`: { id, producerId }.
void write_reply(json_writer& w, request_style style, const producer_id_reply& r, bool) {
  w.StartObject();
  member(w, "id", r.id);
  if (style == request_style::seed000)
    member(w, "producerId", r.id);
  w.EndObject();
}

void write_reply(json_writer& w, request_style, const consumer_params_reply& r, bool frontend) {
  w.StartObject();
  member(w, "id", r.id);
  member(w, "producerId", r.producer_id);
  member(w, "kind", rtp::to_string(r.kind));
  key(w, "rtpParameters");
  write_json(w, r.rtp_parameters);
  member(w, "type", r.type);
  key(w, "producerPaused");
  w.Bool(r.producer_paused);
  if (!r.peer_id.empty())
    member(w, "peerId", r.peer_id);
  if (!r.source.empty() && !frontend) // as new-producer says it (the frontend has isScreenShare)
    member(w, "source", r.source);
  if (frontend) { // who produces, and what: the frontend keys streams by userId
    member(w, "userId", r.user_id.empty() ? r.peer_id : r.user_id);
    member(w, "userName", r.user_name);
    member(w, "producerSocketId", r.peer_id);
    key(w, "isScreenShare");
    w.Bool(r.is_screen_share);
    key(w, "appData");
    write_raw(w, r.app_data);
  }
  w.EndObject();
}

void write_sctp_stream(json_writer& w, const sctp_stream_parameters& p) {
  w.StartObject();
  key(w, "streamId");
  w.Uint(p.stream_id);
  key(w, "ordered");
  w.Bool(p.ordered);
  if (p.has_max_packet_life_time) {
    key(w, "maxPacketLifeTime");
    w.Uint(p.max_packet_life_time);
  }
  if (p.has_max_retransmits) {
    key(w, "maxRetransmits");
    w.Uint(p.max_retransmits);
  }
  w.EndObject();
}

// consume-data: { id, dataProducerId, sctpStreamParameters, label, protocol, appData, peerId }
void write_reply(json_writer& w, request_style, const data_consumer_params_reply& r, bool) {
  w.StartObject();
  member(w, "id", r.id);
  member(w, "dataProducerId", r.data_producer_id);
  key(w, "sctpStreamParameters");
  write_sctp_stream(w, r.stream);
  member(w, "label", r.label);
  member(w, "protocol", r.protocol);
  key(w, "appData");
  write_raw(w, r.app_data);
  member(w, "peerId", r.peer_id);
  w.EndObject();
}

void write_hand(json_writer& w, const hand_item& h) {
  w.StartObject();
  member(w, "peerId", h.peer_id);
  member(w, "userId", h.user_id.empty() ? h.peer_id : h.user_id);
  member(w, "name", h.name);
  key(w, "raisedAt");
  w.Int64(h.raised_at);
  w.EndObject();
}

// The seed 004 frontend's message object.
void write_frontend_message(json_writer& w, const chat_item& m) {
  w.StartObject();
  member(w, "id", m.client_id.empty() ? m.id : m.client_id);
  member(w, "text", m.text);
  key(w, "createdAt");
  w.Int64(m.at);
  key(w, "pinned");
  w.Bool(m.pinned);
  key(w, "sender");
  w.StartObject();
  member(w, "id", m.user_id.empty() ? m.from : m.user_id);
  member(w, "name", m.name);
  if (!m.avatar_url.empty())
    member(w, "avatarUrl", m.avatar_url);
  w.EndObject();
  if (!m.reply_to.empty()) {
    key(w, "replyTo");
    write_raw(w, m.reply_to);
  }
  if (!m.reactions.empty()) {
    key(w, "reactions");
    w.StartObject();
    for (const auto& r : m.reactions) {
      key(w, r.emoji);
      write_string_array(w, r.user_ids);
    }
    w.EndObject();
  }
  w.EndObject();
}

// A chat message; the frontend's shape is { socketId, message } (socketId: the sender's,
// or `socket_id` when given, "system" in the history).
void write_chat(json_writer& w, const chat_item& m, bool frontend,
                std::string_view socket_id = {}) {
  if (frontend) {
    w.StartObject();
    member(w, "socketId", socket_id.empty() ? std::string_view{m.from} : socket_id);
    key(w, "message");
    write_frontend_message(w, m);
    w.EndObject();
    return;
  }
  w.StartObject();
  member(w, "id", m.id);
  member(w, "from", m.from);
  member(w, "userId", m.user_id.empty() ? m.from : m.user_id);
  member(w, "name", m.name);
  member(w, "text", m.text);
  if (!m.to.empty())
    member(w, "to", m.to);
  key(w, "at");
  w.Int64(m.at);
  w.EndObject();
}

void write_poll(json_writer& w, const poll_item& p) {
  w.StartObject();
  member(w, "pollId", p.id);
  member(w, "question", p.question);
  key(w, "options");
  write_string_array(w, p.options);
  key(w, "multiple");
  w.Bool(p.multiple);
  key(w, "anonymous");
  w.Bool(p.anonymous);
  key(w, "closed");
  w.Bool(p.closed);
  key(w, "counts");
  w.StartArray();
  for (auto c : p.counts)
    w.Uint(c);
  w.EndArray();
  key(w, "voters");
  w.Uint(p.voters);
  member(w, "by", p.by);
  key(w, "createdAt");
  w.Int64(p.created_at);
  w.EndObject();
}

// { roomId, locked, participants, role, permissions, blocked? (moderators only) }
void write_reply(json_writer& w, request_style, const room_info_reply& r, bool frontend) {
  w.StartObject();
  member(w, "roomId", r.room_id);
  key(w, "locked");
  w.Bool(r.locked);
  key(w, "participants");
  w.StartArray();
  for (const auto& p : r.participants)
    write_json(w, p, frontend);
  w.EndArray();
  if (!r.role.empty())
    member(w, "role", r.role);
  key(w, "permissions");
  write_string_array(w, r.permissions);
  key(w, "chatEnabled");
  w.Bool(r.chat_enabled);
  key(w, "hands");
  w.StartArray();
  for (const auto& h : r.hands)
    write_hand(w, h);
  w.EndArray();
  key(w, "polls");
  w.StartArray();
  for (const auto& p : r.polls)
    write_poll(w, p);
  w.EndArray();
  if (r.has_blocked) {
    key(w, "blocked");
    w.StartArray();
    for (const auto& b : r.blocked) {
      w.StartObject();
      member(w, "peerId", b.peer_id);
      member(w, "userId", b.user_id);
      if (!b.reason.empty())
        member(w, "reason", b.reason);
      member(w, "by", b.by);
      if (b.until_ms > 0) {
        key(w, "until");
        w.Int64(b.until_ms);
      }
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
}

void write_reply(json_writer& w, request_style, const class_reply& r, bool) {
  w.StartObject();
  if (!r.key.empty())
    member(w, r.key, r.id);
  w.EndObject();
}

void write_reply(json_writer& w, request_style, const plain_transport_reply& r, bool) {
  w.StartObject();
  member(w, "id", r.id);
  member(w, "ip", r.ip);
  key(w, "port");
  w.Uint(r.port);
  if (r.rtcp_port != 0) {
    key(w, "rtcpPort");
    w.Uint(r.rtcp_port);
  }
  // mediasoup's names: tuple / rtcpTuple, for clients written against it
  key(w, "tuple");
  w.StartObject();
  member(w, "localIp", r.ip);
  key(w, "localPort");
  w.Uint(r.port);
  member(w, "protocol", "udp");
  w.EndObject();
  if (r.rtcp_port != 0) {
    key(w, "rtcpTuple");
    w.StartObject();
    member(w, "localIp", r.ip);
    key(w, "localPort");
    w.Uint(r.rtcp_port);
    member(w, "protocol", "udp");
    w.EndObject();
  }
  if (r.has_srtp) {
    key(w, "srtpParameters");
    w.StartObject();
    member(w, "cryptoSuite", r.srtp_suite);
    member(w, "keyBase64", r.srtp_key_base64);
    w.EndObject();
  }
  w.EndObject();
}

void write_reply(json_writer& w, request_style, const stats_reply& r, bool) {
  write_raw(w, r.json);
}

// ---- events -------------------------------------------------------------------------------

void write_event(json_writer& w, const participant_list_update_event& e, bool frontend) {
  if (e.written) {
    w.RawValue((*e.written)[frontend].data(), (*e.written)[frontend].size(),
               rapidjson::kArrayType);
    return;
  }
  w.StartArray();
  for (const auto& p : e.participants)
    write_json(w, p, frontend);
  w.EndArray();
}

void write_event(json_writer& w, const participant_left_event& e, bool frontend) {
  w.StartObject();
  member(w, "peerId", e.peer_id);
  if (frontend)
    member(w, "userId", e.user_id.empty() ? e.peer_id : e.user_id);
  w.EndObject();
}

void write_event(json_writer& w, const new_producer_event& e, bool frontend) {
  w.StartObject();
  member(w, "producerId", e.producer_id);
  member(w, "peerId", e.peer_id);
  if (frontend) {
    member(w, "userId", e.user_id.empty() ? e.peer_id : e.user_id);
    member(w, "userName", e.user_name);
  }
  member(w, "kind", rtp::to_string(e.kind));
  if (frontend) {
    key(w, "isScreenShare");
    w.Bool(e.is_screen_share);
  }
  if (!e.source.empty())
    member(w, "source", e.source);
  w.EndObject();
}

void write_event(json_writer& w, const producer_closed_event& e, bool frontend) {
  w.StartObject();
  member(w, "producerId", e.producer_id);
  if (frontend) {
    member(w, "peerId", e.peer_id);
    member(w, "userId", e.user_id.empty() ? e.peer_id : e.user_id);
    member(w, "kind", rtp::to_string(e.kind));
    key(w, "isScreenShare");
    w.Bool(e.is_screen_share);
  }
  w.EndObject();
}

void write_event(json_writer& w, const participant_state_changed_event& e, bool) {
  w.StartObject();
  member(w, "userId", e.user_id.empty() ? e.peer_id : e.user_id);
  member(w, "peerId", e.peer_id);
  if (e.has_audio_muted) {
    key(w, "isAudioMuted");
    w.Bool(e.audio_muted);
  }
  if (e.has_video_paused) {
    key(w, "isVideoPaused");
    w.Bool(e.video_paused);
  }
  w.EndObject();
}

void write_event(json_writer& w, const consumer_closed_event& e, bool) {
  w.StartObject();
  member(w, "consumerId", e.consumer_id);
  member(w, "producerId", e.producer_id);
  w.EndObject();
}

void write_event(json_writer& w, const consumer_layers_event& e, bool) {
  w.StartObject();
  member(w, "consumerId", e.consumer_id);
  if (e.spatial_layer < 0) { // mediasoup: null when nothing is forwarded
    key(w, "spatialLayer");
    w.Null();
    key(w, "temporalLayer");
    w.Null();
  } else {
    key(w, "spatialLayer");
    w.Int(e.spatial_layer);
    key(w, "temporalLayer");
    w.Int(e.temporal_layer);
  }
  w.EndObject();
}

void write_event(json_writer& w, const producer_layers_unused_event& e, bool) {
  w.StartObject();
  member(w, "producerId", e.producer_id);
  key(w, "spatialLayers");
  w.StartArray();
  for (auto s : e.spatial_layers)
    w.Uint(s);
  w.EndArray();
  w.EndObject();
}

void write_event(json_writer& w, const consumer_score_event& e, bool) {
  w.StartObject();
  member(w, "consumerId", e.consumer_id);
  key(w, "score");
  w.Uint(e.score);
  if (e.producer_score >= 0) {
    key(w, "producerScore");
    w.Int(e.producer_score);
    key(w, "producerScores");
    w.StartArray();
    for (auto v : e.producer_scores)
      w.Uint(v);
    w.EndArray();
  }
  w.EndObject();
}

void write_event(json_writer& w, const new_data_producer_event& e, bool) {
  w.StartObject();
  member(w, "dataProducerId", e.data_producer_id);
  member(w, "peerId", e.peer_id);
  member(w, "label", e.label);
  member(w, "protocol", e.protocol);
  w.EndObject();
}

void write_event(json_writer& w, const data_producer_closed_event& e, bool) {
  w.StartObject();
  member(w, "dataProducerId", e.data_producer_id);
  member(w, "peerId", e.peer_id);
  w.EndObject();
}

void write_event(json_writer& w, const data_consumer_closed_event& e, bool) {
  w.StartObject();
  member(w, "dataConsumerId", e.data_consumer_id);
  member(w, "dataProducerId", e.data_producer_id);
  w.EndObject();
}

void write_event(json_writer& w, const producer_paused_event& e, bool) {
  w.StartObject();
  member(w, "producerId", e.producer_id);
  if (e.by_moderator) {
    key(w, "byModerator");
    w.Bool(true);
  }
  w.EndObject();
}

void write_kinds(json_writer& w, uint8_t kinds) {
  w.StartArray();
  if (kinds & publish_kinds::audio)
    w.String("audio");
  if (kinds & publish_kinds::video)
    w.String("video");
  if (kinds & publish_kinds::screen)
    w.String("screen");
  w.EndArray();
}

// { peerId?, userId?, kinds?, reason?, seconds?, by }
void write_event(json_writer& w, const moderation_event& e, bool) {
  w.StartObject();
  if (!e.peer_id.empty()) {
    member(w, "peerId", e.peer_id);
    member(w, "userId", e.user_id.empty() ? e.peer_id : e.user_id);
  }
  if (e.action == moderation_action::mute || e.action == moderation_action::allow_publish ||
      e.action == moderation_action::disallow_publish) {
    key(w, "kinds");
    write_kinds(w, e.kinds);
  }
  if (!e.reason.empty())
    member(w, "reason", e.reason);
  if (e.seconds > 0) {
    key(w, "seconds");
    w.Uint(e.seconds);
  }
  member(w, "by", e.by);
  w.EndObject();
}

// hands-update and chat-history are arrays; chat-message one message; the poll events a
// poll; the chat notices { peerId?, id?, by }.
void write_event(json_writer& w, const class_event& e, bool frontend) {
  switch (e.kind) {
    case class_event_kind::hands_update:
      w.StartArray();
      for (const auto& h : e.hands)
        write_hand(w, h);
      w.EndArray();
      return;
    case class_event_kind::chat_history:
      w.StartArray();
      for (const auto& m : e.chat)
        write_chat(w, m, frontend, "system");
      w.EndArray();
      return;
    case class_event_kind::chat_message:
      if (e.chat.empty()) {
        w.StartObject();
        w.EndObject();
      } else {
        write_chat(w, e.chat.front(), frontend);
      }
      return;
    case class_event_kind::typing_start:
    case class_event_kind::typing_stop:
      w.StartObject();
      member(w, "socketId", e.peer_id);
      member(w, "name", e.name);
      w.EndObject();
      return;
    case class_event_kind::react_update:
      w.StartObject();
      member(w, "messageId", e.id);
      member(w, "userId", e.user_id);
      member(w, "emoji", e.emoji);
      member(w, "action", e.flag ? "add" : "remove");
      w.EndObject();
      return;
    case class_event_kind::pin_update:
      w.StartObject();
      member(w, "messageId", e.id);
      key(w, "pinned");
      w.Bool(e.flag);
      member(w, "by", e.by);
      w.EndObject();
      return;
    case class_event_kind::video_reaction:
      w.StartObject();
      member(w, "emoji", e.emoji);
      member(w, "sessionId", e.session_id);
      member(w, "userId", e.user_id);
      member(w, "userName", e.name);
      w.EndObject();
      return;
    case class_event_kind::poll_started:
    case class_event_kind::poll_results:
    case class_event_kind::poll_closed:
      write_poll(w, e.poll);
      return;
    case class_event_kind::chat_disabled:
    case class_event_kind::chat_enabled:
    case class_event_kind::chat_deleted:
      w.StartObject();
      if (!e.peer_id.empty())
        member(w, "peerId", e.peer_id);
      if (!e.id.empty())
        member(w, "id", e.id);
      member(w, "by", e.by);
      w.EndObject();
      return;
  }
}

void write_event(json_writer& w, const frontend_event& e, bool) {
  const std::string_view n = e.name;
  w.StartObject();
  if (n == "force-mute") {
    key(w, "audio");
    w.Bool(true);
    member(w, "by", e.by);
    key(w, "locked");
    w.Bool(true);
  } else if (n == "allow-unmute") {
    member(w, "by", e.by);
    key(w, "locked");
    w.Bool(false);
  } else if (n == "force-video-pause") {
    key(w, "video");
    w.Bool(true);
    member(w, "by", e.by);
  } else if (n == "kicked-from-room") {
    member(w, "by", e.by);
    member(w, "reason", e.reason);
  } else if (n == "screenshare-control") {
    key(w, "enabled");
    w.Bool(e.value);
    member(w, "by", e.by);
  } else if (n == "participant-updated") {
    member(w, "participantId", e.participant_id);
    key(w, "updates");
    w.StartObject();
    key(w, e.reason); // the flag's name: isCoHost or isHost
    w.Bool(e.value);
    w.EndObject();
  } else if (n == "audio-locked" || n == "screenshare-denied") {
    member(w, "reason", e.reason);
  } else if (n == "error") {
    member(w, "message", e.reason);
  } else if (n == "message-error") {
    member(w, "messageId", e.participant_id);
    member(w, "error", e.reason);
  } else { // allow-unpause, cohost-granted, cohost-revoked, host-granted, host-revoked
    member(w, "by", e.by);
  }
  w.EndObject();
}

void write_event(json_writer& w, const kicked_event& e, bool) {
  w.StartObject();
  member(w, "reason", e.reason);
  member(w, "by", e.by);
  key(w, "blocked");
  w.Bool(e.blocked);
  w.EndObject();
}

// active-speaker { peerId, userId, producerId }
void write_event(json_writer& w, const active_speaker_event& e, bool) {
  w.StartObject();
  member(w, "peerId", e.peer_id);
  member(w, "userId", e.user_id.empty() ? e.peer_id : e.user_id);
  member(w, "producerId", e.producer_id);
  w.EndObject();
}

// audio-levels [{ peerId, producerId, volume }], loudest first
void write_event(json_writer& w, const audio_levels_event& e, bool) {
  w.StartArray();
  for (const auto& l : e.levels) {
    w.StartObject();
    member(w, "peerId", l.peer_id);
    member(w, "producerId", l.producer_id);
    key(w, "volume");
    w.Int(l.volume);
    w.EndObject();
  }
  w.EndArray();
}

void write_event(json_writer& w, const recording_event& e, bool) {
  w.StartObject();
  member(w, "recordingId", e.recording_id);
  if (!e.by.empty())
    member(w, "by", e.by);
  if (!e.manifest_path.empty())
    member(w, "manifestPath", e.manifest_path);
  if (e.kind == recording_event_kind::stopped) {
    key(w, "manifest");
    write_raw(w, e.manifest_json);
  }
  if (!e.reason.empty())
    member(w, "reason", e.reason);
  if (!e.message.empty())
    member(w, "message", e.message);
  w.EndObject();
}

struct event_namer {
  std::string_view operator()(const recording_event& e) const {
    switch (e.kind) {
      case recording_event_kind::started:
        return "recording-started";
      case recording_event_kind::stopped:
        return "recording-stopped";
      case recording_event_kind::error:
        return "recording-error";
    }
    return "recording-event";
  }
  std::string_view operator()(const participant_list_update_event&) const {
    return "participant-list-update";
  }
  std::string_view operator()(const participant_left_event&) const {
    return "participant-left";
  }
  std::string_view operator()(const new_producer_event&) const { return "new-producer"; }
  std::string_view operator()(const producer_closed_event&) const {
    return "producer-closed";
  }
  std::string_view operator()(const consumer_closed_event&) const {
    return "consumer-closed";
  }
  std::string_view operator()(const consumer_layers_event&) const {
    return "consumer-layers-changed";
  }
  std::string_view operator()(const consumer_score_event&) const { return "consumer-score"; }
  std::string_view operator()(const producer_layers_unused_event&) const {
    return "producer-layers-unused";
  }
  std::string_view operator()(const producer_paused_event& e) const {
    return e.paused ? "producer-paused" : "producer-resumed";
  }
  std::string_view operator()(const participant_state_changed_event&) const {
    return "participant-state-changed";
  }
  std::string_view operator()(const kicked_event&) const { return "kicked"; }
  std::string_view operator()(const frontend_event& e) const { return e.name; }
  std::string_view operator()(const active_speaker_event&) const { return "active-speaker"; }
  std::string_view operator()(const new_data_producer_event&) const {
    return "new-data-producer";
  }
  std::string_view operator()(const data_producer_closed_event&) const {
    return "data-producer-closed";
  }
  std::string_view operator()(const data_consumer_closed_event&) const {
    return "data-consumer-closed";
  }
  std::string_view operator()(const audio_levels_event&) const { return "audio-levels"; }
  std::string_view operator()(const class_event& e) const {
    switch (e.kind) {
      case class_event_kind::hands_update:
        return "hands-update";
      case class_event_kind::chat_message:
        return "chat-message";
      case class_event_kind::chat_history:
        return "chat-history";
      case class_event_kind::chat_disabled:
        return "chat-disabled";
      case class_event_kind::chat_enabled:
        return "chat-enabled";
      case class_event_kind::chat_deleted:
        return "chat-message-deleted";
      case class_event_kind::poll_started:
        return "poll-started";
      case class_event_kind::poll_results:
        return "poll-results";
      case class_event_kind::poll_closed:
        return "poll-closed";
      case class_event_kind::typing_start:
        return "typing-start";
      case class_event_kind::typing_stop:
        return "typing-stop";
      case class_event_kind::react_update:
        return "message-react-update";
      case class_event_kind::pin_update:
        return "pin-message-update";
      case class_event_kind::video_reaction:
        return "receive-video-reaction";
    }
    return "class-event";
  }
  std::string_view operator()(const moderation_event& e) const {
    switch (e.action) {
      case moderation_action::mute:
        return "peer-muted";
      case moderation_action::allow_publish:
        return "publish-allowed";
      case moderation_action::disallow_publish:
        return "publish-disallowed";
      case moderation_action::kick:
        return "peer-kicked";
      case moderation_action::block:
        return "peer-blocked";
      case moderation_action::unblock:
        return "peer-unblocked";
      case moderation_action::lock:
        return "room-locked";
      case moderation_action::unlock:
        return "room-unlocked";
      case moderation_action::end:
        return "room-ended";
    }
    return "room-event";
  }
};

// Seed 001's requests and their reply types.
constexpr std::array<std::pair<std::string_view, std::string_view>, 5> seed001_replies{{
  {"get-rtp-capabilities", "rtp-capabilities"},
  {"create-transport", "transport-params"},
  {"connect-transport", "transport-connected"},
  {"produce", "producer-id"},
  {"consume", "consumer-params"},
}};

} // namespace

std::string_view reply_type_name(const request_meta& meta) noexcept {
  if (meta.style == request_style::seed001)
    for (const auto& [request, reply] : seed001_replies)
      if (request == meta.type)
        return reply;
  return meta.type;
}

bool reply_has_data(request_style style, const reply_body& reply) noexcept {
  return !(style == request_style::seed001 && std::holds_alternative<empty_reply>(reply));
}

void write_reply_data(json_writer& w, request_style style, const reply_body& reply,
                      bool frontend) {
  std::visit([&](const auto& r) { write_reply(w, style, r, frontend); }, reply);
}

std::string_view event_type_name(const event_body& ev, bool frontend) noexcept {
  if (frontend)
    if (auto* c = std::get_if<class_event>(&ev); c && c->kind == class_event_kind::chat_message)
      return "receive-message";
  return std::visit(event_namer{}, ev);
}

void write_event_data(json_writer& w, const event_body& ev, bool frontend) {
  std::visit([&](const auto& e) { write_event(w, e, frontend); }, ev);
}

void write_string(json_writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

std::string text_of(const rapidjson::StringBuffer& buf) {
  return std::string(buf.GetString(), buf.GetSize());
}

void prepare_json(participant_list_update_event& ev) {
  ev.written.reset();
  std::array<std::string, 2> out;
  for (bool frontend : {false, true}) {
    rapidjson::StringBuffer buf;
    json_writer w(buf);
    write_event(w, ev, frontend);
    out[frontend] = text_of(buf);
  }
  ev.written = std::make_shared<const std::array<std::string, 2>>(std::move(out));
}

void write_raw(json_writer& w, std::string_view json) {
  if (json.empty())
    json = "{}";
  w.RawValue(json.data(), json.size(), rapidjson::kObjectType);
}

} // namespace chorus::protocol
