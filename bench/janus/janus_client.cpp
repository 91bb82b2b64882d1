#include "bench/janus/janus_client.hpp"

#include "bench/client/json_members.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <algorithm>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

namespace chorus::janus {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

constexpr std::string_view subprotocol = "janus-protocol";

uint64_t get_u64(const rapidjson::Value& o, const char* key) {
  if (!o.IsObject())
    return 0;
  auto it = o.FindMember(key);
  if (it == o.MemberEnd())
    return 0;
  if (it->value.IsUint64())
    return it->value.GetUint64();
  return 0;
}

using client::string_member_copy;

std::optional<janus_message> parse_message(std::string text) {
  auto doc = std::make_shared<rapidjson::Document>();
  doc->Parse(text.data(), text.size());
  if (doc->HasParseError() || !doc->IsObject())
    return std::nullopt;
  janus_message m;
  m.janus = string_member_copy(*doc, "janus");
  m.transaction = string_member_copy(*doc, "transaction");
  m.session_id = get_u64(*doc, "session_id");
  m.sender = get_u64(*doc, "sender");
  m.doc = std::move(doc);
  m.text = std::move(text);
  return m;
}

struct url_parts {
  std::string host, port, target;
};

std::optional<url_parts> parse_url(std::string_view url) {
  if (!url.starts_with("ws://"))
    return std::nullopt;
  url.remove_prefix(5);
  auto slash = url.find('/');
  auto authority = url.substr(0, slash);
  url_parts u;
  u.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  auto colon = authority.rfind(':');
  if (colon == std::string_view::npos) {
    u.host = std::string(authority);
    u.port = "80";
  } else {
    u.host = std::string(authority.substr(0, colon));
    u.port = std::string(authority.substr(colon + 1));
  }
  if (u.host.empty())
    return std::nullopt;
  return u;
}

} // namespace

// ---- janus_message -----------------------------------------------------------------------

const rapidjson::Value* janus_message::plugin_data() const {
  if (!doc || !doc->IsObject())
    return nullptr;
  auto pd = doc->FindMember("plugindata");
  if (pd == doc->MemberEnd() || !pd->value.IsObject())
    return nullptr;
  auto d = pd->value.FindMember("data");
  if (d == pd->value.MemberEnd() || !d->value.IsObject())
    return nullptr;
  return &d->value;
}

std::string janus_message::jsep_type() const {
  if (!doc)
    return {};
  auto j = doc->FindMember("jsep");
  return j == doc->MemberEnd() ? std::string{} : string_member_copy(j->value, "type");
}

std::string janus_message::jsep_sdp() const {
  if (!doc)
    return {};
  auto j = doc->FindMember("jsep");
  return j == doc->MemberEnd() ? std::string{} : string_member_copy(j->value, "sdp");
}

std::string janus_message::error_text() const {
  if (!doc)
    return {};
  if (janus == "error") {
    auto e = doc->FindMember("error");
    if (e != doc->MemberEnd())
      return std::to_string(get_u64(e->value, "code")) + " " + string_member_copy(e->value, "reason");
    return "error";
  }
  if (auto* d = plugin_data()) {
    auto err = string_member_copy(*d, "error");
    if (!err.empty())
      return std::to_string(get_u64(*d, "error_code")) + " " + err;
  }
  return {};
}

std::string json_quote(std::string_view s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return {buf.GetString(), buf.GetSize()};
}

// ---- janus_connection --------------------------------------------------------------------

struct janus_connection::impl {
  asio::io_context ioc;
  websocket::stream<tcp::socket> ws{ioc};
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  asio::steady_timer keepalive{ioc};
  beast::flat_buffer rbuf;
  std::deque<std::string> outq; // I/O thread only
  bool writing = false;         // I/O thread only
  std::thread thread;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<janus_message> inbox; // everything received, until taken
  bool closed = false;
  std::string close_reason;
  std::atomic<uint64_t> next_tid{1};
  uint64_t keepalive_session = 0; // I/O thread only
  uint64_t keepalive_ms = 25000;

  void set_closed(std::string why) {
    std::lock_guard lk(mu);
    if (!closed) {
      closed = true;
      close_reason = std::move(why);
    }
    cv.notify_all();
  }

  void read_loop() {
    ws.async_read(rbuf, [this](beast::error_code ec, std::size_t) {
      if (ec) {
        set_closed("read: " + ec.message());
        return;
      }
      std::string text = beast::buffers_to_string(rbuf.data());
      rbuf.consume(rbuf.size());
      if (auto m = parse_message(std::move(text))) {
        // Keepalive acks are dropped here.
        if (!(m->janus == "ack" && m->transaction.starts_with("ka-"))) {
          std::lock_guard lk(mu);
          inbox.push_back(std::move(*m));
          cv.notify_all();
        }
      }
      read_loop();
    });
  }

