// The signaling command set, independent of any dialect: typed requests a client sends,
// typed replies, and typed events the server pushes. Dialect codecs (protocol/dialect_*)
// translate between these and the wire; actors only ever see these types.
#pragma once

#include "net/dtls_parameters.hpp"
#include "rtp/rtp_parameters.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace chorus::protocol {

// What a connection's handshake says about where it belongs (the `roomId`/`channelId` and
// `name` of a Socket.IO handshake query or CONNECT `auth` object). A connection that has
// not joined joins `room_id` (or the configured default room) on its first request that
// needs a room: the implicit join of seed 000's flow.
// With auth.mode jwt the handshake also carries the token (`auth.token` of the CONNECT
// packet); with mode none it may say which role the participant takes (`role`, the demo
// page's choice).
struct connection_hints {
  std::string room_id;
  std::string name;
  std::string token;
  std::string role;
};

// ---- requests --------------------------------------------------------------------
// Every request may name a room (`roomId`, as seed 004 does); empty means "the room this
// connection joined".

struct get_rtp_capabilities_request {
  std::string room_id;
};

// join-mediasoup-room (seed 004). `name` is Chorus's addition: the participant's display
// name (defaults to the peer id).
// The seed 004 frontend's additions (docs/protocol.md, "The seed 004 frontend's extended
// events"): `userId` (the participant's public id), `userName` (as `name`),
// `userImageUrl`, `isCreator` (the first creator of a room is its host).
struct join_room_request {
  std::string room_id;
  bool has_rtp_capabilities = false;
  rtp::rtp_capabilities rtp_capabilities;
  std::string name;
  std::string user_id;
  std::string image_url;
  bool is_creator = false;
  // auth.mode none only: the role the participant takes (the demo page's choice). With
  // tokens the token's role counts and this is ignored.
  std::string role;
};

// set-user-id (the seed 004 frontend, before it joins): a bare string, the user id.
struct set_user_id_request {
  std::string user_id;
};

// get-socket-id-for-user { userId }: the peer (socket) id of that user in the room.
struct get_socket_id_request {
  std::string room_id;
  std::string user_id;
};

// update-my-state { isAudioMuted } or { isVideoPaused }: the participant's own flags.
struct update_state_request {
  std::string room_id;
  bool has_audio_muted = false;
  bool audio_muted = false;
  bool has_video_paused = false;
  bool video_paused = false;
};

enum class transport_direction : uint8_t { unspecified, send, recv };

// create-transport (seed 001; direction optional) and create-webrtc-transport
// (seed 004; direction required).
// sctpCapabilities { numStreams: { OS, MIS } } (mediasoup-client's
// device.sctpCapabilities) or enableSctp: true asks for an SCTP association (data
// channels) on the transport; without either the transport carries media only.
struct create_transport_request {
  std::string room_id;
  transport_direction direction = transport_direction::unspecified;
  bool enable_sctp = false;
  uint16_t sctp_os = 0;  // the client's numStreams.OS (0: the configured default)
  uint16_t sctp_mis = 0; // the client's numStreams.MIS
};

// connect-transport. transport_id may be empty (seed 001): the peer's only unconnected
// transport is meant.
struct connect_transport_request {
  std::string room_id;
  std::string transport_id;
  net::dtls_parameters dtls_parameters;
};

struct restart_ice_request {
  std::string room_id;
  std::string transport_id;
};

struct get_transport_stats_request {
  std::string room_id;
  std::string transport_id;
};

// set-transport-egress-cap { transportId, bitrate } (fault injection, tests only: the
// server must run with --fault-injection): caps what the server sends on the transport at
// `bitrate` bps, dropping what exceeds it; 0 lifts the cap.
struct set_egress_cap_request {
  std::string room_id;
  std::string transport_id;
  uint64_t bitrate = 0;
};

// inject-fault { target, id?, how? } (fault injection, tests only: the server must run
// with --fault-injection): one of the requesting peer's own actors fails, to show that only
// its subtree closes. target "consumer" | "producer" | "transport" (id: the peer's consumer,
// producer or transport id) or "session" (the connection's own session actor; no id); how
// "throw" (an exception escapes its message handler; the default) or "exit" (it quits with
// an error).
enum class fault_target : uint8_t { consumer, producer, transport, session };
struct inject_fault_request {
  std::string room_id;
  fault_target target = fault_target::consumer;
  std::string id;
  bool exit = false; // how: "exit"
};

