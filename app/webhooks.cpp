#include "app/webhooks.hpp"

#include "common/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

namespace chorus::app {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::use_awaitable;

namespace {

struct delivery {
  std::string id;
  std::string event;
  std::string body;
  std::string signature;
};

struct target {
  std::string text; // the url as configured (for logs)
  protocol::http_url url;
  std::deque<std::shared_ptr<const delivery>> queue; // guarded by impl::mutex
  asio::steady_timer wake;                            // waited on while the queue is empty
  asio::steady_timer backoff;                         // between attempts

  target(asio::io_context& io, std::string t, protocol::http_url u)
    : text(std::move(t)), url(std::move(u)), wake(io), backoff(io) {}
};

} // namespace

struct webhook_sender::impl {
  webhook_options opts;
  std::shared_ptr<webhook_counters> counters;
  asio::io_context io{1};
  asio::ssl::context tls{asio::ssl::context::tls_client};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;
  std::vector<std::unique_ptr<target>> targets;
  std::mutex mutex;
  std::condition_variable done_cv;
  bool stopping = false; // guarded by mutex
  bool started = false;
  bool stopped = false;
  int running = 0; // coroutines still running, guarded by mutex
  std::string id_prefix;
  std::atomic<uint64_t> next_id{1};

  impl(webhook_options o, std::shared_ptr<webhook_counters> c)
    : opts(std::move(o)), counters(std::move(c)) {
    std::random_device rd;
    static constexpr char hex[] = "0123456789abcdef";
    for (int i = 0; i < 8; ++i)
      id_prefix.push_back(hex[rd() & 15]);
    for (auto& u : opts.urls)
      if (auto parsed = protocol::parse_http_url(u))
        targets.push_back(std::make_unique<target>(io, u, std::move(*parsed)));
  }

  bool is_stopping() {
    std::lock_guard<std::mutex> g{mutex};
    return stopping;
  }

  // The request and its answer on a connected (and, for https, handshaken) stream.
  template <class Stream>
  asio::awaitable<unsigned> exchange(Stream& stream, target& t, const delivery& d) {
    http::request<http::string_body> req{http::verb::post, t.url.target, 11};
    req.set(http::field::host, t.url.host.find(':') != std::string::npos
                                 ? "[" + t.url.host + "]:" + std::to_string(t.url.port)
                                 : t.url.host + ":" + std::to_string(t.url.port));
    req.set(http::field::user_agent, "chorus-webhooks");
    req.set(http::field::content_type, "application/json");
    req.set("X-Chorus-Event", d.event);
    req.set("X-Chorus-Delivery", d.id);
    req.set("X-Chorus-Signature", d.signature);
    req.keep_alive(false);
    req.body() = d.body;
    req.prepare_payload();
    co_await http::async_write(stream, req, use_awaitable);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024);
    co_await http::async_read(stream, buffer, parser, use_awaitable);
    co_return parser.get().result_int();
  }

  // One POST; true when answered 2xx.
  asio::awaitable<bool> post(target& t, const delivery& d) {
    try {
      auto ex = co_await asio::this_coro::executor;
      asio::ip::tcp::resolver resolver{ex};
      auto endpoints =
        co_await resolver.async_resolve(t.url.host, std::to_string(t.url.port), use_awaitable);
      unsigned status = 0;
      if (!t.url.tls) {
        beast::tcp_stream stream{ex};
        stream.expires_after(opts.timeout);
        co_await stream.async_connect(endpoints, use_awaitable);
        status = co_await exchange(stream, t, d);
        beast::error_code ignored;
        stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
      } else {
        beast::ssl_stream<beast::tcp_stream> stream{ex, tls};
        beast::get_lowest_layer(stream).expires_after(opts.timeout);
        beast::error_code not_ip;
        asio::ip::make_address(t.url.host, not_ip);
        if (not_ip) // SNI for names only (RFC 6066 section 3)
          SSL_set_tlsext_host_name(stream.native_handle(), t.url.host.c_str());
        stream.set_verify_mode(asio::ssl::verify_peer);
        stream.set_verify_callback(asio::ssl::host_name_verification(t.url.host));
        co_await beast::get_lowest_layer(stream).async_connect(endpoints, use_awaitable);
        co_await stream.async_handshake(asio::ssl::stream_base::client, use_awaitable);
        status = co_await exchange(stream, t, d);
        beast::error_code ignored;
        beast::get_lowest_layer(stream).socket().shutdown(asio::ip::tcp::socket::shutdown_both,
                                                          ignored);
      }
      if (status >= 200 && status < 300)
        co_return true;
      LOG_WARN_EVERY("webhooks", 10000, t.text << ": " << d.event << " " << d.id << " answered "
                                                << status);
    } catch (const std::exception& e) {
      LOG_WARN_EVERY("webhooks", 10000, t.text << ": " << d.event << " " << d.id << " failed: "
                                                << e.what());
    }
    co_return false;
  }