  void write_next() { // I/O thread
    if (writing || outq.empty())
      return;
    writing = true;
    ws.async_write(asio::buffer(outq.front()), [this](beast::error_code ec, std::size_t) {
      writing = false;
      outq.pop_front();
      if (ec) {
        set_closed("write: " + ec.message());
        return;
      }
      write_next();
    });
  }

  void enqueue(std::string text) {
    asio::post(ioc, [this, t = std::move(text)]() mutable {
      outq.push_back(std::move(t));
      write_next();
    });
  }

  void arm_keepalive() { // I/O thread
    keepalive.expires_after(std::chrono::milliseconds(keepalive_ms));
    keepalive.async_wait([this](beast::error_code ec) {
      if (ec)
        return;
      if (keepalive_session != 0) {
        outq.push_back("{\"janus\":\"keepalive\",\"session_id\":" +
                       std::to_string(keepalive_session) + ",\"transaction\":\"ka-" +
                       std::to_string(next_tid++) + "\"}");
        write_next();
      }
      arm_keepalive();
    });
  }
};

janus_connection::janus_connection(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

janus_connection::~janus_connection() {
  if (!impl_)
    return;
  auto& s = *impl_;
  // Close the WebSocket on the I/O thread; bound the wait, then stop the loop.
  std::promise<void> done;
  auto fut = done.get_future();
  asio::post(s.ioc, [&s, &done] {
    s.keepalive.cancel();
    beast::error_code ec;
    s.ws.async_close(websocket::close_code::normal, [&done](beast::error_code) {
      done.set_value();
    });
  });
  if (fut.wait_for(std::chrono::milliseconds(1000)) != std::future_status::ready) {
    // no close reply: drop the connection
  }
  s.work.reset();
  s.ioc.stop();
  if (s.thread.joinable())
    s.thread.join();
}

result<std::unique_ptr<janus_connection>> janus_connection::connect(std::string_view url,
                                                                    uint64_t timeout_ms) {
  auto u = parse_url(url);
  if (!u)
    return failure{"not a ws:// URL: " + std::string(url)};
  auto p = std::make_unique<impl>();
  auto& s = *p;
  beast::error_code ec;
  auto address = asio::ip::make_address(u->host, ec);
  if (ec)
    return failure{"the host must be an IP literal: " + u->host};
  unsigned long port = std::strtoul(u->port.c_str(), nullptr, 10);
  if (port == 0 || port > 65535)
    return failure{"bad port in " + std::string(url)};
  tcp::endpoint ep(address, static_cast<uint16_t>(port));

  // Connect and handshake on this thread, bounded by run_for().
  std::optional<beast::error_code> result_ec;
  beast::get_lowest_layer(s.ws).async_connect(ep, [&](beast::error_code e) {
    if (e) {
      result_ec = e;
      return;
    }
    s.ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(beast::http::field::sec_websocket_protocol, std::string(subprotocol));
      req.set(beast::http::field::user_agent, "chorus-bench-janus");
    }));
    s.ws.read_message_max(8 << 20);
    s.ws.async_handshake(u->host + ":" + u->port, u->target,
                         [&](beast::error_code e2) { result_ec = e2; });
  });
  const auto deadline = steady::now() + std::chrono::milliseconds(timeout_ms);
  while (!result_ec && steady::now() < deadline) {
    s.ioc.run_for(std::chrono::milliseconds(50));
    if (s.ioc.stopped())
      s.ioc.restart();
  }
  if (!result_ec) {
    beast::get_lowest_layer(s.ws).close(ec);
    return failure{"no WebSocket connection to " + std::string(url) + " within " +
                   std::to_string(timeout_ms) + " ms"};
  }
  if (*result_ec)
    return failure{"cannot connect to " + std::string(url) + ": " + result_ec->message()};
  s.ioc.restart();
  s.read_loop();
  s.thread = std::thread([&s] { s.ioc.run(); });
  return std::unique_ptr<janus_connection>(new janus_connection(std::move(p)));
}

bool janus_connection::closed() const {
  std::lock_guard lk(impl_->mu);
  return impl_->closed;
}

std::string janus_connection::close_reason() const {
  std::lock_guard lk(impl_->mu);
  return impl_->close_reason;
}

bool janus_connection::send(std::string_view request_json) {
  if (closed())
    return false;
  impl_->enqueue(std::string(request_json));
  return true;
}

