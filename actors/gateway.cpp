#include "actors/gateway.hpp"

#include "actors/messages.hpp"
#include "actors/rights.hpp"
#include "actors/session.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "common/text.hpp"
#include "protocol/dialect.hpp"

#include <caf/all.hpp>

namespace chorus::actors {

bool valid_identifier(const std::string& s);

namespace {

std::string host_header(const net::http_request_info& req) {
  for (const auto& [name, value] : req.headers)
    if (name == "host")
      return value;
  return {};
}

// Feeds one connection's frames to its session actor (called on the I/O thread).
class session_bridge : public net::ws_handler {
public:
  explicit session_bridge(caf::actor session) : session_(std::move(session)) {}

  void on_text(std::string text) override { caf::anon_send(session_, ws_text{std::move(text)}); }
  void on_binary(std::size_t size) override { caf::anon_send(session_, ws_binary{size}); }
  void on_closed(uint16_t code) override { caf::anon_send(session_, ws_closed{code}); }

private:
  caf::actor session_;
};

// Accepts the upgrade only to close it with a reason the browser can see.
class refused_bridge : public net::ws_handler {
public:
  void on_text(std::string) override {}
  void on_binary(std::size_t) override {}
  void on_closed(uint16_t) override {}
};

// Reads query parameter `key` into `out`: false when absent; when present but not
// decodable or not a valid identifier, `problem` says so.
bool read_identifier(const std::string& query, const char* key, std::string& out,
                     std::string& problem) {
  auto r = net::query_param(query, key, out);
  if (r == net::query_lookup::absent)
    return false;
  if (r == net::query_lookup::malformed || !valid_identifier(out))
    problem = std::string{key} + " must be 1 to 128 bytes of printable UTF-8, percent-encoded";
  return true;
}

} // namespace

bool valid_identifier(const std::string& s) {
  return text::valid_label(s);
}

net::http_server::ws_acceptor make_ws_gateway(caf::actor_system& sys, caf::actor node,
                                              node_context_ptr ctx) {
  return [&sys, node, ctx](const net::http_request_info& req,
                           std::shared_ptr<net::ws_connection> conn) -> net::ws_decision {
    if (req.path != "/socket")
      return {}; // refused: 404
    session_params params;
    params.host = host_header(req);
    std::string problem;
    // Each present parameter must decode and be a valid identifier.
    auto read = [&](const char* key, std::string& out) {
      return read_identifier(req.query, key, out, problem);
    };
    bool has_auth = read("auth", params.peer_id);
    read("channelId", params.room_id);
    read("name", params.name);
    std::string token, role;
    if (net::query_param(req.query, "token", token) == net::query_lookup::malformed)
      problem = "token must be percent-encoded";
    read("role", role);
    if (!problem.empty()) {
      LOG_DEBUG("gateway", req.remote << ": refused: " << problem);
      conn->close(close_bad_query, problem);
      return net::ws_decision::accept(std::make_shared<refused_bridge>());
    }
    // Admission before anything is made: the token (auth.mode jwt) or the chosen role.
    auto ticket = admit(ctx->auth, token, role);
    std::optional<protocol::error_info> refusal;
    if (!ticket)
      refusal = ticket.error();
    else if (!ticket->grant.subject.empty() && has_auth && params.peer_id != ticket->grant.subject)
      refusal = protocol::error_info{protocol::error_code::forbidden,
                                     "auth '" + params.peer_id + "' is not the token's subject"};
    else if (!params.room_id.empty() && !ticket->covers(params.room_id))
      refusal = room_not_covered(params.room_id);
    if (refusal) {
      LOG_INFO("gateway", req.remote << ": refused: " << refusal->message);
      ctx->counters->request_errors.fetch_add(1);
      ctx->counters->errors_by_code[static_cast<std::size_t>(refusal->code)].fetch_add(1);
      // Refused before the upgrade: 401 without a good token, 403 for a room or id the
      // token does not cover, 400 for a role that does not exist (mode none).
      unsigned status = refusal->code == protocol::error_code::unauthorized ? 401
                        : refusal->code == protocol::error_code::forbidden  ? 403
                                                                            : 400;
      return net::ws_decision::refuse(status, protocol::to_string(refusal->code),
                                      refusal->message);
    }
    if (!ticket->grant.subject.empty())
      params.peer_id = ticket->grant.subject; // the token's subject is the peer id
    else if (!has_auth)
      params.peer_id = ids::uuid4();
    if (params.name.empty())
      params.name = ticket->name;
    params.ticket = std::move(*ticket);
    LOG_DEBUG("gateway", req.remote << ": session for peer '" << params.peer_id << "'");
    auto session = spawn_session(sys, node, ctx, conn,
                                 std::shared_ptr<protocol::dialect>{protocol::make_json_dialect()},
                                 std::move(params));
    return net::ws_decision::accept(std::make_shared<session_bridge>(std::move(session)));
  };
}

net::http_server::engineio_acceptor make_engineio_gateway(caf::actor_system& sys,
                                                          caf::actor node,
                                                          node_context_ptr ctx,
                                                          engineio_dialect_factory make_dialect) {
  return [&sys, node, ctx, make_dialect = std::move(make_dialect)](
           const net::http_request_info& req, const std::string& sid,
           std::shared_ptr<net::ws_connection> conn) -> std::shared_ptr<net::ws_handler> {
    std::unique_ptr<protocol::dialect> dialect = make_dialect ? make_dialect(sid) : nullptr;
    if (!dialect) {
      LOG_WARN("gateway", req.remote << ": no dialect for engine.io session " << sid);
      return nullptr; // refused: 403
    }
    session_params params;
    params.peer_id = sid; // the socket id
    params.host = host_header(req);
    // The handshake query may name the connection's room (roomId or channelId) and the
    // participant's name; the room is joined with the first request that needs one.
    std::string problem;
    auto read = [&](const char* key, std::string& out) {
      return read_identifier(req.query, key, out, problem);
    };
    if (!read("roomId", params.connection_room))
      read("channelId", params.connection_room);
    read("name", params.name);
    read("role", params.role);
    // The token is checked at the Socket.IO CONNECT (with the CONNECT's auth.token first).
    if (net::query_param(req.query, "token", params.token) == net::query_lookup::malformed)
      problem = "token must be percent-encoded";
    if (!problem.empty()) {
      LOG_DEBUG("gateway", req.remote << ": engine.io handshake refused: " << problem);
      return nullptr; // refused: 403
    }
    LOG_DEBUG("gateway", req.remote << ": engine.io session " << sid << " ("
                                    << dialect->name() << " dialect)");
    auto session = spawn_session(sys, node, ctx, std::move(conn),
                                 std::shared_ptr<protocol::dialect>{std::move(dialect)},
                                 std::move(params));
    return std::make_shared<session_bridge>(std::move(session));
  };
}

} // namespace chorus::actors