// produce. transport_id may be empty (seed 001): the peer's send transport.
// app_data is the client's `appData` object re-serialized as compact JSON ("" if absent).
struct produce_request {
  std::string room_id;
  std::string transport_id;
  rtp::media_kind kind = rtp::media_kind::audio;
  rtp::rtp_parameters rtp_parameters;
  std::string app_data;
  bool paused = false;
  // appData.share === true or appData.source === "screen": a screen share.
  bool is_screen_share = false;
  std::string source; // appData.source when it is a short string ("mic", "webcam", "screen")
  // Set by the session for the seed 004 frontend: a new (non screen share) audio producer
  // replaces the peer's previous one, which is closed and announced.
  bool replace_audio = false;
};

// consume. producer_id may be empty (seed 001): the oldest producer of the room that
// this peer does not own and does not consume yet. transport_id may be empty: the
// peer's receive transport.
struct consume_request {
  std::string room_id;
  std::string producer_id;
  std::string transport_id;
  rtp::rtp_capabilities rtp_capabilities;
  bool paused = true; // consumers start paused (mediasoup's recommended flow)
};

// sctpStreamParameters of a data producer or consumer: the SCTP stream and how messages
// travel on it (mediasoup's shape). At most one of maxPacketLifeTime / maxRetransmits.
struct sctp_stream_parameters {
  uint16_t stream_id = 0;
  bool ordered = true;
  bool has_max_packet_life_time = false;
  uint32_t max_packet_life_time = 0;
  bool has_max_retransmits = false;
  uint32_t max_retransmits = 0;
};

// produce-data { transportId, sctpStreamParameters, label, protocol, appData } -> { id }.
struct produce_data_request {
  std::string room_id;
  std::string transport_id;
  sctp_stream_parameters stream;
  std::string label;
  std::string protocol;
  std::string app_data; // compact JSON ("" if absent)
};

// consume-data { dataProducerId, transportId? } -> data_consumer_params_reply.
struct consume_data_request {
  std::string room_id;
  std::string data_producer_id;
  std::string transport_id; // empty: the peer's receive transport with SCTP
};

enum class data_op : uint8_t { close, get_stats };

// close-data-producer / get-data-producer-stats { dataProducerId }
struct data_producer_request {
  std::string room_id;
  data_op op = data_op::close;
  std::string data_producer_id;
};

// close-data-consumer / get-data-consumer-stats { dataConsumerId }
struct data_consumer_request {
  std::string room_id;
  data_op op = data_op::close;
  std::string data_consumer_id;
};

enum class producer_op : uint8_t { pause, resume, close, get_stats };
enum class consumer_op : uint8_t {
  pause,
  resume,
  get_stats,
  set_preferred_layers,
  set_priority,
  request_keyframe
};

// pause-producer, resume-producer, close-producer, get-producer-stats
struct producer_request {
  std::string room_id;
  producer_op op = producer_op::pause;
  std::string producer_id;
};

// pause-consumer, resume-consumer (alias unpauseConsumer), get-consumer-stats,
// set-consumer-preferred-layers { spatialLayer, temporalLayer? },
// set-consumer-priority { priority }, request-consumer-keyframe
struct consumer_request {
  std::string room_id;
  consumer_op op = consumer_op::resume;
  std::string consumer_id;
  int spatial_layer = 0;   // set_preferred_layers
  int temporal_layer = -1; // set_preferred_layers (-1: absent, the highest)
  int priority = 1;        // set_priority (1..255)
};

// get-room-info: the room as its participants see it (list, lock, and for moderators the
// block list), with the asker's own role and permissions.
struct get_room_info_request {
  std::string room_id;
};

// What a moderator names in mute-peer, allow-publish, disallow-publish: bits of
// audio, video and screen (a producer whose appData says it is a screen share).
namespace publish_kinds {
inline constexpr uint8_t audio = 1;
inline constexpr uint8_t video = 2;
inline constexpr uint8_t screen = 4;
inline constexpr uint8_t all = audio | video | screen;
} // namespace publish_kinds

// The moderation requests (permission `moderate`): mute-peer, allow-publish,
// disallow-publish, kick-peer, block-peer, unblock-peer, lock-room, unlock-room, end-room.
enum class moderation_action : uint8_t {
  mute,
  allow_publish,
  disallow_publish,
  kick,
  block,
  unblock,
  lock,
  unlock,
  end,
};

