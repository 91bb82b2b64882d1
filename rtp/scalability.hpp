// Scalability modes of the W3C webrtc-svc specification (section 4.2, "Scalability modes"):
// the text an encoding's scalabilityMode carries, e.g. "L1T3" or "L3T3_KEY".
//
//   L{1-3}T{1-3}           spatial layers with inter-layer prediction (L1: temporal only)
//   L{2,3}T{1-3}h          the same, spatial layers 1.5:1 instead of 2:1
//   L{2,3}T{1-3}_KEY       K-SVC: inter-layer prediction only on keyframes
//   L{2,3}T{2,3}_KEY_SHIFT K-SVC with the temporal structures of the layers shifted
//   S{2,3}T{1-3}, ...h     spatial layers without inter-layer prediction: each decodes on
//                          its own, like simulcast encodings in one RTP stream
//
// Only those spellings are modes; anything else (L0T1, L4T1, L1T4, L1T2h, S1T1, L2T1_KEY_SHIFT,
// lower case, trailing text) is not. The spec lists _KEY_SHIFT only with 2 or 3 temporal
// layers: with one there is no temporal structure to shift.
//
// Pure code: no allocation.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace chorus::rtp {

struct scalability {
  uint8_t spatial = 1;
  uint8_t temporal = 1;
  bool ksvc = false;           // _KEY, _KEY_SHIFT
  bool simulcast_like = false; // S modes: independent spatial layers (no inter-layer prediction)

  friend bool operator==(const scalability&, const scalability&) = default;
};

std::optional<scalability> parse_scalability_mode(std::string_view mode) noexcept;

} // namespace chorus::rtp
