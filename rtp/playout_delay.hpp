// The playout-delay header extension (webrtc.org's experimental extension, which libwebrtc
// receivers honour) and the policy that decides what a lossy receiver is told.
//
// The element carries the least and the most delay the receiver may play a frame out with,
// in 10 ms units, 12 bits each (3 bytes):
//
//   0                   1                   2
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |       MIN delay       |       MAX delay       |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// libwebrtc reads it from a frame's first packet and keeps the last one it read for the
// frames after (so it is written on the first packet of each frame, and a lost one costs
// nothing). A receiver that only receives knows no round trip, and its jitter buffer does
// not wait for a retransmission: each packet lost on the way stalls its frame by a round
// trip, and past 150-200 ms that is a freeze. Told to hold frames a round trip longer, it
// plays the repaired frame in time instead. The cost is latency, so only a receiver that
// loses packets is told, and only as much as its round trip needs.
//
// Pure, no state beyond the policy's own.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

namespace chorus::rtp {

inline constexpr const char* playout_delay_uri =
  "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";

struct playout_delay {
  uint32_t min_ms = 0;
  uint32_t max_ms = 0;
  bool operator==(const playout_delay&) const = default;
};

inline constexpr uint32_t playout_delay_unit_ms = 10;
inline constexpr uint32_t playout_delay_field_max = 0xFFF;
// libwebrtc's own bound on the delays (and its default most): larger is not valid.
inline constexpr uint32_t playout_delay_most_ms = 10'000;

// The element's 3 bytes: each delay rounded up to 10 ms and clamped to the field.
std::array<uint8_t, 3> write_playout_delay(playout_delay d) noexcept;
// An element's value; nullopt for a value that is not 3 bytes.
std::optional<playout_delay> read_playout_delay(std::span<const uint8_t> value) noexcept;

// What a receiver's video is told, from what its reports say once a report interval (a
// second). A receiver is lossy from a reading that loses `lossy_from_permille` of the stream
// (the larger of its report's fraction lost and the share of packets it asked to be resent)
// until `calm_readings` readings in a row lose under `calm_below_permille`. While lossy,
// it is asked to hold frames long enough for one repair that itself needed asking twice:
// its round trip, plus `renack_ms` (how long libwebrtc waits before asking again when it
// knows no round trip), plus twice its jitter and `margin_ms`; at most `limit_ms`. A longer
// delay is asked at once; a shorter one only after `lower_after` readings in a row want it
// (a delay that changes often is a playout that changes speed often). When the receiver is
// calm again it is told the least delay is 0 (libwebrtc keeps the last value told), and
// the most is always libwebrtc's default, so the hint never limits its own jitter buffer.
class playout_delay_policy {
public:
  static constexpr uint32_t lossy_from_permille = 10;
  static constexpr uint32_t calm_below_permille = 5;
  static constexpr int calm_readings = 10;
  static constexpr int lower_after = 5;
  static constexpr uint32_t renack_ms = 100;
  static constexpr uint32_t margin_ms = 20;
  static constexpr uint32_t unknown_rtt_ms = 100; // assumed before the first measurement

  struct reading {
    uint32_t loss_permille = 0;
    std::optional<uint32_t> rtt_ms;
    uint32_t jitter_ms = 0;
  };

  // `limit_ms` 0: never hints.
  explicit playout_delay_policy(uint32_t limit_ms) noexcept : limit_ms_(limit_ms) {}

  // One reading; true when the hint changed.
  bool on_reading(const reading& r) noexcept;

  // The hint to write on each frame: nullopt until the receiver was first lossy (nothing to
  // undo, so nothing is written).
  std::optional<playout_delay> hint() const noexcept;
  uint32_t min_ms() const noexcept { return min_ms_; }
  bool lossy() const noexcept { return lossy_; }

private:
  uint32_t target(const reading& r) const noexcept;

  uint32_t limit_ms_;
  bool ever_ = false;
  bool lossy_ = false;
  int calm_ = 0;
  int lower_wanted_ = 0;
  uint32_t lower_to_ = 0; // the largest of the lower targets wanted in a row
  uint32_t min_ms_ = 0;
};

} // namespace chorus::rtp
