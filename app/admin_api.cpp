#include "app/admin_api.hpp"

#include "actors/messages.hpp"
#include "actors/operations.hpp"
#include "common/log.hpp"
#include "common/text.hpp"
#include "net/http_server.hpp"

#include <caf/all.hpp>

#include <rapidjson/document.h>

#include <openssl/crypto.h>

#include <atomic>
#include <optional>
#include <thread>

namespace chorus::app {

namespace {

constexpr auto ask_timeout = std::chrono::seconds(3);

std::string json_quoted(std::string_view s) {
  std::string out = "\"";
  text::json_escape(out, s);
  out += '"';
  return out;
}

net::http_response error(unsigned status, std::string_view code, std::string_view message) {
  return net::json_error(status, code, message);
}

net::http_response ok(unsigned status, std::string body) {
  return net::http_response{status, "application/json", std::move(body), {}};
}

// The path split at '/', each part percent-decoded; nullopt when an escape is bad.
std::optional<std::vector<std::string>> segments(std::string_view path) {
  std::vector<std::string> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    auto slash = path.find('/');
    std::string part;
    // url_decode turns '+' into a space (query rules); a path keeps it.
    std::string raw{path.substr(0, slash)};
    std::string protected_plus;
    for (char c : raw)
      protected_plus += c == '+' ? std::string{"%2B"} : std::string(1, c);
    if (!net::url_decode(protected_plus, part))
      return std::nullopt;
    out.push_back(std::move(part));
    if (slash == std::string_view::npos)
      break;
    path.remove_prefix(slash);
  }
  return out;
}

// An optional JSON object body: its string member `key` (absent: ""), or an error message.
std::optional<std::string> body_string(const std::string& body, const char* key,
                                       std::string& out) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos)
    return std::nullopt;
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject())
    return std::string{"the body must be a JSON object"};
  // Through a const reference: C++20 finds rapidjson's == ambiguous on mutable iterators.
  const rapidjson::Value& root = doc;
  auto it = root.FindMember(key);
  if (it == root.MemberEnd())
    return std::nullopt;
  if (!it->value.IsString() || it->value.GetStringLength() > 1000)
    return std::string{key} + ": must be a string of at most 1000 bytes";
  out.assign(it->value.GetString(), it->value.GetStringLength());
  return std::nullopt;
}

std::optional<std::string> body_uint(const std::string& body, const char* key, uint64_t max,
                                     std::optional<uint64_t>& out) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos)
    return std::nullopt;
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject())
    return std::string{"the body must be a JSON object"};
  // Through a const reference: C++20 finds rapidjson's == ambiguous on mutable iterators.
  const rapidjson::Value& root = doc;
  auto it = root.FindMember(key);
  if (it == root.MemberEnd())
    return std::nullopt;
  if (!it->value.IsUint64() || it->value.GetUint64() > max)
    return std::string{key} + ": must be an integer from 0 to " + std::to_string(max);
  out = it->value.GetUint64();
  return std::nullopt;
}

// The HTTP status of an actor's error.
unsigned status_of(const protocol::error_info& e) {
  switch (e.code) {
    case protocol::error_code::unknown_user:
    case protocol::error_code::unknown_transport:
    case protocol::error_code::unknown_producer:
    case protocol::error_code::unknown_consumer:
      return 404;
    case protocol::error_code::draining:
      return 503;
    case protocol::error_code::internal:
      return e.message == "the request timed out" ? 504 : 500;
    default:
      return 409;
  }
}

} // namespace

struct admin_api::impl {
  caf::actor_system& sys;
  caf::actor node;
  admin_options opts;
  drain_starter start_drain;
  uint64_t drain_timeout_ms;
  std::unique_ptr<net::http_server> server;
  std::thread thread;
  std::atomic<bool> stopped{false};

  impl(caf::actor_system& s, caf::actor n, admin_options o, drain_starter d, uint64_t t)
    : sys(s), node(std::move(n)), opts(std::move(o)), start_drain(std::move(d)),
      drain_timeout_ms(t) {}

  // Asks `dest` and waits (bounded) for a `T`; nullopt with `err` set otherwise.
  template <class T, class Msg>
  std::optional<T> ask(const caf::actor& dest, Msg msg, protocol::error_info& err,
                       caf::timespan timeout = ask_timeout) {
    caf::scoped_actor self{sys};
    std::optional<T> out;
    self->request(dest, timeout, std::move(msg))
      .receive([&](T& x) { out = std::move(x); },
               [&](caf::error& e) { err = actors::to_error_info(e); });
    return out;
  }

