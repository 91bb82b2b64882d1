#include "actors/peer.hpp"

#include "actors/messages.hpp"

#include <caf/all.hpp>

namespace chorus::actors {

namespace {

using protocol::error_code;

struct peer_state {
  std::string id;
  std::string room_id;
  caf::actor session;
  node_context_ptr ctx;
  static inline const char* name = "chorus.peer";
};

using peer_actor = caf::stateful_actor<peer_state>;

caf::error unknown_transport(const std::string& id) {
  if (id.empty())
    return make_error(error_code::unknown_transport,
                      "this peer has no transport to use (create one first)");
  return make_error(error_code::unknown_transport, "no transport with id '" + id + "'");
}

caf::behavior peer_impl(peer_actor* self, std::string peer_id, std::string room_id,
                        caf::actor session, node_context_ptr ctx) {
  self->state.id = std::move(peer_id);
  self->state.room_id = std::move(room_id);
  self->state.session = std::move(session);
  self->state.ctx = std::move(ctx);
  // Until WebRTC transports exist, every transport, producer and consumer id is unknown
  // to this peer; creating a transport is the one request that cannot be served yet.
  return {
    [](protocol::create_transport_request&) -> caf::result<protocol::transport_params_reply> {
      return make_error(error_code::unsupported,
                        "WebRTC transports are not available in this build yet");
    },
    [](protocol::connect_transport_request& r) -> caf::result<protocol::empty_reply> {
      return unknown_transport(r.transport_id);
    },
    [](protocol::restart_ice_request& r) -> caf::result<protocol::restart_ice_reply> {
      return unknown_transport(r.transport_id);
    },
    [](protocol::get_transport_stats_request& r) -> caf::result<protocol::stats_reply> {
      return unknown_transport(r.transport_id);
    },
    [](protocol::produce_request& r) -> caf::result<protocol::producer_id_reply> {
      return unknown_transport(r.transport_id);
    },
    [](protocol::consume_request& r) -> caf::result<protocol::consumer_params_reply> {
      if (r.producer_id.empty())
        return make_error(error_code::unknown_producer,
                          "there is no producer in this room that this peer could consume");
      return make_error(error_code::unknown_producer,
                        "no producer with id '" + r.producer_id + "'");
    },
    [](protocol::producer_request& r) -> caf::result<protocol::empty_reply> {
      return make_error(error_code::unknown_producer,
                        "no producer with id '" + r.producer_id + "'");
    },
    [](protocol::consumer_request& r) -> caf::result<protocol::empty_reply> {
      return make_error(error_code::unknown_consumer,
                        "no consumer with id '" + r.consumer_id + "'");
    },
  };
}

} // namespace

caf::actor spawn_peer(caf::event_based_actor* room, std::string peer_id, std::string room_id,
                      caf::actor session, node_context_ptr ctx) {
  return room->spawn<caf::linked>(peer_impl, std::move(peer_id), std::move(room_id),
                                  std::move(session), std::move(ctx));
}

} // namespace chorus::actors
