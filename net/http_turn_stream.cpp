// TURN over TLS on the signaling port: the edge terminates TLS and passes the decrypted
// stream to the TURN server in the media I/O (net/stream_handoff.hpp); the server's frames
// come back here to be encrypted and written, in order, with a bound on what waits (whole
// frames beyond it are dropped and counted, as on the TURN server's own TCP connections).
#include "net/http_edge_internal.hpp"

#include "common/log.hpp"

#include <array>

namespace chorus::net {

namespace edge {

namespace {

constexpr std::size_t turn_tls_max_queued = 1 << 20;
// Decrypted bytes handed to the TURN server and not yet taken: a client this far ahead of
// it is sending far more than media needs, and is closed.
constexpr std::size_t turn_tls_max_backlog = 1 << 20;
constexpr std::size_t turn_tls_read_chunk = 16 * 1024;

class turn_tls_session : public http_session_base,
                         public stream_sink,
                         public std::enable_shared_from_this<turn_tls_session> {
public:
  turn_tls_session(std::shared_ptr<http_server::impl> srv, tls_stream&& stream, std::string remote)
    : srv_(std::move(srv)), stream_(std::move(stream)), remote_(std::move(remote)),
      executor_(stream_.get_executor()) {
    srv_->add_session(this);
  }
  ~turn_tls_session() override { srv_->remove_session(this); }

  std::shared_ptr<http_session_base> alive() override { return weak_from_this().lock(); }
  asio::any_io_executor executor() override { return executor_; }
  void abort() override {
    if (std::exchange(closed_, true))
      return;
    beast::error_code ec;
    auto& sock = beast::get_lowest_layer(stream_).socket();
    sock.shutdown(tcp::socket::shutdown_both, ec);
    sock.close(ec);
    if (in_)
      in_->closed();
  }

  // On the strand.
  void start(std::shared_ptr<stream_input> in, std::vector<uint8_t> head) {
    in_ = std::move(in);
    beast::get_lowest_layer(stream_).expires_never(); // the TURN server ends idle clients
    in_->receive(std::move(head));
    read();
  }

  // stream_sink: any thread.
  void write(std::span<const uint8_t> frame) override {
    if (queued_.fetch_add(frame.size()) + frame.size() > turn_tls_max_queued) {
      queued_.fetch_sub(frame.size()); // whole frames only
      srv_->count(&http_server_counters::turn_tls_dropped);
      return;
    }
    asio::post(executor_, [self = shared_from_this(),
                           bytes = std::vector<uint8_t>(frame.begin(), frame.end())]() mutable {
      self->enqueue(std::move(bytes));
    });
  }
  void close() override {
    asio::post(executor_, [self = shared_from_this()] { self->abort(); });
  }

private:
  void read() {
    stream_.async_read_some(asio::buffer(buf_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec || self->closed_)
                                return self->abort();
                              self->in_->receive(std::vector<uint8_t>(
                                self->buf_.begin(), self->buf_.begin() + std::ptrdiff_t(n)));
                              if (self->in_->backlog() > turn_tls_max_backlog) {
                                self->srv_->count(&http_server_counters::turn_tls_dropped);
                                LOG_DEBUG(component, self->remote_ << ": TURN over TLS far "
                                                                      "ahead of the relay: closed");
                                return self->abort();
                              }
                              self->read();
                            });
  }

  void enqueue(std::vector<uint8_t> bytes) {
    if (closed_) {
      queued_.fetch_sub(bytes.size());
      return;
    }
    pending_.insert(pending_.end(), bytes.begin(), bytes.end());
    if (!writing_)
      write_some();
  }

  // One write at a time of everything queued so far (frames coalesce into TLS records).
  void write_some() {
    writing_ = true;
    sending_.swap(pending_);
    pending_.clear();
    asio::async_write(stream_, asio::buffer(sending_),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        self->writing_ = false;
                        self->queued_.fetch_sub(self->sending_.size());
                        self->sending_.clear();
                        if (ec)
                          return self->abort();
                        if (!self->pending_.empty() && !self->closed_)
                          self->write_some();
                      });
  }

  std::shared_ptr<http_server::impl> srv_;
  tls_stream stream_;
  std::string remote_;
  asio::any_io_executor executor_;
  std::shared_ptr<stream_input> in_;
  std::array<uint8_t, turn_tls_read_chunk> buf_{};
  std::vector<uint8_t> pending_, sending_;
  std::atomic<std::size_t> queued_{0}; // written to this sink and not yet sent
  bool writing_ = false;
  bool closed_ = false;
};

} // namespace

} // namespace edge

using namespace edge;

void http_server::impl::start_turn_stream(tls_stream stream, std::string remote,
                                          std::vector<uint8_t> head) {
  const auto address = remote_address(beast::get_lowest_layer(stream).socket());
  auto s = std::make_shared<turn_tls_session>(shared_from_this(), std::move(stream), remote);
  auto in = address ? handoff->open_turn_stream(*address, s) : nullptr;
  if (!in)
    return s->abort();
  count(&http_server_counters::handed_turn_tls);
  s->start(std::move(in), std::move(head));
}

} // namespace chorus::net
