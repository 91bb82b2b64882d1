#include "app/rtmp_server.hpp"

#include "actors/auth.hpp"
#include "actors/gateway.hpp"
#include "actors/rtmp_ingest.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "protocol/flv.hpp"
#include "protocol/rtmp_publish.hpp"

#include <boost/asio.hpp>
#include <caf/actor.hpp>

#include <unistd.h>

#include <array>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

namespace chorus::app {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

constexpr const char* component = "rtmp";
constexpr auto check_interval = std::chrono::seconds(1);
constexpr std::size_t max_socket_queue_bytes = 1u << 20;

class connection;

} // namespace

struct rtmp_server::impl : std::enable_shared_from_this<impl> {
  caf::actor_system& sys;
  caf::actor node;
  actors::node_context_ptr ctx;
  rtmp_server_options opts;
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;
  std::thread thread;
  bool stopped = false;
  // Whether work from other threads (the ingest actors' calls) is still taken: once the
  // server has stopped, nothing is queued on an io_context that no longer runs (a queued
  // handler would hold its connection, and the connection this server, for ever).
  std::mutex post_mutex;
  bool taking_posts = true;
  // The io thread's own.
  std::set<std::shared_ptr<connection>> live;
  std::map<std::string, std::size_t> per_address;

  impl(caf::actor_system& s, caf::actor n, actors::node_context_ptr c, rtmp_server_options o)
    : sys(s), node(std::move(n)), ctx(std::move(c)), opts(std::move(o)) {}

  // Runs `f` on the I/O thread, unless the server has stopped.
  template <class F>
  void post(F&& f) {
    std::lock_guard lock(post_mutex);
    if (taking_posts)
      asio::post(io, std::forward<F>(f));
  }

  void accept_next();
  void forget(const std::shared_ptr<connection>& c, const std::string& address);
};

namespace {

// One encoder's connection. Everything runs on the server's one I/O thread; the ingest
// actor's calls (rtmp_link) are posted to it.
class connection final : public actors::rtmp_link, public std::enable_shared_from_this<connection> {
public:
  connection(std::shared_ptr<rtmp_server::impl> server, tcp::socket socket)
    : server_(std::move(server)), socket_(std::move(socket)), timer_(server_->io) {
    boost::system::error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    address_ = ec ? std::string("?") : ep.address().to_string();
    remote_ = address_ + ":" + (ec ? std::string("?") : std::to_string(ep.port()));
  }

  const std::string& address() const { return address_; }

  void start() {
    started_ = last_read_ = steady::now();
    arm_check();
    read();
  }

  // rtmp_link: from the ingest actor, on any thread.
  void accept() override {
    server_->post([self = shared_from_this()] {
      if (self->closed_)
        return;
      protocol::rtmp_output out;
      self->session_.accept(out);
      self->send(std::move(out.send));
    });
  }
  void refuse(std::string code, std::string description) override {
    server_->post([self = shared_from_this(), code = std::move(code),
                             description = std::move(description)] {
      if (self->closed_)
        return;
      self->ingest_ = {};
      protocol::rtmp_output out;
      self->session_.refuse(code, description, out);
      self->send(std::move(out.send));
      self->fail("refused: " + description);
    });
  }
  void feed(int fd) override {
    server_->post([self = shared_from_this(), fd] {
      if (self->closed_ || self->pipe_) {
        ::close(fd);
        return;
      }
      self->pipe_.emplace(self->server_->io, fd);
      self->pipe_pending_ = protocol::flv_header(self->probe_.has_audio(), self->probe_.has_video());
      self->pipe_pending_.insert(self->pipe_pending_.end(), self->held_.begin(), self->held_.end());
      self->held_.clear();
      self->held_.shrink_to_fit();
      self->pump_pipe();
    });
  }
  void close(std::string why) override {
    server_->post([self = shared_from_this(), why = std::move(why)] {
      self->ingest_ = {};
      self->finish(why);
    });
  }

  // Ends the connection (its ingest told why), after what is queued for the socket.
  void finish(const std::string& why) {
    if (closed_)
      return;
    closed_ = true;
    LOG_INFO(component, remote_ << ": the connection ends: " << why);
    if (session_.media_dropped() > 0)
      LOG_INFO(component, remote_ << ": " << session_.media_dropped()
                                  << " audio or video messages dropped (before the publish, or on another stream)");
    if (ingest_)
      actors::rtmp_ended_to(ingest_, why);
    ingest_ = {};
    timer_.cancel();
    if (pipe_) {
      boost::system::error_code ec;
      pipe_->close(ec); // FFmpeg reads the end of its input
    }
    if (!socket_writing_)
      close_socket();
    server_->forget(shared_from_this(), address_);
  }

