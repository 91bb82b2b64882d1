#include "actors/session_actor.hpp"

#include "actors/rehome_messages.hpp"
#include "actors/rights.hpp"
#include "common/ids.hpp"
#include "net/turn_url.hpp"

namespace chorus::actors {

namespace sessions {

void send_error(session_actor* self, const protocol::request_meta& meta,
                const protocol::error_info& err) {
  auto& st = self->state;
  // What a flooding client gets (over its request rate, over its requests in flight): one
  // line per second at most, not one per refused request.
  if (err.code == error_code::rate_limited || err.code == error_code::limit_exceeded)
    LOG_WARN_EVERY("session", 1000, "peer '" << st.peer_id << "': " << protocol::to_string(err.code)
                                               << ": " << err.message);
  else
    LOG_INFO_IDS("session", (log::ids{.room = st.room_id, .peer = st.peer_id}),
                 "error reply to '" << meta.type << "': " << protocol::to_string(err.code)
                                    << ": " << err.message);
  self->state.ctx->counters->request_errors.fetch_add(1);
  self->state.ctx->counters->errors_by_code[static_cast<std::size_t>(err.code)].fetch_add(1);
  send_text(self, self->state.dialect->encode_error(meta, err));
}

void send_error(session_actor* self, const protocol::request_meta& meta, error_code code,
                std::string message) {
  send_error(self, meta, protocol::error_info{code, std::move(message)});
}

void close_connection(session_actor* self, uint16_t code, std::string reason, bool farewell) {
  if (!self->state.closed) {
    self->state.closed = true;
    if (farewell)
      send_text(self, self->state.dialect->encode_disconnect());
    self->state.conn->close(code, std::move(reason));
  }
  self->quit();
}

namespace {

// Admits an Engine.IO session at its Socket.IO CONNECT: the CONNECT's auth.token (else
// the handshake query's token) and role. Refused: CONNECT_ERROR, and the session ends.
bool admit_at_connect(session_actor* self, const protocol::connection_hints& hints) {
  auto& st = self->state;
  if (st.ticket)
    return true;
  auto ticket = admit(st.ctx->auth, !hints.token.empty() ? hints.token : st.handshake_token,
                      !hints.role.empty() ? hints.role : st.handshake_role);
  std::optional<protocol::error_info> refusal;
  if (!ticket)
    refusal = ticket.error();
  else if (!hints.room_id.empty() && !ticket->covers(hints.room_id))
    refusal = room_not_covered(hints.room_id);
  if (refusal) {
    st.ctx->counters->request_errors.fetch_add(1);
    st.ctx->counters->errors_by_code[static_cast<std::size_t>(refusal->code)].fetch_add(1);
    LOG_INFO("session", "peer '" << st.peer_id << "': CONNECT refused: " << refusal->message);
    send_text(self, st.dialect->encode_connect_refusal(*refusal));
    close_connection(self, close_unauthorized, refusal->message, false);
    return false;
  }
  if (st.display_name.empty() || st.display_name == st.peer_id)
    if (!ticket->name.empty())
      st.display_name = ticket->name;
  st.ticket = std::move(*ticket);
  return true;
}

// The room moved or its home was lost: the requests it had not answered go again, first,
// to the new room once it is there (room_rebound); their answers from the old room, should
// any come, are ignored. A room's answers reach the session before its DOWN (one sender,
// in order), so none of these was answered; one sent while the old home was stopping may
// never have reached it, and would otherwise wait for its timeout.
void resend_after_loss(session_actor* self) {
  auto& st = self->state;
  std::vector<std::function<void()>> again;
  for (auto& [op, o] : st.room_ops) {
    *o.stale = true;
    --st.in_flight;
    again.push_back(std::move(o.resend));
  }
  st.room_ops.clear();
  if (again.empty())
    return;
  LOG_INFO("session", "peer '" << st.peer_id << "': " << again.size()
                               << " requests go again to the room's new home");
  st.ctx->counters->requests_resent.fetch_add(again.size(), std::memory_order_relaxed);
  st.waiting_for_room.insert(st.waiting_for_room.begin(), std::make_move_iterator(again.begin()),
                             std::make_move_iterator(again.end()));
}

// The first operation id: random (56 bits, room to count up), so that two sessions of one
// peer, here or on another node, never share one.
uint64_t first_op() {
  uint64_t v = 0;
  ids::random_bytes(&v, sizeof v);
  return v >> 8;
}

void handle_text(session_actor* self, std::string& text) {
  auto& st = self->state;
  st.ctx->counters->requests.fetch_add(1);
  auto decoded = st.dialect->decode(text);
  if (decoded.has_connection_hints && !admit_at_connect(self, decoded.hints))
    return;
  for (auto& t : decoded.immediate) // protocol answers (Socket.IO CONNECT), first
    send_text(self, std::move(t));
  if (decoded.kind == protocol::decode_kind::dropped) {
    st.ctx->counters->request_errors.fetch_add(1);
    LOG_DEBUG("session", "peer '" << st.peer_id << "': message dropped: " << decoded.error.message);
  }
  if (decoded.disconnect) {
    close_connection(self, 1000, "client disconnect", false);
    return;
  }
  if (decoded.has_connection_hints) { // Socket.IO CONNECT: its auth object's roomId, name
    if (!decoded.hints.room_id.empty())
      st.connection_room = std::move(decoded.hints.room_id);
    if (!decoded.hints.name.empty() && st.room_id.empty())
      st.display_name = std::move(decoded.hints.name);
  }
  if (decoded.kind == protocol::decode_kind::control)
    return;
  // Requests and request errors count against the connection's rate, and so do messages
  // dropped for having no answer (a flood of them would otherwise cost nothing).
  switch (st.limiter.on_request(net::rate_clock::now())) {
    case net::rate_decision::allow:
      if (decoded.kind == protocol::decode_kind::dropped)
        return;
      break;
    case net::rate_decision::refuse: {
      if (decoded.kind == protocol::decode_kind::dropped)
        return; // nothing to answer
      const auto lim = st.ctx->signaling.rate_limit();
      send_error(self, decoded.meta, error_code::rate_limited,
                 "too many requests: at most " + std::to_string(lim.rate_per_s) +
                   " per second (burst " + std::to_string(lim.burst) + ")");
      return;
    }
    case net::rate_decision::close:
      LOG_INFO("session", "peer '" << st.peer_id << "': closed for flooding requests");
      close_connection(self, close_rate_limited, "too many requests");
      return;
  }
  if (!decoded.ok) {
    send_error(self, decoded.meta, decoded.error);
    return;
  }
  if (!st.ticket) { // cannot happen: requests come after CONNECT (or after the upgrade)
    send_error(self, decoded.meta, error_code::unauthorized, "the connection is not admitted");
    return;
  }
  if (auto i = decoded.req.body.index(); i < st.ctx->counters->requests_by_type.size())
    st.ctx->counters->requests_by_type[i].fetch_add(1, std::memory_order_relaxed);
  handle_request(self, decoded.req);
}
caf::behavior session_impl(session_actor* self, caf::actor node, node_context_ptr ctx,
                           std::shared_ptr<net::ws_connection> conn,
                           std::shared_ptr<protocol::dialect> dialect, session_params params) {
  auto& st = self->state;
  st.node = std::move(node);
  st.ctx = std::move(ctx);
  st.conn = std::move(conn);
  st.dialect = std::move(dialect);
  st.peer_id = std::move(params.peer_id);
  st.display_name = std::move(params.name);
  st.next_op = first_op();
  st.ctx->counters->sessions.fetch_add(1);
  self->attach_functor([counters = st.ctx->counters] { counters->sessions.fetch_sub(1); });
  // A session that fails (an exception, an error exit) takes its connection down with it:
  // the client sees the close (1011) and can reconnect, and the room, which monitors the
  // session, lets the peer go. Idempotent for a connection already closed.
  self->attach_functor([conn = st.conn](const caf::error& reason) {
    if (reason && reason != caf::exit_reason::user_shutdown)
      conn->close(close_internal, "internal error");
  });
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (!st.room || dm.source != st.room.address())
      return;
    if (st.room_moving || (dm.source.node() != self->node() &&
                           dm.reason == caf::exit_reason::remote_link_unreachable)) {
      // The room moves, or its home is lost and the room is rebuilt on a survivor: the
      // peer rejoins it there (its media goes on meanwhile) and the new room says so.
      LOG_INFO("session", "room of peer '" << st.peer_id << "' is moving ("
                                           << to_string(dm.reason) << ")");
      st.room = nullptr;
      st.room_moving = true;
      resend_after_loss(self);
      self->delayed_send(self, rehome_wait, rehome_timeout_atom::value, ++st.rehome_round);
      return;
    }
    LOG_WARN("session", "room of peer '" << st.peer_id << "' ended: " << to_string(dm.reason));
    close_connection(self, close_internal, "room closed");
  });
  st.connection_room = std::move(params.connection_room);
  st.ticket = std::move(params.ticket);
  st.handshake_token = std::move(params.token);
  st.handshake_role = std::move(params.role);
  if (st.ctx->turn.signaling_tls)
    st.turns_url = net::turns_url(st.ctx->turn.host, params.host).value_or("");
  st.limiter = net::request_limiter{st.ctx->signaling.rate_limit(), net::rate_clock::now()};
  if (!params.room_id.empty())
    join(
      self, params.room_id, st.display_name, false, {}, identity{}, [](join_result&) {},
      [self](const protocol::error_info& info) {
        // Joining the URL's channel failed: the connection has no purpose.
        LOG_INFO("session", "peer '" << self->state.peer_id << "' cannot join: "
                                     << info.message);
        close_connection(self,
                         info.code == error_code::room_full || info.code == error_code::limit_exceeded ||
                             info.code == error_code::draining
                           ? close_room_full
                         : info.code == error_code::internal ? close_internal
                                                             : close_forbidden,
                         info.message);
      });
  return {
    [self](const fault_command& f) { fail_now(self, f); },
    [self](ws_text& msg) {
      handle_text(self, msg.text);
      self->state.conn->message_processed();
    },
    [self](ws_binary&) {
      protocol::request_meta meta;
      send_error(self, meta, error_code::invalid_message,
                 "binary frames are not supported: send JSON text frames");
      self->state.conn->message_processed();
    },
    [self](ws_closed& msg) {
      LOG_DEBUG("session", "peer '" << self->state.peer_id << "' disconnected (" << msg.code
                                    << ")");
      self->state.closed = true;
      self->quit();
    },
    [self](replaced_atom) {
      close_connection(self, close_replaced, "replaced by a newer connection");
    },
    [self](peer_lost_atom) { close_connection(self, close_internal, "internal error"); },
    [self](room_moving&) {
      if (caf::actor_cast<caf::actor>(self->current_sender()) == self->state.room)
        self->state.room_moving = true;
    },
    [self](room_rebound& r) {
      auto& st = self->state;
      st.room = std::move(r.room);
      st.room_moving = false;
      monitor_for_life(self, st.room);
      auto waiting = std::move(st.waiting_for_room);
      st.waiting_for_room.clear();
      for (auto& request : waiting)
        request();
    },
    [self](rehome_timeout_atom, uint64_t round) {
      auto& st = self->state;
      if (!st.room && st.room_moving && round == st.rehome_round)
        close_connection(self, close_internal, "the room found no new home in the cluster");
    },
    [self](close_session& msg) { close_connection(self, msg.code, std::move(msg.reason)); },
    [self](protocol::moderation_event& ev) { send_event(self, ev); },
    [self](protocol::kicked_event& ev) { send_event(self, ev); },
    [self](const protocol::class_event& ev) { send_event(self, ev); },
    [self](protocol::frontend_event& ev) { send_event(self, ev); },
    [self](protocol::active_speaker_event& ev) { send_event(self, ev); },
    [self](protocol::audio_levels_event& ev) { send_event(self, ev); },
    [self](protocol::audience_update_event& ev) { send_event(self, ev); },
    [self](protocol::recording_event& ev) { send_event(self, ev); },
    [self](protocol::live_stream_event& ev) { send_event(self, ev); },
    [self](const protocol::participant_list_update_event& ev) { send_event(self, ev); },
    [self](protocol::participant_left_event& ev) { send_event(self, ev); },
    [self](protocol::new_producer_event& ev) { send_event(self, ev); },
    [self](protocol::producer_closed_event& ev) { send_event(self, ev); },
    [self](protocol::consumer_closed_event& ev) { send_event(self, ev); },
    [self](protocol::consumer_layers_event& ev) { send_event(self, ev); },
    [self](protocol::consumer_score_event& ev) { send_event(self, ev); },
    [self](protocol::producer_layers_unused_event& ev) { send_event(self, ev); },
    [self](protocol::new_data_producer_event& ev) { send_event(self, ev); },
    [self](protocol::data_producer_closed_event& ev) { send_event(self, ev); },
    [self](protocol::data_consumer_closed_event& ev) { send_event(self, ev); },
    [self](protocol::producer_paused_event& ev) { send_event(self, ev); },
    [self](protocol::participant_state_changed_event& ev) { send_event(self, ev); },
  };
}

} // namespace

} // namespace sessions

caf::actor spawn_session(caf::actor_system& sys, caf::actor node, node_context_ptr ctx,
                         std::shared_ptr<net::ws_connection> conn,
                         std::shared_ptr<protocol::dialect> dialect, session_params params) {
  return sys.spawn(sessions::session_impl, std::move(node), std::move(ctx), std::move(conn),
                   std::move(dialect), std::move(params));
}

} // namespace chorus::actors
