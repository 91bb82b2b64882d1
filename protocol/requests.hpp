// The signaling requests a client sends, independent of any dialect (protocol/messages.hpp),
// and what a connection's handshake says.
#pragma once

#include "net/dtls_parameters.hpp"
#include "rtp/receiver_numbering.hpp"
#include "rtp/rtp_parameters.hpp"

#include <cstdint>
#include <array>
#include <string>
#include <string_view>
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

// Each request type declares, first thing in its struct, where it is served (`scope`: the
// session routes by it, actors/session_routes.cpp) and `counted_as`, the name it is counted
// under (chorus_signaling_requests_by_type_total{type}; the wire names are the parser's,
// protocol/request_parser.cpp).
enum class request_scope : uint8_t {
  connection,   // the connection answers it itself, joined or not
  participants, // about the room's participants: refused (not-joined) before a join
  media,        // the participant's media: a connection that has not joined joins first
                // (implicitly: the room the request names, else the connection's, else
                // the default room; seed 000's flow)
};

// Every request may name a room (`roomId`, as seed 004 does); empty means "the room this
// connection joined".

struct get_rtp_capabilities_request {
  static constexpr request_scope scope = request_scope::connection;
  static constexpr std::string_view counted_as = "get-rtp-capabilities";
  std::string room_id;
};

// join-mediasoup-room (seed 004). `name` is Chorus's addition: the participant's display
// name (defaults to the peer id).
// The seed 004 frontend's additions (docs/protocol.md, "The seed 004 frontend's extended
// events"): `userId` (the participant's public id), `userName` (as `name`),
// `userImageUrl`, `isCreator` (the first creator of a room is its host).
struct join_room_request {
  static constexpr request_scope scope = request_scope::connection;
  static constexpr std::string_view counted_as = "join-room";
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
  static constexpr request_scope scope = request_scope::connection;
  static constexpr std::string_view counted_as = "set-user-id";
  std::string user_id;
};

// get-socket-id-for-user { userId }: the peer (socket) id of that user in the room.
struct get_socket_id_request {
  static constexpr request_scope scope = request_scope::participants;
  static constexpr std::string_view counted_as = "get-socket-id";
  std::string room_id;
  std::string user_id;
};

// update-my-state { isAudioMuted } or { isVideoPaused }: the participant's own flags.
struct update_state_request {
  static constexpr request_scope scope = request_scope::participants;
  static constexpr std::string_view counted_as = "update-state";
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
  static constexpr request_scope scope = request_scope::media;
  static constexpr std::string_view counted_as = "create-transport";
  std::string room_id;
  transport_direction direction = transport_direction::unspecified;
  bool enable_sctp = false;
  uint16_t sctp_os = 0;  // the client's numStreams.OS (0: the configured default)
  uint16_t sctp_mis = 0; // the client's numStreams.MIS
};

// connect-transport. transport_id may be empty (seed 001): the peer's only unconnected
// transport is meant.
struct connect_transport_request {
  static constexpr request_scope scope = request_scope::media;
  static constexpr std::string_view counted_as = "connect-transport";
  std::string room_id;
  std::string transport_id;
  net::dtls_parameters dtls_parameters;
};

struct restart_ice_request {
  static constexpr request_scope scope = request_scope::media;
  static constexpr std::string_view counted_as = "restart-ice";
  std::string room_id;
  std::string transport_id;
};

struct get_transport_stats_request {
  static constexpr request_scope scope = request_scope::media;
  static constexpr std::string_view counted_as = "get-transport-stats";
  std::string room_id;
  std::string transport_id;
};

// set-transport-egress-cap { transportId, bitrate } (fault injection, tests only: the
// server must run with --fault-injection): caps what the server sends on the transport at
// `bitrate` bps, dropping what exceeds it; 0 lifts the cap.
struct set_egress_cap_request {
  static constexpr request_scope scope = request_scope::media;
  static constexpr std::string_view counted_as = "set-transport-egress-cap";
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
  static constexpr request_scope scope = request_scope::media;
  static constexpr std::string_view counted_as = "inject-fault";
  std::string room_id;
  fault_target target = fault_target::consumer;
  std::string id;
  bool exit = false; // how: "exit"
};