struct moderation_request {
  std::string room_id;
  moderation_action action = moderation_action::kick;
  std::string peer_id; // the target: a peer id or a user id (empty for the room actions)
  uint8_t kinds = 0;   // publish_kinds bits (mute, allow, disallow)
  std::string reason;
  uint32_t seconds = 0; // block-peer: how long; 0 = for the room's life
};

// The live class (docs/protocol.md, "The live class"): raise-hand, lower-hand,
// chat-message, disable-chat, enable-chat, delete-chat-message, create-poll, vote,
// close-poll.
enum class class_action : uint8_t {
  raise_hand,
  lower_hand,
  chat,
  disable_chat,
  enable_chat,
  delete_chat,
  create_poll,
  vote,
  close_poll,
  // the seed 004 frontend's chat names (docs/protocol.md, "The frontend's chat")
  chat_history,    // request-chat-history
  typing_start,    // typing-start { name }
  typing_stop,     // typing-stop
  react,           // message-react { messageId, emoji }
  pin,             // pin-message { messageId, pinned } (moderators)
  video_reaction,  // video-reaction { emoji, sessionId, userName }
};

struct class_request {
  std::string room_id;
  class_action action = class_action::raise_hand;
  std::string peer_id;              // lower-hand, disable-chat, enable-chat: the target
  std::string text;                 // chat-message: the text; create-poll: the question
  std::string to;                   // chat-message: a private message's target
  std::string id;                   // delete-chat-message: message id; vote, close-poll: poll id
  std::vector<std::string> options; // create-poll
  std::vector<uint32_t> choices;    // vote: option indexes
  bool multiple = false;            // create-poll
  bool anonymous = false;           // create-poll
  // send-message (the frontend's chat): the client's message id, its replyTo (compact
  // JSON), the sender's avatar; message-react / video-reaction: the emoji; video-reaction:
  // the client's session id and name; pin-message: pinned.
  std::string client_id;
  std::string reply_to;
  std::string avatar_url;
  std::string emoji;
  std::string session_id;
  bool pinned = false;
  bool frontend = false; // arrived under the frontend's names (send-message)
};

// The seed 004 frontend's host controls (docs/protocol.md, "Host controls"), over the
// moderation above: host = the room's creator or a teacher, co-host = made so or a
// moderator; a co-host acts on participants only, and the creator cannot be removed.
enum class host_action : uint8_t {
  toggle_audio,      // toggle-remote-audio { targetUserId, force: "mute"|"unmute" }
  toggle_video,      // toggle-remote-video { targetUserId, force: "pause"|"unpause" }
  remove,            // remove-participant { targetUserId }
  mute_all,          // mute-all-participants
  unmute_all,        // unmute-all-participants
  disable_cameras,   // disable-all-cameras
  enable_cameras,    // enable-all-cameras
  disable_screens,   // disable-all-screen-sharing
  enable_screens,    // enable-all-screen-sharing
  make_cohost,       // make-cohost { participantId }
  remove_cohost,     // remove-cohost { participantId }
  make_host,         // make-host { participantId }
  remove_host,       // remove-host { participantId }
};

struct host_request {
  std::string room_id;
  host_action action = host_action::remove;
  std::string target; // targetUserId / participantId (a user id or a peer id)
  bool on = true;     // force "mute" / "pause" (true) or "unmute" / "unpause" (false)
};

// create-plain-transport / connect-plain-transport (mediasoup's PlainTransport shapes):
// plain RTP (optionally SDES-keyed SRTP) to and from FFmpeg, GStreamer, OBS, a hardware
// encoder. No ICE, no DTLS. docs/protocol.md, "Plain RTP transports".
enum class plain_op : uint8_t { create, connect };

struct plain_transport_request {
  std::string room_id;
  plain_op op = plain_op::create;
  // create
  std::string listen_ip;   // empty: the media listen address
  bool rtcp_mux = true;    // false: RTCP on its own port (rtcpPort)
  bool comedia = false;    // true: the remote address is learnt from the first packet
  bool enable_srtp = false;
  std::string srtp_crypto_suite; // empty: AES_CM_128_HMAC_SHA1_80
  // connect
  std::string transport_id;
  std::string ip;
  uint16_t port = 0;
  uint16_t rtcp_port = 0;
  bool has_srtp_parameters = false;
  std::string srtp_suite;      // srtpParameters.cryptoSuite
  std::string srtp_key_base64; // srtpParameters.keyBase64 (master key || salt)
};

