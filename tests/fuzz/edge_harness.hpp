// The HTTP edge as a fuzz target reaches it: the real server of net/http_server.hpp (Beast's
// parsers behind Chorus's limits, admission, Engine.IO over HTTP and WebSocket, the
// WebSocket sessions with their read limits and queues) listening on 127.0.0.1 in the
// fuzzing process, its I/O thread running beside libFuzzer's. Each input is written over
// one TCP connection, which is then half-closed; the harness reads what the server answers
// until it closes, for at most a bounded time. Behind the upgrades, text messages go
// through the signaling dialects as the gateway would hand them (JSON on /socket,
// Socket.IO under /socket.io/), and their replies are sent back on the connection.
// Used by fuzz_http.cpp and fuzz_websocket.cpp.
#pragma once

#include "net/http_server.hpp"
#include "protocol/dialect.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

namespace chorus::fuzz {

// Decodes each text message with a dialect and answers as a session would.
class dialect_handler : public net::ws_handler {
public:
  dialect_handler(std::unique_ptr<protocol::dialect> d, std::shared_ptr<net::ws_connection> c)
    : dialect_(std::move(d)), conn_(std::move(c)) {}
  void on_text(std::string text) override {
    auto r = dialect_->decode(text);
    for (auto& t : r.immediate)
      conn_->send(std::move(t));
    if (r.kind == protocol::decode_kind::error)
      conn_->send(dialect_->encode_error(r.meta, r.error));
    else if (r.ok)
      conn_->send(text.substr(0, 64)); // an answer of some size, through the send queue
    if (r.disconnect)
      conn_->close(1000, "disconnect");
    conn_->message_processed();
  }
  void on_binary(std::size_t) override { conn_->message_processed(); }
  void on_closed(uint16_t) override { conn_.reset(); }

private:
  std::unique_ptr<protocol::dialect> dialect_;
  std::shared_ptr<net::ws_connection> conn_;
};

class edge_harness {
public:
  static edge_harness& instance() {
    static edge_harness* h = new edge_harness(); // lives until exit, with its thread
    return *h;
  }

  // One connection: writes `bytes`, half-closes, reads (and drops) what the server answers
  // until it closes, or for at most `bound`.
  void exchange(std::string_view bytes,
                  std::chrono::milliseconds bound = std::chrono::milliseconds(1500)) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      std::abort();
    // Closed with a reset: tens of thousands of connections must not fill TIME_WAIT.
    linger lg{1, 0};
    (void)::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    int one = 1;
    (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return;
    }
    const auto deadline = std::chrono::steady_clock::now() + bound;
    size_t off = 0;
    bool shut = false;
    char buf[16384];
    while (std::chrono::steady_clock::now() < deadline) {
      if (off == bytes.size() && !shut) {
        ::shutdown(fd, SHUT_WR);
        shut = true;
      }
      pollfd p{fd, static_cast<short>(POLLIN | (shut ? 0 : POLLOUT)), 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
      if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(1, left.count()))) <= 0)
        continue;
      if (p.revents & POLLIN) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
          break; // the server closed (or reset)
      }
      if (!shut && (p.revents & POLLOUT)) {
        const ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
        if (n < 0)
          break;
        off += static_cast<size_t>(n);
      }
      if (p.revents & (POLLERR | POLLHUP))
        break;
    }
    ::close(fd);
  }

private:
  edge_harness() {
    net::http_server_options o;
    o.port = 0;
    o.handshake_timeout = std::chrono::milliseconds(1000);
    o.idle_timeout = std::chrono::milliseconds(1000);
    o.message_timeout = std::chrono::milliseconds(1000);
    o.max_connections_per_ip = 64;
    server_ = std::make_unique<net::http_server>(
      o,
      [](const net::http_request_info& info) {
        std::string v;
        (void)net::query_param(info.query, "auth", v);
        (void)net::query_param(info.query, "channelId", v);
        return net::http_response{200, "text/plain", info.method + " " + info.path + "\n", {}};
      },
      [](const net::http_request_info& info, std::shared_ptr<net::ws_connection> conn) {
        std::string peer;
        if (net::query_param(info.query, "auth", peer) != net::query_lookup::found)
          return net::ws_decision::refuse(400, "bad-request", "auth is required");
        return net::ws_decision::accept(std::make_shared<dialect_handler>(
          protocol::make_json_dialect(), std::move(conn)));
      });
    server_->set_engineio_acceptor(
      [](const net::http_request_info&, const std::string& sid,
         std::shared_ptr<net::ws_connection> conn) -> std::shared_ptr<net::ws_handler> {
        return std::make_shared<dialect_handler>(protocol::make_socketio_dialect(sid),
                                                 std::move(conn));
      });
    port_ = server_->listen();
    io_ = std::thread([this] { server_->run(); });
  }

  std::unique_ptr<net::http_server> server_;
  uint16_t port_ = 0;
  std::thread io_;
};

} // namespace chorus::fuzz
