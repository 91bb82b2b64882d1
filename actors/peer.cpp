#include "actors/peer.hpp"

#include "actors/messages.hpp"
#include "actors/transport.hpp"
#include "common/log.hpp"

#include <caf/all.hpp>

#include <map>

namespace chorus::actors {

namespace {

using protocol::error_code;

struct transport_entry {
  caf::actor actor;
  protocol::transport_direction direction = protocol::transport_direction::unspecified;
  bool connect_requested = false;
};

struct peer_state {
  caf::actor_addr room;
  std::string id;
  std::string room_id;
  caf::actor session;
  node_context_ptr ctx;
  std::map<std::string, transport_entry> transports;
  static inline const char* name = "chorus.peer";
};

using peer_actor = caf::stateful_actor<peer_state>;

caf::error unknown_transport(const std::string& id) {
  return make_error(error_code::unknown_transport, "no transport with id '" + id + "'");
}

// connect-transport without a transportId means the peer's only unconnected transport.
caf::expected<std::string> implicit_unconnected(peer_state& st) {
  std::string found;
  std::size_t count = 0;
  for (auto& [id, t] : st.transports)
    if (!t.connect_requested) {
      found = id;
      ++count;
    }
  if (count == 1)
    return found;
  if (count == 0)
    return make_error(error_code::unknown_transport,
                      "this peer has no unconnected transport (create one first)");
  return make_error(error_code::missing_field,
                    "transportId is required: this peer has " + std::to_string(count) +
                      " unconnected transports");
}

// produce without a transportId means the peer's send transport.
caf::expected<std::string> implicit_send_transport(peer_state& st) {
  for (auto& [id, t] : st.transports)
    if (t.direction == protocol::transport_direction::send)
      return id;
  if (st.transports.size() == 1)
    return st.transports.begin()->first;
  return make_error(error_code::unknown_transport,
                    "this peer has no send transport (create one with direction \"send\")");
}

template <class Request>
caf::result<caf::message> delegate_to_transport(peer_actor* self, const std::string& id,
                                                Request&& req) {
  auto it = self->state.transports.find(id);
  if (it == self->state.transports.end())
    return unknown_transport(id);
  auto rp = self->make_response_promise();
  rp.delegate(it->second.actor, std::forward<Request>(req));
  return rp;
}

caf::behavior peer_impl(peer_actor* self, caf::actor_addr room, std::string peer_id,
                        std::string room_id, caf::actor session, node_context_ptr ctx) {
  self->state.room = std::move(room);
  self->state.id = std::move(peer_id);
  self->state.room_id = std::move(room_id);
  self->state.session = std::move(session);
  self->state.ctx = std::move(ctx);
  // Transports are linked: one that ends (closed, or failed) is forgotten and the peer
  // survives. Only the room's exit request (or an anonymous one) ends the peer and,
  // through the links, its transports.
  self->set_exit_handler([self](caf::exit_msg& em) {
    if (em.source == self->state.room || !em.source) {
      self->quit(em.reason);
      return;
    }
    auto& ts = self->state.transports;
    for (auto it = ts.begin(); it != ts.end(); ++it)
      if (it->second.actor.address() == em.source) {
        if (em.reason)
          LOG_WARN("peer", self->state.id << ": transport " << it->first
                                          << " failed: " << to_string(em.reason));
        ts.erase(it);
        return;
      }
    // A transport already forgotten after its transport_closed: nothing to do.
  });
  return {
    [self](protocol::create_transport_request& r)
      -> caf::result<protocol::transport_params_reply> {
      auto& st = self->state;
      if (st.transports.size() >= st.ctx->transport.max_transports_per_peer)
        return make_error(error_code::limit_exceeded,
                          "a peer may have at most " +
                            std::to_string(st.ctx->transport.max_transports_per_peer) +
                            " transports");
      auto spawned = spawn_transport(self, r.direction, st.ctx);
      if (!spawned)
        return make_error(error_code::internal, spawned.error());
      st.transports[spawned->params.id] = {spawned->actor, r.direction, false};
      LOG_DEBUG("peer", st.id << ": transport " << spawned->params.id << " created");
      return protocol::transport_params_reply{std::move(spawned->params)};
    },
    [self](protocol::connect_transport_request& r) -> caf::result<caf::message> {
      auto& st = self->state;
      if (r.transport_id.empty()) {
        auto id = implicit_unconnected(st);
        if (!id)
          return id.error();
        r.transport_id = *id;
      }
      auto it = st.transports.find(r.transport_id);
      if (it != st.transports.end())
        it->second.connect_requested = true;
      auto id = r.transport_id;
      return delegate_to_transport(self, id, std::move(r));
    },
    [self](protocol::restart_ice_request& r) -> caf::result<caf::message> {
      auto id = r.transport_id;
      return delegate_to_transport(self, id, std::move(r));
    },
    [self](protocol::get_transport_stats_request& r) -> caf::result<caf::message> {
      auto id = r.transport_id;
      return delegate_to_transport(self, id, std::move(r));
    },
    [self](protocol::produce_request& r) -> caf::result<protocol::producer_id_reply> {
      auto& st = self->state;
      if (r.transport_id.empty()) {
        auto id = implicit_send_transport(st);
        if (!id)
          return id.error();
        r.transport_id = *id;
      }
      if (!st.transports.count(r.transport_id))
        return unknown_transport(r.transport_id);
      return make_error(error_code::unsupported,
                        "producing media is not available in this build yet");
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
    [self](transport_closed& msg) {
      LOG_DEBUG("peer", self->state.id << ": transport " << msg.transport_id
                                       << " closed: " << msg.reason);
      self->state.transports.erase(msg.transport_id);
    },
  };
}

} // namespace

caf::actor spawn_peer(caf::event_based_actor* room, std::string peer_id, std::string room_id,
                      caf::actor session, node_context_ptr ctx) {
  return room->spawn<caf::linked>(peer_impl, room->address(), std::move(peer_id),
                                  std::move(room_id), std::move(session), std::move(ctx));
}

} // namespace chorus::actors
