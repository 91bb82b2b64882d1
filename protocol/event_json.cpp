// The JSON of events (the declarations: protocol/reply_json.hpp).
#include "protocol/class_json.hpp"
#include "protocol/json_members.hpp"
#include "protocol/reply_json.hpp"

#include <array>
#include <type_traits>
#include <utility>

namespace chorus::protocol {

namespace {

using namespace json;

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
  if (e.written) {
    const auto& text = (*e.written)[frontend];
    w.RawValue(text.data(), text.size(), rapidjson::kObjectType);
    return;
  }
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

// audience-update { count, joined, left }
void write_event(json_writer& w, const audience_update_event& e, bool) {
  w.StartObject();
  key(w, "count");
  w.Uint(e.count);
  key(w, "joined");
  w.Uint(e.joined);
  key(w, "left");
  w.Uint(e.left);
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

void write_event(json_writer& w, const live_stream_event& e, bool) {
  w.StartObject();
  member(w, "liveStreamId", e.stream_id);
  if (!e.by.empty())
    member(w, "by", e.by);
  if (!e.target.empty())
    member(w, "target", e.target);
  if (!e.where.empty())
    member(w, "where", e.where);
  if (!e.reason.empty())
    member(w, "reason", e.reason);
  if (!e.message.empty())
    member(w, "message", e.message);
  w.EndObject();
}

struct event_namer {
  std::string_view operator()(const live_stream_event& e) const {
    switch (e.kind) {
      case live_stream_event_kind::started:
        return "live-stream-started";
      case live_stream_event_kind::stopped:
        return "live-stream-stopped";
      case live_stream_event_kind::error:
        return "live-stream-error";
    }
    return "live-stream-event";
  }
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
  std::string_view operator()(const audience_update_event&) const { return "audience-update"; }
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

} // namespace

std::string_view event_type_name(const event_body& ev, bool frontend) noexcept {
  if (frontend)
    if (auto* c = std::get_if<class_event>(&ev); c && c->kind == class_event_kind::chat_message)
      return "receive-message";
  return std::visit(event_namer{}, ev);
}

void write_event_data(json_writer& w, const event_body& ev, bool frontend) {
  std::visit([&](const auto& e) { write_event(w, e, frontend); }, ev);
}

namespace {

template <class Event>
void write_once(Event& ev) {
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

} // namespace

void prepare_json(participant_list_update_event& ev) { write_once(ev); }

void prepare_json(class_event& ev) { write_once(ev); }

} // namespace chorus::protocol