  bool authorized(const net::http_request_info& req) const {
    auto* h = req.header("authorization");
    if (!h)
      return false;
    constexpr std::string_view scheme = "Bearer ";
    if (h->size() <= scheme.size() || h->compare(0, scheme.size(), scheme) != 0)
      return false;
    std::string_view given = std::string_view{*h}.substr(scheme.size());
    return given.size() == opts.token.size() &&
           CRYPTO_memcmp(given.data(), opts.token.data(), given.size()) == 0;
  }

  // The nodes to ask: this one alone, or every live member of the cluster (this one first).
  std::vector<actors::cluster_node> nodes() {
    protocol::error_info err;
    auto members = ask<actors::cluster_nodes>(node, actors::admin_nodes_query{}, err);
    std::vector<actors::cluster_node> out{{members ? members->self_id : std::string{}, node}};
    if (members)
      for (auto& n : members->nodes)
        if (n.node_id != members->self_id && n.node)
          out.push_back(n);
    return out;
  }

  // The room `id` wherever it is homed in the cluster; `home` is its node's id.
  std::optional<caf::actor> room(const std::string& id, protocol::error_info& err,
                                 std::string* home = nullptr) {
    for (auto& n : nodes()) {
      protocol::error_info e;
      auto r = ask<caf::actor>(n.node, actors::find_room{id}, e);
      if (r && *r) {
        if (home)
          *home = n.node_id;
        return r;
      }
    }
    err = {protocol::error_code::unknown_user, "no room '" + id + "' on this node or cluster"};
    return std::nullopt;
  }

  std::string room_summary(const actors::admin_room_snapshot& s, const std::string& home) {
    return "{\"id\":" + json_quoted(s.room_id) +
           (home.empty() ? std::string{} : ",\"node\":" + json_quoted(home)) +
           ",\"participants\":" + std::to_string(s.participants.size()) +
           ",\"producers\":" + std::to_string(s.producers.size()) +
           ",\"locked\":" + (s.locked ? "true" : "false") +
           ",\"openedAt\":" + std::to_string(s.opened_ms) + "}";
  }

  net::http_response list_rooms() {
    std::string body = "{\"rooms\":[";
    bool first = true;
    bool answered = false;
    protocol::error_info err;
    for (auto& n : nodes()) {
      auto ids = ask<std::vector<std::string>>(n.node, actors::list_rooms_atom::value, err);
      if (!ids)
        continue; // a node that does not answer in time is left out
      answered = true;
      for (auto& id : *ids) {
        protocol::error_info e;
        auto r = ask<caf::actor>(n.node, actors::find_room{id}, e);
        if (!r || !*r)
          continue; // closed meanwhile
        auto snap = ask<actors::admin_room_snapshot>(*r, actors::admin_room_query{}, e);
        if (!snap)
          continue;
        if (!first)
          body += ',';
        first = false;
        body += room_summary(*snap, n.node_id);
      }
    }
    if (!answered)
      return error(status_of(err), protocol::to_string(err.code), err.message);
    body += "]}";
    return ok(200, std::move(body));
  }

  // A stats request's JSON, or null when it failed (closed meanwhile).
  template <class Msg>
  std::string stats(const caf::actor& peer, Msg msg) {
    protocol::error_info e;
    auto r = ask<protocol::stats_reply>(peer, std::move(msg), e);
    return r && !r->json.empty() ? r->json : std::string{"null"};
  }