// start-recording { roomId? } / stop-recording { roomId? } (permission `record`).
struct recording_request {
  std::string room_id;
  bool start = true;
};

using request_body =
  std::variant<get_rtp_capabilities_request, join_room_request, create_transport_request,
               connect_transport_request, restart_ice_request, get_transport_stats_request,
               set_egress_cap_request, inject_fault_request,
               produce_request, consume_request, producer_request, consumer_request,
               set_user_id_request, get_socket_id_request, update_state_request,
               get_room_info_request, moderation_request, class_request, host_request,
               produce_data_request, consume_data_request, data_producer_request,
               data_consumer_request, plain_transport_request,
               recording_request>;

// Which wire name a request arrived under decides the reply's shape (seed 001 names
// reply with their own reply types, seed 004 names with seed 004's response objects).
// seed000 marks seed 000's alias names (getRouterRtpCapabilities, createWebRtcTransport,
// ...): the Socket.IO dialect answers them with seed 000's shapes (the capabilities and
// the transport parameters unwrapped, `{}` for empty replies); the JSON dialect turns
// seed000 into seed004 when it decodes, so its replies are seed 004's objects.
enum class request_style : uint8_t { seed001, seed004, seed000 };

// Everything about a request that its reply must echo.
struct request_meta {
  std::string type;       // the wire name as received ("create-transport", ...)
  std::string request_id; // echoed when present; compact JSON of the original value
  bool has_request_id = false;
  request_style style = request_style::seed001;
};

struct request {
  request_meta meta;
  request_body body;
};

// ---- replies ---------------------------------------------------------------------

// `id` is the peer id; the seed 004 frontend's list shows `user_id` as `id` instead, with
// the fields after it.
struct participant {
  std::string id;
  std::string name;
  bool is_audio_muted = true;
  bool is_video_paused = true;
  std::string user_id; // the peer id when the participant gave none
  std::string image_url;
  bool is_host = false;
  bool is_co_host = false;
  bool audio_locked = false;
  bool screen_share_locked = false;
  std::string role; // the participant's role (auth); empty when it has none
  bool is_screen_sharing = false; // has a screen-share producer

  friend bool operator==(const participant&, const participant&) = default;
};

struct ice_parameters {
  std::string username_fragment;
  std::string password;
  bool ice_lite = true;
};

struct ice_candidate {
  std::string foundation;
  uint32_t priority = 0;
  std::string address;
  uint16_t port = 0;
  std::string protocol; // "udp" | "tcp"
  std::string type = "host";
  std::string tcp_type; // "passive" for tcp, empty for udp
};

// sctpParameters { port, OS, MIS, maxMessageSize } of a transport with data channels.
struct sctp_parameters {
  uint16_t port = 5000;
  uint16_t os = 1024;
  uint16_t mis = 1024;
  uint32_t max_message_size = 262'144;
};

struct transport_params {
  std::string id;
  protocol::ice_parameters ice_parameters;
  std::vector<ice_candidate> ice_candidates;
  net::dtls_parameters dtls_parameters;
  bool has_sctp = false;
  protocol::sctp_parameters sctp_parameters;
};

// A reply is a typed value; `empty_reply` is an acknowledgement without payload.
struct empty_reply {};

struct rtp_capabilities_reply {
  // Router capabilities as pre-rendered JSON (they never change while the server runs,
  // so they are encoded once at start).
  std::string json;
};

struct join_room_reply {
  std::string room_id;
  std::string peer_id;
  std::vector<std::string> existing_producers;
  bool is_host = false;
  bool is_co_host = false;
};

struct socket_id_reply {
  std::string socket_id;
};

struct transport_params_reply {
  transport_params params;
};

struct restart_ice_reply {
  protocol::ice_parameters ice_parameters;
};

struct producer_id_reply {
  std::string id;
};

struct consumer_params_reply {
  std::string id;
  std::string producer_id;
  rtp::media_kind kind = rtp::media_kind::audio;
  rtp::rtp_parameters rtp_parameters;
  std::string type = "simple";
  bool producer_paused = false;
  std::string peer_id;
  // The seed 004 frontend's additions: who produces, and what.
  std::string user_id;
  std::string user_name;
  bool is_screen_share = false;
  std::string app_data; // the producer's appData as compact JSON ("" if none)
  std::string source;   // the producer's appData.source, when a short string
};

