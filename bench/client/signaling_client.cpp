#include "bench/client/signaling_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <deque>
#include <unordered_map>
#include <unordered_set>

namespace chorus::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

namespace {

constexpr std::size_t max_message_bytes = 4 << 20;

struct parsed_url {
  std::string host; // without brackets
  std::string port;
  std::string target; // path and query
};

// ws://HOST[:PORT][/PATH[?QUERY]]; HOST may be [v6].
std::optional<parsed_url> parse_ws_url(std::string_view url) {
  constexpr std::string_view scheme = "ws://";
  if (url.substr(0, scheme.size()) != scheme)
    return std::nullopt;
  url.remove_prefix(scheme.size());
  const auto slash = url.find_first_of("/?");
  std::string_view authority = url.substr(0, slash);
  parsed_url out;
  out.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  if (!out.target.empty() && out.target[0] == '?')
    out.target = "/" + out.target;
  if (!authority.empty() && authority[0] == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos)
      return std::nullopt;
    out.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority[0] == ':')
      out.port = std::string(authority.substr(1));
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos)
      out.port = std::string(authority.substr(colon + 1));
  }
  if (out.port.empty())
    out.port = "80";
  if (out.host.empty())
    return std::nullopt;
  return out;
}

} // namespace

// ---- loop -------------------------------------------------------------------------------

struct signaling_loop::impl {
  asio::io_context ioc{1};
};

signaling_loop::signaling_loop() : impl_(std::make_unique<impl>()) {}
signaling_loop::~signaling_loop() = default;

std::size_t signaling_loop::poll() {
  if (impl_->ioc.stopped())
    impl_->ioc.restart();
  return impl_->ioc.poll();
}

std::size_t signaling_loop::run_one_for(milliseconds max_wait) {
  if (impl_->ioc.stopped())
    impl_->ioc.restart();
  return impl_->ioc.run_one_for(max_wait);
}

// ---- client -----------------------------------------------------------------------------

struct signaling_client::impl : std::enable_shared_from_this<signaling_client::impl> {
  explicit impl(signaling_loop& l) : loop(&l), ws(l.native().ioc) {}

  signaling_loop* loop;
  websocket::stream<beast::tcp_stream> ws;
  beast::flat_buffer buffer;
  std::deque<std::string> outbox;
  bool writing = false;
  bool open = false;
  std::string close_reason;
  int64_t next_id = 1;
  std::unordered_set<int64_t> awaiting;
  std::unordered_map<int64_t, signaling_message> replies;
  std::deque<signaling_message> events;
  signaling_counters counters;

  void set_closed(std::string why) {
    if (!open && !close_reason.empty())
      return;
    open = false;
    close_reason = std::move(why);
    beast::error_code ignored;
    beast::get_lowest_layer(ws).socket().close(ignored);
  }

  void start_read() {
    ws.async_read(buffer, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_read(ec);
    });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      if (ec == websocket::error::closed) {
        const auto& why = ws.reason();
        const std::string text(why.reason.data(), why.reason.size());
        set_closed("closed by the server with code " + std::to_string(why.code) +
                   (text.empty() ? "" : " (" + text + ")"));
      } else {
        set_closed(open ? "read: " + ec.message() : close_reason);
      }
      return;
    }
    ++counters.frames_received;
    dispatch(beast::buffers_to_string(buffer.data()));
    buffer.consume(buffer.size());
    start_read();
  }

  void dispatch(std::string text) {
    rapidjson::Document d;
    d.Parse(text.data(), text.size());
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("type") || !d["type"].IsString()) {
      ++counters.unparsable;
      return;
    }
    signaling_message m;
    m.type = d["type"].GetString();
    if (auto it = d.FindMember("data"); it != d.MemberEnd()) {
      rapidjson::StringBuffer sb;
      rapidjson::Writer<rapidjson::StringBuffer> w(sb);
      it->value.Accept(w);
      m.data.assign(sb.GetString(), sb.GetSize());
    }
    if (auto it = d.FindMember("requestId"); it != d.MemberEnd() && it->value.IsInt64())
      m.request_id = it->value.GetInt64();
    m.text = std::move(text);
    if (m.request_id && awaiting.erase(*m.request_id) == 1) {
      ++counters.replies;
      replies.emplace(*m.request_id, std::move(m));
      return;
    }
    ++counters.events;
    if (events.size() >= max_queued_events) {
      events.pop_front();
      ++counters.events_dropped;
    }
    events.push_back(std::move(m));
  }

  void enqueue(std::string frame) {
    outbox.push_back(std::move(frame));
    if (!writing)
      write_next();
  }

  void write_next() {
    if (outbox.empty() || !open) {
      writing = false;
      return;
    }
    writing = true;
    ws.text(true);
    ws.async_write(asio::buffer(outbox.front()),
                   [self = shared_from_this()](beast::error_code ec, std::size_t) {
                     self->outbox.pop_front();
                     if (ec) {
                       self->writing = false;
                       self->set_closed("write: " + ec.message());
                       return;
                     }
                     ++self->counters.frames_sent;
                     self->write_next();
                   });
  }
};

signaling_client::signaling_client(std::shared_ptr<impl> p) noexcept : impl_(std::move(p)) {}

signaling_client::~signaling_client() {
  if (impl_)
    impl_->set_closed("client destroyed");
}

