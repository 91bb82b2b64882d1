#include "rtp/scalability.hpp"

namespace chorus::rtp {

std::optional<scalability> parse_scalability_mode(std::string_view mode) noexcept {
  // [LS] digit T digit, then one of the suffixes.
  if (mode.size() < 4 || (mode[0] != 'L' && mode[0] != 'S') || mode[2] != 'T')
    return std::nullopt;
  const char s = mode[1];
  const char t = mode[3];
  if (s < '1' || s > '3' || t < '1' || t > '3')
    return std::nullopt;
  scalability r;
  r.spatial = uint8_t(s - '0');
  r.temporal = uint8_t(t - '0');
  r.simulcast_like = mode[0] == 'S';
  const std::string_view suffix = mode.substr(4);
  if (suffix.empty()) {
    // L1T1..L3T3; S needs at least two layers to be a mode (S1Tn is not in the spec).
    if (r.simulcast_like && r.spatial < 2)
      return std::nullopt;
    return r;
  }
  if (r.spatial < 2) // every suffix is about spatial layers
    return std::nullopt;
  if (suffix == "h")
    return r;
  if (r.simulcast_like) // _KEY and _KEY_SHIFT are L modes only
    return std::nullopt;
  if (suffix == "_KEY" || (suffix == "_KEY_SHIFT" && r.temporal >= 2)) {
    r.ksvc = true;
    return r;
  }
  return std::nullopt;
}

} // namespace chorus::rtp
