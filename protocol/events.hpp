// The events the server pushes to a client, independent of any dialect
// (protocol/messages.hpp).
#pragma once

#include "protocol/replies.hpp"
#include "protocol/requests.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace chorus::protocol {

struct participant_list_update_event {
  std::vector<participant> participants;
  // The list as JSON, written once for all its receivers (prepare_json): [0] the seed
  // 001/000 items, [1] the seed 004 frontend's. Null: written from `participants` by each
  // receiver. Shared, so that copies of the event (one per receiving session) stay cheap;
  // not sent between nodes (a remote session writes its own).
  std::shared_ptr<const std::array<std::string, 2>> written;
};

struct participant_left_event {
  std::string peer_id;
  std::string user_id;
};

struct new_producer_event {
  std::string producer_id;
  std::string peer_id;
  rtp::media_kind kind = rtp::media_kind::audio;
  std::string user_id;
  std::string user_name;
  bool is_screen_share = false;
  std::string source; // the producer's appData.source, when it gave one
};

struct producer_closed_event {
  std::string producer_id;
  std::string peer_id;
  std::string user_id;
  rtp::media_kind kind = rtp::media_kind::audio;
  bool is_screen_share = false;
};

// participant-state-changed (to the others): a participant's own flags changed.
struct participant_state_changed_event {
  std::string peer_id;
  std::string user_id;
  bool has_audio_muted = false;
  bool audio_muted = false;
  bool has_video_paused = false;
  bool video_paused = false;
};

struct consumer_closed_event {
  std::string consumer_id;
  std::string producer_id;
};

// consumer-layers-changed (to the consumer's peer): the layers it forwards now (-1: none,
// sent as null).
struct consumer_layers_event {
  std::string consumer_id;
  int8_t spatial_layer = -1;
  int8_t temporal_layer = -1;
};

// consumer-score (to the consumer's peer): its stream's score (0-10, from the receiver's
// reports) and its producer's (when known: producers with layers report theirs).
struct consumer_score_event {
  std::string consumer_id;
  uint8_t score = 10;
  int producer_score = -1; // -1: unknown
  std::vector<uint8_t> producer_scores;
};

// producer-layers-unused (to the producer's peer): the encodings of its simulcast producer
// that no consumer anywhere in the room selects now (empty again when all are). The
// application may stop sending them (mediasoup-client: producer.setMaxSpatialLayer).
struct producer_layers_unused_event {
  std::string producer_id;
  std::vector<uint8_t> spatial_layers;
};

struct producer_paused_event {   // "producer-paused" / "producer-resumed" to consumers' peers
  std::string producer_id;
  bool paused = true;
  // To the producer's owner: a moderator paused (mute-peer) or released (allow-publish) it.
  bool by_moderator = false;
};

// A moderator's action, to everyone in the room: peer-muted, publish-allowed,
// publish-disallowed, peer-kicked, peer-blocked, peer-unblocked, room-locked,
// room-unlocked, room-ended (by action).
struct moderation_event {
  moderation_action action = moderation_action::kick;
  std::string peer_id;
  std::string user_id;
  uint8_t kinds = 0;
  std::string reason;
  std::string by; // the moderator's public id
  uint32_t seconds = 0;
};

// "kicked" to the participant a moderator removed (kick-peer, block-peer) before its
// connection is closed.
struct kicked_event {
  std::string reason;
  std::string by;
  bool blocked = false;
};

// The live class's events: hands-update (the queue), chat-message, chat-history (to a
// joiner), chat-disabled / chat-enabled ({ peerId?, by }), chat-message-deleted
// ({ id, by }), poll-started, poll-results, poll-closed (a poll_item).
enum class class_event_kind : uint8_t {
  hands_update,
  chat_message,
  chat_history,
  chat_disabled,
  chat_enabled,
  chat_deleted,
  poll_started,
  poll_results,
  poll_closed,
  typing_start,   // { socketId, name }
  typing_stop,
  react_update,   // message-react-update { messageId, userId, emoji, action }
  pin_update,     // pin-message-update { messageId, pinned, by }
  video_reaction, // receive-video-reaction { emoji, sessionId, userId, userName }
};

struct class_event {
  class_event_kind kind = class_event_kind::hands_update;
  std::vector<hand_item> hands;
  std::vector<chat_item> chat; // chat-message: one; chat-history: the history
  poll_item poll;
  std::string peer_id; // chat-disabled / chat-enabled: the peer (empty: the room); typing,
                       // reactions: the sender
  std::string id;      // chat-message-deleted, reactions, pins: the message
  std::string by;
  std::string name;    // typing, video reactions: the sender's name
  std::string emoji;   // reactions
  std::string user_id; // reactions: whose
  std::string session_id; // video-reaction
  bool flag = false;   // react_update: added (true) or removed; pin_update: pinned
  // The data as JSON, written once for all receivers (prepare_json), as the participant
  // list's; not sent between nodes.
  std::shared_ptr<const std::array<std::string, 2>> written;
};