result<std::unique_ptr<signaling_client>> signaling_client::connect(signaling_loop& loop,
                                                                    std::string_view url,
                                                                    milliseconds timeout) {
  auto parts = parse_ws_url(url);
  if (!parts)
    return failure{"not a ws:// URL: " + std::string(url)};
  auto p = std::make_shared<impl>(loop);
  beast::error_code ec;
  tcp::resolver resolver(loop.native().ioc);
  auto endpoints = resolver.resolve(parts->host, parts->port, ec);
  if (ec)
    return failure{"cannot resolve " + parts->host + ": " + ec.message()};

  struct outcome {
    bool done = false;
    beast::error_code ec;
    std::string stage = "connect";
  };
  auto state = std::make_shared<outcome>();
  const std::string host_header =
    (parts->host.find(':') != std::string::npos ? "[" + parts->host + "]" : parts->host) + ":" +
    parts->port;
  p->ws.read_message_max(max_message_bytes);
  beast::get_lowest_layer(p->ws).expires_after(timeout);
  beast::get_lowest_layer(p->ws).async_connect(
    endpoints, [p, state, host_header, target = parts->target,
                timeout](beast::error_code ec, const tcp::endpoint&) {
      if (ec) {
        state->ec = ec;
        state->done = true;
        return;
      }
      beast::get_lowest_layer(p->ws).expires_never(); // the WebSocket's own timeouts now
      // As browsers do: no Nagle delay on small signaling frames (a request behind an
      // unacknowledged one would otherwise wait for the server's delayed ACK, ~40 ms).
      beast::error_code ignored;
      beast::get_lowest_layer(p->ws).socket().set_option(tcp::no_delay(true), ignored);
      websocket::stream_base::timeout t{};
      t.handshake_timeout = timeout;
      t.idle_timeout = websocket::stream_base::none();
      t.keep_alive_pings = false;
      p->ws.set_option(t);
      state->stage = "handshake";
      p->ws.async_handshake(host_header, target, [state](beast::error_code ec) {
        state->ec = ec;
        state->done = true;
      });
    });

  const auto deadline = steady::now() + timeout;
  while (!state->done && steady::now() < deadline)
    loop.run_one_for(std::chrono::duration_cast<milliseconds>(deadline - steady::now()) +
                     milliseconds(1));
  if (!state->done) {
    p->set_closed("timeout");
    // The aborted operations complete promptly; they hold `p` and `state` themselves.
    const auto bound = steady::now() + milliseconds(500);
    while (!state->done && steady::now() < bound)
      loop.run_one_for(milliseconds(10));
    return failure{state->stage + " to " + std::string(url) + " timed out"};
  }
  if (state->ec)
    return failure{state->stage + " to " + std::string(url) + " failed: " + state->ec.message()};
  p->open = true;
  p->start_read();
  return std::unique_ptr<signaling_client>(new signaling_client(std::move(p)));
}

int64_t signaling_client::send_request(std::string_view type, std::string_view data_json) {
  const int64_t id = impl_->next_id++;
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  w.Key("type");
  w.String(type.data(), rapidjson::SizeType(type.size()));
  if (!data_json.empty()) {
    w.Key("data");
    w.RawValue(data_json.data(), data_json.size(), rapidjson::kObjectType);
  }
  w.Key("requestId");
  w.Int64(id);
  w.EndObject();
  impl_->awaiting.insert(id);
  impl_->enqueue(std::string(sb.GetString(), sb.GetSize()));
  return id;
}

std::optional<signaling_message> signaling_client::take_reply(int64_t id) {
  auto it = impl_->replies.find(id);
  if (it == impl_->replies.end())
    return std::nullopt;
  auto m = std::move(it->second);
  impl_->replies.erase(it);
  return m;
}

void signaling_client::forget_request(int64_t id) {
  impl_->awaiting.erase(id);
  impl_->replies.erase(id);
}

result<signaling_message> signaling_client::request(std::string_view type,
                                                    std::string_view data_json,
                                                    milliseconds timeout) {
  if (!impl_->open)
    return failure{"signaling closed: " + impl_->close_reason};
  const int64_t id = send_request(type, data_json);
  const auto deadline = steady::now() + timeout;
  for (;;) {
    if (auto m = take_reply(id))
      return std::move(*m);
    if (!impl_->open)
      return failure{"signaling closed while waiting for the reply to " + std::string(type) +
                     ": " + impl_->close_reason};
    const auto now = steady::now();
    if (now >= deadline) {
      forget_request(id);
      return failure{"no reply to " + std::string(type) + " within " +
                     std::to_string(timeout.count()) + " ms"};
    }
    impl_->loop->run_one_for(std::chrono::duration_cast<milliseconds>(deadline - now) +
                             milliseconds(1));
  }
}

std::vector<signaling_message> signaling_client::take_events() {
  std::vector<signaling_message> out(std::make_move_iterator(impl_->events.begin()),
                                     std::make_move_iterator(impl_->events.end()));
  impl_->events.clear();
  return out;
}

bool signaling_client::is_open() const noexcept { return impl_->open; }
const std::string& signaling_client::close_reason() const noexcept { return impl_->close_reason; }
const signaling_counters& signaling_client::counters() const noexcept { return impl_->counters; }

void signaling_client::close(milliseconds timeout) {
  auto& s = *impl_;
  if (!s.open)
    return;
  auto done = std::make_shared<bool>(false);
  s.ws.async_close(websocket::close_code::normal,
                   [done](beast::error_code) { *done = true; });
  const auto deadline = steady::now() + timeout;
  // The close completes when the server's close frame arrives (the pending read ends then).
  while (!*done && s.open && steady::now() < deadline)
    s.loop->run_one_for(milliseconds(10));
  s.set_closed("closed by the client");
  const auto bound = steady::now() + milliseconds(200);
  while (!*done && steady::now() < bound)
    s.loop->run_one_for(milliseconds(10));
}

std::string url_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += char(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

} // namespace chorus::client