// produce. transport_id may be empty (seed 001): the peer's send transport.
// app_data is the client's `appData` object re-serialized as compact JSON ("" if absent).
struct produce_request {
  static constexpr request_scope scope = request_scope::media;
  static constexpr std::string_view counted_as = "produce";
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
  static constexpr request_scope scope = request_scope::media;
  static constexpr std::string_view counted_as = "consume";
  std::string room_id;
  std::string producer_id;
  std::string transport_id;
  rtp::rtp_capabilities rtp_capabilities;
  bool paused = true; // consumers start paused (mediasoup's recommended flow)
  // Set by a WHEP resource, never by a client's request: the consumer's mid (its answer's
  // m-line; "": the transport's next) and the numbers its receiver gave the payload types
  // and header extensions that rtp_capabilities carries in the router's numbers (empty:
  // the router's, as a mediasoup-client device uses them).
  std::string mid;
  rtp::numbering receiver_numbering;
  // Set by a WHEP resource: without a producer_id, only a producer of this participant
  // (its peer id or user id) is picked ("": any).
  std::string from_participant;
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
  static constexpr request_scope scope = request_scope::media;
  static constexpr std::string_view counted_as = "produce-data";
  std::string room_id;
  std::string transport_id;
  sctp_stream_parameters stream;
  std::string label;
  std::string protocol;
  std::string app_data; // compact JSON ("" if absent)
};

// consume-data { dataProducerId, transportId? } -> data_consumer_params_reply.
struct consume_data_request {
  static constexpr request_scope scope = request_scope::media;
  static constexpr std::string_view counted_as = "consume-data";
  std::string room_id;
  std::string data_producer_id;
  std::string transport_id; // empty: the peer's receive transport with SCTP
};

enum class data_op : uint8_t { close, get_stats };

// close-data-producer / get-data-producer-stats { dataProducerId }
struct data_producer_request {
  static constexpr request_scope scope = request_scope::media;
  static constexpr std::string_view counted_as = "data-producer";
  std::string room_id;
  data_op op = data_op::close;
  std::string data_producer_id;
};

// close-data-consumer / get-data-consumer-stats { dataConsumerId }
struct data_consumer_request {
  static constexpr request_scope scope = request_scope::media;
  static constexpr std::string_view counted_as = "data-consumer";
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
  static constexpr request_scope scope = request_scope::media;
  static constexpr std::string_view counted_as = "producer";
  std::string room_id;
  producer_op op = producer_op::pause;
  std::string producer_id;
};

// pause-consumer, resume-consumer (alias unpauseConsumer), get-consumer-stats,
// set-consumer-preferred-layers { spatialLayer, temporalLayer? },
// set-consumer-priority { priority }, request-consumer-keyframe
struct consumer_request {
  static constexpr request_scope scope = request_scope::media;
  static constexpr std::string_view counted_as = "consumer";
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
  static constexpr request_scope scope = request_scope::participants;
  static constexpr std::string_view counted_as = "get-room-info";
  std::string room_id;
};

// get-participants { roomId?, offset?, limit?, filter? } (permission `moderate`): a page of
// everyone in the room, its audience included, in join order; `filter` keeps those whose
// name or user id contains it (ASCII case-insensitive).
struct get_participants_request {
  static constexpr request_scope scope = request_scope::participants;
  static constexpr std::string_view counted_as = "get-participants";
  static constexpr uint32_t max_limit = 500;
  std::string room_id;
  uint32_t offset = 0;
  uint32_t limit = 50; // 1 .. max_limit
  std::string filter;
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
  static constexpr request_scope scope = request_scope::participants;
  static constexpr std::string_view counted_as = "moderation";
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
  static constexpr request_scope scope = request_scope::connection;
  static constexpr std::string_view counted_as = "class";
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
  static constexpr request_scope scope = request_scope::participants;
  static constexpr std::string_view counted_as = "host-control";
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
  static constexpr request_scope scope = request_scope::media;
  static constexpr std::string_view counted_as = "plain-transport";
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
  static constexpr request_scope scope = request_scope::media;
  static constexpr std::string_view counted_as = "recording";
  std::string room_id;
  bool start = true;
};

// live-stream { url } or { hls: true } (roomId?), stop-live-stream { roomId? } (permission
// `record`): the room's stage composed and streamed to an RTMP endpoint or as HLS
// (actors/live_streamer.hpp). `url` is checked (protocol::check_live_url).
struct live_stream_request {
  static constexpr request_scope scope = request_scope::media;
  static constexpr std::string_view counted_as = "live-stream";
  std::string room_id;
  bool start = true;
  std::string url;
  bool hls = false;
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
               recording_request, get_participants_request,
               live_stream_request>;

// The labels of request_body's types, in its order (request_body::index()).
template <class Body>
struct request_labels_of;
template <class... T>
struct request_labels_of<std::variant<T...>> {
  static constexpr std::array<std::string_view, sizeof...(T)> labels{T::counted_as...};
};
inline constexpr auto request_labels = request_labels_of<request_body>::labels;

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

} // namespace chorus::protocol
