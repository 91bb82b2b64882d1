// UDP sends on many sockets in one system call, through io_uring (Linux 5.6 and later).
//
// sendmmsg sends many datagrams in one call, but all from one socket. In port mode every
// transport has a socket of its own, so a fan-out to 100 consumers there was 100 calls,
// one datagram each, where single-port mode sends the same fan-out in two (the floor
// measured 4.5 us per forwarded packet with a socket per destination against 3.4 with one;
// a scratch floor with one io_uring submission per fan-out 3.1-4.2; docs/design/srtp-and-sends.md,
// "Port mode through io_uring"). A ring takes up to
// `entries` sendmsg operations, each with its own socket and destination, submits them in
// one io_uring_enter and waits for all of them: a UDP send with MSG_DONTWAIT completes
// during the call (a full socket buffer fails with EAGAIN, as with sendmmsg), so nothing
// refers to the caller's buffers or sockets after send() returns.
//
// The raw system calls of <linux/io_uring.h> (no liburing). open() fails where the kernel
// has no io_uring or forbids it (seccomp, kernel.io_uring_disabled): callers then send as
// before. Pure: no actors. Not thread-safe: one ring per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include <sys/socket.h>

namespace chorus::net {

class udp_uring {
public:
  struct op {
    int fd = -1;
    const msghdr* msg = nullptr; // one datagram: its destination and buffer
  };

  // A ring for up to `entries` operations per send() (rounded up to a power of two by the
  // kernel); null with errno's value in *error when io_uring is not available or its
  // kernel does not list sendmsg among the ops it supports.
  static std::unique_ptr<udp_uring> open(unsigned entries, int* error = nullptr);
  ~udp_uring();
  udp_uring(const udp_uring&) = delete;
  udp_uring& operator=(const udp_uring&) = delete;

  // Sends every op (at most capacity() of them) and waits until all have completed:
  // results[i] is op i's result, bytes sent or -errno. Returns how many succeeded. After a
  // failure of io_uring_enter itself the ring is broken: every op not submitted gets
  // -errno, and every later send() fails at once with -EBADF. An op that fails as not
  // supported (EINVAL, EOPNOTSUPP, ENOSYS: the kernel cannot send through the ring after
  // all) breaks it too, so that its owner goes back to sending without it; not EINVAL for
  // an op with control data (a segment size), a refusal that is the caller's to handle.
  std::size_t send(std::span<const op> ops, int* results);

  unsigned capacity() const noexcept { return entries_; }
  bool broken() const noexcept { return broken_; }
  uint64_t enters() const noexcept { return enters_; } // io_uring_enter calls so far

private:
  udp_uring() = default;
  int fd_ = -1;
  unsigned entries_ = 0;
  void* sq_ring_ = nullptr;
  std::size_t sq_ring_size_ = 0;
  void* cq_ring_ = nullptr; // == sq_ring_ with IORING_FEAT_SINGLE_MMAP
  std::size_t cq_ring_size_ = 0;
  void* sqes_ = nullptr;
  std::size_t sqes_size_ = 0;
  unsigned *sq_tail_ = nullptr, *sq_mask_ = nullptr, *sq_array_ = nullptr;
  unsigned *cq_head_ = nullptr, *cq_tail_ = nullptr, *cq_mask_ = nullptr;
  void* cqes_ = nullptr;
  bool broken_ = false;
  uint64_t enters_ = 0;
};

} // namespace chorus::net
