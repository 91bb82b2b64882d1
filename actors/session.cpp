#include "actors/session.hpp"
#include "actors/monitor.hpp"
#include "actors/fault.hpp"

#include "actors/data_messages.hpp"
#include "actors/messages.hpp"
#include "actors/rehome_messages.hpp"
#include "actors/rights.hpp"
#include "common/log.hpp"
#include "net/http_server.hpp"
#include "protocol/dialect.hpp"

#include <caf/all.hpp>

#include <optional>

namespace chorus::actors {

namespace {

using protocol::error_code;

// WebSocket close codes used by the session (see docs/protocol.md).
constexpr uint16_t close_replaced = 4001;
constexpr uint16_t close_room_full = 4003;
constexpr uint16_t close_internal = 1011;
// How long a session waits for its room's new home (a little longer than its peer does).
constexpr auto rehome_wait = std::chrono::seconds(22);

struct session_state {
  node_context_ptr ctx;
  caf::actor node;
  std::shared_ptr<net::ws_connection> conn;
  std::shared_ptr<protocol::dialect> dialect;
  std::string peer_id;
  std::string display_name;
  std::string room_id; // the joined room, empty until joined
  std::string connection_room; // see session_params
  bool joined_implicitly = false;
  // The user id the connection gave (set-user-id, or userId in the join): the seed 004
  // frontend, which gets its extended shapes (dialect::set_frontend_shapes).
  std::string user_id;
  caf::actor room;
  caf::actor peer;
  // Re-homing (cluster): the room is moving (told by the old room, or its home was lost);
  // requests for the room are refused until the new room says so (room_rebound).
  bool room_moving = false;
  uint64_t rehome_round = 0;
  uint32_t in_flight = 0;
  bool closed = false;
  // What the connection may do (actors/auth.hpp): set at start for a plain WebSocket,
  // at the Socket.IO CONNECT otherwise; requests before it are not served.
  std::optional<admission_ticket> ticket;
  std::string handshake_token; // the Engine.IO handshake query's token and role
  std::string handshake_role;
  net::request_limiter limiter;
  static inline const char* name = "chorus.session";
};

using session_actor = caf::stateful_actor<session_state>;

// Sends a text from the dialect; an empty text means "nothing to send" (a Socket.IO
// request without an ack id has no reply).
void send_text(session_actor* self, std::string text) {
  if (!text.empty())
    self->state.conn->send(std::move(text));
}

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

void send_reply(session_actor* self, const protocol::request_meta& meta,
                protocol::reply_body reply) {
  send_text(self, self->state.dialect->encode_reply(meta, reply));
}

template <class Event>
void send_event(session_actor* self, const Event& ev) {
  send_text(self, self->state.dialect->encode_event(protocol::event_body{ev}));
}

// `farewell`: the server ends the session, so the dialect may say so first (Socket.IO's
// DISCONNECT packet); not when the client asked to end it.
void close_connection(session_actor* self, uint16_t code, std::string reason,
                      bool farewell = true) {
  if (!self->state.closed) {
    self->state.closed = true;
    if (farewell)
      send_text(self, self->state.dialect->encode_disconnect());
    self->state.conn->close(code, std::move(reason));
  }
  self->quit();
}

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

void observe_latency(latency_histogram& h, std::chrono::steady_clock::time_point since) {
  h.observe_us(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::steady_clock::now() - since)
                                       .count()));
}

// Sends `req` to `dest` (bounded by maxRequestsInFlight and the request timeout) and
// answers the client with `to_reply(answer)` or the error; `on_error(info)` runs first on an
// error (the seed 004 frontend also hears of some refusals as events).
struct no_error_hook {
  void operator()(const protocol::error_info&) const {}
};

template <class Answer, class Request, class ToReply, class OnError = no_error_hook>
void forward_with(session_actor* self, const caf::actor& dest, protocol::request_meta meta,
                  Request req, ToReply to_reply, OnError on_error = {}) {
  auto& st = self->state;
  if (!dest) {
    send_error(self, meta, error_code::internal,
               "the room is moving to another node of the cluster: try again in a moment");
    return;
  }
  if (st.in_flight >= st.ctx->settings.max_requests_in_flight) {
    send_error(self, meta, error_code::limit_exceeded,
               "too many requests in flight (at most " +
                 std::to_string(st.ctx->settings.max_requests_in_flight) + ")");
    return;
  }
  ++st.in_flight;
  const auto started = std::chrono::steady_clock::now();
  self->request(dest, st.ctx->settings.request_timeout, std::move(req))
    .then(
      [self, meta, to_reply, started](Answer& answer) mutable {
        --self->state.in_flight;
        observe_latency(self->state.ctx->counters->request_latency, started);
        send_reply(self, meta, protocol::reply_body{to_reply(answer)});
      },
      [self, meta, on_error, started](caf::error& err) {
        --self->state.in_flight;
        observe_latency(self->state.ctx->counters->request_latency, started);
        auto info = to_error_info(err);
        on_error(info);
        send_error(self, meta, info);
      });
}

