// Sender-side retransmission buffer for one outgoing stream (a consumer): the packets sent
// recently, by (extended) output sequence number, to answer NACKs (RFC 4585 §6.2.1).
//
// A fixed ring of `capacity` slots allocated once; a slot holds a handle to the shared
// immutable packet (the producer's buffer: the same packet sits in every consumer's ring
// without a copy) plus this stream's rewritten sequence number and timestamp, so the
// consumer rewrites it again when resending. Memory is bounded by the capacity; packets
// older than max_age_ms are not resent (and their slots are released lazily). The same
// sequence number is not resent within max(rtt/2, min_resend_ms) of its last resend: a burst
// of NACKs for one loss (retries, duplicated feedback) costs about one retransmission per RTT.
//
// Pure code: now_ms and rtt are passed in. insert() does not allocate.
#pragma once

#include "rtp/rtp_packet.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace chorus::rtp {

struct retransmission_config {
  size_t capacity = 512;         // packets (at least 1)
  int64_t max_age_ms = 1000;     // older packets are not resent
  int64_t min_resend_ms = 10;    // floor of the per-seq resend spacing (RTT/2)
};

// One packet to resend: the shared original plus the stream's output seq and timestamp.
struct stored_packet {
  shared_packet packet;
  uint16_t seq = 0;
  uint32_t timestamp = 0;
  uint32_t tag = 0; // the caller's, as given to insert (e.g. how the payload was rewritten)
};

struct retransmission_counters {
  uint64_t resent = 0;       // packets returned by on_nack
  uint64_t missing = 0;      // NACKed numbers not in the buffer (never stored, evicted, old)
  uint64_t rate_limited = 0; // NACKed numbers resent too recently
};

class retransmission_buffer {
public:
  explicit retransmission_buffer(retransmission_config config = {});

  // A packet just sent with output `seq` / `timestamp`. Sequence numbers may jump forward
  // (slots in between are cleared); a packet older than the newest is stored if it still
  // fits in the ring.
  void insert(uint16_t seq, uint32_t timestamp, shared_packet packet, int64_t now_ms,
              uint32_t tag = 0);

  // NACKed sequence numbers -> packets to resend now (appended to `out`, which is cleared).
  void on_nack(std::span<const uint16_t> seqs, int64_t now_ms, int64_t rtt_ms,
               std::vector<stored_packet>& out);

  // The newest stored packets (newest first, younger than max_age_ms), until their sizes
  // add up to at least `bytes` (appended to `out`, which is cleared): what a sender resends
  // to probe bandwidth. Does not count as retransmissions.
  void recent(size_t bytes, int64_t now_ms, std::vector<stored_packet>& out) const;

  size_t capacity() const noexcept { return slots_.size(); }
  // The slot the next packet in order goes to, for a caller that prefetches it ahead of
  // insert; never dereferenced by the caller.
  const void* next_slot_address() const noexcept {
    return slots_.empty() ? nullptr : &slots_[size_t(highest_ + 1) % slots_.size()];
  }
  size_t stored() const noexcept; // slots holding a packet (for tests and stats)
  const retransmission_counters& counters() const noexcept { return counters_; }
  void clear() noexcept;

private:
  // 40 bytes (a video consumer has 512): the extended number and the times are kept
  // modulo 2^32, enough to tell a slot's lap (the ring is far shorter than 2^32 packets)
  // and to compare times less than 49 days apart.
  struct slot {
    shared_packet packet;
    uint32_t ext_seq = 0; // low 32 bits of the extended sequence number
    uint32_t timestamp = 0;
    uint32_t stored_ms = 0;
    uint32_t resent_ms = 0;
    uint32_t tag = 0;
    bool resent = false;
  };
  slot& at(int64_t ext_seq) noexcept { return slots_[size_t(ext_seq) % slots_.size()]; }

  retransmission_config config_;
  std::vector<slot> slots_;
  bool started_ = false;
  int64_t highest_ = 0;
  retransmission_counters counters_;
};

} // namespace chorus::rtp
