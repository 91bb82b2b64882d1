// Layer allocation for one transport toward a receiver: the send bandwidth estimate is
// shared among the transport's consumers by choosing, for each video consumer, the
// simulcast / SVC layer (spatial, temporal) it forwards. Written from the project's own
// specification (in the spirit of mediasoup's Transport::DistributeAvailableOutgoingBitrate):
//
//   audio      active audio consumers are served first, at their measured bitrate, always
//              (even over the budget); what they cost is taken from the budget (down to 0).
//   first pass active video consumers, in priority order (higher first; ties: input order),
//              each get their lowest available layer (the first available one in (spatial,
//              temporal) order, normally spatial s at temporal 0) if it fits in what is left;
//              one that does not fit gets nothing (-1, -1) and stays out of the rounds.
//              There is no minimum guarantee: when the budget covers no video at all, even
//              the highest-priority consumer gets nothing (the budget is never exceeded).
//   rounds     then, repeatedly, each consumer in the same order makes up to `priority`
//              upgrade attempts (so a higher priority climbs faster): the next step is the
//              cheapest available layer strictly above the current one in (spatial,
//              temporal) order, within the preferences (ties: the lower layer). It is taken
//              if its incremental cost fits what is left (exactly fitting counts); a step
//              that does not fit ends that consumer's turn. The rounds stop when a whole
//              round changes nothing.
//
// Guarantees:
//   - never a layer above the preferences: spatial <= max_spatial and temporal <=
//     max_temporal (the temporal limit applies at every spatial layer); when the preferred
//     layer is not available (bitrate 0) the best available one below it is the ceiling;
//     max_spatial or max_temporal < 0: nothing is wanted (nothing is allocated);
//   - never over the budget for video (audio alone may exceed it);
//   - deterministic: integer arithmetic only, a fixed order (priority, then input order),
//     so the same input gives the same output;
//   - with a budget of at least the sum of desired_bps(), every consumer is at its
//     preferred (or best available) layer, provided no consumer's lowest layer costs more
//     than its preferred one (true of any real ladder: each step up costs at most what the
//     preferred layer costs).
//
// Results come out in input order (out[i] is for in[i]). Audio: (0, 0, audio_bps) when
// active. Paused consumers (active == false): (-1, -1, 0); they cost nothing.
//
// Pure: no I/O, no clock. The allocator keeps a scratch vector and `out` is reused by the
// caller, so once both reached the number of consumers a call allocates nothing.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace chorus::rtp {

struct alloc_consumer {
  uint32_t key = 0;         // the caller's id, copied into the result
  bool audio = false;       // audio: served first, at audio_bps
  bool active = true;       // paused consumers get nothing and cost nothing
  uint8_t priority = 1;     // 1..255 (0 counts as 1): higher gets layers first, and more
                            // upgrade attempts per round
  int8_t max_spatial = -1;  // preferred spatial layer (set-consumer-preferred-layers); -1: none
  int8_t max_temporal = -1; // preferred temporal layer; -1: none
  // bitrates[s][t]: bps of forwarding spatial layer s up to temporal layer t (cumulative
  // over temporal layers within one spatial layer); 0 = not available (not being received
  // from the producer now).
  std::array<std::array<uint32_t, 3>, 4> bitrates{};
  uint32_t audio_bps = 0;   // audio consumers
};

struct alloc_result {
  uint32_t key = 0;
  int8_t spatial = -1;  // -1, -1: nothing
  int8_t temporal = -1;
  uint32_t bps = 0;     // what the chosen layer costs
};

// What the consumer would use with an unlimited budget: for video, the bitrate of the
// preferred layer or, if unavailable, of the best available one below it; for audio,
// audio_bps; 0 when paused or nothing is wanted / available. Summed over a transport's
// consumers and compared with the estimate, it tells whether the estimate limits anything
// (whether to probe).
uint64_t desired_bps(const alloc_consumer& c) noexcept;

class layer_allocator {
public:
  // Distributes budget_bps over `in`; out is resized to in.size(), out[i] for in[i].
  void allocate(uint64_t budget_bps, std::span<const alloc_consumer> in,
                std::vector<alloc_result>& out);

private:
  std::vector<uint32_t> order_; // active video consumers by priority (scratch, reused)
};

} // namespace chorus::rtp