  net::http_response room_detail(const std::string& id) {
    protocol::error_info err;
    std::string home;
    auto r = room(id, err, &home);
    if (!r)
      return error(status_of(err), err.code == protocol::error_code::unknown_user
                                     ? "unknown-room"
                                     : protocol::to_string(err.code),
                   err.message);
    auto snap = ask<actors::admin_room_snapshot>(*r, actors::admin_room_query{}, err);
    if (!snap)
      return error(404, "unknown-room", "room '" + id + "' closed meanwhile");
    std::string body = "{\"id\":" + json_quoted(snap->room_id) +
                       (home.empty() ? std::string{} : ",\"node\":" + json_quoted(home)) +
                       ",\"locked\":" + (snap->locked ? "true" : "false") +
                       ",\"openedAt\":" + std::to_string(snap->opened_ms) + ",\"participants\":[";
    bool first = true;
    for (auto& p : snap->participants) {
      if (!first)
        body += ',';
      first = false;
      body += "{\"peerId\":" + json_quoted(p.peer_id) + ",\"userId\":" + json_quoted(p.user_id) +
              ",\"name\":" + json_quoted(p.name) + ",\"role\":" + json_quoted(p.role) +
              ",\"host\":" + (p.host ? "true" : "false") +
              ",\"joinedAt\":" + std::to_string(p.joined_ms);
      protocol::error_info e;
      actors::peer_inventory inv;
      if (p.peer)
        if (auto got = ask<actors::peer_inventory>(p.peer, actors::peer_inventory_query{}, e))
          inv = std::move(*got);
      body += ",\"transports\":[";
      for (size_t i = 0; i < inv.transports.size(); ++i)
        body += (i ? "," : "") + std::string{"{\"id\":"} + json_quoted(inv.transports[i]) +
                ",\"stats\":" +
                stats(p.peer, protocol::get_transport_stats_request{snap->room_id, inv.transports[i]}) +
                "}";
      body += "],\"producers\":[";
      for (size_t i = 0; i < inv.producers.size(); ++i) {
        std::string kind, extra;
        for (auto& pr : snap->producers)
          if (pr.producer_id == inv.producers[i]) {
            kind = pr.kind;
            extra = std::string{",\"paused\":"} + (pr.paused ? "true" : "false") +
                    ",\"screenShare\":" + (pr.screen_share ? "true" : "false");
          }
        body += (i ? "," : "") + std::string{"{\"id\":"} + json_quoted(inv.producers[i]) +
                ",\"kind\":" + json_quoted(kind) + extra + ",\"stats\":" +
                stats(p.peer, protocol::producer_request{snap->room_id, protocol::producer_op::get_stats,
                                                         inv.producers[i]}) +
                "}";
      }
      body += "],\"consumers\":[";
      for (size_t i = 0; i < inv.consumers.size(); ++i)
        body += (i ? "," : "") + std::string{"{\"id\":"} + json_quoted(inv.consumers[i]) +
                ",\"stats\":" +
                stats(p.peer, protocol::consumer_request{snap->room_id, protocol::consumer_op::get_stats,
                                                         inv.consumers[i]}) +
                "}";
      body += "]}";
    }
    body += "],\"producers\":" + std::to_string(snap->producers.size()) + "}";
    return ok(200, std::move(body));
  }

  net::http_response close_room(const std::string& id, const std::string& body) {
    std::string reason;
    if (auto bad = body_string(body, "reason", reason))
      return error(400, "invalid-field", *bad);
    protocol::error_info err;
    auto r = room(id, err);
    if (!r)
      return error(status_of(err), "unknown-room", err.message);
    auto snap = ask<actors::admin_room_snapshot>(*r, actors::admin_room_query{}, err);
    if (!ask<protocol::empty_reply>(*r, actors::admin_close{reason}, err))
      return error(status_of(err), protocol::to_string(err.code), err.message);
    LOG_INFO("admin", "room '" << id << "' closed");
    return ok(200, "{\"closed\":" + json_quoted(id) + ",\"participants\":" +
                     std::to_string(snap ? snap->participants.size() : 0) + "}");
  }

  net::http_response kick(const std::string& id, const std::string& peer_id,
                          const std::string& body) {
    std::string reason;
    if (auto bad = body_string(body, "reason", reason))
      return error(400, "invalid-field", *bad);
    protocol::error_info err;
    auto r = room(id, err);
    if (!r)
      return error(status_of(err), "unknown-room", err.message);
    if (!ask<protocol::empty_reply>(*r, actors::admin_kick{peer_id, reason}, err))
      return error(status_of(err), protocol::to_string(err.code), err.message);
    return ok(200, "{\"kicked\":" + json_quoted(peer_id) + ",\"room\":" + json_quoted(id) + "}");
  }

  // POST /rooms/{id}/recording/start|stop: as start-recording / stop-recording (stopping
  // waits for the files to be finished, up to 20 s).
  net::http_response recording(const std::string& id, bool start) {
    protocol::error_info err;
    auto r = room(id, err);
    if (!r)
      return error(status_of(err), "unknown-room", err.message);
    auto reply = ask<protocol::class_reply>(*r, actors::admin_recording{start}, err,
                                            std::chrono::seconds(start ? 3 : 20));
    if (!reply)
      return error(err.code == protocol::error_code::invalid_state ? 409 : status_of(err),
                   protocol::to_string(err.code), err.message);
    LOG_INFO("admin", "room '" << id << "': recording " << (start ? "started" : "stopped"));
    return ok(200, "{\"room\":" + json_quoted(id) + "," + json_quoted(reply->key) + ":" +
                     json_quoted(reply->id) + "}");
  }

