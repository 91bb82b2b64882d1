// The replies to the signaling requests, independent of any dialect (protocol/messages.hpp),
// and the items they carry (participants, ICE, the class's hands, chat and polls).
#pragma once

#include "protocol/requests.hpp"

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace chorus::protocol {

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
  // get-participants only: in the room's audience (actors/room_audience.hpp); hand raised.
  bool in_audience = false;
  bool hand_raised = false;

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

// An RTCIceServer (W3C WebRTC section 4.2.1) handed to the client: a TURN server with its
// short-lived credential (net/turn_credentials.hpp).
struct rtc_ice_server {
  std::vector<std::string> urls;
  std::string username;
  std::string credential;
};

struct transport_params {
  std::string id;
  protocol::ice_parameters ice_parameters;
  std::vector<ice_candidate> ice_candidates;
  // iceServers and iceTransportPolicy of the transport options mediasoup-client takes;
  // left out of the reply when empty.
  std::vector<rtc_ice_server> ice_servers;
  std::string ice_transport_policy; // "all" or "relay"
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

// get-participants: the page asked for, of `total` participants that match the filter (of
// whom `audience` in the room's audience).
struct participants_page_reply {
  uint32_t total = 0;
  uint32_t offset = 0;
  uint32_t audience = 0;
  std::vector<participant> participants;
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
                                data_consumer_params_reply, plain_transport_reply,
                                participants_page_reply>;

} // namespace chorus::protocol
