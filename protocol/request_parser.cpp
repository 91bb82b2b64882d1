#include "protocol/request_parser.hpp"

#include "common/text.hpp"
#include "protocol/json_reader.hpp"
#include "protocol/live_stream.hpp"
#include "protocol/request_fields.hpp"
#include "protocol/rtp_json.hpp"

#include <array>

namespace chorus::protocol {

namespace {

using json::issue;
using json::object_reader;
using rapidjson::Value;
using namespace fields;

// ---- one parser per request shape ----------------------------------------------------

using parse_fn = void (*)(object_reader&, issue&, request_body&);

void parse_get_caps(object_reader& r, issue&, request_body& out) {
  get_rtp_capabilities_request req;
  read_room(r, req.room_id);
  out = std::move(req);
}

void parse_join(object_reader& r, issue& err, request_body& out) {
  join_room_request req;
  read_room(r, req.room_id);
  req.has_rtp_capabilities = read_nested(r, "rtpCapabilities", false, req.rtp_capabilities,
                                         err, parse_rtp_capabilities);
  read_label(r, "name", req.name, false, max_name_bytes);
  // The seed 004 frontend's identity: userId, userName (the name), userImageUrl, isCreator.
  read_user_id(r, req.user_id, false);
  if (req.name.empty())
    read_label(r, "userName", req.name, false, max_name_bytes);
  read_label(r, "userImageUrl", req.image_url, false, max_image_url_bytes);
  r.boolean("isCreator", req.is_creator, false);
  read_label(r, "role", req.role, false, max_role_bytes);
  out = std::move(req);
}

// set-user-id: the data is the user id itself, a bare string (or { userId }).
void parse_set_user_id(object_reader& r, issue&, request_body& out) {
  set_user_id_request req;
  read_user_id(r, req.user_id, true);
  out = std::move(req);
}

void parse_get_socket_id(object_reader& r, issue&, request_body& out) {
  get_socket_id_request req;
  read_room(r, req.room_id);
  read_user_id(r, req.user_id, true);
  out = std::move(req);
}

// update-my-state { roomId?, userId?, isAudioMuted?, isVideoPaused? }: at least one flag.
// userId, if given, is the sender's own (the frontend sends it); it is not checked here.
void parse_update_state(object_reader& r, issue& err, request_body& out) {
  update_state_request req;
  read_room(r, req.room_id);
  std::string ignored;
  read_user_id(r, ignored, false);
  req.has_audio_muted = r.boolean("isAudioMuted", req.audio_muted, false);
  req.has_video_paused = r.boolean("isVideoPaused", req.video_paused, false);
  if (r.ok() && !req.has_audio_muted && !req.has_video_paused)
    err.fail("isAudioMuted or isVideoPaused is required", true);
  out = std::move(req);
}

// sctpCapabilities { numStreams: { OS, MIS } } (mediasoup-client's device.sctpCapabilities),
// or enableSctp: true (the configured stream counts).
void read_sctp_capabilities(object_reader& r, create_transport_request& req, issue& err) {
  bool enable = false;
  if (r.boolean("enableSctp", enable, false))
    req.enable_sctp = enable;
  const Value* caps = r.member("sctpCapabilities", false);
  if (caps == nullptr || !r.ok() || !json::check_object(*caps, r.path("sctpCapabilities"), err))
    return;
  object_reader c(*caps, r.path("sctpCapabilities"), err);
  if (!c.ok())
    return;
  const Value* streams = c.member("numStreams", true);
  if (streams == nullptr || !json::check_object(*streams, c.path("numStreams"), err))
    return;
  object_reader n(*streams, c.path("numStreams"), err);
  if (!n.ok())
    return;
  n.integer("OS", req.sctp_os, true, 1, 65535);
  n.integer("MIS", req.sctp_mis, true, 1, 65535);
  req.enable_sctp = n.ok();
}

template <transport_direction Fixed, bool Required>
void parse_create(object_reader& r, issue& err, request_body& out) {
  create_transport_request req;
  read_room(r, req.room_id);
  req.direction = Fixed;
  if (Fixed == transport_direction::unspecified)
    read_direction(r, req.direction, Required);
  read_sctp_capabilities(r, req, err);
  out = std::move(req);
}

// sctpStreamParameters { streamId, ordered?, maxPacketLifeTime?, maxRetransmits? }
void read_sctp_stream(object_reader& r, sctp_stream_parameters& out, issue& err) {
  const Value* v = r.member("sctpStreamParameters", true);
  if (v == nullptr || !r.ok() || !json::check_object(*v, r.path("sctpStreamParameters"), err))
    return;
  object_reader s(*v, r.path("sctpStreamParameters"), err);
  if (!s.ok())
    return;
  s.integer("streamId", out.stream_id, true, 0, 65534);
  s.boolean("ordered", out.ordered, false);
  out.has_max_packet_life_time =
    s.integer("maxPacketLifeTime", out.max_packet_life_time, false, 0, 0xffffffffLL);
  out.has_max_retransmits = s.integer("maxRetransmits", out.max_retransmits, false, 0, 0xffffffffLL);
  if (s.ok() && out.has_max_packet_life_time && out.has_max_retransmits)
    s.fail("maxRetransmits", "cannot be given together with maxPacketLifeTime");
}

void parse_produce_data(object_reader& r, issue& err, request_body& out) {
  produce_data_request req;
  read_room(r, req.room_id);
  read_id(r, "transportId", req.transport_id, false);
  read_sctp_stream(r, req.stream, err);
  r.text("label", req.label, false, 0, max_data_label_bytes);
  r.text("protocol", req.protocol, false, 0, max_data_label_bytes);
  bool share = false;
  std::string source;
  read_app_data(r, req.app_data, share, source, err);
  out = std::move(req);
}

void parse_consume_data(object_reader& r, issue&, request_body& out) {
  consume_data_request req;
  read_room(r, req.room_id);
  read_id(r, "dataProducerId", req.data_producer_id, true);
  read_id(r, "transportId", req.transport_id, false);
  out = std::move(req);
}

template <data_op Op>
void parse_data_producer_op(object_reader& r, issue&, request_body& out) {
  data_producer_request req;
  read_room(r, req.room_id);
  req.op = Op;
  read_id(r, "dataProducerId", req.data_producer_id, true);
  out = std::move(req);
}

template <data_op Op>
void parse_data_consumer_op(object_reader& r, issue&, request_body& out) {
  data_consumer_request req;
  read_room(r, req.room_id);
  req.op = Op;
  read_id(r, "dataConsumerId", req.data_consumer_id, true);
  out = std::move(req);
}

void parse_connect(object_reader& r, issue& err, request_body& out) {
  connect_transport_request req;
  read_room(r, req.room_id);
  read_id(r, "transportId", req.transport_id, false);
  read_nested(r, "dtlsParameters", true, req.dtls_parameters, err, parse_dtls_parameters);
  out = std::move(req);
}

template <class Request>
void parse_transport_op(object_reader& r, issue&, request_body& out) {
  Request req;
  read_room(r, req.room_id);
  read_id(r, "transportId", req.transport_id, true);
  out = std::move(req);
}

void parse_egress_cap(object_reader& r, issue&, request_body& out) {
  set_egress_cap_request req;
  read_room(r, req.room_id);
  read_id(r, "transportId", req.transport_id, true);
  r.integer("bitrate", req.bitrate, true, 0, 10'000'000'000LL);
  out = std::move(req);
}

void parse_inject_fault(object_reader& r, issue&, request_body& out) {
  inject_fault_request req;
  read_room(r, req.room_id);
  std::string target;
  if (r.text("target", target, true)) {
    if (target == "consumer")
      req.target = fault_target::consumer;
    else if (target == "producer")
      req.target = fault_target::producer;
    else if (target == "transport")
      req.target = fault_target::transport;
    else if (target == "session")
      req.target = fault_target::session;
    else
      r.fail("target", "must be \"consumer\", \"producer\", \"transport\" or \"session\"");
  }
  read_id(r, "id", req.id, req.target != fault_target::session);
  std::string how;
  if (r.text("how", how, false)) {
    if (how == "exit")
      req.exit = true;
    else if (how != "throw")
      r.fail("how", "must be \"throw\" or \"exit\"");
  }
  out = std::move(req);
}

void parse_produce(object_reader& r, issue& err, request_body& out) {
  produce_request req;
  read_room(r, req.room_id);
  read_id(r, "transportId", req.transport_id, false);
  read_kind(r, req.kind);
  read_nested(r, "rtpParameters", true, req.rtp_parameters, err, parse_rtp_parameters);
  read_app_data(r, req.app_data, req.is_screen_share, req.source, err);
  r.boolean("paused", req.paused, false);
  out = std::move(req);
}

void parse_consume(object_reader& r, issue& err, request_body& out) {
  consume_request req;
  read_room(r, req.room_id);
  read_id(r, "producerId", req.producer_id, false);
  read_id(r, "transportId", req.transport_id, false);
  read_nested(r, "rtpCapabilities", true, req.rtp_capabilities, err, parse_rtp_capabilities);
  r.boolean("paused", req.paused, false);
  out = std::move(req);
}

template <producer_op Op>
void parse_producer_op(object_reader& r, issue&, request_body& out) {
  producer_request req;
  read_room(r, req.room_id);
  req.op = Op;
  read_id(r, "producerId", req.producer_id, true);
  out = std::move(req);
}

// IdRequired false: unpauseConsumer of seed 000, whose client names no consumer (the
// peer then resumes the consumers still waiting for their first resume).
template <consumer_op Op, bool IdRequired = true>
void parse_consumer_op(object_reader& r, issue&, request_body& out) {
  consumer_request req;
  read_room(r, req.room_id);
  req.op = Op;
  read_id(r, "consumerId", req.consumer_id, IdRequired);
  out = std::move(req);
}

// set-consumer-preferred-layers { consumerId, spatialLayer, temporalLayer? }
void parse_preferred_layers(object_reader& r, issue&, request_body& out) {
  consumer_request req;
  read_room(r, req.room_id);
  req.op = consumer_op::set_preferred_layers;
  read_id(r, "consumerId", req.consumer_id, true);
  int64_t spatial = 0, temporal = -1;
  r.integer("spatialLayer", spatial, true, 0, 3);
  r.integer("temporalLayer", temporal, false, 0, 2);
  req.spatial_layer = int(spatial);
  req.temporal_layer = int(temporal);
  out = std::move(req);
}

// set-consumer-priority { consumerId, priority (1..255) }
void parse_consumer_priority(object_reader& r, issue&, request_body& out) {
  consumer_request req;
  read_room(r, req.room_id);
  req.op = consumer_op::set_priority;
  read_id(r, "consumerId", req.consumer_id, true);
  int64_t priority = 1;
  r.integer("priority", priority, true, 1, 255);
  req.priority = int(priority);
  out = std::move(req);
}

void parse_room_info(object_reader& r, issue&, request_body& out) {
  get_room_info_request req;
  read_room(r, req.room_id);
  out = std::move(req);
}

void parse_get_participants(object_reader& r, issue&, request_body& out) {
  get_participants_request req;
  read_room(r, req.room_id);
  r.integer("offset", req.offset, false, 0, 10000000);
  r.integer("limit", req.limit, false, 1, get_participants_request::max_limit);
  r.text("filter", req.filter, false, 0, 128);
  out = std::move(req);
}



template <moderation_action Action>
void parse_moderation(object_reader& r, issue& err, request_body& out) {
  moderation_request req;
  req.action = Action;
  read_room(r, req.room_id);
  constexpr bool targets_peer = Action != moderation_action::lock &&
                                Action != moderation_action::unlock &&
                                Action != moderation_action::end;
  if constexpr (targets_peer)
    read_label(r, "peerId", req.peer_id, true, max_user_id_bytes);
  if constexpr (Action == moderation_action::mute)
    read_publish_kinds(r, err, req.kinds, false);
  if constexpr (Action == moderation_action::allow_publish ||
                Action == moderation_action::disallow_publish)
    read_publish_kinds(r, err, req.kinds, true);
  if constexpr (Action != moderation_action::unblock && Action != moderation_action::lock &&
                Action != moderation_action::unlock && Action != moderation_action::mute)
    read_reason(r, req.reason);
  if constexpr (Action == moderation_action::block)
    r.integer("seconds", req.seconds, false, 1, max_block_seconds);
  out = std::move(req);
}

// ---- the live class -----------------------------------------------------------------------

template <class_action Action>
void parse_class(object_reader& r, issue& err, request_body& out) {
  class_request req;
  req.action = Action;
  read_room(r, req.room_id);
  switch (Action) {
    case class_action::raise_hand:
      break;
    case class_action::lower_hand:
    case class_action::disable_chat:
    case class_action::enable_chat:
      read_label(r, "peerId", req.peer_id, false, max_user_id_bytes);
      break;
    case class_action::chat:
      // The configured limit (chat.maxTextBytes) is checked by the room; this bound only
      // keeps a request from carrying more than any limit could allow.
      r.text("text", req.text, true, 0, max_chat_text_bytes);
      read_label(r, "to", req.to, false, max_user_id_bytes);
      break;
    case class_action::delete_chat:
      read_id(r, "id", req.id, true);
      break;
    case class_action::create_poll: {
      r.text("question", req.text, true, 0, max_chat_text_bytes);
      const Value* list = r.member("options", true);
      if (list != nullptr && json::check_array(*list, r.path("options"), err)) {
        std::size_t i = 0;
        for (auto& v : list->GetArray()) {
          std::string option;
          if (!json::read_text(v, json::join(r.path("options"), i++), 0, max_chat_text_bytes,
                               option, err))
            break;
          req.options.push_back(std::move(option));
        }
      }
      r.boolean("multiple", req.multiple, false);
      r.boolean("anonymous", req.anonymous, false);
      break;
    }
    case class_action::vote: {
      read_id(r, "pollId", req.id, true);
      uint32_t one = 0;
      if (r.integer("option", one, false, 0, 1000)) {
        req.choices.push_back(one);
        break;
      }
      const Value* list = r.member("options", true);
      if (list != nullptr && json::check_array(*list, r.path("options"), err)) {
        std::size_t i = 0;
        for (auto& v : list->GetArray()) {
          int64_t index = 0;
          if (!json::read_int(v, json::join(r.path("options"), i++), 0, 1000, index, err))
            break;
          req.choices.push_back(static_cast<uint32_t>(index));
        }
      }
      break;
    }
    case class_action::close_poll:
      read_id(r, "pollId", req.id, true);
      break;
    case class_action::chat_history:
    case class_action::typing_stop:
      break;
    case class_action::typing_start:
      read_label(r, "name", req.text, false, max_name_bytes);
      break;
    case class_action::react:
      read_label(r, "messageId", req.id, true, max_user_id_bytes);
      read_label(r, "emoji", req.emoji, true, max_emoji_bytes);
      break;
    case class_action::pin:
      read_label(r, "messageId", req.id, true, max_user_id_bytes);
      r.boolean("pinned", req.pinned, true);
      break;
    case class_action::video_reaction:
      read_label(r, "emoji", req.emoji, true, max_emoji_bytes);
      read_label(r, "sessionId", req.session_id, false, max_user_id_bytes);
      read_label(r, "userName", req.text, false, max_name_bytes);
      break;
  }
  out = std::move(req);
}

// send-message { roomId, message: { id, text, createdAt?, sender: { id, name, avatarUrl? },
// replyTo? } }: the frontend's chat message, as chat-message to the room.
void parse_send_message(object_reader& r, issue& err, request_body& out) {
  class_request req;
  req.action = class_action::chat;
  req.frontend = true;
  read_room(r, req.room_id);
  const Value* m = r.member("message", true);
  if (m != nullptr && json::check_object(*m, r.path("message"), err)) {
    object_reader msg(*m, r.path("message"), err);
    read_label(msg, "id", req.client_id, true, max_user_id_bytes);
    msg.text("text", req.text, true, 0, max_chat_text_bytes);
    if (const Value* sender = msg.member("sender", false);
        sender != nullptr && json::check_object(*sender, msg.path("sender"), err)) {
      object_reader snd(*sender, msg.path("sender"), err);
      read_label(snd, "avatarUrl", req.avatar_url, false, max_image_url_bytes);
    }
    if (const Value* reply = msg.member("replyTo", false);
        reply != nullptr && json::check_object(*reply, msg.path("replyTo"), err)) {
      req.reply_to = json::compact(*reply);
      if (req.reply_to.size() > max_reply_to_bytes)
        err.fail(msg.path("replyTo") + " must be at most " + std::to_string(max_reply_to_bytes) +
                 " bytes of JSON");
    }
  }
  out = std::move(req);
}

// ---- the seed 004 frontend's host controls ------------------------------------------------

template <host_action Action>
void parse_host(object_reader& r, issue&, request_body& out) {
  host_request req;
  req.action = Action;
  read_room(r, req.room_id);
  std::string ignored; // the sender's own userId, which the frontend sends along
  read_user_id(r, ignored, false);
  switch (Action) {
    case host_action::toggle_audio:
    case host_action::toggle_video: {
      read_label(r, "targetUserId", req.target, true, max_user_id_bytes);
      std::string force;
      if (r.text("force", force, true)) {
        const bool audio = Action == host_action::toggle_audio;
        if (force == (audio ? "mute" : "pause"))
          req.on = true;
        else if (force == (audio ? "unmute" : "unpause"))
          req.on = false;
        else
          r.fail("force", audio ? "must be \"mute\" or \"unmute\""
                                : "must be \"pause\" or \"unpause\"");
      }
      break;
    }
    case host_action::remove:
      read_label(r, "targetUserId", req.target, true, max_user_id_bytes);
      break;
    case host_action::make_cohost:
    case host_action::remove_cohost:
    case host_action::make_host:
    case host_action::remove_host:
      read_label(r, "participantId", req.target, true, max_user_id_bytes);
      break;
    default:
      break;
  }
  out = std::move(req);
}

// create-plain-transport { listenIp?, rtcpMux?, comedia?, enableSrtp?, srtpCryptoSuite? }
// listenIp: a literal or mediasoup's { ip, announcedIp? } (only ip is used).
void parse_plain_create(object_reader& r, issue& err, request_body& out) {
  plain_transport_request req;
  req.op = plain_op::create;
  read_room(r, req.room_id);
  if (const Value* v = r.member("listenIp", false)) {
    if (v->IsString()) {
      r.text("listenIp", req.listen_ip, false, 1, 64);
    } else if (json::check_object(*v, r.path("listenIp"), err)) {
      object_reader inner(*v, r.path("listenIp"), err);
      inner.text("ip", req.listen_ip, true, 1, 64);
    }
  }
  r.boolean("rtcpMux", req.rtcp_mux, false);
  r.boolean("comedia", req.comedia, false);
  r.boolean("enableSrtp", req.enable_srtp, false);
  r.text("srtpCryptoSuite", req.srtp_crypto_suite, false, 1, 64);
  out = std::move(req);
}

// connect-plain-transport { transportId, ip?, port?, rtcpPort?, srtpParameters? }
void parse_plain_connect(object_reader& r, issue& err, request_body& out) {
  plain_transport_request req;
  req.op = plain_op::connect;
  read_room(r, req.room_id);
  read_id(r, "transportId", req.transport_id, true);
  r.text("ip", req.ip, false, 1, 64);
  r.integer("port", req.port, false, 1, 65535);
  r.integer("rtcpPort", req.rtcp_port, false, 1, 65535);
  if (const Value* v = r.member("srtpParameters", false)) {
    if (json::check_object(*v, r.path("srtpParameters"), err)) {
      object_reader inner(*v, r.path("srtpParameters"), err);
      inner.text("cryptoSuite", req.srtp_suite, true, 1, 64);
      inner.text("keyBase64", req.srtp_key_base64, true, 1, 128);
      req.has_srtp_parameters = true;
    }
  }
  out = std::move(req);
}

template <bool Start>
void parse_recording(object_reader& r, issue&, request_body& out) {
  recording_request req;
  req.start = Start;
  read_room(r, req.room_id);
  out = std::move(req);
}

void parse_live_start(object_reader& r, issue& err, request_body& out) {
  live_stream_request req;
  read_room(r, req.room_id);
  const bool has_url = r.text("url", req.url, false, 1, 4096);
  r.boolean("hls", req.hls, false);
  if (err.failed)
    return;
  if (has_url == req.hls) {
    err.fail("live-stream takes either url (rtmp://...) or hls: true");
    return;
  }
  if (has_url)
    if (auto checked = check_live_url(req.url); !checked) {
      err.fail("url: " + checked.error());
      return;
    }
  out = std::move(req);
}

void parse_live_stop(object_reader& r, issue&, request_body& out) {
  live_stream_request req;
  req.start = false;
  read_room(r, req.room_id);
  out = std::move(req);
}

// ---- the request names -------------------------------------------------------------------

struct request_spec {
  std::string_view name;
  request_style style;
  parse_fn parse;
};

constexpr auto s001 = request_style::seed001;
constexpr auto s004 = request_style::seed004;
constexpr auto s000 = request_style::seed000;
constexpr auto unspecified = transport_direction::unspecified;

constexpr std::array<request_spec, 84> specs{{
  // seed 001 names (and seed 004's produce, consume, connect-transport)
  {"get-rtp-capabilities", s001, parse_get_caps},
  {"create-transport", s001, parse_create<unspecified, false>},
  {"connect-transport", s001, parse_connect},
  {"produce", s001, parse_produce},
  {"consume", s001, parse_consume},
  // seed 004 names
  {"join-mediasoup-room", s004, parse_join},
  {"create-webrtc-transport", s004, parse_create<unspecified, true>},
  {"restart-ice", s004, parse_transport_op<restart_ice_request>},
  {"get-transport-stats", s004, parse_transport_op<get_transport_stats_request>},
  {"set-transport-egress-cap", s004, parse_egress_cap},
  {"inject-fault", s004, parse_inject_fault},
  {"resume-consumer", s004, parse_consumer_op<consumer_op::resume>},
  {"pause-consumer", s004, parse_consumer_op<consumer_op::pause>},
  {"get-consumer-stats", s004, parse_consumer_op<consumer_op::get_stats>},
  {"set-consumer-preferred-layers", s004, parse_preferred_layers},
  {"set-consumer-priority", s004, parse_consumer_priority},
  {"request-consumer-keyframe", s004, parse_consumer_op<consumer_op::request_keyframe>},
  {"pause-producer", s004, parse_producer_op<producer_op::pause>},
  {"resume-producer", s004, parse_producer_op<producer_op::resume>},
  {"close-producer", s004, parse_producer_op<producer_op::close>},
  {"get-producer-stats", s004, parse_producer_op<producer_op::get_stats>},
  // data channels (docs/protocol.md, "Data channels")
  {"produce-data", s004, parse_produce_data},
  {"consume-data", s004, parse_consume_data},
  {"close-data-producer", s004, parse_data_producer_op<data_op::close>},
  {"get-data-producer-stats", s004, parse_data_producer_op<data_op::get_stats>},
  {"close-data-consumer", s004, parse_data_consumer_op<data_op::close>},
  {"get-data-consumer-stats", s004, parse_data_consumer_op<data_op::get_stats>},
  // seed 000 names: aliases (each dialect decides their reply shapes)
  {"getRouterRtpCapabilities", s000, parse_get_caps},
  {"createWebRtcTransport", s000, parse_create<unspecified, true>},
  {"connectTransport", s000, parse_connect},
  {"create-consumer-transport", s000, parse_create<transport_direction::recv, false>},
  {"connect-consumer-transport", s000, parse_connect},
  {"consume-media", s000, parse_consume},
  {"unpauseConsumer", s000, parse_consumer_op<consumer_op::resume, false>},
  // the seed 004 frontend's extended events (docs/protocol.md)
  {"set-user-id", s004, parse_set_user_id},
  {"get-socket-id-for-user", s004, parse_get_socket_id},
  {"update-my-state", s004, parse_update_state},
  {"screen-share-stopped", s004, parse_producer_op<producer_op::close>},
  // who may do what (docs/protocol.md, "Roles and moderation")
  {"get-room-info", s004, parse_room_info},
  {"get-participants", s004, parse_get_participants},
  {"mute-peer", s004, parse_moderation<moderation_action::mute>},
  {"allow-publish", s004, parse_moderation<moderation_action::allow_publish>},
  {"disallow-publish", s004, parse_moderation<moderation_action::disallow_publish>},
  {"kick-peer", s004, parse_moderation<moderation_action::kick>},
  {"block-peer", s004, parse_moderation<moderation_action::block>},
  {"unblock-peer", s004, parse_moderation<moderation_action::unblock>},
  {"lock-room", s004, parse_moderation<moderation_action::lock>},
  {"unlock-room", s004, parse_moderation<moderation_action::unlock>},
  {"end-room", s004, parse_moderation<moderation_action::end>},
  // the live class (docs/protocol.md, "The live class")
  {"raise-hand", s004, parse_class<class_action::raise_hand>},
  {"lower-hand", s004, parse_class<class_action::lower_hand>},
  {"chat-message", s004, parse_class<class_action::chat>},
  {"disable-chat", s004, parse_class<class_action::disable_chat>},
  {"enable-chat", s004, parse_class<class_action::enable_chat>},
  {"delete-chat-message", s004, parse_class<class_action::delete_chat>},
  {"create-poll", s004, parse_class<class_action::create_poll>},
  {"vote", s004, parse_class<class_action::vote>},
  {"close-poll", s004, parse_class<class_action::close_poll>},
  // the seed 004 frontend's host controls (docs/protocol.md, "Host controls")
  {"toggle-remote-audio", s004, parse_host<host_action::toggle_audio>},
  {"toggle-remote-video", s004, parse_host<host_action::toggle_video>},
  {"remove-participant", s004, parse_host<host_action::remove>},
  {"mute-all-participants", s004, parse_host<host_action::mute_all>},
  {"unmute-all-participants", s004, parse_host<host_action::unmute_all>},
  {"disable-all-cameras", s004, parse_host<host_action::disable_cameras>},
  {"enable-all-cameras", s004, parse_host<host_action::enable_cameras>},
  {"disable-all-screen-sharing", s004, parse_host<host_action::disable_screens>},
  {"enable-all-screen-sharing", s004, parse_host<host_action::enable_screens>},
  {"make-cohost", s004, parse_host<host_action::make_cohost>},
  {"remove-cohost", s004, parse_host<host_action::remove_cohost>},
  {"make-host", s004, parse_host<host_action::make_host>},
  {"remove-host", s004, parse_host<host_action::remove_host>},
  // the seed 004 frontend's chat (docs/protocol.md, "The frontend's chat")
  {"request-chat-history", s004, parse_class<class_action::chat_history>},
  {"send-message", s004, parse_send_message},
  {"typing-start", s004, parse_class<class_action::typing_start>},
  {"typing-stop", s004, parse_class<class_action::typing_stop>},
  {"message-react", s004, parse_class<class_action::react>},
  {"pin-message", s004, parse_class<class_action::pin>},
  {"video-reaction", s004, parse_class<class_action::video_reaction>},
  // plain RTP and recording (docs/protocol.md, "Plain RTP transports", "Recording")
  {"create-plain-transport", s004, parse_plain_create},
  {"connect-plain-transport", s004, parse_plain_connect},
  {"start-recording", s004, parse_recording<true>},
  {"stop-recording", s004, parse_recording<false>},
  // live streaming (docs/protocol.md, "Live streaming")
  {"live-stream", s004, parse_live_start},
  {"stop-live-stream", s004, parse_live_stop},
}};

const request_spec* find_spec(std::string_view type) noexcept {
  for (const auto& s : specs)
    if (s.name == type)
      return &s;
  return nullptr;
}

} // namespace

bool parse_connection_hints(const Value& obj, connection_hints& out, error_info& error) {
  issue err;
  object_reader r(obj, "auth", err);
  connection_hints hints;
  read_room(r, hints.room_id);
  if (hints.room_id.empty())
    read_label(r, "channelId", hints.room_id, false, max_room_id_bytes);
  read_label(r, "name", hints.name, false, max_name_bytes);
  r.text("token", hints.token, false, 1, max_token_bytes);
  read_label(r, "role", hints.role, false, max_role_bytes);
  if (err.failed) {
    error = {error_code::invalid_field, err.message};
    return false;
  }
  out = std::move(hints);
  return true;
}

namespace {
// set-user-id's data is the user id itself.
bool accepts_string_data(std::string_view type) noexcept {
  return type == "set-user-id";
}
} // namespace

bool acceptable_data(std::string_view type, const Value* data) noexcept {
  return data == nullptr || data->IsObject() || (data->IsString() && accepts_string_data(type));
}

bool is_request_type(std::string_view type) noexcept {
  return find_spec(type) != nullptr;
}

request_parse_result parse_request(std::string_view type, const Value* data) {
  request_parse_result out;
  const request_spec* spec = find_spec(type);
  if (spec == nullptr) {
    out.error = {error_code::unknown_type,
                 "unknown request type \"" + std::string(type.substr(0, 64)) + "\""};
    return out;
  }
  out.style = spec->style;
  static const Value empty(rapidjson::kObjectType);
  // set-user-id's data is the user id itself: read it as { userId: data }.
  rapidjson::Document wrapped;
  if (data != nullptr && data->IsString() && accepts_string_data(type)) {
    wrapped.SetObject();
    wrapped.AddMember("userId", Value(*data, wrapped.GetAllocator()), wrapped.GetAllocator());
    data = &wrapped;
  }
  issue err;
  object_reader reader(data != nullptr ? *data : empty, "", err);
  spec->parse(reader, err, out.body);
  if (err.failed) {
    out.error = {err.missing ? error_code::missing_field : error_code::invalid_field,
                 err.message};
    return out;
  }
  out.ok = true;
  return out;
}

} // namespace chorus::protocol
