// Engine.IO over the edge: the handshake, polls and posts over HTTP (with CORS), a session
// started on a WebSocket or upgraded to one, and the glue that applies the decisions of
// the protocol logic (net/engineio.hpp) to connections and to the application's handlers.
#include "net/http_edge_internal.hpp"

#include "common/log.hpp"

namespace chorus::net {

using namespace edge;

namespace {

http_response to_response(const engineio::reply& r, const header_list& headers) {
  return http_response{r.status, r.content_type, r.body, headers};
}

// The application's handle on one Engine.IO session. Thread-safe: every call is posted to
// the edge, where it takes eio_mutex.
class eio_connection : public ws_connection {
public:
  eio_connection(std::weak_ptr<http_server::impl> srv, std::string sid)
    : srv_(std::move(srv)), sid_(std::move(sid)) {}

  void send(std::string text) override {
    post([sid = sid_, t = std::move(text)](http_server::impl& s) mutable {
      s.eio_send(sid, std::move(t));
    });
  }
  void close(uint16_t code, std::string) override {
    post([sid = sid_, code](http_server::impl& s) { s.eio_close(sid, code); });
  }
  void message_processed() override {
    post([sid = sid_](http_server::impl& s) { s.eio_processed(sid); });
  }

private:
  template <class F>
  void post(F&& f) {
    auto s = srv_.lock();
    if (!s)
      return;
    asio::post(s->ioc, [w = srv_, f = std::forward<F>(f)]() mutable {
      if (auto s = w.lock())
        f(*s);
    });
  }

  std::weak_ptr<http_server::impl> srv_;
  std::string sid_;
};

// Feeds the frames of a WebSocket that carries (or probes for) an Engine.IO session.
class eio_ws_bridge : public ws_handler {
public:
  eio_ws_bridge(std::weak_ptr<http_server::impl> srv, std::string sid, uint64_t ws)
    : srv_(std::move(srv)), sid_(std::move(sid)), ws_(ws) {}

  void on_text(std::string text) override {
    if (auto s = srv_.lock())
      s->eio_ws_text(sid_, ws_, std::move(text));
  }
  void on_binary(std::size_t size) override {
    if (auto s = srv_.lock())
      s->eio_ws_binary(sid_, ws_, size);
  }
  void on_closed(uint16_t code) override {
    if (auto s = srv_.lock())
      s->eio_ws_closed(sid_, ws_, code);
  }

private:
  std::weak_ptr<http_server::impl> srv_;
  std::string sid_;
  uint64_t ws_;
};

} // namespace

bool http_server::impl::eio_path(const std::string& path) const {
  if (!eio)
    return false;
  const auto& base = opts.engineio_path;
  if (path.rfind(base, 0) == 0)
    return true;
  return !base.empty() && base.back() == '/' && path == base.substr(0, base.size() - 1);
}

int64_t http_server::impl::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               epoch)
    .count();
}

eio_link* http_server::impl::link(const std::string& sid) {
  auto it = eio_links.find(sid);
  return it == eio_links.end() ? nullptr : &it->second;
}

// ---- Engine.IO over HTTP: handshake, polls, posts, CORS preflight ----------------------------

