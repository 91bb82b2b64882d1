// Waiting a moment for the rest of a frame a publisher sent at once.
//
// A sender that does not pace (a keyframe of 18 packets handed to one sendmmsg) puts the
// frame's datagrams in the socket a few microseconds apart, and the media I/O thread,
// woken by the first of them, often reads only part of it: 14 of 18, say. The producer
// then fans out a frame in two batches, and every consumer takes it in two entries and
// sends it as two segmented messages instead of one, which costs more than one entry for
// the whole frame.
//
// The tracker sees every datagram a receive brings. It calls a frame's burst open when
// the last RTP datagram continues the frame of the one before it (same source, SSRC and
// timestamp, the next sequence number), arrived within max_gap_ns of it (a paced sender's
// packets are milliseconds apart) and does not end the frame (no marker bit). The I/O
// thread then polls the socket until the next datagram comes or max_gap_ns have passed
// since the last one, within a budget: at most budget_share of the time waiting, so a
// sender that keeps bursts open (a frame in two bursts, or a hostile one) costs a bounded
// share of the I/O thread. SRTP leaves the RTP header in the clear; RTCP (payload types
// 64-95 in the second byte, RFC 5761), STUN and DTLS leave the state as it was.
//
// Pure: bytes and times (the kernel's CLOCK_REALTIME receive stamps, ns) in, a decision
// out.
#pragma once

#include "net/stun.hpp"

#include <cstdint>
#include <span>

namespace chorus::net {

class frame_burst {
public:
  struct settings {
    int64_t max_gap_ns = 30'000; // 0: never wait
    int64_t budget_share = 50;   // waits take at most 1/50 of the time (2 %) ...
    int64_t max_budget_ns = 1'000'000; // ... saved up to this much
  };
  frame_burst() = default;
  explicit frame_burst(settings s) : settings_(s), budget_ns_(s.max_budget_ns) {}

  // One received datagram from `source`, received at `arrival_ns` (0: no stamp; such a
  // datagram never opens a burst).
  void on_datagram(std::span<const uint8_t> bytes, const transport_address& source,
                   int64_t arrival_ns) noexcept;

  // Whether to wait for more at `now_ns`: a burst is open, its next datagram is due
  // (max_gap_ns after the last arrival has not passed) and the budget holds the wait.
  // When it returns true the caller polls until wait_until_ns() and then reports what
  // the wait took (waited).
  bool should_wait(int64_t now_ns) noexcept;
  int64_t wait_until_ns() const noexcept;
  // The wait that should_wait allowed ended at `now_ns`; `joined`: it brought datagrams.
  void waited(int64_t started_ns, int64_t now_ns, bool joined) noexcept;

  bool open() const noexcept { return open_; }
  uint64_t waits() const noexcept { return waits_; }
  uint64_t joined() const noexcept { return joined_; }

private:
  settings settings_{};
  bool open_ = false;
  transport_address source_{};
  uint32_t ssrc_ = 0;
  uint32_t timestamp_ = 0;
  uint16_t seq_ = 0;
  int64_t arrival_ns_ = 0; // of the last RTP datagram (0: none yet, or it had no stamp)
  int64_t budget_ns_ = settings{}.max_budget_ns;
  int64_t budget_at_ns_ = 0; // when the budget was last refilled (0: never)
  uint64_t waits_ = 0;
  uint64_t joined_ = 0;
};

} // namespace chorus::net
