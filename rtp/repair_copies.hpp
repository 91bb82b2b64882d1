// How many copies of each retransmission a consumer sends. A repair lost on the way is
// asked for again only at the receiver's next NACK for it, and libwebrtc, when it only
// receives, knows no round trip and waits its default 100 ms; a frame held that long
// reads as a freeze. On a link that drops a share p of packets, one repair in 1/p is lost
// so (at 5 %, one in twenty); of two copies sent, both are lost only with p^2 (0.25 %).
// So: two copies while the receiver's last report says it loses at least
// `two_copies_from` (2 %, 5/256) of the stream, one otherwise. The copies count against
// the consumer's retransmission budget like any repair.
//
// Pure, no state.
#pragma once

#include <cstdint>

namespace chorus::rtp {

inline constexpr uint8_t two_copies_from = 5; // /256 of the stream lost: about 2 %

constexpr uint8_t repair_copies(uint8_t fraction_lost) noexcept {
  return fraction_lost >= two_copies_from ? 2 : 1;
}

} // namespace chorus::rtp
