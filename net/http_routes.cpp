// What a request is for. Every WebSocket upgrade and every request at the Engine.IO path
// passes admission first (http_admission.cpp); then Engine.IO (its path), a WebSocket
// upgrade (the application's ws_acceptor decides), or the application's plain HTTP
// handler.
#include "net/http_edge_internal.hpp"

#include "common/log.hpp"

namespace chorus::net {

using namespace edge;

void http_server::impl::route(const std::shared_ptr<http_exchange>& ex, http_request_info info,
                              bool websocket_upgrade, bool body_too_large) {
  bool engineio = eio_path(info.path);
  if (engineio || websocket_upgrade) {
    auto entry = !engineio ? entry_point::websocket
                 : websocket_upgrade ? entry_point::engineio_websocket
                                     : entry_point::engineio_polling;
    if (auto refusal = admit(info, entry)) {
      ex->close_after_response();
      return ex->respond(std::move(*refusal));
    }
  }
  if (engineio) {
    if (body_too_large)
      return eio_too_large(ex, info);
    if (websocket_upgrade)
      return eio_upgrade(ex, info);
    return eio_http(ex, info);
  }
  if (websocket_upgrade)
    return route_websocket(ex, info);
  for (const auto& [prefix, handler] : deferred)
    if (info.path.starts_with(prefix)) {
      if (shutting_down)
        return ex->respond(http_response{503, "text/plain", "shutting down\n", {}});
      ex->hold({}, nullptr);
      return handler(info, ex->completer());
    }
  http_response res;
  if (info.method != "GET" && info.method != "HEAD" && info.method != "POST" &&
      info.method != "OPTIONS" && info.method != "DELETE") // DELETE: the admin API
    res = http_response{405, "text/plain", "method not allowed\n", {}};
  else
    res = on_http(info);
  ex->respond(std::move(res));
}

void http_server::impl::route_websocket(const std::shared_ptr<http_exchange>& ex,
                                        const http_request_info& info) {
  if (shutting_down)
    return ex->respond(http_response{503, "text/plain", "shutting down\n", {}});
  auto ws = ex->take_websocket(); // the ws_session now owns the connection and its count
  auto decision = on_ws(info, ws);
  if (!decision.handler) {
    LOG_DEBUG(component, ex->remote() << ": websocket upgrade refused for " << info.path << ": "
                                      << decision.refusal.status);
    count(&http_server_counters::refused_by_application);
    ws->reject(ex->current_request(), std::move(decision.refusal));
    return;
  }
  ws->set_handler(std::move(decision.handler));
  ws->accept(std::move(ex->current_request()));
}

} // namespace chorus::net
