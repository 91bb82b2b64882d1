#include "actors/ordered_rtp_input.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace chorus::actors {

namespace {

constexpr int max_datagrams_per_pump = 4096;
constexpr int socket_buffer_bytes = 4 << 20; // 100 ms between pumps of several Mbit/s

std::string socket_error_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

} // namespace

result<std::unique_ptr<ordered_rtp_input>> ordered_rtp_input::open(uint8_t payload_type) {
  std::unique_ptr<ordered_rtp_input> in(new ordered_rtp_input());
  in->payload_type_ = payload_type;
  in->sock_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (in->sock_ < 0)
    return failure{socket_error_text("socket")};
  const int size = socket_buffer_bytes;
  ::setsockopt(in->sock_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size); // best effort
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = 0;
  if (::bind(in->sock_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    return failure{socket_error_text("bind")};
  socklen_t len = sizeof sa;
  if (::getsockname(in->sock_, reinterpret_cast<sockaddr*>(&sa), &len) != 0)
    return failure{socket_error_text("getsockname")};
  in->port_ = ntohs(sa.sin_port);
  return in;
}

ordered_rtp_input::~ordered_rtp_input() {
  close_socket();
}

void ordered_rtp_input::close_socket() noexcept {
  if (sock_ >= 0)
    ::close(sock_);
  sock_ = -1;
}

std::optional<std::span<uint8_t>> ordered_rtp_input::next_datagram() {
  while (sock_ >= 0 && read_this_pump_ < max_datagrams_per_pump) {
    ++read_this_pump_;
    const ssize_t n = ::recv(sock_, buf_, sizeof buf_, MSG_DONTWAIT | MSG_TRUNC);
    if (n > ssize_t(sizeof buf_))
      continue; // larger than any packet a consumer sends: not cut and passed on
    if (n >= 0)
      return std::span<uint8_t>(buf_, std::size_t(n));
    if (errno != EINTR)
      break; // EAGAIN: nothing more now
  }
  return std::nullopt;
}

} // namespace chorus::actors