  // An error of the encoder's (or of its stream): counted, then finish.
  void fail(const std::string& why) {
    server_->ctx->counters->rtmp_refused.fetch_add(1, std::memory_order_relaxed);
    finish(why);
  }

private:
  void close_socket() {
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

  void arm_check() {
    timer_.expires_after(check_interval);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->closed_)
        return;
      const auto now = steady::now();
      const auto& o = self->server_->opts;
      if (self->session_.at() != protocol::rtmp_publish_session::phase::publishing &&
          now - self->started_ > o.publish_within)
        return self->fail("no publish accepted within " + std::to_string(o.publish_within.count()) + " ms");
      if (!self->paused_ && now - self->last_read_ > o.idle_timeout)
        return self->fail("nothing received for " + std::to_string(o.idle_timeout.count()) + " ms");
      self->arm_check();
    });
  }

  void read() {
    if (closed_ || reading_ || paused_)
      return;
    reading_ = true;
    socket_.async_read_some(asio::buffer(buffer_), [self = shared_from_this()](
                                                     const boost::system::error_code& ec, std::size_t n) {
      self->reading_ = false;
      if (self->closed_)
        return;
      if (ec)
        return self->finish(ec == asio::error::eof ? "the encoder disconnected" : ec.message());
      self->last_read_ = steady::now();
      self->on_bytes(n);
      self->read();
    });
  }

  void on_bytes(std::size_t n) {
    protocol::rtmp_output out;
    auto r = session_.receive(std::span<const uint8_t>(buffer_.data(), n), out);
    send(std::move(out.send));
    if (!r)
      return fail(r.error());
    if (out.publish)
      on_publish(*out.publish);
    for (auto& m : out.media) {
      if (closed_)
        return;
      on_media(m);
    }
    if (out.unpublished && !closed_)
      finish("the encoder unpublished");
  }

  void on_publish(const protocol::rtmp_publish_request& req) {
    auto& ctx = *server_->ctx;
    auto refuse_now = [&](std::string_view code, const std::string& why) {
      protocol::rtmp_output out;
      session_.refuse(code, why, out);
      send(std::move(out.send));
      fail("publish refused: " + why);
    };
    auto ticket = actors::admit(ctx.auth, req.stream_key, "");
    if (!ticket)
      return refuse_now("NetStream.Publish.Unauthorized", ticket.error().message);
    // The URL's app names the room; the encoders' usual "live" (or none) stands for the
    // token's only room.
    const bool by_token = (req.app.empty() || req.app == "live") && !ticket->all_rooms &&
                          ticket->rooms.size() == 1;
    std::string room = by_token ? ticket->rooms.front() : req.app.empty() ? std::string("live") : req.app;
    if (!actors::valid_identifier(room))
      return refuse_now("NetStream.Publish.BadName",
                        "the room (the URL's app) must be 1 to 128 bytes of printable UTF-8");
    if (!ticket->covers(room))
      return refuse_now("NetStream.Publish.Unauthorized", "the token does not cover room '" + room + "'");
    actors::rtmp_start start;
    start.link = shared_from_this();
    start.room_id = room;
    start.peer_id = !ticket->grant.subject.empty() ? ticket->grant.subject : ids::uuid4();
    start.name = !ticket->name.empty() ? ticket->name : "RTMP " + start.peer_id.substr(0, 8);
    start.ticket = std::move(*ticket);
    start.address = remote_;
    LOG_INFO(component, remote_ << ": publishes into room '" << room << "' as '" << start.peer_id << "'");
    ingest_ = actors::spawn_rtmp_ingest(server_->sys, server_->node, server_->ctx, std::move(start));
  }

  void on_media(protocol::rtmp_media& m) {
    if (!probe_.ready()) {
      if (auto r = probe_.add(m.type, m.timestamp, m.data); !r)
        return fail(r.error());
      if (probe_.ready() && ingest_) // (told once: the probe takes nothing once ready)
        actors::rtmp_media_known_to(ingest_, {probe_.has_audio(), probe_.has_video(), probe_.profile_level_id(),
                                              probe_.b_frames()});
    }
    if (pipe_) {
      protocol::append_flv_tag(pipe_pending_, m.type, m.timestamp, m.data);
      if (pipe_pending_.size() > server_->opts.max_queued_bytes)
        paused_ = true; // FFmpeg is behind: the encoder waits (TCP's flow control)
      pump_pipe();
      return;
    }
    protocol::append_flv_tag(held_, m.type, m.timestamp, m.data);
    if (held_.size() > server_->opts.max_held_bytes)
      fail("over " + std::to_string(server_->opts.max_held_bytes) + " bytes of stream before the room took it");
  }

  void pump_pipe() {
    if (!pipe_ || pipe_writing_ || pipe_pending_.empty() || closed_)
      return;
    pipe_inflight_.swap(pipe_pending_);
    pipe_pending_.clear();
    pipe_writing_ = true;
    asio::async_write(*pipe_, asio::buffer(pipe_inflight_),
                      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                        self->pipe_writing_ = false;
                        self->pipe_inflight_.clear();
                        if (self->closed_)
                          return;
                        if (ec)
                          return self->finish("ffmpeg stopped taking the stream (" + ec.message() + ")");
                        if (self->paused_ && self->pipe_pending_.size() <= self->server_->opts.max_queued_bytes / 2) {
                          self->paused_ = false;
                          self->last_read_ = steady::now();
                          self->read();
                        }
                        self->pump_pipe();
                      });
  }

  void send(std::vector<uint8_t> bytes) {
    if (bytes.empty() || !socket_.is_open())
      return;
    socket_queued_ += bytes.size();
    if (socket_queued_ > max_socket_queue_bytes)
      return fail("the encoder does not read what it is sent");
    socket_queue_.push_back(std::move(bytes));
    pump_socket();
  }

  void pump_socket() {
    if (socket_writing_)
      return;
    if (socket_queue_.empty()) {
      if (closed_)
        close_socket();
      return;
    }
    socket_writing_ = true;
    asio::async_write(socket_, asio::buffer(socket_queue_.front()),
                      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                        self->socket_writing_ = false;
                        self->socket_queued_ -= self->socket_queue_.front().size();
                        self->socket_queue_.pop_front();
                        if (ec) {
                          self->socket_queue_.clear();
                          self->socket_queued_ = 0;
                          if (!self->closed_)
                            self->finish(ec.message());
                          self->close_socket();
                          return;
                        }
                        self->pump_socket();
                      });
  }

  std::shared_ptr<rtmp_server::impl> server_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  std::string address_, remote_;
  std::array<uint8_t, 65536> buffer_{};
  protocol::rtmp_publish_session session_;
  protocol::flv_stream_probe probe_;
  caf::actor ingest_;
  std::vector<uint8_t> held_;
  std::optional<asio::posix::stream_descriptor> pipe_;
  std::vector<uint8_t> pipe_pending_, pipe_inflight_;
  bool pipe_writing_ = false;
  std::deque<std::vector<uint8_t>> socket_queue_;
  std::size_t socket_queued_ = 0;
  bool socket_writing_ = false;
  bool reading_ = false, paused_ = false, closed_ = false;
  steady::time_point started_, last_read_;
};

} // namespace

