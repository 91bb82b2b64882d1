#include "net/segment_receive.hpp"

#include <cstring>

#include <netinet/udp.h>

#ifndef UDP_GRO
#define UDP_GRO 104 // linux/udp.h, Linux 5.0
#endif

namespace chorus::net {

bool receive_segments_whole(int fd) noexcept {
  int one = 1;
  return ::setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one) == 0;
}

std::size_t received_segment_size(const msghdr& hdr) noexcept {
  auto& h = const_cast<msghdr&>(hdr); // CMSG_NXTHDR takes a mutable header; nothing written
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c))
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
        c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int size = 0;
      std::memcpy(&size, CMSG_DATA(c), sizeof size);
      return size > 0 ? std::size_t(size) : 0;
    }
  return 0;
}

} // namespace chorus::net