// The seed 004 frontend's host-control events, by name: force-mute { audio: true, by,
// locked: true }, allow-unmute { by, locked: false }, force-video-pause { video: true, by },
// allow-unpause { by }, kicked-from-room { by, reason }, screenshare-control { enabled, by },
// cohost-granted / cohost-revoked / host-granted / host-revoked { by },
// participant-updated { participantId, updates: { isCoHost | isHost } }, audio-locked
// { reason }, screenshare-denied { reason }, error { message }.
struct frontend_event {
  std::string name;
  std::string by;
  std::string reason; // kicked-from-room, audio-locked, screenshare-denied; error: message
  std::string participant_id;
  bool value = false; // screenshare-control: enabled; participant-updated: the flag's value
};

// active-speaker (to everyone): the room's dominant speaker changed to this audio producer
// (rtp/active_speaker.hpp decides, with hysteresis).
struct active_speaker_event {
  std::string peer_id;
  std::string user_id;
  std::string producer_id;
};

// One entry of audio-levels: a producer's average volume over the interval, in dBov
// (-127 silence .. 0 loudest).
struct audio_level_item {
  std::string peer_id;
  std::string producer_id;
  int32_t volume = -127;
  bool operator==(const audio_level_item&) const = default;
};

// audio-levels (to everyone, every classroom.audioLevelsIntervalMs): the loudest audio
// producers, loudest first; never sent empty.
struct audio_levels_event {
  std::vector<audio_level_item> levels;
};

// audience-update (to everyone in a room with an audience, at most once a second while it
// changes; to a joiner at once): how many are in the audience now, and how many joined and
// left it since the last update (actors/room_audience.hpp).
struct audience_update_event {
  uint32_t count = 0;
  uint32_t joined = 0;
  uint32_t left = 0;
};

// new-data-producer (to the others): a data producer to consume-data. peerId is empty
// for the room's own (server-side) data producer.
struct new_data_producer_event {
  std::string data_producer_id;
  std::string peer_id;
  std::string label;
  std::string protocol;
};

// data-producer-closed (to the others)
struct data_producer_closed_event {
  std::string data_producer_id;
  std::string peer_id;
};

// data-consumer-closed (to the consumer's peer): its data producer or transport ended.
struct data_consumer_closed_event {
  std::string data_consumer_id;
  std::string data_producer_id;
};

// The room's recording (docs/protocol.md, "Recording"): recording-started
// { recordingId, by }, recording-stopped { recordingId, manifestPath, manifest } (the
// manifest object), recording-error { recordingId, reason, message } (an FFmpeg that
// crashed and was restarted, a full disk: the class goes on).
enum class recording_event_kind : uint8_t { started, stopped, error };

struct recording_event {
  recording_event_kind kind = recording_event_kind::started;
  std::string recording_id;
  std::string by;
  std::string manifest_path;
  std::string manifest_json; // compact JSON (stopped)
  std::string reason;        // error: "ffmpeg-exited", "disk-full", ...
  std::string message;
};

// The room's live stream (docs/protocol.md, "Live streaming"): live-stream-started
// { liveStreamId, by, target, where }, live-stream-stopped { liveStreamId, target, where,
// reason? }, live-stream-error { liveStreamId, reason, message } (the composer exited and
// is restarted; the stream goes on). `where`: the RTMP URL without its key, or the HLS
// playlist's path.
enum class live_stream_event_kind : uint8_t { started, stopped, error };

struct live_stream_event {
  live_stream_event_kind kind = live_stream_event_kind::started;
  std::string stream_id;
  std::string by;
  std::string target; // "rtmp" | "hls"
  std::string where;
  std::string reason;
  std::string message;
};

using event_body =
  std::variant<participant_list_update_event, participant_left_event, new_producer_event,
               producer_closed_event, consumer_closed_event, producer_paused_event,
               participant_state_changed_event, moderation_event, kicked_event, class_event,
               frontend_event, active_speaker_event, audio_levels_event,
               new_data_producer_event, data_producer_closed_event, data_consumer_closed_event,
               recording_event, consumer_layers_event, consumer_score_event,
               producer_layers_unused_event, audience_update_event, live_stream_event>;

} // namespace chorus::protocol
