#include "app/meetings_api.hpp"

#include "actors/clock.hpp"
#include "actors/messages.hpp"
#include "actors/recorder.hpp"
#include "common/log.hpp"
#include "net/http_admission.hpp"

#include <caf/send.hpp>
#include "common/text.hpp"
#include "protocol/meetings.hpp"

namespace chorus::app {

// The seed 004 frontend's meetings API: POST /api/meetings, GET /api/meetings/ID, and their
// CORS preflights, for the pages signaling.allowedOrigins allows (the frontend is served
// from another origin than Chorus). nullopt: not such a request.
std::optional<net::http_response> meetings_api(const net::http_request_info& req,
                                               actors::meeting_book& book,
                                               const std::vector<std::string>& allowed,
                                               const caf::actor& recorder,
                                               const caf::actor& node) {
  constexpr std::string_view base = "/api/meetings";
  std::string_view path = req.path;
  if (path.substr(0, base.size()) != base ||
      (path.size() > base.size() && path[base.size()] != '/'))
    return std::nullopt;
  std::string id;
  if (path.size() > base.size() + 1 && !net::url_decode(path.substr(base.size() + 1), id))
    return net::http_response{400, "application/json",
                              protocol::meeting_error_json("the meeting id is not percent-encoded"),
                              {}};
  const auto* origin = req.header("origin");
  const auto* host = req.header("host");
  auto verdict =
    net::check_origin(origin ? std::optional<std::string_view>{*origin} : std::nullopt,
                      host ? std::optional<std::string_view>{*host} : std::nullopt, allowed);
  if (!net::origin_allowed(verdict))
    return net::http_response{403, "application/json",
                              protocol::meeting_error_json("origin not allowed"), {}};
  std::vector<std::pair<std::string, std::string>> cors;
  if (origin) {
    cors.emplace_back("Access-Control-Allow-Origin", *origin);
    cors.emplace_back("Vary", "Origin");
  }
  auto answer = [&](unsigned status, std::string body) {
    return net::http_response{status, "application/json", std::move(body), cors};
  };
  if (req.method == "OPTIONS") {
    auto r = answer(204, "");
    r.content_type = "text/plain";
    r.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    const auto* asked = req.header("access-control-request-headers");
    r.headers.emplace_back("Access-Control-Allow-Headers", asked ? *asked : "content-type");
    r.headers.emplace_back("Access-Control-Max-Age", "600");
    return r;
  }
  if (id.empty() && req.method == "POST") {
    std::string error;
    auto m = protocol::parse_meeting_request(req.body, error);
    if (!m)
      return answer(400, protocol::meeting_error_json(error));
    m->created_at = actors::wall_ms();
    switch (book.add(*m)) {
      case actors::meeting_book::added::exists:
        return answer(409, protocol::meeting_error_json("a meeting with id '" + m->id + "' exists"));
      case actors::meeting_book::added::full:
        return answer(503, protocol::meeting_error_json("this server holds too many meetings"));
      case actors::meeting_book::added::ok:
        break;
    }
    LOG_INFO("main", "meeting '" << m->id << "' registered by '" << m->creator_id << "'");
    if (recorder) // kept in the class record, read back at the next start
      caf::anon_send(recorder, store::record_event{store::meeting_created{
                                 m->id, m->creator_id, m->description, m->starts_at, m->created_at}});
    if (node)
      caf::anon_send(node, actors::meetings_shared{{*m}, false});
    return answer(201, protocol::meeting_json(*m));
  }
  if (!id.empty() && (req.method == "GET" || req.method == "HEAD")) {
    auto m = book.find(id);
    if (!m)
      return answer(404, protocol::meeting_error_json("no meeting with id '" + id + "'"));
    return answer(200, protocol::meeting_json(*m));
  }
  auto r = answer(405, protocol::meeting_error_json("use POST /api/meetings or GET /api/meetings/ID"));
  r.headers.emplace_back("Allow", id.empty() ? "POST, OPTIONS" : "GET, OPTIONS");
  return r;
}

} // namespace chorus::app
