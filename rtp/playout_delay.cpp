#include "rtp/playout_delay.hpp"

#include <algorithm>

namespace chorus::rtp {

namespace {

uint32_t units(uint32_t ms) noexcept {
  return std::min((ms + playout_delay_unit_ms - 1) / playout_delay_unit_ms, playout_delay_field_max);
}

} // namespace

std::array<uint8_t, 3> write_playout_delay(playout_delay d) noexcept {
  const uint32_t lo = units(d.min_ms);
  const uint32_t hi = units(d.max_ms);
  return {uint8_t(lo >> 4), uint8_t(((lo & 0x0F) << 4) | (hi >> 8)), uint8_t(hi & 0xFF)};
}

std::optional<playout_delay> read_playout_delay(std::span<const uint8_t> value) noexcept {
  if (value.size() != 3)
    return std::nullopt;
  const uint32_t lo = (uint32_t(value[0]) << 4) | (value[1] >> 4);
  const uint32_t hi = (uint32_t(value[1] & 0x0F) << 8) | value[2];
  return playout_delay{lo * playout_delay_unit_ms, hi * playout_delay_unit_ms};
}

uint32_t playout_delay_policy::target(const reading& r) const noexcept {
  const uint32_t want = r.rtt_ms.value_or(unknown_rtt_ms) + renack_ms + 2 * r.jitter_ms + margin_ms;
  const uint32_t rounded = (want + playout_delay_unit_ms - 1) / playout_delay_unit_ms * playout_delay_unit_ms;
  return std::min(rounded, limit_ms_);
}

bool playout_delay_policy::on_reading(const reading& r) noexcept {
  if (limit_ms_ == 0)
    return false;
  const uint32_t before = min_ms_;
  if (r.loss_permille >= lossy_from_permille) {
    lossy_ = true;
    ever_ = true;
    calm_ = 0;
  } else if (lossy_ && r.loss_permille < calm_below_permille && ++calm_ >= calm_readings) {
    lossy_ = false;
  } else if (lossy_ && r.loss_permille >= calm_below_permille) {
    calm_ = 0;
  }
  if (!lossy_) {
    min_ms_ = 0;
    lower_wanted_ = 0;
    return min_ms_ != before;
  }
  const uint32_t t = target(r);
  if (t >= min_ms_) {
    min_ms_ = t;
    lower_wanted_ = 0;
  } else {
    lower_to_ = lower_wanted_ == 0 ? t : std::max(lower_to_, t);
    if (++lower_wanted_ >= lower_after) {
      min_ms_ = lower_to_;
      lower_wanted_ = 0;
    }
  }
  return min_ms_ != before;
}

std::optional<playout_delay> playout_delay_policy::hint() const noexcept {
  if (!ever_)
    return std::nullopt;
  return playout_delay{min_ms_, playout_delay_most_ms};
}

} // namespace chorus::rtp