void http_server::impl::eio_http(const std::shared_ptr<http_exchange>& ex,
                                 const http_request_info& info) {
  std::lock_guard<std::recursive_mutex> lock{eio_mutex};
  // Admitted (http_routes.cpp): an Origin, if any, is allowed, and echoed.
  auto* origin_header = find_header(info, "origin");
  std::string origin = origin_header ? *origin_header : std::string{};
  auto cors = engineio::cors_headers(origin);
  if (info.method == "OPTIONS") {
    auto* req_headers = find_header(info, "access-control-request-headers");
    return ex->respond(http_response{
      204, "text/plain", "",
      engineio::cors_preflight_headers(origin, req_headers ? *req_headers : std::string{})});
  }
  if (shutting_down)
    return ex->respond(http_response{503, "text/plain", "shutting down\n", cors});
  auto now = now_ms();
  auto route = eio->classify(info.method, info.query, false);
  engineio::effects fx;
  switch (route.what) {
  case engineio::route::kind::error:
    LOG_DEBUG(component, ex->remote() << ": engine.io " << info.method
                                      << " refused: " << route.error.body);
    return ex->respond(to_response(route.error, cors));
  case engineio::route::kind::handshake: {
    // An Engine.IO session outlives its HTTP requests: bound the sessions as the
    // connections are bounded, or a handshake loop would pile up sessions and actors.
    if (eio->size() >= opts.max_connections) {
      count(&http_server_counters::connections_refused);
      return ex->respond(to_response(engineio::error_reply(engineio::error_code::forbidden), cors));
    }
    auto sid = eio->new_sid();
    auto conn = std::make_shared<eio_connection>(weak_from_this(), sid);
    auto handler = on_eio(info, sid, conn);
    if (!handler) {
      count(&http_server_counters::refused_by_application);
      return ex->respond(to_response(engineio::error_reply(engineio::error_code::forbidden), cors));
    }
    eio_links[sid].handler = std::move(handler);
    auto open = eio->open_session(sid, engineio::transport_kind::polling, 0, now);
    eio_rearm();
    LOG_DEBUG(component, ex->remote() << ": engine.io session " << sid << " (polling)");
    return ex->respond(http_response{200, "text/plain; charset=UTF-8", std::move(open), cors});
  }
  case engineio::route::kind::poll: {
    auto r = eio->on_poll(route.sid, now, fx);
    if (r.hold) {
      if (auto* l = link(route.sid)) {
        l->held_get = ex->completer();
        ex->hold(std::move(cors), [w = weak_from_this(), sid = route.sid] {
          if (auto s = w.lock())
            s->eio_poll_aborted(sid);
        });
      }
      eio_apply(fx, 0);
      return;
    }
    eio_apply(fx, 0);
    return ex->respond(to_response(r.answer, cors));
  }
  case engineio::route::kind::post: {
    auto* l = link(route.sid);
    if (l && l->held_post) {
      // A second POST while one is held: Engine.IO's "overlap", which ends the session.
      eio->close(route.sid, engineio::close_reason::transport_error, 1006, now, fx);
      eio_apply(fx, 0);
      return ex->respond(
        to_response(engineio::error_reply(engineio::error_code::bad_request), cors));
    }
    auto r = eio->on_post(route.sid, info.body, now, fx);
    eio_apply(fx, 0);
    if (r.status == 413)
      ex->close_after_response();
    l = link(route.sid);
    if (r.status == 200 && l && l->polling_unprocessed >= opts.max_unprocessed) {
      // Back-pressure: "ok" once the application caught up, so that the client's next
      // POST waits.
      l->held_post = ex->completer();
      ex->hold(std::move(cors), nullptr);
      return;
    }
    return ex->respond(to_response(r, cors));
  }
  case engineio::route::kind::upgrade:
    break; // not for plain HTTP (classify() does not return it)
  }
  ex->respond(to_response(engineio::error_reply(engineio::error_code::bad_request), cors));
}

// An Engine.IO POST too large to read: 413, and its session ends.
void http_server::impl::eio_too_large(const std::shared_ptr<http_exchange>& ex,
                                      const http_request_info& info) {
  std::lock_guard<std::recursive_mutex> lock{eio_mutex};
  std::string sid;
  query_param(info.query, "sid", sid);
  engineio::effects fx;
  auto r = eio->on_post_too_large(sid, now_ms(), fx);
  eio_apply(fx, 0);
  auto origin = find_header(info, "origin");
  ex->close_after_response();
  ex->respond(to_response(r, engineio::cors_headers(origin ? *origin : std::string{})));
}

// ---- Engine.IO over WebSocket: a session started on it, or an upgrade probe -------------------

