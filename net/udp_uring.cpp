#include "net/udp_uring.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace chorus::net {

namespace {

int ring_setup(unsigned entries, io_uring_params& p) {
  return int(::syscall(__NR_io_uring_setup, entries, &p));
}

int ring_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags) {
  return int(::syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, nullptr, 0));
}

// Whether the ring's kernel says it supports sendmsg operations (IORING_REGISTER_PROBE,
// 5.6): a kernel or sandbox that opens rings but lacks the op would fail every send.
bool supports_sendmsg(int fd) {
  constexpr unsigned max_ops = 256;
  alignas(io_uring_probe) unsigned char buffer[sizeof(io_uring_probe) +
                                               max_ops * sizeof(io_uring_probe_op)] = {};
  auto* probe = reinterpret_cast<io_uring_probe*>(buffer);
  if (::syscall(__NR_io_uring_register, fd, IORING_REGISTER_PROBE, probe, max_ops) < 0)
    return false;
  return probe->last_op >= IORING_OP_SENDMSG && probe->ops_len > IORING_OP_SENDMSG &&
         (probe->ops[IORING_OP_SENDMSG].flags & IO_URING_OP_SUPPORTED) != 0;
}

// A send's result that says the ring itself cannot send (not this datagram's fate).
bool unsupported(int res) { return res == -EINVAL || res == -EOPNOTSUPP || res == -ENOSYS; }

template <class T>
T* at(void* base, uint32_t offset) {
  return reinterpret_cast<T*>(static_cast<char*>(base) + offset);
}

} // namespace

std::unique_ptr<udp_uring> udp_uring::open(unsigned entries, int* error) {
  auto fail = [error](int err) -> std::unique_ptr<udp_uring> {
    if (error)
      *error = err;
    return nullptr;
  };
  if (entries == 0)
    return fail(EINVAL);
  std::unique_ptr<udp_uring> r{new udp_uring};
  io_uring_params p{};
  // One thread submits (5.19/6.0 flags: fewer locks and no interrupts for completions
  // that this thread reaps itself); older kernels refuse them, then plain.
  p.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER;
  r->fd_ = ring_setup(entries, p);
  if (r->fd_ < 0 && errno == EINVAL) {
    p = io_uring_params{};
    r->fd_ = ring_setup(entries, p);
  }
  if (r->fd_ < 0)
    return fail(errno);
  if (!(p.features & IORING_FEAT_NODROP) || p.sq_entries < entries)
    return fail(ENOTSUP); // before 5.5: completions could be dropped
  if (!supports_sendmsg(r->fd_))
    return fail(ENOTSUP);
  r->entries_ = entries;
  r->sq_ring_size_ = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  r->cq_ring_size_ = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
  const bool single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single)
    r->sq_ring_size_ = r->cq_ring_size_ = std::max(r->sq_ring_size_, r->cq_ring_size_);
  r->sq_ring_ = ::mmap(nullptr, r->sq_ring_size_, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_POPULATE, r->fd_, IORING_OFF_SQ_RING);
  if (r->sq_ring_ == MAP_FAILED) {
    r->sq_ring_ = nullptr;
    return fail(errno);
  }
  if (single) {
    r->cq_ring_ = r->sq_ring_;
  } else {
    r->cq_ring_ = ::mmap(nullptr, r->cq_ring_size_, PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_POPULATE, r->fd_, IORING_OFF_CQ_RING);
    if (r->cq_ring_ == MAP_FAILED) {
      r->cq_ring_ = nullptr;
      return fail(errno);
    }
  }
  r->sqes_size_ = p.sq_entries * sizeof(io_uring_sqe);
  r->sqes_ = ::mmap(nullptr, r->sqes_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                    r->fd_, IORING_OFF_SQES);
  if (r->sqes_ == MAP_FAILED) {
    r->sqes_ = nullptr;
    return fail(errno);
  }
  r->sq_tail_ = at<unsigned>(r->sq_ring_, p.sq_off.tail);
  r->sq_mask_ = at<unsigned>(r->sq_ring_, p.sq_off.ring_mask);
  r->sq_array_ = at<unsigned>(r->sq_ring_, p.sq_off.array);
  r->cq_head_ = at<unsigned>(r->cq_ring_, p.cq_off.head);
  r->cq_tail_ = at<unsigned>(r->cq_ring_, p.cq_off.tail);
  r->cq_mask_ = at<unsigned>(r->cq_ring_, p.cq_off.ring_mask);
  r->cqes_ = at<void>(r->cq_ring_, p.cq_off.cqes);
  return r;
}

