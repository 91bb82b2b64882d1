// Cross-sender send batching on the shared UDP socket of single-port mode.
//
// Every consumer sends its own packets (actors/rtp_sender.hpp): in a class of 100 that is
// 100 send calls per packet the teacher sends, one per consumer, each a system call with a
// datagram or two. With one socket for all transports, the datagrams of different
// consumers can leave in one sendmmsg (up to 64 per call, each with its own destination),
// as the floor's batched forwarding does (docs/design/srtp-and-sends.md, "Send batching across consumers"). The outbox is per thread:
// the scheduler's workers install one (actors/scheduler.hpp's start hook), consumers on a
// worker queue their protected datagrams into it (a copy), and the worker flushes it when
// it is full, when it is about to sleep (the idle hook) and after a turn when what it
// holds has waited max_wait_ns (the job-done hook); the media I/O thread has one too (the
// actors it runs through their lanes send from it), flushed at the end of each of its
// wakeups. So a datagram waits at most for the turns of the consumers after it in the
// same burst. Threads without an outbox, TCP tuples and datagrams over slot_bytes are sent
// at once.
//
// Port mode (a socket per transport): sendmmsg cannot mix sockets, so there an outbox
// queues datagrams only when it has an io_uring (net/udp_uring.hpp; each outbox opens its
// own), and a flush of datagrams on several sockets is one io_uring submission of up to 64
// sendmsg operations. Without io_uring (an old kernel, a sandbox that forbids it) port
// mode's datagrams are sent at once, one call per consumer batch.
//
// Segmentation (UDP GSO, Linux 4.18 and later): the datagrams one consumer queues for one
// destination in a row (a frame's packets, handed to it in one turn) leave as one message
// the kernel cuts into datagrams (UDP_SEGMENT), where they are the same size but for a
// shorter last one: one route lookup and one pass down the stack for the run instead of
// one per datagram. The receiver sees the same datagrams as without. Datagrams over
// max_segment_bytes (more than a 1500-byte Ethernet MTU carries over IPv6) are not
// segmented. A run the kernel refuses as a segmented message is sent again datagram by
// datagram and that endpoint stops segmenting (EMSGSIZE or EINVAL: a route whose MTU is
// below the segment size; EIO: a route through IPsec); the other messages of that flush
// were built already and may be refused in turn, one call each. Whether the kernel
// segments at all (4.18 and later) is asked once, of a socket (UDP_SEGMENT's getsockopt):
// an older one ignores the control message and would send the run as one datagram.
//
// Pure: no actors; time is passed in. Not thread-safe: one outbox per thread.
#pragma once

#include "common/metric_field.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <sys/socket.h>

namespace chorus::net {

namespace detail {
struct endpoint_state;
}
class udp_uring;

class send_outbox {
public:
  static constexpr std::size_t capacity = 64;     // datagrams (sendmmsg's batch)
  static constexpr std::size_t slot_bytes = 1536; // larger ones are sent directly
  static constexpr int64_t max_wait_ns = 500'000;
  // One segmented message: at most this many datagrams (the kernel's UDP_MAX_SEGMENTS) and
  // bytes (an IP packet's 64 KiB less headers).
  static constexpr std::size_t max_segments = 64;
  static constexpr std::size_t max_segmented_bytes = 65'000;
  static constexpr std::size_t max_segment_bytes = 1500 - 40 - 8;
  static_assert(capacity <= max_segments && slot_bytes <= UINT16_MAX); // message's uint16_t

  // `use_uring`: open an io_uring for datagrams on several sockets (port mode).
  explicit send_outbox(bool use_uring = true);
  ~send_outbox();
  send_outbox(const send_outbox&) = delete;
  send_outbox& operator=(const send_outbox&) = delete;

  // Queues a copy of `bytes` for `to` on the endpoint's socket (flushing first when full).
  // False when it does not fit a slot: the caller flushes and then sends it itself, so that
  // datagrams keep their order. `now_ns` is read only when the outbox is empty (after a
  // flush for room too): callers may pass 0 otherwise.
  bool add(const std::shared_ptr<detail::endpoint_state>& ep, const sockaddr_storage& to,
           socklen_t to_len, std::span<const uint8_t> bytes, int64_t now_ns);
  // Sends everything queued: one sendmmsg per run of datagrams on the same socket (and per
  // 64), or, when they are on several sockets and there is a ring, one io_uring submission
  // for all. Datagrams of an endpoint closed meanwhile are dropped; the endpoints' send
  // counters are updated here.
  void flush();
  // Whether datagrams on sockets of their own (port mode) may be queued here: this outbox
  // has a working io_uring.
  bool mixes_sockets() const noexcept;
  std::size_t size() const noexcept { return count_; }
  // Datagrams of single-port endpoints leave through `fd` (another socket bound to the
  // shared port: an I/O thread's own) instead of the endpoint's; -1: the endpoint's.
  void use_shared_socket(int fd) noexcept { shared_fd_ = fd; }
  // When the oldest queued datagram was added (0: empty).
  int64_t oldest_ns() const noexcept { return count_ == 0 ? 0 : oldest_ns_; }

