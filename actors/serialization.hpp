// CAF `inspect` overloads for the plain structs of rtp/, net/ and protocol/ that travel
// between actors. They live here (not next to the structs) so that the pure layers never
// include CAF; ADL finds them because they are declared in the structs' namespaces.
#pragma once

#include "actors/message_declaration.hpp"

#include "net/dtls_parameters.hpp"
#include "net/ice_server.hpp"
#include "net/media_io.hpp"
#include "protocol/applied_requests.hpp"
#include "protocol/errors.hpp"
#include "protocol/meetings.hpp"
#include "protocol/messages.hpp"
#include "rtp/bandwidth_plan.hpp"
#include "rtp/ortc.hpp"
#include "rtp/receiver_numbering.hpp"
#include "rtp/rtp_parameters.hpp"

#include <caf/meta/type_name.hpp>

namespace chorus::rtp {

CHORUS_FIELDS(codec_param, x.key, x.value, x.numeric)

CHORUS_FIELDS(rtcp_feedback, x.type, x.parameter)

CHORUS_FIELDS(codec_capability, x.kind, x.mime_type, x.preferred_payload_type, x.clock_rate,
              x.channels, x.parameters, x.rtcp_feedback)

CHORUS_FIELDS(header_extension_capability, x.kind, x.uri, x.preferred_id, x.preferred_encrypt,
              x.direction)

CHORUS_MESSAGE(rtp_capabilities, x.codecs, x.header_extensions);

CHORUS_FIELDS(codec_parameters, x.mime_type, x.payload_type, x.clock_rate, x.channels, x.parameters,
              x.rtcp_feedback)

CHORUS_FIELDS(header_extension_parameters, x.uri, x.id, x.encrypt, x.parameters)

CHORUS_FIELDS(encoding_parameters, x.ssrc, x.rid, x.codec_payload_type, x.rtx_ssrc, x.dtx,
              x.scalability_mode, x.max_bitrate, x.scale_resolution_down_by)

CHORUS_FIELDS(rtcp_parameters, x.cname, x.reduced_size)

CHORUS_MESSAGE(rtp_parameters, x.mid, x.codecs, x.header_extensions, x.encodings, x.rtcp);

CHORUS_FIELDS(payload_type_map_entry, x.client, x.router)

CHORUS_FIELDS(extension_map_entry, x.client, x.router, x.uri)

CHORUS_FIELDS(numbering, x.payload_types, x.extensions)

CHORUS_FIELDS(consumer_demand, x.layered, x.active, x.priority, x.max_spatial, x.max_temporal,
              x.bps, x.keyframe_bytes, x.peak_bps, x.known_bps, x.can_probe)

} // namespace chorus::rtp

namespace chorus::net {

CHORUS_FIELDS(dtls_fingerprint, x.algorithm, x.value)

CHORUS_MESSAGE(dtls_parameters, x.role, x.fingerprints);

CHORUS_FIELDS(transport_address, x.family, x.bytes, x.port)

CHORUS_FIELDS(ice_tuple, x.protocol, x.remote, x.connection_id)

CHORUS_FIELDS(inbound_packet, x.source, x.offset, x.size, x.connection_closed)

CHORUS_MESSAGE(packet_batch, x.data, x.packets);

} // namespace chorus::net

