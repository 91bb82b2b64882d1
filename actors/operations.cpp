#include "actors/operations.hpp"

#include <caf/actor_system_config.hpp>

namespace chorus::actors {

void register_operations_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<drain_begin>("chorus::drain_begin")
    .add_message_type<drain_report>("chorus::drain_report")
    .add_message_type<drain_deadline>("chorus::drain_deadline")
    .add_message_type<find_room>("chorus::find_room")
    .add_message_type<admin_room_query>("chorus::admin_room_query")
    .add_message_type<admin_nodes_query>("chorus::admin_nodes_query")
    .add_message_type<admin_participant>("chorus::admin_participant")
    .add_message_type<std::vector<admin_participant>>("chorus::admin_participants")
    .add_message_type<admin_producer>("chorus::admin_producer")
    .add_message_type<std::vector<admin_producer>>("chorus::admin_producers")
    .add_message_type<admin_room_snapshot>("chorus::admin_room_snapshot")
    .add_message_type<admin_kick>("chorus::admin_kick")
    .add_message_type<admin_recording>("chorus::admin_recording")
    .add_message_type<admin_close>("chorus::admin_close")
    .add_message_type<peer_inventory_query>("chorus::peer_inventory_query")
    .add_message_type<peer_inventory>("chorus::peer_inventory");
}

} // namespace chorus::actors