void http_server::impl::eio_upgrade(const std::shared_ptr<http_exchange>& ex,
                                    const http_request_info& info) {
  std::lock_guard<std::recursive_mutex> lock{eio_mutex};
  ex->close_after_response();
  if (shutting_down)
    return ex->respond(http_response{503, "text/plain", "shutting down\n", {}});
  auto now = now_ms();
  auto route = eio->classify(info.method, info.query, true);
  if (route.what == engineio::route::kind::error) {
    LOG_DEBUG(component, ex->remote() << ": engine.io upgrade refused: " << route.error.body);
    return ex->respond(to_response(route.error, {}));
  }
  uint64_t ws_id = next_ws_id++;
  std::string sid;
  std::string open;
  if (route.what == engineio::route::kind::handshake) {
    if (eio->size() >= opts.max_connections) { // as for a polling handshake
      count(&http_server_counters::connections_refused);
      return ex->respond(to_response(engineio::error_reply(engineio::error_code::forbidden), {}));
    }
    sid = eio->new_sid();
    auto conn = std::make_shared<eio_connection>(weak_from_this(), sid);
    auto handler = on_eio(info, sid, conn);
    if (!handler) {
      count(&http_server_counters::refused_by_application);
      return ex->respond(to_response(engineio::error_reply(engineio::error_code::forbidden), {}));
    }
    eio_links[sid].handler = std::move(handler);
    open = eio->open_session(sid, engineio::transport_kind::websocket, ws_id, now);
    LOG_DEBUG(component, ex->remote() << ": engine.io session " << sid << " (websocket)");
  } else {
    sid = route.sid;
    if (!eio->attach_probe(sid, ws_id, now)) {
      LOG_DEBUG(component, ex->remote() << ": engine.io session " << sid << " cannot upgrade");
      return ex->respond(
        to_response(engineio::error_reply(engineio::error_code::bad_request), {}));
    }
  }
  auto ws = ex->take_websocket();
  ws->set_handler(std::make_shared<eio_ws_bridge>(weak_from_this(), sid, ws_id));
  eio_websockets[ws_id] = ws;
  if (!open.empty())
    ws->send(std::move(open)); // queued until the handshake completes
  eio_rearm();
  ws->accept(std::move(ex->current_request()));
}

// ---- glue --------------------------------------------------------------------------------------

// Applies the protocol's decisions (under eio_mutex, as everything below). `origin`: where the input came from (a WebSocket id,
// 0 for polling), recorded for each message handed to the application. Returns the
// number of messages handed over.
std::size_t http_server::impl::eio_apply(engineio::effects& fx, uint64_t origin) {
  std::size_t delivered = 0;
  for (auto& e : fx) {
    switch (e.kind) {
    case engineio::effect_kind::message:
    case engineio::effect_kind::binary: {
      auto* l = link(e.sid);
      if (!l || !l->handler)
        break;
      l->origins.push_back(origin);
      if (origin == 0)
        ++l->polling_unprocessed;
      ++delivered;
      if (e.kind == engineio::effect_kind::message)
        l->handler->on_text(std::move(e.data));
      else
        l->handler->on_binary(e.data.size());
      break;
    }
    case engineio::effect_kind::poll_reply: {
      auto* l = link(e.sid);
      if (l && l->held_get) {
        auto f = std::move(l->held_get);
        l->held_get = nullptr;
        f(http_response{200, "text/plain; charset=UTF-8", std::move(e.data), {}});
      }
      break;
    }
    case engineio::effect_kind::ws_send:
      if (auto it = eio_websockets.find(e.ws); it != eio_websockets.end())
        it->second->send(std::move(e.data));
      break;
    case engineio::effect_kind::ws_close:
      if (auto it = eio_websockets.find(e.ws); it != eio_websockets.end())
        it->second->close(e.code, "");
      break;
    case engineio::effect_kind::closed: {
      auto it = eio_links.find(e.sid);
      if (it == eio_links.end())
        break;
      LOG_DEBUG(component, "engine.io session " << e.sid << " ended: "
                                                << engineio::reason_name(e.reason));
      auto l = std::move(it->second);
      eio_links.erase(it);
      if (l.held_get)
        l.held_get(http_response{200, "text/plain; charset=UTF-8", "1", {}});
      if (l.held_post)
        l.held_post(http_response{200, "text/html", "ok", {}});
      if (l.handler)
        l.handler->on_closed(e.code);
      break;
    }
    }
  }
  eio_rearm();
  return delivered;
}