result<janus_message> janus_connection::request(std::string_view request_json,
                                                uint64_t timeout_ms, bool skip_ack) {
  auto& s = *impl_;
  auto brace = request_json.find('{');
  if (brace == std::string_view::npos)
    return failure{"not a JSON object"};
  const std::string tid = "t-" + std::to_string(s.next_tid++);
  std::string text(request_json.substr(0, brace + 1));
  text += "\"transaction\":\"" + tid + "\"";
  auto rest = request_json.substr(brace + 1);
  auto first = rest.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && rest[first] != '}')
    text += ",";
  text += rest;
  if (!send(text))
    return failure{"connection closed: " + close_reason()};

  const auto deadline = steady::now() + std::chrono::milliseconds(timeout_ms);
  std::unique_lock lk(s.mu);
  for (;;) {
    for (auto it = s.inbox.begin(); it != s.inbox.end(); ++it) {
      if (it->transaction != tid)
        continue;
      if (it->janus == "ack" && skip_ack) {
        s.inbox.erase(it);
        break; // rescan from the start
      }
      janus_message m = std::move(*it);
      s.inbox.erase(it);
      lk.unlock();
      if (auto err = m.error_text(); !err.empty())
        return failure{"janus: " + err};
      return m;
    }
    // Re-scan if an ack was removed (the loop above broke out); otherwise wait.
    bool pending = std::any_of(s.inbox.begin(), s.inbox.end(),
                               [&](const janus_message& m) { return m.transaction == tid; });
    if (pending)
      continue;
    if (s.closed)
      return failure{"connection closed: " + s.close_reason};
    if (s.cv.wait_until(lk, deadline) == std::cv_status::timeout) {
      bool any = std::any_of(s.inbox.begin(), s.inbox.end(),
                             [&](const janus_message& m) { return m.transaction == tid; });
      if (!any)
        return failure{"no reply from Janus within " + std::to_string(timeout_ms) + " ms to " +
                       std::string(request_json.substr(0, 120))};
    }
  }
}