// consume-data's answer: { id, dataProducerId, sctpStreamParameters, label, protocol,
// appData, peerId }.
struct data_consumer_params_reply {
  std::string id;
  std::string data_producer_id;
  sctp_stream_parameters stream;
  std::string label;
  std::string protocol;
  std::string app_data;
  std::string peer_id; // the data producer's peer ("" for the room's own)
};

// One entry of a room's block list.
struct blocked_peer {
  std::string peer_id;
  std::string user_id;
  std::string reason;
  std::string by;       // the moderator's public id
  int64_t until_ms = 0; // Unix time in ms; 0: for the room's life

  friend bool operator==(const blocked_peer&, const blocked_peer&) = default;
};

// A raised hand, a chat message and a poll as the events and get-room-info show them.
struct hand_item {
  std::string peer_id;
  std::string user_id;
  std::string name;
  int64_t raised_at = 0; // Unix ms

  friend bool operator==(const hand_item&, const hand_item&) = default;
};

struct chat_reaction {
  std::string emoji;
  std::vector<std::string> user_ids;

  friend bool operator==(const chat_reaction&, const chat_reaction&) = default;
};

struct chat_item {
  std::string id;
  std::string from; // the sender's peer id
  std::string user_id;
  std::string name;
  std::string text;
  std::string to; // a private message's target peer id; empty: to the room
  int64_t at = 0; // Unix ms
  // The seed 004 frontend's message fields: its own id, the avatar, replyTo (compact
  // JSON), pinned, reactions.
  std::string client_id;
  std::string avatar_url;
  std::string reply_to;
  bool pinned = false;
  std::vector<chat_reaction> reactions;

  friend bool operator==(const chat_item&, const chat_item&) = default;
};

struct poll_item {
  std::string id;
  std::string question;
  std::vector<std::string> options;
  bool multiple = false;
  bool anonymous = false;
  bool closed = false;
  std::vector<uint32_t> counts; // per option
  uint32_t voters = 0;
  std::string by; // who created it
  int64_t created_at = 0;

  friend bool operator==(const poll_item&, const poll_item&) = default;
};

struct room_info_reply {
  std::string room_id;
  bool locked = false;
  std::vector<participant> participants;
  bool has_blocked = false; // the block list is shown to moderators only
  std::vector<blocked_peer> blocked;
  // The asker's own role and permissions (permission names, docs/operations.md).
  std::string role;
  std::vector<std::string> permissions;
  // The live class: the hand queue, the polls, whether the asker may chat now.
  std::vector<hand_item> hands;
  std::vector<poll_item> polls;
  bool chat_enabled = true;
};

// The answer to a live-class request: `{}`, or `{ key: id }` (chat-message: `{ id }`,
// create-poll: `{ pollId }`).
struct class_reply {
  std::string key;
  std::string id;
};

// Stats are rendered by the actor that owns them into compact JSON.
struct stats_reply {
  std::string json;
};

// create-plain-transport's answer: { id, ip, port, rtcpPort?, srtpParameters? }.
struct plain_transport_reply {
  std::string id;
  std::string ip;
  uint16_t port = 0;
  uint16_t rtcp_port = 0; // 0: rtcpMux (not shown)
  bool has_srtp = false;
  std::string srtp_suite;
  std::string srtp_key_base64;
};

using reply_body = std::variant<empty_reply, rtp_capabilities_reply, join_room_reply,
                                transport_params_reply, restart_ice_reply,
                                producer_id_reply, consumer_params_reply, stats_reply,
                                socket_id_reply, room_info_reply, class_reply,
                                data_consumer_params_reply, plain_transport_reply>;

// ---- events (server -> client) ---------------------------------------------------

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

using event_body =
  std::variant<participant_list_update_event, participant_left_event, new_producer_event,
               producer_closed_event, consumer_closed_event, producer_paused_event,
               participant_state_changed_event, moderation_event, kicked_event, class_event,
               frontend_event, active_speaker_event, audio_levels_event,
               new_data_producer_event, data_producer_closed_event, data_consumer_closed_event,
               recording_event, consumer_layers_event, consumer_score_event,
               producer_layers_unused_event>;

} // namespace chorus::protocol