// Sends `req` to `dest` and answers the client with the typed reply or the error.
template <class Reply, class Request>
void forward(session_actor* self, const caf::actor& dest, protocol::request_meta meta,
             Request req) {
  forward_with<Reply>(self, dest, std::move(meta), std::move(req),
                      [](Reply& reply) { return std::move(reply); });
}

// Joins the room: at start for channelId, for join-mediasoup-room, and implicitly before
// the first request that needs a room. The session awaits the answer: requests that
// arrive meanwhile wait in the mailbox, so they see the joined room. `on_joined` runs
// with the room's answer after the state is set, `on_failed` with the error.
template <class OnJoined, class OnFailed>
void join(session_actor* self, std::string room_id, std::string name, bool has_caps,
          rtp::rtp_capabilities caps, identity who, OnJoined on_joined, OnFailed on_failed) {
  auto& st = self->state;
  if (!st.ticket->covers(room_id)) {
    on_failed(room_not_covered(room_id));
    return;
  }
  if (!st.ticket->grant.subject.empty()) // with a token, its subject is the public id
    who.user_id = st.ticket->grant.subject;
  join_command cmd;
  cmd.room_id = room_id;
  cmd.peer_id = st.peer_id;
  cmd.name = std::move(name);
  cmd.session = caf::actor_cast<caf::actor>(self);
  cmd.has_rtp_capabilities = has_caps;
  cmd.rtp_capabilities = std::move(caps);
  cmd.identity = std::move(who);
  cmd.grant = st.ticket->grant;
  const auto started = std::chrono::steady_clock::now();
  self->request(st.node, st.ctx->settings.request_timeout, std::move(cmd))
    .await(
      [self, room_id, on_joined, started](join_result& res) mutable {
        auto& st = self->state;
        observe_latency(st.ctx->counters->join_time, started);
        observe_latency(st.ctx->counters->request_latency, started);
        st.room_id = room_id;
        st.room = res.room;
        st.peer = res.peer;
        // A room that fails ends its sessions. A connection joins once; its room changes
        // only in re-homing, whose old room ends: one monitor per room, let go with the
        // session (actors/monitor.hpp).
        monitor_for_life(self, st.room);
        on_joined(res);
      },
      [on_failed](caf::error& err) mutable { on_failed(to_error_info(err)); });
}

void handle_request(session_actor* self, protocol::request& request);

