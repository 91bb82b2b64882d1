#include "app/whip_api.hpp"

#include "actors/auth.hpp"
#include "actors/gateway.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "net/http_admission.hpp"
#include "protocol/sdp.hpp"
#include "protocol/whip_sdp.hpp"

#include <algorithm>
#include <optional>
#include <string_view>

namespace chorus::app {

namespace {

// The media type of a Content-Type value, lower-cased, without its parameters.
std::string media_type(const std::string* value) {
  if (!value)
    return {};
  std::string out;
  for (char c : std::string_view(*value).substr(0, value->find(';'))) {
    if (c == ' ' || c == '\t')
      continue;
    out += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  return out;
}

// "ip:port" -> "ip" ("[v6]:port" -> "v6").
std::string address_of(const std::string& remote) {
  auto colon = remote.rfind(':');
  std::string ip = colon == std::string::npos ? remote : remote.substr(0, colon);
  if (ip.size() > 1 && ip.front() == '[' && ip.back() == ']')
    ip = ip.substr(1, ip.size() - 2);
  return ip;
}

// A layer number of the query: absent -1, else 0..15; nullopt when malformed.
std::optional<int> layer_param(const std::string& query, std::string_view name) {
  std::string v;
  const auto found = net::query_param(query, name, v);
  if (found == net::query_lookup::malformed)
    return std::nullopt;
  if (found != net::query_lookup::found)
    return -1;
  if (v.empty() || v.size() > 2 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  const int n = std::stoi(v);
  return n <= 15 ? std::optional<int>{n} : std::nullopt;
}

} // namespace

void whip_request(const whip_api_context& api, const net::http_request_info& req,
                  actors::http_responder respond) {
  const auto* origin = req.header("origin");
  const auto* host = req.header("host");
  auto verdict =
    net::check_origin(origin ? std::optional<std::string_view>{*origin} : std::nullopt,
                      host ? std::optional<std::string_view>{*host} : std::nullopt,
                      api.allowed_origins);
  if (!net::origin_allowed(verdict))
    return respond(net::json_error(403, "forbidden", "origin not allowed"));
  std::vector<std::pair<std::string, std::string>> cors;
  if (origin) {
    cors.emplace_back("Access-Control-Allow-Origin", *origin);
    cors.emplace_back("Vary", "Origin");
    cors.emplace_back("Access-Control-Expose-Headers", "Location, ETag, Link, Accept-Post, Accept-Patch");
  }
  const bool play = req.path.starts_with(whep_prefix);
  const std::string_view prefix = play ? whep_prefix : whip_prefix;
  // Every answer carries the CORS headers; a POST's error counts as a refusal.
  auto reply = [cors, respond, post = req.method == "POST", play, counters = api.ctx->counters](net::http_response r) {
    if (post && r.status >= 400)
      (play ? counters->whep_refused : counters->whip_refused).fetch_add(1, std::memory_order_relaxed);
    for (const auto& h : cors)
      r.headers.push_back(h);
    respond(std::move(r));
  };

  // /whip/ROOM or /whip/ROOM/RESOURCE (and /whep/ likewise)
  std::string_view rest = std::string_view(req.path).substr(prefix.size());
  const auto slash = rest.find('/');
  std::string room, resource;
  if (!net::url_decode(rest.substr(0, slash), room) || !actors::valid_identifier(room))
    return reply(net::json_error(400, "invalid-field",
                                 "the room must be 1 to 128 bytes of printable UTF-8, percent-encoded"));
  if (slash != std::string_view::npos)
    resource = std::string(rest.substr(slash + 1));

  if (req.method == "OPTIONS") {
    net::http_response r{204, "text/plain", "", {}};
    r.headers.emplace_back("Access-Control-Allow-Methods", resource.empty() ? "POST, OPTIONS"
                                                                            : "PATCH, DELETE, OPTIONS");
    const auto* asked = req.header("access-control-request-headers");
    r.headers.emplace_back("Access-Control-Allow-Headers",
                           asked ? *asked : "authorization, content-type, if-match");
    r.headers.emplace_back("Access-Control-Max-Age", "600");
    if (resource.empty())
      r.headers.emplace_back("Accept-Post", "application/sdp");
    else
      r.headers.emplace_back("Accept-Patch", "application/trickle-ice-sdpfrag");
    return reply(std::move(r));
  }

  if (!resource.empty()) {
    auto handle = api.resources->find(resource);
    if (!handle || handle->room_id != room || handle->play != play)
      return reply(net::json_error(404, "not-found", std::string("no such ") + (play ? "WHEP" : "WHIP") +
                                                       " resource in this room"));
    if (req.method == "DELETE")
      return actors::whip_delete(handle, reply);
    if (req.method == "PATCH") {
      if (media_type(req.header("content-type")) != "application/trickle-ice-sdpfrag")
        return reply(net::json_error(415, "unsupported-media-type",
                                     "PATCH takes application/trickle-ice-sdpfrag"));
      if (req.body.size() > protocol::max_sdp_bytes)
        return reply(net::json_error(413, "too-large", "the fragment is too large"));
      const auto* if_match = req.header("if-match");
      return actors::whip_patch(handle, req.body, if_match ? *if_match : std::string{}, reply);
    }
    auto r = net::json_error(405, "method-not-allowed", "a resource takes PATCH or DELETE");
    r.headers.emplace_back("Allow", "PATCH, DELETE, OPTIONS");
    return reply(std::move(r));
  }
  if (req.method != "POST") {
    auto r = net::json_error(405, "method-not-allowed", "POST an SDP offer to " + std::string(prefix) + "ROOM");
    r.headers.emplace_back("Allow", "POST, OPTIONS");
    return reply(std::move(r));
  }
  if (media_type(req.header("content-type")) != "application/sdp")
    return reply(net::json_error(415, "unsupported-media-type", "POST takes application/sdp"));
  if (req.body.size() > protocol::max_sdp_bytes)
    return reply(net::json_error(413, "too-large", "the offer is over " +
                                                     std::to_string(protocol::max_sdp_bytes) + " bytes"));

  // The token: Authorization: Bearer (auth.mode none: none needed; ?role= chooses one).
  std::string token, role;
  if (const auto* auth = req.header("authorization")) {
    constexpr std::string_view scheme = "Bearer ";
    if (auth->size() <= scheme.size() || auth->compare(0, scheme.size(), scheme) != 0)
      return reply(net::json_error(401, "unauthorized", "Authorization must be Bearer TOKEN"));
    token = auth->substr(scheme.size());
  }
  if (net::query_param(req.query, "role", role) == net::query_lookup::malformed)
    return reply(net::json_error(400, "invalid-field", "role must be percent-encoded"));
  auto ticket = actors::admit(api.ctx->auth, token, role);
  if (!ticket) {
    const auto& e = ticket.error();
    return reply(net::json_error(e.code == protocol::error_code::unauthorized ? 401
                                 : e.code == protocol::error_code::forbidden  ? 403
                                                                              : 400,
                                 protocol::to_string(e.code), e.message));
  }
  if (!ticket->covers(room))
    return reply(net::json_error(403, "forbidden", "the token does not cover room '" + room + "'"));

  auto offer = protocol::parse_sdp(req.body);
  if (!offer)
    return reply(net::json_error(400, "invalid-sdp", offer.error()));
  actors::whip_start start;
  if (play) {
    auto slots = protocol::read_whep_offer(*offer, api.ctx->router_capabilities);
    if (!slots)
      return reply(net::json_error(400, "invalid-sdp", slots.error()));
    auto& choice = start.choice;
    if (net::query_param(req.query, "producer", choice.producer_id) == net::query_lookup::malformed ||
        net::query_param(req.query, "participant", choice.participant) == net::query_lookup::malformed)
      return reply(net::json_error(400, "invalid-field", "producer and participant must be percent-encoded"));
    const auto spatial = layer_param(req.query, "spatialLayer");
    const auto temporal = layer_param(req.query, "temporalLayer");
    if (!spatial || !temporal)
      return reply(net::json_error(400, "invalid-field", "spatialLayer and temporalLayer are layer numbers 0 to 15"));
    choice.spatial_layer = *spatial;
    choice.temporal_layer = *temporal;
    start.play = std::move(*slots);
  } else {
    auto reading = protocol::read_whip_offer(*offer, api.ctx->router_capabilities);
    if (!reading)
      return reply(net::json_error(400, "invalid-sdp", reading.error()));
    start.reading = std::move(*reading);
  }

  const std::string holder = !ticket->grant.subject.empty() ? ticket->grant.subject : token;
  std::string why;
  auto handle = api.resources->reserve(room, address_of(req.remote), holder, why);
  if (!handle)
    return reply(net::json_error(503, "limit-exceeded", why));
  handle->play = play;
  start.handle = handle;
  start.resources = api.resources;
  start.peer_id = !ticket->grant.subject.empty() ? ticket->grant.subject : ids::uuid4();
  start.name = !ticket->name.empty() ? ticket->name
                                      : (play ? "WHEP " : "WHIP ") + start.peer_id.substr(0, 8);
  start.ticket = std::move(*ticket);
  start.offer = std::move(*offer);
  start.location = std::string(prefix) + req.path.substr(prefix.size(), slash == std::string_view::npos
                                                                         ? std::string::npos
                                                                         : slash) +
                   "/" + handle->id;
  start.respond = reply;
  LOG_INFO("whip", req.remote << ": resource " << handle->id << (play ? " plays room '" : " publishes into room '")
                              << room << "' as '" << start.peer_id << "'");
  actors::spawn_whip_resource(*api.sys, api.node, api.ctx, std::move(start));
}

} // namespace chorus::app
