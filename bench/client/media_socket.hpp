// One non-blocking media socket of a client transport, towards one server candidate:
// a connected UDP socket (one datagram per packet), or a TCP connection carrying RFC 4571
// frames (a 16-bit big-endian length, then the packet). The owner polls fd() and calls
// receive() when it is readable and flush() when it is writable and wants_write().
// Not thread-safe; one owner drives it.
#pragma once

#include "common/result.hpp"
#include "net/stun.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace chorus::client {

enum class media_protocol : uint8_t { udp, tcp };
std::string_view to_string(media_protocol p) noexcept; // "udp", "tcp"

struct media_socket_counters {
  uint64_t packets_sent = 0;
  uint64_t bytes_sent = 0; // packet bytes, without RFC 4571 length prefixes
  uint64_t packets_received = 0;
  uint64_t bytes_received = 0;
  uint64_t send_errors = 0;  // the kernel refused a datagram (UDP) or the connection broke
  uint64_t send_dropped = 0; // TCP: the send queue was full, the frame was not queued
};

class media_socket {
public:
  static constexpr std::size_t max_udp_datagram = 2048; // larger datagrams are truncated
  static constexpr std::size_t max_tcp_queue = 4 << 20; // bytes waiting for the kernel

  // UDP: bound to an ephemeral port and connected to `remote`. TCP: connected within
  // `connect_timeout_ms` (blocking here, bounded).
  static result<media_socket> open(media_protocol protocol, const net::transport_address& remote,
                                   uint64_t connect_timeout_ms = 2000);

  media_socket(media_socket&&) noexcept;
  media_socket& operator=(media_socket&&) noexcept;
  media_socket(const media_socket&) = delete;
  media_socket& operator=(const media_socket&) = delete;
  ~media_socket();

  int fd() const noexcept;
  media_protocol protocol() const noexcept;
  const net::transport_address& remote() const noexcept;
  const net::transport_address& local() const noexcept;

  // One packet: a datagram, or one frame (at most 65535 bytes). False when it was not
  // sent (error, full queue, closed); counted.
  bool send(std::span<const uint8_t> packet);
  // TCP: bytes are queued for the kernel; poll for POLLOUT and call flush().
  bool wants_write() const noexcept;
  void flush();

  // Reads everything the kernel holds without blocking and calls on_packet(span) for each
  // datagram or complete frame (the span is valid during the call only). Returns false
  // once the socket is closed (TCP end of stream or error).
  template <class F>
  bool receive(F&& on_packet) {
    return receive_impl(&on_packet, [](void* ctx, std::span<const uint8_t> p) {
      (*static_cast<std::remove_reference_t<F>*>(ctx))(p);
    });
  }

  // UDP: the kernel stamps each datagram on arrival (SO_TIMESTAMPNS, CLOCK_REALTIME);
  // last_receive_ns() is the stamp of the datagram being handed to receive()'s callback
  // (0 when unknown: not enabled, TCP, or no stamp). False when it cannot be enabled.
  bool enable_receive_timestamps() noexcept;
  uint64_t last_receive_ns() const noexcept;

  // UDP: the kernel may hand a run of datagrams that left the sender as one segmented
  // message (UDP GSO) up as one (UDP_GRO) instead of queueing each on its own; receive()
  // still calls on_packet once per datagram, cut at the segment size the kernel reports.
  // What the receiver sees is the same; on loopback the sender's core no longer pays for
  // cutting the message and queueing and waking per datagram. False when it cannot be
  // enabled (TCP, closed, or a kernel without UDP_GRO).
  bool enable_receive_segments() noexcept;
  bool receive_segments() const noexcept;

  bool closed() const noexcept;
  const std::string& close_reason() const noexcept;
  void close() noexcept;
  const media_socket_counters& counters() const noexcept;

  struct impl;

private:
  explicit media_socket(std::unique_ptr<impl> p) noexcept;
  bool receive_impl(void* ctx, void (*cb)(void*, std::span<const uint8_t>));
  std::unique_ptr<impl> impl_;
};

} // namespace chorus::client