std::vector<janus_message> janus_connection::poll_events(uint64_t timeout_ms) {
  auto& s = *impl_;
  std::unique_lock lk(s.mu);
  // Only messages no request waits for: those without a transaction, or with one that no
  // request of ours uses (acks of fire-and-forget sends; "t-" replies are left to waiters,
  // which remove them; stale ones older than a request's timeout are also returned here).
  auto take = [&] {
    std::vector<janus_message> out;
    for (auto it = s.inbox.begin(); it != s.inbox.end();) {
      if (it->transaction.empty() || it->transaction.starts_with("f-")) {
        out.push_back(std::move(*it));
        it = s.inbox.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  };
  auto out = take();
  if (out.empty() && timeout_ms > 0) {
    s.cv.wait_for(lk, std::chrono::milliseconds(timeout_ms));
    out = take();
  }
  return out;
}

void janus_connection::keep_alive(uint64_t session_id, uint64_t interval_ms) {
  asio::post(impl_->ioc, [s = impl_.get(), session_id, interval_ms] {
    s->keepalive_session = session_id;
    s->keepalive_ms = interval_ms;
    s->keepalive.cancel();
    s->arm_keepalive();
  });
}

// ---- janus_session -----------------------------------------------------------------------

result<std::unique_ptr<janus_session>> janus_session::create(std::string_view url,
                                                             uint64_t timeout_ms) {
  auto conn = janus_connection::connect(url, timeout_ms);
  if (!conn)
    return failure{conn.error()};
  auto r = (*conn)->request(R"({"janus":"create"})", timeout_ms);
  if (!r)
    return failure{"create session: " + r.error()};
  uint64_t id = 0;
  if (auto d = r->doc->FindMember("data"); d != r->doc->MemberEnd())
    id = get_u64(d->value, "id");
  if (r->janus != "success" || id == 0)
    return failure{"create session: unexpected reply " + r->text.substr(0, 200)};
  (*conn)->keep_alive(id);
  return std::unique_ptr<janus_session>(new janus_session(std::move(*conn), id));
}

janus_session::~janus_session() {
  if (conn_ && !destroyed_ && !conn_->closed())
    (void)conn_->request(envelope("destroy", 0) + "}", 1000);
}

result<bool> janus_session::destroy(uint64_t timeout_ms) {
  destroyed_ = true; // tried once: the destructor does not send it again
  auto r = conn_->request(envelope("destroy", 0) + "}", timeout_ms);
  if (!r)
    return failure{"destroy: " + r.error()};
  if (r->janus != "success")
    return failure{"destroy: unexpected reply " + r->text.substr(0, 200)};
  return true;
}

std::string janus_session::envelope(std::string_view janus, uint64_t handle) const {
  std::string s = "{\"janus\":\"" + std::string(janus) +
                  "\",\"session_id\":" + std::to_string(session_id_);
  if (handle)
    s += ",\"handle_id\":" + std::to_string(handle);
  return s; // without the closing brace
}

result<uint64_t> janus_session::attach_videoroom(uint64_t timeout_ms) {
  auto r = conn_->request(envelope("attach", 0) + R"(,"plugin":"janus.plugin.videoroom"})",
                          timeout_ms);
  if (!r)
    return failure{"attach: " + r.error()};
  uint64_t id = 0;
  if (auto d = r->doc->FindMember("data"); d != r->doc->MemberEnd())
    id = get_u64(d->value, "id");
  if (id == 0)
    return failure{"attach: unexpected reply " + r->text.substr(0, 200)};
  return id;
}

void janus_session::detach(uint64_t handle, uint64_t timeout_ms) {
  (void)conn_->request(envelope("detach", handle) + "}", timeout_ms);
}

result<janus_message> janus_session::message(uint64_t handle, std::string_view body_json,
                                             const std::optional<jsep>& j, uint64_t timeout_ms) {
  std::string req = envelope("message", handle) + ",\"body\":" + std::string(body_json);
  if (j)
    req += ",\"jsep\":{\"type\":" + json_quote(j->type) + ",\"sdp\":" + json_quote(j->sdp) + "}";
  req += "}";
  return conn_->request(req, timeout_ms, /*skip_ack=*/true);
}

bool janus_session::trickle(uint64_t handle, std::string_view candidate, std::string_view mid,
                            int mline_index) {
  return conn_->send(envelope("trickle", handle) + ",\"transaction\":\"f-trickle\"" +
                     ",\"candidate\":{\"candidate\":" + json_quote(candidate) +
                     ",\"sdpMid\":" + json_quote(mid) +
                     ",\"sdpMLineIndex\":" + std::to_string(mline_index) + "}}");
}

bool janus_session::trickle_completed(uint64_t handle) {
  return conn_->send(envelope("trickle", handle) +
                     ",\"transaction\":\"f-trickle\",\"candidate\":{\"completed\":true}}");
}

result<uint64_t> janus_session::join_publisher(uint64_t handle, uint64_t room,
                                               std::string_view display) {
  auto r = message(handle,
                   R"({"request":"join","ptype":"publisher","room":)" + std::to_string(room) +
                     ",\"display\":" + json_quote(display) + "}");
  if (!r)
    return failure{"publisher join: " + r.error()};
  auto* d = r->plugin_data();
  if (!d || string_member_copy(*d, "videoroom") != "joined" || get_u64(*d, "id") == 0)
    return failure{"publisher join: unexpected reply " + r->text.substr(0, 300)};
  return get_u64(*d, "id");
}

result<std::string> janus_session::configure_publisher(uint64_t handle,
                                                       const std::string& offer_sdp, bool audio,
                                                       bool video) {
  auto r = message(handle,
                   std::string(R"({"request":"configure","audio":)") + (audio ? "true" : "false") +
                     ",\"video\":" + (video ? "true" : "false") + "}",
                   jsep{"offer", offer_sdp});
  if (!r)
    return failure{"configure: " + r.error()};
  if (r->jsep_type() != "answer" || r->jsep_sdp().empty())
    return failure{"configure: no SDP answer in " + r->text.substr(0, 300)};
  return r->jsep_sdp();
}

result<std::string> janus_session::join_subscriber(uint64_t handle, uint64_t room,
                                                   uint64_t feed) {
  auto r = message(handle, R"({"request":"join","ptype":"subscriber","room":)" +
                             std::to_string(room) + R"(,"streams":[{"feed":)" +
                             std::to_string(feed) + "}]}");
  if (!r)
    return failure{"subscriber join: " + r.error()};
  if (r->jsep_type() != "offer" || r->jsep_sdp().empty())
    return failure{"subscriber join: no SDP offer in " + r->text.substr(0, 300)};
  return r->jsep_sdp();
}

result<bool> janus_session::start_subscriber(uint64_t handle, const std::string& answer_sdp) {
  auto r = message(handle, R"({"request":"start"})", jsep{"answer", answer_sdp});
  if (!r)
    return failure{"start: " + r.error()};
  return true;
}

result<bool> janus_session::ensure_room(uint64_t handle, uint64_t room, int publishers) {
  auto exists = message(handle, R"({"request":"exists","room":)" + std::to_string(room) + "}");
  if (!exists)
    return failure{"exists: " + exists.error()};
  if (auto* d = exists->plugin_data()) {
    auto it = d->FindMember("exists");
    if (it != d->MemberEnd() && it->value.IsBool() && it->value.GetBool())
      return true;
  }
  auto r = message(handle, R"({"request":"create","room":)" + std::to_string(room) +
                             R"(,"publishers":)" + std::to_string(publishers) +
                             R"(,"bitrate":0,"audiocodec":"opus","videocodec":"vp8"})");
  if (!r)
    return failure{"create room: " + r.error()};
  return true;
}

} // namespace chorus::janus
