#include "actors/session_actor.hpp"

#include "actors/data_messages.hpp"
#include "actors/rights.hpp"

namespace chorus::actors::sessions {

namespace {

// Checks that a request of a joined connection names no other room.
bool check_room(session_actor* self, const protocol::request_meta& meta,
                const std::string& room_id) {
  auto& st = self->state;
  if (!st.room_id.empty() && !room_id.empty() && room_id != st.room_id) {
    send_error(self, meta, error_code::wrong_room,
               "this connection is in room '" + st.room_id + "', not '" + room_id + "'");
    return false;
  }
  return true;
}

// A request that needs a room on a connection that has not joined: join the room it
// names, else the connection's room, else the default room; then run the request.
void join_implicitly(session_actor* self, protocol::request request,
                     const std::string& named_room) {
  auto& st = self->state;
  std::string room = !named_room.empty()         ? named_room
                     : !st.connection_room.empty() ? st.connection_room
                                                   : st.ctx->signaling.default_room;
  LOG_DEBUG("session", "peer '" << st.peer_id << "' joins room '" << room
                                << "' implicitly (" << request.meta.type << ")");
  auto meta = request.meta;
  join(
    self, room, st.display_name, false, {}, identity{st.user_id, {}, false},
    [self, request = std::move(request)](join_result&) mutable {
      self->state.joined_implicitly = true;
      handle_request(self, request);
    },
    [self, meta](const protocol::error_info& info) { send_error(self, meta, info); });
}

// With a token, a user id the connection names must be the token's subject.
bool check_user_id(session_actor* self, const protocol::request_meta& meta,
                   const std::string& user_id) {
  const auto& subject = self->state.ticket->grant.subject;
  if (subject.empty() || user_id.empty() || user_id == subject)
    return true;
  send_error(self, meta, error_code::forbidden,
             "userId '" + user_id + "' is not the token's subject '" + subject + "'");
  return false;
}

// The connection names its user: from now on it gets the seed 004 frontend's shapes.
void identify(session_actor* self, const std::string& user_id) {
  self->state.user_id = user_id;
  self->state.dialect->set_frontend_shapes(true);
}

protocol::join_room_reply join_reply(const std::string& room_id, const std::string& peer_id,
                                     join_result& res) {
  return {room_id, peer_id, std::move(res.existing_producers), res.is_host, res.is_co_host};
}

void handle_join(session_actor* self, const protocol::request_meta& meta,
                 protocol::join_room_request& req) {
  auto& st = self->state;
  if (!check_user_id(self, meta, req.user_id))
    return;
  if (!req.user_id.empty())
    identify(self, req.user_id);
  identity who{st.user_id, req.image_url, req.is_creator};
  if (!st.room_id.empty()) {
    if (!req.room_id.empty() && req.room_id != st.room_id) {
      send_error(self, meta, error_code::already_joined,
                 "this connection already joined room '" + st.room_id + "'" +
                   (st.joined_implicitly ? " (implicitly, with its first request that "
                                           "needed a room)"
                                         : "") +
                   ": one connection is in one room");
      return;
    }
    peer_update upd{st.peer_id, req.name, req.has_rtp_capabilities,
                    std::move(req.rtp_capabilities), std::move(who)};
    forward_with<join_result>(self, st.room, meta, std::move(upd),
                              [room_id = st.room_id, peer_id = st.peer_id](join_result& res) {
                                return join_reply(room_id, peer_id, res);
                              });
    return;
  }
  if (req.room_id.empty()) {
    send_error(self, meta, error_code::missing_field,
               "roomId is required: this connection has not joined a room");
    return;
  }
  if (!req.name.empty())
    st.display_name = req.name;
  auto room_id = req.room_id;
  join(
    self, room_id, st.display_name, req.has_rtp_capabilities, std::move(req.rtp_capabilities),
    std::move(who),
    [self, meta, room_id](join_result& res) {
      send_reply(self, meta, join_reply(room_id, self->state.peer_id, res));
    },
    [self, meta](const protocol::error_info& info) { send_error(self, meta, info); });
}
// ---- The routing table: one `route` per request type, saying who serves it and what the
// client gets back. handle_request has already applied the type's scope (the join, the
// room it names); a request type without a route does not compile.

// The peer actor serves it as it is; its answer is the reply.
template <class Reply, class Request>
void to_peer(session_actor* self, const protocol::request_meta& meta, Request& req) {
  forward<Reply>(self, self->state.peer, meta, std::move(req));
}

// The peer answers get-stats with stats and the other operations with nothing.
template <class Request>
void to_peer_stats_or_empty(session_actor* self, const protocol::request_meta& meta,
                            Request& req, bool stats) {
  if (stats)
    to_peer<protocol::stats_reply>(self, meta, req);
  else
    to_peer<protocol::empty_reply>(self, meta, req);
}

void route(session_actor* self, const protocol::request_meta& meta,
           protocol::get_rtp_capabilities_request& req) {
  if (check_room(self, meta, req.room_id))
    send_reply(self, meta,
               protocol::rtp_capabilities_reply{self->state.ctx->router_capabilities_json});
}

void route(session_actor* self, const protocol::request_meta& meta,
           protocol::join_room_request& req) {
  handle_join(self, meta, req);
}

void route(session_actor* self, const protocol::request_meta& meta,
           protocol::set_user_id_request& req) {
  auto& st = self->state;
  if (!check_user_id(self, meta, req.user_id))
    return;
  identify(self, req.user_id);
  if (st.room_id.empty()) {
    send_reply(self, meta, protocol::empty_reply{});
    return;
  }
  // Already in a room: the list shows the new id. A request (the room answers
  // join_result), never a plain send, whose answer would arrive as a stray message.
  forward_with<join_result>(self, st.room, meta,
                            peer_update{st.peer_id, {}, false, {}, identity{req.user_id, {}, false}},
                            [](join_result&) { return protocol::empty_reply{}; });
}

// The frontend asks for the chat history as its chat panel mounts, before it joins: the
// history of the room it names (or will join), from this node; the join sends it again.
void send_chat_history_unjoined(session_actor* self, const protocol::request_meta& meta,
                                const protocol::class_request& req) {
  auto& st = self->state;
  std::string room = !req.room_id.empty()          ? req.room_id
                     : !st.connection_room.empty() ? st.connection_room
                                                   : st.ctx->signaling.default_room;
  if (!st.ticket->covers(room)) {
    send_error(self, meta, room_not_covered(room));
    return;
  }
  self->request(st.node, st.ctx->settings.request_timeout, chat_history_query{room})
    .then(
      [self, meta](protocol::class_event& ev) {
        // request-chat-history is the frontend's own request: its history items are
        // { socketId: "system", message } even before it names its user.
        auto& d = *self->state.dialect;
        const bool shapes = d.frontend_shapes();
        d.set_frontend_shapes(true);
        send_event(self, ev);
        d.set_frontend_shapes(shapes);
        send_reply(self, meta, protocol::reply_body{protocol::class_reply{}});
      },
      [self, meta](caf::error& err) { send_error(self, meta, to_error_info(err)); });
}

bool refuse_unjoined(session_actor* self, const protocol::request_meta& meta) {
  if (!self->state.room_id.empty())
    return false;
  send_error(self, meta, error_code::not_joined,
             "join a room first (" + meta.type + " is about the room's participants)");
  return true;
}

// The live class: the chat history before a join, the rest as the participants' requests.
void route(session_actor* self, const protocol::request_meta& meta, protocol::class_request& req) {
  auto& st = self->state;
  if (req.action == protocol::class_action::chat_history && st.room_id.empty()) {
    send_chat_history_unjoined(self, meta, req);
    return;
  }
  if (refuse_unjoined(self, meta) || !check_room(self, meta, req.room_id))
    return;
  // The frontend's send-message: a refusal also goes to it as message-error.
  const bool frontend_chat = req.frontend;
  auto client_id = req.client_id;
  auto to_reply = [](protocol::class_reply& r) { return std::move(r); };
  auto on_error = [self, frontend_chat, client_id](const protocol::error_info& info) {
    if (frontend_chat)
      send_event(self,
                 protocol::frontend_event{"message-error", {}, info.message, client_id, false});
  };
  // A room homed on another node gets it with its node's other sessions' (forward_with).
  forward_with<protocol::class_reply>(self, st.room, meta, class_command{st.peer_id, std::move(req)},
                                      to_reply, on_error);
}

void route(session_actor* self, const protocol::request_meta& meta,
           protocol::get_socket_id_request& req) {
  forward<protocol::socket_id_reply>(self, self->state.room, meta, std::move(req));
}

void route(session_actor* self, const protocol::request_meta& meta,
           protocol::get_participants_request& req) {
  auto& st = self->state;
  forward<protocol::participants_page_reply>(self, st.room, meta,
                                             participants_query{st.peer_id, std::move(req)});
}

void route(session_actor* self, const protocol::request_meta& meta,
           protocol::update_state_request& req) {
  auto& st = self->state;
  forward<protocol::empty_reply>(self, st.room, meta, own_state_update{st.peer_id, std::move(req)});
}

void route(session_actor* self, const protocol::request_meta& meta,
           protocol::get_room_info_request&) {
  auto& st = self->state;
  forward<protocol::room_info_reply>(self, st.room, meta, room_info_query{st.peer_id});
}

// The frontend emits host controls without an ack: a refusal also goes to it as the
// `error { message }` event it listens for.
void route(session_actor* self, const protocol::request_meta& meta, protocol::host_request& req) {
  auto& st = self->state;
  forward_with<protocol::empty_reply>(
    self, st.room, meta, host_command{st.peer_id, std::move(req)},
    [](protocol::empty_reply& r) { return r; },
    [self](const protocol::error_info& info) {
      send_event(self, protocol::frontend_event{"error", {}, info.message, {}, false});
    });
}

// end-room: the room closes the others' connections; this one closes after its answer is out.
void route(session_actor* self, const protocol::request_meta& meta,
           protocol::moderation_request& req) {
  auto& st = self->state;
  const bool ends = req.action == protocol::moderation_action::end;
  forward_with<protocol::empty_reply>(self, st.room, meta,
                                      moderation_command{st.peer_id, std::move(req)},
                                      [self, ends](protocol::empty_reply& r) {
                                        if (ends)
                                          self->send(self, close_session{close_room_ended,
                                                                         "room ended"});
                                        return r;
                                      });
}

void route(session_actor* self, const protocol::request_meta& meta,
           protocol::recording_request& req) {
  auto& st = self->state;
  forward<protocol::class_reply>(self, st.room, meta, recording_command{st.peer_id, std::move(req)});
}

void route(session_actor* self, const protocol::request_meta& meta,
           protocol::live_stream_request& req) {
  auto& st = self->state;
  forward<protocol::class_reply>(self, st.room, meta, live_stream_command{st.peer_id, std::move(req)});
}

void route(session_actor* self, const protocol::request_meta& meta,
           protocol::create_transport_request& req) {
  forward_with<protocol::transport_params_reply>(
    self, self->state.peer, meta, std::move(req),
    [url = self->state.turns_url](protocol::transport_params_reply& reply) {
      auto& servers = reply.params.ice_servers;
      if (!url.empty() && !servers.empty())
        servers.front().urls.push_back(url); // the built-in server's credential holds there
      return std::move(reply);
    });
}

void route(session_actor* self, const protocol::request_meta& meta,
           protocol::connect_transport_request& req) {
  to_peer<protocol::empty_reply>(self, meta, req);
}

void route(session_actor* self, const protocol::request_meta& meta,
           protocol::restart_ice_request& req) {
  to_peer<protocol::restart_ice_reply>(self, meta, req);
}

void route(session_actor* self, const protocol::request_meta& meta,
           protocol::get_transport_stats_request& req) {
  to_peer<protocol::stats_reply>(self, meta, req);
}

void route(session_actor* self, const protocol::request_meta& meta,
           protocol::set_egress_cap_request& req) {
  to_peer<protocol::empty_reply>(self, meta, req);
}

void route(session_actor* self, const protocol::request_meta& meta,
           protocol::plain_transport_request& req) {
  if (req.op == protocol::plain_op::create)
    to_peer<protocol::plain_transport_reply>(self, meta, req);
  else
    to_peer<protocol::empty_reply>(self, meta, req);
}

// A fault of the session itself is served here: answered, then the session fails on its
// next message.
void route(session_actor* self, const protocol::request_meta& meta,
           protocol::inject_fault_request& req) {
  auto& st = self->state;
  if (req.target != protocol::fault_target::session)
    to_peer<protocol::empty_reply>(self, meta, req);
  else if (!st.ctx->rtc.fault_injection)
    send_error(self, meta, error_code::forbidden, fault_injection_off("inject-fault"));
  else {
    LOG_WARN("session", "peer '" << st.peer_id << "': fault injection: the session fails ("
                                 << (req.exit ? "exit" : "throw") << ")");
    send_reply(self, meta, protocol::empty_reply{});
    self->send(self, fault_command{req.exit});
  }
}

// The seed 004 frontend re-produces its microphone after a forced mute: the new audio
// producer replaces the old one.
void route(session_actor* self, const protocol::request_meta& meta, protocol::produce_request& req) {
  req.replace_audio = !self->state.user_id.empty();
  to_peer<protocol::producer_id_reply>(self, meta, req);
}

void route(session_actor* self, const protocol::request_meta& meta, protocol::consume_request& req) {
  to_peer<protocol::consumer_params_reply>(self, meta, req);
}

void route(session_actor* self, const protocol::request_meta& meta,
           protocol::producer_request& req) {
  to_peer_stats_or_empty(self, meta, req, req.op == protocol::producer_op::get_stats);
}

void route(session_actor* self, const protocol::request_meta& meta,
           protocol::consumer_request& req) {
  to_peer_stats_or_empty(self, meta, req, req.op == protocol::consumer_op::get_stats);
}

void route(session_actor* self, const protocol::request_meta& meta,
           protocol::produce_data_request& req) {
  to_peer<protocol::producer_id_reply>(self, meta, req);
}

void route(session_actor* self, const protocol::request_meta& meta,
           protocol::consume_data_request& req) {
  to_peer<protocol::data_consumer_params_reply>(self, meta, req);
}

void route(session_actor* self, const protocol::request_meta& meta,
           protocol::data_producer_request& req) {
  to_peer_stats_or_empty(self, meta, req, req.op == protocol::data_op::get_stats);
}

void route(session_actor* self, const protocol::request_meta& meta,
           protocol::data_consumer_request& req) {
  to_peer_stats_or_empty(self, meta, req, req.op == protocol::data_op::get_stats);
}

} // namespace

// Applies the request type's scope (protocol::request_scope), then its route.
void handle_request(session_actor* self, protocol::request& request) {
  auto& st = self->state;
  auto& meta = request.meta;
  std::visit(
    [&](auto& req) {
      using T = std::decay_t<decltype(req)>;
      constexpr auto scope = T::scope;
      if constexpr (scope != protocol::request_scope::connection) {
        if (st.room_id.empty()) {
          if constexpr (scope == protocol::request_scope::participants) {
            refuse_unjoined(self, meta);
          } else {
            auto named = req.room_id;
            join_implicitly(self, std::move(request), named);
          }
          return;
        }
        if (!check_room(self, meta, req.room_id))
          return;
      }
      route(self, meta, req);
    },
    request.body);
}
} // namespace chorus::actors::sessions