// A request that needs a room on a connection that has not joined: join the room it
// names, else the connection's room, else the default room; then run the request.
void join_implicitly(session_actor* self, protocol::request request,
                     const std::string& named_room) {
  auto& st = self->state;
  std::string room = !named_room.empty()         ? named_room
                     : !st.connection_room.empty() ? st.connection_room
                                                   : st.ctx->settings.default_room;
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
      auto& lim = st.ctx->settings.request_limits;
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

void handle_request(session_actor* self, protocol::request& request) {
  auto& st = self->state;

  auto& meta = request.meta;
  std::visit(
    [&](auto& req) {
      using T = std::decay_t<decltype(req)>;
      if constexpr (std::is_same_v<T, protocol::get_rtp_capabilities_request>) {
        if (check_room(self, meta, req.room_id))
          send_reply(self, meta, protocol::rtp_capabilities_reply{st.ctx->router_capabilities_json});
      } else if constexpr (std::is_same_v<T, protocol::join_room_request>) {
        handle_join(self, meta, req);
      } else if constexpr (std::is_same_v<T, protocol::set_user_id_request>) {
        if (!check_user_id(self, meta, req.user_id))
          return;
        identify(self, req.user_id);
        if (st.room_id.empty()) {
          send_reply(self, meta, protocol::empty_reply{});
          return;
        }
        // Already in a room: the list shows the new id. A request (the room answers
        // join_result), never a plain send, whose answer would arrive as a stray message.
        forward_with<join_result>(
          self, st.room, meta,
          peer_update{st.peer_id, {}, false, {}, identity{req.user_id, {}, false}},
          [](join_result&) { return protocol::empty_reply{}; });
      } else if constexpr (std::is_same_v<T, protocol::class_request>) {
        if (req.action == protocol::class_action::chat_history && st.room_id.empty()) {
          // The frontend asks as its chat panel mounts, before it joins: the history of the
          // room it names (or will join), from this node; the join sends it again.
          std::string room = !req.room_id.empty()          ? req.room_id
                             : !st.connection_room.empty() ? st.connection_room
                                                           : st.ctx->settings.default_room;
          if (!st.ticket->covers(room)) {
            send_error(self, meta, room_not_covered(room));
            return;
          }
          self->request(st.node, st.ctx->settings.request_timeout, chat_history_query{room})
            .then(
              [self, meta](protocol::class_event& ev) {
                // request-chat-history is the frontend's own request: its history items
                // are { socketId: "system", message } even before it names its user.
                auto& d = *self->state.dialect;
                const bool shapes = d.frontend_shapes();
                d.set_frontend_shapes(true);
                send_event(self, ev);
                d.set_frontend_shapes(shapes);
                send_reply(self, meta, protocol::reply_body{protocol::class_reply{}});
              },
              [self, meta](caf::error& err) { send_error(self, meta, to_error_info(err)); });
          return;
        }
        if (st.room_id.empty()) {
          send_error(self, meta, error_code::not_joined,
                     "join a room first (" + meta.type + " is about the room's participants)");
          return;
        }
        if (!check_room(self, meta, req.room_id))
          return;
        // The frontend's send-message: a refusal also goes to it as message-error.
        const bool frontend_chat = req.frontend;
        auto client_id = req.client_id;
        forward_with<protocol::class_reply>(
          self, st.room, meta, class_command{st.peer_id, std::move(req)},
          [](protocol::class_reply& r) { return std::move(r); },
          [self, frontend_chat, client_id](const protocol::error_info& info) {
            if (frontend_chat)
              send_event(self, protocol::frontend_event{"message-error", {}, info.message,
                                                        client_id, false});
          });
      } else if constexpr (std::is_same_v<T, protocol::get_socket_id_request> ||
                           std::is_same_v<T, protocol::update_state_request> ||
                           std::is_same_v<T, protocol::get_room_info_request> ||
                           std::is_same_v<T, protocol::moderation_request> ||
                           std::is_same_v<T, protocol::host_request>) {
        // About the room's participants: no implicit join for these.
        if (st.room_id.empty()) {
          send_error(self, meta, error_code::not_joined,
                     "join a room first (" + meta.type + " is about the room's participants)");
          return;
        }
        if (!check_room(self, meta, req.room_id))
          return;
        if constexpr (std::is_same_v<T, protocol::get_socket_id_request>)
          forward<protocol::socket_id_reply>(self, st.room, meta, std::move(req));
        else if constexpr (std::is_same_v<T, protocol::host_request>) {
          // The frontend emits host controls without an ack: a refusal also goes to it as
          // the `error { message }` event it listens for.
          forward_with<protocol::empty_reply>(
            self, st.room, meta, host_command{st.peer_id, std::move(req)},
            [](protocol::empty_reply& r) { return r; },
            [self](const protocol::error_info& info) {
              send_event(self, protocol::frontend_event{"error", {}, info.message, {}, false});
            });
        } else if constexpr (std::is_same_v<T, protocol::get_room_info_request>)
          forward<protocol::room_info_reply>(self, st.room, meta, room_info_query{st.peer_id});
        else if constexpr (std::is_same_v<T, protocol::moderation_request>) {
          // end-room: the room closes the others' connections; this one closes after its
          // answer is out.
          const bool ends = req.action == protocol::moderation_action::end;
          forward_with<protocol::empty_reply>(
            self, st.room, meta, moderation_command{st.peer_id, std::move(req)},
            [self, ends](protocol::empty_reply& r) {
              if (ends)
                self->send(self, close_session{close_room_ended, "room ended"});
              return r;
            });
        }
        else
          forward<protocol::empty_reply>(self, st.room, meta,
                                         own_state_update{st.peer_id, std::move(req)});
      } else {
        if (st.room_id.empty()) {
          auto named = req.room_id;
          join_implicitly(self, std::move(request), named);
          return;
        }
        if (!check_room(self, meta, req.room_id))
          return;
        if constexpr (std::is_same_v<T, protocol::create_transport_request>)
          forward<protocol::transport_params_reply>(self, st.peer, meta, std::move(req));
        else if constexpr (std::is_same_v<T, protocol::connect_transport_request>)
          forward<protocol::empty_reply>(self, st.peer, meta, std::move(req));
        else if constexpr (std::is_same_v<T, protocol::plain_transport_request>) {
          if (req.op == protocol::plain_op::create)
            forward<protocol::plain_transport_reply>(self, st.peer, meta, std::move(req));
          else
            forward<protocol::empty_reply>(self, st.peer, meta, std::move(req));
        } else if constexpr (std::is_same_v<T, protocol::recording_request>)
          forward<protocol::class_reply>(self, st.room, meta,
                                         recording_command{st.peer_id, std::move(req)});
        else if constexpr (std::is_same_v<T, protocol::restart_ice_request>)
          forward<protocol::restart_ice_reply>(self, st.peer, meta, std::move(req));
        else if constexpr (std::is_same_v<T, protocol::get_transport_stats_request>)
          forward<protocol::stats_reply>(self, st.peer, meta, std::move(req));
        else if constexpr (std::is_same_v<T, protocol::set_egress_cap_request>)
          forward<protocol::empty_reply>(self, st.peer, meta, std::move(req));
        else if constexpr (std::is_same_v<T, protocol::inject_fault_request>) {
          if (req.target != protocol::fault_target::session)
            forward<protocol::empty_reply>(self, st.peer, meta, std::move(req));
          else if (!st.ctx->media.fault_injection)
            send_error(self, meta, error_code::forbidden, fault_injection_off("inject-fault"));
          else { // answered, then the session fails on its next message
            LOG_WARN("session", "peer '" << st.peer_id << "': fault injection: the session fails ("
                                         << (req.exit ? "exit" : "throw") << ")");
            send_reply(self, meta, protocol::empty_reply{});
            self->send(self, fault_command{req.exit});
          }
        }
        else if constexpr (std::is_same_v<T, protocol::produce_request>) {
          // The seed 004 frontend re-produces its microphone after a forced mute: the new
          // audio producer replaces the old one.
          req.replace_audio = !st.user_id.empty();
          forward<protocol::producer_id_reply>(self, st.peer, meta, std::move(req));
        }
        else if constexpr (std::is_same_v<T, protocol::consume_request>)
          forward<protocol::consumer_params_reply>(self, st.peer, meta, std::move(req));
        else if constexpr (std::is_same_v<T, protocol::producer_request>) {
          if (req.op == protocol::producer_op::get_stats)
            forward<protocol::stats_reply>(self, st.peer, meta, std::move(req));
          else
            forward<protocol::empty_reply>(self, st.peer, meta, std::move(req));
        } else if constexpr (std::is_same_v<T, protocol::consumer_request>) {
          if (req.op == protocol::consumer_op::get_stats)
            forward<protocol::stats_reply>(self, st.peer, meta, std::move(req));
          else
            forward<protocol::empty_reply>(self, st.peer, meta, std::move(req));
        } else if constexpr (std::is_same_v<T, protocol::produce_data_request>) {
          forward<protocol::producer_id_reply>(self, st.peer, meta, std::move(req));
        } else if constexpr (std::is_same_v<T, protocol::consume_data_request>) {
          forward<protocol::data_consumer_params_reply>(self, st.peer, meta, std::move(req));
        } else if constexpr (std::is_same_v<T, protocol::data_producer_request> ||
                             std::is_same_v<T, protocol::data_consumer_request>) {
          if (req.op == protocol::data_op::get_stats)
            forward<protocol::stats_reply>(self, st.peer, meta, std::move(req));
          else
            forward<protocol::empty_reply>(self, st.peer, meta, std::move(req));
        } else {
          static_assert(sizeof(T) == 0, "request type not handled");
        }
      }
    },
    request.body);
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
  st.limiter = net::request_limiter{st.ctx->settings.request_limits, net::rate_clock::now()};
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
    },
    [self](rehome_timeout_atom, uint64_t round) {
      auto& st = self->state;
      if (!st.room && st.room_moving && round == st.rehome_round)
        close_connection(self, close_internal, "the room found no new home in the cluster");
    },
    [self](close_session& msg) { close_connection(self, msg.code, std::move(msg.reason)); },
    [self](protocol::moderation_event& ev) { send_event(self, ev); },
    [self](protocol::kicked_event& ev) { send_event(self, ev); },
    [self](protocol::class_event& ev) { send_event(self, ev); },
    [self](protocol::frontend_event& ev) { send_event(self, ev); },
    [self](protocol::active_speaker_event& ev) { send_event(self, ev); },
    [self](protocol::audio_levels_event& ev) { send_event(self, ev); },
    [self](protocol::recording_event& ev) { send_event(self, ev); },
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

caf::actor spawn_session(caf::actor_system& sys, caf::actor node, node_context_ptr ctx,
                         std::shared_ptr<net::ws_connection> conn,
                         std::shared_ptr<protocol::dialect> dialect, session_params params) {
  return sys.spawn(session_impl, std::move(node), std::move(ctx), std::move(conn),
                   std::move(dialect), std::move(params));
}

} // namespace chorus::actors