  struct totals {
    uint64_t flushes = 0;  // sendmmsg and io_uring_enter calls
    uint64_t datagrams = 0; // sent through the outbox
    uint64_t failed = 0;
    uint64_t ring_flushes = 0; // flushes through the io_uring (datagrams on several sockets)
    uint64_t segmented_messages = 0;  // messages of two or more datagrams (UDP GSO)
    uint64_t segmented_datagrams = 0; // the datagrams in them
    uint64_t segment_fallbacks = 0;   // such messages refused, sent again one by one
  };
  const totals& stats() const noexcept { return totals_; }
  // Every outbox of the process together (added at each flush, not per datagram).
  static totals process_totals() noexcept;

  // The calling thread's outbox: null unless install() ran on this thread.
  static send_outbox* current() noexcept;
  static void install(bool use_uring = true);
  static void flush_current();
  static void flush_current_if_waited(int64_t now_ns);
  // Whether this kernel segments UDP (UDP GSO, Linux 4.18 and later).
  static bool segmentation_available() noexcept;
  // Makes `hdr` a segmented message: a UDP_SEGMENT control message with `segment` (the
  // size of every datagram but a shorter last one) written into `control`, which must hold
  // segment_control_bytes and be aligned for a cmsghdr.
  static constexpr std::size_t segment_control_bytes = CMSG_SPACE(sizeof(uint16_t));
  static void set_segment_size(msghdr& hdr, void* control, uint16_t segment) noexcept;

private:
  struct entry {
    std::shared_ptr<detail::endpoint_state> ep;
    int fd = -1; // the socket it leaves through
    sockaddr_storage to;
    socklen_t to_len = 0;
    uint16_t size = 0;
  };
  std::vector<entry> entries_;
  // A message of a flush: `count` datagrams of consecutive slots from `first`, one
  // endpoint and destination, segmented by the kernel when count > 1.
  struct message {
    uint16_t first = 0;
    uint16_t count = 0;
  };
  void flush_ring();
  std::size_t run_length(std::size_t j, std::size_t end) const noexcept;
  void describe(const message& m, msghdr& hdr, iovec* iovs, void* control) noexcept;
  void count_results(const message* msgs, std::size_t n, const int* results) noexcept;
  bool send_unsegmented(int fd, const message& m, int error) noexcept;
  void clear();
  std::vector<uint8_t> arena_; // capacity * slot_bytes
  std::unique_ptr<udp_uring> ring_;
  std::size_t count_ = 0;
  bool mixed_ = false; // the queued datagrams are on more than one socket
  int shared_fd_ = -1; // use_shared_socket
  int64_t oldest_ns_ = 0;
  totals totals_;
  totals published_; // totals_ as last added to the process's

};

// The process's send outbox totals in GET /metrics (common/metric_field.hpp).
inline constexpr metric_field<send_outbox::totals, uint64_t> send_outbox_metrics[] = {
  {"chorus_media_batched_datagrams_total",
   "Datagrams sent through the threads' send outboxes (single-port mode, and port mode where "
   "io_uring is available).",
   metric_type::counter, "", &send_outbox::totals::datagrams},
  {"chorus_media_batched_send_calls_total",
   "sendmmsg and io_uring_enter calls of the send outboxes (datagrams per call: the ratio).",
   metric_type::counter, "", &send_outbox::totals::flushes},
  {"chorus_media_ring_send_calls_total",
   "Send outbox flushes of datagrams on several sockets (port mode) through one io_uring "
   "submission.",
   metric_type::counter, "", &send_outbox::totals::ring_flushes},
  {"chorus_media_segmented_messages_total",
   "Send outbox messages of two or more datagrams to one receiver, cut into datagrams by the "
   "kernel (UDP GSO).",
   metric_type::counter, "", &send_outbox::totals::segmented_messages},
  {"chorus_media_segmented_datagrams_total", "Datagrams sent in segmented messages (UDP GSO).",
   metric_type::counter, "", &send_outbox::totals::segmented_datagrams},
  {"chorus_media_segment_fallbacks_total",
   "Segmented messages the kernel refused, sent again datagram by datagram.",
   metric_type::counter, "", &send_outbox::totals::segment_fallbacks},
  {"chorus_media_batched_send_failures_total",
   "Datagrams a send outbox could not send (socket buffer full, refused).", metric_type::counter,
   "", &send_outbox::totals::failed},
};

} // namespace chorus::net
