// CAF `inspect` overloads for the plain structs of rtp/, net/ and protocol/ that travel
// between actors. They live here (not next to the structs) so that the pure layers never
// include CAF; ADL finds them because they are declared in the structs' namespaces.
#pragma once

#include "net/dtls_parameters.hpp"
#include "net/ice_server.hpp"
#include "net/media_io.hpp"
#include "protocol/errors.hpp"
#include "protocol/messages.hpp"
#include "rtp/rtp_parameters.hpp"

#include <caf/meta/type_name.hpp>

namespace chorus::rtp {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, codec_param& x) {
  return f(caf::meta::type_name("codec_param"), x.key, x.value, x.numeric);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rtcp_feedback& x) {
  return f(caf::meta::type_name("rtcp_feedback"), x.type, x.parameter);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, codec_capability& x) {
  return f(caf::meta::type_name("codec_capability"), x.kind, x.mime_type,
           x.preferred_payload_type, x.clock_rate, x.channels, x.parameters, x.rtcp_feedback);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, header_extension_capability& x) {
  return f(caf::meta::type_name("header_extension_capability"), x.kind, x.uri,
           x.preferred_id, x.preferred_encrypt, x.direction);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rtp_capabilities& x) {
  return f(caf::meta::type_name("rtp_capabilities"), x.codecs, x.header_extensions);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, codec_parameters& x) {
  return f(caf::meta::type_name("codec_parameters"), x.mime_type, x.payload_type,
           x.clock_rate, x.channels, x.parameters, x.rtcp_feedback);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, header_extension_parameters& x) {
  return f(caf::meta::type_name("header_extension_parameters"), x.uri, x.id, x.encrypt,
           x.parameters);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, encoding_parameters& x) {
  return f(caf::meta::type_name("encoding_parameters"), x.ssrc, x.rid, x.codec_payload_type,
           x.rtx_ssrc, x.dtx, x.scalability_mode, x.max_bitrate, x.scale_resolution_down_by);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rtcp_parameters& x) {
  return f(caf::meta::type_name("rtcp_parameters"), x.cname, x.reduced_size);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rtp_parameters& x) {
  return f(caf::meta::type_name("rtp_parameters"), x.mid, x.codecs, x.header_extensions,
           x.encodings, x.rtcp);
}

} // namespace chorus::rtp

namespace chorus::net {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dtls_fingerprint& x) {
  return f(caf::meta::type_name("dtls_fingerprint"), x.algorithm, x.value);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dtls_parameters& x) {
  return f(caf::meta::type_name("dtls_parameters"), x.role, x.fingerprints);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, transport_address& x) {
  return f(caf::meta::type_name("transport_address"), x.family, x.bytes, x.port);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ice_tuple& x) {
  return f(caf::meta::type_name("ice_tuple"), x.protocol, x.remote, x.connection_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, inbound_packet& x) {
  return f(caf::meta::type_name("inbound_packet"), x.source, x.offset, x.size,
           x.connection_closed);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, packet_batch& x) {
  return f(caf::meta::type_name("packet_batch"), x.data, x.packets);
}

} // namespace chorus::net