namespace chorus::protocol {

CHORUS_MESSAGE(get_rtp_capabilities_request, x.room_id);

CHORUS_MESSAGE(join_room_request, x.room_id, x.has_rtp_capabilities, x.rtp_capabilities, x.name,
               x.user_id, x.image_url, x.is_creator, x.role);

CHORUS_MESSAGE(set_user_id_request, x.user_id);

CHORUS_MESSAGE(get_socket_id_request, x.room_id, x.user_id);
CHORUS_MESSAGE(get_participants_request, x.room_id, x.offset, x.limit, x.filter);

CHORUS_MESSAGE(update_state_request, x.room_id, x.has_audio_muted, x.audio_muted,
               x.has_video_paused, x.video_paused);

CHORUS_MESSAGE(get_room_info_request, x.room_id);

CHORUS_MESSAGE(moderation_request, x.room_id, x.action, x.peer_id, x.kinds, x.reason, x.seconds);

CHORUS_MESSAGE(class_request, x.room_id, x.action, x.peer_id, x.text, x.to, x.id, x.options,
               x.choices, x.multiple, x.anonymous, x.client_id, x.reply_to, x.avatar_url, x.emoji,
               x.session_id, x.pinned, x.frontend);

CHORUS_MESSAGE(host_request, x.room_id, x.action, x.target, x.on);

CHORUS_MESSAGE(create_transport_request, x.room_id, x.direction, x.enable_sctp, x.sctp_os,
               x.sctp_mis);

CHORUS_MESSAGE(connect_transport_request, x.room_id, x.transport_id, x.dtls_parameters);

CHORUS_MESSAGE(set_egress_cap_request, x.room_id, x.transport_id, x.bitrate);
CHORUS_MESSAGE(inject_fault_request, x.room_id, x.target, x.id, x.exit);
CHORUS_MESSAGE(restart_ice_request, x.room_id, x.transport_id);

CHORUS_MESSAGE(get_transport_stats_request, x.room_id, x.transport_id);

CHORUS_MESSAGE(produce_request, x.room_id, x.transport_id, x.kind, x.rtp_parameters, x.app_data,
               x.paused, x.is_screen_share, x.source, x.replace_audio);

CHORUS_MESSAGE(consume_request, x.room_id, x.producer_id, x.transport_id, x.rtp_capabilities,
               x.paused, x.mid, x.receiver_numbering, x.from_participant);

CHORUS_MESSAGE(producer_request, x.room_id, x.op, x.producer_id);

CHORUS_MESSAGE(consumer_request, x.room_id, x.op, x.consumer_id, x.spatial_layer, x.temporal_layer,
               x.priority);

CHORUS_MESSAGE(participant, x.id, x.name, x.is_audio_muted, x.is_video_paused, x.user_id,
               x.image_url, x.is_host, x.is_co_host, x.audio_locked, x.screen_share_locked, x.role,
               x.is_screen_sharing, x.in_audience, x.hand_raised);

CHORUS_FIELDS(ice_parameters, x.username_fragment, x.password, x.ice_lite)

CHORUS_FIELDS(ice_candidate, x.foundation, x.priority, x.address, x.port, x.protocol, x.type,
              x.tcp_type)

CHORUS_FIELDS(sctp_parameters, x.port, x.os, x.mis, x.max_message_size)

CHORUS_FIELDS(rtc_ice_server, x.urls, x.username, x.credential)

CHORUS_MESSAGE(transport_params, x.id, x.ice_parameters, x.ice_candidates, x.ice_servers,
               x.ice_transport_policy, x.dtls_parameters, x.has_sctp, x.sctp_parameters);

CHORUS_MESSAGE(empty_reply);

CHORUS_MESSAGE(rtp_capabilities_reply, x.json);

CHORUS_MESSAGE(join_room_reply, x.room_id, x.peer_id, x.existing_producers, x.is_host,
               x.is_co_host);

CHORUS_MESSAGE(socket_id_reply, x.socket_id);
CHORUS_MESSAGE(participants_page_reply, x.total, x.offset, x.audience, x.participants);

CHORUS_MESSAGE(transport_params_reply, x.params);

CHORUS_MESSAGE(restart_ice_reply, x.ice_parameters);

CHORUS_MESSAGE(producer_id_reply, x.id);

CHORUS_MESSAGE(consumer_params_reply, x.id, x.producer_id, x.kind, x.rtp_parameters, x.type,
               x.producer_paused, x.peer_id, x.user_id, x.user_name, x.is_screen_share, x.app_data,
               x.source);

CHORUS_MESSAGE(blocked_peer, x.peer_id, x.user_id, x.reason, x.by, x.until_ms);

CHORUS_MESSAGE(hand_item, x.peer_id, x.user_id, x.name, x.raised_at);

CHORUS_MESSAGE(meeting, x.id, x.creator_id, x.description, x.starts_at, x.created_at);

CHORUS_MESSAGE(chat_reaction, x.emoji, x.user_ids);

CHORUS_MESSAGE(chat_item, x.id, x.from, x.user_id, x.name, x.text, x.to, x.at, x.client_id,
               x.avatar_url, x.reply_to, x.pinned, x.reactions);

CHORUS_MESSAGE(poll_item, x.id, x.question, x.options, x.multiple, x.anonymous, x.closed, x.counts,
               x.voters, x.by, x.created_at);

CHORUS_MESSAGE(room_info_reply, x.room_id, x.locked, x.participants, x.has_blocked, x.blocked,
               x.role, x.permissions, x.hands, x.polls, x.chat_enabled);

CHORUS_MESSAGE(plain_transport_request, x.room_id, x.op, x.listen_ip, x.rtcp_mux, x.comedia,
               x.enable_srtp, x.srtp_crypto_suite, x.transport_id, x.ip, x.port, x.rtcp_port,
               x.has_srtp_parameters, x.srtp_suite, x.srtp_key_base64);
CHORUS_MESSAGE(plain_transport_reply, x.id, x.ip, x.port, x.rtcp_port, x.has_srtp, x.srtp_suite,
               x.srtp_key_base64);
CHORUS_MESSAGE(recording_request, x.room_id, x.start);
CHORUS_MESSAGE(live_stream_request, x.room_id, x.start, x.url, x.hls);
CHORUS_MESSAGE(live_stream_event, x.kind, x.stream_id, x.by, x.target, x.where, x.reason,
               x.message);
CHORUS_MESSAGE(recording_event, x.kind, x.recording_id, x.by, x.manifest_path, x.manifest_json,
               x.reason, x.message);

CHORUS_MESSAGE(class_reply, x.key, x.id);
CHORUS_FIELDS(applied_request, x.op, x.peer_id, x.reply, x.applied_ms)

CHORUS_MESSAGE(stats_reply, x.json);

CHORUS_MESSAGE(participant_list_update_event, x.participants);

CHORUS_MESSAGE(participant_left_event, x.peer_id, x.user_id);

CHORUS_MESSAGE(new_producer_event, x.producer_id, x.peer_id, x.kind, x.user_id, x.user_name,
               x.is_screen_share, x.source);

CHORUS_MESSAGE(producer_closed_event, x.producer_id, x.peer_id, x.user_id, x.kind,
               x.is_screen_share);

CHORUS_MESSAGE(participant_state_changed_event, x.peer_id, x.user_id, x.has_audio_muted,
               x.audio_muted, x.has_video_paused, x.video_paused);

CHORUS_MESSAGE(consumer_closed_event, x.consumer_id, x.producer_id);
CHORUS_MESSAGE(consumer_layers_event, x.consumer_id, x.spatial_layer, x.temporal_layer);
CHORUS_MESSAGE(producer_layers_unused_event, x.producer_id, x.spatial_layers);
CHORUS_MESSAGE(consumer_score_event, x.consumer_id, x.score, x.producer_score, x.producer_scores);

CHORUS_MESSAGE(producer_paused_event, x.producer_id, x.paused, x.by_moderator);

CHORUS_MESSAGE(moderation_event, x.action, x.peer_id, x.user_id, x.kinds, x.reason, x.by,
               x.seconds);

CHORUS_MESSAGE(class_event, x.kind, x.hands, x.chat, x.poll, x.peer_id, x.id, x.by, x.name, x.emoji,
               x.user_id, x.session_id, x.flag);

CHORUS_MESSAGE(frontend_event, x.name, x.by, x.reason, x.participant_id, x.value);

CHORUS_MESSAGE(kicked_event, x.reason, x.by, x.blocked);

CHORUS_MESSAGE(active_speaker_event, x.peer_id, x.user_id, x.producer_id);

CHORUS_MESSAGE(audio_level_item, x.peer_id, x.producer_id, x.volume);

CHORUS_MESSAGE(audio_levels_event, x.levels);

CHORUS_MESSAGE(audience_update_event, x.count, x.joined, x.left);

} // namespace chorus::protocol
