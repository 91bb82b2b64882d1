// One WebSocket connection, plain or TLS, taken over from the HTTP session that read its
// upgrade request: the handshake, a read loop with back-pressure (message_processed), an
// outgoing queue with a bound (a slow reader is dropped), the closing handshake, and the
// application's handler told once when it is over.
#include "net/http_edge_internal.hpp"

#include "common/log.hpp"

namespace chorus::net::edge {

template <class Stream>
ws_session<Stream>::ws_session(std::shared_ptr<http_server::impl> srv, Stream&& stream,
                               std::string remote, connection_slot slot)
  : srv_(std::move(srv)), ws_(std::move(stream)), remote_(std::move(remote)),
    slot_(std::move(slot)), message_timer_(ws_.get_executor()) {}

template <class Stream>
ws_session<Stream>::~ws_session() {
  // Normally finished() already ran on the connection's strand; this covers an I/O context
  // that was torn down with the session's operations still pending.
  finished(1006);
}

template <class Stream>
void ws_session<Stream>::accept(request req) {
  srv_->add_websocket(this);
  beast::get_lowest_layer(ws_).expires_never();
  websocket::stream_base::timeout t{};
  t.handshake_timeout = srv_->opts.handshake_timeout;
  t.idle_timeout = srv_->opts.idle_timeout;
  t.keep_alive_pings = true;
  ws_.set_option(t);
  ws_.read_message_max(srv_->opts.max_message_bytes);
  ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
    res.set(http::field::server, "chorus");
  }));
  ws_.async_accept(req, [self = this->shared_from_this()](beast::error_code ec) {
    self->on_accept(ec);
  });
}

// Refuses the upgrade with `r` and closes.
template <class Stream>
void ws_session<Stream>::reject(const request& req, http_response r) {
  srv_->add_websocket(this);
  auto res = make_response(req, std::move(r), false);
  http::async_write(ws_.next_layer(), *res,
                    [self = this->shared_from_this(), res](beast::error_code, std::size_t) {
                      self->drop();
                    });
}

template <class Stream>
void ws_session<Stream>::send(std::string text) {
  auto msg = std::make_shared<const std::string>(std::move(text));
  asio::post(ws_.get_executor(), [self = this->shared_from_this(), msg] { self->enqueue(msg); });
}

template <class Stream>
void ws_session<Stream>::close(uint16_t code, std::string reason) {
  asio::post(ws_.get_executor(), [self = this->shared_from_this(), code, r = std::move(reason)] {
    self->start_close(code, r);
  });
}

template <class Stream>
void ws_session<Stream>::message_processed() {
  if (unprocessed_.fetch_sub(1) == srv_->opts.max_unprocessed)
    asio::post(ws_.get_executor(), [self = this->shared_from_this()] {
      if (self->read_paused_) {
        self->read_paused_ = false;
        self->do_read();
      }
    });
}

// On the connection's strand (also at shutdown).
template <class Stream>
void ws_session<Stream>::start_close(uint16_t code, const std::string& reason) {
  if (closing_ || finished_)
    return;
  closing_ = true;
  // A close frame's reason holds at most 123 bytes (RFC 6455 5.5): cut longer ones at a
  // UTF-8 character boundary, or the frame cannot be sent at all.
  std::string_view why = reason;
  if (why.size() > 123) {
    std::size_t n = 123;
    while (n > 0 && (static_cast<unsigned char>(why[n]) & 0xC0) == 0x80)
      --n;
    why = why.substr(0, n);
  }
  close_reason_ = websocket::close_reason{static_cast<websocket::close_code>(code),
                                         beast::string_view{why.data(), why.size()}};
  // What was queued before the close still goes out first (a reply, then the close that
  // follows it): bounded by max_queued_bytes like any queue.
  if (open_ && !writing_) {
    if (queue_.empty())
      do_close();
    else
      do_write();
  }
  // else: on_accept or the write in flight continues (and closes once the queue is empty)
}

template <class Stream>
void ws_session<Stream>::on_accept(beast::error_code ec) {
  if (ec) {
    if (ec == beast::error::timeout)
      srv_->count(&http_server_counters::timeouts_ws_handshake);
    LOG_DEBUG(component, "websocket handshake with " << remote_ << " failed: " << ec.message());
    finished(1006);
    return;
  }
  open_ = true;
  if (srv_->opts.message_timeout.count() > 0)
    arm_message_check(srv_->opts.message_timeout / 2);
  if (srv_->shutting_down)
    start_close(srv_->shutdown_code, "server shutting down");
  if (!queue_.empty())
    do_write(); // a close waits for the queue
  else if (closing_)
    do_close();
  do_read();
}

template <class Stream>
void ws_session<Stream>::do_read() {
  ws_.async_read(buffer_, [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
    self->on_read(ec, n);
  });
}