namespace chorus::protocol {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_rtp_capabilities_request& x) {
  return f(caf::meta::type_name("get_rtp_capabilities_request"), x.room_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, join_room_request& x) {
  return f(caf::meta::type_name("join_room_request"), x.room_id, x.has_rtp_capabilities,
           x.rtp_capabilities, x.name, x.user_id, x.image_url, x.is_creator, x.role);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, set_user_id_request& x) {
  return f(caf::meta::type_name("set_user_id_request"), x.user_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_socket_id_request& x) {
  return f(caf::meta::type_name("get_socket_id_request"), x.room_id, x.user_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, update_state_request& x) {
  return f(caf::meta::type_name("update_state_request"), x.room_id, x.has_audio_muted,
           x.audio_muted, x.has_video_paused, x.video_paused);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_room_info_request& x) {
  return f(caf::meta::type_name("get_room_info_request"), x.room_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, moderation_request& x) {
  return f(caf::meta::type_name("moderation_request"), x.room_id, x.action, x.peer_id,
           x.kinds, x.reason, x.seconds);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, class_request& x) {
  return f(caf::meta::type_name("class_request"), x.room_id, x.action, x.peer_id, x.text, x.to,
           x.id, x.options, x.choices, x.multiple, x.anonymous, x.client_id, x.reply_to,
           x.avatar_url, x.emoji, x.session_id, x.pinned, x.frontend);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, host_request& x) {
  return f(caf::meta::type_name("host_request"), x.room_id, x.action, x.target, x.on);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, create_transport_request& x) {
  return f(caf::meta::type_name("create_transport_request"), x.room_id, x.direction,
           x.enable_sctp, x.sctp_os, x.sctp_mis);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, connect_transport_request& x) {
  return f(caf::meta::type_name("connect_transport_request"), x.room_id, x.transport_id,
           x.dtls_parameters);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, set_egress_cap_request& x) {
  return f(caf::meta::type_name("set_egress_cap_request"), x.room_id, x.transport_id, x.bitrate);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, inject_fault_request& x) {
  return f(caf::meta::type_name("inject_fault_request"), x.room_id, x.target, x.id, x.exit);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, restart_ice_request& x) {
  return f(caf::meta::type_name("restart_ice_request"), x.room_id, x.transport_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_transport_stats_request& x) {
  return f(caf::meta::type_name("get_transport_stats_request"), x.room_id, x.transport_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, produce_request& x) {
  return f(caf::meta::type_name("produce_request"), x.room_id, x.transport_id, x.kind,
           x.rtp_parameters, x.app_data, x.paused, x.is_screen_share, x.source,
           x.replace_audio);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, consume_request& x) {
  return f(caf::meta::type_name("consume_request"), x.room_id, x.producer_id,
           x.transport_id, x.rtp_capabilities, x.paused);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, producer_request& x) {
  return f(caf::meta::type_name("producer_request"), x.room_id, x.op, x.producer_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, consumer_request& x) {
  return f(caf::meta::type_name("consumer_request"), x.room_id, x.op, x.consumer_id,
           x.spatial_layer, x.temporal_layer, x.priority);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, participant& x) {
  return f(caf::meta::type_name("participant"), x.id, x.name, x.is_audio_muted,
           x.is_video_paused, x.user_id, x.image_url, x.is_host, x.is_co_host,
           x.audio_locked, x.screen_share_locked, x.role, x.is_screen_sharing);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ice_parameters& x) {
  return f(caf::meta::type_name("ice_parameters"), x.username_fragment, x.password,
           x.ice_lite);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ice_candidate& x) {
  return f(caf::meta::type_name("ice_candidate"), x.foundation, x.priority, x.address,
           x.port, x.protocol, x.type, x.tcp_type);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sctp_parameters& x) {
  return f(caf::meta::type_name("sctp_parameters"), x.port, x.os, x.mis, x.max_message_size);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, transport_params& x) {
  return f(caf::meta::type_name("transport_params"), x.id, x.ice_parameters,
           x.ice_candidates, x.dtls_parameters, x.has_sctp, x.sctp_parameters);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, empty_reply&) {
  return f(caf::meta::type_name("empty_reply"));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rtp_capabilities_reply& x) {
  return f(caf::meta::type_name("rtp_capabilities_reply"), x.json);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, join_room_reply& x) {
  return f(caf::meta::type_name("join_room_reply"), x.room_id, x.peer_id,
           x.existing_producers, x.is_host, x.is_co_host);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, socket_id_reply& x) {
  return f(caf::meta::type_name("socket_id_reply"), x.socket_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, transport_params_reply& x) {
  return f(caf::meta::type_name("transport_params_reply"), x.params);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, restart_ice_reply& x) {
  return f(caf::meta::type_name("restart_ice_reply"), x.ice_parameters);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, producer_id_reply& x) {
  return f(caf::meta::type_name("producer_id_reply"), x.id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, consumer_params_reply& x) {
  return f(caf::meta::type_name("consumer_params_reply"), x.id, x.producer_id, x.kind,
           x.rtp_parameters, x.type, x.producer_paused, x.peer_id, x.user_id, x.user_name,
           x.is_screen_share, x.app_data, x.source);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, blocked_peer& x) {
  return f(caf::meta::type_name("blocked_peer"), x.peer_id, x.user_id, x.reason, x.by,
           x.until_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hand_item& x) {
  return f(caf::meta::type_name("hand_item"), x.peer_id, x.user_id, x.name, x.raised_at);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chat_reaction& x) {
  return f(caf::meta::type_name("chat_reaction"), x.emoji, x.user_ids);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chat_item& x) {
  return f(caf::meta::type_name("chat_item"), x.id, x.from, x.user_id, x.name, x.text, x.to,
           x.at, x.client_id, x.avatar_url, x.reply_to, x.pinned, x.reactions);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, poll_item& x) {
  return f(caf::meta::type_name("poll_item"), x.id, x.question, x.options, x.multiple,
           x.anonymous, x.closed, x.counts, x.voters, x.by, x.created_at);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, room_info_reply& x) {
  return f(caf::meta::type_name("room_info_reply"), x.room_id, x.locked, x.participants,
           x.has_blocked, x.blocked, x.role, x.permissions, x.hands, x.polls, x.chat_enabled);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, plain_transport_request& x) {
  return f(caf::meta::type_name("plain_transport_request"), x.room_id, x.op, x.listen_ip,
           x.rtcp_mux, x.comedia, x.enable_srtp, x.srtp_crypto_suite, x.transport_id, x.ip,
           x.port, x.rtcp_port, x.has_srtp_parameters, x.srtp_suite, x.srtp_key_base64);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, plain_transport_reply& x) {
  return f(caf::meta::type_name("plain_transport_reply"), x.id, x.ip, x.port, x.rtcp_port,
           x.has_srtp, x.srtp_suite, x.srtp_key_base64);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, recording_request& x) {
  return f(caf::meta::type_name("recording_request"), x.room_id, x.start);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, recording_event& x) {
  return f(caf::meta::type_name("recording_event"), x.kind, x.recording_id, x.by,
           x.manifest_path, x.manifest_json, x.reason, x.message);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, class_reply& x) {
  return f(caf::meta::type_name("class_reply"), x.key, x.id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stats_reply& x) {
  return f(caf::meta::type_name("stats_reply"), x.json);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, participant_list_update_event& x) {
  return f(caf::meta::type_name("participant_list_update_event"), x.participants);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, participant_left_event& x) {
  return f(caf::meta::type_name("participant_left_event"), x.peer_id, x.user_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, new_producer_event& x) {
  return f(caf::meta::type_name("new_producer_event"), x.producer_id, x.peer_id, x.kind,
           x.user_id, x.user_name, x.is_screen_share, x.source);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, producer_closed_event& x) {
  return f(caf::meta::type_name("producer_closed_event"), x.producer_id, x.peer_id, x.user_id,
           x.kind, x.is_screen_share);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, participant_state_changed_event& x) {
  return f(caf::meta::type_name("participant_state_changed_event"), x.peer_id, x.user_id,
           x.has_audio_muted, x.audio_muted, x.has_video_paused, x.video_paused);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, consumer_closed_event& x) {
  return f(caf::meta::type_name("consumer_closed_event"), x.consumer_id, x.producer_id);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, consumer_layers_event& x) {
  return f(caf::meta::type_name("consumer_layers_event"), x.consumer_id, x.spatial_layer,
           x.temporal_layer);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, producer_layers_unused_event& x) {
  return f(caf::meta::type_name("producer_layers_unused_event"), x.producer_id, x.spatial_layers);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, consumer_score_event& x) {
  return f(caf::meta::type_name("consumer_score_event"), x.consumer_id, x.score,
           x.producer_score, x.producer_scores);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, producer_paused_event& x) {
  return f(caf::meta::type_name("producer_paused_event"), x.producer_id, x.paused,
           x.by_moderator);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, moderation_event& x) {
  return f(caf::meta::type_name("moderation_event"), x.action, x.peer_id, x.user_id, x.kinds,
           x.reason, x.by, x.seconds);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, class_event& x) {
  return f(caf::meta::type_name("class_event"), x.kind, x.hands, x.chat, x.poll, x.peer_id,
           x.id, x.by, x.name, x.emoji, x.user_id, x.session_id, x.flag);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, frontend_event& x) {
  return f(caf::meta::type_name("frontend_event"), x.name, x.by, x.reason, x.participant_id,
           x.value);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kicked_event& x) {
  return f(caf::meta::type_name("kicked_event"), x.reason, x.by, x.blocked);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, active_speaker_event& x) {
  return f(caf::meta::type_name("active_speaker_event"), x.peer_id, x.user_id, x.producer_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, audio_level_item& x) {
  return f(caf::meta::type_name("audio_level_item"), x.peer_id, x.producer_id, x.volume);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, audio_levels_event& x) {
  return f(caf::meta::type_name("audio_levels_event"), x.levels);
}

} // namespace chorus::protocol