void http_server::impl::eio_rearm() {
  if (!eio || shutting_down)
    return;
  auto next = eio->next_deadline();
  if (next == eio_armed)
    return;
  eio_armed = next;
  if (!next) {
    eio_timer.cancel();
    return;
  }
  eio_timer.expires_at(epoch + std::chrono::milliseconds(*next));
  eio_timer.async_wait([w = weak_from_this(), at = *next](beast::error_code ec) {
    auto s = w.lock();
    if (ec || !s)
      return;
    std::lock_guard<std::recursive_mutex> lock{s->eio_mutex};
    if (s->eio_armed != at || s->shutting_down)
      return;
    s->eio_armed.reset();
    engineio::effects fx;
    s->eio->on_time(s->now_ms(), fx);
    s->eio_apply(fx, 0);
  });
}

void http_server::impl::eio_send(const std::string& sid, std::string text) {
  std::lock_guard<std::recursive_mutex> lock{eio_mutex};
  if (!eio)
    return;
  engineio::effects fx;
  eio->send(sid, text, now_ms(), fx);
  eio_apply(fx, 0);
}

void http_server::impl::eio_close(const std::string& sid, uint16_t code) {
  std::lock_guard<std::recursive_mutex> lock{eio_mutex};
  if (!eio)
    return;
  engineio::effects fx;
  eio->close(sid, engineio::close_reason::server_close, code, now_ms(), fx);
  eio_apply(fx, 0);
}

void http_server::impl::eio_processed(const std::string& sid) {
  std::lock_guard<std::recursive_mutex> lock{eio_mutex};
  auto* l = link(sid);
  if (!l || l->origins.empty())
    return;
  auto origin = l->origins.front();
  l->origins.pop_front();
  if (origin != 0) {
    if (auto it = eio_websockets.find(origin); it != eio_websockets.end())
      it->second->message_processed();
    return;
  }
  if (l->polling_unprocessed > 0)
    --l->polling_unprocessed;
  if (l->held_post && l->polling_unprocessed < opts.max_unprocessed) {
    auto f = std::move(l->held_post);
    l->held_post = nullptr;
    f(http_response{200, "text/html", "ok", {}});
  }
}

void http_server::impl::eio_poll_aborted(const std::string& sid) {
  std::lock_guard<std::recursive_mutex> lock{eio_mutex};
  if (auto* l = link(sid))
    l->held_get = nullptr;
  engineio::effects fx;
  eio->on_poll_aborted(sid, now_ms(), fx);
  eio_apply(fx, 0);
}

void http_server::impl::eio_ws_text(const std::string& sid, uint64_t ws, std::string text) {
  std::lock_guard<std::recursive_mutex> lock{eio_mutex};
  engineio::effects fx;
  eio->on_ws_text(sid, ws, text, now_ms(), fx);
  if (eio_apply(fx, ws) == 0)
    if (auto it = eio_websockets.find(ws); it != eio_websockets.end())
      it->second->message_processed(); // consumed by the protocol itself
}

void http_server::impl::eio_ws_binary(const std::string& sid, uint64_t ws, std::size_t size) {
  std::lock_guard<std::recursive_mutex> lock{eio_mutex};
  engineio::effects fx;
  eio->on_ws_binary(sid, ws, size, now_ms(), fx);
  if (eio_apply(fx, ws) == 0)
    if (auto it = eio_websockets.find(ws); it != eio_websockets.end())
      it->second->message_processed();
}

void http_server::impl::eio_ws_closed(const std::string& sid, uint64_t ws, uint16_t code) {
  std::lock_guard<std::recursive_mutex> lock{eio_mutex};
  eio_websockets.erase(ws);
  if (!eio)
    return;
  engineio::effects fx;
  eio->on_ws_closed(sid, ws, code, now_ms(), fx);
  eio_apply(fx, 0);
}

} // namespace chorus::net
