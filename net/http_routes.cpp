// What a request is for: Engine.IO (its path), a WebSocket upgrade (the application's
// ws_acceptor decides), or the application's plain HTTP handler.
#include "net/http_edge_internal.hpp"

#include "common/log.hpp"

namespace chorus::net {

using namespace edge;

void http_server::impl::route(const std::shared_ptr<http_exchange>& ex, http_request_info info,
                              bool websocket_upgrade, bool body_too_large) {
  if (eio_path(info.path)) {
    if (body_too_large)
      return eio_too_large(ex, info);
    if (websocket_upgrade)
      return eio_upgrade(ex, info);
    return eio_http(ex, info);
  }
  if (websocket_upgrade)
    return route_websocket(ex, info);
  http_response res;
  if (info.method != "GET" && info.method != "HEAD" && info.method != "POST" &&
      info.method != "OPTIONS")
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
  auto handler = on_ws(info, ws);
  if (!handler) {
    LOG_DEBUG(component, ex->remote() << ": websocket upgrade refused for " << info.path);
    ws->reject(ex->current_request(), http_response{404, "text/plain", "not found\n", {}});
    return;
  }
  ws->set_handler(std::move(handler));
  ws->accept(std::move(ex->current_request()));
}

} // namespace chorus::net
