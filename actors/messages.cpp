#include "actors/messages.hpp"

#include "actors/cluster_messages.hpp"
#include "actors/data_messages.hpp"
#include "actors/media_messages.hpp"
#include "actors/operations.hpp"
#include "actors/record_serialization.hpp"
#include "actors/rehome_messages.hpp"
#include "actors/ticker.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace chorus::actors {

caf::error make_error(protocol::error_code code, std::string message) {
  return caf::error{static_cast<uint8_t>(static_cast<uint8_t>(code) + 1), error_category,
                    caf::make_message(std::move(message))};
}

protocol::error_info to_error_info(const caf::error& err) {
  protocol::error_info out;
  if (err.category() == error_category && err.code() > 0) {
    out.code = static_cast<protocol::error_code>(err.code() - 1);
    auto& ctx = err.context();
    if (ctx.match_elements<std::string>())
      out.message = ctx.get_as<std::string>(0);
    return out;
  }
  out.code = protocol::error_code::internal;
  if (err.category() == caf::atom("system") &&
      err.code() == static_cast<uint8_t>(caf::sec::request_timeout))
    out.message = "the request timed out";
  else
    out.message = "internal error";
  return out;
}

void register_message_types(caf::actor_system_config& cfg) {
  using namespace protocol;
  cfg.add_error_category(error_category,
                         [](uint8_t code, caf::atom_value, const caf::message& ctx) {
                           std::string s = "chorus: ";
                           if (code > 0)
                             s += protocol::to_string(
                               static_cast<protocol::error_code>(code - 1));
                           if (ctx.match_elements<std::string>())
                             s += " (" + ctx.get_as<std::string>(0) + ")";
                           return s;
                         });
  register_data_message_types(cfg); // actors/data_messages.hpp
  cfg.add_message_type<ws_text>("chorus::ws_text")
    .add_message_type<ws_binary>("chorus::ws_binary")
    .add_message_type<ws_closed>("chorus::ws_closed")
    .add_message_type<join_command>("chorus::join_command")
    .add_message_type<grant>("chorus::grant")
    .add_message_type<room_info_query>("chorus::room_info_query")
    .add_message_type<moderation_command>("chorus::moderation_command")
    .add_message_type<publish_check>("chorus::publish_check")
    .add_message_type<class_command>("chorus::class_command")
    .add_message_type<poll_flush>("chorus::poll_flush")
    .add_message_type<chat_history_query>("chorus::chat_history_query")
    .add_message_type<moderator_pause>("chorus::moderator_pause")
    .add_message_type<moderator_close>("chorus::moderator_close")
    .add_message_type<close_session>("chorus::close_session")
    .add_message_type<fault_command>("chorus::fault_command")
    .add_message_type<peer_update>("chorus::peer_update")
    .add_message_type<identity>("chorus::identity")
    .add_message_type<own_state_update>("chorus::own_state_update")
    .add_message_type<get_room>("chorus::get_room")
    .add_message_type<get_relay>("chorus::get_relay")
    .add_message_type<cluster_node>("chorus::cluster_node")
    .add_message_type<std::vector<cluster_node>>("chorus::cluster_node_list")
    .add_message_type<cluster_nodes>("chorus::cluster_nodes")
    .add_message_type<cluster_member>("chorus::cluster_member")
    .add_message_type<std::vector<cluster_member>>("chorus::cluster_members")
    .add_message_type<node_load>("chorus::node_load")
    .add_message_type<cluster_hello>("chorus::cluster_hello")
    .add_message_type<cluster_welcome>("chorus::cluster_welcome")
    .add_message_type<cluster_proof>("chorus::cluster_proof")
    .add_message_type<cluster_accepted>("chorus::cluster_accepted")
    .add_message_type<cluster_heartbeat>("chorus::cluster_heartbeat")
    .add_message_type<cluster_reconnect>("chorus::cluster_reconnect")
    .add_message_type<cluster_leaving>("chorus::cluster_leaving")
    .add_message_type<join_result>("chorus::join_result")
    .add_message_type<room_idle>("chorus::room_idle")
    .add_message_type<transport_closed>("chorus::transport_closed")
    .add_message_type<store::record_event>("chorus::record_event") // actors/recorder.hpp
    .add_message_type<net::packet_batch>("chorus::packet_batch")
    .add_message_type<rtp::rtp_capabilities>("chorus::rtp_capabilities")
    .add_message_type<rtp::rtp_parameters>("chorus::rtp_parameters")
    .add_message_type<net::dtls_parameters>("chorus::dtls_parameters")
    .add_message_type<get_rtp_capabilities_request>("chorus::get_rtp_capabilities_request")
    .add_message_type<join_room_request>("chorus::join_room_request")
    .add_message_type<create_transport_request>("chorus::create_transport_request")
    .add_message_type<connect_transport_request>("chorus::connect_transport_request")
    .add_message_type<restart_ice_request>("chorus::restart_ice_request")
    .add_message_type<set_egress_cap_request>("chorus::set_egress_cap_request")
    .add_message_type<inject_fault_request>("chorus::inject_fault_request")
    .add_message_type<get_transport_stats_request>("chorus::get_transport_stats_request")
    .add_message_type<produce_request>("chorus::produce_request")
    .add_message_type<consume_request>("chorus::consume_request")
    .add_message_type<producer_request>("chorus::producer_request")
    .add_message_type<consumer_request>("chorus::consumer_request")
    .add_message_type<set_user_id_request>("chorus::set_user_id_request")
    .add_message_type<get_socket_id_request>("chorus::get_socket_id_request")
    .add_message_type<update_state_request>("chorus::update_state_request")
    .add_message_type<get_room_info_request>("chorus::get_room_info_request")
    .add_message_type<moderation_request>("chorus::moderation_request")
    .add_message_type<blocked_peer>("chorus::blocked_peer")
    .add_message_type<room_info_reply>("chorus::room_info_reply")
    .add_message_type<moderation_event>("chorus::moderation_event")
    .add_message_type<kicked_event>("chorus::kicked_event")
    .add_message_type<class_request>("chorus::class_request")
    .add_message_type<hand_item>("chorus::hand_item")
    .add_message_type<chat_item>("chorus::chat_item")
    .add_message_type<chat_reaction>("chorus::chat_reaction")
    .add_message_type<poll_item>("chorus::poll_item")
    .add_message_type<class_reply>("chorus::class_reply")
    .add_message_type<class_event>("chorus::class_event")
    .add_message_type<host_request>("chorus::host_request")
    .add_message_type<frontend_event>("chorus::frontend_event")
    .add_message_type<host_command>("chorus::host_command")
    .add_message_type<active_speaker_event>("chorus::active_speaker_event")
    .add_message_type<audio_level_item>("chorus::audio_level_item")
    .add_message_type<audio_levels_event>("chorus::audio_levels_event")
    .add_message_type<participant>("chorus::participant")
    .add_message_type<transport_params>("chorus::transport_params")
    .add_message_type<empty_reply>("chorus::empty_reply")
    .add_message_type<rtp_capabilities_reply>("chorus::rtp_capabilities_reply")
    .add_message_type<join_room_reply>("chorus::join_room_reply")
    .add_message_type<transport_params_reply>("chorus::transport_params_reply")
    .add_message_type<restart_ice_reply>("chorus::restart_ice_reply")
    .add_message_type<producer_id_reply>("chorus::producer_id_reply")
    .add_message_type<consumer_params_reply>("chorus::consumer_params_reply")
    .add_message_type<stats_reply>("chorus::stats_reply")
    .add_message_type<socket_id_reply>("chorus::socket_id_reply")
    .add_message_type<participant_list_update_event>("chorus::participant_list_update_event")
    .add_message_type<participant_left_event>("chorus::participant_left_event")
    .add_message_type<new_producer_event>("chorus::new_producer_event")
    .add_message_type<producer_closed_event>("chorus::producer_closed_event")
    .add_message_type<consumer_closed_event>("chorus::consumer_closed_event")
    .add_message_type<consumer_layers_event>("chorus::consumer_layers_event")
    .add_message_type<consumer_score_event>("chorus::consumer_score_event")
    .add_message_type<producer_layers_unused_event>("chorus::producer_layers_unused_event")
    .add_message_type<producer_paused_event>("chorus::producer_paused_event")
    .add_message_type<participant_state_changed_event>("chorus::participant_state_changed_event")
    .add_message_type<producer_route>("chorus::producer_route")
    .add_message_type<consumer_route>("chorus::consumer_route")
    .add_message_type<rtp_in>("chorus::rtp_in")
    .add_message_type<sender_report_in>("chorus::sender_report_in")
    .add_message_type<forwarded_packet>("chorus::forwarded_packet")
    .add_message_type<media_packets>("chorus::media_packets")
    .add_message_type<source_clock>("chorus::source_clock")
    .add_message_type<layer_bitrates>("chorus::layer_bitrates")
    .add_message_type<layer_allocation>("chorus::layer_allocation")
    .add_message_type<alloc_info>("chorus::alloc_info")
    .add_message_type<probe_padding>("chorus::probe_padding")
    .add_message_type<tick_subscribe>("chorus::tick_subscribe")
    .add_message_type<producer_state>("chorus::producer_state")
    .add_message_type<attach_consumer>("chorus::attach_consumer")
    .add_message_type<attach_reply>("chorus::attach_reply")
    .add_message_type<layer_demand>("chorus::layer_demand")
    .add_message_type<nack_in>("chorus::nack_in")
    .add_message_type<keyframe_feedback>("chorus::keyframe_feedback")
    .add_message_type<report_block_in>("chorus::report_block_in")
    .add_message_type<sending_state>("chorus::sending_state")
    .add_message_type<rtp_out>("chorus::rtp_out")
    .add_message_type<rtcp_out>("chorus::rtcp_out")
    .add_message_type<producer_info>("chorus::producer_info")
    .add_message_type<producer_removed>("chorus::producer_removed")
    .add_message_type<producer_paused_update>("chorus::producer_paused_update")
    .add_message_type<find_producer>("chorus::find_producer")
    .add_message_type<attach_speaker_observer>("chorus::attach_speaker_observer")
    .add_message_type<observe_producer>("chorus::observe_producer")
    .add_message_type<audio_level_batch>("chorus::audio_level_batch")
    .add_message_type<dominant_speaker>("chorus::dominant_speaker")
    .add_message_type<audio_levels_report>("chorus::audio_levels_report")
    .add_message_type<plain_transport_request>("chorus::plain_transport_request")
    .add_message_type<plain_transport_reply>("chorus::plain_transport_reply")
    .add_message_type<recording_request>("chorus::recording_request")
    .add_message_type<recording_event>("chorus::recording_event")
    .add_message_type<recording_command>("chorus::recording_command")
    .add_message_type<participant_snapshot>("chorus::participant_snapshot")
    .add_message_type<roster_entry>("chorus::roster_entry")
    .add_message_type<room_block>("chorus::room_block")
    .add_message_type<room_snapshot>("chorus::room_snapshot")
    .add_message_type<poll_record>("chorus::poll_record")
    .add_message_type<class_state>("chorus::class_state")
    .add_message_type<rejoin_command>("chorus::rejoin_command")
    .add_message_type<rehome_request>("chorus::rehome_request")
    .add_message_type<room_moving>("chorus::room_moving")
    .add_message_type<room_rebound>("chorus::room_rebound")
    .add_message_type<std::vector<producer_info>>("chorus::producer_info_list");
  register_operations_types(cfg); // actors/operations.hpp
}

} // namespace chorus::actors