void rtmp_server::impl::accept_next() {
  acceptor->async_accept([self = shared_from_this()](const boost::system::error_code& ec, tcp::socket socket) {
    if (self->stopped || !self->acceptor->is_open())
      return;
    if (!ec) {
      auto c = std::make_shared<connection>(self, std::move(socket));
      auto& n = self->per_address[c->address()];
      if (self->live.size() >= self->opts.max_connections || n >= self->opts.max_per_address) {
        self->ctx->counters->rtmp_refused.fetch_add(1, std::memory_order_relaxed);
        LOG_WARN(component, c->address() << ": refused, " << (n >= self->opts.max_per_address
                                                                ? "this address holds the most connections it may"
                                                                : "the server holds the most RTMP connections it may"));
        if (n == 0)
          self->per_address.erase(c->address());
      } else {
        ++n;
        self->live.insert(c);
        c->start();
      }
    }
    self->accept_next();
  });
}

void rtmp_server::impl::forget(const std::shared_ptr<connection>& c, const std::string& address) {
  if (live.erase(c) == 0)
    return;
  if (auto it = per_address.find(address); it != per_address.end() && --it->second == 0)
    per_address.erase(it);
}

rtmp_server::rtmp_server(caf::actor_system& sys, caf::actor node, actors::node_context_ptr ctx,
                         rtmp_server_options opts)
  : impl_(std::make_shared<impl>(sys, std::move(node), std::move(ctx), std::move(opts))) {}

rtmp_server::~rtmp_server() { stop(); }

uint16_t rtmp_server::start() {
  auto& i = *impl_;
  tcp::endpoint ep(asio::ip::make_address(i.opts.host), i.opts.port);
  i.acceptor.emplace(i.io);
  i.acceptor->open(ep.protocol());
  i.acceptor->set_option(asio::socket_base::reuse_address(true));
  i.acceptor->bind(ep);
  i.acceptor->listen();
  const uint16_t port = i.acceptor->local_endpoint().port();
  i.accept_next();
  i.work.emplace(i.io.get_executor());
  i.thread = std::thread([self = impl_.get()] { self->io.run(); });
  return port;
}

void rtmp_server::stop() {
  if (!impl_ || !impl_->thread.joinable())
    return;
  // Every connection ends (sockets and pipes closed, timers cancelled), and the I/O thread
  // runs until their handlers have all completed.
  impl_->post([self = impl_.get()] {
    self->stopped = true;
    boost::system::error_code ec;
    self->acceptor->close(ec);
    auto live = self->live;
    for (const auto& c : live)
      c->finish("the server stops");
    self->work.reset();
  });
  impl_->thread.join();
  // What the ingests posted as the thread ended runs here; nothing is taken after it.
  {
    std::lock_guard lock(impl_->post_mutex);
    impl_->taking_posts = false;
  }
  impl_->io.restart();
  impl_->io.run();
}

} // namespace chorus::app
