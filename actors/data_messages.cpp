#include "actors/data_messages.hpp"

#include "actors/serialization.hpp"

#include <caf/actor_system_config.hpp>

namespace chorus::actors {

void register_data_message_types(caf::actor_system_config& cfg) {
  using namespace protocol;
  cfg.add_message_type<data_message>("chorus::data_message")
    .add_message_type<data_out>("chorus::data_out")
    .add_message_type<data_producer_route>("chorus::data_producer_route")
    .add_message_type<data_consumer_route>("chorus::data_consumer_route")
    .add_message_type<data_producer_info>("chorus::data_producer_info")
    .add_message_type<data_producer_removed>("chorus::data_producer_removed")
    .add_message_type<find_data_producer>("chorus::find_data_producer")
    .add_message_type<data_producers_query>("chorus::data_producers_query")
    .add_message_type<data_publish_check>("chorus::data_publish_check")
    .add_message_type<sctp_stream_parameters>("chorus::sctp_stream_parameters")
    .add_message_type<produce_data_request>("chorus::produce_data_request")
    .add_message_type<consume_data_request>("chorus::consume_data_request")
    .add_message_type<data_producer_request>("chorus::data_producer_request")
    .add_message_type<data_consumer_request>("chorus::data_consumer_request")
    .add_message_type<data_consumer_params_reply>("chorus::data_consumer_params_reply")
    .add_message_type<new_data_producer_event>("chorus::new_data_producer_event")
    .add_message_type<data_producer_closed_event>("chorus::data_producer_closed_event")
    .add_message_type<data_consumer_closed_event>("chorus::data_consumer_closed_event");
}

} // namespace chorus::actors
