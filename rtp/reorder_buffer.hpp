// Puts the packets of one RTP stream back into sequence order before something that needs
// them in order (the recorder's VP9 depacketizer, rtp/vp9_frames.hpp). A packet the server
// repaired (NACK, then RTX from the sender) arrives after those sent behind it; handed on as
// it came, every repair would look like a loss. Here a gap is held open until its packet
// comes, or until the oldest packet waiting behind it has waited `max_wait_ms` (the repair
// is not coming), or until `capacity` packets wait; then the gap is given up and what follows
// goes on. Packets older than what was handed on, and repeats, are dropped. Pure: bytes and
// the time in, ordered packets out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace chorus::rtp {

class reorder_buffer {
public:
  struct counters {
    uint64_t in_order = 0;   // after every packet received before it
    uint64_t reordered = 0;  // after a later one (a repair, or overtaken): filled a gap
    uint64_t lost = 0;       // sequence numbers given up
    uint64_t late = 0;       // arrived after their place was handed on or given up
    uint64_t duplicates = 0; // a sequence number already waiting
  };

  // `capacity`: packets held at most (a power of two, at most 32768); `max_wait_ms`: how
  // long the packets behind a gap wait for it.
  reorder_buffer(std::size_t capacity, int64_t max_wait_ms);

  // Takes a copy of `packet` (sequence number `seq`, arrived at `now_ms`) and calls
  // `deliver(std::span<uint8_t>)` (the buffer's own bytes, valid during the call) for every packet that is now in order: this one and those that waited
  // behind it. A gap is given up here only when the packet lies beyond the buffer's reach.
  template <class F>
  void push(uint16_t seq, std::span<const uint8_t> packet, int64_t now_ms, F&& deliver) {
    if (!started_) {
      started_ = true;
      next_ = highest_ = seq;
    }
    if (int16_t(seq - next_) < 0) {
      ++counters_.late;
      // Late by more than the buffer reaches, again and again: no repair is that late, the
      // stream started over there. Follow it.
      const bool far = uint16_t(next_ - seq) > slots_.size();
      late_in_a_row_ = far ? late_in_a_row_ + 1 : 0;
      if (late_in_a_row_ <= restart_after_late)
        return;
      restart(seq);
    }
    late_in_a_row_ = 0;
    while (uint16_t(seq - next_) >= slots_.size()) { // too far ahead: make room
      if (waiting_ == 0) {
        counters_.lost += uint16_t(seq - next_);
        next_ = seq;
        break;
      }
      skip_gap();
      drain(deliver);
    }
    if (!store(seq, packet, now_ms))
      return;
    drain(deliver);
  }

  // Gives up the gaps whose packets behind have waited long enough, and hands on what
  // follows them; call it on a timer (and at the end, with `all` to hand on everything).
  template <class F>
  void expire(int64_t now_ms, F&& deliver, bool all = false) {
    while (waiting_ > 0 && (all || now_ms - oldest_arrival() >= max_wait_ms_)) {
      skip_gap();
      drain(deliver);
    }
  }

  std::size_t waiting() const noexcept { return waiting_; }
  const counters& stats() const noexcept { return counters_; }

private:
  struct slot {
    bool full = false;
    uint16_t seq = 0;
    int64_t arrived_ms = 0;
    std::vector<uint8_t> bytes;
  };

  // Stores the packet at its place; false for a repeat (dropped).
  bool store(uint16_t seq, std::span<const uint8_t> packet, int64_t now_ms);
  // Drops what waits (lost) and starts over at `seq`.
  void restart(uint16_t seq);
  // Hands on the packets from next_ while there is no gap.
  template <class F>
  void drain(F& deliver) {
    for (slot* s = &at(next_); s->full; s = &at(next_)) {
      deliver(std::span<uint8_t>(s->bytes));
      s->full = false;
      --waiting_;
      ++next_;
    }
  }
  slot& at(uint16_t seq) noexcept { return slots_[seq & (slots_.size() - 1)]; }
  // next_ moves to the first waiting packet; the numbers skipped count as lost.
  void skip_gap();
  int64_t oldest_arrival() const noexcept;

  std::vector<slot> slots_;
  int64_t max_wait_ms_;
  // Packets in a row that are later than the buffer's reach after which the stream is taken
  // to have started over (what follows a restart sees a backward jump of the numbers).
  static constexpr int restart_after_late = 64;
  bool started_ = false;
  uint16_t next_ = 0;    // the sequence number handed on next
  uint16_t highest_ = 0; // one past the highest received
  int late_in_a_row_ = 0;
  std::size_t waiting_ = 0;
  counters counters_;
};

} // namespace chorus::rtp