  asio::awaitable<void> run(target& t) {
    for (;;) {
      std::shared_ptr<const delivery> d;
      bool stop_now = false;
      {
        std::lock_guard<std::mutex> g{mutex};
        if (!t.queue.empty()) {
          d = std::move(t.queue.front());
          t.queue.pop_front();
        } else if (stopping) {
          stop_now = true;
        }
      }
      if (stop_now)
        break;
      if (!d) {
        t.wake.expires_at(asio::steady_timer::time_point::max());
        try {
          co_await t.wake.async_wait(use_awaitable);
        } catch (const std::exception&) {
          // cancelled: something was queued, or the sender stops
        }
        continue;
      }
      bool ok = false;
      bool gave_up_for_stop = false;
      for (uint32_t attempt = 1;; ++attempt) {
        if (attempt > 1) {
          if (is_stopping()) {
            gave_up_for_stop = true;
            break;
          }
          t.backoff.expires_after(std::chrono::milliseconds(protocol::webhook_backoff_ms(attempt)));
          try {
            co_await t.backoff.async_wait(use_awaitable);
          } catch (const std::exception&) {
          }
          if (is_stopping()) {
            gave_up_for_stop = true;
            break;
          }
        }
        counters->attempts.fetch_add(1, std::memory_order_relaxed);
        ok = co_await post(t, *d);
        if (ok || attempt >= opts.max_attempts)
          break;
      }
      counters->pending.fetch_sub(1, std::memory_order_relaxed);
      if (ok)
        counters->delivered.fetch_add(1, std::memory_order_relaxed);
      else if (gave_up_for_stop)
        counters->dropped.fetch_add(1, std::memory_order_relaxed);
      else {
        counters->failed.fetch_add(1, std::memory_order_relaxed);
        LOG_WARN_EVERY("webhooks", 10000, t.text << ": " << d->event << " " << d->id
                                                  << " given up after " << opts.max_attempts
                                                  << " attempts");
      }
    }
    std::lock_guard<std::mutex> g{mutex};
    if (--running == 0)
      done_cv.notify_all();
  }
};

webhook_sender::webhook_sender(webhook_options opts)
  : counters_(std::make_shared<webhook_counters>()),
    impl_(std::make_shared<impl>(std::move(opts), counters_)) {}

webhook_sender::~webhook_sender() { stop(std::chrono::milliseconds(0)); }

void webhook_sender::start() {
  auto& I = *impl_;
  if (I.started)
    return;
  beast::error_code ec;
  I.tls.set_verify_mode(asio::ssl::verify_peer);
  if (!I.opts.ca_file.empty())
    I.tls.load_verify_file(I.opts.ca_file, ec);
  else
    I.tls.set_default_verify_paths(ec);
  if (ec)
    throw std::runtime_error("webhooks.caFile: " + ec.message());
  I.started = true;
  I.work.emplace(asio::make_work_guard(I.io));
  I.running = static_cast<int>(I.targets.size());
  for (auto& t : I.targets)
    asio::co_spawn(I.io, I.run(*t), asio::detached);
  I.thread = std::thread([&I] { I.io.run(); });
}

void webhook_sender::stop(std::chrono::milliseconds flush) {
  auto& I = *impl_;
  if (!I.started || I.stopped)
    return;
  I.stopped = true;
  {
    std::lock_guard<std::mutex> g{I.mutex};
    I.stopping = true;
  }
  asio::post(I.io, [&I] {
    for (auto& t : I.targets) {
      t->wake.cancel();
      t->backoff.cancel();
    }
  });
  {
    std::unique_lock<std::mutex> lock{I.mutex};
    I.done_cv.wait_for(lock, flush, [&I] { return I.running == 0; });
    for (auto& t : I.targets) {
      counters_->dropped.fetch_add(t->queue.size(), std::memory_order_relaxed);
      counters_->pending.fetch_sub(static_cast<int64_t>(t->queue.size()), std::memory_order_relaxed);
      t->queue.clear();
    }
  }
  I.work.reset();
  I.io.stop();
  if (I.thread.joinable())
    I.thread.join();
}

void webhook_sender::emit(actors::ops_event ev) noexcept {
  try {
    auto& I = *impl_;
    auto d = std::make_shared<delivery>();
    d->id = I.id_prefix + "-" + std::to_string(I.next_id.fetch_add(1));
    d->event = ev.type;
    d->body = protocol::webhook_json(ev, d->id);
    d->signature = protocol::webhook_signature(I.opts.key, d->body);
    {
      std::lock_guard<std::mutex> g{I.mutex};
      if (I.stopping || !I.started)
        return;
      for (auto& t : I.targets) {
        if (t->queue.size() >= I.opts.queue_size) {
          t->queue.pop_front();
          counters_->dropped.fetch_add(1, std::memory_order_relaxed);
          counters_->pending.fetch_sub(1, std::memory_order_relaxed);
        }
        t->queue.push_back(d);
        counters_->queued.fetch_add(1, std::memory_order_relaxed);
        counters_->pending.fetch_add(1, std::memory_order_relaxed);
      }
    }
    asio::post(I.io, [impl = impl_] {
      for (auto& t : impl->targets)
        t->wake.cancel();
    });
  } catch (...) {
    // out of memory: the event is lost, the room goes on
  }
}

} // namespace chorus::app
