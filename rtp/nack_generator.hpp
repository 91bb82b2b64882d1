// Receiver-side NACK generation for one incoming stream (RFC 4585 §6.2.1 generic NACK).
//
// On each packet the generator unwraps the 16-bit sequence number into a 64-bit extended
// one (so 65535 -> 0 is a step of one), records the numbers skipped since the highest seen
// as missing, and asks for them at once. tick(now_ms) returns the retries that are due: each
// missing number is asked for at most max_retries times, spaced by the RTT (passed in,
// default 100 ms). Entries are forgotten when they are older than max_age_ms, when the list
// passes max_entries (oldest first), when a keyframe arrives (losses before a keyframe no
// longer matter to the decoder) and when the packet arrives late or through RTX.
//
// Pure code: time is passed in; the output vector is the caller's (cleared, then filled) so
// its capacity is reused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace chorus::rtp {

struct nack_config {
  uint32_t max_retries = 10;    // requests per missing packet, the first one included
  int64_t max_age_ms = 1000;    // forget a loss once this long has passed since detection
  size_t max_entries = 1000;    // the list never grows beyond this (oldest dropped)
  int64_t default_rtt_ms = 100; // retry interval until set_rtt is called
  int64_t min_interval_ms = 5;  // floor for the retry interval (RTT on loopback is ~0)
};

// Where a received packet came from.
enum class packet_origin : uint8_t { media, rtx };

struct nack_counters {
  uint64_t requested = 0; // sequence numbers put in NACKs (retries included)
  uint64_t recovered = 0; // missing packets that arrived later (late or RTX)
  uint64_t abandoned = 0; // missing packets given up (age, retries, list size, keyframe)
};

class nack_generator {
public:
  explicit nack_generator(nack_config config = {}) noexcept
      : config_(config), rtt_ms_(config.default_rtt_ms) {}

  // A received packet. Fills `to_nack` with the sequence numbers to request now (the newly
  // missing ones). An RTX or late packet removes its entry.
  void on_packet(uint16_t seq, int64_t now_ms, bool is_keyframe, packet_origin origin,
                 std::vector<uint16_t>& to_nack);
  // Due retries at now_ms (and expiry of old entries).
  void tick(int64_t now_ms, std::vector<uint16_t>& to_nack);

  void set_rtt(int64_t rtt_ms) noexcept { rtt_ms_ = rtt_ms > 0 ? rtt_ms : config_.default_rtt_ms; }
  size_t missing_count() const noexcept { return missing_.size(); }
  const nack_counters& counters() const noexcept { return counters_; }

private:
  struct entry {
    int64_t detected_ms = 0;
    int64_t sent_ms = 0;
    uint32_t retries = 0;
  };

  int64_t interval_ms() const noexcept;
  void expire(int64_t now_ms);
  void add_missing(int64_t from, int64_t to, int64_t now_ms, std::vector<uint16_t>& to_nack);

  nack_config config_;
  int64_t rtt_ms_;
  bool started_ = false;
  int64_t highest_ = 0;                 // extended highest sequence number received
  std::map<int64_t, entry> missing_;    // extended seq -> state; per producer, not per consumer
  nack_counters counters_;
};

} // namespace chorus::rtp
