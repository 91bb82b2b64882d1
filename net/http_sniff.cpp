// A shared signaling port (http_server::set_stream_handoff): each connection's first bytes
// are read (at most a few, within the handshake timeout) and tell what it carries
// (net/connection_kind.hpp). ICE-TCP and plain TURN connections leave the edge with those
// bytes; TLS and HTTP start their session with them, as if nothing had been read.
#include "net/http_edge_internal.hpp"

#include "common/log.hpp"

#include <array>

#include <fcntl.h>

namespace chorus::net {

namespace edge {

std::optional<transport_address> remote_address(const tcp::socket& sock) {
  beast::error_code ec;
  const auto ep = sock.remote_endpoint(ec);
  if (ec)
    return std::nullopt;
  return transport_address::from_string(ep.address().to_string(), ep.port());
}

namespace {

class connection_sniffer : public http_session_base,
                           public std::enable_shared_from_this<connection_sniffer> {
public:
  connection_sniffer(std::shared_ptr<http_server::impl> srv, tcp::socket&& sock,
                     connection_slot slot)
    : srv_(std::move(srv)), stream_(std::move(sock)), slot_(std::move(slot)) {
    srv_->add_session(this);
  }
  ~connection_sniffer() override { srv_->remove_session(this); }

  std::shared_ptr<http_session_base> alive() override { return weak_from_this().lock(); }
  asio::any_io_executor executor() override { return stream_.get_executor(); }
  void abort() override {
    done_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  void start() {
    stream_.expires_after(srv_->opts.handshake_timeout);
    read();
  }

private:
  void read() {
    stream_.async_read_some(asio::buffer(head_.data() + size_, head_.size() - size_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->on_read(ec, n);
                            });
  }

  void on_read(beast::error_code ec, std::size_t n) {
    if (done_)
      return;
    size_ += n;
    if (ec) {
      if (ec == beast::error::timeout)
        srv_->count(size_ > 0 ? &http_server_counters::timeouts_request
                              : &http_server_counters::timeouts_http_idle);
      return abort();
    }
    const std::span<const uint8_t> head{head_.data(), size_};
    const auto kind = classify_connection(head);
    if (kind == connection_kind::undecided && size_ < head_.size())
      return read();
    done_ = true;
    stream_.expires_never();
    LOG_DEBUG(component, "connection carries " << to_string(kind) << " (" << size_ << " bytes read)");
    std::vector<uint8_t> bytes(head.begin(), head.end());
    const bool media = (kind == connection_kind::ice_tcp && srv_->handoff->takes_ice_tcp()) ||
                       (kind == connection_kind::turn && srv_->handoff->takes_turn());
    if (media) {
      slot_.release(); // the media I/O's own limits apply from here
      srv_->hand_over(stream_.release_socket(), kind, std::move(bytes));
    } else {
      srv_->start_http(stream_.release_socket(), std::move(slot_), std::move(bytes));
    }
  }

  std::shared_ptr<http_server::impl> srv_;
  beast::tcp_stream stream_;
  connection_slot slot_;
  std::array<uint8_t, 64> head_{};
  std::size_t size_ = 0;
  bool done_ = false;
};

} // namespace

} // namespace edge

using namespace edge;

void http_server::impl::sniff(tcp::socket sock, connection_slot slot) {
  auto s = std::make_shared<connection_sniffer>(shared_from_this(), std::move(sock),
                                                std::move(slot));
  asio::dispatch(s->executor(), [s] { s->start(); });
}

void http_server::impl::hand_over(tcp::socket sock, connection_kind kind,
                                  std::vector<uint8_t> head) {
  const auto remote = remote_address(sock);
  beast::error_code ec;
  const int fd = remote ? sock.release(ec) : -1;
  if (fd < 0) {
    sock.close(ec);
    return;
  }
  // Asio made it nonblocking for its own reads; the media I/O relies on that.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  if (kind == connection_kind::ice_tcp) {
    count(&http_server_counters::handed_ice_tcp);
    handoff->adopt_ice_tcp(fd, *remote, std::move(head));
  } else {
    count(&http_server_counters::handed_turn);
    handoff->adopt_turn_tcp(fd, *remote, std::move(head));
  }
}

} // namespace chorus::net