udp_uring::~udp_uring() {
  if (sqes_)
    ::munmap(sqes_, sqes_size_);
  if (cq_ring_ && cq_ring_ != sq_ring_)
    ::munmap(cq_ring_, cq_ring_size_);
  if (sq_ring_)
    ::munmap(sq_ring_, sq_ring_size_);
  if (fd_ >= 0)
    ::close(fd_);
}

std::size_t udp_uring::send(std::span<const op> ops, int* results) {
  const std::size_t n = std::min<std::size_t>(ops.size(), entries_);
  for (std::size_t i = n; i < ops.size(); ++i)
    results[i] = -E2BIG;
  if (n == 0)
    return 0;
  if (broken_) {
    std::fill(results, results + n, -EBADF);
    return 0;
  }
  auto* sqes = static_cast<io_uring_sqe*>(sqes_);
  auto* cqes = static_cast<io_uring_cqe*>(cqes_);
  // Only this thread writes the submission queue's tail; the kernel has consumed every
  // entry of the previous send() (it waited for all their completions).
  unsigned tail = *sq_tail_;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned index = tail & *sq_mask_;
    io_uring_sqe& e = sqes[index];
    std::memset(&e, 0, sizeof e);
    e.opcode = IORING_OP_SENDMSG;
    e.fd = ops[i].fd;
    e.addr = uint64_t(reinterpret_cast<uintptr_t>(ops[i].msg));
    e.len = 1;
    // MSG_DONTWAIT: a send that would block completes with -EAGAIN instead of waiting in
    // the kernel for room, so every op has completed when io_uring_enter returns.
    e.msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL;
    e.user_data = i;
    sq_array_[index] = index;
    ++tail;
  }
  __atomic_store_n(sq_tail_, tail, __ATOMIC_RELEASE);

  std::size_t submitted = 0, completed = 0, ok = 0;
  std::fill(results, results + n, -EINPROGRESS);
  while (completed < n) {
    const unsigned to_submit = unsigned(n - submitted);
    ++enters_;
    const int r = ring_enter(fd_, to_submit, unsigned(n - completed), IORING_ENTER_GETEVENTS);
    if (r < 0 && errno != EINTR) {
      // The ring can no longer be trusted with the caller's buffers: what was not
      // submitted must never be, and what was must not be waited for again.
      broken_ = true;
      const int err = errno;
      for (std::size_t i = 0; i < n; ++i)
        if (results[i] == -EINPROGRESS)
          results[i] = -err;
      return ok;
    }
    if (r > 0)
      submitted += std::size_t(r);
    unsigned head = *cq_head_;
    const unsigned ready = __atomic_load_n(cq_tail_, __ATOMIC_ACQUIRE);
    for (; head != ready; ++head) {
      const io_uring_cqe& c = cqes[head & *cq_mask_];
      if (c.user_data < n && results[c.user_data] == -EINPROGRESS) {
        results[c.user_data] = c.res;
        ++completed;
        if (c.res > 0)
          ++ok;
        else if (unsupported(c.res) &&
                 !(c.res == -EINVAL && ops[c.user_data].msg->msg_controllen != 0))
          broken_ = true; // the rest of this submission completes; no later one is made
        // (EINVAL for an op with control data, such as a segment size, is about that
        // data: the caller's to handle.)
      }
    }
    __atomic_store_n(cq_head_, head, __ATOMIC_RELEASE);
  }
  return ok;
}

} // namespace chorus::net
