// The public face of the edge (net/http_server.hpp): construction, TLS, signals, run,
// shutdown and counters. The sessions and routes are in the other net/http_*.cpp files
// (net/http_edge_internal.hpp lists them).
#include "net/http_edge_internal.hpp"

#include "common/log.hpp"

#include <openssl/ssl.h>

#include <pthread.h>

#include <fstream>
#include <thread>

namespace chorus::net {

using namespace edge;

http_server::impl::~impl() {
  // Normally begin_shutdown() ended every Engine.IO session; this covers a server
  // destroyed without it, so that every handler still hears on_closed once.
  std::lock_guard<std::recursive_mutex> g{eio_mutex};
  for (auto& [sid, link] : eio_links)
    if (link.handler)
      std::exchange(link.handler, nullptr)->on_closed(1001);
}

void http_server::impl::add_session(http_session_base* s) {
  std::lock_guard<std::mutex> g{registry_mutex};
  http_sessions.insert(s);
}

void http_server::impl::remove_session(http_session_base* s) {
  std::lock_guard<std::mutex> g{registry_mutex};
  http_sessions.erase(s);
}

void http_server::impl::add_websocket(ws_session_base* s) {
  std::lock_guard<std::mutex> g{registry_mutex};
  websockets.insert(s);
}

void http_server::impl::remove_websocket(ws_session_base* s) {
  std::lock_guard<std::mutex> g{registry_mutex};
  websockets.erase(s);
}

namespace {

// The live sessions of a registry (a session being destroyed waits on the mutex to leave
// it, so its memory stays valid while listed; alive() then says it is going).
template <class Session>
std::vector<std::shared_ptr<Session>> alive_in(std::mutex& m,
                                               const std::unordered_set<Session*>& set) {
  std::vector<std::shared_ptr<Session>> out;
  std::lock_guard<std::mutex> g{m};
  out.reserve(set.size());
  for (auto* s : set)
    if (auto a = s->alive())
      out.push_back(std::move(a));
  return out;
}

} // namespace

void http_server::impl::begin_shutdown(uint16_t code, std::chrono::milliseconds grace) {
  if (shutting_down)
    return;
  shutdown_code = code;
  shutting_down = true;
  beast::error_code ec;
  acceptor.close(ec);
  signals.cancel(ec);
  if (eio) {
    // Every Engine.IO session ends now (the application hears on_closed).
    std::lock_guard<std::recursive_mutex> g{eio_mutex};
    engineio::effects fx;
    eio->close_all(engineio::close_reason::server_shutdown, code, now_ms(), fx);
    eio_apply(fx, 0);
    eio_timer.cancel();
  }
  for (auto& s : alive_in(registry_mutex, websockets))
    asio::dispatch(s->executor(), [s, code] { s->start_close(code, "server shutting down"); });
  for (auto& s : alive_in(registry_mutex, http_sessions))
    asio::dispatch(s->executor(), [s] { s->abort(); });
  if (open_connections() == 0)
    return;
  grace_timer.expires_after(grace);
  grace_timer.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec)
      self->abort_all();
  });
}

// Grace is over: connections still open are dropped, so that run() can return.
void http_server::impl::abort_all() {
  for (auto& s : alive_in(registry_mutex, websockets))
    asio::dispatch(s->executor(), [s] { s->drop(); });
  for (auto& s : alive_in(registry_mutex, http_sessions))
    asio::dispatch(s->executor(), [s] { s->abort(); });
}

http_server::http_server(http_server_options opts, http_handler on_http, ws_acceptor on_ws)
  : impl_(std::make_shared<impl>(opts.threads)) {
  impl_->opts = std::move(opts);
  impl_->on_http = std::move(on_http);
  impl_->on_ws = std::move(on_ws);
  impl_->per_ip.set_limit(impl_->opts.max_connections_per_ip);
}

http_server::~http_server() = default;

const std::string* http_request_info::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name)
      return &v;
  return nullptr;
}

void http_server::set_deferred_route(std::string prefix, http_deferred_handler handler) {
  if (!prefix.empty() && handler)
    impl_->deferred.emplace_back(std::move(prefix), std::move(handler));
}

void http_server::set_engineio_acceptor(engineio_acceptor on_engineio) {
  impl_->on_eio = std::move(on_engineio);
  if (!impl_->on_eio) {
    impl_->eio.reset();
    return;
  }
  auto o = impl_->opts.engineio;
  o.max_queued_bytes = impl_->opts.max_queued_bytes;
  impl_->eio.emplace(o);
}

http_server::tls_result http_server::use_tls(const std::string& certificate_file,
                                             const std::string& private_key_file) {
  auto readable = [](const std::string& path) { return std::ifstream{path}.good(); };
  if (!readable(certificate_file))
    return {tls_problem::certificate, "cannot read '" + certificate_file + "'"};
  if (!readable(private_key_file))
    return {tls_problem::private_key, "cannot read '" + private_key_file + "'"};
  ssl::context ctx{ssl::context::tls_server};
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                  ssl::context::single_dh_use);
  beast::error_code ec;
  ctx.use_certificate_chain_file(certificate_file, ec);
  if (ec)
    return {tls_problem::certificate,
            "'" + certificate_file + "' is not a PEM certificate: " + ec.message()};
  ctx.use_private_key_file(private_key_file, ssl::context::pem, ec);
  if (ec)
    return {tls_problem::private_key,
            "'" + private_key_file + "' is not a PEM private key: " + ec.message()};
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1)
    return {tls_problem::private_key,
            "'" + private_key_file + "' does not match the certificate '" + certificate_file +
              "'"};
  impl_->tls.emplace(std::move(ctx));
  return {};
}

bool http_server::uses_tls() const { return impl_->tls.has_value(); }

void http_server::set_stream_handoff(std::shared_ptr<stream_handoff> handoff) {
  if (handoff && !handoff->takes_ice_tcp() && !handoff->takes_turn())
    handoff = nullptr;
  impl_->handoff = std::move(handoff);
}

namespace {

// Waits for the next SIGINT / SIGTERM, again after each one (a drain's second signal stops
// at once), until the shutdown cancels the wait.
void wait_for_signal(const std::shared_ptr<http_server::impl>& self) {
  self->signals.async_wait([self](beast::error_code ec, int sig) {
    if (ec)
      return;
    if (self->on_sig)
      self->on_sig(sig);
    if (!self->shutting_down)
      wait_for_signal(self);
  });
}

} // namespace

void http_server::on_signal(std::function<void(int)> f) {
  impl_->on_sig = std::move(f);
  wait_for_signal(impl_);
}

void http_server::run() {
  std::vector<std::thread> more;
  for (std::size_t i = 1; i < impl_->opts.threads; ++i)
    more.emplace_back([ioc = &impl_->ioc, i] {
      const auto name = "chorus-edge-" + std::to_string(i);
      pthread_setname_np(pthread_self(), name.c_str());
      ioc->run();
    });
  impl_->ioc.run();
  for (auto& t : more)
    t.join();
}

void http_server::shutdown(uint16_t code, std::chrono::milliseconds grace) {
  asio::post(impl_->core, [self = impl_, code, grace] { self->begin_shutdown(code, grace); });
}

http_server_counters http_server::counters() const {
  std::lock_guard<std::mutex> g{impl_->counters_mutex};
  return impl_->ctr;
}

} // namespace chorus::net
