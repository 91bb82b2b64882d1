// The session actor's state and what its two sources share, each in its own file:
//   session.cpp         the behaviour (session_impl): frames in, admission at CONNECT, the
//                       rate limit, events out, the room's moves
//   session_routes.cpp  the routing table: what serves each request type, after its scope
//                       (protocol::request_scope) is applied
#pragma once

#include "actors/auth.hpp"
#include "actors/fault.hpp"
#include "actors/messages.hpp"
#include "actors/monitor.hpp"
#include "actors/session.hpp"
#include "common/log.hpp"
#include "net/http_server.hpp"
#include "protocol/dialect.hpp"

#include <caf/all.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

namespace chorus::actors::sessions {

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
  // TURN inside the signaling port's TLS, for the host this connection signaled to: added
  // to the built-in server's URLs in every transport reply (empty: none).
  std::string turns_url;
  bool joined_implicitly = false;
  // The user id the connection gave (set-user-id, or userId in the join): the seed 004
  // frontend, which gets its extended shapes (dialect::set_frontend_shapes).
  std::string user_id;
  caf::actor room;
  caf::actor peer;
  // Re-homing (cluster): the room is moving (told by the old room, or its home was lost);
  // requests for the room wait (at most max_requests_in_flight of them, and the move's own
  // bound, rehome_wait) until the new room says so (room_rebound), and then go to it.
  bool room_moving = false;
  std::vector<std::function<void()>> waiting_for_room;
  // The requests for the room awaiting its answer, by operation id, each able to go again
  // to the new room should the home be lost first (its answer then never comes, or comes
  // from a room no longer ours: stale, ignored). Operation ids start at a random value, so
  // that two sessions of one peer never share one (class_command.op).
  struct room_op {
    std::shared_ptr<bool> stale;
    std::function<void()> resend;
  };
  std::map<uint64_t, room_op> room_ops;
  uint64_t next_op = 0;
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
inline void send_text(session_actor* self, std::string text) {
  if (!text.empty())
    self->state.conn->send(std::move(text));
}

// Answers the request with an error (logged and counted).
void send_error(session_actor* self, const protocol::request_meta& meta,
                const protocol::error_info& err);
void send_error(session_actor* self, const protocol::request_meta& meta, error_code code,
                std::string message);

inline void send_reply(session_actor* self, const protocol::request_meta& meta,
                protocol::reply_body reply) {
  send_text(self, self->state.dialect->encode_reply(meta, reply));
}

template <class Event>
inline void send_event(session_actor* self, const Event& ev) {
  send_text(self, self->state.dialect->encode_event(protocol::event_body{ev}));
}
// `farewell`: the server ends the session, so the dialect may say so first (Socket.IO's
// DISCONNECT packet); not when the client asked to end it.
void close_connection(session_actor* self, uint16_t code, std::string reason,
                      bool farewell = true);

inline void observe_latency(latency_histogram& h, std::chrono::steady_clock::time_point since) {
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
  const bool for_room = &dest == &st.room;
  if (for_room && st.room_moving) {
    // The room is moving: the request goes to the new room once it is there.
    if (st.waiting_for_room.size() < st.ctx->signaling.max_requests_in_flight) {
      st.waiting_for_room.push_back([self, meta, req, to_reply, on_error]() mutable {
        forward_with<Answer>(self, self->state.room, std::move(meta), std::move(req),
                             std::move(to_reply), std::move(on_error));
      });
      return;
    }
    send_error(self, meta, error_code::limit_exceeded,
               "too many requests waiting while the room moves to another node (at most " +
                 std::to_string(st.ctx->signaling.max_requests_in_flight) + ")");
    return;
  }
  if (!dest) {
    send_error(self, meta, error_code::internal,
               "the room is moving to another node of the cluster: try again in a moment");
    return;
  }
  if (st.in_flight >= st.ctx->signaling.max_requests_in_flight) {
    send_error(self, meta, error_code::limit_exceeded,
               "too many requests in flight (at most " +
                 std::to_string(st.ctx->signaling.max_requests_in_flight) + ")");
    return;
  }
  ++st.in_flight;
  const auto started = std::chrono::steady_clock::now();
  // A request for the room keeps a copy: should the room have gone when it arrived (it
  // moved: receiver down, so nothing was done), it goes to the new room; should the home
  // be lost before it answered (resend_after_loss), it goes there too, with the same
  // operation id for a live-class request, which the new room answers once.
  std::optional<Request> again;
  std::shared_ptr<bool> stale;
  uint64_t op = 0;
  if (for_room) {
    op = ++st.next_op;
    if constexpr (std::is_same_v<Request, class_command>) {
      if (req.op == 0)
        req.op = op;
    }
    again = req;
    stale = std::make_shared<bool>(false);
    st.room_ops.emplace(op, session_state::room_op{
                              stale, [self, meta, req, to_reply, on_error]() mutable {
                                forward_with<Answer>(self, self->state.room, std::move(meta),
                                                     std::move(req), std::move(to_reply),
                                                     std::move(on_error));
                              }});
  }
  // Whether an answer counts: not once the request went again to a new home.
  auto answered = [self, op, stale] {
    if (stale && *stale)
      return false;
    auto& st = self->state;
    --st.in_flight;
    if (op != 0)
      st.room_ops.erase(op);
    return true;
  };
  auto on_answer = [self, meta, to_reply, started, answered](Answer& answer) mutable {
    if (!answered())
      return;
    observe_latency(self->state.ctx->counters->request_latency, started);
    send_reply(self, meta, protocol::reply_body{to_reply(answer)});
  };
  auto on_failure = [self, meta, to_reply, on_error, started, answered, again = std::move(again),
                     sent_to = dest](caf::error& err) mutable {
    if (!answered())
      return;
    auto& st = self->state;
    if (again && err == caf::sec::request_receiver_down &&
        (st.room_moving || (st.room && st.room != sent_to))) {
      forward_with<Answer>(self, st.room, std::move(meta), std::move(*again),
                           std::move(to_reply), std::move(on_error));
      return;
    }
    observe_latency(st.ctx->counters->request_latency, started);
    auto info = to_error_info(err);
    on_error(info);
    send_error(self, meta, info);
  };
  // A live-class request for a room homed on another node goes with its node's other
  // sessions' (class_upstream), chosen again when it goes to a new home.
  if constexpr (std::is_same_v<Request, class_command>) {
    if (for_room && st.room.node() != self->node()) {
      self->request(st.node, st.ctx->settings.request_timeout, class_upstream{st.room, std::move(req)})
        .then(std::move(on_answer), std::move(on_failure));
      return;
    }
  }
  self->request(dest, st.ctx->settings.request_timeout, std::move(req))
    .then(std::move(on_answer), std::move(on_failure));
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

// Serves a decoded request: its type's scope (the join it needs, the room it names), then
// its route (actors/session_routes.cpp).
void handle_request(session_actor* self, protocol::request& request);

} // namespace chorus::actors::sessions