template <class Stream>
void ws_session<Stream>::on_read(beast::error_code ec, std::size_t n) {
  if (ec) {
    uint16_t code = 1006;
    if (ec == websocket::error::closed)
      code = static_cast<uint16_t>(ws_.reason().code);
    else if (ec == websocket::error::message_too_big)
      code = 1009;
    else if (ec == beast::error::timeout)
      srv_->count(&http_server_counters::timeouts_ws_idle);
    LOG_DEBUG(component, "websocket " << remote_ << " ended: " << ec.message());
    open_ = false;
    finished(code);
    return; // the session is released when the last handler drops it
  }
  ++messages_read_;
  std::string data = beast::buffers_to_string(buffer_.data());
  buffer_.consume(buffer_.size());
  if (handler_) {
    unprocessed_.fetch_add(1);
    if (ws_.got_text())
      handler_->on_text(std::move(data));
    else
      handler_->on_binary(n);
  }
  if (unprocessed_.load() >= srv_->opts.max_unprocessed) {
    read_paused_ = true; // message_processed() resumes
    return;
  }
  do_read();
}

template <class Stream>
void ws_session<Stream>::enqueue(std::shared_ptr<const std::string> msg) {
  if (finished_ || closing_)
    return;
  queued_bytes_ += msg->size();
  if (queued_bytes_ > srv_->opts.max_queued_bytes) {
    LOG_WARN(component, "websocket " << remote_ << ": slow reader (" << queued_bytes_
                                     << " bytes queued), disconnecting");
    srv_->count(&http_server_counters::slow_readers_dropped);
    drop();
    return;
  }
  queue_.push_back(std::move(msg));
  if (open_ && !writing_)
    do_write();
}

template <class Stream>
void ws_session<Stream>::do_write() {
  writing_ = true;
  ws_.text(true);
  ws_.async_write(asio::buffer(*queue_.front()),
                  [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                    self->on_write(ec);
                  });
}

template <class Stream>
void ws_session<Stream>::on_write(beast::error_code ec) {
  writing_ = false;
  if (queue_.empty())
    return; // dropped meanwhile
  queued_bytes_ -= queue_.front()->size();
  queue_.pop_front();
  if (ec) {
    drop();
    return;
  }
  if (!queue_.empty())
    do_write();
  else if (closing_)
    do_close();
}

template <class Stream>
void ws_session<Stream>::do_close() {
  writing_ = true;
  ws_.async_close(close_reason_, [self = this->shared_from_this()](beast::error_code) {
    self->writing_ = false;
    // The read loop sees the peer's close frame (or the timeout) and finishes.
  });
}

template <class Stream>
void ws_session<Stream>::drop() {
  open_ = false;
  queue_.clear();
  queued_bytes_ = 0;
  beast::error_code ec;
  beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
  beast::get_lowest_layer(ws_).close();
  finished(1006);
}

// The message deadline, checked every half timeout: a message is in progress when Beast
// has parsed the header of its first data frame and not yet its end (is_message_done()).
// Seen in progress at two checks a full timeout apart with no message completed between
// them: the client is trickling it, and the connection is dropped.
template <class Stream>
void ws_session<Stream>::arm_message_check(std::chrono::steady_clock::duration after) {
  message_timer_.expires_after(after);
  message_timer_.async_wait([weak = this->weak_from_this()](beast::error_code ec) {
    auto self = weak.lock();
    if (!ec && self)
      self->check_message();
  });
}

template <class Stream>
void ws_session<Stream>::check_message() {
  if (finished_)
    return;
  const auto timeout = srv_->opts.message_timeout;
  const auto now = std::chrono::steady_clock::now();
  if (ws_.is_message_done() || read_paused_) {
    in_progress_since_.reset();
    arm_message_check(timeout / 2);
    return;
  }
  if (!in_progress_since_ || in_progress_at_count_ != messages_read_) {
    in_progress_since_ = now;
    in_progress_at_count_ = messages_read_;
    arm_message_check(timeout);
    return;
  }
  if (now - *in_progress_since_ < timeout) {
    arm_message_check(timeout - (now - *in_progress_since_));
    return;
  }
  LOG_DEBUG(component, "websocket " << remote_ << ": a message not finished within "
                                    << timeout.count() << " ms, disconnecting");
  srv_->count(&http_server_counters::timeouts_ws_message);
  drop();
}

// The connection is over: leave the registry, tell the handler, give the connection's
// place back (once).
template <class Stream>
void ws_session<Stream>::finished(uint16_t code) {
  if (finished_)
    return;
  finished_ = true;
  // The handler's on_closed may drop the last owner (an Engine.IO WebSocket whose only
  // owner is the server's table, dropped by abort_all at shutdown): keep this alive until
  // the end. Null when called from the destructor, where nothing follows.
  auto keep = this->weak_from_this().lock();
  beast::error_code ignored;
  message_timer_.cancel(ignored);
  srv_->remove_websocket(this);
  if (handler_) {
    auto h = std::move(handler_);
    h->on_closed(code);
  }
  slot_.release();
}

template class ws_session<plain_stream>;
template class ws_session<tls_stream>;

} // namespace chorus::net::edge
