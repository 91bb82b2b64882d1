#include "protocol/reply_json.hpp"
#include "protocol/class_json.hpp"
#include "protocol/json_members.hpp"

#include <array>
#include <type_traits>
#include <utility>

namespace chorus::protocol {

namespace {

using namespace json;

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

// { roomId, locked, participants, role, permissions, blocked? (moderators only) }
// get-participants { total, offset, audience, participants: [...] }: the items in the
// dialect's shape, with inAudience and handRaised where true.
void write_reply(json_writer& w, request_style, const participants_page_reply& r,
                 bool frontend) {
  w.StartObject();
  key(w, "total");
  w.Uint(r.total);
  key(w, "offset");
  w.Uint(r.offset);
  key(w, "audience");
  w.Uint(r.audience);
  key(w, "participants");
  w.StartArray();
  for (const auto& p : r.participants)
    write_json(w, p, frontend);
  w.EndArray();
  w.EndObject();
}

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

void write_string(json_writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

std::string text_of(const rapidjson::StringBuffer& buf) {
  return std::string(buf.GetString(), buf.GetSize());
}

void write_raw(json_writer& w, std::string_view json) {
  if (json.empty())
    json = "{}";
  w.RawValue(json.data(), json.size(), rapidjson::kObjectType);
}

} // namespace chorus::protocol
