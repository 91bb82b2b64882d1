// The receiving side of segmented sends (net/send_outbox.hpp sends a run of equal-size
// datagrams as one message, UDP GSO): a socket that takes such a run whole (UDP_GRO), and
// the segment size read back from a received message. For load generators' sockets; the
// server's own take datagrams one by one.
#pragma once

#include <cstddef>

#include <sys/socket.h>

namespace chorus::net {

// `fd` takes a segmented message whole instead of one datagram at a time; false if the
// kernel refuses.
bool receive_segments_whole(int fd) noexcept;

// A message read from such a socket with a control buffer of at least this many bytes
// carries its segment size.
inline constexpr std::size_t received_segment_control_bytes = CMSG_SPACE(sizeof(int));

// The segment size of a message read so (0: none, a single datagram).
std::size_t received_segment_size(const msghdr& hdr) noexcept;

} // namespace chorus::net