  net::http_response drain(const std::string& body) {
    std::optional<uint64_t> timeout;
    if (auto bad = body_uint(body, "timeoutMs", 86400000, timeout))
      return error(400, "invalid-field", *bad);
    // Without a timeout the drain never ends a class early: the configured bound, else the
    // rooms' end. Only an explicit 0 stops at once.
    auto ms = timeout.value_or(drain_timeout_ms > 0 ? drain_timeout_ms
                                                    : actors::drain_until_rooms_end);
    const bool bounded = ms != actors::drain_until_rooms_end;
    LOG_INFO("admin", "drain requested ("
                        << (bounded ? std::to_string(ms) + " ms" : "until the rooms end") << ")");
    start_drain(ms);
    return ok(202, std::string{"{\"draining\":true,\"timeoutMs\":"} +
                     (bounded ? std::to_string(ms) : "null") + "}");
  }

  net::http_response handle(const net::http_request_info& req) {
    auto method_not_allowed = [](const char* allow) {
      auto r = error(405, "method-not-allowed", std::string{"use "} + allow);
      r.headers.emplace_back("Allow", allow);
      return r;
    };
    if (!authorized(req)) {
      auto r = error(401, "unauthorized",
                     req.header("authorization") ? "the bearer token is not valid"
                                                  : "an Authorization: Bearer token is required");
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"chorus-admin\"");
      LOG_WARN("admin", req.remote << ": " << req.method << " " << req.path << " refused: "
                                   << (req.header("authorization") ? "wrong token" : "no token"));
      return r;
    }
    auto parts = segments(req.path);
    if (!parts)
      return error(400, "invalid-path", "the path is not percent-encoded correctly");
    auto& p = *parts;
    const auto& m = req.method;
    if (p.size() == 1 && p[0] == "rooms") {
      if (m != "GET")
        return method_not_allowed("GET");
      return list_rooms();
    }
    if (p.size() == 2 && p[0] == "rooms") {
      if (m == "GET")
        return room_detail(p[1]);
      if (m == "DELETE")
        return close_room(p[1], req.body);
      return method_not_allowed("GET, DELETE");
    }
    if (p.size() == 5 && p[0] == "rooms" && p[2] == "peers" && p[4] == "kick") {
      if (m != "POST")
        return method_not_allowed("POST");
      return kick(p[1], p[3], req.body);
    }
    if (p.size() == 4 && p[0] == "rooms" && p[2] == "recording" &&
        (p[3] == "start" || p[3] == "stop")) {
      if (m != "POST")
        return method_not_allowed("POST");
      return recording(p[1], p[3] == "start");
    }
    if (p.size() == 1 && p[0] == "turn") {
      if (m != "GET")
        return method_not_allowed("GET");
      return ok(200, opts.turn_view ? opts.turn_view() : std::string(R"({"enabled":false})"));
    }
    if (p.size() == 1 && p[0] == "drain") {
      if (m != "POST")
        return method_not_allowed("POST");
      return drain(req.body);
    }
    return error(404, "not-found", "no such admin resource: " + req.path);
  }
};

admin_api::admin_api(caf::actor_system& sys, const caf::actor& node, admin_options opts,
                     drain_starter start_drain, uint64_t drain_timeout_ms)
  : impl_(std::make_unique<impl>(sys, node, std::move(opts), std::move(start_drain),
                                 drain_timeout_ms)) {}

admin_api::~admin_api() { stop(); }

net::http_response admin_api::handle(const net::http_request_info& req) {
  return impl_->handle(req);
}

uint16_t admin_api::start() {
  net::http_server_options o;
  o.host = impl_->opts.host;
  o.port = impl_->opts.port;
  o.max_connections = 64;
  o.max_connections_per_ip = 0;
  o.max_request_body = 64 * 1024;
  auto* self = impl_.get();
  impl_->server = std::make_unique<net::http_server>(
    o, [self](const net::http_request_info& req) { return self->handle(req); },
    [](const net::http_request_info&, std::shared_ptr<net::ws_connection>) {
      return net::ws_decision::refuse(404, "not-found", "the admin API has no WebSocket");
    });
  auto port = impl_->server->listen();
  impl_->thread = std::thread([self] { self->server->run(); });
  return port;
}

void admin_api::stop() {
  if (!impl_ || impl_->stopped.exchange(true))
    return;
  if (impl_->server) {
    impl_->server->shutdown(1001, std::chrono::milliseconds(200));
    if (impl_->thread.joinable())
      impl_->thread.join();
  }
}

} // namespace chorus::app
